using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Reconcile;

/// <summary>The mode guard of reconcile, repair-view and attach (SPEC §11, upstream C254).</summary>
public static class ReconcileGuard
{
    public static void RequireVirtualMode(CompiledProject project)
    {
        if (project.Config.Settings.VirtualEnvironments) return;
        throw new SqbException(ErrorCodes.ReconcileModeGuard, "ReconcileRequiresVirtualMode",
            "reconcile requires virtual_environments = true", SqbErrorKind.InvalidOperation, project.Config.ActiveTarget.Name,
            "Set [settings] virtual_environments = true in sqlbuild_project.toml (with [targets.<name>.state]); " +
            "in direct mode Invoke-SqbBuild rebuilds the target's relations.");
    }
}

/// <summary>
/// <c>Get-SqbReconcile</c> (upstream <c>sqb reconcile</c>): compares a VDE's state with the warehouse and
/// reports every problem, changing nothing but the <c>report</c> event it appends. Reads state with one
/// query per table and the catalog with one set-based read per schema (logical, physical), whatever the
/// number of models. No lock.
/// </summary>
/// <remarks>
/// UnexpectedView rule: a view in the VDE's logical schema whose name is no ref and no project node is
/// reported when SQLBuild could own it. A suffixed VDE's schema (<c>&lt;schema&gt;__&lt;vde&gt;</c>) is
/// SQLBuild's, so every such view counts. The unsuffixed VDE's logical schema is the target schema
/// itself, shared with the user's own objects: there only a view whose definition reads the target's
/// physical schema (<c>&lt;schema&gt;__sqb_physical</c>) counts, since every view SQLBuild writes does
/// and a user's own view normally does not. Tables there are never reported.
/// <para/>
/// FailedOperation rule (<see cref="OperationQueries.Unfinished"/>, the janitor's too): an operation of this VDE that
/// ended <c>failed</c> or is <c>running</c> with no live lock, or that was stopped (<c>cancelled</c>) partway through
/// its steps (adopt, detach, janitor), unless a later operation of the same type on the same VDE succeeded (the retry
/// worked). A stopped build, promote, rollback, repair or attach switched nothing, so it is not reported.
/// Operations without an environment (state lifecycle, janitor) are reported with the target's own VDE.
/// Repair operations are not reported: they are all-or-nothing, and what they did not fix is still
/// reported as the node findings themselves.
/// </remarks>
public sealed class Reconciler : EnvironmentOperation
{
    public Reconciler(StateStore store, ISqbLog log) : base(store, log) { }

    public IReadOnlyList<SqbReconcileFinding> Report(string? environment = null, string? model = null)
    {
        var project = Store.Project;
        ReconcileGuard.RequireVirtualMode(project);
        var env = environment ?? Store.TargetName;
        Names.ValidateEnvironment(env);
        if (model is not null && !project.Models.ContainsKey(model) && !project.Seeds.ContainsKey(model))
            throw new SqbException(ErrorCodes.UnknownReference, "UnknownModel", $"unknown model '{model}'", SqbErrorKind.ObjectNotFound, model,
                "Get-SqbModel lists the models of the project.");

        using var state = Store.OpenStateSession();
        using var separate = Store.SharesWarehouse ? null : Store.OpenWarehouseSession();
        var warehouse = separate ?? state;
        Store.RequireInitialized(state);
        var repo = new StateRepository(state, Store.Sql);
        var row = repo.Environment(env);
        var findings = new List<SqbReconcileFinding>();
        if (row is null)
        {
            // An operation that died before it created the environment (an interrupted adopt) still has to be
            // explained: report its journal; without one, the environment is simply unknown.
            var failed = model is null ? FailedOperations(env).ToList() : new List<SqbReconcileFinding>();
            // The target's own VDE before its first build: nothing is built, so nothing can be wrong (a pipeline's
            // "throw on any finding" check passes on a fresh target). Any other name is a typo or a VDE never built.
            if (failed.Count == 0 && env == Store.TargetName)
            {
                Log.Verbose($"virtual environment '{env}' has not been built yet: nothing to reconcile");
                return failed;
            }
            if (failed.Count == 0)
                throw EnvironmentErrors.Unknown(env);
            repo.InsertReconcileEvent(env, "report", "succeeded", $"report for {env}");
            return failed;
        }
        var operations = FailedOperations(env).ToList();
        // An unfinished adopt or detach moves relations between the physical and the logical schema step by step: what it
        // moved so far looks missing or misplaced, and only finishing it (its own retry) puts them right. Rebuilding
        // them instead loops (C252), and dropping a table "in the view's place" would drop the data it moved.
        var mover = operations.FirstOrDefault(f => f.Expected is "adopt" or "detach");
        if (row.Status == EnvironmentStatus.Detached)
            Log.Verbose($"virtual environment '{env}' is detached: its relations are plain tables, so only its operations are checked");
        else
            findings.AddRange(CheckNodes(env, model, repo, warehouse, mover));
        if (model is null) findings.AddRange(operations);

        repo.InsertReconcileEvent(env, "report", "succeeded", $"report for {env}");
        Log.Verbose(findings.Count == 0 ? $"Reconcile report for {env}: no issues." : $"Reconcile report for {env}: {findings.Count} issue(s)");
        return findings;
    }

    private List<SqbReconcileFinding> CheckNodes(string env, string? model, StateRepository repo, IWarehouseSession warehouse,
        SqbReconcileFinding? mover)
    {
        var project = Store.Project;
        var refs = repo.Refs(env);
        var physical = repo.PhysicalRelationIndex();
        var logicalSchema = Names.LogicalSchema(env);
        var catalog = ReconcileCatalog.Read(warehouse, logicalSchema, Names.PhysicalSchema, ReconcileCatalog.OfRefs(refs, physical));
        var ids = IdentityCalculator.ComputeReadable(project);   // a seed that is not UTF-8 CSV: no expected version, no failure

        var nodes = project.Models.Keys.Select(NodeKey.Model).OrderBy(k => k.NodeName, StringComparer.Ordinal)
            .Concat(project.Seeds.Keys.Select(NodeKey.Seed).OrderBy(k => k.NodeName, StringComparer.Ordinal))
            .Where(k => model is null || k.NodeName == model);
        var findings = new List<SqbReconcileFinding>();
        foreach (var key in nodes)
        {
            var node = NodeInspection.Inspect(key, refs, physical, catalog, Names, env, ids.TryGetValue(key.NodeName, out var id) ? id.VersionHash : null);
            if (node.Problem is not { } kind) continue;
            var moved = mover is not null && kind is SqbFindingKind.MissingPhysical or SqbFindingKind.MissingTrackedPhysical or SqbFindingKind.LogicalIsTable;
            findings.Add(new SqbReconcileFinding
            {
                Environment = env, NodeType = key.NodeType, Name = key.NodeName, Kind = kind, Relation = node.View.ToString(),
                Expected = node.Physical?.ToString(),
                Message = ReconcileText.FindingMessage(kind, key) + (moved ? $" (left by the unfinished {mover!.Expected} {mover.Name})" : ""),
                Recovery = moved ? mover!.Recovery : ReconcileText.Recovery(kind, env, key, node.View),
            });
        }
        if (model is not null) return findings;

        // Views SQLBuild could own that belong to no ref and no project node.
        var suffixed = logicalSchema != Names.TargetSchema;
        var known = new HashSet<string>(refs.Keys.Select(k => k.NodeName).Concat(project.Models.Keys).Concat(project.Seeds.Keys), StringComparer.Ordinal);
        foreach (var v in catalog.Relations.Where(r => r.Schema == logicalSchema && r.Kind == RelationKind.View && !known.Contains(r.Name))
                     .OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            if (!suffixed && !ReadsPhysicalSchema(v)) continue;
            findings.Add(new SqbReconcileFinding
            {
                Environment = env, NodeType = "view", Name = v.Name, Kind = SqbFindingKind.UnexpectedView, Relation = v.Relation.ToString(),
                Message = $"unexpected view: {v.Relation}", Recovery = ReconcileText.ReviewView(v.Relation),
            });
        }
        return findings;
    }

    private bool ReadsPhysicalSchema(CatalogRelation view) =>
        view.ReadsFrom(Names.PhysicalSchema);

    private IEnumerable<SqbReconcileFinding> FailedOperations(string env)
    {
        var includeTargetWide = env == Store.TargetName;
        foreach (var op in new OperationQueries(Store, Log).Unfinished().Reverse()
                     .Where(o => (o.Environment == env || (o.Environment is null && includeTargetWide)) && o.Type != "repair"))
        {
            var last = op.Events.Count == 0 ? null : op.Events[^1].Message;
            var what = op.Reason == "interrupted" ? "interrupted" : op.Status == OperationJournal.Cancelled ? "cancelled" : "failed";
            yield return new SqbReconcileFinding
            {
                Environment = env, NodeType = "operation", Name = op.Id, Kind = SqbFindingKind.FailedOperation, Expected = op.Type,
                Message = $"{what} operation: {op.Id}" + (what == "interrupted" || last is null ? "" : $" ({last})"),
                Recovery = ReconcileText.OperationRecovery(op),
            };
        }
    }
}

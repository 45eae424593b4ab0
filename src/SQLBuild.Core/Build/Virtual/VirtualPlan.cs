using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Strategies;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build.Virtual;

/// <summary>What a virtual build does with a selected node (SPEC 4.2):
/// <list type="bullet">
/// <item><c>Build</c>: make the expected version (stale, or its relation is missing);</item>
/// <item><c>Reuse</c>: point the ref at the expected version another environment built (its audits passed there);</item>
/// <item><c>Refresh</c>: re-run a table or incremental into its existing version (a default build; a
/// <c>run_despite_unchanged</c> table that is due; a reused table in a default build);</item>
/// <item><c>Audit</c>: run the model's audits against the version without rebuilding it (its audit list or severities
/// changed since the version passed them here, or a reused version never passed this list);</item>
/// <item><c>Unchanged</c>: nothing.</item>
/// </list></summary>
public enum VirtualAction { Unchanged, Reuse, Build, Refresh, Audit }

/// <summary>
/// What a virtual build of one VDE would do, read from state and the catalog in a fixed number of
/// set-based queries: bound and expected versions, stale reasons, the selection (with S010), and for
/// each selected node its action and why.
/// </summary>
internal sealed class VirtualPlan
{
    public required string Environment { get; init; }
    public required EnvironmentRow? Row { get; init; }
    public required string? Baseline { get; init; }
    public required Dictionary<NodeKey, string> OwnRefs { get; init; }
    /// <summary>The refs the build starts from: the VDE's own, or the baseline's for a new VDE (pointer copy).</summary>
    public required Dictionary<NodeKey, string> StartRefs { get; init; }
    public required IReadOnlyDictionary<string, NodeIdentity> Identities { get; init; }
    public required Dictionary<string, string?> StaleReasons { get; init; }
    public required IReadOnlyList<string> Selected { get; init; }         // models and seeds, topological order
    public required Dictionary<string, VirtualAction> Actions { get; init; }
    /// <summary>Why each selected node gets its action (null for <see cref="VirtualAction.Unchanged"/>).</summary>
    public required Dictionary<string, string?> Reasons { get; init; }
    /// <summary>The audit signature of each model now (<see cref="IdentityCalculator.AuditSignature"/>).</summary>
    public required IReadOnlyDictionary<string, string> AuditSignatures { get; init; }
    /// <summary>The audit signature each starting ref's version passed (the baseline's for a new VDE).</summary>
    public required IReadOnlyDictionary<NodeKey, string?> StartAudits { get; init; }
    /// <summary>Whether the VDE's refs start as a pointer copy of the baseline's (a new VDE).</summary>
    public bool StartsFromBaseline => OwnRefs.Count == 0 && StartRefs.Count > 0;
    public required Dictionary<(NodeKey, string), PhysicalRelationRow> Physical { get; init; }
    public required CatalogSnapshot PhysicalCatalog { get; init; }
    public required Dictionary<(string, string), ModelVersionRow> BoundVersions { get; init; }

    public static VirtualPlan Read(StateStore store, VirtualNames names, BuildOptions options, IWarehouseSession stateSession,
        IWarehouseSession warehouseSession)
    {
        var project = store.Project;
        var environment = options.Environment ?? store.TargetName;
        names.ValidateEnvironment(environment);
        store.RequireInitialized(stateSession);
        var repo = new StateRepository(stateSession, store.Sql);

        var row = repo.Environment(environment);
        if (row?.Status == EnvironmentStatus.Detached)
            throw Operations.EnvironmentErrors.Detached(environment);
        // The refs with the audit signature each one's version passed, in one read: the VDE's own, or the baseline's
        // for a new VDE (whose build starts from a pointer copy of them).
        var ownWithAudits = repo.RefsWithAudits(environment);
        var startWithAudits = ownWithAudits;
        var own = ownWithAudits.ToDictionary(r => r.Key, r => r.Value.Hash);
        var start = own;
        string? baseline = row?.Baseline;
        if (own.Count == 0 && environment != store.TargetName)
        {
            var baseRefs = repo.RefsWithAudits(store.TargetName);
            if (baseRefs.Count > 0)
            {
                startWithAudits = baseRefs;
                start = baseRefs.ToDictionary(r => r.Key, r => r.Value.Hash);
                baseline = store.TargetName;
            }
        }

        var ids = IdentityCalculator.Compute(project);
        // Versions are read only for models bound to another version than expected (for stale reasons and diffs).
        var rebound = project.Models.Keys.Where(m => start.TryGetValue(NodeKey.Model(m), out var h) && h != ids[m].VersionHash).ToList();
        var bound = rebound.Count == 0 ? new Dictionary<(string, string), ModelVersionRow>() : repo.ModelVersions(rebound);

        // Stale reasons.
        var reasons = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in project.TopologicalOrder)
        {
            var key = NodeKey.Of(project, name);
            var expected = ids[name].VersionHash;
            if (!start.TryGetValue(key, out var b)) { reasons[name] = "first run"; continue; }
            if (b == expected) { reasons[name] = null; continue; }
            if (key.NodeType == NodeTypes.Seed) { reasons[name] = "content changed"; continue; }
            if (!bound.TryGetValue((name, b), out var v)) { reasons[name] = "query changed"; continue; }
            if (v.LocalHash == ids[name].LocalHash) reasons[name] = "upstream changed";
            else if (IdentityCalculator.NormalizeSql(v.CompiledSql) != IdentityCalculator.NormalizeSql(project.Models[name].Sql)) reasons[name] = "query changed";
            else reasons[name] = "config changed";
        }

        // What the refs' versions were audited against, and what the audits are now.
        var startAudits = startWithAudits.ToDictionary(r => r.Key, r => r.Value.AuditSignature);
        var signatures = project.Models.Values.ToDictionary(m => m.Name, IdentityCalculator.AuditSignature, StringComparer.Ordinal);
        bool AuditsChanged(string name) =>
            project.Models.TryGetValue(name, out var model) && startAudits.TryGetValue(NodeKey.Model(name), out var passed) &&
            passed != signatures[name] && (passed is not null || model.Config.Audits.Count > 0);
        var changesOnly = options.ChangesOnly || project.Config.ActiveTarget.ChangesOnly == true ||
                          (project.Config.ActiveTarget.ChangesOnly is null && project.Config.Settings.ChangesOnly);
        // run_despite_unchanged: an unchanged table whose version was last refreshed longer ago than its interval.
        var due = new Dictionary<string, string>(StringComparer.Ordinal);
        var timed = project.Models.Values.Where(m => m.Config.RunDespiteUnchanged is not null && reasons[m.Name] is null).ToList();
        if (changesOnly && timed.Count > 0)
        {
            var refreshed = repo.RefreshTimes();
            var now = new RetentionRepository(stateSession, store.Sql).DatabaseNow();
            foreach (var m in timed)
            {
                var rule = m.Config.RunDespiteUnchanged!;
                var last = refreshed.TryGetValue((NodeKey.Model(m.Name), ids[m.Name].VersionHash), out var at) ? at : DateTime.MinValue;
                if (rule.MaxAge is not { } interval) due[m.Name] = "run_despite_unchanged \"always\"";
                else if (now - last >= interval) due[m.Name] = $"run_despite_unchanged \"{rule.Text}\": last refreshed {Ago(now - last)} ago";
            }
        }

        // Selection. A changes-only build takes stale nodes and their descendants, tables due for a refresh, and
        // models whose audits changed (every build runs changed audits).
        var selected = new HashSet<string>(Selector.Resolve(project, options.Select, options.Exclude), StringComparer.Ordinal);
        if (changesOnly)
        {
            var closure = new HashSet<string>(reasons.Where(r => r.Value is not null).Select(r => r.Key), StringComparer.Ordinal);
            foreach (var n in project.TopologicalOrder)
                if (project.Parents.TryGetValue(n, out var ps) && ps.Any(closure.Contains)) closure.Add(n);
            closure.UnionWith(due.Keys);
            closure.UnionWith(project.Models.Keys.Where(AuditsChanged));
            selected.IntersectWith(closure);
        }
        var ancestors = project.Ancestors(selected);
        foreach (var a in ancestors.Where(a => project.Seeds.ContainsKey(a) && reasons[a] is not null)) selected.Add(a);
        var missing = ancestors.Where(a => project.Models.ContainsKey(a) && !selected.Contains(a) && reasons[a] is not null)
            .OrderBy(a => a, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            if (!options.IncludeStaleUpstreams)
                throw new SqbException(ErrorCodes.StaleUpstreams, "StaleUpstreams",
                    $"selected virtual scope is missing stale required upstream models: {string.Join(", ", missing)}",
                    SqbErrorKind.InvalidOperation, environment,
                    "Re-run with -IncludeStaleUpstreams to add the minimal required upstream closure.");
            foreach (var m in missing) selected.Add(m);
            foreach (var a in project.Ancestors(missing).Where(a => project.Seeds.ContainsKey(a) && reasons[a] is not null)) selected.Add(a);
        }
        var ordered = project.TopologicalOrder.Where(selected.Contains).ToList();
        names.ValidateNodes(environment, ordered.Select(n => (n, ids[n].VersionHash)));
        // A version is built under a pending name first (and an incremental's delta beside it): refuse, before
        // anything is created, a name the engine cannot hold (never truncate).
        foreach (var n in ordered)
        {
            var version = names.Physical(n, ids[n].VersionHash);
            names.Dialect.ValidateIdentifier(StagingNames.Pending(version).Name, $"pending relation name of '{n}'");
            if (project.Models.TryGetValue(n, out var m) && m.Config.Materialized == Materialization.Incremental)
                names.Dialect.ValidateIdentifier(StagingNames.Delta(version).Name, $"delta relation name of '{n}'");
        }

        // Physical relations (state and catalog) matter only for what is selected.
        var physical = ordered.Count == 0 ? new Dictionary<(NodeKey Key, string Hash), PhysicalRelationRow>() : repo.PhysicalRelationIndex();
        // One state store serves one target (upstream: per-target state); its version keys carry no schema, so a
        // store shared by two targets would take one target's versions for the other's. Refuse, naming the fix.
        if (physical.Values.FirstOrDefault(p => p.SchemaName != names.PhysicalSchema) is { } foreign)
            throw new SqbException(ErrorCodes.StateSharedByTargets, "StateSharedByTargets",
                $"state store '{store.Settings.Schema}' already tracks physical relations of another target ('{foreign.SchemaName}'); " +
                $"target '{store.TargetName}' needs its own state schema", SqbErrorKind.InvalidOperation, store.Settings.Schema,
                $"Set [targets.{store.TargetName}.state] schema to a schema of its own (e.g. \"sqlbuild_state_{store.TargetName}\"), then run Initialize-SqbState -Target {store.TargetName}.");
        var catalog = ordered.Count == 0
            ? new CatalogSnapshot(Array.Empty<string>(), Array.Empty<CatalogRelation>())
            : warehouseSession.ReadCatalog(new[] { names.PhysicalSchema }, viewDefinitions: false);

        // A reused version's audits: passed here already if any environment's ref to it carries today's signature.
        var verified = ordered.Any(n => reasons[n] is not null) ? VerifiedVersions(repo, signatures) : new HashSet<(NodeKey, string)>();
        var actions = new Dictionary<string, VirtualAction>(StringComparer.Ordinal);
        var why = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var n in ordered)
        {
            var key = NodeKey.Of(project, n);
            var expected = ids[n].VersionHash;
            var exists = physical.TryGetValue((key, expected), out var p) && catalog.Exists(p.Relation);
            var refreshable = project.Models.TryGetValue(n, out var model) && model.Config.Materialized != Materialization.View;
            var hasAudits = model is { Config.Audits.Count: > 0 };
            (actions[n], why[n]) = (reasons[n], exists) switch
            {
                (_, false) => (VirtualAction.Build, reasons[n] ?? "physical relation missing"),
                // Stale, and the version exists (another environment built it): the ref moves to it.
                (not null, true) when refreshable && !changesOnly => (VirtualAction.Refresh, reasons[n]),
                (not null, true) when hasAudits && !verified.Contains((key, expected)) => (VirtualAction.Audit, $"{reasons[n]}; audits not yet passed"),
                (not null, true) => (VirtualAction.Reuse, reasons[n]),
                (null, true) when refreshable && !changesOnly => (VirtualAction.Refresh, "default build: tables and incrementals are refreshed"),
                (null, true) when due.TryGetValue(n, out var interval) => (VirtualAction.Refresh, interval),
                (null, true) when AuditsChanged(n) => (VirtualAction.Audit, "audits changed"),
                _ => (VirtualAction.Unchanged, (string?)null),
            };
        }
        return new VirtualPlan
        {
            Environment = environment, Row = row, Baseline = baseline, OwnRefs = own, StartRefs = start, Identities = ids,
            StaleReasons = reasons, Selected = ordered, Actions = actions, Reasons = why, Physical = physical, PhysicalCatalog = catalog,
            BoundVersions = bound, AuditSignatures = signatures, StartAudits = startAudits,
        };
    }

    /// <summary>Versions some environment's ref carries with the model's audit signature of today: they passed these audits.</summary>
    private static HashSet<(NodeKey, string)> VerifiedVersions(StateRepository repo, IReadOnlyDictionary<string, string> signatures)
    {
        var verified = new HashSet<(NodeKey, string)>();
        foreach (var (_, key, hash, passed) in repo.AllRefAudits())
            if (key.NodeType == NodeTypes.Model && signatures.TryGetValue(key.NodeName, out var signature) && passed == signature)
                verified.Add((key, hash));
        return verified;
    }

    private static string Ago(TimeSpan age) =>
        age.TotalDays >= 2 ? $"{age.TotalDays:0}d" : age.TotalHours >= 1 ? $"{age.TotalHours:0}h" : $"{Math.Max(0, age.TotalMinutes):0}m";

}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Strategies;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build.Virtual;

/// <summary>What a virtual build does with a selected node: nothing (its ref already holds the expected version),
/// point its ref at a version another environment built, or build the version.</summary>
public enum VirtualAction { Unchanged, Reuse, Build }

/// <summary>
/// What a virtual build of one VDE would do, read from state and the catalog in a fixed number of
/// set-based queries: bound and expected versions, stale reasons, the selection (with S010), and for
/// each selected node whether its version is unchanged, reused from another VDE, or built.
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
        var own = repo.Refs(environment);
        var start = own;
        string? baseline = row?.Baseline;
        if (own.Count == 0 && environment != store.TargetName)
        {
            var baseRefs = repo.Refs(store.TargetName);
            if (baseRefs.Count > 0) { start = baseRefs; baseline = store.TargetName; }
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

        // Selection.
        var selected = new HashSet<string>(Selector.Resolve(project, options.Select, options.Exclude), StringComparer.Ordinal);
        var changesOnly = options.ChangesOnly || project.Config.ActiveTarget.ChangesOnly == true ||
                          (project.Config.ActiveTarget.ChangesOnly is null && project.Config.Settings.ChangesOnly);
        if (changesOnly)
        {
            var closure = new HashSet<string>(reasons.Where(r => r.Value is not null).Select(r => r.Key), StringComparer.Ordinal);
            foreach (var n in project.TopologicalOrder)
                if (project.Parents.TryGetValue(n, out var ps) && ps.Any(closure.Contains)) closure.Add(n);
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

        var actions = new Dictionary<string, VirtualAction>(StringComparer.Ordinal);
        foreach (var n in ordered)
        {
            var key = NodeKey.Of(project, n);
            var expected = ids[n].VersionHash;
            var exists = physical.TryGetValue((key, expected), out var p) && catalog.Exists(p.Relation);
            actions[n] = !exists ? VirtualAction.Build
                : start.TryGetValue(key, out var b) && b == expected ? VirtualAction.Unchanged : VirtualAction.Reuse;
        }
        return new VirtualPlan
        {
            Environment = environment, Row = row, Baseline = baseline, OwnRefs = own, StartRefs = start, Identities = ids,
            StaleReasons = reasons, Selected = ordered, Actions = actions, Physical = physical, PhysicalCatalog = catalog,
            BoundVersions = bound,
        };
    }

}

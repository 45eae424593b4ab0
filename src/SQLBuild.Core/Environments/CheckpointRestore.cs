using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

public sealed class RestoreOptions
{
    public string? Environment { get; init; }
    public string? CheckpointId { get; init; }
    public IReadOnlyList<string>? Select { get; init; }
    public IReadOnlyList<string>? Exclude { get; init; }
    public bool AllowPartialRollback { get; init; }
    public bool IncludeStaleUpstreams { get; init; }
}

/// <summary>
/// <c>Restore-SqbCheckpoint</c> (upstream <c>sqb rollback</c>): sets a VDE back to a checkpoint's refs.
/// Every relation the checkpoint needs is checked (tracked, known model, present in the warehouse)
/// before anything changes; the switch is one transaction. Writes no new checkpoint.
/// </summary>
public sealed class CheckpointRestore : EnvironmentOperation
{
    public CheckpointRestore(StateStore store, ISqbLog log) : base(store, log) { }

    public SqbRestoreResult Restore(RestoreOptions options)
    {
        var clock = Stopwatch.StartNew();
        var env = options.Environment ?? Store.TargetName;
        Names.ValidateEnvironment(env);
        Store.RequireInitialized();   // E002 "not initialized", not a failed insert into a missing journal table
        return RunJournaled(
            new JournaledRun("rollback", env, LockManager.EnvironmentKey(env), $"restore checkpoint of {env}") { LockedCode = ErrorCodes.RollbackLocked },
            run => Restore(options, env, run, clock),
            result => $"restored {result.RestoredModels.Count} models from {result.CheckpointId}");
    }

    private SqbRestoreResult Restore(RestoreOptions options, string env, OperationContext run, Stopwatch clock)
    {
        var project = Store.Project;
        Dictionary<NodeKey, string> current, checkpoint;
        string checkpointId;
        Dictionary<(NodeKey, string), PhysicalRelationRow> physical;
        using (var session = Store.OpenStateSession())
        {
            Store.RequireInitialized(session);
            var repo = new StateRepository(session, Store.Sql);
            var row = repo.Environment(env);
            if (row?.Status == EnvironmentStatus.Detached) throw EnvironmentErrors.Detached(env);
            current = repo.Refs(env);
            if (row is null || !current.Keys.Any(k => k.NodeType == NodeTypes.Model))
                throw EnvironmentErrors.Unknown(env, "Get-SqbEnvironment lists the virtual environments of this target.");
            var checkpoints = repo.Checkpoints(env);
            var refs = repo.CheckpointRefs(checkpoints.Select(c => c.Id).ToList());
            if (options.CheckpointId is not null)
            {
                if (!refs.ContainsKey(options.CheckpointId))
                    throw new SqbException(ErrorCodes.UnknownCheckpoint, "UnknownCheckpoint", $"unknown checkpoint '{options.CheckpointId}'", SqbErrorKind.ObjectNotFound,
                        options.CheckpointId, $"Get-SqbCheckpoint -Environment {env} lists the checkpoints of this virtual environment.");
                checkpointId = options.CheckpointId;
            }
            else
            {
                var models = Models(current);
                var candidate = checkpoints.FirstOrDefault(c => !SameMap(Models(refs[c.Id]), models));
                checkpointId = candidate?.Id ?? throw new SqbException(ErrorCodes.NoPreviousCheckpoint, "NoPreviousCheckpoint",
                    "no previous finalized checkpoint is available for rollback", SqbErrorKind.ObjectNotFound, env,
                    $"Get-SqbCheckpoint -Environment {env} lists the checkpoints; the current refs match every one of them.");
            }
            checkpoint = refs[checkpointId];
            physical = repo.PhysicalRelationIndex();
        }

        var whole = options.Select is null or { Count: 0 } && options.Exclude is null or { Count: 0 };
        var modelsInCheckpoint = checkpoint.Keys.Where(k => k.NodeType == NodeTypes.Model).Select(k => k.NodeName).ToHashSet(StringComparer.Ordinal);
        HashSet<string> selected = options.Select is { Count: > 0 }
            ? Selector.Resolve(project, options.Select, options.Exclude).Where(project.Models.ContainsKey).ToHashSet(StringComparer.Ordinal)
            : modelsInCheckpoint.Where(m => options.Exclude is null || !ExcludedBy(project, options.Exclude).Contains(m)).ToHashSet(StringComparer.Ordinal);
        var missing = selected.Where(m => !checkpoint.ContainsKey(NodeKey.Model(m))).OrderBy(m => m, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            throw new SqbException(ErrorCodes.CheckpointMissingRefs, "CheckpointMissingRefs", $"checkpoint is missing selected refs: {string.Join(", ", missing)}",
                SqbErrorKind.ObjectNotFound, checkpointId);
        var final = new Dictionary<NodeKey, string>(current);
        foreach (var m in selected) final[NodeKey.Model(m)] = checkpoint[NodeKey.Model(m)];
        var seeds = whole
            ? checkpoint.Keys.Where(k => k.NodeType == NodeTypes.Seed).Select(k => k.NodeName).ToList()
            : project.Ancestors(selected).Where(project.Seeds.ContainsKey).ToList();
        var missingSeeds = seeds.Where(n => !checkpoint.ContainsKey(NodeKey.Seed(n))).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (missingSeeds.Count > 0)
            throw new SqbException(ErrorCodes.CheckpointMissingRefs, "CheckpointMissingRefs", $"checkpoint is missing selected seed refs: {string.Join(", ", missingSeeds)}",
                SqbErrorKind.ObjectNotFound, checkpointId);
        foreach (var n in seeds) final[NodeKey.Seed(n)] = checkpoint[NodeKey.Seed(n)];

        var finalized = true;
        if (!whole)
        {
            var staleUp = project.Ancestors(selected).Where(a => project.Models.ContainsKey(a) && !selected.Contains(a) &&
                    checkpoint.TryGetValue(NodeKey.Model(a), out var h) && final.GetValueOrDefault(NodeKey.Model(a)) != h)
                .OrderBy(a => a, StringComparer.Ordinal).ToList();
            if (staleUp.Count > 0)
            {
                if (!options.IncludeStaleUpstreams)
                    throw new SqbException(ErrorCodes.RollbackStaleUpstreams, "StaleRequiredUpstreams",
                        $"selected rollback scope is missing stale required upstream models: {string.Join(", ", staleUp)}",
                        SqbErrorKind.InvalidOperation, env, "Re-run with -IncludeStaleUpstreams to add them from the checkpoint.");
                foreach (var a in staleUp) { final[NodeKey.Model(a)] = checkpoint[NodeKey.Model(a)]; selected.Add(a); }
            }
            var remaining = checkpoint.Where(c => final.GetValueOrDefault(c.Key) != c.Value).Select(c => c.Key.NodeName)
                .OrderBy(n => n, StringComparer.Ordinal).ToList();
            if (remaining.Count > 0 && !options.AllowPartialRollback)
                throw new SqbException(ErrorCodes.RollbackLeavesWorking, "RollbackLeavesWorking",
                    $"rollback would leave target virtual environment working; remaining stale models: {string.Join(", ", remaining)}",
                    SqbErrorKind.InvalidOperation, env, "Re-run with -AllowPartialRollback to accept a working target VDE.");
            finalized = remaining.Count == 0;
        }

        // Every relation the restored refs point at must be tracked, known and present: checked before any change.
        using (var warehouse = Store.OpenWarehouseSession())
        {
            var catalog = warehouse.ReadCatalog(new[] { Names.PhysicalSchema });
            foreach (var (key, hash) in final.Where(f => !current.TryGetValue(f.Key, out var c) || c != f.Value)
                         .OrderBy(f => f.Key.NodeName, StringComparer.Ordinal))
            {
                var what = key.NodeType == NodeTypes.Seed ? "seed" : "model";
                if (!physical.TryGetValue((key, hash), out var tracked))
                    throw new SqbException(ErrorCodes.CheckpointMissingPhysical, "CheckpointMissingPhysical", $"checkpoint references missing physical relation for {what} '{key.NodeName}'",
                        SqbErrorKind.ObjectNotFound, key.NodeName, "Use a more recent checkpoint (Get-SqbCheckpoint), or rebuild.");
                if (key.NodeType == NodeTypes.Model && !project.Models.ContainsKey(key.NodeName))
                    throw new SqbException(ErrorCodes.CheckpointUnknownModel, "CheckpointUnknownModel", $"checkpoint references unknown model '{key.NodeName}'",
                        SqbErrorKind.ObjectNotFound, key.NodeName, "Use a more recent checkpoint whose models are all in the project.");
                if (!catalog.Exists(tracked.Relation))
                    throw new SqbException(ErrorCodes.CheckpointMissingRelation, "CheckpointMissingRelation", $"checkpoint references missing warehouse relation for {what} '{key.NodeName}'",
                        SqbErrorKind.ObjectNotFound, tracked.Relation.ToString(),
                        $"Use a more recent checkpoint, or rebuild: Invoke-SqbBuild -Environment {env} -Select {key.NodeName}");
            }
        }

        var status = finalized ? EnvironmentStatus.Finalized : EnvironmentStatus.Active;
        run.Step(KillPoints.Rollback.Switch, $"restoring {selected.Count} model(s) of {env} from {checkpointId}");
        // Restored refs carry the audit signatures they had when the checkpoint was written.
        Dictionary<NodeKey, string?> audits;
        using (var session = Store.OpenStateSession())
            audits = new StateRepository(session, Store.Sql).CheckpointAudits(checkpointId);
        var switched = new EnvironmentSwitch(Store, Names, Log).Apply(env, final, status, null, run, KillPoints.Rollback.Switch, writeCheckpoint: false,
            audits: audits.Where(a => final.ContainsKey(a.Key)).ToDictionary(a => a.Key, a => a.Value));
        return new SqbRestoreResult
        {
            Environment = env, CheckpointId = checkpointId, Status = EnvironmentStatus.Display(status),
            RestoredModels = selected.OrderBy(n => n, StringComparer.Ordinal).ToList(), RefChanges = switched.Changes.Count,
            ViewsWritten = switched.ViewsWritten, OperationId = run.Id, Duration = clock.Elapsed,
        };
    }

    private static Dictionary<string, string> Models(Dictionary<NodeKey, string> refs) =>
        refs.Where(r => r.Key.NodeType == NodeTypes.Model).ToDictionary(r => r.Key.NodeName, r => r.Value);

    private static bool SameMap(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(x => b.TryGetValue(x.Key, out var v) && v == x.Value);

    private static IReadOnlySet<string> ExcludedBy(CompiledProject project, IReadOnlyList<string> exclude) =>
        Selector.Resolve(project, exclude, null);
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
using SQLBuild.Core.State;
using SQLBuild.Core.Faults;

namespace SQLBuild.Core.Reconcile;

/// <summary>A view to repair: a node of a VDE. A null <see cref="NodeType"/> is resolved from the refs (model first).</summary>
public sealed record ViewRepairRequest(string Name, string? NodeType = null);

/// <summary>One request's outcome; <see cref="Error"/> says why a <c>blocked</c> result was blocked.</summary>
public sealed record ViewRepairOutcome(SqbRepairResult Result, SqbException? Error);

/// <summary>
/// <c>Repair-SqbView</c> (upstream <c>sqb reconcile repair-view</c>): recreates logical views from state
/// (ref -> tracked physical relation). Never overwrites a table (C250), refuses an untracked (C251) or
/// missing (C252) physical relation and a missing ref (R001), never uses CASCADE. One call handles a
/// whole batch of one VDE: the VDE lock once, one catalog read, every view in ONE warehouse transaction
/// (with the <c>repair_view</c> events when the state store shares the warehouse), one journaled
/// operation of type <c>repair</c>.
/// </summary>
public sealed class ViewRepair : EnvironmentOperation
{
    public ViewRepair(StateStore store, ISqbLog log) : base(store, log) { }

    /// <summary>The logical view of a node, for -WhatIf and messages (no connection).</summary>
    public RelationName LogicalView(string environment, string node) => Names.Logical(environment, node);

    public IReadOnlyList<ViewRepairOutcome> Repair(string? environment, IReadOnlyList<ViewRepairRequest> requests)
    {
        ReconcileGuard.RequireVirtualMode(Store.Project);
        var env = environment ?? Store.TargetName;
        Names.ValidateEnvironment(env);
        var distinct = requests.Distinct().ToList();
        if (distinct.Count == 0) return Array.Empty<ViewRepairOutcome>();

        var what = string.Join(", ", distinct.Select(r => r.Name));
        return RunJournaled(new JournaledRun("repair", env, LockManager.EnvironmentKey(env), $"repair views of {env}: {what}"),
            run => Repair(env, distinct, run), Summary);
    }

    private static string Summary(IReadOnlyList<ViewRepairOutcome> outcomes) =>
        $"repaired {outcomes.Count(o => o.Result.Result == SqbRepairResult.Repaired)} view(s), " +
        $"{outcomes.Count(o => o.Result.Result == SqbRepairResult.Unchanged)} unchanged, " +
        $"{outcomes.Count(o => o.Result.Result == SqbRepairResult.Blocked)} blocked";

    private IReadOnlyList<ViewRepairOutcome> Repair(string env, IReadOnlyList<ViewRepairRequest> requests, OperationContext run)
    {
        using var warehouse = Store.OpenWarehouseSession();
        using var separateState = Store.SharesWarehouse ? null : Store.OpenStateSession();
        var state = separateState ?? warehouse;
        Store.RequireInitialized(state);
        var repo = new StateRepository(state, Store.Sql);
        RequireLiveEnvironment(repo, env);
        var refs = repo.Refs(env);
        var physical = repo.PhysicalRelationIndex();
        var logicalSchema = Names.LogicalSchema(env);
        var catalog = ReconcileCatalog.Read(warehouse, logicalSchema, Names.PhysicalSchema, ReconcileCatalog.OfRefs(refs, physical));

        var outcomes = new List<ViewRepairOutcome>();
        var toWrite = new List<(RelationName View, RelationName Target, CatalogRelation? Existing)>();
        foreach (var request in requests)
        {
            var key = Resolve(request, refs);
            var node = NodeInspection.Inspect(key, refs, physical, catalog, Names, env, expectedHash: null);
            SqbRepairResult Result(string result, string message) => new()
            {
                Environment = env, NodeType = key.NodeType, Name = key.NodeName, Relation = node.View.ToString(),
                PhysicalRelation = node.Physical?.ToString(), Result = result, Message = message, OperationId = run.Id,
            };
            switch (node.Problem)
            {
                case null:
                    outcomes.Add(new(Result(SqbRepairResult.Unchanged, $"view {node.View} already reads {node.Physical}"), null));
                    break;
                case SqbFindingKind.MissingView or SqbFindingKind.WrongViewTarget:
                    toWrite.Add((node.View, node.Physical!, node.Existing));
                    outcomes.Add(new(Result(SqbRepairResult.Repaired, Repaired(key)), null));
                    break;
                default:
                    var error = ReconcileText.RepairRefusal(node.Problem.Value, env, key, node.View);
                    outcomes.Add(new(Result(SqbRepairResult.Blocked, error.Message), error));
                    break;
            }
        }

        var writes = LogicalViews.To(warehouse, toWrite);
        run.Step(KillPoints.Repair.Views, $"{writes.Count} view(s) to write, {outcomes.Count(o => o.Error is not null)} blocked");
        void Events(StateRepository r)
        {
            foreach (var o in outcomes.Where(o => o.Result.Result != SqbRepairResult.Unchanged))
                r.InsertReconcileEvent(env, "repair_view", o.Error is null ? "succeeded" : "failed", o.Result.Message);
        }
        // Repair moves views only (refs stay): the warehouse transaction is the one to fence, and it proves the lease
        // where the state lives in it; with a separate state store the lease is proven by its renewals.
        SwitchTransaction.Run(warehouse, run, fence: Store.SharesWarehouse, KillPoints.Repair.Views,
            writes.Select(w => w.View).Concat(writes.Select(w => w.Target)).ToList(), () => Store.OpenStateSession(), Log, () =>
            {
                LogicalViews.Write(warehouse, logicalSchema, writes, KillPoints.Repair.Views);
                if (Store.SharesWarehouse) Events(repo);
                return 0;
            });
        if (!Store.SharesWarehouse) Events(repo);
        Log.Verbose($"{env}: repaired {writes.Count} view(s)");
        return outcomes;
    }

    private static string Repaired(NodeKey key) =>
        key.NodeType == NodeTypes.Seed ? $"repaired seed view for {key.NodeName}" : $"repaired view for {key.NodeName}";

    private NodeKey Resolve(ViewRepairRequest r, IReadOnlyDictionary<NodeKey, string> refs)
    {
        if (r.NodeType is { } t) return new NodeKey(t, r.Name);
        if (refs.ContainsKey(NodeKey.Model(r.Name))) return NodeKey.Model(r.Name);
        if (refs.ContainsKey(NodeKey.Seed(r.Name)) || Store.Project.Seeds.ContainsKey(r.Name)) return NodeKey.Seed(r.Name);
        return NodeKey.Model(r.Name);
    }
}

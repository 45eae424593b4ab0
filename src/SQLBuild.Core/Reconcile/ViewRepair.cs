using SQLBuild.Core.Adapters;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
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
public sealed class ViewRepair
{
    private readonly StateStore _store;
    private readonly ISqbLog _log;
    private readonly VirtualNames _names;

    public ViewRepair(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
        _names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    /// <summary>The logical view of a node, for -WhatIf and messages (no connection).</summary>
    public RelationName LogicalView(string environment, string node) => _names.Logical(environment, node);

    public IReadOnlyList<ViewRepairOutcome> Repair(string? environment, IReadOnlyList<ViewRepairRequest> requests)
    {
        ReconcileGuard.RequireVirtualMode(_store.Project);
        var env = environment ?? _store.TargetName;
        _names.ValidateEnvironment(env);
        var distinct = requests.Distinct().ToList();
        if (distinct.Count == 0) return Array.Empty<ViewRepairOutcome>();

        var what = string.Join(", ", distinct.Select(r => r.Name));
        using var journal = OperationJournal.Start(_store, "repair", env, $"repair views of {env}: {what}", _log);
        try
        {
            using var lease = new LockManager(_store, _log).Acquire(LockManager.EnvironmentKey(env), journal.Id);
            var outcomes = RepairLocked(env, distinct, journal);
            journal.Succeed($"repaired {outcomes.Count(o => o.Result.Result == SqbRepairResult.Repaired)} view(s), " +
                            $"{outcomes.Count(o => o.Result.Result == SqbRepairResult.Unchanged)} unchanged, " +
                            $"{outcomes.Count(o => o.Result.Result == SqbRepairResult.Blocked)} blocked");
            return outcomes;
        }
        catch (Exception ex)
        {
            journal.Fail(ex.Message);
            throw;
        }
    }

    private List<ViewRepairOutcome> RepairLocked(string env, IReadOnlyList<ViewRepairRequest> requests, OperationJournal journal)
    {
        using var warehouse = _store.Warehouse.OpenSession();
        using var separateState = _store.SharesWarehouse ? null : _store.OpenStateSession();
        var state = separateState ?? warehouse;
        _store.RequireInitialized(state);
        var repo = new StateRepository(state, _store.Sql);
        var row = repo.Environment(env) ?? throw new SqbException(ErrorCodes.UnknownEnvironment, "UnknownEnvironment", $"unknown virtual environment '{env}'",
            SqbErrorKind.ObjectNotFound, env, $"Build it first: Invoke-SqbBuild -Environment {env}");
        if (row.Status == EnvironmentStatus.Detached) throw Environments.LifecycleGuards.Detached(env);
        var refs = repo.Refs(env);
        var physical = repo.PhysicalRelationIndex();
        var logicalSchema = _names.LogicalSchema(env);
        var catalog = ReconcileCatalog.Read(warehouse, logicalSchema, _names.PhysicalSchema, includeColumns: true);

        var outcomes = new List<ViewRepairOutcome>();
        var writes = new List<(NodeInspection Node, bool DropFirst)>();
        foreach (var request in requests)
        {
            var key = Resolve(request, refs);
            var i = NodeInspection.Inspect(key, refs, physical, catalog, _names, env, expectedHash: null);
            SqbRepairResult Result(string result, string message) => new()
            {
                Environment = env, NodeType = key.NodeType, Name = key.NodeName, Relation = i.View.ToString(),
                PhysicalRelation = i.Physical?.ToString(), Result = result, Message = message, OperationId = journal.Id,
            };
            switch (i.Problem)
            {
                case null:
                    outcomes.Add(new(Result(SqbRepairResult.Unchanged, $"view {i.View} already reads {i.Physical}"), null));
                    break;
                case SqbFindingKind.MissingView or SqbFindingKind.WrongViewTarget:
                    // PostgreSQL keeps a view's columns on CREATE OR REPLACE: drop first (no CASCADE) when they differ.
                    var dropFirst = i.Existing is not null && warehouse.Dialect.ViewsBindToRelations &&
                                    !EnvironmentSwitch.IsPrefix(catalog.ColumnsOf(i.View), catalog.ColumnsOf(i.Physical!));
                    writes.Add((i, dropFirst));
                    outcomes.Add(new(Result(SqbRepairResult.Repaired, Repaired(key)), null));
                    break;
                default:
                    var error = ReconcileText.RepairRefusal(i.Problem.Value, env, key, i.View);
                    outcomes.Add(new(Result(SqbRepairResult.Blocked, error.Message), error));
                    break;
            }
        }

        journal.Step("views", $"{writes.Count} view(s) to write, {outcomes.Count(o => o.Error is not null)} blocked");
        void Events(StateRepository r)
        {
            foreach (var o in outcomes.Where(o => o.Result.Result != SqbRepairResult.Unchanged))
                r.InsertReconcileEvent(env, "repair_view", o.Error is null ? "succeeded" : "failed", o.Result.Message);
        }
        using (var tx = warehouse.BeginTransaction())
        {
            if (writes.Count > 0) warehouse.Execute(warehouse.Dialect.CreateSchemaIfNotExists(logicalSchema));
            var n = 0;
            foreach (var (node, dropFirst) in writes)
            {
                KillPoints.Hit($"repair:view:{++n}");
                if (dropFirst) warehouse.Execute(warehouse.Dialect.DropViewIfExists(node.View));
                warehouse.Execute(warehouse.Dialect.CreateOrReplaceView(node.View, warehouse.Dialect.SelectAll(node.Physical!)));
            }
            if (_store.SharesWarehouse) Events(repo);
            KillPoints.Hit("repair:before-commit");
            tx.Commit();
        }
        if (!_store.SharesWarehouse) Events(repo);
        _log.Verbose($"{env}: repaired {writes.Count} view(s)");
        return outcomes;
    }

    private static string Repaired(NodeKey key) =>
        key.NodeType == NodeTypes.Seed ? $"repaired seed view for {key.NodeName}" : $"repaired view for {key.NodeName}";

    private NodeKey Resolve(ViewRepairRequest r, IReadOnlyDictionary<NodeKey, string> refs)
    {
        if (r.NodeType is { } t) return new NodeKey(t, r.Name);
        if (refs.ContainsKey(NodeKey.Model(r.Name))) return NodeKey.Model(r.Name);
        if (refs.ContainsKey(NodeKey.Seed(r.Name)) || _store.Project.Seeds.ContainsKey(r.Name)) return NodeKey.Seed(r.Name);
        return NodeKey.Model(r.Name);
    }
}

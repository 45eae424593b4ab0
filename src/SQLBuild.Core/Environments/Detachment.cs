using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

public sealed class DetachOptions
{
    /// <summary>Allow copying tables where they cannot be moved (DuckDB, or a version other environments share).</summary>
    public bool AllowCopy { get; init; }
    /// <summary>The typed confirmation; anything but exactly <c>detach &lt;target&gt;</c> cancels with no change.</summary>
    public string? Confirmation { get; init; }
}

/// <summary>
/// <c>ConvertFrom-SqbVirtualEnvironment</c> (SPEC §8, upstream <c>sqb state detach</c>): collapses the
/// target's finalized VDE back into plain relations at the logical names, marks it <c>detached</c> and
/// keeps its refs. Afterwards build, promote from/to and checkpoint restore refuse it (S028).
/// <list type="bullet">
/// <item>Tables and seeds: the logical view is replaced by the table itself. Where the engine moves tables
/// natively (PostgreSQL, SQL Server) and no other environment, checkpoint or kept view uses the physical
/// version, it is moved back (no data copied). Otherwise it is copied (needs -AllowCopy): on DuckDB an
/// unshared version is then dropped, as a move would; a shared one stays for the environments that use it.</item>
/// <item>View models: the logical view is replaced, in place, by the bound version's SQL reading the plain
/// relations. Their physical views are left to <c>Invoke-SqbJanitor</c>.</item>
/// </list>
/// One journaled, transactional step per relation (<c>detach:move:&lt;node&gt;</c>, <c>detach:view:&lt;node&gt;</c>);
/// a step looks at what is there first, so a retry continues where an interrupted run stopped. The VDE stays
/// finalized, with its refs, until the last step marks it detached.
/// </summary>
public sealed class Detachment
{
    private const string Command = "detach";
    private readonly StateStore _store;
    private readonly ISqbLog _log;
    private readonly VirtualNames _names;

    public Detachment(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
        _names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    public string Target => _store.TargetName;
    public string ConfirmationText => LifecycleGuards.ConfirmationText(Command, Target);
    private CompiledProject Project => _store.Project;
    private SqlDialect Dialect => _store.Warehouse.Dialect;

    private enum StepKind { Move, Copy, View, Done, Drop }

    private sealed record Step(NodeKey Key, string Hash, bool IsView, RelationName Logical, RelationName Physical, StepKind Kind,
        bool DropPhysical, string? Sql, string? Message)
    {
        public string Name => Key.NodeName;
    }

    public IReadOnlyList<SqbRelationMove> Plan(bool allowCopy) => Analyze(allowCopy).Select(ToMove).ToList();

    public SqbDetachResult Detach(DetachOptions o)
    {
        var clock = Stopwatch.StartNew();
        Analyze(o.AllowCopy);
        LifecycleGuards.RequireConfirmation(Command, Target, o.Confirmation);

        var operationId = $"detach:{Target}";
        using var lease = new LockManager(_store, _log).Acquire(LockManager.EnvironmentKey(Target), operationId);
        using var journal = OperationJournal.Start(_store, "detach", Target, "starting detach", _log, operationId);
        try
        {
            var plan = Analyze(o.AllowCopy);
            var moves = new List<SqbRelationMove>();
            using (var w = _store.Warehouse.OpenSession())
            {
                var d = w.Dialect;
                foreach (var s in plan)
                {
                    if (s.Kind != StepKind.Done)
                    {
                        journal.Step($"detach:{(s.Kind == StepKind.Drop ? "drop" : s.IsView ? "view" : "move")}:{s.Name}", Describe(s));
                        using var tx = w.BeginTransaction();
                        switch (s.Kind)
                        {
                            case StepKind.View:
                                // In place: views and grants that depend on the logical view survive.
                                w.Execute(d.CreateOrReplaceView(s.Logical, s.Sql!));
                                break;
                            case StepKind.Move:
                                w.Execute(d.DropViewIfExists(s.Logical));
                                w.Execute(d.MoveTable(s.Physical, _names.TargetSchema));
                                w.Execute(d.RenameTable(new RelationName(_names.TargetSchema, s.Physical.Name), s.Logical.Name));
                                break;
                            case StepKind.Drop:
                                w.Execute(d.DropViewIfExists(s.Physical));
                                break;
                            case StepKind.Copy:
                                w.Execute(d.DropViewIfExists(s.Logical));
                                w.Execute(d.CreateTableAs(s.Logical, d.SelectAll(s.Physical)));
                                if (s.DropPhysical) w.Execute(d.DropTableIfExists(s.Physical));
                                break;
                        }
                        tx.Commit();
                        _log.Verbose($"detach: {Describe(s)}");
                    }
                    moves.Add(ToMove(s));
                }
            }

            journal.Step("detach:finalize", $"marking {Target} detached");
            using (var s = _store.OpenStateSession())
                new StateRepository(s, _store.Sql).SetEnvironmentStatus(Target, EnvironmentStatus.Detached);
            var models = plan.Count(s => s.Key.NodeType == NodeTypes.Model && s.Kind != StepKind.Drop);
            journal.Succeed($"detached {models} models");
            return new SqbDetachResult
            {
                Target = Target, Environment = Target, Status = EnvironmentStatus.Detached, ModelCount = models, SeedCount = plan.Count(s => s.Key.NodeType == NodeTypes.Seed),
                Relations = moves.Where(m => m.Action != "drop").ToList(), OperationId = journal.Id, Duration = clock.Elapsed,
                Message = $"Detached {models} models from virtual environment {Target}.",
            };
        }
        catch (Exception ex)
        {
            journal.Fail(ex.Message);
            throw;
        }
    }

    private List<Step> Analyze(bool allowCopy)
    {
        LifecycleGuards.RequireUnsuffixed(_store, Command);
        Dictionary<NodeKey, string> refs;
        Dictionary<(NodeKey, string), PhysicalRelationRow> physical;
        Dictionary<(string, string), ModelVersionRow> versions;
        HashSet<(NodeKey, string)> shared;
        CatalogSnapshot catalog;
        using (var s = _store.OpenStateSession())
        {
            _store.RequireInitialized(s);
            var repo = new StateRepository(s, _store.Sql);
            var row = repo.Environment(Target);
            if (row?.Status != EnvironmentStatus.Finalized)
                throw new SqbException(ErrorCodes.EnvironmentNotFinalized, "EnvironmentNotFinalized", "state detach requires a finalized virtual environment",
                    SqbErrorKind.InvalidOperation, Target,
                    row is null ? $"Virtual environment '{Target}' does not exist: build it first (Invoke-SqbBuild)."
                    : row.Status == EnvironmentStatus.Detached ? $"Virtual environment '{Target}' is already detached."
                    : $"Virtual environment '{Target}' is {EnvironmentStatus.Display(row.Status)}: build it to finalized first (Invoke-SqbBuild).");
            refs = repo.Refs(Target);
            physical = repo.PhysicalRelationIndex();
            versions = repo.ModelVersions(refs.Keys.Where(k => k.NodeType == NodeTypes.Model).Select(k => k.NodeName).ToList());

            // A version is shared when another live environment or another environment's checkpoint uses it.
            var environments = repo.Environments().ToDictionary(e => e.Name, e => e.Status);
            shared = new HashSet<(NodeKey, string)>();
            foreach (var (env, envRefs) in repo.AllRefs())
                if (env != Target && environments.GetValueOrDefault(env) != EnvironmentStatus.Detached)
                    foreach (var r in envRefs) shared.Add((r.Key, r.Value));
            var others = repo.Checkpoints().Where(c => c.Environment != Target).Select(c => c.Id).ToList();
            foreach (var cp in repo.CheckpointRefs(others).Values)
                foreach (var r in cp) shared.Add((r.Key, r.Value));

            if (_store.SharesWarehouse) catalog = s.ReadCatalog(new[] { _names.TargetSchema, _names.PhysicalSchema });
            else
            {
                using var w = _store.Warehouse.OpenSession();
                catalog = w.ReadCatalog(new[] { _names.TargetSchema, _names.PhysicalSchema });
            }
        }

        // Physical views this detach leaves behind for the janitor: this VDE's unshared ones. Any OTHER view
        // reading a physical table keeps that table where it is.
        var ownViews = refs.Where(r => !shared.Contains((r.Key, r.Value)) && physical.TryGetValue((r.Key, r.Value), out var p) && p.RelationType == "view")
            .Select(r => physical[(r.Key, r.Value)].Relation).ToHashSet();
        var keptViews = catalog.Relations.Where(r => r.Kind == RelationKind.View && r.Schema == _names.PhysicalSchema && !ownViews.Contains(r.Relation)).ToList();

        var order = Project.TopologicalOrder.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        var keys = refs.Keys.OrderBy(k => order.TryGetValue(k.NodeName, out var i) ? i : int.MaxValue).ThenBy(k => k.NodeName, StringComparer.Ordinal).ToList();
        var steps = new List<Step>();
        var copies = new List<string>();
        var sharedCopies = new List<string>();
        foreach (var key in keys)
        {
            var hash = refs[key];
            var name = key.NodeName;
            if (!physical.TryGetValue((key, hash), out var phys))
                throw new SqbException(ErrorCodes.MissingTrackedPhysical, "MissingTrackedPhysical", $"missing tracked physical relation for '{name}'",
                    SqbErrorKind.ObjectNotFound, name, $"Invoke-SqbBuild -Select {name}, then detach again.");
            var logical = _names.Logical(Target, name);
            var l = catalog.Find(logical);
            var p = catalog.Find(phys.Relation);
            var isView = phys.RelationType == "view";
            if (isView)
            {
                // Done once the logical view no longer reads the physical one (an earlier run replaced it).
                if (l is not null && (l.Kind == RelationKind.Table || !EnvironmentSwitch.ViewReads(l, phys.Relation)))
                {
                    steps.Add(new Step(key, hash, true, logical, phys.Relation, StepKind.Done, false, null, "already a plain view"));
                    continue;
                }
                var sql = ViewSql(key, hash, versions);
                steps.Add(new Step(key, hash, true, logical, phys.Relation, StepKind.View, false, sql, null));
                continue;
            }
            if (l?.Kind == RelationKind.Table)
            {
                steps.Add(new Step(key, hash, false, logical, phys.Relation, StepKind.Done, false, null, "already a plain table"));
                continue;
            }
            if (p is null)
                throw new SqbException(ErrorCodes.MissingPhysical, "MissingPhysical", $"missing physical relation for '{name}'", SqbErrorKind.ObjectNotFound,
                    phys.Relation.ToString(), $"Invoke-SqbBuild -Select {name}, then detach again.");
            var isShared = shared.Contains((key, hash));
            var readByKeptView = keptViews.Any(v => v.ViewDefinition is { } def && def.Contains(phys.Relation.Name, StringComparison.OrdinalIgnoreCase));
            var movable = !isShared && !readByKeptView;
            StepKind kind;
            if (movable && Dialect.SupportsMoveTable) kind = StepKind.Move;
            else
            {
                kind = StepKind.Copy;
                copies.Add(name);
                if (!movable) sharedCopies.Add(name);
            }
            steps.Add(new Step(key, hash, false, logical, phys.Relation, kind, kind == StepKind.Copy && movable, null,
                kind == StepKind.Copy && !movable ? "the physical version is shared, so it is copied and kept" : null));
        }

        if (copies.Count > 0 && !allowCopy)
            throw LifecycleGuards.CopyRequired(Command, Target, Dialect, copies,
                sharedCopies.Count == copies.Count
                    ? "other environments, checkpoints or views use these physical versions, so they must be copied, not moved"
                    : $"{Dialect.Kind.ToString().ToLowerInvariant()} cannot move a table to another schema, so detaching it means copying it");

        // Views bound to relations (PostgreSQL) need their inputs to be plain first: strict dependency order.
        // Where views resolve names at query time (DuckDB, SQL Server), replace the views first: they keep
        // reading the same names while the tables under them change from views to tables.
        if (!Dialect.ViewsBindToRelations)
            steps = steps.Where(s => s.IsView).Concat(steps.Where(s => !s.IsView)).ToList();

        // Last, this VDE's own physical views go (downstream first): nothing reads them any more, and left
        // behind they would read the moved tables (PostgreSQL) or nothing (DuckDB) under a versioned name a
        // later build would reuse.
        foreach (var s in steps.Where(s => s.IsView && ownViews.Contains(s.Physical) && catalog.Exists(s.Physical)).Reverse().ToList())
            steps.Add(s with { Kind = StepKind.Drop, Message = null });
        return steps;
    }

    /// <summary>The bound version's SQL (as stored when it was built), reading the plain relations at the logical names.</summary>
    private string ViewSql(NodeKey key, string hash, Dictionary<(string, string), ModelVersionRow> versions)
    {
        string sql;
        IReadOnlyList<Reference> references;
        if (versions.TryGetValue((key.NodeName, hash), out var v) && v.CompiledSql.Length > 0)
        {
            sql = v.CompiledSql;
            references = LifecycleGuards.Scan(sql, $"stored version {hash[..Math.Min(8, hash.Length)]} of '{key.NodeName}'");
        }
        else if (Project.Models.TryGetValue(key.NodeName, out var model))
        {
            sql = model.Sql;
            references = model.References;
        }
        else
            throw new SqbException(ErrorCodes.MissingTrackedPhysical, "MissingModelVersion", $"no SQL is recorded for view model '{key.NodeName}'",
                SqbErrorKind.ObjectNotFound, key.NodeName, "Add the model back to the project, or build it first.");
        return LifecycleGuards.Render(Project, Dialect, sql, references, n => _names.Logical(Target, n));
    }

    private static string Describe(Step s) => s.Kind switch
    {
        StepKind.Move => $"move {s.Physical} -> {s.Logical}",
        StepKind.Copy => $"copy {s.Physical} -> {s.Logical}" + (s.DropPhysical ? $", drop {s.Physical}" : $", keep {s.Physical}"),
        StepKind.View => $"view {s.Logical} from the model's SQL",
        StepKind.Drop => $"drop {s.Physical}",
        _ => $"done {s.Name}",
    };

    private SqbRelationMove ToMove(Step s) => new()
    {
        Operation = Command, Environment = Target, Name = s.Name, NodeType = s.Key.NodeType,
        Materialized = LifecycleGuards.Materialized(Project, s.Key), Action = s.Kind.ToString().ToLowerInvariant(),
        From = s.Physical.ToString(), To = s.Kind == StepKind.Drop ? null : s.Logical.ToString(), VersionHash = s.Hash, Message = s.Message ?? Describe(s),
    };
}

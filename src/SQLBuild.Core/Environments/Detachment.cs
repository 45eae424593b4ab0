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
public sealed class Detachment : LifecycleOperation
{
    public Detachment(StateStore store, ISqbLog log) : base(store, log, "detach") { }

    private enum StepKind { Move, Copy, View, Done, Drop }

    private sealed record Step(NodeKey Key, string Hash, bool IsView, RelationName Logical, RelationName Physical, StepKind Kind,
        bool DropPhysical, string? Sql, string? Message)
    {
        public string Name => Key.NodeName;
    }

    /// <summary>What detach would do, read-only; nothing when a killed run already detached the VDE (the retry only settles it).</summary>
    public IReadOnlyList<SqbRelationMove> Plan(bool allowCopy) =>
        DetachedByAnInterruptedRun() ? Array.Empty<SqbRelationMove>() : Analyze(allowCopy).Select(ToMove).ToList();

    public SqbDetachResult Detach(DetachOptions options)
    {
        var clock = Stopwatch.StartNew();
        if (DetachedByAnInterruptedRun())
        {
            // A run was killed after its last step (the VDE is marked detached) but before its journal said so: the retry
            // runs journaled and does nothing, so it takes over the dead run's lock row and records the success that settles
            // the interrupted run for reconcile and the janitor (which otherwise refused for good).
            RequireConfirmation(options.Confirmation);
            return RunJournaled(Run(), run => DetachedAlready(run, clock), _ => "detached already: nothing to do");
        }
        Analyze(options.AllowCopy);
        RequireConfirmation(options.Confirmation);
        return RunJournaled(Run(), run => Detach(options, run, clock), result => $"detached {result.ModelCount} models");
    }

    private bool DetachedByAnInterruptedRun()
    {
        RequireUnsuffixed();
        using (var session = Store.OpenStateSession())
        {
            Store.RequireInitialized(session);
            if (new StateRepository(session, Store.Sql).Environment(Target)?.Status != EnvironmentStatus.Detached) return false;
        }
        return new OperationQueries(Store, Log).Unfinished(new[] { Command }).Any(o => o.Environment == Target);
    }

    private SqbDetachResult DetachedAlready(OperationContext run, Stopwatch clock)
    {
        using var session = Store.OpenStateSession();
        var refs = new StateRepository(session, Store.Sql).Refs(Target);
        var models = refs.Keys.Count(k => k.NodeType == NodeTypes.Model);
        return new SqbDetachResult
        {
            Target = Target, Environment = Target, Status = EnvironmentStatus.Detached, ModelCount = models, SeedCount = refs.Count - models,
            Relations = Array.Empty<SqbRelationMove>(), OperationId = run.Id, Duration = clock.Elapsed,
            Message = $"Virtual environment {Target} is detached already: nothing to do.",
        };
    }

    private SqbDetachResult Detach(DetachOptions options, OperationContext run, Stopwatch clock)
    {
        var plan = Analyze(options.AllowCopy);
        var moves = new List<SqbRelationMove>();
        using (var warehouse = Store.OpenWarehouseSession())
        {
            foreach (var step in plan)
            {
                if (step.Kind != StepKind.Done)
                {
                    var point = (step.Kind == StepKind.Drop ? KillPoints.Detach.Drop : step.IsView ? KillPoints.Detach.View : KillPoints.Detach.Move) + step.Name;
                    run.Step(point, Describe(step));
                    SwitchTransaction.Run(warehouse, run, fence: Store.SharesWarehouse, point, new[] { step.Logical, step.Physical },
                        () => Store.OpenStateSession(), Log, () =>
                        {
                            Apply(warehouse, step);
                            return 0;
                        });
                    Log.Verbose($"detach: {Describe(step)}");
                }
                moves.Add(ToMove(step));
            }
        }

        run.Step(KillPoints.Detach.Finalize, $"marking {Target} detached");
        using (var session = Store.OpenStateSession())
            SwitchTransaction.Run(session, run, fence: true, KillPoints.Detach.Finalize, Array.Empty<RelationName>(), () => Store.OpenStateSession(), Log, () =>
            {
                new StateRepository(session, Store.Sql).SetEnvironmentStatus(Target, EnvironmentStatus.Detached);
                return 0;
            });
        var models = plan.Count(step => step.Key.NodeType == NodeTypes.Model && step.Kind != StepKind.Drop);
        return new SqbDetachResult
        {
            Target = Target, Environment = Target, Status = EnvironmentStatus.Detached, ModelCount = models,
            SeedCount = plan.Count(step => step.Key.NodeType == NodeTypes.Seed),
            Relations = moves.Where(m => m.Action != "drop").ToList(), OperationId = run.Id, Duration = clock.Elapsed,
            Message = $"Detached {models} models from virtual environment {Target}.",
        };
    }

    /// <summary>The warehouse side of one step; runs inside the step's switch transaction.</summary>
    private void Apply(IWarehouseSession warehouse, Step step)
    {
        var dialect = warehouse.Dialect;
        switch (step.Kind)
        {
            case StepKind.View:
                // In place: views and grants that depend on the logical view survive.
                warehouse.Execute(dialect.CreateOrReplaceView(step.Logical, step.Sql!));
                break;
            case StepKind.Move:
                warehouse.Execute(dialect.DropViewIfExists(step.Logical));
                warehouse.Execute(dialect.MoveTable(step.Physical, Names.TargetSchema));
                warehouse.Execute(dialect.RenameTable(new RelationName(Names.TargetSchema, step.Physical.Name), step.Logical.Name));
                break;
            case StepKind.Drop:
                warehouse.Execute(dialect.DropViewIfExists(step.Physical));
                break;
            case StepKind.Copy:
                warehouse.Execute(dialect.DropViewIfExists(step.Logical));
                warehouse.Execute(dialect.CreateTableAs(step.Logical, dialect.SelectAll(step.Physical)));
                if (step.DropPhysical) warehouse.Execute(dialect.DropTableIfExists(step.Physical));
                break;
        }
    }

    private List<Step> Analyze(bool allowCopy)
    {
        RequireUnsuffixed();
        Dictionary<NodeKey, string> refs;
        Dictionary<(NodeKey, string), PhysicalRelationRow> physical;
        Dictionary<(string, string), ModelVersionRow> versions;
        HashSet<(NodeKey, string)> shared;
        CatalogSnapshot catalog;
        using (var session = Store.OpenStateSession())
        {
            Store.RequireInitialized(session);
            var repo = new StateRepository(session, Store.Sql);
            var row = repo.Environment(Target);
            // A retried detach that had already finished: say so (S028), not that the VDE is not finalized.
            if (row?.Status == EnvironmentStatus.Detached)
                throw new SqbException(ErrorCodes.EnvironmentDetached, "EnvironmentDetached", $"virtual environment '{Target}' is already detached",
                    SqbErrorKind.InvalidOperation, Target,
                    $"Nothing to do: its relations are direct-mode tables in {Names.TargetSchema}. To make it virtual again: ConvertTo-SqbVirtualEnvironment.");
            if (row?.Status != EnvironmentStatus.Finalized)
                throw new SqbException(ErrorCodes.EnvironmentNotFinalized, "EnvironmentNotFinalized", "state detach requires a finalized virtual environment",
                    SqbErrorKind.InvalidOperation, Target,
                    row is null ? $"Virtual environment '{Target}' does not exist: build it first (Invoke-SqbBuild)."
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

            catalog = ReadWarehouseCatalog(session, new[] { Names.TargetSchema, Names.PhysicalSchema });
        }

        // Physical views this detach leaves behind for the janitor: this VDE's unshared ones. Any OTHER view
        // reading a physical table keeps that table where it is.
        var ownViews = refs.Where(r => !shared.Contains((r.Key, r.Value)) && physical.TryGetValue((r.Key, r.Value), out var p) && p.RelationType == "view")
            .Select(r => physical[(r.Key, r.Value)].Relation).ToHashSet();
        var keptViews = catalog.Relations.Where(r => r.Kind == RelationKind.View && r.Schema == Names.PhysicalSchema && !ownViews.Contains(r.Relation)).ToList();

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
            var logical = Names.Logical(Target, name);
            var atLogical = catalog.Find(logical);
            var atPhysical = catalog.Find(phys.Relation);
            var isView = phys.RelationType == "view";
            if (isView)
            {
                // Done once the logical view no longer reads the physical one (an earlier run replaced it).
                if (atLogical is not null && (atLogical.Kind == RelationKind.Table || !atLogical.Reads(phys.Relation)))
                {
                    steps.Add(new Step(key, hash, true, logical, phys.Relation, StepKind.Done, false, null, "already a plain view"));
                    continue;
                }
                var sql = ViewSql(key, hash, versions);
                steps.Add(new Step(key, hash, true, logical, phys.Relation, StepKind.View, false, sql, null));
                continue;
            }
            if (atLogical?.Kind == RelationKind.Table)
            {
                steps.Add(new Step(key, hash, false, logical, phys.Relation, StepKind.Done, false, null, "already a plain table"));
                continue;
            }
            if (atPhysical is null)
                throw new SqbException(ErrorCodes.MissingPhysical, "MissingPhysical", $"missing physical relation for '{name}'", SqbErrorKind.ObjectNotFound,
                    phys.Relation.ToString(), $"Invoke-SqbBuild -Select {name}, then detach again.");
            var isShared = shared.Contains((key, hash));
            var readByKeptView = keptViews.Any(v => v.ReadsRelationNamed(phys.Relation.Name));
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
            throw CopyRequired(copies,
                sharedCopies.Count == copies.Count
                    ? "other environments, checkpoints or views use these physical versions, so they must be copied, not moved"
                    : $"{Dialect.Kind.ToString().ToLowerInvariant()} cannot move a table to another schema, so detaching it means copying it");

        // Views bound to relations (PostgreSQL) need their inputs to be plain first: strict dependency order.
        // Where views resolve names at query time (DuckDB, SQL Server), replace the views first: they keep
        // reading the same names while the tables under them change from views to tables.
        if (!Dialect.ViewsBindToRelations)
            steps = steps.Where(step => step.IsView).Concat(steps.Where(step => !step.IsView)).ToList();

        // Last, this VDE's own physical views go (downstream first): nothing reads them any more, and left
        // behind they would read the moved tables (PostgreSQL) or nothing (DuckDB) under a versioned name a
        // later build would reuse.
        foreach (var step in steps.Where(step => step.IsView && ownViews.Contains(step.Physical) && catalog.Exists(step.Physical)).Reverse().ToList())
            steps.Add(step with { Kind = StepKind.Drop, Message = null });
        return steps;
    }

    /// <summary>The bound version's SQL (as stored when it was built), reading the plain relations at the logical names.</summary>
    private string ViewSql(NodeKey key, string hash, Dictionary<(string, string), ModelVersionRow> versions)
    {
        string sql;
        IReadOnlyList<Reference> references;
        if (versions.TryGetValue((key.NodeName, hash), out var version) && version.CompiledSql.Length > 0)
        {
            sql = version.CompiledSql;
            references = Scan(sql, $"stored version {hash[..Math.Min(8, hash.Length)]} of '{key.NodeName}'");
        }
        else if (Project.Models.TryGetValue(key.NodeName, out var model))
        {
            sql = model.Sql;
            references = model.References;
        }
        else
            throw new SqbException(ErrorCodes.MissingTrackedPhysical, "MissingModelVersion", $"no SQL is recorded for view model '{key.NodeName}'",
                SqbErrorKind.ObjectNotFound, key.NodeName, "Add the model back to the project, or build it first.");
        return Render(sql, references, n => Names.Logical(Target, n));
    }

    private static string Describe(Step s) => s.Kind switch
    {
        StepKind.Move => $"move {s.Physical} -> {s.Logical}",
        StepKind.Copy => $"copy {s.Physical} -> {s.Logical}" + (s.DropPhysical ? $", drop {s.Physical}" : $", keep {s.Physical}"),
        StepKind.View => $"view {s.Logical} from the model's SQL",
        StepKind.Drop => $"drop {s.Physical}",
        _ => $"done {s.Name}",
    };

    private SqbRelationMove ToMove(Step s) => Move(s.Key, s.Kind.ToString().ToLowerInvariant(),
        s.Physical.ToString(), s.Kind == StepKind.Drop ? null : s.Logical.ToString(), s.Hash, s.Message ?? Describe(s));
}

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

public sealed class AdoptOptions
{
    /// <summary>Allow copying tables where the engine cannot move them (DuckDB).</summary>
    public bool AllowCopy { get; init; }
    /// <summary>The typed confirmation; anything but exactly <c>adopt &lt;target&gt;</c> cancels with no change.</summary>
    public string? Confirmation { get; init; }
}

/// <summary>
/// <c>ConvertTo-SqbVirtualEnvironment</c> (SPEC §8, upstream <c>sqb state adopt</c>): turns the relations
/// a direct-mode build left in the target schema into versioned physical relations, with views at the
/// original names, and records them as the finalized VDE named after the target.
/// <para>
/// Version hash: each adopted relation is recorded under the model's (or seed's) REAL version hash, so
/// its physical name follows the one naming rule (<c>&lt;node&gt;__v_&lt;hash8&gt;</c>) and the next build
/// sees it as unchanged. Upstream records the model name as the hash (<c>orders__v_orders</c>), which
/// makes the next build rebuild everything and a "finalized" VDE whose refs match no expected version.
/// </para>
/// <para>
/// One step per relation, each in its own transaction (move or copy, the view at the original name, and
/// its version rows when the state shares the warehouse), journaled as <c>adopt:move:&lt;node&gt;</c> /
/// <c>adopt:view:&lt;node&gt;</c>. Every step looks at what is there before it acts, so a retry after an
/// interruption or a failure continues where the last run stopped. The VDE row is created (working, no refs)
/// before the first step; refs, the finalized status and a checkpoint are written last, in one state transaction.
/// </para>
/// </summary>
public sealed class Adoption : LifecycleOperation
{
    public Adoption(StateStore store, ISqbLog log) : base(store, log, "adopt") { }

    private enum StepKind { Move, Copy, View, Finish, Done, Missing, Skipped, Conflict }

    private sealed record Step(string Name, NodeKey Key, string Hash, bool IsView, RelationName Logical, RelationName Physical,
        StepKind Kind, string? Message);

    /// <summary>What adopt would do, read-only, after every guard. Throws the guard's error when it would refuse.</summary>
    public IReadOnlyList<SqbRelationMove> Plan(bool allowCopy) => Analyze(allowCopy, out _).Select(ToMove).ToList();

    public SqbAdoptionResult Adopt(AdoptOptions options)
    {
        var clock = Stopwatch.StartNew();
        var first = Analyze(options.AllowCopy, out var adoptedAlready);
        RequireConfirmation(options.Confirmation);
        if (adoptedAlready)
        {
            // A run after a completed adoption: nothing to move, no lock, no journal row. Unless a run was killed after its
            // last step but before its journal said so: then this retry runs journaled (doing nothing), so it takes over the
            // dead run's lock row and records the success that settles the interrupted run for reconcile and the janitor.
            if (!new OperationQueries(Store, Log).Unfinished(new[] { Command }).Any(o => o.Environment == Target))
                return AdoptedAlready(first, clock, null);
            return RunJournaled(Run(), run => AdoptedAlready(first, clock, run.Id), _ => "adopted already: nothing to do");
        }
        return RunJournaled(Run(), run => Adopt(options, run, clock), result => $"adopted {result.ModelCount} models");
    }

    private SqbAdoptionResult AdoptedAlready(IReadOnlyList<Step> plan, Stopwatch clock, string? operationId)
    {
        var modelCount = plan.Count(step => step.Key.NodeType == NodeTypes.Model);
        return new SqbAdoptionResult
        {
            Target = Target, Environment = Target, Status = EnvironmentStatus.Display(EnvironmentStatus.Finalized), ModelCount = modelCount,
            SeedCount = plan.Count - modelCount, Relations = plan.Select(ToMove).ToList(), OperationId = operationId, Duration = clock.Elapsed,
            Message = $"Virtual environment {Target} is adopted already: nothing to do.",
        };
    }

    private SqbAdoptionResult Adopt(AdoptOptions options, OperationContext run, Stopwatch clock)
    {
        var plan = Analyze(options.AllowCopy, out _);
        var ids = IdentityCalculator.Compute(Project);
        var moves = new List<SqbRelationMove>();
        using var warehouse = Store.OpenWarehouseSession();
        using var separateState = Store.SharesWarehouse ? null : Store.OpenStateSession();
        var state = separateState ?? warehouse;
        var repo = new StateRepository(state, Store.Sql);
        // The VDE exists (working, no refs yet) from the first step on, so an interrupted adoption is one
        // Get-SqbReconcile can diagnose. A detached VDE keeps its row as it is until the last step.
        if (repo.Environment(Target) is null) repo.UpsertEnvironment(Target, EnvironmentStatus.Active, null);
        if (plan.Any(step => step.Kind is StepKind.Move or StepKind.Copy or StepKind.View))
            warehouse.Execute(warehouse.Dialect.CreateSchemaIfNotExists(Names.PhysicalSchema));

        foreach (var step in plan)
        {
            switch (step.Kind)
            {
                case StepKind.Conflict:
                    throw new SqbException(ErrorCodes.PhysicalRelationExists, "PhysicalRelationExists",
                        $"physical relation '{step.Physical}' already exists for '{step.Name}'; adopt will not overwrite it",
                        SqbErrorKind.InvalidOperation, step.Physical.ToString(),
                        $"Drop or rename {step.Physical} by hand (Invoke-SqbJanitor drops it when no environment or checkpoint uses it), " +
                        "then run ConvertTo-SqbVirtualEnvironment again: it continues where it stopped.");
                case StepKind.Missing or StepKind.Skipped:
                    if (step.Kind == StepKind.Skipped) Log.Warning($"adopt: {step.Message}");
                    break;
                case StepKind.Done:
                    Track(repo, step, ids);   // an earlier run may have stopped between the warehouse and a separate state store
                    break;
                default:
                    var point = (step.IsView ? KillPoints.Adopt.View : KillPoints.Adopt.Move) + step.Name;
                    run.Step(point, Describe(step));
                    SwitchTransaction.Run(warehouse, run, fence: separateState is null, point, new[] { step.Logical, step.Physical },
                        () => Store.OpenStateSession(), Log, () =>
                        {
                            Apply(warehouse, step, ids);
                            if (separateState is null) Track(repo, step, ids);
                            return 0;
                        });
                    if (separateState is not null) Track(repo, step, ids);
                    Log.Verbose($"adopt: {Describe(step)}");
                    break;
            }
            moves.Add(ToMove(step));
        }

        var adopted = plan.Where(step => step.Kind is StepKind.Move or StepKind.Copy or StepKind.View or StepKind.Finish or StepKind.Done).ToList();
        var refs = adopted.ToDictionary(step => step.Key, step => step.Hash);
        var finalized = adopted.Count == plan.Count;
        var status = finalized ? EnvironmentStatus.Finalized : EnvironmentStatus.Active;
        run.Step(KillPoints.Adopt.Finalize, $"{refs.Count} ref(s), status {status}");
        string? checkpointId = null;
        var changes = SwitchTransaction.Run(state, run, fence: true, KillPoints.Adopt.Finalize, Array.Empty<RelationName>(),
            () => Store.OpenStateSession(), Log, () =>
            {
                repo.UpsertEnvironment(Target, status, null);
                // The adopted relations stand where direct builds put them, after passing those builds' audits: the refs
                // carry today's audit signatures, so the next build finds nothing to do (a changed audit list later does).
                var refChanges = repo.ReplaceRefs(Target, refs, run.Id, refs.Keys.Where(k => k.NodeType == NodeTypes.Model)
                    .ToDictionary(k => k, k => (string?)IdentityCalculator.AuditSignature(Project.Models[k.NodeName])));
                // Adoption reaches finalized: checkpoint it (upstream writes none), so Restore-SqbCheckpoint can return here.
                checkpointId = finalized && refs.Count > 0 ? repo.CreateCheckpoint(Target, refs) : null;
                return refChanges;
            });
        var models = adopted.Count(step => step.Key.NodeType == NodeTypes.Model);
        var seeds = adopted.Count - models;
        return new SqbAdoptionResult
        {
            Target = Target, Environment = Target, Status = EnvironmentStatus.Display(status), ModelCount = models, SeedCount = seeds,
            Relations = moves, NotAdopted = plan.Where(step => step.Kind is StepKind.Missing or StepKind.Skipped).Select(step => step.Name).ToList(),
            RefChanges = changes.Count, CheckpointId = checkpointId, OperationId = run.Id, Duration = clock.Elapsed,
            Message = $"Adopted {models} models into virtual environment {Target}.",
        };
    }

    /// <summary>
    /// Every guard (config, state, environment, copy), then one step per node in dependency order. Read-only.
    /// <paramref name="adoptedAlready"/>: the target's VDE exists, finalized, with exactly these refs and every
    /// relation in place (a run after a completed adoption): nothing to do. Any other live VDE refuses (C280).
    /// </summary>
    private List<Step> Analyze(bool allowCopy, out bool adoptedAlready)
    {
        RequireUnsuffixed();
        var ids = IdentityCalculator.Compute(Project);
        var nodes = Project.TopologicalOrder.Where(n => Project.Models.ContainsKey(n) || Project.Seeds.ContainsKey(n)).ToList();
        Names.ValidateNodes(Target, nodes.Select(n => (n, ids[n].VersionHash)));

        CatalogSnapshot catalog;
        EnvironmentRow? row;
        Dictionary<NodeKey, string> currentRefs;
        using (var session = Store.OpenStateSession())
        {
            Store.RequireInitialized(session);
            var repo = new StateRepository(session, Store.Sql);
            row = repo.Environment(Target);
            currentRefs = row is null ? new Dictionary<NodeKey, string>() : repo.Refs(Target);
            catalog = ReadWarehouseCatalog(session, new[] { Names.TargetSchema, Names.PhysicalSchema });
        }

        var steps = new List<Step>();
        var adopted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in nodes)
        {
            var key = NodeKey.Of(Project, name);
            var hash = ids[name].VersionHash;
            var isView = Project.Models.TryGetValue(name, out var model) && model.Config.Materialized == Materialization.View;
            var logical = Names.Logical(Target, name);
            var physical = Names.Physical(name, hash);
            var atLogical = catalog.Find(logical);
            var atPhysical = catalog.Find(physical);
            StepKind kind;
            string? message = null;
            if (atPhysical is not null)
            {
                if (atLogical is null) kind = StepKind.Finish;
                else if (atLogical.Kind == RelationKind.View) kind = atLogical.Reads(physical) ? StepKind.Done : StepKind.Finish;
                else
                {
                    kind = StepKind.Conflict;
                    message = $"physical relation '{physical}' already exists; adopt will not overwrite it";
                }
            }
            else if (atLogical is null)
            {
                kind = StepKind.Missing;
                message = $"{key.NodeType} '{name}' has no relation at {logical}: nothing to adopt (build it afterwards)";
            }
            else if (isView)
            {
                var notAdopted = model!.References.Where(r => r.Kind != ReferenceKind.Source && !adopted.Contains(r.Name))
                    .Select(r => r.Name).Distinct().ToList();
                if (atLogical.Kind == RelationKind.Table)
                {
                    kind = StepKind.Skipped;
                    message = $"a table stands at {logical} where view model '{name}' belongs; not adopted";
                }
                else if (notAdopted.Count > 0)
                {
                    kind = StepKind.Skipped;
                    message = $"view model '{name}' reads {string.Join(", ", notAdopted)}, which {(notAdopted.Count == 1 ? "is" : "are")} not adopted; not adopted";
                }
                else kind = StepKind.View;
            }
            else if (atLogical.Kind == RelationKind.View)
            {
                kind = StepKind.Skipped;
                message = $"a view stands at {logical} where {(key.NodeType == NodeTypes.Seed ? "seed" : "table model")} '{name}' belongs; not adopted";
            }
            else kind = Dialect.SupportsMoveTable ? StepKind.Move : StepKind.Copy;

            if (kind is not (StepKind.Missing or StepKind.Skipped)) adopted.Add(name);
            steps.Add(new Step(name, key, hash, isView, logical, physical, kind, message));
        }

        adoptedAlready = false;
        if (row is not null && row.Status != EnvironmentStatus.Detached && currentRefs.Count > 0)
        {
            adoptedAlready = row.Status == EnvironmentStatus.Finalized && steps.All(step => step.Kind == StepKind.Done) &&
                             currentRefs.Count == steps.Count && steps.All(step => currentRefs.GetValueOrDefault(step.Key) == step.Hash);
            if (!adoptedAlready)
                throw new SqbException(ErrorCodes.AlreadyVirtual, "AlreadyVirtual",
                    $"virtual environment '{Target}' is already virtual; adopt converts the relations of a direct-mode build",
                    SqbErrorKind.InvalidOperation, Target,
                    "Nothing to adopt: build it with Invoke-SqbBuild. ConvertFrom-SqbVirtualEnvironment turns it back into plain relations.");
        }

        var copies = steps.Where(step => step.Kind == StepKind.Copy).Select(step => step.Name).ToList();
        if (copies.Count > 0 && !allowCopy)
            throw CopyRequired(copies,
                $"{Dialect.Kind.ToString().ToLowerInvariant()} cannot move a table to another schema, so adopting it means copying it");
        return steps;
    }

    /// <summary>The warehouse side of one step; runs inside the step's transaction.</summary>
    private void Apply(IWarehouseSession warehouse, Step step, IReadOnlyDictionary<string, NodeIdentity> ids)
    {
        var dialect = warehouse.Dialect;
        var select = dialect.SelectAll(step.Physical);
        switch (step.Kind)
        {
            case StepKind.Move:
                warehouse.Execute(dialect.MoveTable(step.Logical, Names.PhysicalSchema));
                warehouse.Execute(dialect.RenameTable(new RelationName(Names.PhysicalSchema, step.Logical.Name), step.Physical.Name));
                warehouse.Execute(dialect.CreateOrReplaceView(step.Logical, select));
                break;
            case StepKind.Copy:
                warehouse.Execute(dialect.CreateTableAs(step.Physical, dialect.SelectAll(step.Logical)));
                warehouse.Execute(dialect.DropTableIfExists(step.Logical));
                warehouse.Execute(dialect.CreateOrReplaceView(step.Logical, select));
                break;
            case StepKind.View:
                var model = Project.Models[step.Name];
                var sql = Render(model.Sql, model.References, n => Names.Physical(n, ids[n].VersionHash));
                warehouse.Execute(dialect.CreateOrReplaceView(step.Physical, sql));
                // Replaced in place: same SQL, same columns, so views and grants that depend on the original survive.
                warehouse.Execute(dialect.CreateOrReplaceView(step.Logical, select));
                break;
            case StepKind.Finish:
                warehouse.Execute(dialect.CreateOrReplaceView(step.Logical, select));
                break;
        }
    }

    /// <summary>The version and physical relation rows of one adopted node (idempotent inserts).</summary>
    private void Track(StateRepository repo, Step step, IReadOnlyDictionary<string, NodeIdentity> ids)
    {
        var id = ids[step.Name];
        if (step.Key.NodeType == NodeTypes.Seed)
            repo.InsertSeedVersion(step.Name, step.Hash, Project.Seeds[step.Name].ContentHash);
        else
            repo.InsertModelVersion(new ModelVersionRow(step.Name, step.Hash, id.LocalHash, IdentityCalculator.NormalizeSql(Project.Models[step.Name].Sql),
                id.MetadataJson, "ready"));
        repo.InsertPhysicalRelation(new PhysicalRelationRow(step.Key.NodeType, step.Name, step.Hash, null, step.Physical.Schema, step.Physical.Name,
            step.IsView ? "view" : "table"));
    }

    private static string Describe(Step s) => s.Kind switch
    {
        StepKind.Move => $"move {s.Logical} -> {s.Physical}",
        StepKind.Copy => $"copy {s.Logical} -> {s.Physical}",
        StepKind.View => $"view {s.Physical}, {s.Logical} reads it",
        StepKind.Finish => $"view {s.Logical} reads {s.Physical}",
        _ => $"{s.Kind.ToString().ToLowerInvariant()} {s.Name}",
    };

    private SqbRelationMove ToMove(Step s) => Move(s.Key, s.Kind.ToString().ToLowerInvariant(),
        s.Kind is StepKind.Missing ? null : s.Logical.ToString(), s.Kind is StepKind.Missing or StepKind.Skipped ? null : s.Physical.ToString(),
        s.Hash, s.Message ?? Describe(s));
}

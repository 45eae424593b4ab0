using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
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
public sealed class Adoption
{
    private const string Command = "adopt";
    private readonly StateStore _store;
    private readonly ISqbLog _log;
    private readonly VirtualNames _names;

    public Adoption(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
        _names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    public string Target => _store.TargetName;
    public string ConfirmationText => LifecycleGuards.ConfirmationText(Command, Target);
    private CompiledProject Project => _store.Project;
    private SqlDialect Dialect => _store.Warehouse.Dialect;

    private enum StepKind { Move, Copy, View, Finish, Done, Missing, Skipped, Conflict }

    private sealed record Step(string Name, NodeKey Key, string Hash, bool IsView, RelationName Logical, RelationName Physical,
        StepKind Kind, string? Message);

    /// <summary>What adopt would do, read-only, after every guard. Throws the guard's error when it would refuse.</summary>
    public IReadOnlyList<SqbRelationMove> Plan(bool allowCopy) => Analyze(allowCopy, out _).Select(ToMove).ToList();

    public SqbAdoptionResult Adopt(AdoptOptions o)
    {
        var clock = Stopwatch.StartNew();
        var first = Analyze(o.AllowCopy, out var adoptedAlready);
        LifecycleGuards.RequireConfirmation(Command, Target, o.Confirmation);
        if (adoptedAlready)
        {
            // A run after a completed adoption: nothing to move, no lock, no journal row.
            var n = first.Count(s => s.Key.NodeType == NodeTypes.Model);
            return new SqbAdoptionResult
            {
                Target = Target, Environment = Target, Status = EnvironmentStatus.Display(EnvironmentStatus.Finalized), ModelCount = n,
                SeedCount = first.Count - n, Relations = first.Select(ToMove).ToList(), OperationId = $"adopt:{Target}", Duration = clock.Elapsed,
                Message = $"Virtual environment {Target} is adopted already: nothing to do.",
            };
        }

        // The id is reused across runs (upstream), so take the lock before touching the journal:
        // a refused second run must not rewrite the row of the run that holds the lock.
        var operationId = $"adopt:{Target}";
        using var lease = new LockManager(_store, _log).Acquire(LockManager.EnvironmentKey(Target), operationId);
        using var journal = OperationJournal.Start(_store, "adopt", Target, "starting adopt", _log, operationId);
        try
        {
            var plan = Analyze(o.AllowCopy, out _);
            var ids = IdentityCalculator.Compute(Project);
            var moves = new List<SqbRelationMove>();
            using var w = _store.Warehouse.OpenSession();
            using var separate = _store.SharesWarehouse ? null : _store.OpenStateSession();
            var state = separate ?? w;
            var repo = new StateRepository(state, _store.Sql);
            var d = w.Dialect;
            // The VDE exists (working, no refs yet) from the first step on, so an interrupted adoption is one
            // Get-SqbReconcile can diagnose. A detached VDE keeps its row as it is until the last step.
            if (repo.Environment(Target) is null) repo.UpsertEnvironment(Target, EnvironmentStatus.Active, null);
            if (plan.Any(s => s.Kind is StepKind.Move or StepKind.Copy or StepKind.View))
                w.Execute(d.CreateSchemaIfNotExists(_names.PhysicalSchema));

            foreach (var s in plan)
            {
                switch (s.Kind)
                {
                    case StepKind.Conflict:
                        throw new SqbException(ErrorCodes.PhysicalRelationExists, "PhysicalRelationExists",
                            $"physical relation '{s.Physical}' already exists for '{s.Name}'; adopt will not overwrite it",
                            SqbErrorKind.InvalidOperation, s.Physical.ToString(),
                            $"Drop or rename {s.Physical} by hand (Invoke-SqbJanitor drops it when no environment or checkpoint uses it), " +
                            "then run ConvertTo-SqbVirtualEnvironment again: it continues where it stopped.");
                    case StepKind.Missing or StepKind.Skipped:
                        if (s.Kind == StepKind.Skipped) _log.Warning($"adopt: {s.Message}");
                        break;
                    case StepKind.Done:
                        Track(repo, s, ids);   // an earlier run may have stopped between the warehouse and a separate state store
                        break;
                    default:
                        journal.Step($"adopt:{(s.IsView ? "view" : "move")}:{s.Name}", Describe(s));
                        using (var tx = w.BeginTransaction())
                        {
                            Apply(w, s, ids);
                            if (separate is null) Track(repo, s, ids);
                            tx.Commit();
                        }
                        if (separate is not null) Track(repo, s, ids);
                        _log.Verbose($"adopt: {Describe(s)}");
                        break;
                }
                moves.Add(ToMove(s));
            }

            var adopted = plan.Where(s => s.Kind is StepKind.Move or StepKind.Copy or StepKind.View or StepKind.Finish or StepKind.Done).ToList();
            var refs = adopted.ToDictionary(s => s.Key, s => s.Hash);
            var finalized = adopted.Count == plan.Count;
            var status = finalized ? EnvironmentStatus.Finalized : EnvironmentStatus.Active;
            journal.Step("adopt:finalize", $"{refs.Count} ref(s), status {status}");
            IReadOnlyList<RefChange> changes;
            string? checkpointId = null;
            using (var tx = state.BeginTransaction())
            {
                repo.UpsertEnvironment(Target, status, null);
                changes = repo.ReplaceRefs(Target, refs, journal.Id);
                // Adoption reaches finalized: checkpoint it (upstream writes none), so Restore-SqbCheckpoint can return here.
                if (finalized && refs.Count > 0) checkpointId = repo.CreateCheckpoint(Target, refs);
                tx.Commit();
            }
            var models = adopted.Count(s => s.Key.NodeType == NodeTypes.Model);
            var seeds = adopted.Count - models;
            journal.Succeed($"adopted {models} models");
            return new SqbAdoptionResult
            {
                Target = Target, Environment = Target, Status = EnvironmentStatus.Display(status), ModelCount = models, SeedCount = seeds,
                Relations = moves, NotAdopted = plan.Where(s => s.Kind is StepKind.Missing or StepKind.Skipped).Select(s => s.Name).ToList(),
                RefChanges = changes.Count, CheckpointId = checkpointId, OperationId = journal.Id, Duration = clock.Elapsed,
                Message = $"Adopted {models} models into virtual environment {Target}.",
            };
        }
        catch (Exception ex)
        {
            journal.Fail(ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Every guard (config, state, environment, copy), then one step per node in dependency order. Read-only.
    /// <paramref name="adoptedAlready"/>: the target's VDE exists, finalized, with exactly these refs and every
    /// relation in place (a run after a completed adoption): nothing to do. Any other live VDE refuses (C280).
    /// </summary>
    private List<Step> Analyze(bool allowCopy, out bool adoptedAlready)
    {
        LifecycleGuards.RequireUnsuffixed(_store, Command);
        var ids = IdentityCalculator.Compute(Project);
        var nodes = Project.TopologicalOrder.Where(n => Project.Models.ContainsKey(n) || Project.Seeds.ContainsKey(n)).ToList();
        _names.ValidateNodes(Target, nodes.Select(n => (n, ids[n].VersionHash)));

        CatalogSnapshot catalog;
        EnvironmentRow? row;
        Dictionary<NodeKey, string> currentRefs;
        using (var s = _store.OpenStateSession())
        {
            _store.RequireInitialized(s);
            var repo = new StateRepository(s, _store.Sql);
            row = repo.Environment(Target);
            currentRefs = row is null ? new Dictionary<NodeKey, string>() : repo.Refs(Target);
            if (_store.SharesWarehouse) catalog = s.ReadCatalog(new[] { _names.TargetSchema, _names.PhysicalSchema });
            else
            {
                using var w = _store.Warehouse.OpenSession();
                catalog = w.ReadCatalog(new[] { _names.TargetSchema, _names.PhysicalSchema });
            }
        }

        var steps = new List<Step>();
        var adopted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in nodes)
        {
            var key = NodeKey.Of(Project, name);
            var hash = ids[name].VersionHash;
            var isView = Project.Models.TryGetValue(name, out var model) && model.Config.Materialized == Materialization.View;
            var logical = _names.Logical(Target, name);
            var physical = _names.Physical(name, hash);
            var l = catalog.Find(logical);
            var p = catalog.Find(physical);
            StepKind kind;
            string? message = null;
            if (p is not null)
            {
                if (l is null) kind = StepKind.Finish;
                else if (l.Kind == RelationKind.View) kind = EnvironmentSwitch.ViewReads(l, physical) ? StepKind.Done : StepKind.Finish;
                else
                {
                    kind = StepKind.Conflict;
                    message = $"physical relation '{physical}' already exists; adopt will not overwrite it";
                }
            }
            else if (l is null)
            {
                kind = StepKind.Missing;
                message = $"{key.NodeType} '{name}' has no relation at {logical}: nothing to adopt (build it afterwards)";
            }
            else if (isView)
            {
                var notAdopted = model!.References.Where(r => r.Kind != ReferenceKind.Source && !adopted.Contains(r.Name))
                    .Select(r => r.Name).Distinct().ToList();
                if (l.Kind == RelationKind.Table)
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
            else if (l.Kind == RelationKind.View)
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
            adoptedAlready = row.Status == EnvironmentStatus.Finalized && steps.All(s => s.Kind == StepKind.Done) &&
                             currentRefs.Count == steps.Count && steps.All(s => currentRefs.GetValueOrDefault(s.Key) == s.Hash);
            if (!adoptedAlready)
                throw new SqbException(ErrorCodes.AlreadyVirtual, "AlreadyVirtual",
                    $"virtual environment '{Target}' is already virtual; adopt converts the relations of a direct-mode build",
                    SqbErrorKind.InvalidOperation, Target,
                    "Nothing to adopt: build it with Invoke-SqbBuild. ConvertFrom-SqbVirtualEnvironment turns it back into plain relations.");
        }

        var copies = steps.Where(s => s.Kind == StepKind.Copy).Select(s => s.Name).ToList();
        if (copies.Count > 0 && !allowCopy)
            throw LifecycleGuards.CopyRequired(Command, Target, Dialect, copies,
                $"{Dialect.Kind.ToString().ToLowerInvariant()} cannot move a table to another schema, so adopting it means copying it");
        return steps;
    }

    /// <summary>The warehouse side of one step; runs inside the step's transaction.</summary>
    private void Apply(IWarehouseSession w, Step s, IReadOnlyDictionary<string, NodeIdentity> ids)
    {
        var d = w.Dialect;
        var select = d.SelectAll(s.Physical);
        switch (s.Kind)
        {
            case StepKind.Move:
                w.Execute(d.MoveTable(s.Logical, _names.PhysicalSchema));
                w.Execute(d.RenameTable(new RelationName(_names.PhysicalSchema, s.Logical.Name), s.Physical.Name));
                w.Execute(d.CreateOrReplaceView(s.Logical, select));
                break;
            case StepKind.Copy:
                w.Execute(d.CreateTableAs(s.Physical, d.SelectAll(s.Logical)));
                w.Execute(d.DropTableIfExists(s.Logical));
                w.Execute(d.CreateOrReplaceView(s.Logical, select));
                break;
            case StepKind.View:
                var model = Project.Models[s.Name];
                var sql = LifecycleGuards.Render(Project, d, model.Sql, model.References, n => _names.Physical(n, ids[n].VersionHash));
                w.Execute(d.CreateOrReplaceView(s.Physical, sql));
                // Replaced in place: same SQL, same columns, so views and grants that depend on the original survive.
                w.Execute(d.CreateOrReplaceView(s.Logical, select));
                break;
            case StepKind.Finish:
                w.Execute(d.CreateOrReplaceView(s.Logical, select));
                break;
        }
    }

    /// <summary>The version and physical relation rows of one adopted node (idempotent inserts).</summary>
    private void Track(StateRepository repo, Step s, IReadOnlyDictionary<string, NodeIdentity> ids)
    {
        var id = ids[s.Name];
        if (s.Key.NodeType == NodeTypes.Seed)
            repo.InsertSeedVersion(s.Name, s.Hash, Project.Seeds[s.Name].ContentHash);
        else
            repo.InsertModelVersion(new ModelVersionRow(s.Name, s.Hash, id.LocalHash, IdentityCalculator.NormalizeSql(Project.Models[s.Name].Sql),
                id.MetadataJson, "ready"));
        repo.InsertPhysicalRelation(new PhysicalRelationRow(s.Key.NodeType, s.Name, s.Hash, null, s.Physical.Schema, s.Physical.Name,
            s.IsView ? "view" : "table"));
    }

    private static string Describe(Step s) => s.Kind switch
    {
        StepKind.Move => $"move {s.Logical} -> {s.Physical}",
        StepKind.Copy => $"copy {s.Logical} -> {s.Physical}",
        StepKind.View => $"view {s.Physical}, {s.Logical} reads it",
        StepKind.Finish => $"view {s.Logical} reads {s.Physical}",
        _ => $"{s.Kind.ToString().ToLowerInvariant()} {s.Name}",
    };

    private SqbRelationMove ToMove(Step s) => new()
    {
        Operation = Command, Environment = Target, Name = s.Name, NodeType = s.Key.NodeType,
        Materialized = LifecycleGuards.Materialized(Project, s.Key), Action = s.Kind.ToString().ToLowerInvariant(),
        From = s.Kind is StepKind.Missing ? null : s.Logical.ToString(), To = s.Kind is StepKind.Missing or StepKind.Skipped ? null : s.Physical.ToString(),
        VersionHash = s.Hash, Message = s.Message ?? Describe(s),
    };
}

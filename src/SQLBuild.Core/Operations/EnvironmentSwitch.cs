using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Operations;

public sealed record SwitchResult(IReadOnlyList<RefChange> Changes, int ViewsWritten, int ViewsDropped, string? CheckpointId);

/// <summary>
/// Moves a VDE to a new ref set: its row, refs, ref events, logical views and (when it reaches
/// finalized) a checkpoint. When the state store shares the warehouse connection (the default) all of
/// it happens in ONE transaction, so readers see the old environment or the new one, never a mix, and
/// an interrupted switch leaves everything as before. With a separate state store the state commits
/// first and the views follow; reconcile detects and repairs a view that lags its ref.
/// Build, promote and checkpoint restore all switch through here.
/// </summary>
public sealed class EnvironmentSwitch
{
    private readonly StateStore _store;
    private readonly VirtualNames _names;
    private readonly ISqbLog _log;

    public EnvironmentSwitch(StateStore store, VirtualNames names, ISqbLog log)
    {
        _store = store;
        _names = names;
        _log = log;
    }

    /// <param name="run">The operation: its id goes on the ref events, its lease fences the transaction, its
    /// cancellation keeps a stopped run from committing.</param>
    /// <param name="audits">The audit signature each named ref's version passed (see <c>StateRepository.ReplaceRefs</c>).</param>
    /// <param name="step">The kill-point step of this switch (<c>build:switch</c>, ...): its boundaries are
    /// <c>&lt;step&gt;:view:&lt;n&gt;</c> and <c>&lt;step&gt;:before-commit</c>.</param>
    public SwitchResult Apply(string environment, IReadOnlyDictionary<NodeKey, string> finalRefs, string status, string? baseline,
        OperationContext run, string step, bool forceViews = false, bool writeCheckpoint = true, string? rebuildEnvironment = null,
        IReadOnlyDictionary<NodeKey, string?>? audits = null)
    {
        var rebuild = (string node) => rebuildEnvironment is null
            ? $"Invoke-SqbBuild -Select {node}"
            : $"Rebuild the source VDE first: Invoke-SqbBuild -Environment {rebuildEnvironment} -Select {node}";
        using var warehouse = _store.OpenWarehouseSession();
        using var separateState = _store.SharesWarehouse ? null : _store.OpenStateSession();
        var stateSession = separateState ?? warehouse;
        var repo = new StateRepository(stateSession, _store.Sql);

        var current = repo.Refs(environment);
        var physical = repo.PhysicalRelationIndex(finalRefs.Select(r => (r.Key, r.Value)).ToList());
        var logicalSchema = _names.LogicalSchema(environment);
        // Logical views with their definitions (does each read its ref's version?); physical versions by name.
        var catalog = warehouse.ReadCatalog(new[] { logicalSchema });
        // Only the versions the refs name, found by name: the physical schema holds every environment's versions.
        var physicalCatalog = warehouse.ReadCatalogNamed(_names.PhysicalSchema, finalRefs
            .Select(r => physical.TryGetValue((r.Key, r.Value), out var p) ? p.Relation : null)
            .Where(r => r is not null && r.Schema == _names.PhysicalSchema).Select(r => r!.Name).Distinct().ToList());

        // Work out every view statement before anything changes.
        var toWrite = new List<(RelationName View, RelationName Target, CatalogRelation? Existing)>();
        foreach (var (key, hash) in finalRefs.OrderBy(r => r.Key.NodeName, StringComparer.Ordinal))
        {
            if (!physical.TryGetValue((key, hash), out var phys))
                throw new SqbException(ErrorCodes.MissingTrackedPhysical, "MissingTrackedPhysical",
                    $"missing tracked physical relation for '{key.NodeName}'", SqbErrorKind.ObjectNotFound, key.NodeName,
                    rebuild(key.NodeName));
            if (!physicalCatalog.Exists(phys.Relation))
                throw new SqbException(ErrorCodes.MissingPhysical, "MissingPhysical",
                    $"missing physical relation for '{key.NodeName}'", SqbErrorKind.ObjectNotFound, phys.Relation.ToString(),
                    rebuild(key.NodeName));
            var view = _names.Logical(environment, key.NodeName);
            var existing = catalog.Find(view);
            if (existing?.Kind == RelationKind.Table)
                throw new SqbException(ErrorCodes.LogicalIsTable, "LogicalIsTable",
                    $"logical target for '{key.NodeName}' is a table; {step.Split(':')[0]} will not overwrite it", SqbErrorKind.InvalidOperation,
                    view.ToString(), $"Drop the table {view} by hand, then run Repair-SqbView -Environment {environment} -Name {key.NodeName}.");
            var changed = !current.TryGetValue(key, out var was) || was != hash;
            var wrongTarget = existing is not null && !existing.Reads(phys.Relation);
            if (!changed && existing is not null && !wrongTarget && !forceViews) continue;
            toWrite.Add((view, phys.Relation, existing));
        }
        // Where views bind to columns, an existing view whose columns are not a prefix of its new version's is dropped first.
        var writes = LogicalViews.To(warehouse, toWrite);
        var drops = current.Keys.Where(k => !finalRefs.ContainsKey(k))
            .Select(k => _names.Logical(environment, k.NodeName))
            .Where(v => catalog.Find(v)?.Kind == RelationKind.View).ToList();

        // What the switch touches (it locks them): the views it writes or drops, and the versions they will read. Only a view
        // dropped and created again loses its privileges (CREATE OR REPLACE keeps the catalog object; versions are only read).
        var locked = writes.Select(w => w.View).Concat(writes.Select(w => w.Target)).Concat(drops).Distinct().ToList();
        var recreated = writes.Where(w => w.DropFirst).Select(w => w.View).ToList();
        string? checkpointId = null;
        // With a separate state store this transaction touches the state tables only; the views follow in one of their own.
        IReadOnlyList<RelationName> touched = _store.SharesWarehouse ? locked : Array.Empty<RelationName>();
        IReadOnlyList<RelationName> kept = _store.SharesWarehouse ? recreated : Array.Empty<RelationName>();
        var changes = SwitchTransaction.Run(stateSession, run, fence: true, step, touched, _store.OpenStateSession, _log, () =>
        {
            // Two reads (the VDE's row, its refs with their audit signatures), then every write in ONE batch: the row, the refs
            // and their events, the checkpoint and (sharing the warehouse) the views.
            checkpointId = null;
            var row = repo.Environment(environment);
            var (refChanges, statements, signatures) = repo.RefWrites(environment, repo.RefsWithAudits(environment), finalRefs, run.Id, audits);
            var batch = new List<SqlStatement> { repo.EnvironmentWrite(environment, status, baseline, row is not null) };
            batch.AddRange(statements);
            // A checkpoint marks a new finalized ref set: not a no-op build of an already finalized VDE.
            if (writeCheckpoint && status == EnvironmentStatus.Finalized && finalRefs.Count > 0 && (refChanges.Count > 0 || row?.Status != EnvironmentStatus.Finalized))
            {
                var (id, checkpoint) = repo.CheckpointWrites(environment, finalRefs, signatures);
                batch.AddRange(checkpoint);
                checkpointId = id;
            }
            if (_store.SharesWarehouse) batch.AddRange(ViewStatements(warehouse.Dialect, logicalSchema, writes, drops, step));
            stateSession.ExecuteBatch(batch);
            return refChanges;
        }, kept);
        // With a separate state store the views follow the committed refs (reconcile repairs one that lags).
        if (!_store.SharesWarehouse)
            SwitchTransaction.Run(warehouse, run, fence: false, step + ":views", locked, () => _store.OpenWarehouseSession(), _log, () =>
            {
                WriteViews(warehouse, logicalSchema, writes, drops, step);
                return 0;
            }, recreated);
        _log.Verbose($"{environment}: {changes.Count} ref change(s), {writes.Count} view(s) written, {drops.Count} dropped" +
                     (checkpointId is null ? "" : $", checkpoint {checkpointId}"));
        return new SwitchResult(changes, writes.Count, drops.Count, checkpointId);
    }

    private static void WriteViews(IWarehouseSession session, string logicalSchema, IReadOnlyList<ViewWrite> writes,
        IReadOnlyList<RelationName> drops, string step) =>
        session.ExecuteBatch(ViewStatements(session.Dialect, logicalSchema, writes, drops, step));

    private static IReadOnlyList<SqlStatement> ViewStatements(SqlDialect dialect, string logicalSchema, IReadOnlyList<ViewWrite> writes,
        IReadOnlyList<RelationName> drops, string step) =>
        LogicalViews.Statements(dialect, logicalSchema, writes, step).Concat(drops.Select(dialect.DropViewIfExists)).ToList();
}

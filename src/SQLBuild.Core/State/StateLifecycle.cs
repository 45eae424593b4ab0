using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Faults;

namespace SQLBuild.Core.State;

/// <summary>
/// State-store lifecycle (SPEC §5, upstream <c>sqb state init|migrate|rollback|reset</c>): initialize,
/// validate, migrate (back up, then re-initialize), list backups, restore a backup, reset.
/// <para>
/// Every operation needs virtual mode (<see cref="StateStore.Open"/>) and takes the <c>state_migration</c>
/// lock before anything else, so a refused run writes nothing; migrate, restore and reset exclude every
/// <c>virtual_env:*</c> lock both ways (S014; <see cref="LockRequest.ExcludesOtherSide"/>). Each writes its
/// <c>state_migration_events</c> row (init / migrate / backup / rollback / reset); migrate and restore are
/// also journaled in <c>state_operations</c> (<see cref="JournaledRuns"/>: lock, journal, outcome). A damaged locks
/// or journal table does not stop the recovery operations (restore, reset, init): they go on without the lock row or
/// the journal, since no other operation can take a lock in a damaged locks table either.
/// </para>
/// <para>
/// <see cref="Cancellation"/> (the cmdlet's Ctrl+C) cancels their running statements; nothing commits after a stop.
/// </para>
/// </summary>
public sealed class StateLifecycle
{
    public const string MigrateOperation = "state_migrate";
    public const string RollbackOperation = "state_rollback";

    private readonly StateStore _store;
    private readonly ISqbLog _log;

    public StateLifecycle(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
    }

    private StateSql Sql => _store.Sql;
    private string Schema => _store.Settings.Schema;

    /// <summary>Stops the operation (the cmdlet's Ctrl+C): its running statements are cancelled, nothing commits after
    /// the stop, the lock is released and the journal says <c>cancelled</c>.</summary>
    public CancellationToken Cancellation { get; init; }

    // ------------------------------------------------------------------ init

    /// <summary>Creates what is missing, additively and idempotently, holding the <c>state_migration</c> lock
    /// whenever the locks table is usable.</summary>
    /// <remarks>It only adds what is missing, so it runs beside VDE operations (it does not exclude them; they still
    /// refuse while it holds <c>state_migration</c>).</remarks>
    public SqbStateInfo Initialize()
    {
        Cancellation.ThrowIfCancellationRequested();
        var operationId = Ids.NewOperationId("init");
        var store = _store.ForOperation(operationId, Cancellation);
        int tables;
        using (var session = store.OpenStateSession())
        {
            var validation = StateValidator.Validate(session, Sql, Schema);
            using var lease = validation.Usable(StateSchema.Locks)
                ? new LockManager(_store.ForOperation(operationId, CancellationToken.None), _log).Acquire(
                    new LockRequest(LockManager.MigrationKey, operationId) { Action = "state init", ExcludesOtherSide = false }, Cancellation)
                : null;
            tables = _store.Initialize(session);
        }
        return Info(tables);
    }

    public SqbStateInfo Info(int tables = 0) => new()
    {
        Target = _store.TargetName, Backend = _store.Settings.Backend, Schema = _store.Settings.Schema,
        Connection = (_store.Project.Config.ActiveTarget.State?.Connection ?? _store.Project.Config.ActiveTarget.Connection).ToString(),
        SharesWarehouse = _store.SharesWarehouse, Tables = tables == 0 ? StateSchema.Tables.Count : tables, SchemaVersion = StateSchema.CurrentVersion,
    };

    // ------------------------------------------------------------------ validate

    /// <summary>Validates the live state schema (read-only).</summary>
    public StateValidation Validate()
    {
        using var session = _store.OpenStateSession();
        return StateValidator.Validate(session, Sql, Schema);
    }

    /// <summary>Throws E002 when nothing is initialized, E030 ("Cannot backup invalid state schema") on any problem.</summary>
    private void RequireValid(IWarehouseSession session)
    {
        var v = StateValidator.Validate(session, Sql, Schema);
        if (v.IsEmpty)
            throw new SqbException(ErrorCodes.StateNotInitialized, "StateNotInitialized",
                $"state store '{Schema}' of target '{_store.TargetName}' is not initialized", SqbErrorKind.ObjectNotFound,
                Schema, "Run Initialize-SqbState.");
        if (!v.IsValid) throw InvalidSchema(v);
    }

    public static SqbException InvalidSchema(StateValidation v) =>
        new(ErrorCodes.InvalidStateSchema, "InvalidStateSchema",
            $"Cannot backup invalid state schema '{v.Schema}':" + string.Concat(v.Problems.Select(p => "\n  " + p.Message)),
            SqbErrorKind.InvalidData, v.Schema,
            "Run Reset-SqbState -Force, then Initialize-SqbState (needs allow_reset = true under [targets.<name>.state]); " +
            "or return to an earlier backup with Restore-SqbState (Get-SqbStateBackup lists them).");

    // ------------------------------------------------------------------ migrate

    /// <summary>
    /// <c>Update-SqbState</c>: validates the live schema (any problem: E030, nothing written), copies every
    /// state table into <c>&lt;schema&gt;__backup_&lt;UTC id&gt;</c> and appends a <c>backup</c> event in ONE
    /// transaction, then re-initializes (action <c>migrate</c>) in a second one. Returns the new backup.
    /// The backup holds the state as it was before this migration: the migration's own journal rows and
    /// lock row are left out of it.
    /// </summary>
    public SqbStateBackup Migrate()
    {
        using (var session = _store.OpenStateSession()) RequireValid(session);
        var run = new JournaledRun(MigrateOperation, null, LockManager.MigrationKey, $"back up and migrate state store {Schema}")
        {
            KillPoint = "migrate", Action = "state migrate",
        };
        return JournaledRuns.Run(_store, _log, run, Cancellation, scope =>
        {
            var working = false;
            string? backupId = null;
            try
            {
                backupId = Ids.NewBackupId();
                var backupSchema = Sql.BackupSchema(backupId);
                using var session = scope.Store.OpenStateSession();
                RequireValid(session); // again, now that the lock is ours
                working = true;
                scope.Journal!.Step(KillPoints.Migrate.Backup, $"copying {StateSchema.Tables.Count} state tables into {backupSchema}");
                using (var tx = session.BeginTransaction())
                {
                    scope.Lease!.Fence(session);
                    session.Execute(Sql.CreateSchema(backupSchema));
                    foreach (var t in StateSchema.Tables)
                        session.Execute(Sql.CopyTable(Schema, backupSchema, t));
                    foreach (var t in StateSchema.Tables.Where(t => t.Columns.Any(c => c.Name == "operation_id")))
                        session.Execute(Sql.Delete(backupSchema, t, Where.Equal("operation_id", scope.Id)));
                    _store.MigrationEvent(session, "backup", backupId, "success", $"backed up {StateSchema.Tables.Count} state tables into {backupSchema}");
                    KillPoints.At(KillPoints.Migrate.Backup + KillPoints.BeforeCommit);
                    scope.Cancellation.ThrowIfCancellationRequested();
                    tx.Commit();
                }
                scope.Cancellation.ThrowIfCancellationRequested();
                scope.Journal.Step(KillPoints.Migrate.Initialize, $"re-initializing {Schema}");
                _store.Initialize(session, "migrate", $"migrated state store {Schema} after backup {backupId}");
                var backup = ReadBackups(session, backupSchema).Single();
                _log.Verbose($"state backup {backupId}: {backup.Tables} tables, {backup.Rows} rows");
                return backup;
            }
            catch (Exception ex)
            {
                if (working) FailedEvent("migrate", backupId, ex);
                throw;
            }
        }, backup => $"backed up into {backup.Schema} ({backup.Rows} rows) and re-initialized");
    }

    // ------------------------------------------------------------------ backups

    /// <summary><c>Get-SqbStateBackup</c>: every backup schema of this state schema, newest first, with exact row counts
    /// (one catalog read and one counting statement for all of them).</summary>
    public IReadOnlyList<SqbStateBackup> Backups()
    {
        using var session = _store.OpenStateSession();
        return ReadBackups(session, null);
    }

    private List<string> BackupSchemas(IWarehouseSession session) =>
        session.Query(Sql.SchemasLike(Sql.BackupPrefix)).Select(r => StateRepository.Str(r[0])!)
            .Where(n => n.Length > Sql.BackupPrefix.Length)
            .OrderByDescending(n => n, StringComparer.Ordinal).ToList();

    private List<SqbStateBackup> ReadBackups(IWarehouseSession session, string? only)
    {
        var schemas = only is null ? BackupSchemas(session) : new List<string> { only };
        if (schemas.Count == 0) return new List<SqbStateBackup>();
        var catalog = session.ReadCatalog(schemas);
        var tables = catalog.Relations.Where(r => r.Kind == RelationKind.Table)
            .OrderBy(r => r.Schema, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
        var counts = new long[tables.Count];
        if (tables.Count > 0)
            foreach (var r in session.Query(Sql.CountRows(tables.Select(t => t.Relation).ToList())))
                counts[Convert.ToInt32(r[0], System.Globalization.CultureInfo.InvariantCulture)] =
                    Convert.ToInt64(r[1], System.Globalization.CultureInfo.InvariantCulture);
        var result = new List<SqbStateBackup>();
        foreach (var schema in schemas.Where(catalog.Schemas.Contains))
        {
            var id = schema[Sql.BackupPrefix.Length..];
            var rows = tables.Select((t, i) => (t, i)).Where(x => x.t.Schema == schema)
                .ToDictionary(x => x.t.Name, x => counts[x.i], StringComparer.Ordinal);
            result.Add(new SqbStateBackup
            {
                BackupId = id, Schema = schema, StateSchema = Schema, Target = _store.TargetName, CreatedAt = Ids.BackupTime(id),
                Tables = rows.Count, Rows = rows.Values.Sum(), TableRows = rows,
                MissingTables = StateSchema.Tables.Where(t => !rows.ContainsKey(t.Name)).Select(t => t.Name).ToList(),
            });
        }
        return result;
    }

    // ------------------------------------------------------------------ restore

    /// <summary>
    /// <c>Restore-SqbState</c>: replaces the live state tables with a backup's (the latest when
    /// <paramref name="backupId"/> is null) in ONE transaction: drop each live table, copy it from the
    /// backup, recreate its unique index, append a <c>rollback</c> event. The backup is kept. Lock rows are
    /// live coordination, not history: the live locks table is kept as it is, so other holders' rows stay and the
    /// backup's stale rows never come back (a damaged one is replaced by an empty copy of the backup's).
    /// </summary>
    public SqbStateRestoreResult Restore(string? backupId)
    {
        var clock = Stopwatch.StartNew();
        if (backupId is not null && string.IsNullOrWhiteSpace(backupId))
            throw new SqbException(ErrorCodes.StateBackupNotFound, "StateBackupNotFound", "state backup id is empty", SqbErrorKind.InvalidArgument,
                backupId, "Get-SqbStateBackup lists the backups of this state store.");
        StateValidation live;
        using (var session = _store.OpenStateSession()) live = StateValidator.Validate(session, Sql, Schema);
        var locksUsable = UsableLocks(live, "state rollback");
        var run = new JournaledRun(RollbackOperation, null, LockManager.MigrationKey, $"restore state store {Schema} from backup {backupId ?? "(latest)"}")
        {
            KillPoint = "restore", Action = "state rollback", Locked = locksUsable,
            Journaled = live.Usable(StateSchema.Operations) && live.Usable(StateSchema.OperationEvents),
        };
        return JournaledRuns.Run(_store, _log, run, Cancellation, scope =>
        {
            var working = false;
            string? usedId = null;
            try
            {
                using var session = scope.Store.OpenStateSession();
                string backupSchema;
                if (backupId is null)
                {
                    backupSchema = BackupSchemas(session).FirstOrDefault() ?? throw new SqbException(ErrorCodes.NoStateBackup, "NoStateBackup",
                        "No state backup is available for rollback", SqbErrorKind.ObjectNotFound, Schema,
                        "Run Reset-SqbState -Force, then Initialize-SqbState (Update-SqbState takes a backup once the store is valid).");
                    usedId = backupSchema[Sql.BackupPrefix.Length..];
                }
                else
                {
                    usedId = backupId;
                    backupSchema = Sql.BackupSchema(backupId);
                    if (!session.ReadCatalog(new[] { backupSchema }).Schemas.Contains(backupSchema))
                        throw new SqbException(ErrorCodes.StateBackupNotFound, "StateBackupNotFound",
                            $"State backup schema '{backupSchema}' does not exist", SqbErrorKind.ObjectNotFound, backupSchema,
                            "Use a different backup (Get-SqbStateBackup lists them), or Reset-SqbState -Force then Initialize-SqbState.");
                }

                // The backup must hold every state table and column in its type family (CTAS copies no index: not checked).
                var backup = StateValidator.Validate(session, Sql, backupSchema, checkIndexes: false);
                if (!backup.IsValid)
                    throw new SqbException(ErrorCodes.InvalidStateBackup, "InvalidStateBackup",
                        $"state backup '{usedId}' cannot be restored:" + string.Concat(backup.Problems.Select(p => "\n  " + p.Message)),
                        SqbErrorKind.InvalidData, backupSchema,
                        "Use a different backup (Get-SqbStateBackup lists them), or Reset-SqbState -Force then Initialize-SqbState.");

                working = true;
                scope.Journal?.Step(KillPoints.Restore.Replace, $"replacing {StateSchema.Tables.Count} state tables of {Schema} with {backupSchema}");
                using (var tx = session.BeginTransaction())
                {
                    scope.Lease?.Fence(session);
                    session.Execute(Sql.CreateSchema());
                    foreach (var t in StateSchema.Tables.Where(t => t != StateSchema.Locks || !locksUsable))
                    {
                        session.Execute(Sql.DropTable(Schema, t));
                        session.Execute(Sql.CopyTable(backupSchema, Schema, t));
                        if (t.UniqueKey.Count > 0) session.Execute(Sql.CreateUniqueIndex(Schema, t));
                    }
                    if (!locksUsable) session.Execute(Sql.DeleteAll(Schema, StateSchema.Locks));
                    scope.Journal?.RecordIn(session, $"restore: restored {Schema} from {backupSchema}");
                    _store.MigrationEvent(session, "rollback", usedId, "success", $"restored {StateSchema.Tables.Count} state tables from {backupSchema}");
                    KillPoints.At(KillPoints.Restore.Replace + KillPoints.BeforeCommit);
                    scope.Cancellation.ThrowIfCancellationRequested();
                    tx.Commit();
                }
                var restored = ReadBackups(session, backupSchema).Single();
                var result = new SqbStateRestoreResult
                {
                    BackupId = usedId, Schema = backupSchema, StateSchema = Schema, Target = _store.TargetName,
                    Tables = restored.Tables, Rows = restored.Rows, OperationId = scope.Id, Duration = clock.Elapsed,
                };
                // A store restored from damage had no usable journal before: journal the restore now that it has one.
                if (scope.Journal is null)
                {
                    using var journal = OperationJournal.Start(scope.Store, RollbackOperation, null, $"restore state store {Schema} from backup {usedId}", _log, scope.Id);
                    journal.Succeed(Restored(result));
                }
                return result;
            }
            catch (Exception ex)
            {
                if (working) FailedEvent("rollback", usedId, ex);
                throw;
            }
        }, Restored);
    }

    private static string Restored(SqbStateRestoreResult r) => $"restored {r.Rows} rows from {r.Schema}";

    // ------------------------------------------------------------------ reset

    /// <summary>The refusal of a reset while <c>allow_reset</c> is false (upstream's message, with PowerShell's -Force).</summary>
    public static SqbException ResetDisabled(string target) =>
        new(ErrorCodes.StateResetDisabled, "StateResetDisabled",
            "state reset is disabled for this target. To allow it, set `allow_reset = true` under `[targets.<name>.state]` " +
            "in sqlbuild_project.toml or sqlbuild_local.toml, then rerun with -Force.",
            SqbErrorKind.InvalidOperation, target,
            $"Set allow_reset = true under [targets.{target}.state] in sqlbuild_project.toml or sqlbuild_local.toml, then run Reset-SqbState -Force.");

    /// <summary>Throws <see cref="ResetDisabled"/> unless the target allows a reset (config only, nothing is opened).</summary>
    public void RequireResetAllowed()
    {
        if (!_store.Settings.AllowReset) throw ResetDisabled(_store.TargetName);
    }

    /// <summary>
    /// <c>Reset-SqbState</c>: drops every state table in ONE transaction; the schema and every backup are
    /// untouched. The same transaction creates <c>state_migration_events</c> afresh holding one <c>reset</c>
    /// event, so the reset stays on record; the store counts as not initialized until <c>Initialize-SqbState</c>.
    /// </summary>
    public SqbStateResetResult Reset()
    {
        var clock = Stopwatch.StartNew();
        RequireResetAllowed();
        StateValidation live;
        using (var session = _store.OpenStateSession()) live = StateValidator.Validate(session, Sql, Schema);
        var run = new JournaledRun("state_reset", null, LockManager.MigrationKey, $"reset state store {Schema}")
        {
            Action = "state reset", Locked = UsableLocks(live, "state reset"), Journaled = false,   // the journal is about to be dropped
        };
        return JournaledRuns.Run(_store, _log, run, Cancellation, scope =>
        {
            using var session = scope.Store.OpenStateSession();
            var backups = BackupSchemas(session).Count;
            var dropped = live.ExistingTables.ToList();
            if (dropped.Count > 0) // nothing to drop (never initialized): nothing to do
            {
                using var tx = session.BeginTransaction();
                scope.Lease?.Fence(session);
                foreach (var t in StateSchema.Tables.Reverse()) session.Execute(Sql.DropTable(Schema, t));
                var events = StateSchema.StateMigrationEvents;
                session.Execute(Sql.CreateTable(events));
                session.Execute(Sql.CreateUniqueIndex(events));
                _store.MigrationEvent(session, "reset", null, "success", $"dropped {dropped.Count} state tables of {Schema}");
                scope.Cancellation.ThrowIfCancellationRequested();
                tx.Commit();
            }
            // Its row went with the locks table: stop renewing, delete nothing.
            scope.Lease?.Abandon();
            _log.Verbose($"state store {Schema}: dropped {dropped.Count} tables; {backups} backup(s) kept");
            return new SqbStateResetResult
            {
                Target = _store.TargetName, StateSchema = Schema, DroppedTables = dropped, Backups = backups, Duration = clock.Elapsed,
            };
        }, _ => "");
    }

    // ------------------------------------------------------------------ locks

    /// <summary>Whether the locks table can hold the <c>state_migration</c> lock. A damaged one (a recovery run) does not
    /// stop the run: it goes on without a lock row, since nothing else can take a lock there either.</summary>
    private bool UsableLocks(StateValidation live, string action)
    {
        if (live.Usable(StateSchema.Locks)) return true;
        if (!live.IsEmpty) _log.Warning($"the locks table of '{Schema}' is missing or damaged; {action} runs without the state_migration lock");
        return false;
    }

    private void FailedEvent(string action, string? backupId, Exception ex)
    {
        try
        {
            using var session = _store.OpenStateSession();
            _store.MigrationEvent(session, action, backupId, "failed", Redaction.Redact(ex.Message));
        }
        catch (Exception e)
        {
            _log.Warning($"could not record the failed {action} in state_migration_events: {Redaction.Redact(e.Message)}");
        }
    }
}

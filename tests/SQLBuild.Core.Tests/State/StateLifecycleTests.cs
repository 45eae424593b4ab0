using System.Text.RegularExpressions;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>
/// The state-store lifecycle (SPEC §5) on real engines: validation of every problem kind after real damage,
/// migrate (backup equals the live rows), backups, restore (latest and by id), reset gating, lock refusal.
/// </summary>
public sealed class StateLifecycleTests
{
    // ------------------------------------------------------------------ validation

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_fresh_store_is_valid(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        Assert.True(f.Lifecycle().Validate().IsEmpty);
        f.Lifecycle().Initialize();
        var v = f.Lifecycle().Validate();
        Assert.True(v.IsValid, string.Join("\n", v.Problems));
        Assert.Equal(StateSchema.Tables.Select(t => t.Name), v.ExistingTables);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_dropped_table_is_a_missing_state_table_and_migrate_writes_nothing(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        f.Exec($"DROP TABLE {f.T("reconcile_events")}");

        var v = f.Lifecycle().Validate();
        var problem = Assert.Single(v.Problems);
        Assert.Equal(StateProblemKind.MissingTable, problem.Kind);
        Assert.Equal("Missing state table: reconcile_events", problem.Message);
        AssertMigrateRefused(f, "Missing state table: reconcile_events");
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_dropped_column_is_a_missing_state_column(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        f.Exec($"ALTER TABLE {f.T("state_versions")} DROP COLUMN {f.Q("sqlbuild_version")}");

        var problem = Assert.Single(f.Lifecycle().Validate().Problems);
        Assert.Equal(StateProblemKind.MissingColumn, problem.Kind);
        Assert.Equal("Missing state column: state_versions.sqlbuild_version", problem.Message);
        AssertMigrateRefused(f, "Missing state column: state_versions.sqlbuild_version");
    }

    [SkippableTheory]
    [InlineData("duckdb", "VARCHAR")]
    [InlineData("postgres", "text")]
    public void A_retyped_column_is_a_wrong_state_column_type(string engine, string reported)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        f.Exec($"ALTER TABLE {f.T("state_versions")} ALTER COLUMN {f.Q("schema_version")} TYPE TEXT");

        var problem = Assert.Single(f.Lifecycle().Validate().Problems);
        Assert.Equal(StateProblemKind.WrongColumnType, problem.Kind);
        var line = $"Wrong state column type: state_versions.schema_version expected integer, got {reported}";
        Assert.Equal(line, problem.Message);
        AssertMigrateRefused(f, line);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_dropped_unique_index_is_a_missing_state_index(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        f.Exec($"DROP INDEX {f.T("idx_sqb_model_versions_identity")}");

        var problem = Assert.Single(f.Lifecycle().Validate().Problems);
        Assert.Equal(StateProblemKind.MissingIndex, problem.Kind);
        Assert.Equal("Missing state index: model_versions.idx_sqb_model_versions_identity", problem.Message);
        AssertMigrateRefused(f, "Missing state index: model_versions.idx_sqb_model_versions_identity");

        // Initialize is additive: it recreates the index, after which migrate works.
        f.Lifecycle().Initialize();
        Assert.True(f.Lifecycle().Validate().IsValid);
        f.Lifecycle().Migrate();
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Several_problems_are_all_listed_in_table_order(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.Lifecycle().Initialize();
        f.Exec($"DROP TABLE {f.T("locks")}");
        f.Exec($"DROP TABLE {f.T("seed_versions")}");
        f.Exec($"ALTER TABLE {f.T("state_versions")} DROP COLUMN {f.Q("updated_at")}");

        var messages = f.Lifecycle().Validate().Problems.Select(p => p.Message).ToList();
        Assert.Equal(new[] { "Missing state column: state_versions.updated_at", "Missing state table: seed_versions", "Missing state table: locks" }, messages);
        var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Migrate());
        Assert.Equal($"Cannot backup invalid state schema '{f.StateSchemaName}':\n  " + string.Join("\n  ", messages), ex.Message);
    }

    private static void AssertMigrateRefused(StateFixture f, string problemLine)
    {
        var events = f.Events();
        var operations = f.Count("state_operations");
        var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Migrate());
        Assert.StartsWith("Cannot backup invalid state schema", ex.Message);
        Assert.Contains("\n  " + problemLine, ex.Message);
        Assert.Equal("E030", ex.Code);
        Assert.Equal("E030.InvalidStateSchema", ex.ErrorId);
        Assert.Equal(SqbErrorKind.InvalidData, ex.Kind);
        Assert.Equal(f.StateSchemaName, ex.Target);
        Assert.Contains("Reset-SqbState -Force", ex.RecommendedAction);
        Assert.Contains("Initialize-SqbState", ex.RecommendedAction);
        // Nothing written: no backup schema, no event, no journal row.
        Assert.Empty(f.BackupSchemas());
        Assert.Equal(events, f.Events());
        Assert.Equal(operations, f.Count("state_operations"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Migrate_on_an_uninitialized_store_says_so(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Migrate());
        Assert.Equal("E002", ex.Code);
        Assert.Contains("is not initialized", ex.Message);
        Assert.False(f.SchemaExists(f.StateSchemaName + "__backup_x"));
        Assert.Empty(f.BackupSchemas());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Lifecycle_operations_need_virtual_mode(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine, allowReset: true, virtualMode: false);
        foreach (var op in new Action[] { () => f.Lifecycle().Migrate(), () => f.Lifecycle().Backups(), () => f.Lifecycle().Restore(null), () => f.Lifecycle().Reset() })
        {
            var ex = Assert.Throws<SqbException>(op);
            Assert.Equal("E001", ex.Code);
            Assert.Equal("State commands require virtual_environments = true", ex.Message);
        }
    }

    // ------------------------------------------------------------------ migrate and backups

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Migrate_copies_every_state_table_into_a_backup_that_equals_the_live_rows(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        var before = f.Snapshot();
        Assert.NotEmpty(before["model_versions"]);
        Assert.NotEmpty(before["virtual_environment_node_refs"]);
        var started = DateTime.UtcNow.AddSeconds(-5);

        var backup = f.Lifecycle().Migrate();

        Assert.Matches(new Regex(@"^\d{8}T\d{12}Z$"), backup.BackupId);
        Assert.Equal($"{f.StateSchemaName}__backup_{backup.BackupId}", backup.Schema);
        Assert.Equal(f.StateSchemaName, backup.StateSchema);
        Assert.InRange(backup.CreatedAt!.Value, started, DateTime.UtcNow.AddSeconds(5));
        Assert.Equal(StateSchema.Tables.Count, backup.Tables);
        Assert.Empty(backup.MissingTables);
        // The backup is the state as it was before the migration, table by table (the migration's own
        // journal and lock rows are left out of it).
        foreach (var t in StateSchema.Tables)
        {
            Assert.Equal(before[t.Name], f.Rows(t.Name, backup.Schema));
            Assert.Equal(before[t.Name].Count, backup.TableRows[t.Name]);
        }
        Assert.Equal(before.Values.Sum(r => (long)r.Count), backup.Rows);

        // Events: a backup event naming the id, then the migrate re-initialization; the journal succeeded.
        var events = f.Events();
        Assert.Equal($"backup|{backup.BackupId}|success", f.Events("backup").Single());
        Assert.Equal("migrate||success", events[^1]);
        var op = new OperationQueries(f.Store(), f.Log).List(type: StateLifecycle.MigrateOperation).Single();
        Assert.Equal("succeeded", op.Status);
        Assert.Empty(new LockManager(f.Store(), f.Log).List());
        Assert.True(f.Lifecycle().Validate().IsValid);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Backups_are_listed_newest_first_with_exact_row_counts(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        Assert.Empty(f.Lifecycle().Backups());
        var first = f.Lifecycle().Migrate();
        f.Exec($"DELETE FROM {f.T("virtual_environment_node_refs")}");
        var second = f.Lifecycle().Migrate();

        var list = f.Lifecycle().Backups();
        Assert.Equal(new[] { second.BackupId, first.BackupId }, list.Select(b => b.BackupId));
        Assert.True(list[0].CreatedAt > list[1].CreatedAt);
        foreach (var b in list)
        {
            foreach (var t in StateSchema.Tables)
                Assert.Equal(f.Count(t.Name, b.Schema), b.TableRows[t.Name]);
            Assert.Equal(b.TableRows.Values.Sum(), b.Rows);
        }
        Assert.Equal(0, list[0].TableRows["virtual_environment_node_refs"]);
        Assert.True(list[1].TableRows["virtual_environment_node_refs"] > 0);

        // A schema that merely starts like a backup of ANOTHER state schema is not listed.
        f.Exec($"CREATE SCHEMA {f.Q(f.StateSchemaName + "x__backup_20200101T000000000000Z")}");
        Assert.Equal(2, f.Lifecycle().Backups().Count);
        f.Exec($"DROP SCHEMA {f.Q(f.StateSchemaName + "x__backup_20200101T000000000000Z")}");
    }

    // ------------------------------------------------------------------ restore

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_after_deleting_rows_brings_them_back_and_keeps_the_backup(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        var backup = f.Lifecycle().Migrate();
        var refs = f.Rows("virtual_environment_node_refs");
        var versions = f.Rows("model_versions");
        var physical = f.Rows("physical_relations");
        f.Exec($"DELETE FROM {f.T("virtual_environment_node_refs")}");
        f.Exec($"DELETE FROM {f.T("model_versions")}");
        f.Exec($"DELETE FROM {f.T("physical_relations")}");

        var result = f.Lifecycle().Restore(null);

        Assert.Equal(backup.BackupId, result.BackupId);
        Assert.Equal(backup.Schema, result.Schema);
        Assert.Equal(refs, f.Rows("virtual_environment_node_refs"));
        Assert.Equal(versions, f.Rows("model_versions"));
        Assert.Equal(physical, f.Rows("physical_relations"));
        Assert.True(f.SchemaExists(backup.Schema), "a restore never deletes its backup");
        Assert.Equal(backup.Rows, f.Lifecycle().Backups().Single().Rows);
        var v = f.Lifecycle().Validate();
        Assert.True(v.IsValid, string.Join("\n", v.Problems)); // indexes recreated
        Assert.Equal($"rollback|{backup.BackupId}|success", f.Events("rollback").Single());
        var op = new OperationQueries(f.Store(), f.Log).List(type: StateLifecycle.RollbackOperation).Single();
        Assert.Equal("succeeded", op.Status);
        Assert.Equal(result.OperationId, op.Id);
        Assert.Empty(new LockManager(f.Store(), f.Log).List());
        // The restored store works: a build finds everything up to date and changes nothing.
        var build = f.Build();
        Assert.Equal(0, build.Failed);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_by_id_uses_that_backup(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        var full = f.Lifecycle().Migrate();
        var refs = f.Rows("virtual_environment_node_refs");
        f.Exec($"DELETE FROM {f.T("virtual_environment_node_refs")}");
        var empty = f.Lifecycle().Migrate();

        f.Lifecycle().Restore(empty.BackupId);
        Assert.Empty(f.Rows("virtual_environment_node_refs"));
        var result = f.Lifecycle().Restore(full.BackupId);
        Assert.Equal(full.BackupId, result.BackupId);
        Assert.Equal(refs, f.Rows("virtual_environment_node_refs"));
        // state_migration_events is a state table like the others: it too is the backup's, plus this rollback.
        Assert.Equal(new[] { $"rollback|{full.BackupId}|success" }, f.Events("rollback"));
        Assert.Equal(2, f.BackupSchemas().Count);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_without_any_backup_fails_with_upstreams_message(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        var before = f.Snapshot();
        var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Restore(null));
        Assert.Equal("No state backup is available for rollback", ex.Message);
        Assert.Equal("E031.NoStateBackup", ex.ErrorId);
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);
        Assert.Contains("Reset-SqbState -Force", ex.RecommendedAction);
        var after = f.Snapshot();
        foreach (var t in StateSchema.Tables.Where(t => t.Name is not ("state_operations" or "state_operation_events" or "state_migration_events")))
            Assert.Equal(before[t.Name], after[t.Name]);
        Assert.Equal("failed", new OperationQueries(f.Store(), f.Log).List(type: StateLifecycle.RollbackOperation).Single().Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_of_a_deleted_backup_fails_with_the_backup_id_error(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        var kept = f.Lifecycle().Migrate();
        f.Exec($"DELETE FROM {f.T("virtual_environment_node_refs")}");
        var deleted = f.Lifecycle().Migrate();
        f.DropBackup(deleted.Schema);
        Assert.False(f.SchemaExists(deleted.Schema));

        var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Restore(deleted.BackupId));
        Assert.Equal($"State backup schema '{f.StateSchemaName}__backup_{deleted.BackupId}' does not exist", ex.Message);
        Assert.Equal("E032.StateBackupNotFound", ex.ErrorId);
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal(deleted.Schema, ex.Target);
        Assert.Empty(f.Rows("virtual_environment_node_refs")); // nothing changed

        // The page's recovery: use a different backup.
        f.Lifecycle().Restore(kept.BackupId);
        Assert.NotEmpty(f.Rows("virtual_environment_node_refs"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_refuses_a_backup_that_lacks_a_state_table(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        var backup = f.Lifecycle().Migrate();
        f.Exec($"DROP TABLE {f.T("locks", backup.Schema)}");
        var before = f.Rows("model_versions");

        var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Restore(backup.BackupId));
        Assert.Equal("E034.InvalidStateBackup", ex.ErrorId);
        Assert.Equal($"state backup '{backup.BackupId}' cannot be restored:\n  Missing state table: locks", ex.Message);
        Assert.Equal(new[] { "locks" }, f.Lifecycle().Backups().Single().MissingTables);
        Assert.Equal(before, f.Rows("model_versions"));
        Assert.True(f.Lifecycle().Validate().IsValid);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_rebuilds_a_damaged_store_from_a_backup(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        var backup = f.Lifecycle().Migrate();
        var refs = f.Rows("virtual_environment_node_refs");
        // Damage the locks and the journal tables: restore goes on without its lock row and journals afterwards.
        f.Exec($"DROP TABLE {f.T("locks")}");
        f.Exec($"DROP TABLE {f.T("state_operation_events")}");
        f.Exec($"DROP INDEX {f.T("idx_sqb_virtual_environments_identity")}");
        f.Exec($"ALTER TABLE {f.T("virtual_environments")} DROP COLUMN {f.Q("finalized_at")}");
        Assert.Equal(4, f.Lifecycle().Validate().Problems.Count);

        f.Lifecycle().Restore(null);

        var v = f.Lifecycle().Validate();
        Assert.True(v.IsValid, string.Join("\n", v.Problems));
        Assert.Equal(refs, f.Rows("virtual_environment_node_refs"));
        Assert.Contains(f.Log.Lines, l => l.StartsWith("WARNING: the locks table", StringComparison.Ordinal));
        Assert.Equal("succeeded", new OperationQueries(f.Store(), f.Log).List(type: StateLifecycle.RollbackOperation).Single().Status);
        Assert.NotEqual(backup.BackupId, f.Lifecycle().Migrate().BackupId); // the store is whole: migrate works again
    }

    // ------------------------------------------------------------------ reset

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Reset_is_refused_unless_allow_reset(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine, allowReset: false);
        f.InitializeAndBuild();
        var before = f.Snapshot();
        var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Reset());
        Assert.Equal("state reset is disabled for this target. To allow it, set `allow_reset = true` under `[targets.<name>.state]` " +
                     "in sqlbuild_project.toml or sqlbuild_local.toml, then rerun with -Force.", ex.Message);
        Assert.Equal("E033.StateResetDisabled", ex.ErrorId);
        Assert.Equal(SqbErrorKind.InvalidOperation, ex.Kind);
        Assert.Contains("[targets.dev.state]", ex.RecommendedAction);
        Assert.Equal(before, f.Snapshot());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Reset_drops_every_state_table_keeps_backups_and_init_makes_the_store_whole(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine, allowReset: true);
        f.InitializeAndBuild();
        var backup = f.Lifecycle().Migrate();
        // Damage it the page's way, then recover the page's way: reset, then init.
        f.Exec($"DROP INDEX {f.T("idx_sqb_locks_identity")}"); // DuckDB alters no table that has an index
        f.Exec($"ALTER TABLE {f.T("locks")} DROP COLUMN {f.Q("owner_host")}");
        Assert.Throws<SqbException>(() => f.Lifecycle().Migrate());

        var result = f.Lifecycle().Reset();

        Assert.Equal(StateSchema.Tables.Select(t => t.Name), result.DroppedTables);
        Assert.Equal(1, result.Backups);
        var v = f.Lifecycle().Validate();
        Assert.True(v.IsEmpty);
        Assert.Equal(new[] { "state_migration_events" }, v.ExistingTables);
        Assert.Equal(new[] { "reset||success" }, f.Events());
        Assert.True(f.SchemaExists(f.StateSchemaName));
        Assert.True(f.SchemaExists(backup.Schema));
        Assert.Equal(backup.Rows, f.Lifecycle().Backups().Single().Rows);

        f.Lifecycle().Initialize();
        Assert.True(f.Lifecycle().Validate().IsValid);
        Assert.Equal(new[] { "reset||success", "init||success" }, f.Events());
        f.Lifecycle().Migrate();
        var build = f.Build();
        Assert.True(build.Failed == 0, string.Join("\n", build.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}")));
        Assert.NotEmpty(f.Rows("virtual_environment_node_refs"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Reset_of_a_store_never_initialized_drops_nothing_and_creates_nothing(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine, allowReset: true);
        var result = f.Lifecycle().Reset();
        Assert.Empty(result.DroppedTables);
        Assert.Equal(0, result.Backups);
        Assert.False(f.SchemaExists(f.StateSchemaName));
    }

    // ------------------------------------------------------------------ locks

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Migrate_restore_and_reset_refuse_while_a_virtual_environment_is_locked(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine, allowReset: true);
        f.InitializeAndBuild();
        var backup = f.Lifecycle().Migrate();
        var before = f.Snapshot();
        using (var held = new LockManager(f.Store(), f.Log).Acquire(LockManager.EnvironmentKey("dev"), "build:test-holder"))
        {
            foreach (var op in new Action[] { () => f.Lifecycle().Migrate(), () => f.Lifecycle().Restore(null), () => f.Lifecycle().Reset() })
            {
                var ex = Assert.Throws<SqbException>(op);
                Assert.Equal("S014.EnvironmentLocked", ex.ErrorId);
                Assert.StartsWith("virtual environment 'dev' is locked by build:test-holder", ex.Message);
                Assert.Equal(SqbErrorKind.ResourceBusy, ex.Kind);
                Assert.Equal("virtual_env:dev", ex.Target);
                Assert.Contains("Clear-SqbLock -Key 'virtual_env:dev' -Force", ex.RecommendedAction);
            }
            Assert.Equal(new[] { backup.Schema }, f.BackupSchemas());
            foreach (var t in new[] { "model_versions", "virtual_environment_node_refs", "physical_relations", "state_versions" })
                Assert.Equal(before[t], f.Rows(t));
            // Only the VDE lock is left: each refusal released state_migration.
            Assert.Equal(new[] { "virtual_env:dev" }, new LockManager(f.Store(), f.Log).List().Select(l => l.Key));
        }
        f.Lifecycle().Migrate();
        Assert.Equal(2, f.Lifecycle().Backups().Count);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Migrate_refuses_while_another_lifecycle_operation_holds_state_migration(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        using (new LockManager(f.Store(), f.Log).Acquire(LockManager.MigrationKey, "state_migrate:other"))
        {
            var ex = Assert.Throws<SqbException>(() => f.Lifecycle().Migrate());
            Assert.Equal("S014.StateLocked", ex.ErrorId);
            Assert.StartsWith("state store is locked (state_migration) by state_migrate:other", ex.Message);
            Assert.Empty(f.BackupSchemas());
        }
        f.Lifecycle().Migrate();
        Assert.Single(f.BackupSchemas());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void An_expired_environment_lock_does_not_block_migrate(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new StateFixture(engine);
        f.InitializeAndBuild();
        using (new LockManager(f.Store(), f.Log).Acquire(LockManager.EnvironmentKey("dev"), "build:stale"))
        {
            f.Exec($"UPDATE {f.T("locks")} SET {f.Q("expires_at")} = {f.Q("created_at")} - INTERVAL '1 hour'");
            f.Lifecycle().Migrate();
        }
        Assert.Single(f.BackupSchemas());
    }
}

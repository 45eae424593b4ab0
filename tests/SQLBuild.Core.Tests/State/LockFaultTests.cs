using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>
/// Locks against the faults of issue 9 (SPEC §6), on the engines: read-only probes, clearing by owner and ending the
/// holder's sessions, sessions released on every refusal, the exclusion of a VDE operation and the janitor or a state
/// migration, and the state lifecycle's lock (before its journal row, beside other holders' rows, stopped by Ctrl+C).
/// </summary>
public class LockFaultTests
{
    private static string Op(string kind = "test") => Ids.NewOperationId(kind);

    private static long Sessions(VirtualFixture f, string operationId, string condition = "true") =>
        f.Long($"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sqlbuild/{operationId}' AND ({condition})");

    /// <summary>The sessions of <paramref name="operationId"/> once closed ones are gone: a closed connection's backend
    /// leaves pg_stat_activity a moment after the client hung up.</summary>
    private static long SessionsLeft(VirtualFixture f, string operationId, string condition = "true") =>
        Settled(() => Sessions(f, operationId, condition));

    /// <summary><paramref name="count"/> once it dropped to 0, or after 5 s.</summary>
    internal static long Settled(Func<long> count)
    {
        var clock = Stopwatch.StartNew();
        long left;
        while ((left = count()) > 0 && clock.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(50);
        return left;
    }

    /// <summary>A session named as <paramref name="operationId"/>'s work, as a holder's would be.</summary>
    private static IWarehouseSession SessionOf(VirtualFixture f, string operationId) =>
        f.Store().ForOperation(operationId, CancellationToken.None).OpenWarehouseSession(dedicated: true);

    private static long BackendPid(IWarehouseSession session) =>
        Convert.ToInt64(session.ExecuteScalar(new SqlStatement("TEST", "pid", "SELECT pg_backend_pid()")));

    // ------------------------------------------------------------------ probes

    [SkippableFact]
    public void On_postgres_the_probe_reads_pg_locks_and_never_takes_the_lock()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        var d = PostgresDialect.Instance;
        using var holder = f.Warehouse();
        using var prober = f.Warehouse();
        bool Free(string r) => d.AdvisoryLockIsFree(prober.ExecuteScalar(d.ProbeAdvisoryLock(r)));
        // Ids whose halves cover the sign bits: the probe must match pg_locks' unsigned classid/objid split.
        var resources = Enumerable.Range(0, 24).Select(i => $"sqlbuild:{f.StateSchema}:virtual_env:e{i}").ToList();
        Assert.Contains(resources, r => PostgresDialect.AdvisoryLockId(r) < 0);
        Assert.Contains(resources, r => (PostgresDialect.AdvisoryLockId(r) & 0x8000_0000L) != 0);
        foreach (var r in resources)
        {
            Assert.True(Free(r));
            Assert.True(d.AdvisoryLockTaken(holder.ExecuteScalar(d.TryAdvisoryLock(r))));
            Assert.False(Free(r));
            holder.Execute(d.ReleaseAdvisoryLock(r));
            Assert.True(Free(r));
        }

        // Probing while another session takes and gives back the lock as fast as it can: the taker never fails, since a
        // probe only reads (a probe that took the lock to test it made a concurrent acquire fail).
        var resource = resources[0];
        var failures = 0;
        var takes = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var prober2 = Task.Run(() =>
        {
            using var s = f.Warehouse();
            while (!stop.IsCancellationRequested) s.ExecuteScalar(d.ProbeAdvisoryLock(resource));
        });
        while (!stop.IsCancellationRequested)
        {
            if (d.AdvisoryLockTaken(holder.ExecuteScalar(d.TryAdvisoryLock(resource)))) holder.Execute(d.ReleaseAdvisoryLock(resource));
            else failures++;
            takes++;
        }
        prober2.GetAwaiter().GetResult();
        Assert.True(takes > 100, $"only {takes} takes in 2 s");
        Assert.Equal(0, failures);
    }

    [SkippableFact]
    public void On_postgres_listing_locks_takes_no_session_lock()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        LockTests.InsertLock(f, "virtual_env:dev", "build:gone", "build-agent-7", 1, expiresInSeconds: 600, updatedSecondsAgo: 60);
        Assert.True(Assert.Single(f.Locks().List()).IsOrphaned);
        var id = unchecked((ulong)PostgresDialect.AdvisoryLockId(LockManager.AdvisoryResource(f.StateSchema, "virtual_env:dev")));
        Assert.Equal(0L, f.Long($"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = {id >> 32} AND objid::bigint = {id & 0xFFFF_FFFFUL}"));
    }

    // ------------------------------------------------------------------ clearing

    [SkippableFact]
    public void On_postgres_clearing_a_lock_ends_its_holders_sessions_and_no_others()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        using var victim = SessionOf(f, "build:victim");
        using var bystander = SessionOf(f, "build:bystander");
        var victimPid = BackendPid(victim);
        var sleeping = Task.Run(() => victim.ExecuteScalar(new SqlStatement("TEST", "sleep", "SELECT pg_sleep(30)")));
        LockTests.InsertLock(f, "virtual_env:dev", "build:victim", Environment.MachineName, Environment.ProcessId, expiresInSeconds: 600);
        while (Sessions(f, "build:victim", "state = 'active'") == 0) Thread.Sleep(20);

        var clock = Stopwatch.StartNew();
        var cleared = f.Locks().Clear(f.Locks().List().Single());
        Assert.True(cleared.Deleted);
        Assert.Equal(new[] { victimPid }, cleared.EndedSessions);
        Assert.ThrowsAny<Exception>(() => sleeping.GetAwaiter().GetResult());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the 30 s statement ended after {clock.Elapsed}");
        Assert.Equal(0L, SessionsLeft(f, "build:victim"));
        Assert.Equal(1, Convert.ToInt32(bystander.ExecuteScalar(new SqlStatement("TEST", "alive", "SELECT 1"))));
        Assert.Contains($"VERBOSE: ended 1 server session(s) of build:victim: {victimPid}", f.Log.Lines);
        Assert.Empty(f.Locks().List());
    }

    [SkippableFact]
    public void On_postgres_a_lease_whose_session_ended_refuses_the_fence_at_once_and_still_deletes_its_row()
    {
        // No renewal has run since the session ended (15 s apart): the fence itself finds the session gone.
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        var op = Op("build");
        var lease = new LockManager(f.Store().ForOperation(op, CancellationToken.None), f.Log).Acquire("virtual_env:dev", op);
        Assert.Equal(1L, f.Long($"SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid " +
                                $"AND l.locktype = 'advisory' WHERE a.application_name = 'sqlbuild/{op}'"));
        Assert.Equal(0L, SessionsLeft(f, op));
        Assert.False(lease.IsLost);   // nothing has noticed yet

        using (var session = f.StateSession())
        using (session.BeginTransaction())
        {
            var ex = Assert.Throws<SqbException>(() => lease.Fence(session));
            Assert.Equal("L001.LeaseLost", ex.ErrorId);
        }
        Assert.True(lease.IsLost);
        Assert.True(lease.Lost.IsCancellationRequested);
        Assert.Equal(op, f.Locks().List().Single().OwnerId);
        lease.Dispose();
        Assert.Empty(f.Locks().List());
        Assert.DoesNotContain(f.Log.Lines, l => l.Contains("could not release", StringComparison.Ordinal));
    }

    // ------------------------------------------------------------------ sessions released on every refusal

    [SkippableFact]
    public void On_postgres_a_refused_acquire_leaves_no_session_behind()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        LockManager Scoped(string op) => new(f.Store().ForOperation(op, CancellationToken.None), f.Log);

        using (Scoped("build:holder").Acquire(LockManager.EnvironmentKey("dev"), "build:holder"))
        {
            var refused = Op("build");
            Assert.Equal("S014", Assert.Throws<SqbException>(() => Scoped(refused).Acquire(LockManager.EnvironmentKey("dev"), refused)).Code);
            Assert.Equal(0L, SessionsLeft(f, refused));
            // Refused by the other side of the exclusion, after its row was in: the row is gone and so is its session.
            var janitor = Op("janitor");
            var ex = Assert.Throws<SqbException>(() => Scoped(janitor).Acquire(new LockRequest(LockManager.MigrationKey, janitor) { Action = "janitor" }));
            Assert.Equal("S014.EnvironmentLocked", ex.ErrorId);
            Assert.Equal(0L, SessionsLeft(f, janitor));
            Assert.Equal(new[] { "virtual_env:dev" }, f.Locks().List().Select(l => l.Key));
            Assert.Equal(1L, Sessions(f, "build:holder"));   // the holder's lease session, and only it
        }
        Assert.Equal(0L, SessionsLeft(f, "build:holder"));
    }

    [SkippableFact]
    public void On_postgres_a_failing_build_leaves_no_lease_or_latch_session_holding_anything()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        f.Edit("models/marts/fct_orders.sql", s => s.Replace("COALESCE(SUM(p.amount), 0) AS amount", "COALESCE(SUM(p.amount), 0) / 0 AS amount", StringComparison.Ordinal));

        var result = f.Build();
        Assert.Equal("failed", result.Status);
        Assert.NotNull(result.OperationId);
        Assert.Equal(0L, Settled(() => f.Long("SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid " +
                                              $"WHERE l.locktype = 'advisory' AND a.application_name = 'sqlbuild/{result.OperationId}'")));
        Assert.Equal(0L, SessionsLeft(f, result.OperationId!, "state <> 'idle'"));
        Assert.Empty(f.Locks().List());
    }

    // ------------------------------------------------------------------ a VDE operation vs the janitor or a state migration

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_vde_operation_refuses_at_once_while_the_janitor_or_a_migration_holds_state_migration(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        f.AddOrderYearToFctOrders();
        var before = f.Operations().Count;
        using (f.Locks().Acquire(new LockRequest(LockManager.MigrationKey, "janitor:held-by-test") { Action = "janitor" }))
        {
            var clock = Stopwatch.StartNew();
            var ex = Assert.Throws<SqbException>(() => f.Build());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused after {clock.Elapsed}");
            Assert.Equal("S014.StateLocked", ex.ErrorId);
            Assert.Equal(SqbErrorKind.ResourceBusy, ex.Kind);
            Assert.Equal("state_migration", ex.Target);
            Assert.StartsWith("state store is locked (state_migration) by janitor:held-by-test (host ", ex.Message);
            Assert.EndsWith("; build refuses while the state store is locked", ex.Message);
            Assert.Contains("Clear-SqbLock -Key 'state_migration' -Force", ex.RecommendedAction);

            var rollback = Assert.Throws<SqbException>(() => f.Restore());
            Assert.Equal("S019", rollback.Code);
            Assert.EndsWith("; rollback refuses while the state store is locked", rollback.Message);

            // Refused before the journal row, and its own lock row was deleted again.
            Assert.Equal(before, f.Operations().Count);
            Assert.Equal(new[] { "state_migration" }, f.Locks().List().Select(l => l.Key));
        }
        Assert.Equal("succeeded", f.Build().Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void The_janitor_and_the_state_lifecycle_refuse_while_a_vde_is_locked_and_write_nothing(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        var lifecycle = new StateLifecycle(f.Store(), f.Log);
        lifecycle.Migrate();
        var operations = f.Operations().Count;
        using (f.Locks().Acquire(LockManager.EnvironmentKey("pr_1"), "build:held-by-test"))
        {
            foreach (var (action, run) in new (string, Action)[]
                     {
                         ("janitor", () => new Janitor(f.Store(), f.Log).Run()),
                         ("state migrate", () => lifecycle.Migrate()),
                         ("state rollback", () => lifecycle.Restore(null)),
                     })
            {
                var ex = Assert.Throws<SqbException>(run);
                Assert.Equal("S014.EnvironmentLocked", ex.ErrorId);
                Assert.StartsWith("virtual environment 'pr_1' is locked by build:held-by-test (host ", ex.Message);
                Assert.EndsWith($"; {action} refuses while a virtual environment is locked", ex.Message);
                Assert.Equal("virtual_env:pr_1", ex.Target);
            }
            Assert.Equal(operations, f.Operations().Count);
            Assert.Equal(new[] { "virtual_env:pr_1" }, f.Locks().List().Select(l => l.Key));
        }
        // An orphaned or expired VDE row does not count: the holder is gone.
        LockTests.InsertLock(f, "virtual_env:pr_2", "build:expired", "build-agent-7", 1, expiresInSeconds: -5, updatedSecondsAgo: 605);
        Assert.NotEmpty(new Janitor(f.Store(), f.Log).Run());
    }

    // ------------------------------------------------------------------ the state lifecycle

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_refused_migrate_or_restore_writes_no_journal_row(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        var lifecycle = new StateLifecycle(f.Store(), f.Log);
        lifecycle.Migrate();
        var before = f.Operations().Select(o => o.Id).ToList();
        using (f.Locks().Acquire(LockManager.MigrationKey, "state_migrate:other"))
        {
            Assert.Equal("S014.StateLocked", Assert.Throws<SqbException>(() => lifecycle.Migrate()).ErrorId);
            Assert.Equal("S014.StateLocked", Assert.Throws<SqbException>(() => lifecycle.Restore(null)).ErrorId);
        }
        Assert.Equal(before, f.Operations().Select(o => o.Id).ToList());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_keeps_the_live_lock_rows_and_never_brings_back_the_backups(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        // A stale row at backup time (expired: it blocks nothing) goes into the backup.
        LockTests.InsertLock(f, "virtual_env:stale_in_backup", "build:long-gone", "build-agent-7", 1, expiresInSeconds: -60, updatedSecondsAgo: 660);
        var lifecycle = new StateLifecycle(f.Store(), f.Log);
        var backup = lifecycle.Migrate();
        f.StateExec($"DELETE FROM {f.StateTable("locks")}");
        // Live rows of other holders when the restore runs: a crashed build's (orphaned: its pid is dead here) and an expired one.
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        dead.WaitForExit();
        LockTests.InsertLock(f, "virtual_env:crashed", "build:crashed", Environment.MachineName, dead.Id, expiresInSeconds: 600);
        LockTests.InsertLock(f, "virtual_env:expired", "build:expired", "build-agent-7", 1, expiresInSeconds: -5, updatedSecondsAgo: 605);

        var restored = lifecycle.Restore(backup.BackupId);

        Assert.Equal(backup.BackupId, restored.BackupId);
        Assert.Equal(new[] { ("virtual_env:crashed", "build:crashed"), ("virtual_env:expired", "build:expired") },
            f.Locks().List().Select(l => (l.Key, l.OwnerId)));
        Assert.Equal("succeeded", f.Operations(type: "state_rollback").Single().Status);
    }

    [SkippableFact]
    public void On_postgres_a_stopped_restore_changes_nothing_releases_its_lock_and_is_journaled_cancelled()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        var backup = new StateLifecycle(f.Store(), f.Log).Migrate();
        f.StateExec($"DELETE FROM {f.StateTable("virtual_environment_node_refs")}");
        var refs = f.StateCount("virtual_environment_node_refs");

        // A reader's open transaction holds a lock the restore's DROP TABLE waits for.
        using var reader = f.StateSession();
        using var readerTx = reader.BeginTransaction();
        reader.Query(new SqlStatement("TEST", "read", $"SELECT count(*) FROM {f.StateTable("model_versions")}"));
        using var stop = new CancellationTokenSource();
        var restore = Task.Run(() => new StateLifecycle(f.Store(), f.Log) { Cancellation = stop.Token }.Restore(backup.BackupId));
        var waiting = Stopwatch.StartNew();
        while (f.Long("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sqlbuild/state_rollback:%' AND wait_event_type = 'Lock'") == 0)
        {
            Assert.True(waiting.Elapsed < TimeSpan.FromSeconds(30), "the restore never waited for the reader");
            Thread.Sleep(50);
        }
        var clock = Stopwatch.StartNew();
        stop.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => restore.GetAwaiter().GetResult());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the stop ended the restore after {clock.Elapsed}");
        readerTx.Rollback();

        Assert.Equal(refs, f.StateCount("virtual_environment_node_refs"));
        Assert.Empty(f.Locks().List());
        var op = f.Operations(type: "state_rollback").Single();
        Assert.Equal("cancelled", op.Status);
        Assert.Equal("cancel", op.Events[^1].Action);
    }
}

/// <summary>Lock tests that change the renewal interval or the orphan wait through the process environment: they run
/// alone, so no other test's lease sees their settings.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LockTimingCollection
{
    public const string Name = "lock timing (process environment)";
}

[Collection(LockTimingCollection.Name)]
public class LockTimingTests
{
    private static string Op() => Ids.NewOperationId("test");

    private static T With<T>(string variable, string value, Func<T> body)
    {
        Environment.SetEnvironmentVariable(variable, value);
        try { return body(); }
        finally { Environment.SetEnvironmentVariable(variable, null); }
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void The_holder_renews_its_lease_while_it_works(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var lease = With("SQB_LOCK_RENEW_SECONDS", "1", () => f.Locks().Acquire("virtual_env:renew", Op()));
        using (lease)
        {
            var first = f.Locks().List().Single();
            // The row states the holder's terms: a TTL of 40 renewal intervals.
            Assert.InRange((first.ExpiresAt - first.UpdatedAt).TotalSeconds, 39, 41);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            DateTime later;
            do
            {
                Thread.Sleep(500);
                later = f.Locks().List().Single().ExpiresAt;
            } while (later <= first.ExpiresAt && DateTime.UtcNow < deadline);
            Assert.True(later > first.ExpiresAt, $"expires_at did not move: {first.ExpiresAt:o} -> {later:o}");
            Assert.False(f.Locks().List().Single().IsOrphaned);
        }
        Assert.Empty(f.Locks().List());
    }

    /// <summary>An orphaned row of <c>build:orphan</c> (renewed last a minute ago) whose server session runs <paramref name="sql"/>.</summary>
    private static (IWarehouseSession Session, Task<object?> Running) Orphan(VirtualFixture f, string sql)
    {
        f.Init();
        LockTests.InsertLock(f, "virtual_env:dev", "build:orphan", "build-agent-7", 1, expiresInSeconds: 540, updatedSecondsAgo: 60);
        Assert.True(f.Locks().List().Single().IsOrphaned);
        var session = f.Store().ForOperation("build:orphan", CancellationToken.None).OpenWarehouseSession(dedicated: true);
        var running = Task.Run(() => session.ExecuteScalar(new SqlStatement("TEST", "orphan", sql)));
        while (f.Long("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sqlbuild/build:orphan' AND state = 'active'") == 0) Thread.Sleep(20);
        return (session, running);
    }

    [SkippableFact]
    public void On_postgres_a_takeover_waits_for_the_orphans_statement_with_progress()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        var (session, running) = Orphan(f, "SELECT pg_sleep(2)");
        using (session)
        {
            var clock = Stopwatch.StartNew();
            var op = Op();
            using (f.Locks().Acquire("virtual_env:dev", op))
                Assert.Equal(op, f.Locks().List().Single().OwnerId);
            Assert.True(clock.Elapsed > TimeSpan.FromSeconds(1), $"took over after {clock.Elapsed}, while the orphan's statement ran");
            Assert.True(running.IsCompleted);
            Assert.Contains(f.Log.Lines, l => l.StartsWith("VERBOSE: virtual_env:dev: build:orphan is gone but 1 of its server sessions still run", StringComparison.Ordinal));
            Assert.Contains(f.Log.Lines, l => l.StartsWith("PROGRESS: Waiting for the statements of build:orphan to end: 1 session(s) still running: ", StringComparison.Ordinal));
            Assert.Contains("PROGRESS: Waiting for the statements of build:orphan to end: ended (1/1)", f.Log.Lines);
            Assert.Contains("VERBOSE: taking over orphaned lock virtual_env:dev of build:orphan", f.Log.Lines);
        }
    }

    [SkippableFact]
    public void On_postgres_a_takeover_refuses_with_L003_while_the_orphans_statement_outlasts_the_wait_and_clearing_ends_it()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        var (session, running) = Orphan(f, "SELECT pg_sleep(60)");
        using (session)
        {
            var pid = f.Long("SELECT pid FROM pg_stat_activity WHERE application_name = 'sqlbuild/build:orphan'");
            var refused = Op();
            var clock = Stopwatch.StartNew();
            var ex = With("SQB_LOCK_ORPHAN_WAIT_SECONDS", "2", () => Assert.Throws<SqbException>(() =>
                new LockManager(f.Store().ForOperation(refused, CancellationToken.None), f.Log).Acquire("virtual_env:dev", refused)));
            Assert.InRange(clock.Elapsed.TotalSeconds, 1.9, 10);
            Assert.Equal("L003.OrphanStillRunning", ex.ErrorId);
            Assert.Equal(SqbErrorKind.ResourceBusy, ex.Kind);
            Assert.Equal("virtual_env:dev", ex.Target);
            Assert.StartsWith("virtual_env:dev was held by build:orphan (host build-agent-7, pid 1), whose statements still run on the server after 2 s: " +
                              $"session {pid} (", ex.Message);
            Assert.Contains("active since ", ex.Message);
            Assert.EndsWith("): SELECT pg_sleep(60)", ex.Message);
            Assert.Contains("Clear-SqbLock -Key 'virtual_env:dev' -Force", ex.RecommendedAction);
            // Nothing of the refused acquire is left: the orphan's row is as it was, the refused run has no session.
            Assert.Equal("build:orphan", f.Locks().List().Single().OwnerId);
            Assert.Equal(0L, LockFaultTests.Settled(() => f.Long($"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sqlbuild/{refused}'")));

            // Clear-SqbLock -Force ends the orphan's session, and the next acquire goes ahead at once.
            var cleared = f.Locks().Clear(f.Locks().List().Single());
            Assert.Equal(new[] { pid }, cleared.EndedSessions);
            Assert.ThrowsAny<Exception>(() => running.GetAwaiter().GetResult());
            using (f.Locks().Acquire("virtual_env:dev", Op())) Assert.Single(f.Locks().List());
        }
    }
}

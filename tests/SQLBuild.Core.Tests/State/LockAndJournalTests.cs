using System.Diagnostics;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>Locks (SPEC §6) and the operation journal (SPEC §9) on real engines.</summary>
public class LockTests
{
    private static string Op() => Ids.NewOperationId("test");

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Acquire_records_the_holder_fails_a_second_taker_at_once_and_release_deletes_the_row(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var op = Op();
        var lease = f.Locks().Acquire("virtual_env:x", op);
        var row = Assert.Single(f.Locks().List());
        Assert.Equal("virtual_env:x", row.Key);
        Assert.Equal(op, row.OwnerId);
        Assert.Equal(op, row.OperationId);
        Assert.Equal(Environment.MachineName, row.OwnerHost);
        Assert.Equal(Environment.ProcessId, row.OwnerPid);
        Assert.False(row.IsExpired);
        Assert.False(row.IsOrphaned);
        var ttl = row.ExpiresAt - row.CreatedAt;
        Assert.InRange(ttl.TotalSeconds, 595, 605);

        var clock = Stopwatch.StartNew();
        var ex = Assert.Throws<SqbException>(() => f.Locks().Acquire("virtual_env:x", Op()));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"a live lock must fail at once, took {clock.Elapsed}");
        Assert.Equal("S014", ex.Code);
        Assert.Equal(SqbErrorKind.ResourceBusy, ex.Kind);
        Assert.StartsWith("virtual environment 'x' is locked by " + op, ex.Message);
        Assert.Equal("virtual_env:x", ex.Target);
        Assert.Contains("Clear-SqbLock", ex.RecommendedAction);
        Assert.Equal("S019", Assert.Throws<SqbException>(() => f.Locks().Acquire("virtual_env:x", Op(), "S019")).Code);

        lease.Dispose();
        Assert.Empty(f.Locks().List());
        using var again = f.Locks().Acquire("virtual_env:x", Op());
        Assert.Single(f.Locks().List());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void An_expired_row_is_taken_over(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        InsertLock(f, "virtual_env:dev", "ghost", Environment.MachineName, Environment.ProcessId, expiresInSeconds: -60);
        var ghost = Assert.Single(f.Locks().List());
        Assert.True(ghost.IsExpired);

        var op = Op();
        using (var lease = f.Locks().Acquire("virtual_env:dev", op))
            Assert.Equal(op, f.Locks().List().Single().OwnerId);
        Assert.Empty(f.Locks().List());

        // A build takes an expired lock over too.
        InsertLock(f, "virtual_env:dev", "ghost", Environment.MachineName, Environment.ProcessId, expiresInSeconds: -60);
        Assert.Equal("succeeded", f.Build().Status);
        Assert.Empty(f.Locks().List());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Release_deletes_only_the_holders_own_row(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var lease = f.Locks().Acquire("virtual_env:dev", Op());
        var shown = Assert.Single(f.Locks().List());
        // Someone else now holds the key (e.g. after clearing and retaking it).
        Assert.Equal(1, f.StateExec($"UPDATE {f.StateTable("locks")} SET owner_id = 'someone_else' WHERE lock_key = 'virtual_env:dev'"));
        lease.Dispose();
        var row = Assert.Single(f.Locks().List());
        Assert.Equal("someone_else", row.OwnerId);
        // Clear-SqbLock deletes by key AND the owner it showed: never the row another process took meanwhile.
        Assert.False(f.Locks().Clear(shown).Deleted);
        Assert.Equal("someone_else", Assert.Single(f.Locks().List()).OwnerId);
        Assert.True(f.Locks().Clear(row).Deleted);
        Assert.Empty(f.Locks().List());
        Assert.False(f.Locks().Clear(row).Deleted);
    }

    [SkippableFact]
    public void On_postgres_a_row_without_its_session_lock_is_orphaned_once_it_missed_two_renewals()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        // A row with a far expiry, this host and this (live) process, no session holding the advisory lock, renewed just now:
        // its session is gone, but it may only have lost its connection; until it misses two renewals it is live.
        InsertLock(f, "virtual_env:dev", "build:lost-session", Environment.MachineName, Environment.ProcessId, expiresInSeconds: 600);
        var row = Assert.Single(f.Locks().List());
        Assert.False(row.IsExpired);
        Assert.False(row.IsOrphaned);
        var ex = Assert.Throws<SqbException>(() => f.Locks().Acquire("virtual_env:dev", Op()));
        Assert.Equal("S014", ex.Code);
        Assert.StartsWith("virtual environment 'dev' is locked by build:lost-session (host ", ex.Message);
        // The row says it renews every 600/40 = 15 s: orphaned 30 s after its last renewal.
        Assert.EndsWith($"; its session has ended: it counts as orphaned from {row.UpdatedAt.AddSeconds(30):u}, and a retry then takes it over", ex.Message);

        // The same row, last renewed 31 s ago: two renewals missed.
        f.StateExec($"DELETE FROM {f.StateTable("locks")}");
        InsertLock(f, "virtual_env:dev", "build:crashed", Environment.MachineName, Environment.ProcessId, expiresInSeconds: 600 - 31, updatedSecondsAgo: 31);
        row = Assert.Single(f.Locks().List());
        Assert.False(row.IsExpired);
        Assert.True(row.IsOrphaned);

        var op = Op();
        using (f.Locks().Acquire("virtual_env:dev", op))
        {
            var taken = Assert.Single(f.Locks().List());
            Assert.Equal(op, taken.OwnerId);
            Assert.False(taken.IsOrphaned);   // now backed by our session's advisory lock
        }
        Assert.Contains("VERBOSE: taking over orphaned lock virtual_env:dev of build:crashed", f.Log.Lines);
        InsertLock(f, "virtual_env:dev", "build:crashed", Environment.MachineName, Environment.ProcessId, expiresInSeconds: 600 - 31, updatedSecondsAgo: 31);
        Assert.Equal("succeeded", f.Build().Status);   // a plain retry works after a crash
        Assert.Empty(f.Locks().List());
    }

    [SkippableFact]
    public void On_postgres_a_dead_local_holder_whose_session_lock_is_free_is_orphaned_at_once()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        InsertLock(f, "virtual_env:dev", "build:dead", Environment.MachineName, p.Id, expiresInSeconds: 600);
        Assert.True(Assert.Single(f.Locks().List()).IsOrphaned);
        // The same dead pid named by another host proves nothing: there it is live until it missed two renewals.
        f.StateExec($"UPDATE {f.StateTable("locks")} SET owner_host = 'build-agent-7'");
        Assert.False(Assert.Single(f.Locks().List()).IsOrphaned);
        f.StateExec($"UPDATE {f.StateTable("locks")} SET owner_host = $1", Environment.MachineName);
        Assert.Equal("succeeded", f.Build().Status);
        Assert.Empty(f.Locks().List());
    }

    [SkippableFact]
    public void On_duckdb_a_live_row_without_a_session_lock_blocks_but_a_dead_local_pid_is_orphaned()
    {
        using var f = new VirtualFixture("duckdb");
        f.Init();
        InsertLock(f, "virtual_env:dev", "alive", Environment.MachineName, Environment.ProcessId, expiresInSeconds: 3600);
        Assert.False(f.Locks().List().Single().IsOrphaned);
        Assert.Equal("S014", Assert.Throws<SqbException>(() => f.Build()).Code);

        Assert.True(f.Locks().Clear(f.Locks().List().Single()).Deleted);
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        InsertLock(f, "virtual_env:dev", "dead", Environment.MachineName, p.Id, expiresInSeconds: 3600);
        Assert.True(f.Locks().List().Single().IsOrphaned);
        Assert.Equal("succeeded", f.Build().Status);
    }

    [SkippableFact]
    public void On_postgres_state_stores_in_different_schemas_lock_the_same_key_independently()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var a = new VirtualFixture("postgres");
        using var b = new VirtualFixture("postgres");
        a.Init();
        b.Init();
        using var lease = a.Locks().Acquire("virtual_env:dev", Op());
        // b's state store holds no lock on its dev: its build must not be blocked by a's.
        Assert.Equal("succeeded", b.Build().Status);
        Assert.False(a.Locks().List().Single().IsOrphaned);
    }

    /// <summary>A lock row as a holder would have written it, renewed last <paramref name="updatedSecondsAgo"/> s ago.</summary>
    internal static void InsertLock(VirtualFixture f, string key, string owner, string host, long pid, int expiresInSeconds, int updatedSecondsAgo = 0)
    {
        string At(int seconds) => f.Engine == "postgres"
            ? $"(CURRENT_TIMESTAMP AT TIME ZONE 'UTC') + INTERVAL '{seconds} seconds'"
            : $"CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP) + INTERVAL ({seconds}) SECOND";
        f.StateExec($"INSERT INTO {f.StateTable("locks")} (lock_key, owner_id, owner_host, owner_pid, operation_id, expires_at, created_at, updated_at) " +
                    $"VALUES ($1, $2, $3, $4, $2, {At(expiresInSeconds)}, {At(-updatedSecondsAgo)}, {At(-updatedSecondsAgo)})", key, owner, host, pid);
    }
}

public class JournalTests
{
    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Build_promote_and_rollback_each_write_an_operation_with_events(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var build = f.Build();
        f.AddOrderYearToFctOrders();
        var pr = f.Build(new BuildOptions { Environment = "pr_1" });
        var promote = f.Promote("pr_1", "dev");
        var rollback = f.Restore();

        var ops = f.Operations();   // newest first
        Assert.Equal(new[] { "rollback", "promote", "build", "build" }, ops.Select(o => o.Type));
        Assert.Equal(new[] { rollback.OperationId, promote.OperationId, pr.OperationId, build.OperationId }, ops.Select(o => o.Id));
        Assert.All(ops, o => Assert.Equal("succeeded", o.Status));
        Assert.All(ops, o => Assert.Equal("start", o.Events[0].Action));
        Assert.All(ops, o => Assert.Equal("finish", o.Events[^1].Action));
        Assert.All(ops, o => Assert.Contains(o.Events, e => e.Action == "step"));
        Assert.Equal(new[] { "dev", "dev", "pr_1", "dev" }, ops.Select(o => o.Environment));
        Assert.Equal("promote from pr_1 to dev", ops[1].Events[0].Message);
        Assert.Equal("promoted 6 models", ops[1].Events[^1].Message);
        Assert.StartsWith("promote:", promote.OperationId);
        Assert.StartsWith("rollback:", rollback.OperationId);
        // Ref events carry the operation that moved them.
        Assert.Equal(2, f.StateCount("virtual_environment_ref_events", "operation_id = $1", promote.OperationId));
        Assert.Equal(2, f.StateCount("virtual_environment_ref_events", "operation_id = $1", rollback.OperationId));
        Assert.Empty(f.Locks().List());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_failing_promote_is_recorded_failed_with_the_error_text(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        var ex = Assert.Throws<SqbException>(() => f.Promote("nope", "dev"));
        var op = Assert.Single(f.Operations(type: "promote"));
        Assert.Equal("failed", op.Status);
        Assert.Equal("failed", op.RecordedStatus);
        Assert.Null(op.Reason);
        Assert.Equal("fail", op.Events[^1].Action);
        Assert.Equal(ex.Message, op.Events[^1].Message);
        Assert.Equal("unknown source virtual environment 'nope'", op.Events[^1].Message);
        Assert.Single(f.Operations(status: "failed"));
        Assert.Empty(f.Locks().List());   // the target VDE lock was released
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_running_operation_without_a_live_lock_is_reported_failed_interrupted(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var now = f.Engine == "postgres" ? "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')" : "CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)";
        foreach (var id in new[] { "promote:killed", "promote:alive" })
            f.StateExec($"INSERT INTO {f.StateTable("state_operations")} (operation_id, operation_type, status, virtual_environment_name, created_at, updated_at) " +
                        $"VALUES ($1, 'promote', 'running', 'dev', {now}, {now})", id);

        using var lease = f.Locks().Acquire("virtual_env:dev", "promote:alive");
        var ops = f.Operations().ToDictionary(o => o.Id);
        Assert.Equal("failed", ops["promote:killed"].Status);
        Assert.Equal("interrupted", ops["promote:killed"].Reason);
        Assert.Equal("running", ops["promote:killed"].RecordedStatus);
        Assert.Equal("running", ops["promote:alive"].Status);
        Assert.Null(ops["promote:alive"].Reason);
        Assert.Equal(new[] { "promote:killed" }, f.Operations(status: "failed").Select(o => o.Id));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void The_journal_pages_newest_first_with_First_Since_and_several_statuses(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var dev = f.Build();
        f.AddOrderYearToFctOrders();
        var pr = f.Build(new BuildOptions { Environment = "pr_1" });
        var promote = f.Promote("pr_1", "dev");
        // An old run and a stopped one, as the journal keeps them.
        var now = f.Engine == "postgres" ? "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')" : "CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)";
        f.StateExec($"UPDATE {f.StateTable("state_operations")} SET created_at = TIMESTAMP '2001-02-03 04:05:06', updated_at = TIMESTAMP '2001-02-03 04:05:06' " +
                    "WHERE operation_id = $1", dev.OperationId);
        f.StateExec($"INSERT INTO {f.StateTable("state_operations")} (operation_id, operation_type, status, virtual_environment_name, created_at, updated_at) " +
                    $"VALUES ('build:stopped', 'build', 'cancelled', 'pr_1', {now}, {now})");
        var journal = new OperationQueries(f.Store(), f.Log);

        var all = journal.List(new OperationQuery());
        Assert.Equal(new[] { "build:stopped", promote.OperationId, pr.OperationId, dev.OperationId }, all.Select(o => o.Id));
        Assert.Equal(new[] { "build:stopped", promote.OperationId }, journal.List(new OperationQuery { First = 2 }).Select(o => o.Id));
        Assert.Empty(journal.List(new OperationQuery { First = 0 }));
        // -Since: started at or after the time given (a UTC time, or a local one converted).
        var since = journal.List(new OperationQuery { Since = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc) });
        Assert.Equal(all.Take(3).Select(o => o.Id), since.Select(o => o.Id));
        Assert.Equal(all.Take(3).Select(o => o.Id), journal.List(new OperationQuery { Since = all[2].CreatedAt }).Select(o => o.Id));
        Assert.Equal(new[] { pr.OperationId }, journal.List(new OperationQuery { Since = all[2].CreatedAt.ToLocalTime(), Type = "BUILD", Status = new[] { "Succeeded" } })
            .Select(o => o.Id));
        Assert.Equal(4, journal.List(new OperationQuery { Since = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc) }).Count);
        // Several statuses at once; each operation carries its own events, oldest first.
        Assert.Equal(new[] { "build:stopped" }, journal.List(new OperationQuery { Status = new[] { "failed", "cancelled" } }).Select(o => o.Id));
        Assert.Empty(journal.List(new OperationQuery { Status = new[] { "running" } }));
        Assert.All(all.Skip(1), o => Assert.Equal(("start", "finish"), (o.Events[0].Action, o.Events[^1].Action)));
        Assert.Empty(all[0].Events);
    }
}

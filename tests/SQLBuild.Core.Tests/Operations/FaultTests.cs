using System.Diagnostics;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Operations;

/// <summary>
/// Faults an operation meets while it runs (issue 9): its lock taken over (fencing), a stop (Ctrl+C), a reader in
/// the way of its switch. Each fault is caused for real, on the engine, and the state and views checked after it.
/// </summary>
[Collection(SQLBuild.Core.Tests.State.LockTimingCollection.Name)]   // one test shortens the lease renewal through the environment
public class FaultTests
{
    /// <summary>dev built; stg_orders changed to run about <paramref name="seconds"/> s (PostgreSQL sleeps; DuckDB counts).</summary>
    private static void DevThenSlowStgOrders(VirtualFixture f, int seconds)
    {
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        f.Edit("models/staging/stg_orders.sql", s => s.Replace("FROM ", f.Engine == "postgres"
            ? $"FROM (SELECT pg_sleep({seconds})) AS sqb_slow, "
            : $"FROM (SELECT count(*) AS n FROM range({seconds}00000000) AS t(i) WHERE i % 7 = 3) AS sqb_slow, ", StringComparison.Ordinal));
    }

    /// <summary>The build of the change only (-ChangesOnly: no refresh of the other tables), on a worker thread.</summary>
    private static Task<SqbBuildResult> BuildInBackground(VirtualFixture f, CancellationToken cancel) =>
        Task.Run(() => ProjectBuild.Build(f.Compile(), new BuildOptions { ChangesOnly = true }, f.Log, cancel));

    /// <summary>Waits until the build holds its lock (it is then building).</summary>
    private static LockRow WaitForHolder(VirtualFixture f)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (f.Locks().List().SingleOrDefault() is { } row) return row;
            Thread.Sleep(50);
        }
        throw new TimeoutException("the build never took its lock");
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_build_whose_lock_was_taken_over_meanwhile_switches_nothing_and_fails_with_lease_lost(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        DevThenSlowStgOrders(f, seconds: 3);
        var refs = f.Refs("dev");
        var views = f.ViewDefinitions("dev");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var build = BuildInBackground(f, cancel.Token);
        var holder = WaitForHolder(f);
        // A takeover as another process would do it after missed renewals: the row now names another owner.
        f.StateExec($"UPDATE {f.StateTable("locks")} SET owner_id = 'build:thief', operation_id = 'build:thief' WHERE lock_key = 'virtual_env:dev'");

        var ex = Assert.Throws<SqbException>(() => build.GetAwaiter().GetResult());
        Assert.Equal("L001.LeaseLost", ex.ErrorId);
        Assert.Contains($"lost the lock 'virtual_env:dev' while {holder.OwnerId} ran", ex.Message);
        // Nothing moved: refs and views are dev's; the thief's row is untouched; the run is journaled as failed.
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Equal(views, f.ViewDefinitions("dev"));
        Assert.Equal("build:thief", f.Locks().List().Single().OwnerId);
        var op = f.Operations(type: "build").Single(o => o.Id == holder.OwnerId);
        Assert.Equal("failed", op.Status);
        Assert.StartsWith("lost the lock", op.Events[^1].Message);
    }

    [SkippableFact]
    public void A_renewal_that_finds_its_row_taken_cancels_the_running_statement_at_once()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        Environment.SetEnvironmentVariable("SQB_LOCK_RENEW_SECONDS", "1");
        try
        {
            using var f = new VirtualFixture("postgres");
            DevThenSlowStgOrders(f, seconds: 60);
            var refs = f.Refs("dev");

            var build = BuildInBackground(f, CancellationToken.None);
            WaitForHolder(f);
            var clock = Stopwatch.StartNew();
            f.StateExec($"DELETE FROM {f.StateTable("locks")} WHERE lock_key = 'virtual_env:dev'");   // Clear-SqbLock -Force, as it were

            var ex = Assert.Throws<SqbException>(() => build.GetAwaiter().GetResult());
            Assert.Equal("L001.LeaseLost", ex.ErrorId);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the lost lease stopped the 60 s statement after {clock.Elapsed}");
            Assert.Equal(refs, f.Refs("dev"));
            Assert.Equal(0L, f.ActiveStatementsOf("sqlbuild/build:%"));
        }
        finally { Environment.SetEnvironmentVariable("SQB_LOCK_RENEW_SECONDS", null); }
    }

    /// <summary>Waits until a statement of <paramref name="app"/> has run on the server for a second (the slow one, which
    /// reads stg_orders).</summary>
    private static void WaitForSlowStatement(VirtualFixture f, string app)
    {
        var clock = Stopwatch.StartNew();
        while (f.Long($"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}' AND state = 'active' AND query_start < now() - interval '1 second'") == 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the slow statement never ran");
            Thread.Sleep(50);
        }
    }

    [SkippableFact]
    public void A_build_whose_lease_session_was_ended_switches_nothing_fails_with_lease_lost_and_deletes_its_row()
    {
        // SPEC 6: the lease is the row and the session lock; a DBA's pg_terminate_backend of the idle session that holds
        // the advisory lock ends the session lock, so the lease is lost at once (the row alone proves nothing).
        TestEngine.SkipUnlessAvailable("postgres");
        Environment.SetEnvironmentVariable("SQB_LOCK_RENEW_SECONDS", "1");
        try
        {
            using var f = new VirtualFixture("postgres");
            DevThenSlowStgOrders(f, seconds: 60);
            var refs = f.Refs("dev");
            var views = f.ViewDefinitions("dev");

            var build = BuildInBackground(f, CancellationToken.None);
            var holder = WaitForHolder(f);
            var app = $"sqlbuild/{holder.OperationId}";
            WaitForSlowStatement(f, app);
            var ended = f.Long("SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' " +
                               $"WHERE a.application_name = '{app}' AND a.state <> 'active'");
            Assert.Equal(1L, ended);

            var ex = Assert.Throws<SqbException>(() => build.GetAwaiter().GetResult());
            Assert.Equal("L001.LeaseLost", ex.ErrorId);
            Assert.Contains(f.Log.Lines, l => l.StartsWith("WARNING: lost the lock virtual_env:dev: its session ended (", StringComparison.Ordinal) &&
                                              l.Contains("57P01", StringComparison.Ordinal));
            Assert.DoesNotContain(f.Log.Lines, l => l.Contains("could not re", StringComparison.Ordinal));   // renew / release
            Assert.Equal(refs, f.Refs("dev"));
            Assert.Equal(views, f.ViewDefinitions("dev"));
            // Its own row is deleted through a fresh session; nothing of it runs on; the journal says failed, lease lost.
            Assert.Empty(f.Locks().List());
            Assert.Equal(0L, f.ActiveStatementsOf(app));
            var op = f.Operations(type: "build").Single(o => o.Id == holder.OwnerId);
            Assert.Equal("failed", op.Status);
            Assert.StartsWith("lost the lock", op.Events[^1].Message);
        }
        finally { Environment.SetEnvironmentVariable("SQB_LOCK_RENEW_SECONDS", null); }
    }

    [SkippableFact]
    public void Clearing_the_lock_of_a_live_build_makes_it_fail_with_lease_lost_not_the_broken_statement()
    {
        // Clear-SqbLock -Force ends the holder's server sessions: its statement fails with 57P01 before any renewal
        // notices; the holder reports what happened, L001 (about_SQLBuild_Locks), and journals it.
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        DevThenSlowStgOrders(f, seconds: 60);
        var refs = f.Refs("dev");

        var build = BuildInBackground(f, CancellationToken.None);
        var holder = WaitForHolder(f);
        WaitForSlowStatement(f, $"sqlbuild/{holder.OperationId}");
        var cleared = f.Locks().Clear(f.Locks().List().Single());
        Assert.True(cleared.Deleted);
        Assert.NotEmpty(cleared.EndedSessions);

        var ex = Assert.Throws<SqbException>(() => build.GetAwaiter().GetResult());
        Assert.Equal("L001.LeaseLost", ex.ErrorId);
        Assert.Contains($"lost the lock 'virtual_env:dev' while {holder.OwnerId} ran", ex.Message);
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Empty(f.Locks().List());
        // The journal's session was ended too: the end is recorded through a fresh one.
        var op = f.Operations(type: "build").Single(o => o.Id == holder.OwnerId);
        Assert.Equal("failed", op.RecordedStatus);
        Assert.StartsWith("lost the lock", op.Events[^1].Message);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_stopped_build_cancels_its_statement_switches_nothing_releases_its_lock_and_is_journaled_cancelled(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        DevThenSlowStgOrders(f, seconds: 30);
        var refs = f.Refs("dev");
        using var stop = new CancellationTokenSource();

        var build = BuildInBackground(f, stop.Token);
        var holder = WaitForHolder(f);
        Thread.Sleep(500);   // the slow statement is running
        var clock = Stopwatch.StartNew();
        stop.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => build.GetAwaiter().GetResult());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"a stop ended the 30 s build after {clock.Elapsed}");
        Assert.Empty(f.Locks().List());
        Assert.Equal(refs, f.Refs("dev"));
        var op = f.Operations(type: "build").Single(o => o.Id == holder.OwnerId);
        Assert.Equal("cancelled", op.Status);
        Assert.Equal("cancel", op.Events[^1].Action);
        if (engine == "postgres") Assert.Equal(0L, f.ActiveStatementsOf("sqlbuild/build:%"));
        // A stopped build leaves nothing half-made under a version's name, and the next build works.
        f.Edit("models/staging/stg_orders.sql", s => s.Replace(s[s.IndexOf("FROM (SELECT", StringComparison.Ordinal)..(s.IndexOf("sqb_slow, ", StringComparison.Ordinal) + "sqb_slow, ".Length)], "FROM "));
        Assert.Equal("succeeded", f.Build().Status);
    }

    [SkippableFact]
    public void A_reader_in_the_way_of_a_promote_is_named_and_nothing_switches()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        f.AddOrderYearToFctOrders();
        Assert.Equal("succeeded", f.Build(new BuildOptions { Environment = "pr_1" }).Status);
        var refs = f.Refs("dev");

        // A dashboard's open transaction has read dev.fct_orders: it holds a lock the view swap needs.
        using var reader = f.Warehouse();
        reader.Execute(new("SET", "application_name", "SET application_name = 'bi_dashboard'"));
        using var readerTx = reader.BeginTransaction();
        reader.Query(new("SELECT", "fct_orders", $"SELECT * FROM {f.View("dev", "fct_orders")}"));
        var clock = Stopwatch.StartNew();

        var ex = Assert.Throws<SqbException>(() => f.Promote("pr_1", "dev"));

        Assert.Equal("L002.SwitchBlocked", ex.ErrorId);
        Assert.Contains("bi_dashboard", ex.Message);
        Assert.Contains($"{f.Schema}", ex.Message.Length > 0 ? ex.Message + ex.InnerException : "");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the promote gave up after {clock.Elapsed}");
        readerTx.Rollback();
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Empty(f.Locks().List());
        // Once the reader is gone, a plain retry works.
        Assert.Equal("finalized", f.Promote("pr_1", "dev").Status);
    }
}

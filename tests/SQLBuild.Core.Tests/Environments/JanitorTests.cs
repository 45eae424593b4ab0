using SQLBuild.Core.Adapters;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Reconcile;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Environments;

/// <summary><c>Invoke-SqbJanitor</c> (SPEC §10) on real engines: what it keeps, what it drops, and in which order.</summary>
public class JanitorTests
{
    private const string DimFile = "models/marts/dim_customers.sql";

    /// <summary>Changes dim_customers (a leaf) so that it gets a new version, or back.</summary>
    private static void SetDimVersion(LifecycleFixture f, int version)
    {
        var sql = f.Project.Read(DimFile);
        var marker = "COUNT(o.order_id) AS order_count";
        var start = sql.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        var end = sql.IndexOf('\n', start);
        f.Project.Write(DimFile, sql[..start] + (version == 1 ? "," : $", -- v{version}") + sql[end..]);
    }

    private static int PhysicalCount(LifecycleFixture f) => f.Relations(f.PhysicalSchema).Count;

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Janitor_keeps_referenced_versions_and_drops_unreferenced_ones_before_their_state_rows(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.Adopt();                                       // checkpoint 1: dim v1
        var dimV1 = f.PhysicalName("dim_customers");
        SetDimVersion(f, 2);
        Assert.Equal("finalized", f.Build().EnvironmentStatus);   // checkpoint 2: dim v2
        var dimV2 = f.PhysicalName("dim_customers");
        SetDimVersion(f, 3);
        Assert.Equal("finalized", f.Build("pr_1").EnvironmentStatus);   // pr_1: dim v3, everything else shared
        var dimV3 = f.PhysicalName("dim_customers");
        Assert.Equal(11, PhysicalCount(f));
        var devRows = f.AllRows();

        // Nothing is unreferenced yet: dim v1 is in dev's first checkpoint.
        Assert.Empty(f.Janitor());
        Assert.Equal(11, PhysicalCount(f));

        // One checkpoint per VDE: dev's first goes, and with it the only reference to dim v1.
        var items = f.Janitor(maxCheckpoints: 1);
        Assert.Equal(new[] { "Checkpoint", "PhysicalRelation" }, items.Select(i => i.Kind).OrderBy(k => k));
        Assert.All(items, i => Assert.Equal("removed", i.Result));
        var dropped = items.Single(i => i.Kind == "PhysicalRelation");
        Assert.Equal($"{f.PhysicalSchema}.{dimV1}", dropped.Name);
        Assert.Equal("dim_customers", dropped.NodeName);
        Assert.Equal("no environment or retained checkpoint references it", dropped.Reason);
        Assert.Equal("beyond max_checkpoints (1)", items.Single(i => i.Kind == "Checkpoint").Reason);
        Assert.Equal(10, PhysicalCount(f));
        Assert.Null(f.Find(f.PhysicalSchema, dimV1));
        Assert.NotNull(f.Find(f.PhysicalSchema, dimV2));
        Assert.NotNull(f.Find(f.PhysicalSchema, dimV3));
        Assert.Equal(10, f.Count("physical_relations"));
        Assert.Equal(7, f.Count("model_versions"));
        Assert.Equal(2, f.Count("virtual_environment_checkpoints"));
        Assert.Equal(devRows, f.AllRows());
        var op = new OperationQueries(f.Store(), NullLog.Instance).List(type: "janitor").First();   // newest first
        Assert.Equal("succeeded", op.Status);
        Assert.Equal("removed 2 item(s)", op.Events[^1].Message);

        // Retention 0: pr_1 expires (never dev, the target's own VDE): its views, its schema, its own version.
        var expired = f.Janitor(retentionDays: 0, maxCheckpoints: 1);
        Assert.Contains(expired, i => i.Kind == "Environment" && i.Name == "pr_1" && i.Result == "removed");
        Assert.Equal(9, expired.Count(i => i.Kind == "LogicalView"));
        Assert.Contains(expired, i => i.Kind == "Checkpoint" && i.Environment == "pr_1" && i.Reason == "its environment expired");
        Assert.Equal($"{f.PhysicalSchema}.{dimV3}", expired.Single(i => i.Kind == "PhysicalRelation").Name);
        Assert.DoesNotContain(expired, i => i.Environment == "dev");
        Assert.Equal(9, PhysicalCount(f));
        Assert.Null(f.EnvironmentStatus("pr_1"));
        Assert.Empty(f.Refs("pr_1"));
        Assert.Empty(f.Relations(f.Schema + "__pr_1"));
        Assert.Equal("finalized", f.EnvironmentStatus("dev"));
        Assert.Equal(devRows, f.AllRows());
        Assert.Empty(f.Janitor(retentionDays: 0, maxCheckpoints: 1));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Janitor_prunes_checkpoints_beyond_max_checkpoints_newest_first(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.SetJanitor(maxCheckpoints: 2, retentionDays: 30);
        f.Adopt();
        foreach (var v in new[] { 2, 1, 2 })
        {
            SetDimVersion(f, v);
            Assert.Equal("finalized", f.Build().EnvironmentStatus);
        }
        var all = new Inspection(f.Store(), NullLog.Instance).Checkpoints("dev", null, false);
        Assert.Equal(4, all.Count);
        var physical = PhysicalCount(f);

        var items = f.Janitor();

        Assert.Equal(all.Skip(2).Select(c => c.Id).OrderBy(x => x), items.Where(i => i.Kind == "Checkpoint").Select(i => i.Name).OrderBy(x => x));
        Assert.Equal(all.Take(2).Select(c => c.Id), new Inspection(f.Store(), NullLog.Instance).Checkpoints("dev", null, false).Select(c => c.Id));
        // Both dim versions are still in a retained checkpoint: no physical relation goes.
        Assert.DoesNotContain(items, i => i.Kind == "PhysicalRelation");
        Assert.Equal(physical, PhysicalCount(f));
        Assert.Equal(2, f.Count("virtual_environment_checkpoints"));
        Assert.Equal(18, f.Count("virtual_environment_checkpoint_refs"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Janitor_removes_older_backups_expired_locks_and_expired_detached_environments_and_previews_without_change(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.Adopt();
        f.Detach();
        var plainRows = f.AllRows();
        var store = f.Store();
        // Three real backups (Update-SqbState), oldest first.
        var lifecycle = new StateLifecycle(store, NullLog.Instance);
        var backups = Enumerable.Range(0, 3).Select(_ => lifecycle.Migrate().Schema).ToList();
        Assert.Equal(backups.OrderByDescending(b => b, StringComparer.Ordinal), lifecycle.Backups().Select(b => b.Schema));
        using (var s = f.Session())
            s.Execute(new SqlStatement("TEST", "locks",
                $"INSERT INTO {f.Q(f.StateSchema, "locks")} (lock_key, owner_id, owner_host, owner_pid, operation_id, expires_at, created_at, updated_at) " +
                "VALUES ('virtual_env:old', 'promote:gone', 'elsewhere', 1, 'promote:gone', " +
                "TIMESTAMP '2000-01-01 00:10:00', TIMESTAMP '2000-01-01 00:00:00', TIMESTAMP '2000-01-01 00:00:00')"));
        var snapshot = f.Snapshot();

        var plan = new Janitor(f.Store(), NullLog.Instance).Plan(new JanitorOptions());
        Assert.Equal(snapshot, f.Snapshot());   // -WhatIf: a plan changes nothing
        Assert.All(plan, i => Assert.Equal("planned", i.Result));

        var items = f.Janitor();

        Assert.Equal(plan.Select(i => (i.Kind, i.Name)), items.Select(i => (i.Kind, i.Name)));
        Assert.Equal(backups.Take(2).OrderBy(x => x), items.Where(i => i.Kind == "StateBackup").Select(i => i.Name).OrderBy(x => x));
        Assert.Equal("virtual_env:old", items.Single(i => i.Kind == "Lock").Name);
        // A detached environment stays until its retention runs out (30 days by default).
        Assert.DoesNotContain(items, i => i.Kind == "Environment");
        Assert.All(items, i => Assert.Equal("removed", i.Result));
        var left = new StateLifecycle(f.Store(), NullLog.Instance).Backups();
        Assert.Equal(new[] { backups[2] }, left.Select(b => b.Schema));
        Assert.Empty(left[0].MissingTables);
        Assert.Empty(new LockManager(f.Store(), NullLog.Instance).List());

        // Retention 0: the detached dev goes from state; its plain relations are the user's and stay.
        var gone = f.Janitor(retentionDays: 0);
        Assert.Contains(gone, i => i.Kind == "Environment" && i.Name == "dev" && i.Reason.StartsWith("detached", StringComparison.Ordinal));
        Assert.DoesNotContain(gone, i => i.Kind == "LogicalView");
        // Detach moved (or copied and dropped) every physical table and dropped the views: only state rows are left.
        var versions = gone.Where(i => i.Kind == "PhysicalRelation").ToList();
        Assert.Equal(9, versions.Count);
        Assert.All(versions, i => Assert.EndsWith("(already gone from the warehouse: state rows only)", i.Reason));
        Assert.Equal(0, f.Count("physical_relations"));
        Assert.Equal(0, f.Count("model_versions"));
        Assert.Equal(0, f.Count("seed_versions"));
        Assert.Null(f.EnvironmentStatus("dev"));
        Assert.Empty(f.Refs("dev"));
        Assert.Equal(0, f.Count("virtual_environment_checkpoints"));
        Assert.Equal(plainRows, f.AllRows());
        Assert.All(LifecycleFixture.AllNodes, n => Assert.NotNull(f.Find(f.Schema, n)));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Janitor_refuses_while_an_environment_is_locked(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.Adopt();
        SetDimVersion(f, 2);
        f.Build();
        using var lease = new LockManager(f.Store(), NullLog.Instance).Acquire(LockManager.EnvironmentKey("dev"), "build:held-by-test");
        var snapshot = f.Snapshot();

        var ex = Assert.Throws<SqbException>(() => f.Janitor(maxCheckpoints: 1));

        Assert.Equal("S014", ex.Code);
        Assert.StartsWith("virtual environment 'dev' is locked by build:held-by-test", ex.Message);
        Assert.EndsWith("janitor refuses while a virtual environment is locked", ex.Message);
        Assert.Equal(SqbErrorKind.ResourceBusy, ex.Kind);
        // Refused by the lock exclusion, before its journal row: nothing at all changed (SPEC §9).
        Assert.Empty(new OperationQueries(f.Store(), NullLog.Instance).List(type: "janitor"));
        Assert.Equal(snapshot, f.Snapshot());
    }

    [SkippableFact]
    public void Janitor_drop_that_fails_keeps_its_state_row_and_is_retried_next_run()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new LifecycleFixture("postgres").Prepare();
        f.Adopt();
        var dimV1 = f.PhysicalName("dim_customers");
        SetDimVersion(f, 2);
        f.Build();
        // Someone's table refers to the old version by a foreign key: PostgreSQL refuses to drop it (no CASCADE).
        f.Execute($"ALTER TABLE {f.Q(f.PhysicalSchema, dimV1)} ADD PRIMARY KEY (customer_id)");
        f.Execute($"CREATE TABLE {f.Q(f.Schema, "audit_copy")} (customer_id bigint REFERENCES {f.Q(f.PhysicalSchema, dimV1)} (customer_id))");

        var first = f.Janitor(maxCheckpoints: 1);

        var failed = first.Single(i => i.Kind == "PhysicalRelation");
        Assert.Equal("failed", failed.Result);
        Assert.Contains("dim_customers", failed.Message);
        Assert.NotNull(f.Find(f.PhysicalSchema, dimV1));
        Assert.Equal(1, f.Count("physical_relations", $"relation_name = '{dimV1}'"));
        Assert.Equal("removed", first.Single(i => i.Kind == "Checkpoint").Result);

        f.Execute($"DROP TABLE {f.Q(f.Schema, "audit_copy")}");
        var second = f.Janitor(maxCheckpoints: 1);

        Assert.Equal("removed", second.Single(i => i.Kind == "PhysicalRelation" && i.Name.EndsWith(dimV1, StringComparison.Ordinal)).Result);
        Assert.Null(f.Find(f.PhysicalSchema, dimV1));
        Assert.Equal(0, f.Count("physical_relations", $"relation_name = '{dimV1}'"));
    }

    // ------------------------------------------------------------------ what a reader or an unfinished operation needs (issue 9, case 1)

    /// <summary>A user's view in a schema of its own: the cleanup drops it with the project's schemas.</summary>
    private static string UserSchema(LifecycleFixture f) => f.Schema + "__bi_reports_of_a_user";

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Janitor_keeps_an_unreferenced_version_while_any_view_reads_it_views_on_views_included(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.Adopt();                                       // checkpoint 1: every v1
        var rawV1 = f.PhysicalName("raw_customers");
        var stgV1 = f.PhysicalName("stg_customers");
        var dimV1 = f.PhysicalName("dim_customers");
        // A changed seed: raw_customers, stg_customers (a view on it) and what reads them get new versions.
        f.Project.Write("seeds/raw_customers.csv", f.Project.Read("seeds/raw_customers.csv").Replace("Ada", "ADA"));
        Assert.Equal("finalized", f.Build().EnvironmentStatus);   // checkpoint 2
        Assert.NotEqual(rawV1, f.PhysicalName("raw_customers"));
        // A user's report reads the old stg_customers version, a physical view that reads the old raw_customers table.
        f.Execute($"CREATE SCHEMA {f.QI(UserSchema(f))}");
        f.Execute($"CREATE VIEW {f.Q(UserSchema(f), "old_customers")} AS SELECT * FROM {f.Q(f.PhysicalSchema, stgV1)}");
        var report = f.Rows(UserSchema(f), "old_customers");

        var items = f.Janitor(maxCheckpoints: 1);

        // dim_customers v1 goes; what the report reads, directly or through a view, stays with its state rows.
        var removed = items.Where(i => i.Kind == "PhysicalRelation").Select(i => i.Name).ToList();
        Assert.Contains($"{f.PhysicalSchema}.{dimV1}", removed);
        Assert.DoesNotContain($"{f.PhysicalSchema}.{stgV1}", removed);
        Assert.DoesNotContain($"{f.PhysicalSchema}.{rawV1}", removed);
        Assert.All(items, i => Assert.Equal("removed", i.Result));
        Assert.Null(f.Find(f.PhysicalSchema, dimV1));
        Assert.NotNull(f.Find(f.PhysicalSchema, stgV1));
        Assert.NotNull(f.Find(f.PhysicalSchema, rawV1));
        Assert.Equal(1, f.Count("physical_relations", $"relation_name = '{rawV1}'"));
        Assert.Equal(report, f.Rows(UserSchema(f), "old_customers"));

        // Once nothing reads them, the next run removes them.
        f.Execute($"DROP VIEW {f.Q(UserSchema(f), "old_customers")}");
        var later = f.Janitor(maxCheckpoints: 1).Where(i => i.Kind == "PhysicalRelation").Select(i => i.Name).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(new[] { $"{f.PhysicalSchema}.{rawV1}", $"{f.PhysicalSchema}.{stgV1}" }.OrderBy(n => n, StringComparer.Ordinal), later);
        Assert.Null(f.Find(f.PhysicalSchema, rawV1));
        Assert.Equal(0, f.Count("physical_relations", $"relation_name = '{rawV1}'"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Janitor_refuses_while_an_adopt_is_unfinished_and_without_the_journal_still_keeps_what_the_views_read(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        var before = f.AllRows();
        // An adopt that stops halfway: raw_orders and the nodes before fct_orders are moved (tracked, no ref yet).
        var conflict = f.BlockAdoptAt("fct_orders");
        Assert.Equal("C281", Assert.Throws<SqbException>(() => f.Adopt()).Code);
        var adopt = f.LatestOperation("adopt");
        var moved = f.PhysicalName("raw_orders");
        Assert.NotNull(f.Find(f.PhysicalSchema, moved));
        Assert.Equal(0, f.Count("virtual_environment_node_refs"));
        var snapshot = f.Snapshot();

        // The plan (-WhatIf) and the run refuse alike, listing the operation, writing nothing.
        foreach (var attempt in new Func<object>[] { () => new Janitor(f.Store(), NullLog.Instance).Plan(new JanitorOptions()), () => f.Janitor() })
        {
            var ex = Assert.Throws<SqbException>(attempt);
            Assert.Equal("J001.UnfinishedOperations", ex.ErrorId);
            Assert.Equal($"janitor refuses while an adopt, detach, promote or rollback is unfinished: {adopt.Id} (dev, failed)", ex.Message);
            Assert.Equal("Finish them first (ConvertTo-SqbVirtualEnvironment), then run Invoke-SqbJanitor again. " +
                         "Get-SqbReconcile explains what each one left.", ex.RecommendedAction);
            Assert.Equal(SqbErrorKind.InvalidOperation, ex.Kind);
            Assert.Equal(new[] { adopt.Id }, Assert.IsAssignableFrom<IEnumerable<SqbOperation>>(ex.Target).Select(o => o.Id));
        }
        Assert.Empty(f.Operations("janitor"));
        Assert.Equal(snapshot, f.Snapshot());

        // Even with the journal gone (an older state restored, say), the views at the original names keep what they read.
        f.Execute($"DELETE FROM {f.Q(f.StateSchema, "state_operation_events")}");
        f.Execute($"DELETE FROM {f.Q(f.StateSchema, "state_operations")}");
        var items = f.Janitor();
        Assert.DoesNotContain(items, i => i.Kind == "PhysicalRelation");
        Assert.NotNull(f.Find(f.PhysicalSchema, moved));
        Assert.Equal(before, f.AllRows());

        // The documented recovery: clear the conflict, adopt again; then the janitor works and every row is still there.
        f.Execute($"DROP TABLE {f.Q(f.PhysicalSchema, conflict)}");
        Assert.Equal("finalized", f.Adopt().Status);
        Assert.DoesNotContain(f.Janitor(), i => i.Kind == "PhysicalRelation");
        Assert.Equal(before, f.AllRows());
        Assert.Equal(9, f.Count("physical_relations"));
    }

    // ------------------------------------------------------------------ bounded history

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Janitor_prunes_history_older_than_history_days_but_never_the_rows_of_a_running_operation(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.Adopt();
        new Reconciler(f.Store(), NullLog.Instance).Report();
        var adopt = f.LatestOperation("adopt");
        // 100 days later: a build, and the history of back then.
        const string old = "TIMESTAMP '2000-01-01 00:00:00'";
        f.Execute($"UPDATE {f.Q(f.StateSchema, "state_operations")} SET created_at = {old}, updated_at = {old}");
        foreach (var table in new[] { "state_operation_events", "virtual_environment_ref_events", "reconcile_events" })
            f.Execute($"UPDATE {f.Q(f.StateSchema, table)} SET created_at = {old}");
        // A build of back then that was killed: recorded running (interrupted), with an event and a ref event of its own.
        f.Execute($"INSERT INTO {f.Q(f.StateSchema, "state_operations")} (operation_id, operation_type, status, virtual_environment_name, created_at, updated_at) " +
                  $"VALUES ('build:killed', 'build', 'running', 'dev', {old}, {old})");
        f.Execute($"INSERT INTO {f.Q(f.StateSchema, "state_operation_events")} (event_id, operation_id, action, status, message, created_at) " +
                  $"VALUES ('e-killed', 'build:killed', 'start', 'running', 'build dev', {old})");
        f.Execute($"INSERT INTO {f.Q(f.StateSchema, "virtual_environment_ref_events")} (event_id, virtual_environment_name, node_type, node_name, " +
                  $"previous_version_hash, new_version_hash, operation_id, created_at) VALUES ('r-killed', 'dev', 'model', 'fct_orders', NULL, 'x', 'build:killed', {old})");
        SetDimVersion(f, 2);
        var build = f.Build();
        var adoptEvents = f.Count("state_operation_events", "operation_id = $1", adopt.Id);
        var adoptRefEvents = f.Count("virtual_environment_ref_events", "operation_id = $1", adopt.Id);
        var recentRefEvents = f.Count("virtual_environment_ref_events", "operation_id = $1", build.OperationId);
        Assert.True(adoptEvents > 2 && adoptRefEvents == 9 && recentRefEvents == 1, $"{adoptEvents} {adoptRefEvents} {recentRefEvents}");
        var snapshot = f.Snapshot();

        var plan = new Janitor(f.Store(), NullLog.Instance).Plan(new JanitorOptions());
        Assert.Equal(snapshot, f.Snapshot());
        Assert.Equal(new[]
        {
            ("state_operations", "1 finished operation(s) older than 90 day(s) (history_days)"),
            ("state_operation_events", $"{adoptEvents} event(s) of those operations"),
            ("virtual_environment_ref_events", "9 row(s) older than 90 day(s) (history_days)"),
            ("reconcile_events", "1 row(s) older than 90 day(s) (history_days)"),
        }, plan.Select(i => (i.Name, i.Reason)));
        Assert.All(plan, i => Assert.Equal(("History", "planned"), (i.Kind, i.Result)));

        var items = f.Janitor();

        Assert.Equal(plan.Select(i => (i.Name, i.Reason)), items.Select(i => (i.Name, i.Reason)));
        Assert.All(items, i => Assert.Equal("removed", i.Result));
        Assert.Empty(new OperationQueries(f.Store(), NullLog.Instance).List(id: adopt.Id));
        Assert.Equal(0, f.Count("state_operation_events", "operation_id = $1", adopt.Id));
        Assert.Equal(0, f.Count("virtual_environment_ref_events", "operation_id = $1", adopt.Id));
        Assert.Equal(0, f.Count("reconcile_events"));
        // The killed build's rows stay (it is still reported interrupted), and so does everything recent.
        Assert.Equal("interrupted", f.Operation("build:killed").Reason);
        Assert.Equal(1, f.Count("state_operation_events", "operation_id = 'build:killed'"));
        Assert.Equal(1, f.Count("virtual_environment_ref_events", "operation_id = 'build:killed'"));
        Assert.Equal("succeeded", f.Operation(build.OperationId!).Status);
        Assert.Equal(recentRefEvents, f.Count("virtual_environment_ref_events", "operation_id = $1", build.OperationId));
        // Nothing is older than 90 days any more; with history_days 1 nothing recent goes either.
        Assert.Empty(f.Janitor(historyDays: 1));
        Assert.Equal("P002", Assert.Throws<SqbException>(() => f.Janitor(historyDays: 0)).Code);
    }

    /// <summary>Stops the run (Ctrl+C, as the cmdlet's StopToken does) once it logs a line starting with <paramref name="prefix"/>.</summary>
    private sealed class StopAt(string prefix, CancellationTokenSource stop) : ISqbLog
    {
        public void Verbose(string message)
        {
            if (message.StartsWith(prefix, StringComparison.Ordinal)) stop.Cancel();
        }
        public void Warning(string message) { }
        public void Progress(string activity, string status, int done, int total) { }
        public void Section(string name) { }
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_stopped_adopt_is_unfinished_like_a_failed_one_while_a_stopped_build_or_promote_is_not(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        var before = f.AllRows();
        using var stop = new CancellationTokenSource();
        var log = new StopAt("adopt: ", stop);
        // Ctrl+C after the first relation moved: that one stays adopted (its own transaction), the next step never starts.
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new Adoption(f.Store(), log) { Cancellation = stop.Token }.Adopt(new AdoptOptions { AllowCopy = f.AllowCopy, Confirmation = "adopt dev" }));
        var adopt = f.LatestOperation("adopt");
        Assert.Equal(("cancelled", "cancel"), (adopt.Status, adopt.Events[^1].Action));
        Assert.Equal(1, f.Count("physical_relations"));
        Assert.Equal(before, f.AllRows());
        var journal = new OperationQueries(f.Store(), NullLog.Instance);
        Assert.Equal(new[] { adopt.Id }, journal.List(status: "cancelled").Select(o => o.Id));
        Assert.Empty(journal.List(status: "failed"));

        // Reconcile and the janitor read it the same way: partial work, to be finished by adopting again.
        var finding = Assert.Single(new Reconciler(f.Store(), NullLog.Instance).Report(), x => x.Kind == SqbFindingKind.FailedOperation);
        Assert.Equal((adopt.Id, $"cancelled operation: {adopt.Id} (adopt was stopped; nothing was switched after the stop)", "ConvertTo-SqbVirtualEnvironment"),
            (finding.Name, finding.Message, finding.Recovery));
        var refused = Assert.Throws<SqbException>(() => f.Janitor());
        Assert.Equal($"janitor refuses while an adopt, detach, promote or rollback is unfinished: {adopt.Id} (dev, cancelled)", refused.Message);

        Assert.Equal("finalized", f.Adopt().Status);
        Assert.Empty(new Reconciler(f.Store(), NullLog.Instance).Report());
        Assert.Equal(before, f.AllRows());

        // A stopped build or promote switched nothing (one transaction, never committed after a stop): nothing to finish.
        foreach (var type in new[] { "build", "promote", "rollback" })
        {
            var id = Ids.NewOperationId(type);
            f.Execute($"INSERT INTO {f.Q(f.StateSchema, "state_operations")} (operation_id, operation_type, status, virtual_environment_name, created_at, updated_at) " +
                      $"VALUES ('{id}', '{type}', 'cancelled', 'dev', TIMESTAMP '2030-01-01 00:00:00', TIMESTAMP '2030-01-01 00:00:00')");
        }
        Assert.Equal(3, journal.List(status: "cancelled").Count(o => o.Type != "adopt"));
        Assert.Empty(new Reconciler(f.Store(), NullLog.Instance).Report());
        Assert.DoesNotContain(f.Janitor(), i => i.Kind == "PhysicalRelation");
        Assert.Equal(before, f.AllRows());
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
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
        var op = new OperationQueries(f.Store(), NullLog.Instance).List(type: "janitor").Last();
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
        // Someone's view reads the old version: PostgreSQL refuses to drop it (no CASCADE).
        f.Execute($"CREATE VIEW {f.Q(f.Schema, "audit_copy")} AS SELECT * FROM {f.Q(f.PhysicalSchema, dimV1)}");

        var first = f.Janitor(maxCheckpoints: 1);

        var failed = first.Single(i => i.Kind == "PhysicalRelation");
        Assert.Equal("failed", failed.Result);
        Assert.Contains("dim_customers", failed.Message);
        Assert.NotNull(f.Find(f.PhysicalSchema, dimV1));
        Assert.Equal(1, f.Count("physical_relations", $"relation_name = '{dimV1}'"));
        Assert.Equal("removed", first.Single(i => i.Kind == "Checkpoint").Result);

        f.Execute($"DROP VIEW {f.Q(f.Schema, "audit_copy")}");
        var second = f.Janitor(maxCheckpoints: 1);

        Assert.Equal("removed", second.Single(i => i.Kind == "PhysicalRelation" && i.Name.EndsWith(dimV1, StringComparison.Ordinal)).Result);
        Assert.Null(f.Find(f.PhysicalSchema, dimV1));
        Assert.Equal(0, f.Count("physical_relations", $"relation_name = '{dimV1}'"));
    }
}

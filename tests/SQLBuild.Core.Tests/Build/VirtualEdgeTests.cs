using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>Less travelled paths of virtual builds and switches, on real engines.</summary>
public class VirtualEdgeTests
{
    private static SqbNodeResult Node(SqbBuildResult r, string name) => r.Nodes.Single(n => n.Name == name);

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_failing_data_test_keeps_the_refs_of_what_it_read_and_of_their_descendants(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        var refs = f.Refs("dev");
        // Audits pass (amount >= 0), but the amounts no longer match the payments: the data test fails.
        f.Edit("models/marts/fct_orders.sql", s => s.Replace("COALESCE(SUM(p.amount), 0) AS amount", "COALESCE(SUM(p.amount), 0) + 1 AS amount"));
        var r = f.Build();
        Assert.Equal("failed", r.Status);
        Assert.Equal(SqbNodeStatus.Failed, Node(r, "order_amounts_match_payments").Status);
        Assert.Equal(SqbNodeStatus.Failed, Node(r, "fct_orders").Status);
        Assert.Equal("B003.TestFailed", Node(r, "fct_orders").ErrorCode);
        Assert.Equal(SqbNodeStatus.Failed, Node(r, "dim_customers").Status);
        Assert.Equal("data test 'order_amounts_match_payments' failed on an upstream of 'dim_customers'; the ref of 'dim_customers' was not moved",
            Node(r, "dim_customers").Error);
        Assert.Equal(SqbNodeStatus.Succeeded, Node(r, "payments_log").Status);
        // Neither fct_orders nor dim_customers (built on the rejected fct_orders) reached readers.
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Equal(400.09m, f.Dec($"SELECT SUM(amount) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal(400.09m, f.Dec($"SELECT SUM(lifetime_value) FROM {f.View("dev", "dim_customers")}"));
        Assert.Equal(EnvironmentStatus.Active, r.EnvironmentStatus);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_model_removed_from_the_project_loses_its_ref_and_view(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Write("models/marts/order_ids.sql", "SELECT order_id FROM __ref(\"stg_orders\")\n");
        f.Build();
        var hash = f.Hash("order_ids");
        Assert.Equal(12, f.CountOf(f.View("dev", "order_ids")));
        File.Delete(Path.Combine(f.Dir, "models/marts/order_ids.sql"));

        var r = f.Build();
        Assert.Equal("succeeded", r.Status);
        Assert.Equal(EnvironmentStatus.Finalized, r.EnvironmentStatus);
        Assert.NotNull(r.CheckpointId);
        Assert.False(f.Refs("dev").ContainsKey(NodeKey.Model("order_ids")));
        Assert.Null(f.Catalog(f.Schema).Find(new RelationName(f.Schema, "order_ids")));
        // The physical version stays (the first checkpoint still references it; the janitor decides).
        Assert.NotNull(f.Catalog(f.PhysicalSchema).Find(f.Physical("order_ids", hash)));
        var ev = f.StateQuery($"SELECT previous_version_hash, new_version_hash FROM {f.StateTable("virtual_environment_ref_events")} WHERE node_name = 'order_ids' AND operation_id = $1", r.OperationId).Single();
        Assert.Equal(new object?[] { hash, null }, ev);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void ChangesOnly_builds_only_stale_models_and_their_descendants(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        f.AddOrderYearToFctOrders();
        var r = f.Build(new BuildOptions { ChangesOnly = true });
        Assert.Equal(new[] { "fct_orders", "dim_customers" }, r.Nodes.Where(n => n.NodeType != "test").Select(n => n.Name));
        Assert.Equal(EnvironmentStatus.Finalized, r.EnvironmentStatus);
        Assert.Equal(11, f.PhysicalRelations().Count);
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("dev", "fct_orders")}"));
        Assert.Empty(f.Build(new BuildOptions { ChangesOnly = true }).Nodes);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Promote_into_a_vde_that_does_not_exist_yet_creates_it(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        f.AddOrderYearToFctOrders();
        f.Build(new BuildOptions { Environment = "pr_1" });
        var r = f.Promote("pr_1", "qa");
        Assert.Equal("finalized", r.Status);
        Assert.Equal(9, r.RefChanges);
        Assert.Equal(9, r.ViewsWritten);
        Assert.NotNull(r.CheckpointId);
        Assert.Equal(f.Refs("pr_1"), f.Refs("qa"));
        Assert.Equal("pr_1", f.EnvironmentRow("qa")!.Baseline);
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("qa", "fct_orders")}"));
        Assert.Equal(11, f.PhysicalRelations().Count);
    }

    [SkippableFact]
    public void On_postgres_a_view_swap_that_fails_halfway_leaves_refs_views_and_checkpoints_as_before()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new VirtualFixture("postgres");
        f.Init();
        f.Build();
        var first = f.Checkpoints("dev").Single().Id;
        f.AddOrderYearToFctOrders();
        f.Build(new BuildOptions { Environment = "pr_1" });
        f.Promote("pr_1", "dev");
        var refs = f.Refs("dev");
        var events = f.StateCount("virtual_environment_ref_events");
        // A reader's own view on dev.fct_orders: restoring the version without order_year must drop and
        // recreate dev.fct_orders, which PostgreSQL refuses (no CASCADE) after dim_customers' view was replaced.
        f.Exec($"CREATE VIEW {VirtualFixture.Q(f.Schema, "report")} AS SELECT order_year FROM {f.View("dev", "fct_orders")}");

        var ex = Assert.Throws<SqbException>(() => f.Restore(new RestoreOptions { CheckpointId = first }));
        Assert.Contains("fct_orders", ex.Message);
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Equal(events, f.StateCount("virtual_environment_ref_events"));
        Assert.Equal(2, f.Checkpoints("dev").Count);
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders"));
        f.AssertViewReads("dev", "dim_customers", f.Physical("dim_customers"));
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {VirtualFixture.Q(f.Schema, "report")}"));
        Assert.Equal("failed", f.Operations(type: "rollback").Single().Status);
        Assert.Empty(f.Locks().List());
        f.Exec($"DROP VIEW {VirtualFixture.Q(f.Schema, "report")}");
    }
}

using System.Diagnostics;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Environments;

/// <summary>Every planner, lock and detached guard (UPSTREAM-NOTES §5.3) triggered for real, with its exact message.</summary>
public class GuardTests
{
    private static SqbException Fails(string code, Action action)
    {
        var ex = Assert.Throws<SqbException>(action);
        Assert.True(ex.Code == code, $"expected {code}, got {ex.Code}: {ex.Message}");
        return ex;
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void S010_stale_required_upstream_of_a_selection_and_IncludeStaleUpstreams(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        f.Edit("models/staging/stg_orders.sql", s => s.Replace("  status\n", "  UPPER(status) AS status_upper,\n  status\n"));
        var refs = f.Refs("dev");

        var ex = Fails("S010", () => f.Build(new BuildOptions { Select = new[] { "fct_orders" } }));
        Assert.Equal("selected virtual scope is missing stale required upstream models: stg_orders", ex.Message);
        Assert.Equal("Re-run with -IncludeStaleUpstreams to add the minimal required upstream closure.", ex.RecommendedAction);
        Assert.Equal("S010", Fails("S010", () => f.Plan(new BuildOptions { Select = new[] { "fct_orders" } })).Code);
        Assert.Equal(refs, f.Refs("dev"));
        // Refused by the read-only analysis, before any lock or journal row: a selection error is not a failed operation.
        Assert.Single(f.Operations(type: "build"));
        Assert.Equal("succeeded", f.Operations(type: "build").First().Status);

        var r = f.Build(new BuildOptions { Select = new[] { "fct_orders" }, IncludeStaleUpstreams = true });
        Assert.Equal("succeeded", r.Status);
        Assert.Equal(new[] { "stg_orders", "fct_orders" }, r.Nodes.Where(n => n.NodeType == "model").Select(n => n.Name));
        Assert.Equal(f.Hash("stg_orders"), f.Refs("dev")[NodeKey.Model("stg_orders")]);
        Assert.Equal(f.Hash("fct_orders"), f.Refs("dev")[NodeKey.Model("fct_orders")]);
        // dim_customers was not selected: still stale, so the VDE is working and no checkpoint is written.
        Assert.Equal(EnvironmentStatus.Active, r.EnvironmentStatus);
        Assert.Null(r.CheckpointId);
        Assert.Equal(1, f.Long($"SELECT COUNT(*) FROM {f.View("dev", "stg_orders")} WHERE status_upper = 'SHIPPED' AND order_id = 103"));
        // Building the rest finalizes dev again.
        var rest = f.Build();
        Assert.Equal(EnvironmentStatus.Finalized, rest.EnvironmentStatus);
        Assert.NotNull(rest.CheckpointId);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void S011_S018_S015_S016_S017_promotion_guards(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();

        Assert.Equal("unknown source virtual environment 'nope'", Fails("S011", () => f.Promote("nope", "dev")).Message);

        // pr_1 working: an audit fails on its new fct_orders.
        f.Edit("models/marts/fct_orders.sql", s => s.Replace("COALESCE(SUM(p.amount), 0) AS amount", "-1 AS amount"));
        var working = f.Build(new BuildOptions { Environment = "pr_1" });
        Assert.Equal(EnvironmentStatus.Active, working.EnvironmentStatus);
        var s018 = Fails("S018", () => f.Promote("pr_1", "dev"));
        Assert.Equal("whole-VDE promotion requires a finalized source virtual environment", s018.Message);
        Assert.Equal("Use -Select for a coherent partial promotion from a working source VDE.", s018.RecommendedAction);

        // pr_2: stg_orders and fct_orders changed, both built.
        f.Write("models/marts/fct_orders.sql", f.Read("models/marts/fct_orders.sql").Replace("-1 AS amount", "COALESCE(SUM(p.amount), 0) AS amount"));
        f.Edit("models/staging/stg_orders.sql", s => s.Replace("  status\n", "  UPPER(status) AS status_upper,\n  status\n"));
        f.AddOrderYearToFctOrders();
        Assert.Equal("succeeded", f.Build(new BuildOptions { Environment = "pr_2" }).Status);
        // A model pr_2 has no ref for.
        f.Write("models/marts/order_ids.sql", "SELECT order_id FROM __ref(\"stg_orders\")\n");
        var s015 = Fails("S015", () => f.Promote("pr_2", "dev", o => new PromoteOptions { From = o.From, To = o.To, Select = new[] { "order_ids" } }));
        Assert.Equal("source virtual environment is missing selected refs: order_ids", s015.Message);
        File.Delete(Path.Combine(f.Dir, "models/marts/order_ids.sql"));

        var s016 = Fails("S016", () => f.Promote("pr_2", "dev", o => new PromoteOptions { From = o.From, To = o.To, Select = new[] { "fct_orders" } }));
        Assert.Equal("selected promotion scope is missing stale required upstream models: stg_orders", s016.Message);
        Assert.Equal("Re-run with -IncludeStaleUpstreams to add required upstream refs.", s016.RecommendedAction);
        var s017 = Fails("S017", () => f.Promote("pr_2", "dev", o => new PromoteOptions
            { From = o.From, To = o.To, Select = new[] { "fct_orders" }, IncludeStaleUpstreams = true }));
        Assert.Equal("promotion would leave target virtual environment working; remaining stale models: dim_customers", s017.Message);
        Assert.Equal("Re-run with -AllowPartialPromotion to accept a working target VDE.", s017.RecommendedAction);
        var oldDim = f.Refs("dev")[NodeKey.Model("dim_customers")];
        Assert.Equal(5, f.Operations(type: "promote", status: "failed").Count);
        Assert.Single(f.Checkpoints("dev"));

        var partial = f.Promote("pr_2", "dev", o => new PromoteOptions
            { From = o.From, To = o.To, Select = new[] { "fct_orders" }, IncludeStaleUpstreams = true, AllowPartialPromotion = true });
        Assert.Equal("working", partial.Status);
        Assert.Equal(new[] { "fct_orders", "stg_orders" }, partial.PromotedModels);
        Assert.Equal(new[] { "dim_customers" }, partial.RemainingStale);
        Assert.Null(partial.CheckpointId);
        Assert.Equal(EnvironmentStatus.Active, f.EnvironmentRow("dev")!.Status);
        Assert.Single(f.Checkpoints("dev"));
        Assert.Equal(oldDim, f.Refs("dev")[NodeKey.Model("dim_customers")]);
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal("working", f.Inspect().Environments("dev").Single().Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void S014_a_held_environment_lock_fails_build_and_promote_at_once_naming_the_holder(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        f.AddOrderYearToFctOrders();
        f.Build(new BuildOptions { Environment = "pr_1" });
        var refs = f.Refs("dev");

        using (f.Locks().Acquire("virtual_env:dev", "holder:abc123"))
        {
            var clock = Stopwatch.StartNew();
            var build = Fails("S014", () => f.Build());
            var promote = Fails("S014", () => f.Promote("pr_1", "dev"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"locked operations must fail at once, took {clock.Elapsed}");
            foreach (var ex in new[] { build, promote })
            {
                Assert.StartsWith("virtual environment 'dev' is locked by holder:abc123 (host ", ex.Message);
                Assert.Contains($"pid {Environment.ProcessId}", ex.Message);
                Assert.Equal(SqbErrorKind.ResourceBusy, ex.Kind);
                Assert.Equal("virtual_env:dev", ex.Target);
                Assert.Equal("S014.EnvironmentLocked", ex.ErrorId);
            }
            // S019 for rollback.
            var rollback = Fails("S019", () => f.Restore());
            Assert.StartsWith("virtual environment 'dev' is locked by holder:abc123", rollback.Message);
            // Another VDE is not blocked.
            Assert.Equal("succeeded", f.Build(new BuildOptions { Environment = "pr_1" }).Status);
        }
        Assert.Equal(refs, f.Refs("dev"));
        // A run refused by the lock writes no journal row (the lock is taken before the journal row), so a
        // FailedOperation finding always means a run that started and did not finish (SPEC 9).
        Assert.Empty(f.Operations(type: "promote"));
        Assert.Empty(f.Operations(type: "rollback"));
        Assert.Empty(f.Operations(type: "build", status: "failed"));
        Assert.Empty(f.Locks().List());
        Assert.Equal("finalized", f.Promote("pr_1", "dev").Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void S020_S021_S025_S026_rollback_guards(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        Assert.Equal("unknown virtual environment 'nope'", Fails("S020", () => f.Restore(new RestoreOptions { Environment = "nope" })).Message);
        var s021 = Fails("S021", () => f.Restore());
        Assert.Equal("no previous finalized checkpoint is available for rollback", s021.Message);
        Assert.Equal("unknown checkpoint 'chk_bogus'", Fails("S026", () => f.Restore(new RestoreOptions { CheckpointId = "chk_bogus" })).Message);

        // A checkpoint of another VDE is not one of dev's.
        f.AddOrderYearToFctOrders();
        var pr1 = f.Build(new BuildOptions { Environment = "pr_1" });
        Assert.Equal($"unknown checkpoint '{pr1.CheckpointId}'",
            Fails("S026", () => f.Restore(new RestoreOptions { CheckpointId = pr1.CheckpointId })).Message);

        // A model the first checkpoint does not have.
        var first = f.Checkpoints("dev").Single().Id;
        f.Write("models/marts/order_ids.sql", "SELECT order_id FROM __ref(\"stg_orders\")\n");
        f.Build(new BuildOptions { Environment = "pr_1" });
        f.Promote("pr_1", "dev");
        var s025 = Fails("S025", () => f.Restore(new RestoreOptions { CheckpointId = first, Select = new[] { "order_ids" } }));
        Assert.Equal("checkpoint is missing selected refs: order_ids", s025.Message);

        // S023: the model a checkpoint binds is no longer in the project.
        var withOrderIds = f.Checkpoints("dev")[0].Id;
        File.Delete(Path.Combine(f.Dir, "models/marts/order_ids.sql"));
        f.Build();
        var s023 = Fails("S023", () => f.Restore(new RestoreOptions { CheckpointId = withOrderIds }));
        Assert.Equal("checkpoint references unknown model 'order_ids'", s023.Message);
        Assert.False(f.Refs("dev").ContainsKey(NodeKey.Model("order_ids")));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void S028_a_detached_vde_blocks_build_promote_from_and_to_and_rollback(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        f.AddOrderYearToFctOrders();
        f.Build(new BuildOptions { Environment = "pr_1" });
        f.Promote("pr_1", "dev");
        Assert.Equal(1, f.StateExec($"UPDATE {f.StateTable("virtual_environments")} SET status = 'detached' WHERE virtual_environment_name = 'dev'"));
        var refs = f.Refs("dev");

        var build = Fails("S028", () => f.Build());
        Assert.Equal("virtual environment 'dev' is detached", build.Message);
        Assert.Equal("S028", Fails("S028", () => f.Plan()).Code);
        Assert.Equal("source virtual environment 'dev' is detached", Fails("S028", () => f.Promote("dev", "pr_1")).Message);
        Assert.Equal("target virtual environment 'dev' is detached", Fails("S028", () => f.Promote("pr_1", "dev")).Message);
        Assert.Equal("virtual environment 'dev' is detached", Fails("S028", () => f.Restore()).Message);
        Assert.All(new[] { build }, e => Assert.Equal(SqbErrorKind.InvalidOperation, e.Kind));
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Equal("detached", f.EnvironmentRow("dev")!.Status);
        Assert.Equal("detached", f.Inspect().Environments("dev").Single().Status);
        Assert.Empty(f.Locks().List());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Mode_guards_block_virtual_flags_in_direct_mode_and_direct_flags_in_virtual_mode(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        // Virtual mode: -DeferTo (C242), -NoTests/-NoAudits are refused before anything is touched.
        var c242 = Fails("C242", () => f.Build(new BuildOptions { DeferTo = "prod" }));
        Assert.Equal("build does not support -DeferTo when virtual_environments = true", c242.Message);
        Assert.Equal("plan does not support -DeferTo when virtual_environments = true", Fails("C242", () => f.Plan(new BuildOptions { DeferTo = "prod" })).Message);
        Assert.Contains("virtual_environments = true", Fails("C264", () => f.Build(new BuildOptions { NoTests = true })).Message);
        Assert.Contains("virtual_environments = true", Fails("C264", () => f.Build(new BuildOptions { NoAudits = true })).Message);
        var fullRefresh = Fails("C264", () => f.Build(new BuildOptions { FullRefresh = true }));
        Assert.Equal("build does not support -FullRefresh when virtual_environments = true", fullRefresh.Message);
        Assert.Equal("FullRefresh", fullRefresh.Target);
        using (var s = f.StateSession()) Assert.False(f.Store().IsInitialized(s));

        // Direct mode: virtual flags (C263) and every state command.
        f.Edit("sqlbuild_project.toml", s => s.Replace("virtual_environments = true", "virtual_environments = false"));
        Assert.Equal("build does not support -Environment unless virtual_environments = true",
            Fails("C263", () => f.Build(new BuildOptions { Environment = "pr_1" })).Message);
        Assert.Equal("build does not support -ChangesOnly unless virtual_environments = true",
            Fails("C263", () => f.Build(new BuildOptions { ChangesOnly = true })).Message);
        Assert.Equal("plan does not support -IncludeStaleUpstreams unless virtual_environments = true",
            Fails("C263", () => f.Plan(new BuildOptions { IncludeStaleUpstreams = true })).Message);
        var e001 = Fails("E001", () => f.Store());
        Assert.Equal("State commands require virtual_environments = true", e001.Message);
        Assert.Equal(SqbErrorKind.InvalidOperation, e001.Kind);
        Assert.Equal("E001", Fails("E001", () => f.Init()).Code);
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Environments;

/// <summary>Promote, checkpoint restore and environment diffs (SPEC §4.3) on real engines.</summary>
public class PromoteRestoreTests
{
    /// <summary>dev built; fct_orders changed (a new column) and built into pr_1.</summary>
    private static (string OldFct, string OldDim) DevAndChangedPr1(VirtualFixture f)
    {
        f.Init();
        Assert.Equal("succeeded", f.Build().Status);
        var old = (f.Hash("fct_orders"), f.Hash("dim_customers"));
        f.AddOrderYearToFctOrders();
        Assert.Equal("succeeded", f.Build(new BuildOptions { Environment = "pr_1" }).Status);
        return old;
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Promote_is_a_view_swap_with_a_new_checkpoint_and_compare_shows_column_changes(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        var (oldFct, oldDim) = DevAndChangedPr1(f);
        var physical = f.PhysicalRelations().Select(p => p.Name).ToList();
        Assert.Equal(11, physical.Count);

        var before = f.Inspect().CompareEnvironments("dev", "pr_1");
        Assert.Equal(new[] { "dim_customers", "fct_orders" }, before.Select(d => d.Name));
        Assert.All(before, d => Assert.Equal("changed", d.Change));
        var fct = before.Single(d => d.Name == "fct_orders");
        Assert.Equal(oldFct, fct.ReferenceVersion);
        Assert.Equal(f.Hash("fct_orders"), fct.DifferenceVersion);
        var added = Assert.Single(fct.ColumnChanges);
        Assert.Equal("+order_year " + (engine == "postgres" ? "integer" : "INTEGER"), added);
        Assert.Empty(before.Single(d => d.Name == "dim_customers").ColumnChanges);

        var r = f.Promote("pr_1", "dev");
        Assert.Equal("finalized", r.Status);
        Assert.Equal(VirtualFixture.Models.OrderBy(m => m, StringComparer.Ordinal), r.PromotedModels);
        Assert.Empty(r.RemainingStale);
        Assert.Equal(2, r.RefChanges);
        Assert.Equal(2, r.ViewsWritten);

        // Nothing was rebuilt: the same physical relations; dev's views now read pr_1's versions.
        Assert.Equal(physical, f.PhysicalRelations().Select(p => p.Name));
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders"));
        f.AssertViewReads("dev", "dim_customers", f.Physical("dim_customers"));
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal(400.09m, f.Dec($"SELECT SUM(amount) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal(f.Refs("pr_1"), f.Refs("dev"));
        var env = f.EnvironmentRow("dev")!;
        Assert.Equal(EnvironmentStatus.Finalized, env.Status);
        Assert.Equal("pr_1", env.Baseline);

        var checkpoints = f.Checkpoints("dev");
        Assert.Equal(2, checkpoints.Count);
        Assert.Equal(r.CheckpointId, checkpoints[0].Id);
        Assert.Equal(f.Hash("fct_orders"), f.Inspect().Checkpoints(null, r.CheckpointId, false).Single().Refs!.Single(x => x.Name == "fct_orders").VersionHash);
        Assert.Empty(f.Inspect().CompareEnvironments("dev", "pr_1"));
        // The checkpoint diff shows what moved since the first checkpoint.
        var sinceFirst = f.Inspect().CompareCheckpoint(checkpoints[1].Id);
        Assert.Equal(new[] { "dim_customers", "fct_orders" }, sinceFirst.Select(d => d.Name));
        Assert.Equal(oldDim, sinceFirst.Single(d => d.Name == "dim_customers").ReferenceVersion);

        // A second promote of the same refs changes nothing and writes no checkpoint.
        var again = f.Promote("pr_1", "dev");
        Assert.Equal(0, again.RefChanges);
        Assert.Null(again.CheckpointId);
        Assert.Equal(2, f.Checkpoints("dev").Count);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_goes_back_to_the_newest_differing_checkpoint_then_forward_by_id(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        var (oldFct, oldDim) = DevAndChangedPr1(f);
        var first = f.Checkpoints("dev").Single().Id;
        var promoted = f.Promote("pr_1", "dev").CheckpointId!;

        var r = f.Restore();
        Assert.Equal("dev", r.Environment);
        Assert.Equal(first, r.CheckpointId);
        Assert.Equal("finalized", r.Status);
        Assert.Equal(2, r.RefChanges);
        Assert.Equal(oldFct, f.Refs("dev")[NodeKey.Model("fct_orders")]);
        Assert.Equal(oldDim, f.Refs("dev")[NodeKey.Model("dim_customers")]);
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders", oldFct));
        Assert.DoesNotContain(f.Catalog(f.Schema).ColumnsOf(new RelationName(f.Schema, "fct_orders")), c => c.Name == "order_year");
        Assert.Equal(400.09m, f.Dec($"SELECT SUM(amount) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal(8, f.CountOf(f.View("dev", "dim_customers")));
        Assert.Equal(2, f.Checkpoints("dev").Count);   // a restore writes no checkpoint
        Assert.Equal(EnvironmentStatus.Finalized, f.EnvironmentRow("dev")!.Status);

        // The newest checkpoint that differs is now the promoted one: the default goes forward again.
        var forward = f.Restore(new RestoreOptions { CheckpointId = promoted });
        Assert.Equal(promoted, forward.CheckpointId);
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal(f.Refs("pr_1"), f.Refs("dev"));
        var back = f.Restore(new RestoreOptions { Environment = "dev", CheckpointId = first });
        Assert.Equal(first, back.CheckpointId);
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders", oldFct));
        Assert.Equal(new[] { "rollback", "rollback", "rollback" }, f.Operations(type: "rollback").Select(o => o.Type));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Partial_restore_needs_its_upstreams_and_accepts_a_working_vde_only_when_asked(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        var (oldFct, oldDim) = DevAndChangedPr1(f);
        var first = f.Checkpoints("dev").Single().Id;
        f.Promote("pr_1", "dev");
        var newFct = f.Hash("fct_orders");
        var newDim = f.Hash("dim_customers");

        // dim_customers alone: its upstream fct_orders would stay on the newer version.
        var s028 = Assert.Throws<SqbException>(() => f.Restore(new RestoreOptions { Select = new[] { "dim_customers" } }));
        Assert.Equal("S028", s028.Code);
        Assert.Equal("selected rollback scope is missing stale required upstream models: fct_orders", s028.Message);
        // fct_orders alone: dim_customers would be left on the newer version.
        var s027 = Assert.Throws<SqbException>(() => f.Restore(new RestoreOptions { Select = new[] { "fct_orders" } }));
        Assert.Equal("S027", s027.Code);
        Assert.Equal("rollback would leave target virtual environment working; remaining stale models: dim_customers", s027.Message);
        Assert.Equal(newFct, f.Refs("dev")[NodeKey.Model("fct_orders")]);   // refused before any change

        var partial = f.Restore(new RestoreOptions { Select = new[] { "fct_orders" }, AllowPartialRollback = true });
        Assert.Equal("working", partial.Status);
        Assert.Equal(new[] { "fct_orders" }, partial.RestoredModels);
        Assert.Equal(EnvironmentStatus.Active, f.EnvironmentRow("dev")!.Status);
        Assert.Equal(oldFct, f.Refs("dev")[NodeKey.Model("fct_orders")]);
        Assert.Equal(newDim, f.Refs("dev")[NodeKey.Model("dim_customers")]);
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders", oldFct));
        f.AssertViewReads("dev", "dim_customers", f.Physical("dim_customers", newDim));
        Assert.Equal(2, f.Checkpoints("dev").Count);

        // With its upstream included, dim_customers comes back too and the VDE is finalized again.
        var whole = f.Restore(new RestoreOptions { CheckpointId = first, Select = new[] { "dim_customers" }, IncludeStaleUpstreams = true });
        Assert.Equal("finalized", whole.Status);
        Assert.Equal(oldDim, f.Refs("dev")[NodeKey.Model("dim_customers")]);
        Assert.Equal(EnvironmentStatus.Finalized, f.EnvironmentRow("dev")!.Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Promote_refuses_before_any_change_when_a_physical_relation_is_missing_and_works_after_rebuilding_the_source(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        var (oldFct, _) = DevAndChangedPr1(f);
        var devRefs = f.Refs("dev");
        var devCheckpoints = f.Checkpoints("dev").Select(c => c.Id).ToList();
        var events = f.StateCount("virtual_environment_ref_events");

        // Damage: pr_1's new fct_orders version disappears from the warehouse (its view first: no CASCADE).
        f.Exec($"DROP VIEW {f.View("pr_1", "fct_orders")}");
        f.Exec($"DROP TABLE {VirtualFixture.Q(f.Physical("fct_orders"))}");

        var ex = Assert.Throws<SqbException>(() => f.Promote("pr_1", "dev"));
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal("missing physical relation for 'fct_orders'", ex.Message);
        Assert.Equal(f.Physical("fct_orders").ToString(), ex.Target);
        Assert.Equal("Rebuild the source VDE first: Invoke-SqbBuild -Environment pr_1 -Select fct_orders", ex.RecommendedAction);

        // Nothing changed: refs, views, checkpoints, ref events; the operation is recorded failed.
        Assert.Equal(devRefs, f.Refs("dev"));
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders", oldFct));
        Assert.DoesNotContain(f.Catalog(f.Schema).ColumnsOf(new RelationName(f.Schema, "fct_orders")), c => c.Name == "order_year");
        Assert.Equal(400.09m, f.Dec($"SELECT SUM(amount) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal(devCheckpoints, f.Checkpoints("dev").Select(c => c.Id));
        Assert.Equal(events, f.StateCount("virtual_environment_ref_events"));
        var op = Assert.Single(f.Operations(type: "promote"));
        Assert.Equal("failed", op.Status);
        Assert.Equal(ex.Message, op.Events[^1].Message);
        Assert.Empty(f.Locks().List());

        // Recovery (the page: "Rebuild the source VDE first"), then promote succeeds.
        var plan = f.Plan(new BuildOptions { Environment = "pr_1", Select = new[] { "fct_orders" } }).Steps.Single();
        Assert.Equal("build", plan.Action);
        Assert.Equal("physical relation missing", plan.Reason);
        var rebuild = f.Build(new BuildOptions { Environment = "pr_1", Select = new[] { "fct_orders" } });
        Assert.Equal("succeeded", rebuild.Status);
        Assert.Equal("build", rebuild.Nodes.Single(n => n.Name == "fct_orders").Action);
        f.AssertViewReads("pr_1", "fct_orders", f.Physical("fct_orders"));
        var promoted = f.Promote("pr_1", "dev");
        Assert.Equal("finalized", promoted.Status);
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("dev", "fct_orders")}"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Restore_blocks_on_an_untracked_or_missing_checkpoint_relation(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        var (oldFct, _) = DevAndChangedPr1(f);
        f.Promote("pr_1", "dev");
        var refs = f.Refs("dev");

        // S022: the old version's physical_relations row is gone.
        var row = f.StateQuery($"SELECT artifact_type, artifact_name, version_hash, database_name, schema_name, relation_name, relation_type FROM {f.StateTable("physical_relations")} WHERE version_hash = $1", oldFct).Single();
        Assert.Equal(1, f.StateExec($"DELETE FROM {f.StateTable("physical_relations")} WHERE version_hash = $1", oldFct));
        var s022 = Assert.Throws<SqbException>(() => f.Restore());
        Assert.Equal("S022", s022.Code);
        Assert.Equal("checkpoint references missing physical relation for model 'fct_orders'", s022.Message);
        Assert.Equal(refs, f.Refs("dev"));
        f.StateExec($"INSERT INTO {f.StateTable("physical_relations")} (artifact_type, artifact_name, version_hash, database_name, schema_name, relation_name, relation_type) " +
                    "VALUES ($1, $2, $3, $4, $5, $6, $7)", row);

        // S024: the old version's table is gone from the warehouse.
        f.Exec($"DROP TABLE {VirtualFixture.Q(f.Physical("fct_orders", oldFct))}");
        var s024 = Assert.Throws<SqbException>(() => f.Restore());
        Assert.Equal("S024", s024.Code);
        Assert.Equal("checkpoint references missing warehouse relation for model 'fct_orders'", s024.Message);
        Assert.Equal(SqbErrorKind.ObjectNotFound, s024.Kind);
        Assert.Contains("Invoke-SqbBuild", s024.RecommendedAction);
        Assert.Equal(refs, f.Refs("dev"));
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders"));
        Assert.Equal(2, f.Operations(type: "rollback", status: "failed").Count);
    }
}

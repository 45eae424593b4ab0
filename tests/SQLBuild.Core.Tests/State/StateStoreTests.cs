using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.State;

/// <summary>State-store initialization (SPEC §5) and a state store in its own database, on real engines.</summary>
public class StateStoreTests
{
    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Initialize_is_idempotent_and_restores_a_dropped_column_and_table(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        var info = f.Init();
        Assert.Equal(15, info.Tables);
        Assert.Equal(1, info.SchemaVersion);
        Assert.Equal(f.StateSchema, info.Schema);
        Assert.True(info.SharesWarehouse);
        var tables = f.Catalog(f.StateSchema).Relations.Select(r => r.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(StateSchema.Tables.Select(t => t.Name).OrderBy(n => n, StringComparer.Ordinal), tables);
        f.Build();
        var refs = f.Refs("dev");

        f.Init();   // again: nothing lost
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Equal(1, f.StateCount("state_versions"));
        Assert.Equal(2, f.StateCount("state_migration_events", "action = 'init' AND status = 'success'"));

        // Damage: a column and a table disappear; initialize adds them back and keeps every row.
        f.StateExec($"ALTER TABLE {f.StateTable("state_versions")} DROP COLUMN sqlbuild_version");
        f.StateExec($"DROP TABLE {f.StateTable("reconcile_events")}");
        using (var s = f.StateSession()) Assert.False(f.Store().IsInitialized(s));
        Assert.Equal("E002", Assert.Throws<SqbException>(() => f.Build()).Code);

        f.Init();
        var catalog = f.Catalog(f.StateSchema);
        Assert.Contains(catalog.ColumnsOf(new RelationName(f.StateSchema, "state_versions")), c => c.Name == "sqlbuild_version");
        Assert.NotNull(catalog.Find(new RelationName(f.StateSchema, "reconcile_events")));
        var version = f.StateQuery($"SELECT schema_version, sqlbuild_version FROM {f.StateTable("state_versions")}").Single();
        Assert.Equal(1L, Convert.ToInt64(version[0]));
        Assert.False(string.IsNullOrEmpty(version[1] as string));
        Assert.Equal(3, f.StateCount("state_migration_events", "action = 'init'"));
        Assert.Equal(refs, f.Refs("dev"));
        Assert.Single(f.Checkpoints("dev"));
        Assert.Equal("succeeded", f.Build().Status);
        Assert.Empty(f.Locks().List());   // the state_migration lock of the re-inits was released
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_build_before_initialize_fails_naming_the_fix(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        var ex = Assert.Throws<SqbException>(() => f.Build());
        Assert.Equal("E002", ex.Code);
        Assert.Equal($"state store '{f.StateSchema}' of target 'dev' is not initialized", ex.Message);
        Assert.Equal("Run Initialize-SqbState.", ex.RecommendedAction);
        Assert.Equal(ex.Message, Assert.Throws<SqbException>(() => f.Promote("pr_1", "dev")).Message);
        Assert.Equal(ex.Message, Assert.Throws<SqbException>(() => f.Restore()).Message);
        Assert.Equal(ex.Message, Assert.Throws<SqbException>(() => f.Plan()).Message);
        Assert.Equal("E002", Assert.Throws<SqbException>(() => f.Operations()).Code);
        Assert.Empty(f.Catalog(f.Schema, f.PhysicalSchema).Relations);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_separate_duckdb_state_store_holds_the_state_while_build_promote_and_restore_work(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine, separateState: true);
        var info = f.Init();
        Assert.False(info.SharesWarehouse);
        Assert.Equal("duckdb", info.Backend);

        var dev = f.Build();
        Assert.Equal("succeeded", dev.Status);
        Assert.Equal(EnvironmentStatus.Finalized, dev.EnvironmentStatus);
        f.AddOrderYearToFctOrders();
        Assert.Equal("succeeded", f.Build(new BuildOptions { Environment = "pr_1" }).Status);
        var promoted = f.Promote("pr_1", "dev");
        Assert.Equal("finalized", promoted.Status);
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("dev", "fct_orders")}"));
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders"));
        Assert.Equal(2, f.Checkpoints("dev").Count);
        Assert.Equal(11, f.StateCount("physical_relations"));
        var diff = f.Inspect().CompareEnvironments("dev", "pr_1");
        Assert.Empty(diff);

        var restored = f.Restore();
        Assert.Equal(dev.CheckpointId, restored.CheckpointId);
        Assert.DoesNotContain(f.Catalog(f.Schema).ColumnsOf(new RelationName(f.Schema, "fct_orders")), c => c.Name == "order_year");

        // The state tables live in the other database; the warehouse has none.
        Assert.Empty(f.Catalog(f.StateSchema).Relations);
        using (var s = f.StateSession())
        {
            var stateCatalog = s.ReadCatalog(new[] { f.StateSchema });
            Assert.Equal(StateSchema.Tables.Count, stateCatalog.Relations.Count);
            Assert.Empty(s.ReadCatalog(new[] { f.Schema, f.PhysicalSchema }).Relations);
        }
        Assert.True(File.Exists(Path.Combine(f.Dir, "state.duckdb")));
        Assert.Equal(new[] { "rollback", "promote", "build", "build" }, f.Operations().Select(o => o.Type));   // newest first
        Assert.All(f.Operations(), o => Assert.Equal("succeeded", o.Status));
        Assert.Empty(f.Locks().List());
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Environments;

/// <summary>Adopt and detach (SPEC §8, recovery page "Detached VDE guards", "Adopt guards", "Detach guards") on real engines.</summary>
public class AdoptDetachTests
{
    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Adopt_then_detach_round_trip_keeps_every_row_and_blocks_virtual_operations(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        var before = f.AllRows();
        var ids = f.Identities();

        var adopted = f.Adopt();

        Assert.Equal("finalized", adopted.Status);
        Assert.Equal(6, adopted.ModelCount);
        Assert.Equal(3, adopted.SeedCount);
        Assert.Empty(adopted.NotAdopted);
        Assert.Equal("Adopted 6 models into virtual environment dev.", adopted.Message);
        Assert.Equal(engine == "duckdb" ? "copy" : "move", adopted.Relations.Single(r => r.Name == "fct_orders").Action);
        Assert.Equal("view", adopted.Relations.Single(r => r.Name == "stg_orders").Action);
        // Views at the original names, versioned physical relations under the REAL version hash.
        foreach (var n in LifecycleFixture.AllNodes)
        {
            Assert.Equal(RelationKind.View, f.Find(f.Schema, n)!.Kind);
            var phys = f.Find(f.PhysicalSchema, $"{n}__v_{ids[n].VersionHash[..8]}");
            Assert.NotNull(phys);
            Assert.Equal(LifecycleFixture.Views.Contains(n) ? RelationKind.View : RelationKind.Table, phys!.Kind);
        }
        Assert.Equal(9, f.Relations(f.PhysicalSchema).Count);
        Assert.Equal(before, f.AllRows());
        Assert.Equal("finalized", f.EnvironmentStatus());
        var refs = f.Refs();
        Assert.Equal(9, refs.Count);
        Assert.All(refs, r => Assert.Equal(ids[r.Key.NodeName].VersionHash, r.Value));
        Assert.Equal(6, f.Count("model_versions"));
        Assert.Equal(3, f.Count("seed_versions"));
        Assert.Equal(9, f.Count("physical_relations"));
        Assert.Equal(3, f.Count("physical_relations", "relation_type = 'view'"));
        Assert.Equal(1, f.Count("virtual_environment_checkpoints"));
        var op = f.LatestOperation("adopt");
        Assert.Equal(9, f.Count("virtual_environment_ref_events", $"operation_id = '{op.Id}'"));
        Assert.Equal("succeeded", op.Status);
        Assert.Equal("adopt", op.Type);
        Assert.Equal("starting adopt", op.Events[0].Message);
        Assert.Equal("adopted 6 models", op.Events[^1].Message);
        Assert.Equal(9, op.Events.Count(e => e.Action == "step" && (e.Message ?? "").StartsWith("adopt:", StringComparison.Ordinal) &&
                                             !e.Message!.StartsWith("adopt:finalize", StringComparison.Ordinal)));

        // The real version hash: a build right after adoption builds nothing (a default build refreshes the tables
        // in their adopted versions; the views and seeds are unchanged).
        var rebuild = f.Build();
        Assert.Equal("succeeded", rebuild.Status);
        Assert.All(rebuild.Nodes.Where(n => n.NodeType != "test"), n => Assert.Contains(n.Action, new[] { "unchanged", "refresh" }));
        Assert.Equal(new[] { "dim_customers", "fct_orders", "payments_log" }, rebuild.Nodes.Where(n => n.Action == "refresh").Select(n => n.Name).Order());
        Assert.Equal(9, f.Relations(f.PhysicalSchema).Count);

        var detached = f.Detach();

        Assert.Equal("detached", detached.Status);
        Assert.Equal("Detached 6 models from virtual environment dev.", detached.Message);
        foreach (var n in LifecycleFixture.AllNodes)
            Assert.Equal(LifecycleFixture.Views.Contains(n) ? RelationKind.View : RelationKind.Table, f.Find(f.Schema, n)!.Kind);
        Assert.Equal(before, f.AllRows());
        Assert.Equal("detached", f.EnvironmentStatus());
        Assert.Equal(refs, f.Refs());   // refs kept
        // Plain views read plain relations, never the physical schema.
        Assert.All(LifecycleFixture.Views, v => Assert.DoesNotContain("__sqb_physical", f.Find(f.Schema, v)!.ViewDefinition!));
        // Unshared physical tables were moved back natively on PostgreSQL; copied then dropped on DuckDB.
        // and the physical views of its view models are dropped: nothing is left in the physical schema.
        Assert.Empty(f.Relations(f.PhysicalSchema));
        var dop = f.LatestOperation("detach");
        Assert.Equal("succeeded", dop.Status);
        Assert.Equal("starting detach", dop.Events[0].Message);
        Assert.Equal("detached 6 models", dop.Events[^1].Message);

        // A retried detach that had already finished says so (S028), not "requires a finalized virtual environment".
        var snapshotAfter = f.Snapshot();
        var retried = Assert.Throws<SqbException>(() => f.Detach());
        Assert.Equal(("S028", "virtual environment 'dev' is already detached"), (retried.Code, retried.Message));
        Assert.StartsWith("Nothing to do", retried.RecommendedAction);
        Assert.Equal(snapshotAfter, f.Snapshot());

        // Detached VDE guards (recovery page): build, promote from, promote to, rollback.
        AssertDetached(() => f.Build(), "virtual environment 'dev' is detached");
        AssertDetached(() => new Promotion(f.Store(), NullLog.Instance).Promote(new PromoteOptions { From = "dev", To = "qa" }),
            "source virtual environment 'dev' is detached");
        // pr_1 starts from dev's (detached) refs; their relations are plain again, so it builds every version anew.
        Assert.Equal("finalized", f.Build("pr_1").EnvironmentStatus);
        AssertDetached(() => new Promotion(f.Store(), NullLog.Instance).Promote(new PromoteOptions { From = "pr_1", To = "dev" }),
            "target virtual environment 'dev' is detached");
        AssertDetached(() => new CheckpointRestore(f.Store(), NullLog.Instance).Restore(new RestoreOptions()),
            "virtual environment 'dev' is detached");
        Assert.Equal(before, f.AllRows());
    }

    private static void AssertDetached(Action action, string message)
    {
        var ex = Assert.Throws<SqbException>(action);
        Assert.Equal("S028", ex.Code);
        Assert.Equal(message, ex.Message);
        Assert.Contains("is detached", ex.Message);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Adopt_without_unsuffixed_virtual_env_blocks_with_config_guidance_and_changes_nothing(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare(unsuffixed: false);
        var snapshot = f.Snapshot();

        var ex = Assert.Throws<SqbException>(() => f.Adopt());

        Assert.Equal("C256", ex.Code);
        Assert.Equal("state adopt requires [targets.dev.state] unsuffixed_virtual_env = 'dev'", ex.Message);
        Assert.Contains("unsuffixed_virtual_env = \"dev\"", ex.RecommendedAction);
        Assert.Equal(snapshot, f.Snapshot());
        var dex = Assert.Throws<SqbException>(() => f.Detach());
        Assert.Equal("state detach requires [targets.dev.state] unsuffixed_virtual_env = 'dev'", dex.Message);
        Assert.Equal(snapshot, f.Snapshot());
    }

    [Fact]
    public void Adopt_on_duckdb_without_AllowCopy_is_refused_and_changes_nothing()
    {
        using var f = new LifecycleFixture("duckdb").Prepare();
        var snapshot = f.Snapshot();

        var ex = Assert.Throws<SqbException>(() => f.Adopt(allowCopy: false));

        Assert.Equal("C284", ex.Code);
        Assert.Contains("requires -AllowCopy", ex.Message);
        Assert.StartsWith("state adopt requires -AllowCopy: duckdb cannot move a table to another schema", ex.Message);
        Assert.Contains("6 table(s) would be copied (", ex.Message);
        Assert.All(LifecycleFixture.Seeds.Concat(LifecycleFixture.Tables), n => Assert.Contains(n, ex.Message));
        Assert.DoesNotContain("stg_orders", ex.Message);
        Assert.Equal(snapshot, f.Snapshot());
    }

    [SkippableTheory]
    [InlineData("duckdb", "adopt prod")]
    [InlineData("duckdb", "Adopt dev")]
    [InlineData("duckdb", "")]
    [InlineData("duckdb", null)]
    [InlineData("postgres", "adopt dev ")]
    [InlineData("postgres", "yes")]
    public void Adopt_with_a_wrong_typed_confirmation_is_cancelled_with_no_change(string engine, string? confirmation)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        var snapshot = f.Snapshot();

        var ex = Assert.Throws<SqbException>(() => f.Adopt(confirmation: confirmation));

        Assert.Equal("C258", ex.Code);
        Assert.Equal("state adopt cancelled", ex.Message);
        Assert.Equal(snapshot, f.Snapshot());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Detach_requires_a_finalized_environment(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        var snapshot = f.Snapshot();
        // No environment yet.
        var none = Assert.Throws<SqbException>(() => f.Detach());
        Assert.Equal("C261", none.Code);
        Assert.Equal("state detach requires a finalized virtual environment", none.Message);
        Assert.Equal(snapshot, f.Snapshot());

        // A working environment: adopt with one table missing leaves it working.
        f.Execute($"DROP TABLE {f.Q(f.Schema, "payments_log")}");
        var adopted = f.Adopt();
        Assert.Equal("working", adopted.Status);
        Assert.Equal(new[] { "payments_log" }, adopted.NotAdopted);
        Assert.Equal("active", f.EnvironmentStatus());
        snapshot = f.Snapshot();
        var working = Assert.Throws<SqbException>(() => f.Detach());
        Assert.Equal("C261", working.Code);
        Assert.Equal("state detach requires a finalized virtual environment", working.Message);
        Assert.Equal(snapshot, f.Snapshot());
        // Nor is a live VDE adopted again (its missing model is for a build now).
        var again = Assert.Throws<SqbException>(() => f.Adopt());
        Assert.Equal("C280", again.Code);
        Assert.Equal("virtual environment 'dev' is already virtual; adopt converts the relations of a direct-mode build", again.Message);
        Assert.Equal(snapshot, f.Snapshot());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Detach_with_a_wrong_typed_confirmation_is_cancelled_with_no_change(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.Adopt();
        var snapshot = f.Snapshot();

        foreach (var wrong in new[] { "detach prod", "adopt dev", "", null })
        {
            var ex = Assert.Throws<SqbException>(() => f.Detach(confirmation: wrong));
            Assert.Equal("C258", ex.Code);
            Assert.Equal("state detach cancelled", ex.Message);
        }
        Assert.Equal(snapshot, f.Snapshot());
        Assert.Equal("finalized", f.EnvironmentStatus());
    }

    [Fact]
    public void Detach_on_duckdb_without_AllowCopy_is_refused_and_changes_nothing()
    {
        using var f = new LifecycleFixture("duckdb").Prepare();
        f.Adopt();
        var snapshot = f.Snapshot();

        var ex = Assert.Throws<SqbException>(() => f.Detach(allowCopy: false));

        Assert.Equal("C284", ex.Code);
        Assert.Contains("requires -AllowCopy", ex.Message);
        Assert.Equal(snapshot, f.Snapshot());
    }

    [SkippableFact]
    public void Detach_copies_and_keeps_a_physical_version_another_environment_shares()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new LifecycleFixture("postgres").Prepare();
        f.Adopt();
        Assert.Equal("finalized", f.Build("pr_1").EnvironmentStatus);   // pr_1 shares every version with dev
        var snapshot = f.Snapshot();

        var ex = Assert.Throws<SqbException>(() => f.Detach(allowCopy: false));
        Assert.Equal("C284", ex.Code);
        Assert.Contains("requires -AllowCopy", ex.Message);
        Assert.Contains("other environments, checkpoints or views use these physical versions", ex.Message);
        Assert.Equal(snapshot, f.Snapshot());

        var detached = f.Detach(allowCopy: true);
        Assert.All(detached.Relations.Where(r => r.NodeType == "seed" || r.Materialized != "view"), r => Assert.Equal("copy", r.Action));
        // pr_1 still reads its physical versions; dev holds plain copies.
        Assert.Equal(6, f.Relations(f.PhysicalSchema).Count(r => r.Kind == RelationKind.Table));
        Assert.Equal(f.Rows(f.Schema, "fct_orders"), f.Rows(f.Schema + "__pr_1", "fct_orders"));
        Assert.Equal(RelationKind.Table, f.Find(f.Schema, "fct_orders")!.Kind);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Adopt_failing_midway_records_a_failed_operation_and_a_retry_continues_where_it_stopped(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        var before = f.AllRows();
        // A conflicting relation where fct_orders' physical version belongs: the move of fct_orders fails.
        var conflict = f.BlockAdoptAt("fct_orders");

        var ex = Assert.Throws<SqbException>(() => f.Adopt());

        Assert.Equal("C281", ex.Code);
        Assert.Equal($"physical relation '{f.PhysicalSchema}.{conflict}' already exists for 'fct_orders'; adopt will not overwrite it", ex.Message);
        var op = f.LatestOperation("adopt");
        Assert.Equal("failed", op.Status);
        Assert.Equal("failed", op.RecordedStatus);
        Assert.Equal("fail", op.Events[^1].Action);
        Assert.Equal(ex.Message, op.Events[^1].Message);
        // What ran before the conflict is adopted, fct_orders and what follows it is untouched, no VDE yet.
        Assert.Equal(RelationKind.View, f.Find(f.Schema, "raw_orders")!.Kind);
        Assert.Equal(RelationKind.View, f.Find(f.Schema, "stg_orders")!.Kind);
        Assert.Equal(RelationKind.Table, f.Find(f.Schema, "fct_orders")!.Kind);
        Assert.Equal("active", f.EnvironmentStatus());   // shown as working: reconcile can diagnose it
        Assert.Equal(0, f.Count("virtual_environment_node_refs"));
        Assert.Equal(before, f.AllRows());
        Assert.Empty(new LockManager(f.Store(), NullLog.Instance).List());   // the lock was released

        f.Execute($"DROP TABLE {f.Q(f.PhysicalSchema, conflict)}");
        var retry = f.Adopt();

        Assert.Equal("finalized", retry.Status);
        Assert.Equal("done", retry.Relations.Single(r => r.Name == "raw_orders").Action);
        Assert.Equal(engine == "duckdb" ? "copy" : "move", retry.Relations.Single(r => r.Name == "fct_orders").Action);
        Assert.All(LifecycleFixture.AllNodes, n => Assert.Equal(RelationKind.View, f.Find(f.Schema, n)!.Kind));
        Assert.Equal(before, f.AllRows());
        Assert.Equal(9, f.Count("physical_relations"));
        // The retry is a run of its own (its id is its lock owner, unique per run); the failed run stays journaled.
        var runs = f.Operations("adopt");
        Assert.Equal(new[] { "failed", "succeeded" }, runs.Select(r => r.Status).Order());
        Assert.NotEqual(runs[0].Id, runs[1].Id);
        Assert.All(runs, r => Assert.Equal(1, r.Events.Count(e => e.Action == "start")));
    }

    [SkippableFact]
    public void Detach_failing_midway_keeps_the_environment_finalized_and_a_retry_completes()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new LifecycleFixture("postgres").Prepare();
        f.Adopt();
        var before = f.AllRows();
        // A user's view on the logical view of fct_orders: PostgreSQL refuses to drop it (no CASCADE, ever).
        f.Execute($"CREATE VIEW {f.Q(f.Schema, "report")} AS SELECT COUNT(*) AS n FROM {f.Q(f.Schema, "fct_orders")}");

        var ex = Assert.Throws<SqbException>(() => f.Detach());

        Assert.Contains("fct_orders", ex.Message);
        Assert.Equal("finalized", f.EnvironmentStatus());
        Assert.Equal(9, f.Refs().Count);
        var op = f.LatestOperation("detach");
        Assert.Equal("failed", op.Status);
        Assert.Equal("fail", op.Events[^1].Action);
        // fct_orders kept its view and its physical version; earlier relations are plain already.
        Assert.Equal(RelationKind.View, f.Find(f.Schema, "fct_orders")!.Kind);
        Assert.NotNull(f.Find(f.PhysicalSchema, f.PhysicalName("fct_orders")));
        Assert.Equal(RelationKind.Table, f.Find(f.Schema, "raw_orders")!.Kind);
        Assert.Equal(before, f.AllRows());

        f.Execute($"DROP VIEW {f.Q(f.Schema, "report")}");
        var retry = f.Detach();

        Assert.Equal("detached", f.EnvironmentStatus());
        Assert.Equal("done", retry.Relations.Single(r => r.Name == "raw_orders").Action);
        Assert.Equal("move", retry.Relations.Single(r => r.Name == "fct_orders").Action);
        Assert.Equal(before, f.AllRows());
        Assert.Equal("succeeded", f.LatestOperation("detach").Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Adopt_again_after_detach_returns_to_virtual_and_plan_lists_every_move(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new LifecycleFixture(engine).Prepare();
        f.Adopt();
        f.Detach();
        var before = f.AllRows();
        var snapshot = f.Snapshot();

        var plan = new Adoption(f.Store(), NullLog.Instance).Plan(f.AllowCopy);
        Assert.Equal(snapshot, f.Snapshot());   // planning (-WhatIf) changes nothing
        Assert.Equal(9, plan.Count);
        Assert.All(plan, m => Assert.True(m.Changes, $"{m.Name}: {m.Action}"));

        var again = f.Adopt();
        Assert.Equal("finalized", again.Status);
        Assert.Equal("finalized", f.EnvironmentStatus());
        Assert.Equal(before, f.AllRows());
        Assert.Equal("succeeded", f.Build().Status);

        // A run after a completed adoption has nothing to do: no lock, no journal row, no change.
        snapshot = f.Snapshot();
        var noop = f.Adopt();
        Assert.Equal("finalized", noop.Status);
        Assert.All(noop.Relations, r => Assert.Equal("done", r.Action));
        Assert.Equal("Virtual environment dev is adopted already: nothing to do.", noop.Message);
        Assert.Equal(snapshot, f.Snapshot());
    }

    [Fact]
    public void Adopt_detach_and_janitor_work_with_a_separate_state_store()
    {
        using var f = new LifecycleFixture("duckdb").Prepare(stateDatabase: "state.duckdb");
        Assert.False(f.Store().SharesWarehouse);
        var before = f.AllRows();

        Assert.Equal("finalized", f.Adopt().Status);
        Assert.All(LifecycleFixture.AllNodes, n => Assert.Equal(RelationKind.View, f.Find(f.Schema, n)!.Kind));
        Assert.Equal(before, f.AllRows());
        var inspection = new Inspection(f.Store(), NullLog.Instance);
        var env = inspection.Environments("dev").Single();
        Assert.Equal("finalized", env.Status);
        Assert.Equal(6, env.ModelCount);
        Assert.Equal(1, env.CheckpointCount);
        Assert.Equal("refresh", f.Build().Nodes.Single(n => n.Name == "fct_orders").Action);   // no new version: refreshed in place

        Assert.Equal("detached", f.Detach().Status);
        Assert.Equal("detached", new Inspection(f.Store(), NullLog.Instance).Environments("dev").Single().Status);
        Assert.Equal(before, f.AllRows());
        Assert.Empty(f.Relations(f.PhysicalSchema));

        var items = f.Janitor(retentionDays: 0);
        Assert.Contains(items, i => i.Kind == "Environment" && i.Name == "dev" && i.Result == "removed");
        Assert.Empty(new Inspection(f.Store(), NullLog.Instance).Environments());
        Assert.Equal(before, f.AllRows());
    }

    [Fact]
    public void Adopt_detach_and_janitor_are_blocked_in_direct_mode_before_touching_anything()
    {
        using var f = new LifecycleFixture("duckdb");
        Assert.Equal("succeeded", f.Project.Build().Status);
        var snapshot = f.Snapshot();
        foreach (var action in new Action[]
                 {
                     () => new Adoption(f.Store(), NullLog.Instance),
                     () => new Detachment(f.Store(), NullLog.Instance),
                     () => new Janitor(f.Store(), NullLog.Instance),
                 })
        {
            var ex = Assert.Throws<SqbException>(action);
            Assert.Equal("E001", ex.Code);
            Assert.Equal("State commands require virtual_environments = true", ex.Message);
        }
        Assert.Equal(snapshot, f.Snapshot());
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.State;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>Virtual builds on real engines (SPEC §4.1, §4.2): physical versions, views, refs, checkpoints, reuse.</summary>
public class VirtualBuildTests
{
    private static SqbNodeResult Node(SqbBuildResult r, string name) => r.Nodes.Single(n => n.Name == name);

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void First_build_of_dev_writes_versioned_physicals_unsuffixed_views_state_rows_and_one_checkpoint(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var r = f.Build();

        Assert.Equal("succeeded", r.Status);
        Assert.Equal("virtual", r.Mode);
        Assert.Equal("dev", r.Environment);
        Assert.Equal(EnvironmentStatus.Finalized, r.EnvironmentStatus);
        Assert.All(VirtualFixture.Nodes, n => Assert.Equal("build", Node(r, n).Action));
        Assert.Equal(SqbNodeStatus.Succeeded, Node(r, "order_amounts_match_payments").Status);

        // Physical relations: exactly <schema>__sqb_physical.<node>__v_<first 8 of the version hash>, nothing else.
        var ids = f.Identities();
        var physical = f.PhysicalRelations();
        Assert.Equal(VirtualFixture.Nodes.Select(n => $"{n}__v_{ids[n].VersionHash[..8]}").OrderBy(n => n, StringComparer.Ordinal),
            physical.Select(p => p.Name));
        Assert.All(physical, p => Assert.Equal(p.Name.StartsWith("stg_", StringComparison.Ordinal) ? RelationKind.View : RelationKind.Table, p.Kind));
        Assert.All(VirtualFixture.Nodes, n => Assert.Equal(f.Physical(n).ToString(), Node(r, n).Relation));

        // Views of the unsuffixed VDE live in <schema> itself and read the physical versions.
        foreach (var n in VirtualFixture.Nodes) f.AssertViewReads("dev", n, f.Physical(n));
        Assert.Equal(VirtualFixture.Nodes.Length, f.Catalog(f.Schema).Relations.Count);
        Assert.Equal(12, f.CountOf(f.View("dev", "fct_orders")));
        Assert.Equal(8, f.CountOf(f.View("dev", "dim_customers")));
        Assert.Equal(11, f.CountOf(f.View("dev", "payments_log")));
        Assert.Equal(400.09m, f.Dec($"SELECT SUM(amount) FROM {f.View("dev", "fct_orders")}"));

        // State: VDE row, refs, versions, physical relations, one checkpoint, ref events, the journal.
        var env = f.EnvironmentRow("dev")!;
        Assert.Equal(EnvironmentStatus.Finalized, env.Status);
        Assert.Null(env.Baseline);
        Assert.NotNull(env.FinalizedAt);
        var refs = f.Refs("dev");
        Assert.Equal(9, refs.Count);
        Assert.All(VirtualFixture.Nodes, n => Assert.Equal(ids[n].VersionHash, refs[VirtualFixture.Seeds.Contains(n) ? NodeKey.Seed(n) : NodeKey.Model(n)]));

        var versions = f.StateQuery($"SELECT model_name, version_hash, local_hash, status, compiled_sql FROM {f.StateTable("model_versions")} ORDER BY model_name");
        Assert.Equal(VirtualFixture.Models.OrderBy(m => m, StringComparer.Ordinal), versions.Select(v => (string)v[0]!));
        Assert.All(versions, v =>
        {
            Assert.Equal(ids[(string)v[0]!].VersionHash, v[1]);
            Assert.Equal(ids[(string)v[0]!].LocalHash, v[2]);
            Assert.Equal("ready", v[3]);
            Assert.Contains("SELECT", (string)v[4]!);
        });
        var seeds = f.StateQuery($"SELECT seed_name, version_hash FROM {f.StateTable("seed_versions")} ORDER BY seed_name");
        Assert.Equal(VirtualFixture.Seeds, seeds.Select(s => (string)s[0]!));
        Assert.All(seeds, s => Assert.Equal(ids[(string)s[0]!].VersionHash, s[1]));

        var tracked = f.StateQuery($"SELECT artifact_type, artifact_name, version_hash, schema_name, relation_name, relation_type FROM {f.StateTable("physical_relations")}");
        Assert.Equal(9, tracked.Count);
        Assert.All(tracked, t =>
        {
            var name = (string)t[1]!;
            Assert.Equal(VirtualFixture.Seeds.Contains(name) ? "seed" : "model", t[0]);
            Assert.Equal(ids[name].VersionHash, t[2]);
            Assert.Equal(f.PhysicalSchema, t[3]);
            Assert.Equal(f.Physical(name).Name, t[4]);
            Assert.Equal(name.StartsWith("stg_", StringComparison.Ordinal) ? "view" : "table", t[5]);
        });

        var checkpoints = f.Checkpoints("dev");
        Assert.Single(checkpoints);
        Assert.Equal(r.CheckpointId, checkpoints[0].Id);
        Assert.Matches("^chk_[0-9]{20}_[0-9a-f]{32}$", checkpoints[0].Id);
        Assert.Equal(9, f.StateCount("virtual_environment_checkpoint_refs", "checkpoint_id = $1", r.CheckpointId));

        var events = f.StateQuery($"SELECT node_name, previous_version_hash, new_version_hash, operation_id FROM {f.StateTable("virtual_environment_ref_events")} WHERE virtual_environment_name = 'dev'");
        Assert.Equal(9, events.Count);
        Assert.All(events, e =>
        {
            Assert.Null(e[1]);
            Assert.Equal(ids[(string)e[0]!].VersionHash, e[2]);
            Assert.Equal(r.OperationId, e[3]);
        });

        var listed = Assert.Single(f.Inspect().Environments());
        Assert.Equal(("dev", "finalized", 6, 3, 1, f.Schema), (listed.Name, listed.Status, listed.ModelCount, listed.SeedCount, listed.CheckpointCount, listed.LogicalSchema));
        Assert.Equal(env.FinalizedAt, listed.FinalizedAt);

        var op = Assert.Single(f.Operations(type: "build"));
        Assert.Equal(r.OperationId, op.Id);
        Assert.Equal("succeeded", op.Status);
        Assert.Equal("dev", op.Environment);
        Assert.Equal(new[] { "start", "step", "step", "step", "finish" }, op.Events.Select(e => e.Action));
        Assert.Empty(f.Locks().List());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Second_build_refreshes_tables_in_their_versions_and_a_changes_only_build_is_a_no_op(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        var first = f.Build();
        var physical = f.PhysicalRelations();

        // A default build re-runs every table and incremental into its current version (SPEC 4.2): no new version,
        // no ref move, no checkpoint; views and seeds stay as they are.
        var second = f.Build();
        Assert.Equal("succeeded", second.Status);
        Assert.Equal(EnvironmentStatus.Finalized, second.EnvironmentStatus);
        Assert.All(new[] { "fct_orders", "dim_customers", "payments_log" }, n => Assert.Equal("refresh", Node(second, n).Action));
        Assert.All(VirtualFixture.Seeds.Concat(new[] { "stg_customers", "stg_orders", "stg_payments" }), n => Assert.Equal("unchanged", Node(second, n).Action));
        Assert.Null(second.CheckpointId);
        Assert.Equal(physical.Select(p => p.Name), f.PhysicalRelations().Select(p => p.Name));
        Assert.Single(f.Checkpoints("dev"));
        Assert.Equal(9, f.StateCount("virtual_environment_ref_events"));
        Assert.Equal(9, f.StateCount("physical_relations"));
        Assert.Equal(first.CheckpointId, f.Checkpoints("dev")[0].Id);
        Assert.Equal(12, f.CountOf(f.View("dev", "fct_orders")));
        Assert.Equal(2, f.StateCount("state_operations"));

        // -ChangesOnly keeps the fast path: nothing is stale, so nothing is selected and nothing runs.
        var changesOnly = new BuildOptions { ChangesOnly = true };
        var third = f.Build(changesOnly);
        Assert.Equal("succeeded", third.Status);
        Assert.Equal(EnvironmentStatus.Finalized, third.EnvironmentStatus);
        Assert.Empty(third.Nodes);
        // The plan says the same, without writing anything: one step per node (as Get-SqbPlan's help says), all
        // unchanged; every node of a default plan is unchanged or a refresh.
        var quiet = f.Plan(changesOnly);
        Assert.All(quiet.Steps, s => Assert.Equal(("unchanged", (string?)null), (s.Action, s.Reason)));
        var plan = f.Plan();
        Assert.Equal(plan.Steps.Select(s => s.Name), quiet.Steps.Select(s => s.Name));
        Assert.All(plan.Steps, s => Assert.Contains(s.Action, new[] { "unchanged", "refresh" }));
        Assert.All(plan.Steps.Where(s => s.Action == "unchanged"), s => Assert.Null(s.Reason));
        Assert.All(plan.Steps, s => Assert.Equal("finalized", s.EnvironmentStatus));
        // A build with nothing to do is a read: no lock, no journal row.
        Assert.Equal(2, f.StateCount("state_operations"));
        Assert.Empty(f.Locks().List());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void New_vde_starts_from_dev_refs_and_builds_only_the_changed_model_and_its_descendants(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        var devIds = f.Identities();
        Assert.Equal(9, f.PhysicalRelations().Count);

        f.AddOrderYearToFctOrders();
        var plan = f.Plan(new BuildOptions { Environment = "pr_1" });
        Assert.Equal("pr_1", plan.Environment);
        Assert.All(plan.Steps, s => Assert.Equal("new", s.EnvironmentStatus));
        var step = plan.Steps.ToDictionary(s => s.Name);
        Assert.Equal("query changed", step["fct_orders"].Reason);
        Assert.Equal("upstream changed", step["dim_customers"].Reason);
        Assert.Equal("build", step["fct_orders"].Action);
        Assert.Equal("build", step["dim_customers"].Action);
        Assert.Equal(devIds["fct_orders"].VersionHash, step["fct_orders"].BoundVersion);
        Assert.Equal(f.Hash("fct_orders"), step["fct_orders"].ExpectedVersion);
        Assert.Contains("+  12 AS order_year", step["fct_orders"].QueryDiff);
        Assert.Contains("-  COALESCE(SUM(p.amount), 0) AS amount", step["fct_orders"].QueryDiff);
        Assert.Contains("+  COALESCE(SUM(p.amount), 0) AS amount,", step["fct_orders"].QueryDiff);
        Assert.Null(step["dim_customers"].QueryDiff);
        foreach (var n in new[] { "raw_orders", "stg_orders", "stg_payments" })
        {
            Assert.Equal("unchanged", step[n].Action);
            Assert.Null(step[n].Reason);
        }
        // The incremental is unchanged too: a default build refreshes it in its (shared) version.
        Assert.Equal("refresh", step["payments_log"].Action);
        Assert.Equal("default build: tables and incrementals are refreshed", step["payments_log"].Reason);
        Assert.Null(f.EnvironmentRow("pr_1"));   // the plan wrote nothing

        var r = f.Build(new BuildOptions { Environment = "pr_1" });
        Assert.Equal("succeeded", r.Status);
        Assert.Equal("pr_1", r.Environment);
        Assert.Equal(EnvironmentStatus.Finalized, r.EnvironmentStatus);
        Assert.Equal("build", Node(r, "fct_orders").Action);
        Assert.Equal("build", Node(r, "dim_customers").Action);
        foreach (var n in VirtualFixture.Nodes.Except(new[] { "fct_orders", "dim_customers", "payments_log" }))
            Assert.Equal("unchanged", Node(r, n).Action);
        Assert.Equal("refresh", Node(r, "payments_log").Action);

        // Two new physical versions; the VDEs share the other seven.
        var physical = f.PhysicalRelations();
        Assert.Equal(11, physical.Count);
        Assert.Contains(physical, p => p.Name == f.Physical("fct_orders", devIds["fct_orders"].VersionHash).Name);
        Assert.Contains(physical, p => p.Name == f.Physical("fct_orders").Name);
        Assert.NotEqual(devIds["fct_orders"].VersionHash[..8], f.Hash("fct_orders")[..8]);
        Assert.Equal(11, f.StateCount("physical_relations"));

        // pr_1's views, in <schema>__pr_1, read the new versions of the changed models and the shared ones of the rest.
        f.AssertViewReads("pr_1", "fct_orders", f.Physical("fct_orders"));
        f.AssertViewReads("pr_1", "dim_customers", f.Physical("dim_customers"));
        f.AssertViewReads("pr_1", "stg_orders", f.Physical("stg_orders", devIds["stg_orders"].VersionHash));
        f.AssertViewReads("pr_1", "raw_orders", f.Physical("raw_orders", devIds["raw_orders"].VersionHash));
        Assert.Equal(9, f.Catalog(f.LogicalSchema("pr_1")).Relations.Count);
        Assert.Equal(12, f.Long($"SELECT MAX(order_year) FROM {f.View("pr_1", "fct_orders")}"));
        // dev is untouched: still the old version, without the new column.
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders", devIds["fct_orders"].VersionHash));
        Assert.DoesNotContain(f.Catalog(f.Schema).ColumnsOf(new RelationName(f.Schema, "fct_orders")), c => c.Name == "order_year");
        Assert.Equal(devIds["fct_orders"].VersionHash, f.Refs("dev")[NodeKey.Model("fct_orders")]);

        var pr1 = f.EnvironmentRow("pr_1")!;
        Assert.Equal("dev", pr1.Baseline);
        Assert.Equal(EnvironmentStatus.Finalized, pr1.Status);
        Assert.Single(f.Checkpoints("pr_1"));
        Assert.Single(f.Checkpoints("dev"));
        // Ref events of pr_1: nine new refs (the pointer copy and the two new versions).
        Assert.Equal(9, f.StateCount("virtual_environment_ref_events", "virtual_environment_name = 'pr_1'"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Plan_reports_every_stale_reason(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        f.AddOrderYearToFctOrders();                                                                       // query changed
        f.Edit("models/staging/stg_customers.sql", s => s.Replace("materialized view", "materialized table")); // config changed
        f.Write("models/marts/order_ids.sql", "SELECT order_id FROM __ref(\"stg_orders\")\n");                  // first run

        var steps = f.Plan(new BuildOptions { Environment = "pr_1" }).Steps.ToDictionary(s => s.Name);
        Assert.Equal("query changed", steps["fct_orders"].Reason);
        Assert.Equal("config changed", steps["stg_customers"].Reason);
        Assert.Null(steps["stg_customers"].QueryDiff);
        Assert.Equal("upstream changed", steps["dim_customers"].Reason);
        Assert.Equal("first run", steps["order_ids"].Reason);
        Assert.Null(steps["order_ids"].BoundVersion);
        Assert.Equal("refresh", steps["payments_log"].Action);   // unchanged: refreshed by a default build
        Assert.Equal(new[] { "dim_customers", "fct_orders", "order_ids", "stg_customers" },
            steps.Values.Where(s => s.Action == "build").Select(s => s.Name).OrderBy(n => n, StringComparer.Ordinal));

        var r = f.Build(new BuildOptions { Environment = "pr_1" });
        Assert.True(r.Status == "succeeded", string.Join("; ", r.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}")));
        Assert.Equal(13, f.PhysicalRelations().Count);
        Assert.Equal(RelationKind.Table, f.Catalog(f.PhysicalSchema).Find(f.Physical("stg_customers"))!.Kind);
        Assert.Equal(12, f.CountOf(f.View("pr_1", "order_ids")));
        Assert.Null(f.Catalog(f.Schema).Find(new RelationName(f.Schema, "order_ids")));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Failing_audit_drops_the_new_version_and_keeps_the_old_one_visible(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        var old = f.Hash("fct_orders");
        var oldDim = f.Hash("dim_customers");

        // Duplicate every order: unique(order_id) fails on the new physical version.
        f.Edit("models/marts/fct_orders.sql", s => s.Replace("GROUP BY o.order_id, o.customer_id, o.order_date, o.status",
            "GROUP BY o.order_id, o.customer_id, o.order_date, o.status\nUNION ALL\nSELECT order_id, customer_id, order_date, status, 0 FROM __ref(\"stg_orders\")"));
        var r = f.Build();

        Assert.Equal("failed", r.Status);
        Assert.Equal(EnvironmentStatus.Active, r.EnvironmentStatus);
        var fct = Node(r, "fct_orders");
        Assert.Equal(SqbNodeStatus.Failed, fct.Status);
        Assert.Equal("B002.AuditFailed", fct.ErrorCode);
        Assert.Contains("unique(order_id)", fct.Error);
        Assert.Contains(fct.Audits, a => a.Name == "unique(order_id)" && a.Status == "failed");
        Assert.Equal(SqbNodeStatus.Skipped, Node(r, "dim_customers").Status);
        Assert.Equal("fct_orders", Node(r, "dim_customers").SkippedBecause);
        Assert.Equal(SqbNodeStatus.Skipped, Node(r, "order_amounts_match_payments").Status);

        // The new version is gone from the warehouse and was never tracked; the ref did not move.
        var physical = f.PhysicalRelations();
        Assert.DoesNotContain(physical, p => p.Name == f.Physical("fct_orders").Name);
        Assert.DoesNotContain(physical, p => p.Name == f.Physical("dim_customers").Name);
        Assert.Equal(9, physical.Count);
        Assert.Equal(0, f.StateCount("physical_relations", "version_hash = $1", f.Hash("fct_orders")));
        Assert.Equal(0, f.StateCount("model_versions", "version_hash = $1", f.Hash("fct_orders")));
        Assert.Equal(old, f.Refs("dev")[NodeKey.Model("fct_orders")]);
        Assert.Equal(oldDim, f.Refs("dev")[NodeKey.Model("dim_customers")]);
        f.AssertViewReads("dev", "fct_orders", f.Physical("fct_orders", old));
        Assert.Equal(12, f.CountOf(f.View("dev", "fct_orders")));
        Assert.Equal(400.09m, f.Dec($"SELECT SUM(amount) FROM {f.View("dev", "fct_orders")}"));
        Assert.Equal(EnvironmentStatus.Active, f.EnvironmentRow("dev")!.Status);
        Assert.Single(f.Checkpoints("dev"));
        Assert.Equal("working", f.Inspect().Environments("dev").Single().Status);
        // The build ran to the end with failed nodes: journaled failed, as its result says, yet nothing is left
        // unfinished (no FailedOperation finding; what succeeded was switched).
        var build = f.Operations(type: "build").First();
        Assert.Equal("failed", build.Status);
        Assert.Equal("finish", build.Events[^1].Action);
        Assert.Empty(new OperationQueries(f.Store(), NullLog.Instance).Unfinished());
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Incremental_version_is_seeded_from_the_prior_physical_then_takes_the_delta(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        var prior = f.Hash("payments_log");
        var priorRelation = f.Physical("payments_log", prior);
        Assert.Equal(11, f.CountOf(VirtualFixture.Q(priorRelation)));
        // A marker only the prior physical version holds: a copy carries it, a rebuild from scratch would not.
        f.Exec($"INSERT INTO {VirtualFixture.Q(priorRelation)} (payment_id, order_id, payment_method, amount, paid_at) " +
               "VALUES (9999, 101, 'marker', 1.00, TIMESTAMP '2000-01-01 00:00:00')");

        // A new payment changes stg_payments, so payments_log gets a new version (upstream changed).
        f.Edit("seeds/raw_payments.csv", s => s.TrimEnd('\n') + "\n1012,110,card,10.00,2024-05-07 10:00:00\n");
        var plan = f.Plan().Steps.Single(s => s.Name == "payments_log");
        Assert.Equal("upstream changed", plan.Reason);
        var r = f.Build();
        Assert.Equal("succeeded", r.Status);
        var next = f.Hash("payments_log");
        Assert.NotEqual(prior, next);
        Assert.Equal("build", Node(r, "payments_log").Action);

        var ancestry = f.StateQuery($"SELECT model_name, version_hash, parent_version_hash, seed_strategy FROM {f.StateTable("physical_relation_ancestry")}");
        var row = Assert.Single(ancestry);
        Assert.Equal(new object?[] { "payments_log", next, prior, "copy" }, row);

        var view = f.View("dev", "payments_log");
        f.AssertViewReads("dev", "payments_log", f.Physical("payments_log", next));
        Assert.Equal(13, f.CountOf(view));                                   // 11 copied + the marker + 1 delta row
        Assert.Equal(1, f.Long($"SELECT COUNT(*) FROM {view} WHERE payment_id = 9999"));
        Assert.Equal(1, f.Long($"SELECT COUNT(*) FROM {view} WHERE payment_id = 1012"));
        // The prior version is immutable: still 12 rows (11 + marker), no delta.
        Assert.Equal(12, f.CountOf(VirtualFixture.Q(priorRelation)));
        Assert.DoesNotContain(f.PhysicalRelations(), p => p.Name.Contains("__sqb_delta"));
        Assert.Equal(10.00m, f.Dec($"SELECT amount FROM {f.View("dev", "fct_orders")} WHERE order_id = 110"));
    }
}

public class VirtualBuildSchedulingTests
{
    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_relationships_audit_waits_for_the_new_version_of_the_model_it_reads(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        // stg_customers gets a new, slow version; fct_orders, whose relationships audit reads stg_customers
        // (not one of its parents), a new, fast one.
        var slow = engine == "postgres"
            ? "(SELECT 1 FROM pg_sleep(1.5)) = 1"
            : "(SELECT COUNT(*) FROM range(400000000) AS t(i) WHERE i % 7 = 3) > 0";
        f.Edit("models/staging/stg_customers.sql", s => s.Replace("materialized view", "materialized table")
            .Replace("FROM __seed(\"raw_customers\")", "FROM __seed(\"raw_customers\")\nWHERE " + slow));
        f.AddOrderYearToFctOrders();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = f.Build();
        Assert.True(r.Status == "succeeded", string.Join("; ", r.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}")));
        Assert.All(r.Nodes.Single(n => n.Name == "fct_orders").Audits, a => Assert.Equal("passed", a.Status));
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(0.3), $"the slow version took only {clock.Elapsed}");
    }
}

public class VirtualIncrementalTests
{
    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Incremental_query_change_that_adds_a_column_builds_the_new_version(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VirtualFixture(engine);
        f.Init();
        f.Build();
        var prior = f.Hash("payments_log");
        f.Edit("models/marts/payments_log.sql", s => s.Replace("  paid_at\n", "  paid_at,\n  UPPER(payment_method) AS method_code\n"));
        Assert.Equal("query changed", f.Plan().Steps.Single(s => s.Name == "payments_log").Reason);
        var r = f.Build();
        Assert.True(r.Status == "succeeded", string.Join("; ", r.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}")));
        var view = f.View("dev", "payments_log");
        Assert.Equal(11, f.CountOf(view));
        Assert.Equal(11, f.Long($"SELECT COUNT(*) FROM {view} WHERE method_code = UPPER(payment_method)"));
        Assert.Equal(11, f.CountOf(VirtualFixture.Q(f.Physical("payments_log", prior))));
        // Built from scratch: the prior rows did not fit, so no ancestry is recorded and no delta is left behind.
        Assert.Equal(0, f.StateCount("physical_relation_ancestry"));
        Assert.DoesNotContain(f.PhysicalRelations(), p => p.Name.Contains("__sqb_delta"));
    }
}

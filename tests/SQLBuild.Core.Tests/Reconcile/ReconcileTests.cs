using SQLBuild.Core.Adapters;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Reconcile;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Reconcile;

/// <summary>
/// Get-SqbReconcile's core on real engines: every finding kind produced by real damage to a built VDE,
/// its documented recovery run for real, and the report's fixed query count.
/// </summary>
public sealed class ReconcileTests
{
    public static TheoryData<string> Engines => new() { "duckdb", "postgres" };

    private static VdeFixture Built(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        var f = new VdeFixture(engine);
        try
        {
            f.Build();
            return f;
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    private static SqbReconcileFinding Single(IReadOnlyList<SqbReconcileFinding> findings, SqbFindingKind kind)
    {
        var f = Assert.Single(findings);
        Assert.Equal(kind, f.Kind);
        return f;
    }

    // ------------------------------------------------------------------ healthy

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_healthy_environment_reports_nothing_and_records_a_report_event(string engine)
    {
        using var f = Built(engine);
        Assert.Empty(f.Report());
        var events = f.QueryState($"SELECT action, status, message, virtual_environment_name FROM {f.StateTable("reconcile_events")}");
        var e = Assert.Single(events);
        Assert.Equal(new object?[] { "report", "succeeded", "report for dev", "dev" }, e);
        // Read-only: no lock row, no journaled operation.
        Assert.Empty(f.QueryState($"SELECT lock_key FROM {f.StateTable("locks")}"));
        Assert.Empty(f.QueryState($"SELECT operation_id FROM {f.StateTable("state_operations")} WHERE operation_type <> 'build'"));
    }

    // ------------------------------------------------------------------ MissingRef

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_deleted_ref_row_is_MissingRef_and_a_build_of_the_model_restores_it(string engine)
    {
        using var f = Built(engine);
        var physical = f.PhysicalOf("dim_customers");
        f.ExecState($"DELETE FROM {f.StateTable("virtual_environment_node_refs")} WHERE node_name = $1", "dim_customers");

        var finding = Single(f.Report(), SqbFindingKind.MissingRef);
        Assert.Equal("missing ref: dim_customers", finding.Message);
        Assert.Equal("Invoke-SqbBuild -Environment dev -Select dim_customers", finding.Recovery);
        Assert.Equal(("dev", "model", "dim_customers"), (finding.Environment, finding.NodeType, finding.Name));
        Assert.Equal($"{f.Schema}.dim_customers", finding.Relation);
        Assert.Equal(physical.ToString(), finding.Expected);

        f.Build(null, "dim_customers");
        Assert.Empty(f.Report());
        Assert.Equal(8, f.Count(f.Schema, "dim_customers"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_deleted_seed_ref_is_reported_with_the_seed_wording(string engine)
    {
        using var f = Built(engine);
        f.ExecState($"DELETE FROM {f.StateTable("virtual_environment_node_refs")} WHERE node_name = $1", "raw_orders");
        var finding = Single(f.Report(), SqbFindingKind.MissingRef);
        Assert.Equal(("seed", "missing seed ref: raw_orders"), (finding.NodeType, finding.Message));
        // -Model narrows the report to one node.
        Assert.Empty(f.Report(model: "fct_orders"));
        Assert.Single(f.Report(model: "raw_orders"));
    }

    // ------------------------------------------------------------------ MissingTrackedPhysical

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_deleted_physical_relations_row_is_MissingTrackedPhysical(string engine)
    {
        using var f = Built(engine);
        var physical = f.PhysicalOf("fct_orders");
        f.ExecState($"DELETE FROM {f.StateTable("physical_relations")} WHERE artifact_name = $1", "fct_orders");

        var finding = Single(f.Report(), SqbFindingKind.MissingTrackedPhysical);
        Assert.Equal("missing tracked physical relation: fct_orders", finding.Message);
        Assert.Equal("Invoke-SqbBuild -Environment dev -Select fct_orders", finding.Recovery);
        Assert.Equal(physical.ToString(), finding.Expected);

        // Repair refuses an untracked relation (C251) and changes nothing.
        var outcome = Assert.Single(f.Repair("dev", "fct_orders"));
        Assert.Equal(SqbRepairResult.Blocked, outcome.Result.Result);
        Assert.Equal("C251.MissingTrackedPhysical", outcome.Error!.ErrorId);
        Assert.Equal("missing tracked physical relation for 'fct_orders'", outcome.Error.Message);

        f.Build(null, "fct_orders");
        Assert.Empty(f.Report());
        Assert.Equal(12, f.Count(f.Schema, "fct_orders"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void An_untracked_seed_relation_is_rebuilt_under_its_name_even_where_views_are_bound_to_it(string engine)
    {
        using var f = Built(engine);
        var physical = f.PhysicalOf("raw_orders", nodeType: NodeTypes.Seed);
        f.ExecState($"DELETE FROM {f.StateTable("physical_relations")} WHERE artifact_name = $1", "raw_orders");
        var finding = Single(f.Report(), SqbFindingKind.MissingTrackedPhysical);
        Assert.Equal(("missing tracked physical seed relation: raw_orders", physical.ToString()), (finding.Message, finding.Expected));

        // On PostgreSQL the seed's logical view and stg_orders' physical view are bound to the table: rebuilt in place.
        var rebuilt = f.Build(null, "raw_orders");
        Assert.Equal(physical.ToString(), rebuilt.Nodes.Single(n => n.Name == "raw_orders").Relation);
        Assert.Empty(f.Report());
        Assert.Equal(12, f.Count(f.Schema, "raw_orders"));
        Assert.Equal(12, f.Count(f.Schema, "stg_orders"));
    }

    // ------------------------------------------------------------------ MissingPhysical

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_dropped_physical_table_is_MissingPhysical_repair_blocks_and_a_build_rebuilds_the_same_name(string engine)
    {
        using var f = Built(engine);
        var physical = f.PhysicalOf("fct_orders");
        // PostgreSQL binds the logical view to the table: it has to go first (no CASCADE anywhere).
        if (engine == "postgres") f.Exec($"DROP VIEW {f.Q(f.Schema, "fct_orders")}");
        f.Exec($"DROP TABLE {f.Q(physical.Schema, physical.Name)}");

        var finding = Single(f.Report(), SqbFindingKind.MissingPhysical);
        Assert.Equal("missing physical relation: fct_orders", finding.Message);
        Assert.Equal("Invoke-SqbBuild -Environment dev -Select fct_orders", finding.Recovery);
        Assert.Equal(physical.ToString(), finding.Expected);

        var outcome = Assert.Single(f.Repair("dev", "fct_orders"));
        Assert.Equal(SqbRepairResult.Blocked, outcome.Result.Result);
        Assert.Equal("C252.MissingPhysical", outcome.Error!.ErrorId);
        Assert.Equal("missing physical relation for 'fct_orders'", outcome.Error.Message);
        Assert.Equal("Invoke-SqbBuild -Environment dev -Select fct_orders", outcome.Error.RecommendedAction);
        Assert.Equal(SqbErrorKind.ObjectNotFound, outcome.Error.Kind);

        var rebuilt = f.Build(null, "fct_orders");
        Assert.Equal(physical.ToString(), rebuilt.Nodes.Single(n => n.Name == "fct_orders").Relation);
        Assert.Empty(f.Report());
        Assert.Equal(12, f.Count(f.Schema, "fct_orders"));
    }

    // ------------------------------------------------------------------ MissingView

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_dropped_view_is_MissingView_and_repair_recreates_it_from_state(string engine)
    {
        using var f = Built(engine);
        f.Exec($"DROP VIEW {f.Q(f.Schema, "fct_orders")}");

        var finding = Single(f.Report(), SqbFindingKind.MissingView);
        Assert.Equal("missing logical target: fct_orders", finding.Message);
        Assert.Equal("Repair-SqbView -Environment dev -Name fct_orders", finding.Recovery);
        Assert.True(finding.Repairable);

        var outcome = Assert.Single(f.Repair("dev", "fct_orders"));
        Assert.Null(outcome.Error);
        Assert.Equal(SqbRepairResult.Repaired, outcome.Result.Result);
        Assert.Equal("repaired view for fct_orders", outcome.Result.Message);
        Assert.Equal($"{f.Schema}.fct_orders", outcome.Result.Relation);
        Assert.Equal(f.PhysicalOf("fct_orders").ToString(), outcome.Result.PhysicalRelation);
        Assert.Empty(f.Report());
        Assert.Equal(12, f.Count(f.Schema, "fct_orders"));

        // Journaled as a repair, with a repair_view event; the lock is released.
        var op = new OperationQueries(f.Store(), NullLog.Instance).List(id: outcome.Result.OperationId).Single();
        Assert.Equal(("repair", "succeeded", "dev"), (op.Type, op.Status, op.Environment));
        var events = f.QueryState($"SELECT status, message FROM {f.StateTable("reconcile_events")} WHERE action = 'repair_view'");
        Assert.Equal(new object?[] { "succeeded", "repaired view for fct_orders" }, Assert.Single(events));
        Assert.Empty(f.QueryState($"SELECT lock_key FROM {f.StateTable("locks")}"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_dropped_seed_view_is_repaired_as_a_seed(string engine)
    {
        using var f = Built(engine);
        f.Exec($"DROP VIEW {f.Q(f.Schema, "raw_orders")}");
        var finding = Single(f.Report(), SqbFindingKind.MissingView);
        Assert.Equal(("seed", "missing logical seed target: raw_orders"), (finding.NodeType, finding.Message));
        Assert.Equal("Repair-SqbView -Environment dev -Name raw_orders -NodeType seed", finding.Recovery);
        var outcome = Assert.Single(f.Repair("dev", "raw_orders"));
        Assert.Equal(("seed", "repaired seed view for raw_orders"), (outcome.Result.NodeType, outcome.Result.Message));
        Assert.Equal(12, f.Count(f.Schema, "raw_orders"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void Repair_handles_a_batch_in_one_operation_and_leaves_healthy_views_unchanged(string engine)
    {
        using var f = Built(engine);
        foreach (var v in new[] { "fct_orders", "dim_customers", "stg_orders" }) f.Exec($"DROP VIEW {f.Q(f.Schema, v)}");
        Assert.Equal(3, f.Report().Count(x => x.Kind == SqbFindingKind.MissingView));

        var outcomes = f.Repair("dev", "fct_orders", "dim_customers", "stg_orders", "stg_customers");
        Assert.Equal(new[] { "repaired", "repaired", "repaired", "unchanged" }, outcomes.Select(o => o.Result.Result));
        Assert.Single(outcomes.Select(o => o.Result.OperationId).Distinct());
        Assert.Empty(f.Report());
        Assert.Equal(3, f.QueryState($"SELECT event_id FROM {f.StateTable("reconcile_events")} WHERE action = 'repair_view'").Count);
        Assert.Single(f.QueryState($"SELECT operation_id FROM {f.StateTable("state_operations")} WHERE operation_type = 'repair'"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void Repair_fails_at_once_while_the_environment_is_locked_and_changes_nothing(string engine)
    {
        using var f = Built(engine);
        f.Exec($"DROP VIEW {f.Q(f.Schema, "fct_orders")}");
        using (new LockManager(f.Store(), NullLog.Instance).Acquire(LockManager.EnvironmentKey("dev"), "test:holder"))
        {
            var ex = Assert.Throws<SqbException>(() => f.Repair("dev", "fct_orders"));
            Assert.Equal("S014.EnvironmentLocked", ex.ErrorId);
            Assert.StartsWith("virtual environment 'dev' is locked", ex.Message);
        }
        Assert.Null(f.Find(f.Schema, "fct_orders"));
        Assert.Equal(SqbFindingKind.MissingView, Single(f.Report(), SqbFindingKind.MissingView).Kind);
        Assert.Empty(f.QueryState($"SELECT event_id FROM {f.StateTable("reconcile_events")} WHERE action = 'repair_view'"));
    }

    // ------------------------------------------------------------------ LogicalIsTable

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_table_in_place_of_the_view_is_LogicalIsTable_and_neither_repair_nor_attach_overwrite_it(string engine)
    {
        using var f = Built(engine);
        var physical = f.PhysicalOf("fct_orders");
        f.Exec($"DROP VIEW {f.Q(f.Schema, "fct_orders")}");
        f.Exec($"CREATE TABLE {f.Q(f.Schema, "fct_orders")} AS SELECT * FROM {f.Q(physical.Schema, physical.Name)} WHERE order_id < 105");

        var finding = Single(f.Report(), SqbFindingKind.LogicalIsTable);
        Assert.Equal("logical target is table: fct_orders", finding.Message);
        Assert.StartsWith($"Drop the table {f.Schema}.fct_orders by hand", finding.Recovery);
        Assert.EndsWith("Repair-SqbView -Environment dev -Name fct_orders", finding.Recovery);

        var outcome = Assert.Single(f.Repair("dev", "fct_orders"));
        Assert.Equal(SqbRepairResult.Blocked, outcome.Result.Result);
        Assert.Equal("C250.LogicalIsTable", outcome.Error!.ErrorId);
        Assert.Equal("logical target for 'fct_orders' is a table; repair-view will not overwrite it", outcome.Error.Message);
        var attach = Assert.Throws<SqbException>(() => f.Attach("dev", "fct_orders", physical.ToString()));
        Assert.Equal("C250.LogicalIsTable", attach.ErrorId);
        Assert.Equal(RelationKind.Table, f.Find(f.Schema, "fct_orders")!.Kind);
        Assert.Equal(4, f.Count(f.Schema, "fct_orders"));

        f.Exec($"DROP TABLE {f.Q(f.Schema, "fct_orders")}");
        Assert.Equal(SqbRepairResult.Repaired, Assert.Single(f.Repair("dev", "fct_orders")).Result.Result);
        Assert.Equal(12, f.Count(f.Schema, "fct_orders"));
        // The refused attach stays reported until it is retried; the refused repair does not (its view was the finding).
        var failed = Single(f.Report(), SqbFindingKind.FailedOperation);
        Assert.Equal($"Set-SqbModelRef -Environment dev -Model fct_orders -PhysicalRelation {physical}", failed.Recovery);
        Assert.Equal("unchanged", f.Attach("dev", "fct_orders", physical.ToString()).Result);
        Assert.Empty(f.Report());
    }

    // ------------------------------------------------------------------ WrongViewTarget and attach

    /// <summary>Builds dev, then pr_1 with a changed stg_customers, so two versions of it are tracked.</summary>
    private static (VdeFixture F, RelationName Dev, RelationName Pr) TwoVersions(string engine)
    {
        var f = Built(engine);
        try
        {
            return TwoVersionsOf(f);
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    private static (VdeFixture F, RelationName Dev, RelationName Pr) TwoVersionsOf(VdeFixture f)
    {
        f.Write("models/staging/stg_customers.sql", """
            MODEL (
              materialized view,
              tags [staging],
              audits [not_null(customer_id), unique(customer_id)]
            );
            SELECT id AS customer_id, first_name, last_name, email, signup_date
            FROM __seed("raw_customers")
            WHERE id <= 6
            """);
        // Changes only: a default build would also refresh fct_orders in pr_1, whose relationships audit then (rightly)
        // finds orders of customers that pr_1's stg_customers leaves out.
        f.Build("pr_1", changesOnly: true);
        return (f, f.PhysicalOf("stg_customers"), f.PhysicalOf("stg_customers", "pr_1"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_view_replaced_to_read_another_version_is_WrongViewTarget_and_repair_points_it_back(string engine)
    {
        var (f, dev, pr) = TwoVersions(engine);
        using var _ = f;
        Assert.NotEqual(dev, pr);
        Assert.Empty(f.Report());
        f.Exec($"CREATE OR REPLACE VIEW {f.Q(f.Schema, "stg_customers")} AS SELECT * FROM {f.Q(pr.Schema, pr.Name)}");
        Assert.Equal(6, f.Count(f.Schema, "stg_customers"));

        var finding = Single(f.Report(), SqbFindingKind.WrongViewTarget);
        Assert.Equal("wrong logical target: stg_customers", finding.Message);
        Assert.Equal(dev.ToString(), finding.Expected);
        Assert.Equal("Repair-SqbView -Environment dev -Name stg_customers", finding.Recovery);

        var outcome = Assert.Single(f.Repair("dev", "stg_customers"));
        Assert.Equal(SqbRepairResult.Repaired, outcome.Result.Result);
        Assert.Empty(f.Report());
        Assert.Equal(8, f.Count(f.Schema, "stg_customers"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_view_reading_a_relation_with_other_columns_is_replaced_in_one_transaction(string engine)
    {
        using var f = Built(engine);
        var orders = f.PhysicalOf("stg_orders");
        // PostgreSQL cannot CREATE OR REPLACE a view with other columns: the damage and the repair both drop first.
        f.Exec($"DROP VIEW {f.Q(f.Schema, "stg_customers")}");
        f.Exec($"CREATE VIEW {f.Q(f.Schema, "stg_customers")} AS SELECT * FROM {f.Q(orders.Schema, orders.Name)}");
        Assert.Equal(SqbFindingKind.WrongViewTarget, Single(f.Report(), SqbFindingKind.WrongViewTarget).Kind);

        Assert.Equal(SqbRepairResult.Repaired, Assert.Single(f.Repair("dev", "stg_customers")).Result.Result);
        Assert.Empty(f.Report());
        Assert.Equal(8, f.Count(f.Schema, "stg_customers"));
        using var s = f.Warehouse();
        Assert.Contains(s.ReadCatalog(new[] { f.Schema }, includeColumns: true).ColumnsOf(new RelationName(f.Schema, "stg_customers")),
            c => c.Name == "email");
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void Attach_rebinds_one_ref_to_another_tracked_version_and_repoints_its_view(string engine)
    {
        var (f, dev, pr) = TwoVersions(engine);
        using var _ = f;
        var before = f.Refs();
        var result = f.Attach("dev", "stg_customers", pr.ToString());
        Assert.Equal(("attached", pr.ToString(), $"{f.Schema}.stg_customers"), (result.Result, result.PhysicalRelation, result.Relation));
        Assert.Equal($"attached stg_customers to {pr}", result.Message);
        Assert.Equal(before[NodeKey.Model("stg_customers")], result.PreviousVersion);

        var after = f.Refs();
        Assert.Equal(f.Refs("pr_1")[NodeKey.Model("stg_customers")], after[NodeKey.Model("stg_customers")]);
        Assert.All(before.Where(r => r.Key.NodeName != "stg_customers"), r => Assert.Equal(r.Value, after[r.Key]));
        Assert.Equal(6, f.Count(f.Schema, "stg_customers"));
        Assert.Empty(f.Report());

        var events = f.QueryState($"SELECT message FROM {f.StateTable("reconcile_events")} WHERE action = 'attach'");
        Assert.Equal($"attached stg_customers to {pr}", Assert.Single(events)[0]);
        var refEvents = f.QueryState($"SELECT node_name, operation_id FROM {f.StateTable("virtual_environment_ref_events")} WHERE operation_id = $1", result.OperationId);
        Assert.Equal("stg_customers", Assert.Single(refEvents)[0]);
        var op = new OperationQueries(f.Store(), NullLog.Instance).List(id: result.OperationId).Single();
        Assert.Equal(("attach", "succeeded"), (op.Type, op.Status));

        // Attaching back, by the bare relation name in the physical schema.
        Assert.Equal("attached", f.Attach("dev", "stg_customers", dev.Name).Result);
        Assert.Equal(8, f.Count(f.Schema, "stg_customers"));
        var again = f.Attach("dev", "stg_customers", dev.ToString());
        Assert.Equal(("unchanged", $"stg_customers already attached to {dev}"), (again.Result, again.Message));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void Attach_refuses_a_relation_that_is_not_a_tracked_version_of_the_model(string engine)
    {
        using var f = Built(engine);
        var other = f.PhysicalOf("stg_orders");
        var before = f.Refs();
        var ex = Assert.Throws<SqbException>(() => f.Attach("dev", "stg_customers", other.ToString()));
        Assert.Equal("C253.UntrackedRelation", ex.ErrorId);
        Assert.Equal($"physical relation '{other}' is not a tracked relation for 'stg_customers'", ex.Message);
        var made_up = Assert.Throws<SqbException>(() => f.Attach("dev", "stg_customers", $"{f.PhysicalSchema}.stg_customers__v_00000000"));
        Assert.Equal("C253.UntrackedRelation", made_up.ErrorId);
        Assert.Equal(before, f.Refs());
        Assert.Empty(f.QueryState($"SELECT event_id FROM {f.StateTable("reconcile_events")} WHERE action = 'attach'"));
        var failed = new OperationQueries(f.Store(), NullLog.Instance).List(type: "attach");
        Assert.All(failed, o => Assert.Equal("failed", o.Status));
    }

    // ------------------------------------------------------------------ UnexpectedView

    [SkippableTheory, MemberData(nameof(Engines))]
    public void In_the_unsuffixed_environment_only_views_reading_the_physical_schema_are_UnexpectedView(string engine)
    {
        using var f = Built(engine);
        var physical = f.PhysicalOf("fct_orders");
        f.Exec($"CREATE VIEW {f.Q(f.Schema, "old_orders")} AS SELECT * FROM {f.Q(physical.Schema, physical.Name)}");
        f.Exec($"CREATE VIEW {f.Q(f.Schema, "user_report")} AS SELECT 1 AS x");
        f.Exec($"CREATE TABLE {f.Q(f.Schema, "user_table")} AS SELECT 1 AS x");

        var finding = Single(f.Report(), SqbFindingKind.UnexpectedView);
        Assert.Equal(("view", "old_orders", $"{f.Schema}.old_orders"), (finding.NodeType, finding.Name, finding.Relation));
        Assert.Equal($"unexpected view: {f.Schema}.old_orders", finding.Message);
        Assert.StartsWith($"Review the view {f.Schema}.old_orders", finding.Recovery);
        Assert.False(finding.Repairable);
        // Not a view repair-view writes: Repair-SqbView passes it over with a warning that says what handles it.
        Assert.True(ReconcileText.IsPassedOver(finding));
        Assert.Equal($"unexpected view: {f.Schema}.old_orders: repair-view does not drop views. {finding.Recovery}", ReconcileText.PassOver(finding));
        // Reconcile never drops it.
        Assert.NotNull(f.Find(f.Schema, "old_orders"));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void In_a_suffixed_environment_every_view_for_no_ref_is_UnexpectedView(string engine)
    {
        using var f = Built(engine);
        f.Build("pr_1");
        Assert.Empty(f.Report("pr_1"));
        f.Exec($"CREATE VIEW {f.Q(f.LogicalSchema("pr_1"), "scratch")} AS SELECT 1 AS x");
        var finding = Single(f.Report("pr_1"), SqbFindingKind.UnexpectedView);
        Assert.Equal(("pr_1", $"{f.LogicalSchema("pr_1")}.scratch"), (finding.Environment, finding.Relation));
        Assert.Empty(f.Report("dev"));
    }

    // ------------------------------------------------------------------ FailedOperation

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_failed_promote_is_FailedOperation_until_a_later_promote_succeeds(string engine)
    {
        using var f = Built(engine);
        f.Build("pr_1");
        // A real failure: the source does not exist (S011) after the journal started.
        Assert.Throws<SqbException>(() => new Promotion(f.Store(), NullLog.Instance).Promote(new PromoteOptions { From = "pr_9", To = "dev" }));

        var finding = Single(f.Report(), SqbFindingKind.FailedOperation);
        Assert.Equal(("operation", "promote"), (finding.NodeType, finding.Expected));
        Assert.StartsWith("promote:", finding.Name);
        Assert.StartsWith($"failed operation: {finding.Name} (", finding.Message);
        Assert.Contains("unknown source virtual environment 'pr_9'", finding.Message);
        Assert.Equal("Publish-SqbEnvironment -From pr_9 -To dev", finding.Recovery);
        Assert.True(ReconcileText.IsPassedOver(finding));
        Assert.Equal($"{finding.Message}: repair-view does not retry operations; retry it with Publish-SqbEnvironment -From pr_9 -To dev",
            ReconcileText.PassOver(finding));
        Assert.Empty(f.Report("pr_1"));
        Assert.Empty(f.Report(model: "fct_orders"));

        new Promotion(f.Store(), NullLog.Instance).Promote(new PromoteOptions { From = "pr_1", To = "dev" });
        Assert.Empty(f.Report());
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void A_running_operation_without_a_live_lock_is_reported_interrupted_but_not_while_its_lock_lives(string engine)
    {
        using var f = Built(engine);
        var store = f.Store();
        var q = store.Sql;
        var id = Ids.NewOperationId("build");
        using (var s = store.OpenStateSession())
        {
            s.Execute(q.Insert(Core.State.StateSchema.Operations, new (string, object?)[]
                { ("operation_id", id), ("operation_type", "build"), ("status", "running"), ("virtual_environment_name", "dev") }, "created_at", "updated_at"));
            s.Execute(q.Insert(Core.State.StateSchema.OperationEvents, new (string, object?)[]
                { ("event_id", Ids.NewEventId()), ("operation_id", id), ("action", "start"), ("status", "running"), ("message", "build dev") }, "created_at"));
        }
        var finding = Single(f.Report(), SqbFindingKind.FailedOperation);
        Assert.Equal((id, $"interrupted operation: {id}", "Invoke-SqbBuild -Environment dev"), (finding.Name, finding.Message, finding.Recovery));

        using (new LockManager(store, NullLog.Instance).Acquire(LockManager.EnvironmentKey("dev"), id))
            Assert.Empty(f.Report());
        Assert.Single(f.Report());
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void Failed_operations_of_each_type_name_the_cmdlet_that_retries_them(string engine)
    {
        using var f = Built(engine);
        var store = f.Store();
        var q = store.Sql;
        void Failed(string type, string? env, string start)
        {
            var id = Ids.NewOperationId(type);
            using var s = store.OpenStateSession();
            s.Execute(q.Insert(Core.State.StateSchema.Operations, new (string, object?)[]
                { ("operation_id", id), ("operation_type", type), ("status", "failed"), ("virtual_environment_name", env) }, "created_at", "updated_at"));
            s.Execute(q.Insert(Core.State.StateSchema.OperationEvents, new (string, object?)[]
                { ("event_id", Ids.NewEventId()), ("operation_id", id), ("action", "start"), ("status", "running"), ("message", start) }, "created_at"));
        }
        Failed("adopt", "dev", "starting adopt");
        Failed("detach", "dev", "starting detach");
        Failed("rollback", "dev", "restore checkpoint of dev");
        Failed("repair", "dev", "repair views of dev: fct_orders");   // all-or-nothing: not reported
        Failed("attach", "dev", "attach fct_orders to x.fct_orders__v_1");
        Failed("janitor", null, "janitor");
        Failed("build", "pr_7", "build pr_7");
        var byType = f.Report().ToDictionary(x => x.Expected!, x => x.Recovery);
        Assert.Equal(new Dictionary<string, string>
        {
            ["adopt"] = "ConvertTo-SqbVirtualEnvironment",
            ["detach"] = "ConvertFrom-SqbVirtualEnvironment",
            ["rollback"] = "Restore-SqbCheckpoint -Environment dev",
            ["attach"] = "Set-SqbModelRef -Environment dev -Model fct_orders -PhysicalRelation x.fct_orders__v_1",
            ["janitor"] = "Invoke-SqbJanitor",
        }, byType);
    }

    // ------------------------------------------------------------------ guards and errors

    [Fact]
    public void Reconcile_repair_and_attach_are_blocked_in_direct_mode_with_C254()
    {
        using var f = new VdeFixture("duckdb", virtualMode: false);
        var project = f.Compile();
        var ex = Assert.Throws<SqbException>(() => ReconcileGuard.RequireVirtualMode(project));
        Assert.Equal(("C254.ReconcileRequiresVirtualMode", "reconcile requires virtual_environments = true", SqbErrorKind.InvalidOperation),
            (ex.ErrorId, ex.Message, ex.Kind));
        Assert.False(File.Exists(Path.Combine(f.Dir, "shop.duckdb")));
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void An_unknown_environment_or_model_is_an_error_not_a_clean_report(string engine)
    {
        using var f = Built(engine);
        Assert.Equal("S020.UnknownEnvironment", Assert.Throws<SqbException>(() => f.Report("pr_404")).ErrorId);
        Assert.Equal("P011.UnknownModel", Assert.Throws<SqbException>(() => f.Report(model: "nope")).ErrorId);
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void The_targets_own_environment_before_its_first_build_is_an_empty_report_and_any_other_name_is_unknown(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new VdeFixture(engine);   // state initialized, nothing built
        Assert.Empty(f.Report());
        Assert.Empty(f.Report("dev"));
        Assert.Equal("S020.UnknownEnvironment", Assert.Throws<SqbException>(() => f.Report("pr_1")).ErrorId);
    }

    [Fact]
    public void With_a_separate_state_store_repair_and_attach_still_write_views_and_events()
    {
        using var f = new VdeFixture("duckdb", separateState: true);
        f.Build();
        Assert.False(f.Store().SharesWarehouse);
        f.Exec($"DROP VIEW {f.Q(f.Schema, "fct_orders")}");
        Assert.Equal(SqbFindingKind.MissingView, Single(f.Report(), SqbFindingKind.MissingView).Kind);
        Assert.Equal(SqbRepairResult.Repaired, Assert.Single(f.Repair(null, "fct_orders")).Result.Result);
        Assert.Empty(f.Report());
        Assert.Equal(12, f.Count(f.Schema, "fct_orders"));
        Assert.Single(f.QueryState($"SELECT event_id FROM {f.StateTable("reconcile_events")} WHERE action = 'repair_view'"));
    }

    // ------------------------------------------------------------------ set-based reads

    private static (int Catalog, int StateSelects, int Findings) CountReport(string engine, int models)
    {
        using var f = new VdeFixture(engine, VdeFixture.GeneratedModels(models));
        f.Build();
        for (var i = 1; i <= models; i += 5) f.Exec($"DROP VIEW {f.Q(f.Schema, $"m_{i:D4}")}");
        var log = new RecordingLog();
        var findings = f.Report(log: log);
        var lines = log.Lines.Where(l => l.StartsWith("VERBOSE: ", StringComparison.Ordinal)).Select(l => l["VERBOSE: ".Length..]).ToList();
        return (lines.Count(l => l.StartsWith("CATALOG ", StringComparison.Ordinal)),
                lines.Count(l => l.StartsWith("SELECT ", StringComparison.Ordinal)),
                findings.Count);
    }

    [SkippableTheory, MemberData(nameof(Engines))]
    public void The_report_reads_the_catalog_and_state_with_the_same_number_of_queries_for_5_and_50_models(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        var small = CountReport(engine, 5);
        var large = CountReport(engine, 50);
        Assert.Equal(1, small.Findings);
        Assert.Equal(10, large.Findings);
        Assert.Equal(small.Catalog, large.Catalog);
        Assert.Equal(small.StateSelects, large.StateSelects);
        // State-store check (its tables looked up by name), the logical schema (schemas + relations), the refs' physical
        // relations (by name), and the journal's own state-store check.
        Assert.Equal(5, small.Catalog);
    }
}

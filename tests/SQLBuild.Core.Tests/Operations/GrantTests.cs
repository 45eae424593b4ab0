using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Reconcile;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Operations;

/// <summary>
/// SPEC §10.1 (issue 9, case 6) on the real PostgreSQL with real roles: a logical view that a transaction drops and
/// creates again (a column change, rollback, repair, attach, adopt where a table becomes a view, detach where a view
/// becomes a table) keeps its privileges. Each test checks, as the role would see it, that the role's privilege on the
/// logical name survives, and that the relation really was created again (a new oid), so the test exercises the loss.
/// </summary>
public sealed class GrantTests
{
    private static string Q(RelationName r) => PostgresDialect.Instance.Qualify(r);

    private static long Oid(VirtualFixture f, string qualified)
    {
        using var s = f.Warehouse();
        return TestRole.Oid(s, qualified);
    }

    private static IReadOnlyList<string> Privileges(Func<IWarehouseSession> open, string qualified)
    {
        using var s = open();
        return TestRole.Privileges(s, qualified);
    }

    /// <summary>The template's dev built on PostgreSQL; with <paramref name="changedPr1"/> fct_orders then gains a column
    /// (order_year) and is built into pr_1, and with <paramref name="promoted"/> pr_1 is promoted into dev.</summary>
    private static VirtualFixture Dev(bool separateState = false, bool changedPr1 = false, bool promoted = false)
    {
        TestEngine.SkipUnlessAvailable("postgres");
        var f = new VirtualFixture("postgres", separateState);
        try
        {
            f.Init();
            Assert.Equal("succeeded", f.Build().Status);
            if (!changedPr1) return f;
            f.AddOrderYearToFctOrders();
            Assert.Equal("succeeded", f.Build(new BuildOptions { Environment = "pr_1" }).Status);
            if (promoted) f.Promote("pr_1", "dev");
            return f;
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    // ------------------------------------------------------------------ issue 9, case 6

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Case6_a_grant_on_a_logical_view_survives_a_column_change_promote_and_checkpoint_restore(bool separateState)
    {
        using var f = Dev(separateState);
        using var reader = new TestRole(f.Warehouse, "sqbt_bi_reader");
        var orders = f.View("dev", "fct_orders");
        f.Exec($"GRANT USAGE ON SCHEMA {PostgresDialect.Instance.QuoteIdentifier(f.Schema)} TO {reader.Quoted}");
        f.Exec($"GRANT SELECT ON {orders} TO {reader.Quoted}");
        Assert.True(reader.Has(orders));
        var rows = reader.CountAs(orders);

        // Add a column, build pr, promote.
        f.AddOrderYearToFctOrders();
        Assert.Equal("succeeded", f.Build(new BuildOptions { Environment = "pr_1" }).Status);
        f.Promote("pr_1", "dev");
        Assert.True(reader.Has(orders), "after promote");
        Assert.Equal(12L, reader.ScalarAs($"SELECT MAX(order_year) FROM {orders}") is { } y ? Convert.ToInt64(y) : 0);

        // Restore-SqbCheckpoint: the view loses order_year, which PostgreSQL can only do by dropping and creating it.
        var before = Oid(f, orders);
        f.Restore();
        Assert.NotEqual(before, Oid(f, orders));
        Assert.True(reader.Has(orders), "after Restore-SqbCheckpoint the role no longer has SELECT on the logical view");
        Assert.Equal(rows, reader.CountAs(orders));
    }

    [SkippableFact]
    public void Every_shape_of_grant_comes_back_exactly_after_a_rollback_recreates_the_view()
    {
        using var f = Dev(changedPr1: true, promoted: true);

        using var admin = new TestRole(f.Warehouse, "sqbt_bi_admin");
        using var reader = new TestRole(f.Warehouse, "sqbt_bi_reader");
        using var clerk = new TestRole(f.Warehouse, "sqbt_Clerk \"Q\"");   // a name that needs quoting
        var orders = f.View("dev", "fct_orders");
        var schema = PostgresDialect.Instance.QuoteIdentifier(f.Schema);
        f.Exec($"GRANT USAGE ON SCHEMA {schema} TO {admin.Quoted}, {reader.Quoted}, {clerk.Quoted}");
        f.Exec($"GRANT SELECT, REFERENCES ON {orders} TO {admin.Quoted} WITH GRANT OPTION");
        f.Exec($"GRANT INSERT, TRIGGER ON {orders} TO {clerk.Quoted}");
        f.Exec($"GRANT SELECT (order_id, amount), UPDATE (status) ON {orders} TO {clerk.Quoted}");
        f.Exec($"GRANT SELECT ON {orders} TO PUBLIC");
        // A grant made by a grantee with the grant option (its grantor is that role, not the owner).
        f.Exec($"SET ROLE {admin.Quoted}; GRANT SELECT ON {orders} TO {reader.Quoted}; RESET ROLE");
        var expected = Privileges(f.Warehouse, orders);
        Assert.Contains($"{clerk.Name}(amount) SELECT", expected);
        Assert.Contains($"{admin.Name} SELECT*", expected);
        Assert.Contains("PUBLIC SELECT", expected);

        var before = Oid(f, orders);
        f.Restore();
        Assert.NotEqual(before, Oid(f, orders));
        Assert.Equal(expected, Privileges(f.Warehouse, orders));
        Assert.True(reader.Has(orders));
        Assert.True(clerk.HasColumn(orders, "amount"));
        Assert.False(clerk.Has(orders, "UPDATE"));   // UPDATE on the status column only
        Assert.True(clerk.HasColumn(orders, "status", "UPDATE"));
        Assert.True(admin.Has(orders, "SELECT WITH GRANT OPTION"));
    }

    [SkippableFact]
    public void A_grant_on_a_column_the_new_view_no_longer_has_is_left_out_and_the_others_come_back()
    {
        using var f = Dev(changedPr1: true, promoted: true);
        using var clerk = new TestRole(f.Warehouse, "sqbt_clerk");
        var orders = f.View("dev", "fct_orders");
        f.Exec($"GRANT SELECT (order_id, order_year) ON {orders} TO {clerk.Quoted}");

        f.Restore();   // order_year is gone from the view
        Assert.Equal(new[] { $"{clerk.Name}(order_id) SELECT" }, Privileges(f.Warehouse, orders).Where(p => p.StartsWith(clerk.Name, StringComparison.Ordinal)));
        Assert.Contains(f.Log.Lines, l => l.Contains("order_year", StringComparison.Ordinal) && l.Contains(clerk.Name, StringComparison.Ordinal));
    }

    // ------------------------------------------------------------------ build, repair, attach

    [SkippableFact]
    public void A_build_that_changes_a_views_columns_keeps_its_grants()
    {
        using var f = Dev();
        using var reader = new TestRole(f.Warehouse, "sqbt_bi_reader");
        var orders = f.View("dev", "fct_orders");
        f.Exec($"GRANT SELECT ON {orders} TO {reader.Quoted}");
        var before = Oid(f, orders);

        // status leaves fct_orders: the old columns are no prefix of the new ones, so the switch drops and creates the view.
        f.Edit("models/marts/fct_orders.sql", s => s.Replace("  o.status,\n", ""));
        Assert.Equal("succeeded", f.Build().Status);

        Assert.NotEqual(before, Oid(f, orders));
        Assert.True(reader.Has(orders));
    }

    [SkippableFact]
    public void A_build_that_appends_a_column_repoints_the_view_in_place_and_a_type_change_recreates_it()
    {
        // The switch compares each view's columns with its new version's on the server (one query for all views):
        // a prefix is repointed by CREATE OR REPLACE (same relation), anything else is dropped and created again.
        using var f = Dev();
        using var reader = new TestRole(f.Warehouse, "sqbt_bi_reader");
        var orders = f.View("dev", "fct_orders");
        f.Exec($"GRANT SELECT ON {orders} TO {reader.Quoted}");
        var before = Oid(f, orders);

        // Privileges are read only around a view that is dropped and created again: a repoint keeps the relation and its grants.
        int PrivilegeReads(int from) => f.Log.Lines.Skip(from).Count(l => l.StartsWith("VERBOSE: CATALOG PRIVILEGES", StringComparison.Ordinal));

        f.AddOrderYearToFctOrders();
        var mark = f.Log.Lines.Count;
        Assert.Equal("succeeded", f.Build().Status);
        Assert.Equal(before, Oid(f, orders));
        Assert.True(reader.Has(orders));
        Assert.Equal(0, PrivilegeReads(mark));

        f.Edit("models/marts/fct_orders.sql", s => s.Replace("  12 AS order_year\n", "  CAST(12 AS bigint) AS order_year\n"));
        mark = f.Log.Lines.Count;
        Assert.Equal("succeeded", f.Build().Status);
        Assert.NotEqual(before, Oid(f, orders));
        Assert.True(reader.Has(orders));
        Assert.Equal(2, PrivilegeReads(mark));
        using var s = f.Warehouse();
        Assert.Equal("bigint", s.Query(new SqlStatement("SELECT", orders,
            $"SELECT pg_typeof(order_year)::text FROM {orders} LIMIT 1"))[0][0]);
    }

    [SkippableFact]
    public void A_build_that_changes_a_columns_collation_recreates_the_view()
    {
        // Found by the adversarial review: CREATE OR REPLACE VIEW refuses a column whose collation changes (42P16), so a
        // collation is part of the prefix comparison, like the name and the type.
        using var f = Dev();
        using var reader = new TestRole(f.Warehouse, "sqbt_bi_reader");
        var orders = f.View("dev", "fct_orders");
        f.Edit("models/marts/fct_orders.sql", s => s.Replace("  o.status,\n", "  CAST(o.status AS text) COLLATE \"C\" AS status,\n"));
        Assert.Equal("succeeded", f.Build().Status);
        f.Exec($"GRANT SELECT ON {orders} TO {reader.Quoted}");
        var before = Oid(f, orders);

        f.Edit("models/marts/fct_orders.sql", s => s.Replace("  CAST(o.status AS text) COLLATE \"C\" AS status,\n", "  CAST(o.status AS text) AS status,\n"));
        Assert.Equal("succeeded", f.Build().Status);
        Assert.NotEqual(before, Oid(f, orders));
        Assert.True(reader.Has(orders));
    }

    [SkippableFact]
    public void Repair_that_recreates_a_view_keeps_its_grants()
    {
        using var f = Dev(changedPr1: true);
        using var reader = new TestRole(f.Warehouse, "sqbt_bi_reader");
        var orders = f.View("dev", "fct_orders");
        f.Exec($"GRANT SELECT ON {orders} TO {reader.Quoted}");
        // Damage: dev's view now reads pr_1's version (one more column: replaced in place, the grant stays).
        f.Exec($"CREATE OR REPLACE VIEW {orders} AS SELECT * FROM {Q(f.Physical("fct_orders"))}");
        var before = Oid(f, orders);

        var outcome = Assert.Single(new ViewRepair(f.Store(), f.Log).Repair("dev", new[] { new ViewRepairRequest("fct_orders") }));
        Assert.Equal(SqbRepairResult.Repaired, outcome.Result.Result);

        Assert.NotEqual(before, Oid(f, orders));
        Assert.True(reader.Has(orders));
    }

    [SkippableFact]
    public void Attach_that_recreates_a_view_keeps_its_grants()
    {
        using var f = Dev(changedPr1: true);
        var devVersion = f.Physical("fct_orders", f.Refs("dev")[NodeKey.Model("fct_orders")]);
        using var reader = new TestRole(f.Warehouse, "sqbt_bi_reader");
        var orders = f.View("dev", "fct_orders");
        f.Exec($"GRANT SELECT ON {orders} TO {reader.Quoted}");

        Assert.Equal("attached", new RefAttach(f.Store(), f.Log).Attach("dev", "fct_orders", f.Physical("fct_orders").ToString()).Result);
        Assert.True(reader.Has(orders));
        var before = Oid(f, orders);
        // Back to the version without order_year: the view is dropped and created.
        Assert.Equal("attached", new RefAttach(f.Store(), f.Log).Attach("dev", "fct_orders", devVersion.ToString()).Result);

        Assert.NotEqual(before, Oid(f, orders));
        Assert.True(reader.Has(orders));
    }

    // ------------------------------------------------------------------ adopt and detach

    [SkippableFact]
    public void Adopt_gives_the_view_at_a_tables_name_the_tables_grants_and_detach_gives_them_back_to_the_table()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new LifecycleFixture("postgres").Prepare();
        using var reader = new TestRole(f.Session, "sqbt_bi_reader");
        f.Execute($"GRANT USAGE ON SCHEMA {f.QI(f.Schema)} TO {reader.Quoted}");
        // A table model, a seed and a view model, each with its own privileges.
        var orders = f.Q(f.Schema, "fct_orders");
        var seed = f.Q(f.Schema, "raw_orders");
        var staging = f.Q(f.Schema, "stg_orders");
        f.Execute($"GRANT SELECT, UPDATE ON {orders} TO {reader.Quoted}");
        f.Execute($"GRANT SELECT ON {seed} TO {reader.Quoted} WITH GRANT OPTION");
        f.Execute($"GRANT SELECT ON {staging} TO {reader.Quoted}");
        var expected = new[] { orders, seed, staging }.ToDictionary(r => r, r => Privileges(f.Session, r));
        var rows = reader.CountAs(orders);

        f.Adopt();
        Assert.Equal(RelationKind.View, f.Find(f.Schema, "fct_orders")!.Kind);
        Assert.Equal(RelationKind.View, f.Find(f.Schema, "raw_orders")!.Kind);
        foreach (var (relation, privileges) in expected) Assert.Equal(privileges, Privileges(f.Session, relation));
        Assert.True(reader.Has(orders, "UPDATE"));
        Assert.Equal(rows, reader.CountAs(orders));
        // The moved table keeps its own privileges (PostgreSQL moves them with it).
        Assert.True(reader.Has(f.Q(f.PhysicalSchema, f.PhysicalName("fct_orders"))));

        // A grant made on the logical view after adoption comes back on the plain table detach leaves there.
        using var analyst = new TestRole(f.Session, "sqbt_analyst");
        f.Execute($"GRANT SELECT ON {orders} TO {analyst.Quoted}");
        expected[orders] = Privileges(f.Session, orders);

        f.Detach();
        Assert.Equal(RelationKind.Table, f.Find(f.Schema, "fct_orders")!.Kind);
        Assert.Equal(RelationKind.Table, f.Find(f.Schema, "raw_orders")!.Kind);
        foreach (var (relation, privileges) in expected) Assert.Equal(privileges, Privileges(f.Session, relation));
        Assert.True(analyst.Has(orders));
        Assert.Equal(rows, reader.CountAs(orders));
    }

    [SkippableFact]
    public void Detach_by_copy_gives_the_new_table_the_views_grants()
    {
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new LifecycleFixture("postgres").Prepare();
        f.Adopt();
        Assert.Equal("finalized", f.Build("pr_1").EnvironmentStatus);   // pr_1 shares every version: detach copies
        using var reader = new TestRole(f.Session, "sqbt_bi_reader");
        var orders = f.Q(f.Schema, "fct_orders");
        f.Execute($"GRANT USAGE ON SCHEMA {f.QI(f.Schema)} TO {reader.Quoted}");
        f.Execute($"GRANT SELECT ON {orders} TO {reader.Quoted}");
        var expected = Privileges(f.Session, orders);

        var detached = f.Detach(allowCopy: true);
        Assert.Equal("copy", detached.Relations.Single(r => r.Name == "fct_orders").Action);
        Assert.Equal(RelationKind.Table, f.Find(f.Schema, "fct_orders")!.Kind);
        Assert.Equal(expected, Privileges(f.Session, orders));
        Assert.True(reader.Has(orders));
        Assert.True(reader.CountAs(orders) > 0);
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>Direct-mode builds of the template project on real engines (SPEC §3).</summary>
public class DirectBuildTests
{
    private static SqbNodeResult Node(SqbBuildResult r, string name) => r.Nodes.Single(n => n.Name == name);

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Template_builds_every_node_with_real_rows(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        var r = f.Build();

        Assert.Equal("succeeded", r.Status);
        Assert.Equal(new[] { "raw_customers", "raw_orders", "raw_payments" },
            r.Nodes.Where(n => n.NodeType == "seed").Select(n => n.Name).OrderBy(n => n));
        Assert.Equal(0, r.Failed);
        Assert.Equal(0, r.Skipped);
        Assert.Equal(r.Nodes.Count, r.Passed);
        // Every node of the template: 3 seeds, 6 models, 1 test.
        Assert.Equal(10, r.Nodes.Count);
        Assert.Equal(8, f.Count("dim_customers"));
        Assert.Equal(12, f.Count("fct_orders"));
        Assert.Equal(11, f.Count("payments_log"));
        Assert.Equal(RelationKind.View, f.Find("stg_orders")!.Kind);
        Assert.Equal(RelationKind.Table, f.Find("fct_orders")!.Kind);
        Assert.Equal(12L, Node(r, "fct_orders").Rows);
        Assert.Equal("create", Node(r, "fct_orders").Action);
        Assert.All(Node(r, "fct_orders").Audits, a => Assert.Equal("passed", a.Status));
        Assert.Equal(4, Node(r, "fct_orders").Audits.Count);
        Assert.Equal(SqbNodeStatus.Succeeded, Node(r, "order_amounts_match_payments").Status);
        // Paid amounts add up: the sum of the raw payments.
        Assert.Equal(400.09m, Convert.ToDecimal(f.Scalar($"SELECT SUM(amount) FROM {Q(f, "fct_orders")}")));
        // No staging relation is left behind.
        using var s = f.Session();
        Assert.DoesNotContain(s.ReadCatalog(new[] { f.Schema }).Relations, x => x.Name.Contains("__sqb_"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Rebuild_replaces_tables_and_views_and_keeps_downstream_views_working(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        Assert.Equal("succeeded", f.Build().Status);
        var second = f.Build();
        Assert.Equal("succeeded", second.Status);
        Assert.Equal("replace", Node(second, "fct_orders").Action);
        Assert.Equal("replace", Node(second, "stg_orders").Action);
        Assert.Equal("load", Node(second, "raw_orders").Action);
        Assert.Equal(12, f.Count("fct_orders"));
        Assert.Equal(12, f.Count("stg_orders"));   // the view over the reloaded seed still reads
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Failing_error_audit_leaves_previous_table_and_skips_descendants(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        Assert.Equal("succeeded", f.Build().Status);
        var before = Convert.ToDecimal(f.Scalar($"SELECT SUM(amount) FROM {Q(f, "fct_orders")}"));

        // Duplicate every order: unique(order_id) must fail on the staging table.
        var model = f.Read("models/marts/fct_orders.sql");
        var header = model[..(model.IndexOf(");", StringComparison.Ordinal) + 2)];
        f.Write("models/marts/fct_orders.sql", header + "\nSELECT o.order_id, o.customer_id, o.order_date, o.status, 1.00 AS amount\n" +
            "FROM __ref(\"stg_orders\") AS o\nUNION ALL\nSELECT o.order_id, o.customer_id, o.order_date, o.status, 1.00 AS amount\nFROM __ref(\"stg_orders\") AS o\n");
        var r = f.Build();

        Assert.Equal("failed", r.Status);
        var fct = Node(r, "fct_orders");
        Assert.Equal(SqbNodeStatus.Failed, fct.Status);
        Assert.Equal("B002.AuditFailed", fct.ErrorCode);
        Assert.Contains("audit unique(order_id) on 'fct_orders' found 12 failing row(s)", fct.Error);
        Assert.Contains("previous relation was left untouched", fct.Error);
        Assert.Equal("failed", fct.Audits.Single(a => a.Name == "unique(order_id)").Status);
        Assert.Equal(12, fct.Audits.Single(a => a.Name == "unique(order_id)").FailingRows);
        // The old table is untouched: same rows, same sum.
        Assert.Equal(12, f.Count("fct_orders"));
        Assert.Equal(before, Convert.ToDecimal(f.Scalar($"SELECT SUM(amount) FROM {Q(f, "fct_orders")}")));
        // Descendants are skipped, naming the failed upstream.
        var dim = Node(r, "dim_customers");
        Assert.Equal(SqbNodeStatus.Skipped, dim.Status);
        Assert.Equal("fct_orders", dim.SkippedBecause);
        Assert.Equal(SqbNodeStatus.Skipped, Node(r, "order_amounts_match_payments").Status);
        // Independent branches still ran.
        Assert.Equal(SqbNodeStatus.Succeeded, Node(r, "payments_log").Status);
        using var s = f.Session();
        Assert.DoesNotContain(s.ReadCatalog(new[] { f.Schema }).Relations, x => x.Name.Contains("__sqb_"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Warn_audit_reports_without_blocking(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        f.Write("seeds/raw_customers.csv", f.Read("seeds/raw_customers.csv").TrimEnd() + "\n9,Alan,Turing,,2024-05-01\n");
        var r = f.Build();
        var dim = Node(r, "dim_customers");
        Assert.Equal(SqbNodeStatus.Warned, dim.Status);
        var warn = dim.Audits.Single(a => a.Name == "not_null(email)");
        Assert.Equal("warned", warn.Status);
        Assert.Equal(1, warn.FailingRows);
        Assert.Equal(9, f.Count("dim_customers"));
        Assert.Equal("succeeded", r.Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Incremental_merge_applies_only_newer_rows_and_full_refresh_rebuilds(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        Assert.Equal("succeeded", f.Build().Status);
        Assert.Equal(11, f.Count("payments_log"));

        // One new payment, and a correction of payment 1001 with a later timestamp.
        var csv = f.Read("seeds/raw_payments.csv").TrimEnd()
            .Replace("1001,101,card,35.50,2024-04-01 10:15:00", "1001,101,card,36.50,2024-06-01 10:15:00")
            + "\n1012,110,card,11.00,2024-06-02 09:00:00\n";
        f.Write("seeds/raw_payments.csv", csv);
        // fct_orders is not rebuilt here, so the amounts test would rightly fail: skip tests for this partial build.
        var r = f.Build(new BuildOptions { Select = new[] { "+payments_log" }, NoTests = true });
        Assert.True(r.Status == "succeeded", Errors(r));
        var log = Node(r, "payments_log");
        Assert.Equal("incremental", log.Action);
        Assert.Equal(2L, log.Rows);                               // only rows newer than max(paid_at)
        Assert.Equal(12, f.Count("payments_log"));
        Assert.Equal(36.50m, Convert.ToDecimal(f.Scalar($"SELECT amount FROM {Q(f, "payments_log")} WHERE payment_id = 1001")));

        var full = f.Build(new BuildOptions { Select = new[] { "payments_log" }, FullRefresh = true });
        Assert.Equal("full_refresh", Node(full, "payments_log").Action);
        Assert.Equal(12, f.Count("payments_log"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Select_builds_only_the_selection_and_its_tests(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        var r = f.Build(new BuildOptions { Select = new[] { "+stg_orders" } });
        Assert.Equal(new[] { "raw_orders", "stg_orders" }, r.Nodes.Select(n => n.Name).OrderBy(n => n));
        Assert.NotNull(f.Find("stg_orders"));
        Assert.Null(f.Find("fct_orders"));
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void DeferTo_reads_unselected_upstreams_from_the_other_target(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        Assert.Equal("succeeded", f.Build(target: "prod").Status);
        var r = f.Build(new BuildOptions { Select = new[] { "fct_orders" }, DeferTo = "prod", NoTests = true });
        Assert.Equal("succeeded", r.Status);
        Assert.Equal(new[] { "fct_orders" }, r.Nodes.Select(n => n.Name));
        Assert.Equal(12, f.Count("fct_orders"));
        Assert.Null(f.Find("stg_orders"));   // read from prod, not built in dev
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void Failed_model_sql_reports_the_engine_error_and_skips_downstream(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        f.Write("models/staging/stg_orders.sql", "SELECT no_such_column FROM __seed(\"raw_orders\")\n");
        var r = f.Build();
        var stg = Node(r, "stg_orders");
        Assert.Equal(SqbNodeStatus.Failed, stg.Status);
        Assert.StartsWith("W010", stg.ErrorCode);
        Assert.Contains("no_such_column", stg.Error);
        Assert.Equal(SqbNodeStatus.Skipped, Node(r, "fct_orders").Status);
        Assert.Equal(SqbNodeStatus.Skipped, Node(r, "dim_customers").Status);
        Assert.Equal(SqbNodeStatus.Succeeded, Node(r, "stg_customers").Status);
    }

    [SkippableTheory]
    [InlineData("duckdb")]
    [InlineData("postgres")]
    public void A_view_whose_columns_change_is_replaced(string engine)
    {
        TestEngine.SkipUnlessAvailable(engine);
        using var f = new BuildFixture(engine);
        Assert.Equal("succeeded", f.Build().Status);
        // Drop a column from the middle: PostgreSQL refuses CREATE OR REPLACE VIEW for that.
        f.Write("models/staging/stg_customers.sql", f.Read("models/staging/stg_customers.sql").Replace("  last_name,\n", ""));
        var r = f.Build(new BuildOptions { Select = new[] { "stg_customers" } });
        Assert.True(r.Status == "succeeded", string.Join("; ", r.Nodes.Select(n => n.Error)));
        using var s = f.Session();
        var columns = s.ColumnsOf(new RelationName(f.Schema, "stg_customers")).Select(c => c.Name).ToList();
        Assert.Equal(new[] { "customer_id", "first_name", "email", "signup_date" }, columns);
    }

    [SkippableFact]
    public void A_table_altered_while_its_rebuild_is_audited_is_replaced_by_the_models_shape_not_filled_in_place()
    {
        // The swap decides between filling the old table in place (same columns) and dropping and renaming (columns
        // changed). It must decide on the target's columns as they are at the swap: a DBA's ALTER while the new rows are
        // audited (here the audit itself runs it, so the test does not race) must not leave the DBA's column in a table the
        // build reports as rebuilt from the model.
        TestEngine.SkipUnlessAvailable("postgres");
        using var f = new BuildFixture("postgres");
        var target = Q(f, "widened");
        var alter = $"{f.Schema}.dba_alter";   // lowercase: no quotes needed inside the header string
        f.Write("models/widened.sql", $"""
            MODEL (materialized table, audits [expression_is_true("{alter}()")]);
            SELECT 1 AS id, 'x' AS name
            """);
        using (var s = f.Session())
        {
            s.Execute(new SqlStatement("TEST", "schema", $"CREATE SCHEMA IF NOT EXISTS {f.Schema}"));
            s.Execute(new SqlStatement("TEST", "function", $"""
                CREATE FUNCTION {alter}() RETURNS boolean LANGUAGE plpgsql AS $f$
                BEGIN
                    ALTER TABLE IF EXISTS {target} ADD COLUMN IF NOT EXISTS dba_note text DEFAULT 'dba';
                    RETURN true;
                END $f$
                """));
        }

        var options = new BuildOptions { Select = new[] { "widened" } };
        Assert.Equal("succeeded", f.Build(options).Status);   // no table yet: the audit alters nothing
        Assert.Equal(new[] { "id", "name" }, Columns(f, "widened"));

        var r = f.Build(options);
        Assert.True(r.Status == "succeeded", Errors(r));
        Assert.Equal(new[] { "id", "name" }, Columns(f, "widened"));
        Assert.Equal(1, f.Count("widened"));
    }

    [Fact]
    public void Plan_reads_without_creating_the_database_file()
    {
        using var f = new BuildFixture("duckdb");
        var plan = ProjectBuild.Plan(f.Compile(), new BuildOptions(), Logging.NullLog.Instance);
        Assert.False(File.Exists(Path.Combine(f.Dir, "shop.duckdb")));
        Assert.Equal(10, plan.Steps.Count);
        Assert.All(plan.Steps.Where(s => s.NodeType == "model"), s => Assert.Equal("create", s.Action));
        Assert.Equal(new[] { "raw_customers", "raw_orders", "raw_payments" }, plan.Steps.Take(3).Select(s => s.Name).OrderBy(n => n));
        Assert.Equal("test", plan.Steps.Last().NodeType);
    }

    [Theory]
    [InlineData("Environment")]
    [InlineData("ChangesOnly")]
    [InlineData("IncludeStaleUpstreams")]
    public void Virtual_only_parameters_are_blocked_in_direct_mode_before_anything_is_touched(string parameter)
    {
        using var f = new BuildFixture("duckdb");
        var options = parameter switch
        {
            "Environment" => new BuildOptions { Environment = "pr_1" },
            "ChangesOnly" => new BuildOptions { ChangesOnly = true },
            _ => new BuildOptions { IncludeStaleUpstreams = true },
        };
        var ex = Assert.Throws<SqbException>(() => f.Build(options));
        Assert.Equal("C263", ex.Code);
        Assert.Equal($"build does not support -{parameter} unless virtual_environments = true", ex.Message);
        Assert.Equal(SqbErrorKind.InvalidOperation, ex.Kind);
        Assert.False(File.Exists(Path.Combine(f.Dir, "shop.duckdb")));
    }

    [Fact]
    public void Compile_error_writes_nothing()
    {
        using var f = new BuildFixture("duckdb");
        f.Write("models/marts/broken.sql", "SELECT * FROM __ref(\"no_such_model\")\n");
        var ex = Assert.Throws<SqbException>(() => f.Build());
        Assert.Equal("P011", ex.Code);
        Assert.Contains("models/marts/broken.sql:1", ex.Message);
        Assert.False(File.Exists(Path.Combine(f.Dir, "shop.duckdb")));
    }

    [SkippableFact]
    public void Name_too_long_for_the_engine_is_refused_before_anything_is_created()
    {
        Skip.IfNot(TestEngine.PostgresAvailable, "no PostgreSQL");
        using var f = new BuildFixture("postgres");
        var longName = "m_" + new string('x', 55);   // 57 bytes: fits, but its staging name does not
        f.Write($"models/{longName}.sql", "SELECT 1 AS one\n");
        var ex = Assert.Throws<SqbException>(() => f.Build());
        Assert.Equal("W002", ex.Code);
        Assert.Contains(longName, ex.Message);
        Assert.Null(f.Find("stg_orders"));
    }

    private static string[] Columns(BuildFixture f, string name)
    {
        using var s = f.Session();
        return s.ColumnsOf(new RelationName(f.Schema, name)).Select(c => c.Name).ToArray();
    }

    private static string Errors(SqbBuildResult r) =>
        string.Join("; ", r.Nodes.Where(n => n.Error is not null).Select(n => $"{n.Name}: {n.Error}"));

    private static string Q(BuildFixture f, string name) =>
        WarehouseFactory.Dialect(f.Engine == "postgres" ? SQLBuild.Core.Project.AdapterKind.Postgres : SQLBuild.Core.Project.AdapterKind.DuckDb)
            .Qualify(new RelationName(f.Schema, name));
}

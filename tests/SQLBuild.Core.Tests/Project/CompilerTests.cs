using System.Security.Cryptography;
using System.Text;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

public class CompilerTests
{
    [Fact]
    public void Realistic_project_compiles_with_every_field()
    {
        using var fx = new ProjectFixture(ShopProject.Files());
        var before = fx.AllFiles();
        var p = fx.Compile();

        // config
        var c = p.Config;
        Assert.Equal("shop", c.Name);
        Assert.Equal(AdapterKind.DuckDb, c.Adapter);
        Assert.Equal(fx.Dir, c.ProjectDirectory);
        Assert.Equal("dev", c.DefaultTarget);
        Assert.True(c.Settings.VirtualEnvironments);
        Assert.Equal(8, c.Settings.Concurrency);
        Assert.True(c.Settings.ChangesOnly);
        Assert.Equal(5, c.Janitor.MaxCheckpoints);
        Assert.Equal(7, c.Janitor.RetentionDays);
        Assert.Equal(14, c.Janitor.HistoryDays);
        Assert.Equal(new[] { "dev", "prod" }, c.Targets.Keys.Order(StringComparer.Ordinal));
        var dev = c.ActiveTarget;
        Assert.Same(c.Targets["dev"], dev);
        Assert.Equal("dev", dev.Name);
        Assert.Equal("dev", dev.Schema);
        Assert.Null(dev.ChangesOnly);
        Assert.Equal("local", dev.ConnectionName);
        Assert.Equal("local", dev.Connection.Name);
        Assert.Equal(AdapterKind.DuckDb, dev.Connection.Adapter);
        Assert.Equal("shop.duckdb", dev.Connection.Get("database"));
        Assert.Equal(fx.Dir, dev.Connection.ProjectDirectory);
        Assert.Null(dev.Connection.Password);
        Assert.Null(dev.Connection.ConnectionString);
        Assert.NotNull(dev.State);
        Assert.Equal("duckdb", dev.State!.Backend);
        Assert.Equal("sqb_state", dev.State.Schema);
        Assert.True(dev.State.AllowReset);
        Assert.Equal("dev", dev.State.UnsuffixedVirtualEnv);
        Assert.Equal("dev.state", dev.State.Connection!.Name);
        Assert.Equal("state.duckdb", dev.State.Connection.Get("database"));
        var prod = c.Targets["prod"];
        Assert.Equal("prod", prod.Schema);
        Assert.False(prod.ChangesOnly);
        Assert.Equal(":memory:", prod.Connection.Get("database"));
        Assert.Equal("duckdb", prod.State!.Backend);
        Assert.Equal("sqlbuild_state", prod.State.Schema);
        Assert.False(prod.State.AllowReset);
        Assert.Null(prod.State.UnsuffixedVirtualEnv);
        Assert.Null(prod.State.Connection);

        // models
        Assert.Equal(new[] { "dim_customers", "fct_orders", "stg_customers", "stg_orders" }, p.Models.Keys);
        var stg = p.Models["stg_orders"];
        Assert.Equal("models/staging/stg_orders.sql", stg.RelativePath);
        Assert.Equal(Path.Combine(fx.Dir, "models", "staging", "stg_orders.sql"), stg.FullPath);
        Assert.Equal(Materialization.View, stg.Config.Materialized);
        Assert.Equal(new[] { "staging", "daily" }, stg.Config.Tags);
        Assert.Equal("orders, cleaned; it's fine", stg.Config.Description);
        Assert.Empty(stg.Config.Audits);
        Assert.Equal(10, stg.SqlStartLine);
        Assert.Equal("SELECT id AS order_id, customer_id, status, amount, updated_at\nFROM __source(\"raw_orders\")", stg.Sql);
        var srcRef = Assert.Single(stg.References);
        Assert.Equal(new Reference(ReferenceKind.Source, "raw_orders", stg.Sql.IndexOf("__source", StringComparison.Ordinal), "__source(\"raw_orders\")".Length,
            new SourceLocation("models/staging/stg_orders.sql", 11, 6)), srcRef);

        var stgc = p.Models["stg_customers"];
        Assert.Equal(Materialization.View, stgc.Config.Materialized);
        Assert.Empty(stgc.Config.Tags);
        Assert.Null(stgc.Config.Description);
        Assert.Equal(1, stgc.SqlStartLine);
        Assert.Equal(new[] { (ReferenceKind.Source, "raw_customers"), (ReferenceKind.Seed, "country_codes") },
            stgc.References.Select(r => (r.Kind, r.Name)));

        var dim = p.Models["dim_customers"];
        Assert.Equal(Materialization.Table, dim.Config.Materialized);
        Assert.Equal(new[] { "finance" }, dim.Config.Tags);
        Assert.Equal("select * from __ref(\"stg_customers\")", dim.Sql);
        Assert.Equal(2, dim.SqlStartLine);

        var fct = p.Models["fct_orders"];
        var fc = fct.Config;
        Assert.Equal(Materialization.Incremental, fc.Materialized);
        Assert.Equal(IncrementalStrategy.Merge, fc.IncrementalStrategy);
        Assert.Equal(new[] { "order_id" }, fc.UniqueKey);
        Assert.Equal("updated_at", fc.Cursor);
        Assert.Equal(new[] { "finance", "daily" }, fc.Tags);
        Assert.Equal(16, fct.SqlStartLine);
        Assert.EndsWith("FROM __ref(\"stg_orders\"))", fct.Sql);
        Assert.Contains("'x;y' AS s -- __ref(\"not_a_ref\")", fct.Sql);
        Assert.Equal(new[] { "stg_orders", "dim_customers", "stg_orders" }, fct.References.Select(r => r.Name));
        Assert.Equal(new[] { 17, 18, 19 }, fct.References.Select(r => r.Location.Line));
        Assert.Equal("__ref( \"dim_customers\" )", fct.Sql.Substring(fct.References[1].Start, fct.References[1].Length));

        var audits = fc.Audits;
        Assert.Equal(6, audits.Count);
        Assert.Equal(new[] { "not_null(order_id)", "unique(order_id)", "accepted_values(status)", "relationships(customer_id)", "expression_is_true", "positive(amount)" },
            audits.Select(a => a.Display));
        Assert.Equal(new[] { 8, 9, 10, 11, 12, 13 }, audits.Select(a => a.Location.Line));
        Assert.All(audits, a => Assert.Equal("models/marts/fct_orders.sql", a.Location.File));
        Assert.Equal(AuditSeverity.Error, audits[0].Severity);
        Assert.Equal(AuditSeverity.Warn, audits[1].Severity);
        Assert.Equal(new[] { "new", "paid" }, audits[2].Values);
        Assert.Equal("dim_customers", audits[3].ToModel);
        Assert.Equal("customer_id", audits[3].ToField);
        Assert.Equal("amount >= 0", audits[4].Expression);
        Assert.Null(audits[4].Column);
        Assert.Equal("amount", audits[5].Column);
        Assert.Equal(AuditSeverity.Warn, audits[5].Severity);
        Assert.Equal(new Dictionary<string, string> { ["min_value"] = "0" }, audits[5].Arguments);

        // seeds
        var seed = Assert.Single(p.Seeds.Values);
        Assert.Equal("country_codes", seed.Name);
        Assert.Equal("seeds/country_codes.csv", seed.RelativePath);
        Assert.Equal(new[]
        {
            new SeedColumn("code", SeedColumnType.Text), new SeedColumn("name", SeedColumnType.Text),
            new SeedColumn("active", SeedColumnType.Boolean), new SeedColumn("joined", SeedColumnType.Date),
            new SeedColumn("updated_at", SeedColumnType.Timestamp), new SeedColumn("rate", SeedColumnType.Decimal),
        }, seed.Columns);
        var rows = seed.ReadRows().ToList();
        Assert.Equal(2, seed.RowCount);
        Assert.Equal(new object?[] { "US", "United States", true, new DateOnly(2024, 1, 5), new DateTime(2024, 1, 5, 10, 0, 0), 1.5m }, rows[0]);
        Assert.Equal(new object?[] { "DE", "Germany, \"Federal\" Republic", false, new DateOnly(2023, 12, 31), new DateTime(2024, 2, 1, 8, 30, 0, 125), 2m }, rows[1]);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ShopProject.CountryCodes))).ToLowerInvariant(), seed.ContentHash);

        // sources
        Assert.Equal(new[] { "raw_customers", "raw_orders" }, p.Sources.Keys);
        var ro = p.Sources["raw_orders"];
        Assert.Equal(("raw", "orders", (string?)null), (ro.Schema, ro.Table, ro.Database));
        Assert.Equal(new SourceLocation("sources/raw.yml", 2), ro.Location);
        var rc = p.Sources["raw_customers"];
        Assert.Equal(("raw", "raw_customers", "lake"), (rc.Schema, rc.Table, rc.Database));

        // generic audits and tests
        var positive = p.GenericAudits["positive"];
        Assert.Equal("audits/positive.sql", positive.RelativePath);
        Assert.Equal("SELECT * FROM @relation WHERE @column < @min_value", positive.Sql);
        Assert.Equal(2, positive.SqlStartLine);
        Assert.Empty(positive.References);
        var test = Assert.Single(p.Tests.Values);
        Assert.Equal("orders_have_customers", test.Name);
        Assert.Equal("tests/orders_have_customers.sql", test.RelativePath);
        Assert.Equal(1, test.SqlStartLine);
        Assert.EndsWith("WHERE d.customer_id IS NULL", test.Sql);
        Assert.Equal(new[] { "fct_orders", "dim_customers" }, test.References.Select(r => r.Name));

        // graph
        Assert.Equal(new[] { "country_codes", "stg_customers", "dim_customers", "stg_orders", "fct_orders" }, p.TopologicalOrder);
        Assert.Equal(new[] { "stg_orders", "dim_customers" }, p.Parents["fct_orders"]);
        Assert.Equal(new[] { "country_codes" }, p.Parents["stg_customers"]);
        Assert.Empty(p.Parents["stg_orders"]);
        Assert.Empty(p.Parents["country_codes"]);
        Assert.Equal(new[] { "stg_customers" }, p.Children["country_codes"]);
        Assert.Equal(new[] { "fct_orders" }, p.Children["dim_customers"]);
        Assert.Empty(p.Children["fct_orders"]);
        Assert.Equal(NodeKind.Seed, p.KindOf("country_codes"));
        Assert.Equal(NodeKind.Source, p.KindOf("raw_orders"));
        Assert.Equal(NodeKind.Model, p.KindOf("fct_orders"));

        Assert.Equal(before, fx.AllFiles());
    }

    [Fact]
    public void Topological_order_breaks_ties_by_name_and_puts_every_node_after_its_parents()
    {
        using var fx = ProjectFixture.With(
            ("models/z.sql", "select 1"),
            ("models/b.sql", "select * from __ref(\"z\")"),
            ("models/a.sql", "select * from __ref(\"z\") join __ref(\"y\") on true"),
            ("models/y.sql", "select 2"),
            ("seeds/m.csv", "x\n1\n"));
        var p = fx.Compile();
        Assert.Equal(new[] { "m", "y", "z", "a", "b" }, p.TopologicalOrder);
        Assert.Equal(new[] { "z", "y" }, p.Parents["a"]);
        Assert.Equal(new[] { "a", "b" }, p.Children["z"]);
    }

    [Fact]
    public void Cycle_is_printed_from_the_smallest_name_and_names_the_file_and_line()
    {
        using var fx = ProjectFixture.With(
            ("models/c.sql", "select * from __ref(\"a\")"),
            ("models/b.sql", "select * from __ref(\"c\")"),
            ("models/a.sql", "-- a reads b\nselect *\nfrom __ref(\"b\")"),
            ("models/d.sql", "select * from __ref(\"a\")"));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.Cycle, ex.Code);
        Assert.Equal("models/a.sql:3: cycle in model references: a -> b -> c -> a", ex.Message);
        Assert.Equal(SqbErrorKind.InvalidData, ex.Kind);
    }

    [Fact]
    public void Self_reference_is_a_cycle()
    {
        using var fx = ProjectFixture.With(("models/x/loop.sql", "select * from __ref(\"loop\")"));
        var ex = fx.Fails();
        Assert.Equal("models/x/loop.sql:1: cycle in model references: loop -> loop", ex.Message);
    }

    [Fact]
    public void Duplicate_model_names_in_two_folders_name_both_files()
    {
        using var fx = ProjectFixture.With(("models/a/orders.sql", "select 1"), ("models/b/orders.sql", "select 2"));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.DuplicateName, ex.Code);
        Assert.Contains("duplicate name 'orders'", ex.Message);
        Assert.Contains("models/a/orders.sql", ex.Message);
        Assert.Contains("models/b/orders.sql", ex.Message);
    }

    [Fact]
    public void Seed_and_model_share_one_namespace()
    {
        using var fx = ProjectFixture.With(("models/customers.sql", "select 1"), ("seeds/customers.csv", "id\n1\n"));
        var ex = fx.Fails();
        ErrorAssert.Is(ex, ErrorCodes.DuplicateName, "duplicate name 'customers': models/customers.sql and seeds/customers.csv");
    }

    [Fact]
    public void Source_and_model_share_one_namespace()
    {
        using var fx = ProjectFixture.With(
            ("models/orders.sql", "select 1"),
            ("sources/raw.yml", "sources:\n  - name: orders\n    schema: raw\n"));
        var ex = fx.Fails();
        ErrorAssert.Is(ex, ErrorCodes.DuplicateName, "duplicate name 'orders': models/orders.sql and sources/raw.yml:2");
    }

    [Fact]
    public void Tests_have_their_own_namespace()
    {
        using var fx = ProjectFixture.With(("models/orders.sql", "select 1"), ("tests/orders.sql", "select * from __ref('orders') where 1 = 0"));
        var p = fx.Compile();
        Assert.Equal("orders", p.Tests["orders"].Name);
        Assert.Equal("orders", p.Models["orders"].Name);
    }

    [Theory]
    [InlineData("models/Orders.sql", "model")]
    [InlineData("models/stg/2orders.sql", "model")]
    [InlineData("models/my-orders.sql", "model")]
    [InlineData("seeds/Codes.csv", "seed")]
    [InlineData("tests/Check.sql", "test")]
    [InlineData("audits/Positive.sql", "audit")]
    public void Invalid_resource_names_are_D016_naming_the_file(string path, string what)
    {
        using var fx = ProjectFixture.With((path, path.EndsWith(".csv") ? "a\n1\n" : "select 1"));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.InvalidModelName, ex.Code);
        var stem = Path.GetFileNameWithoutExtension(path);
        Assert.Equal($"{path}: invalid {what} name '{stem}': expected lowercase snake_case (^[a-z][a-z0-9_]*$)", ex.Message);
    }

    [Fact]
    public void Test_and_audit_references_are_checked()
    {
        using (var fx = ProjectFixture.With(("models/a.sql", "select 1"), ("tests/t.sql", "\n\nselect * from __ref(\"b\")")))
            ErrorAssert.Is(fx.Fails(), ErrorCodes.UnknownReference, "tests/t.sql:3: unknown model 'b' in __ref(\"b\")");
        using (var fx = ProjectFixture.With(("models/a.sql", "select 1"), ("audits/g.sql", "AUDIT ();\nselect * from @relation r join __seed('nope') n on true")))
            ErrorAssert.Is(fx.Fails(), ErrorCodes.UnknownReference, "audits/g.sql:2: unknown seed 'nope' in __seed('nope')");
    }

    [Fact]
    public void Generic_audit_references_are_recorded()
    {
        using var fx = ProjectFixture.With(
            ("models/a.sql", "select 1 as id"),
            ("audits/in_a.sql", "select * from @relation where @column not in (select id from __ref(\"a\"))"));
        var audit = fx.Compile().GenericAudits["in_a"];
        var r = Assert.Single(audit.References);
        Assert.Equal((ReferenceKind.Ref, "a"), (r.Kind, r.Name));
    }

    [Fact]
    public void Audit_named_like_a_builtin_is_rejected()
    {
        using var fx = ProjectFixture.With(("audits/unique.sql", "select 1"));
        ErrorAssert.Is(fx.Fails(), ErrorCodes.AuditInvalid, "audits/unique.sql: 'unique' is a built-in audit");
    }

    [Fact]
    public void Empty_test_is_an_error()
    {
        using var fx = ProjectFixture.With(("tests/t.sql", "-- nothing yet\n"));
        ErrorAssert.Is(fx.Fails(), ErrorCodes.ModelHeader, "tests/t.sql:1: test has no SQL");
    }

    [Fact]
    public void Missing_folder_or_project_file_is_P005()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sqb-missing-" + Guid.NewGuid().ToString("N"));
        var ex = Assert.Throws<SqbException>(() => ProjectCompiler.Compile(missing));
        Assert.Equal(ErrorCodes.ProjectNotFound, ex.Code);
        Assert.Equal($"project folder '{missing}' does not exist", ex.Message);
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);

        using var fx = new ProjectFixture(withDefaultConfig: false);
        var ex2 = fx.Fails();
        Assert.Equal(ErrorCodes.ProjectNotFound, ex2.Code);
        Assert.Equal($"no sqlbuild_project.toml in '{fx.Dir}'", ex2.Message);
    }

    [Fact]
    public void Empty_project_compiles_to_empty_graph()
    {
        using var fx = new ProjectFixture();
        var p = fx.Compile();
        Assert.Empty(p.Models);
        Assert.Empty(p.TopologicalOrder);
        Assert.Empty(Selector.Resolve(p, null, null));
    }

    [Fact]
    public void Crlf_files_compile_with_lf_sql_and_right_lines()
    {
        using var fx = ProjectFixture.With(("models/a.sql", "MODEL (\r\n  materialized table\r\n);\r\n\r\nselect 1\r\nfrom __ref(\"b\");\r\n"),
            ("models/b.sql", "select 2"));
        var a = fx.Compile().Models["a"];
        Assert.Equal("select 1\nfrom __ref(\"b\")", a.Sql);
        Assert.Equal(5, a.SqlStartLine);
        Assert.Equal(6, a.References[0].Location.Line);
    }

    [Fact]
    public void Hidden_files_and_other_extensions_are_ignored()
    {
        using var fx = ProjectFixture.With(
            ("models/a.sql", "select 1"),
            ("models/.#a.sql", "garbage ("),
            ("models/.drafts/b.sql", "garbage ("),
            ("models/readme.md", "# notes"),
            ("seeds/notes.txt", "x"));
        var p = fx.Compile();
        Assert.Equal(new[] { "a" }, p.Models.Keys);
        Assert.Empty(p.Seeds);
    }
}

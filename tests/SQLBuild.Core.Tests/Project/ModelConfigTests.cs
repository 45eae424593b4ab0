using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

/// <summary>
/// A model's config as upstream layers it ([defaults] -> the nearest [path_defaults] -> MODEL header), the upstream
/// MODEL keys (columns, model_schema, contract, hooks, full_refresh, cursor_type/grain, run_despite_unchanged,
/// row_diff_*, enabled; the rest accepted with a warning), project variables, and which of them make a new version.
/// </summary>
public class ModelConfigTests
{
    private static ProjectFixture Project(string tomlExtra, params (string Path, string Content)[] files)
    {
        var fx = new ProjectFixture(new Dictionary<string, string> { ["sqlbuild_project.toml"] = ProjectFixture.MinimalToml + "\n" + tomlExtra });
        foreach (var (path, content) in files) fx.Write(path, content);
        return fx;
    }

    private static ModelConfig Config(string header, string tomlExtra = "", string path = "models/m.sql")
    {
        using var fx = Project(tomlExtra, (path, header + "\nSELECT 1 AS id"));
        return fx.Compile().Models[Path.GetFileNameWithoutExtension(path)].Config;
    }

    private static SqbException Fails(string header, string tomlExtra = "", params (string Path, string Content)[] more)
    {
        using var fx = Project(tomlExtra, more.Append(("models/m.sql", header + "\nSELECT 1 AS id")).ToArray());
        return fx.Fails();
    }

    // ---- layers ------------------------------------------------------------------------------------

    private const string Layers = """
        [defaults]
        materialized = "table"
        tags = ["managed"]
        incremental_strategy = "delete_insert"
        row_diff_exclude_columns = ["loaded_at"]
        row_diff_tolerances = { amount = 0.01, price = { absolute = 0.5 } }

        [path_defaults."models/staging"]
        materialized = "view"
        tags = ["staging"]

        [path_defaults."staging/orders"]
        tags = ["orders"]
        audits = ["not_null(id)"]

        [path_defaults."marts/*"]
        tags = ["any_mart"]

        [path_defaults."**"]
        description = "everything"
        """;

    [Fact]
    public void Defaults_then_the_nearest_path_default_then_the_header_with_tags_unioned()
    {
        using var fx = Project(Layers,
            ("models/top.sql", "SELECT 1 AS id"),
            ("models/staging/stg_a.sql", "MODEL (tags [mine]);\nSELECT 1 AS id"),
            ("models/staging/orders/stg_b.sql", "MODEL (materialized table, row_diff_tolerances (price (relative 0.1)));\nSELECT 1 AS id"),
            ("models/marts/finance/fct.sql", "SELECT 1 AS id"));
        var m = fx.Compile().Models;
        // No folder key matches models/: only "**" (a wildcard key loses to any literal one).
        Assert.Equal((Materialization.Table, "managed", "everything"), (m["top"].Config.Materialized, string.Join(",", m["top"].Config.Tags), m["top"].Config.Description));
        // staging: the literal key wins over "**"; the header's tags are added.
        Assert.Equal((Materialization.View, "managed,staging,mine", (string?)null),
            (m["stg_a"].Config.Materialized, string.Join(",", m["stg_a"].Config.Tags), m["stg_a"].Config.Description));
        // staging/orders: the deepest literal key, alone (path defaults are not merged with each other).
        var b = m["stg_b"].Config;
        Assert.Equal((Materialization.Table, "managed,orders"), (b.Materialized, string.Join(",", b.Tags)));
        Assert.Equal("not_null(id)", Assert.Single(b.Audits).Display);
        Assert.Equal(new[] { "loaded_at" }, b.RowDiffExcludeColumns);
        Assert.Equal("0.01", b.RowDiffTolerances["amount"]);
        var price = Assert.IsType<Dictionary<string, object>>(b.RowDiffTolerances["price"]);
        Assert.Equal(("0.5", "0.1"), (price["absolute"], price["relative"]));       // deep-merged
        // marts/*: a wildcard beats "**" (more literal folders).
        Assert.Equal(new[] { "managed", "any_mart" }, m["fct"].Config.Tags);
        // [defaults] incremental_strategy does not apply to a table: inherited, it is simply not used.
        Assert.Equal(IncrementalStrategy.Append, b.IncrementalStrategy);
    }

    [Fact]
    public void Two_wildcard_path_defaults_that_match_equally_are_an_error()
    {
        var ex = Fails("", "[path_defaults.\"a/*\"]\ntags = [\"x\"]\n\n[path_defaults.\"*/b\"]\ntags = [\"y\"]\n",
            ("models/a/b/n.sql", "SELECT 1 AS id"));
        Assert.Equal("sqlbuild_project.toml:12: models/a/b/n.sql matches [path_defaults.\"a/*\"] and [path_defaults.\"*/b\"] equally: make one of them more specific", ex.Message);
    }

    [Theory]
    [InlineData("[defaults]\ncursor = \"id\"\n", "sqlbuild_project.toml:12: 'cursor' is not allowed in [defaults]: set it in a [path_defaults] table or the MODEL header")]
    [InlineData("[defaults]\nmaterialized = \"tabel\"\n", "sqlbuild_project.toml:12: [defaults] materialized: expected view, table or incremental, got string 'tabel'")]
    [InlineData("[path_defaults.\"../x\"]\ntags = [\"a\"]\n", "sqlbuild_project.toml:11: path_defaults.\"../x\": expected a folder below models/ such as \"staging\" or \"marts/*\"")]
    [InlineData("[path_defaults.x]\naudits = [\"not_null(\"]\n", "sqlbuild_project.toml:12: expected a value for not_null(...), got ']'")]
    public void Bad_layers_name_the_toml_line(string toml, string message) => Assert.Equal(message, Fails("", toml).Message);

    [Fact]
    public void An_inherited_strategy_that_needs_a_key_names_the_model_and_the_layer()
    {
        var ex = Fails("MODEL (materialized incremental);", "[defaults]\nincremental_strategy = \"merge\"\n");
        Assert.Equal("models/m.sql: incremental_strategy merge (from sqlbuild_project.toml:12 [defaults]) needs unique_key (a column or [a, b])", ex.Message);
    }

    // ---- upstream MODEL keys -----------------------------------------------------------------------

    [Fact]
    public void Columns_declare_types_nullability_descriptions_and_column_audits()
    {
        var c = Config("""
            MODEL (
              columns (
                id (type INTEGER, nullable false, description "the key", audits [not_null, unique(severity warn)]),
                amount (type DECIMAL(18, 2), audits [accepted_values (values [1, 2])]),
                at (type "TIMESTAMP WITH TIME ZONE"),
                note,
              ),
              audits [expression_is_true("id > 0")],
            );
            """, "[settings]\ndefault_audit_severity = \"warn\"\n");
        Assert.Equal(new[]
        {
            new ModelColumn("id", "INTEGER", false, "the key"), new ModelColumn("amount", "DECIMAL(18,2)", null, null),
            new ModelColumn("at", "TIMESTAMP WITH TIME ZONE", null, null), new ModelColumn("note", null, null, null),
        }, c.Columns);
        Assert.Equal(new[] { "not_null(id)", "unique(id)", "accepted_values(amount)", "expression_is_true" }, c.Audits.Select(a => a.Display));
        Assert.Equal(new[] { AuditSeverity.Warn, AuditSeverity.Warn, AuditSeverity.Warn, AuditSeverity.Warn }, c.Audits.Select(a => a.Severity));
        Assert.Equal(new[] { 3, 3, 4, 8 }, c.Audits.Select(a => a.Location.Line));
    }

    [Fact]
    public void Model_schema_binds_a_reusable_schema_with_its_parent_and_the_model_may_only_add_audits()
    {
        using var fx = Project("",
            ("schemas/base.sql", "SCHEMA (name base, columns (id (type INTEGER, audits [not_null])));"),
            ("schemas/orders/order.sql", "SCHEMA (name order_shape, extends base, description \"an order\", columns (amount (type DECIMAL)));"),
            ("models/m.sql", "MODEL (model_schema order_shape, columns (id (audits [unique]), extra (type VARCHAR)), contract enforced);\nSELECT 1 AS id"));
        var c = fx.Compile().Models["m"].Config;
        Assert.Equal(new[] { "id", "amount", "extra" }, c.Columns.Select(x => x.Name));
        Assert.Equal(new[] { "base", "order_shape", null }, c.Columns.Select(x => x.FromSchema));
        Assert.Equal(new[] { "not_null(id)", "unique(id)" }, c.Audits.Select(a => a.Display));
        Assert.Equal(("order_shape", "an order", ContractMode.Enforced), (c.ModelSchema, c.Description, c.Contract));

        fx.Write("models/m.sql", "MODEL (model_schema order_shape, columns (id (type BIGINT)));\nSELECT 1 AS id");
        Assert.Equal("models/m.sql:1: column 'id' comes from model_schema 'order_shape': the model may only add audits to it", fx.Fails().Message);
        fx.Write("models/m.sql", "MODEL (model_schema nope);\nSELECT 1 AS id");
        Assert.Equal("models/m.sql:1: model_schema: unknown schema 'nope'; schemas: base, order_shape", fx.Fails().Message);
        fx.Write("schemas/base.sql", "SCHEMA (name base, extends order_shape, columns (id (type INTEGER)));");
        Assert.StartsWith("schemas/", fx.Fails().Message);
        Assert.Contains("schema inheritance cycle: ", fx.Fails().Message);
    }

    [Theory]
    [InlineData("MODEL (contract enforced);", "models/m.sql:1: contract enforced needs the output's columns: columns (name (type ...), ...) or model_schema NAME")]
    [InlineData("MODEL (contract strict);", "models/m.sql:1: contract: expected enforced or none, got 'strict'")]
    [InlineData("MODEL (columns (id (tpye INTEGER)));", "models/m.sql:1: unknown column key 'tpye' in column 'id'; did you mean 'type'?")]
    [InlineData("MODEL (columns (id (type INTEGER), ID (type BIGINT)));", "models/m.sql:1: columns: column 'ID' is declared twice (first on line 1)")]
    [InlineData("MODEL (materialized table, cursor_type timestamp);", "models/m.sql:1: cursor_type needs a cursor column (cursor NAME)")]
    [InlineData("MODEL (materialized incremental, cursor id, cursor_type integer, cursor_grain day);", "models/m.sql:1: cursor_grain applies to a timestamp cursor, not cursor_type integer")]
    [InlineData("MODEL (materialized incremental, cursor id, cursor_grain week);", "models/m.sql:1: cursor_grain: expected second, minute, hour, day, month or year, got 'week'")]
    [InlineData("MODEL (materialized table, run_despite_unchanged \"weekly\");", "models/m.sql:1: run_despite_unchanged: expected \"always\", \"<N>h\" or \"<N>d\" (N from 1), got string 'weekly'")]
    [InlineData("MODEL (materialized view, run_despite_unchanged \"24h\");", "models/m.sql:1: run_despite_unchanged only applies to materialized table")]
    [InlineData("MODEL (full_refresh maybe);", "models/m.sql:1: full_refresh: expected true or false, got 'maybe'")]
    [InlineData("MODEL (pre_hooks [sql(\"nope\")]);", "models/m.sql:1: pre_hooks[1]: unknown SQL hook 'nope': expected hooks/sql/nope.sql")]
    [InlineData("MODEL (post_hooks [inline_sql(\"\")]);", "models/m.sql:1: post_hooks[1]: the hook's SQL is empty")]
    [InlineData("MODEL (row_diff_tolerances (amount -1));", "models/m.sql:1: row_diff_tolerances: amount: expected a number from 0 or a block, got number -1")]
    public void Bad_values_of_upstream_keys_are_P010_at_their_line(string header, string message)
    {
        var ex = Fails(header);
        Assert.Equal(ErrorCodes.ModelHeader, ex.Code);
        Assert.Equal(message, ex.Message);
    }

    [Theory]
    [InlineData("\"always\"", null)]
    [InlineData("\"24h\"", 24.0)]
    [InlineData("'7d'", 168.0)]
    [InlineData("always", null)]
    public void Run_despite_unchanged_is_always_or_a_maximum_age(string value, double? hours)
    {
        var r = Config($"MODEL (materialized table, run_despite_unchanged {value});").RunDespiteUnchanged!;
        Assert.Equal(hours is null, r.IsAlways);
        Assert.Equal(hours, r.MaxAge?.TotalHours);
    }

    [Fact]
    public void Hooks_render_variables_and_named_hook_arguments_and_keep_the_run_context()
    {
        using var fx = Project("[vars]\nrole = \"analyst\"\n",
            ("hooks/sql/perms/grant_read.sql", "-- a reusable grant\nGRANT SELECT ON @relation TO @@role; -- @'ignored in comments'\nCOMMENT ON TABLE @relation IS @'note'"),
            ("models/m.sql", """
                MODEL (
                  pre_hooks ["SET search_path = 'x'"],
                  post_hooks [
                    inline_sql("ANALYZE @@CTX:destination.qualified"),
                    sql("grant_read", relation: "@@CTX:destination.qualified", note: "it's built"),
                    python("notify", channel: "#data"),
                  ],
                );
                SELECT 1 AS id
                """));
        var project = fx.Compile();
        var c = project.Models["m"].Config;
        Assert.Equal(new[] { "SET search_path = 'x'" }, c.PreHooks.Select(h => h.Sql));
        Assert.Equal(new[] { "post_hooks[1] inline_sql", "post_hooks[2] sql(\"grant_read\")" }, c.PostHooks.Select(h => h.Label));
        Assert.Equal("ANALYZE @@CTX:destination.qualified", c.PostHooks[0].Sql);
        Assert.Equal("-- a reusable grant\nGRANT SELECT ON @@CTX:destination.qualified TO analyst; -- @'ignored in comments'\nCOMMENT ON TABLE @@CTX:destination.qualified IS 'it''s built'",
            c.PostHooks[1].Sql);
        Assert.Equal("models/m.sql:6: post_hooks python(\"notify\") is an upstream Python hook, which SQLBuild does not run; it is ignored",
            Assert.Single(project.Warnings).Message);
    }

    [Fact]
    public void A_named_hook_call_must_match_its_parameters()
    {
        var hook = ("hooks/sql/g.sql", "GRANT SELECT ON @relation TO @role");
        Assert.Equal("models/m.sql:1: pre_hooks[1]: hooks/sql hook 'g' uses @role, which sql(\"g\", ...) does not pass",
            Fails("MODEL (pre_hooks [sql(\"g\", relation: x)]);", "", hook).Message);
        Assert.Equal("models/m.sql:1: pre_hooks[1]: hook 'g' has no parameter 'rol' (hooks/sql/g.sql uses none by that name)",
            Fails("MODEL (pre_hooks [sql(\"g\", relation: x, role: y, rol: z)]);", "", hook).Message);
    }

    [Fact]
    public void Upstream_keys_without_meaning_are_accepted_with_one_warning_per_key()
    {
        using var fx = Project("",
            ("models/a.sql", "MODEL (replay_on_change forward, schema staging);\nSELECT 1 AS id"),
            ("models/b.sql", "MODEL (\n  materialized table,\n  replay_on_change full\n);\nSELECT 1 AS id"));
        var project = fx.Compile();
        Assert.Equal(new[]
        {
            "models/a.sql:1 and 1 more: MODEL key 'replay_on_change' is an upstream key SQLBuild does not implement; it is ignored",
            "models/a.sql:1: MODEL key 'schema' is an upstream key SQLBuild does not implement; it is ignored: the model is built in the target's schema under its own name",
        }, project.Warnings.Select(w => w.Message));
        Assert.Equal(new[] { "replay_on_change", "schema" }, project.Models["a"].Config.IgnoredKeys);
    }

    [Fact]
    public void Enabled_false_leaves_a_model_out_and_a_reference_to_it_says_so()
    {
        using var fx = Project("", ("models/off.sql", "MODEL (enabled false);\nSELECT 1 AS id"), ("models/on.sql", "SELECT 1 AS id"));
        Assert.Equal(new[] { "on" }, fx.Compile().Models.Keys);
        fx.Write("models/reader.sql", "SELECT * FROM __ref(\"off\")");
        Assert.Equal("models/reader.sql:1: unknown model 'off' in __ref(\"off\"): models/off.sql sets enabled false", fx.Fails().Message);
    }

    // ---- variables ---------------------------------------------------------------------------------

    [Fact]
    public void Variables_are_substituted_in_sql_but_not_in_comments_and_runtime_placeholders_stay()
    {
        using var fx = Project("[vars]\nmin = 10\nregion = \"eu\"\n",
            ("models/m.sql", "-- @@undefined in a comment is left alone\nSELECT * FROM t WHERE amount >= @@min AND region = '@@region' AND at > @@@start"),
            ("tests/t.sql", "SELECT 1 WHERE @@min > 100"));
        var project = fx.Compile();
        Assert.Equal("-- @@undefined in a comment is left alone\nSELECT * FROM t WHERE amount >= 10 AND region = 'eu' AND at > @@@start", project.Models["m"].Sql);
        Assert.Equal("SELECT 1 WHERE 10 > 100", project.Tests["t"].Sql);
    }

    [Fact]
    public void An_undefined_variable_is_P018_at_its_file_and_line()
    {
        using var fx = Project("[vars]\nmin = 10\n", ("models/m.sql", "MODEL (materialized table);\nSELECT *\nFROM t\nWHERE x > @@minimum"));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.VariableUndefined, ex.Code);
        Assert.Equal("models/m.sql:4: undefined variable '@@minimum'; defined: min", ex.Message);
        fx.Write("models/m.sql", "SELECT '@@ENV:SQB_TEST_SURELY_UNSET_VARIABLE' AS x");
        Assert.Equal("models/m.sql:1: environment variable 'SQB_TEST_SURELY_UNSET_VARIABLE' of '@@ENV:SQB_TEST_SURELY_UNSET_VARIABLE' is not set", fx.Fails().Message);
        fx.Write("models/m.sql", "SELECT '@@CTX:model.name' AS x");
        Assert.Equal("models/m.sql:1: '@@CTX:' is for hook SQL only (pre_hooks and post_hooks)", fx.Fails().Message);
        fx.Write("models/m.sql", "MODEL (post_hooks [inline_sql(\"GRANT SELECT ON @@CTX:destination.everything TO x\")]);\nSELECT 1 AS x");
        ex = fx.Fails();
        Assert.Equal(ErrorCodes.VariableUndefined, ex.Code);
        Assert.Equal("models/m.sql:1: unknown context variable after '@@CTX:'; expected one of destination.qualified, destination.schema, destination.table, model.name", ex.Message);
    }

    [Fact]
    public void On_sql_server_a_tsql_global_is_not_a_variable()
    {
        using var fx = new ProjectFixture(new Dictionary<string, string>
        {
            ["sqlbuild_project.toml"] = "name = \"s\"\nadapter = \"sqlserver\"\ndefault_target = \"dev\"\n[connections.c]\nserver = \"x\"\n[targets.dev]\nconnection = \"c\"\nschema = \"dev\"\n",
            ["models/m.sql"] = "SELECT @@ROWCOUNT AS n, @@SERVERNAME AS s",
        });
        Assert.Equal("SELECT @@ROWCOUNT AS n, @@SERVERNAME AS s", fx.Compile().Models["m"].Sql);
    }

    // ---- the version hash --------------------------------------------------------------------------

    private static string Hash(string header)
    {
        using var fx = Project("", ("models/m.sql", header + "\nSELECT 1 AS id"));
        return IdentityCalculator.Compute(fx.Compile())["m"].VersionHash;
    }

    [Fact]
    public void A_model_without_the_new_keys_keeps_the_metadata_it_had()
    {
        using var fx = Project("", ("models/m.sql", "MODEL (materialized incremental, cursor id, tags [a], description \"d\", audits [not_null(id)]);\nSELECT 1 AS id"));
        Assert.Equal("{\"config\":{\"cursor\":\"id\",\"incremental_strategy\":\"append\",\"materialized\":\"incremental\",\"unique_key\":[]},\"model_name\":\"m\"}",
            IdentityCalculator.ModelMetadata(fx.Compile().Models["m"]));
    }

    [Theory]
    [InlineData("MODEL (materialized table, description \"x\", tags [a], row_diff_exclude_columns [id], run_despite_unchanged \"24h\", replay_on_change full);")]
    [InlineData("MODEL (materialized table, columns (id (type INTEGER, nullable false, description \"k\", audits [not_null, unique])), audits [not_null(id)]);")]
    [InlineData("MODEL (materialized table, contract none, columns (id (type BIGINT)));")]
    public void Metadata_audits_and_ignored_keys_do_not_change_the_version(string header) =>
        Assert.Equal(Hash("MODEL (materialized table);"), Hash(header));

    [Theory]
    [InlineData("MODEL (materialized table, contract enforced, columns (id (type INTEGER)));")]
    [InlineData("MODEL (materialized table, post_hooks [inline_sql(\"ANALYZE @@CTX:destination.qualified\")]);")]
    [InlineData("MODEL (materialized table, pre_hooks [\"SELECT 1\"]);")]
    public void An_enforced_contract_and_hooks_change_the_version(string header) =>
        Assert.NotEqual(Hash("MODEL (materialized table);"), Hash(header));

    [Fact]
    public void The_incremental_keys_change_the_version_of_an_incremental()
    {
        const string basis = "MODEL (materialized incremental, incremental_strategy delete_insert, unique_key id, cursor id";
        var hashes = new[]
        {
            Hash(basis + ");"), Hash(basis + ", cursor_type timestamp);"), Hash(basis + ", cursor_type timestamp, cursor_grain day);"),
            Hash(basis + ", full_refresh true);"), Hash(basis + ", full_refresh false);"),
        };
        Assert.Equal(hashes.Length, hashes.Distinct().Count());
        Assert.Equal(Hash("MODEL (materialized table);"), Hash("MODEL (materialized table, full_refresh true);"));
    }
}

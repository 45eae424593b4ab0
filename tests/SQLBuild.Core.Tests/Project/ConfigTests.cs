using System.Net;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

public class ConfigTests
{
    private const string TwoTargets = $"""
        {ProjectFixture.MinimalToml}

        [targets.prod]
        connection = "local"
        schema = "prod"
        """;

    private static ProjectFixture Config(string toml, string? local = null)
    {
        var fx = new ProjectFixture(new Dictionary<string, string> { ["sqlbuild_project.toml"] = toml });
        if (local is not null) fx.Write("sqlbuild_local.toml", local);
        return fx;
    }

    private static string Var() => "SQB_TEST_" + Guid.NewGuid().ToString("N").ToUpperInvariant();

    // ---- target precedence and local override ---------------------------------------------------

    [Fact]
    public void Default_target_is_used_without_argument_or_local_file()
    {
        using var fx = Config(TwoTargets);
        Assert.Equal("dev", fx.Compile().Config.ActiveTarget.Name);
    }

    [Fact]
    public void Local_target_beats_default_target_and_explicit_target_beats_both()
    {
        using var fx = Config(TwoTargets, "target = \"prod\"\n");
        Assert.Equal("prod", fx.Compile().Config.ActiveTarget.Name);
        Assert.Equal("dev", fx.Compile("dev").Config.ActiveTarget.Name);
        Assert.Equal("dev", fx.Compile().Config.DefaultTarget);
    }

    [Fact]
    public void Local_file_deep_merges_over_the_project_file()
    {
        using var fx = Config(TwoTargets + "\n[settings]\nconcurrency = 2\nvirtual_environments = true\n",
            """
            [settings]
            concurrency = 6

            [targets.dev]
            schema = "dev_alice"

            [targets.dev.state.connection]
            database = "alice_state.duckdb"
            """);
        var c = fx.Compile().Config;
        Assert.Equal(6, c.Settings.Concurrency);
        Assert.True(c.Settings.VirtualEnvironments);        // kept from the project file
        Assert.Equal("dev_alice", c.ActiveTarget.Schema);
        Assert.Equal("local", c.ActiveTarget.ConnectionName); // kept from the project file
        Assert.Equal("alice_state.duckdb", c.ActiveTarget.State!.Connection!.Get("database"));
        Assert.Equal("prod", c.Targets["prod"].Schema);
    }

    [Fact]
    public void No_target_at_all_is_P003_listing_known_targets()
    {
        using var fx = Config(TwoTargets.Replace("default_target = \"dev\"\n", ""));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.UnknownTarget, ex.Code);
        Assert.StartsWith("no target selected", ex.Message);
        Assert.EndsWith("known targets: dev, prod", ex.Message);
    }

    [Fact]
    public void Unknown_explicit_target_is_P003_object_not_found()
    {
        using var fx = Config(TwoTargets);
        var ex = fx.Fails("qa");
        Assert.Equal(ErrorCodes.UnknownTarget, ex.Code);
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal("unknown target 'qa' (from -Target); known targets: dev, prod", ex.Message);
    }

    [Fact]
    public void Malformed_explicit_target_is_P003_invalid_argument()
    {
        using var fx = Config(TwoTargets);
        var ex = fx.Fails("dev; drop");
        Assert.Equal(ErrorCodes.UnknownTarget, ex.Code);
        Assert.Equal(SqbErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void Unknown_local_target_says_where_it_came_from()
    {
        using var fx = Config(TwoTargets, "target = \"stage\"\n");
        var ex = fx.Fails();
        Assert.Equal("unknown target 'stage' (from target in sqlbuild_local.toml); known targets: dev, prod", ex.Message);
    }

    // ---- environment variables and secrets --------------------------------------------------------

    private static string PostgresToml(string passwordVar, string userValue = "app") => $$"""
        name = "shop"
        adapter = "postgres"
        default_target = "dev"

        [connections.wh]
        host = "db.local"
        port = 5432
        user = "{{userValue}}"
        password = "${ENV:{{passwordVar}}}"
        dbname = "shop"

        [targets.dev]
        connection = "wh"
        schema = "dev"
        """;

    [Fact]
    public void Env_variables_are_interpolated_and_the_password_kept_apart_and_registered()
    {
        var pwVar = Var();
        var hostVar = Var();
        var secret = "pw-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(pwVar, secret);
        Environment.SetEnvironmentVariable(hostVar, "pg.example");
        try
        {
            using var fx = Config(PostgresToml(pwVar).Replace("host = \"db.local\"", $"host = \"${{ENV:{hostVar}}}\""));
            var conn = fx.Compile().Config.ActiveTarget.Connection;
            Assert.Equal(AdapterKind.Postgres, conn.Adapter);
            Assert.Equal(secret, conn.Password);
            Assert.Equal("pg.example", conn.Get("host"));
            Assert.Equal("5432", conn.Get("port"));
            Assert.Equal("app", conn.Get("user"));
            Assert.Equal("shop", conn.Get("dbname"));
            Assert.False(conn.Values.ContainsKey("password"));
            Assert.DoesNotContain(secret, conn.ToString());
            Assert.Equal("login failed for ***", Redaction.Redact($"login failed for {secret}"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(pwVar, null);
            Environment.SetEnvironmentVariable(hostVar, null);
        }
    }

    [Fact]
    public void Missing_env_variable_is_P004_naming_file_line_key_and_variable_but_no_value()
    {
        var pwVar = Var();
        var userVar = Var();
        Environment.SetEnvironmentVariable(userVar, "very-secret-user-value");
        try
        {
            using var fx = Config(PostgresToml(pwVar, $"${{ENV:{userVar}}}"));
            var ex = fx.Fails();
            Assert.Equal(ErrorCodes.MissingEnvVar, ex.Code);
            Assert.Equal($"sqlbuild_project.toml:9: connections.wh.password: environment variable '{pwVar}' is not set", ex.Message);
            Assert.DoesNotContain("very-secret-user-value", ex.Message);
            Assert.DoesNotContain("very-secret-user-value", ex.RecommendedAction);
        }
        finally
        {
            Environment.SetEnvironmentVariable(userVar, null);
        }
    }

    [Fact]
    public void Missing_env_variable_of_an_inactive_target_is_not_an_error()
    {
        var v = Var();
        using var fx = Config(TwoTargets + $"\n[connections.remote]\ndatabase = \"${{ENV:{v}}}\"\n");
        // prod uses the remote connection whose variable is unset; dev is active.
        fx.Write("sqlbuild_local.toml", "[targets.prod]\nconnection = \"remote\"\n");
        var c = fx.Compile().Config;
        Assert.Equal("dev", c.ActiveTarget.Name);
        Assert.Equal($"${{ENV:{v}}}", c.Targets["prod"].Connection.Get("database"));

        var ex = fx.Fails("prod");
        Assert.Equal(ErrorCodes.MissingEnvVar, ex.Code);
        Assert.Contains("connections.remote.database", ex.Message);
    }

    [Fact]
    public void Connection_string_is_kept_and_registered_as_secret()
    {
        var v = Var();
        // no "password=" pair in it, so only the registration can mask it
        var cs = $"Host=h;Username=u;Token=tk{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(v, cs);
        try
        {
            using var fx = Config($$"""
                name = "shop"
                adapter = "postgres"
                default_target = "dev"
                [connections.wh]
                connection_string = "${ENV:{{v}}}"
                [targets.dev]
                connection = "wh"
                schema = "dev"
                """);
            var conn = fx.Compile().Config.ActiveTarget.Connection;
            Assert.Equal(cs, conn.ConnectionString);
            Assert.False(conn.Values.ContainsKey("connection_string"));
            Assert.Equal("postgres(connection_string=***)", conn.ToString());   // no stray comma before the one part
            Assert.Equal("error: ***", Redaction.Redact("error: " + cs));
        }
        finally
        {
            Environment.SetEnvironmentVariable(v, null);
        }
    }

    [Fact]
    public void Credential_overrides_target_and_same_adapter_state_connection_only()
    {
        const string toml = """
            name = "shop"
            adapter = "postgres"
            default_target = "dev"
            [connections.wh]
            host = "db"
            user = "file_user"
            password = "file_password"
            [targets.dev]
            connection = "wh"
            schema = "dev"
            [targets.dev.state]
            backend = "postgres"
            [targets.dev.state.connection]
            host = "statedb"
            user = "state_user"
            [targets.ci]
            connection = "wh"
            schema = "ci"
            [targets.ci.state]
            backend = "duckdb"
            [targets.ci.state.connection]
            database = "state.duckdb"
            """;
        using var fx = Config(toml);
        var cred = new NetworkCredential("alice", "s3cret-from-credential");

        var dev = fx.Compile("dev", cred).Config.ActiveTarget;
        Assert.Equal("alice", dev.Connection.Get("user"));
        Assert.Equal("s3cret-from-credential", dev.Connection.Password);
        Assert.Equal("db", dev.Connection.Get("host"));
        Assert.Equal("alice", dev.State!.Connection!.Get("user"));
        Assert.Equal("s3cret-from-credential", dev.State.Connection.Password);
        Assert.Equal("statedb", dev.State.Connection.Get("host"));

        var ci = fx.Compile("ci", cred).Config;
        Assert.Equal("alice", ci.ActiveTarget.Connection.Get("user"));
        Assert.Null(ci.ActiveTarget.State!.Connection!.Password);
        Assert.False(ci.ActiveTarget.State.Connection.Values.ContainsKey("user"));
        Assert.Equal("file_user", ci.Targets["dev"].Connection.Get("user"));   // inactive target untouched

        Assert.Equal("file_password", fx.Compile("dev").Config.ActiveTarget.Connection.Password);
        Assert.Equal("***", Redaction.Redact("s3cret-from-credential"));
    }

    // ---- connections and state ------------------------------------------------------------------

    [Fact]
    public void Legacy_connection_table_is_used_when_a_target_names_none()
    {
        using var fx = Config("""
            name = "p"
            adapter = "duckdb"
            default_target = "dev"
            [connection]
            database = "warehouse.duckdb"
            [targets.dev]
            schema = "dev"
            [targets.dev.state]
            backend = "duckdb"
            schema = "sqlbuild_state"
            [targets.dev.state.connection]
            database = "state.duckdb"
            """);
        var t = fx.Compile().Config.ActiveTarget;
        Assert.Equal("connection", t.ConnectionName);
        Assert.Equal("warehouse.duckdb", t.Connection.Get("database"));
        Assert.Equal("state.duckdb", t.State!.Connection!.Get("database"));
    }

    [Fact]
    public void State_connection_may_name_a_shared_connection()
    {
        using var fx = Config(TwoTargets + "\n[connections.shared_state]\ndatabase = \"team_state.duckdb\"\n\n[targets.dev.state]\nconnection = \"shared_state\"\n");
        var state = fx.Compile().Config.ActiveTarget.State!;
        Assert.Equal("shared_state", state.Connection!.Name);
        Assert.Equal("team_state.duckdb", state.Connection.Get("database"));

        using var bad = Config(TwoTargets + "\n[targets.dev.state]\nconnection = \"nope\"\n");
        ErrorAssert.Is(bad.Fails(), ErrorCodes.ConfigInvalid, "sqlbuild_project.toml:16: targets.dev.state.connection: unknown connection 'nope'; known connections: local");
    }

    [Fact]
    public void SqlServer_connection_values_are_strings()
    {
        using var fx = Config("""
            name = "p"
            adapter = "sqlserver"
            default_target = "dev"
            [connections.ms]
            server = "sql01"
            database = "shop"
            user = "sa"
            password = "Pa55word!"
            encrypt = true
            trust_server_certificate = false
            [targets.dev]
            connection = "ms"
            schema = "dbo"
            """);
        var conn = fx.Compile().Config.ActiveTarget.Connection;
        Assert.Equal(AdapterKind.SqlServer, conn.Adapter);
        Assert.Equal("true", conn.Get("encrypt"));
        Assert.Equal("false", conn.Get("trust_server_certificate"));
        Assert.Equal("sql01", conn.Get("server"));
        Assert.Equal("Pa55word!", conn.Password);
        Assert.Equal("sqlserver", fx.Compile().Config.ActiveTarget.State!.Backend);
    }

    [Fact]
    public void State_backend_other_than_the_adapter_needs_its_own_connection()
    {
        using var fx = Config(TwoTargets + "\n[targets.dev.state]\nbackend = \"postgres\"\n");
        var ex = fx.Fails();
        ErrorAssert.Is(ex, ErrorCodes.ConfigInvalid, "sqlbuild_project.toml:15: targets.dev.state: backend 'postgres' differs from the project adapter 'duckdb'");
    }

    [Fact]
    public void Missing_required_connection_key_is_P002()
    {
        using var fx = Config("""
            name = "p"
            adapter = "postgres"
            default_target = "dev"
            [connections.wh]
            user = "u"
            [targets.dev]
            connection = "wh"
            schema = "dev"
            """);
        ErrorAssert.Is(fx.Fails(), ErrorCodes.ConfigInvalid, "sqlbuild_project.toml:4: connections.wh: missing key 'host'");
    }

    // ---- syntax and validation errors -----------------------------------------------------------

    [Fact]
    public void Toml_syntax_error_is_P001_with_file_line_column_and_parser_message()
    {
        using var fx = Config("name = \"shop\"\nadapter = \n");
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.ConfigSyntax, ex.Code);
        Assert.Equal(SqbErrorKind.ParserError, ex.Kind);
        Assert.StartsWith("sqlbuild_project.toml:2:11: invalid TOML: ", ex.Message);
        Assert.Contains("value", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Toml_syntax_error_in_local_file_names_the_local_file()
    {
        using var fx = Config(TwoTargets, "target = \"prod\"\n[settings\n");
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.ConfigSyntax, ex.Code);
        Assert.StartsWith("sqlbuild_local.toml:2:", ex.Message);
    }

    [Fact]
    public void Duplicate_toml_key_is_P001()
    {
        using var fx = Config(TwoTargets + "\n[settings]\nconcurrency = 2\nconcurrency = 3\n");
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.ConfigSyntax, ex.Code);
        Assert.StartsWith("sqlbuild_project.toml:17:", ex.Message);
        Assert.Contains("concurrency", ex.Message);
    }

    [Fact]
    public void Duplicate_key_message_never_quotes_the_value()
    {
        using var fx = Config(TwoTargets.Replace("database = \"shop.duckdb\"", "password = \"hunter2-first\"\npassword = \"hunter2-second\"\ndatabase = \"shop.duckdb\""));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.ConfigSyntax, ex.Code);
        Assert.StartsWith("sqlbuild_project.toml:7:", ex.Message);
        Assert.Contains("password", ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
    }

    [Theory]
    [InlineData("[settings]\nconcurrency = \"four\"", 17, "settings.concurrency: expected an integer from 1 to 64, got a string")]
    [InlineData("[settings]\nconcurrency = 0", 17, "settings.concurrency: expected an integer from 1 to 64, got 0")]
    [InlineData("[settings]\nconcurrency = 100000", 17, "settings.concurrency: expected an integer from 1 to 64, got 100000")]
    [InlineData("[targets.dev.state]\nunsuffixed_virtual_env = \"Dev\"", 17,
        "targets.dev.state.unsuffixed_virtual_env: invalid virtual environment name 'Dev': expected ^[a-z][a-z0-9_]*$ (a VDE name, as -Environment takes it)")]
    [InlineData("[targets.dev.state]\nschema = \"dev\"", 17,
        "targets.dev.state.schema: state schema 'dev' is the target schema, where the logical views live: give the state store a schema of its own (default sqlbuild_state)")]
    [InlineData("[targets.dev.state]\nschema = \"DEV\"", 17,
        "targets.dev.state.schema: state schema 'DEV' is the target schema, where the logical views live: give the state store a schema of its own (default sqlbuild_state)")]
    [InlineData("[targets.dev.state]\nschema = \"dev__sqb_physical\"", 17,
        "targets.dev.state.schema: state schema 'dev__sqb_physical' is the target's physical schema: give the state store a schema of its own (default sqlbuild_state)")]
    [InlineData("[targets.dev.state]\nschema = \"dev__ci\"", 17,
        "targets.dev.state.schema: state schema 'dev__ci' is the logical schema of virtual environment 'ci' (<schema>__<vde>): give the state store a schema of its own (default sqlbuild_state)")]
    [InlineData("[settings]\nvirtual_environments = \"yes\"", 17, "settings.virtual_environments: expected a boolean (true or false), got a string")]
    [InlineData("[janitor]\nmax_checkpoints = 0", 17, "janitor.max_checkpoints: expected an integer >= 1, got 0")]
    [InlineData("[janitor]\nretention_days = 1.5", 17, "janitor.retention_days: expected an integer >= 0, got a float")]
    [InlineData("[janitor]\nhistory_days = 0", 17, "janitor.history_days: expected an integer >= 1, got 0")]
    [InlineData("settings = 3", 4, "settings: expected a table, got an integer")]
    public void Wrong_types_are_P002_naming_file_line_key_and_expectation(string extra, int line, string message)
    {
        // a table goes after the others (line 16 on); a top-level key right after default_target (line 4)
        var toml = extra.StartsWith('[') ? TwoTargets + "\n\n" + extra + "\n" : TwoTargets.Replace("default_target = \"dev\"", "default_target = \"dev\"\n" + extra);
        using var fx = Config(toml);
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.ConfigInvalid, ex.Code);
        Assert.Equal(SqbErrorKind.InvalidData, ex.Kind);
        Assert.Equal($"sqlbuild_project.toml:{line}: {message}", ex.Message);
    }

    [Fact]
    public void A_target_schema_named_like_the_default_state_schema_is_refused_at_the_target_schema()
    {
        using var fx = Config(TwoTargets.Replace("schema = \"dev\"", "schema = \"sqlbuild_state\""));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.ConfigInvalid, ex.Code);
        Assert.Equal("sqlbuild_project.toml:10: targets.dev.schema: state schema 'sqlbuild_state' is the target schema, where the logical views live: " +
                     "give the state store a schema of its own (default sqlbuild_state)", ex.Message);
    }

    [Fact]
    public void Type_error_set_by_the_local_file_names_the_local_file_and_line()
    {
        using var fx = Config(TwoTargets, "# personal\n\n[settings]\nconcurrency = \"lots\"\n");
        var ex = fx.Fails();
        Assert.Equal("sqlbuild_local.toml:4: settings.concurrency: expected an integer from 1 to 64, got a string", ex.Message);
    }

    [Fact]
    public void Unknown_adapter_lists_allowed_values()
    {
        using var fx = Config(TwoTargets.Replace("adapter = \"duckdb\"", "adapter = \"mysql\""));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.ConfigInvalid, ex.Code);
        Assert.Equal("sqlbuild_project.toml:2: adapter: unknown adapter 'mysql'; expected one of duckdb, postgres, sqlserver", ex.Message);
    }

    [Fact]
    public void Missing_name_is_P002()
    {
        using var fx = Config(TwoTargets.Replace("name = \"shop\"\n", ""));
        Assert.Equal("sqlbuild_project.toml: missing required key 'name' (the project name)", fx.Fails().Message);
    }

    [Theory]
    [InlineData("schema = \"dev\"", "schema = \"dev-1\"", 10, "targets.dev.schema: invalid schema name 'dev-1'")]
    [InlineData("[targets.dev]", "[targets.\"my dev\"]", 8, "targets.my dev: invalid target name 'my dev'")]
    [InlineData("connection = \"local\"\nschema = \"dev\"", "connection = \"nope\"\nschema = \"dev\"", 9, "targets.dev.connection: unknown connection 'nope'; known connections: local")]
    [InlineData("schema = \"dev\"\n", "\n", 8, "targets.dev: missing required key 'schema'")]
    public void Invalid_targets_are_P002(string from, string to, int line, string message)
    {
        var toml = ReplaceFirst(TwoTargets, from, to);
        using var fx = Config(toml);
        var ex = fx.Fails("prod");
        Assert.Equal(ErrorCodes.ConfigInvalid, ex.Code);
        Assert.StartsWith($"sqlbuild_project.toml:{line}: {message}", ex.Message);
    }

    [Fact]
    public void Invalid_state_schema_is_P002()
    {
        using var fx = Config(TwoTargets + "\n[targets.dev.state]\nschema = \"state.x\"\n");
        ErrorAssert.Is(fx.Fails(), ErrorCodes.ConfigInvalid, "sqlbuild_project.toml:16: targets.dev.state.schema: invalid schema name 'state.x'");
    }

    [Fact]
    public void Defaults_apply_when_sections_are_absent()
    {
        using var fx = Config(TwoTargets);
        var c = fx.Compile().Config;
        Assert.False(c.Settings.VirtualEnvironments);
        Assert.Equal(4, c.Settings.Concurrency);
        Assert.False(c.Settings.ChangesOnly);
        Assert.Equal(20, c.Janitor.MaxCheckpoints);
        Assert.Equal(30, c.Janitor.RetentionDays);
        Assert.Equal(90, c.Janitor.HistoryDays);
        Assert.Equal("sqlbuild_state", c.ActiveTarget.State!.Schema);
        Assert.Equal("duckdb", c.ActiveTarget.State.Backend);
        Assert.Null(c.ActiveTarget.State.Connection);
    }

    private static string ReplaceFirst(string s, string from, string to)
    {
        var i = s.IndexOf(from, StringComparison.Ordinal);
        Assert.True(i >= 0, $"fixture text '{from}' not found");
        return s[..i] + to + s[(i + from.Length)..];
    }
}

using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

/// <summary>
/// Strict config (SPEC §2): every key of both TOML files is known, upstream's (accepted with one P030 warning), or an
/// error naming file, line, key and the closest known key. [settings] default_audit_severity, [janitor] history_days
/// and [vars] are read and validated.
/// </summary>
public class StrictConfigTests
{
    private static ProjectFixture Config(string toml, string? local = null)
    {
        var fx = new ProjectFixture(new Dictionary<string, string> { ["sqlbuild_project.toml"] = toml });
        if (local is not null) fx.Write("sqlbuild_local.toml", local);
        return fx;
    }

    private static SqbException Fails(string toml, string? local = null)
    {
        using var fx = Config(toml, local);
        var before = fx.AllFiles();
        var ex = fx.Fails();
        Assert.Equal(before, fx.AllFiles());       // nothing opened or created
        return ex;
    }

    private const string Minimal = ProjectFixture.MinimalToml + "\n";

    [Theory]
    [InlineData("[settings]\nvirtual_environment = true\n", "sqlbuild_project.toml:12: unknown key 'virtual_environment' in [settings]; did you mean 'virtual_environments'?")]
    [InlineData("[settings]\nconcurency = 2\n", "sqlbuild_project.toml:12: unknown key 'concurency' in [settings]; did you mean 'concurrency'?")]
    [InlineData("shcema = \"x\"\n", "sqlbuild_project.toml:11: unknown key 'shcema' in [targets.dev]; did you mean 'schema'?")]
    [InlineData("[janitor]\nmax_checkpoint = 3\n", "sqlbuild_project.toml:12: unknown key 'max_checkpoint' in [janitor]; did you mean 'max_checkpoints'?")]
    [InlineData("[targets.dev.state]\nbackend = \"duckdb\"\nunsufixed_virtual_env = \"dev\"\n", "sqlbuild_project.toml:13: unknown key 'unsufixed_virtual_env' in [targets.dev.state]; did you mean 'unsuffixed_virtual_env'?")]
    [InlineData("[settings]\nfrobnicate = 1\n", "sqlbuild_project.toml:12: unknown key 'frobnicate' in [settings]; expected one of virtual_environments, concurrency, changes_only, default_audit_severity")]
    [InlineData("[defaults]\nmaterialised = \"table\"\n", "sqlbuild_project.toml:12: unknown key 'materialised' in [defaults]; did you mean 'materialized'?")]
    [InlineData("[path_defaults.staging]\ntgas = [\"a\"]\n", "sqlbuild_project.toml:12: unknown key 'tgas' in [path_defaults.\"staging\"]; did you mean 'tags'?")]
    public void An_unknown_key_is_P002_with_file_line_key_and_the_closest_known_key(string extra, string message)
    {
        var ex = Fails(Minimal + extra);
        Assert.Equal(ErrorCodes.ConfigInvalid, ex.Code);
        Assert.Equal(SqbErrorKind.InvalidData, ex.Kind);
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void An_unknown_key_in_the_local_file_names_the_local_file()
    {
        var ex = Fails(Minimal, "target = \"dev\"\n\n[targets.dev]\nschemma = \"dev_alice\"\n");
        Assert.Equal("sqlbuild_local.toml:4: unknown key 'schemma' in [targets.dev]; did you mean 'schema'?", ex.Message);
    }

    [Fact]
    public void A_connection_key_of_another_engine_is_an_error_for_this_one()
    {
        var ex = Fails(Minimal.Replace("database = \"shop.duckdb\"", "database = \"shop.duckdb\"\nhots = \"x\""));
        Assert.Equal("sqlbuild_project.toml:7: unknown key 'hots' in [connections.local]; did you mean 'host'?", ex.Message);
        ex = Fails(Minimal.Replace("database = \"shop.duckdb\"", "database = \"shop.duckdb\"\nsslmode = \"require\""));
        Assert.Equal("sqlbuild_project.toml:7: 'sslmode' is not a duckdb connection key in [connections.local]; expected one of database, path, connection_string", ex.Message);
    }

    [Theory]
    [InlineData("environment_mode = \"virtual\"\n", "sqlbuild_project.toml:1: 'environment_mode' is upstream's older name for [settings] virtual_environments = true: rename it")]
    [InlineData("default_environment = \"dev\"\n", "sqlbuild_project.toml:1: 'default_environment' is upstream's older name for default_target: rename it")]
    [InlineData("adaptor = \"duckdb\"\n", "sqlbuild_project.toml:1: unknown key 'adaptor'; did you mean 'adapter'?")]
    public void Top_level_keys_are_checked_and_upstreams_older_mode_keys_name_the_current_one(string first, string message) =>
        Assert.Equal(message, Fails(first + Minimal).Message);

    [Fact]
    public void Upstream_keys_that_do_not_map_are_accepted_with_one_coded_warning_each()
    {
        using var fx = Config(Minimal + """
            [settings]
            sql_analysis = true
            table_promotion_mode = "staged"

            [janitor]
            enabled = true
            history_days = 30

            [targets.dev.clone]
            allow_as_clone_origin = true

            [dbt]
            project_dir = "../dbt"

            [connections.local.settings]
            memory_limit = "4GB"
            """);
        var project = fx.Compile();
        Assert.Equal(new[]
        {
            "sqlbuild_project.toml:22: [dbt] is an upstream table SQLBuild does not implement; it is ignored",
            "sqlbuild_project.toml:25: [connections.local] 'settings' is an upstream key SQLBuild does not implement; it is ignored",
            "sqlbuild_project.toml:12: [settings] 'sql_analysis' is an upstream key SQLBuild does not implement; it is ignored",
            "sqlbuild_project.toml:13: [settings] 'table_promotion_mode' is an upstream key SQLBuild does not implement; it is ignored",
            "sqlbuild_project.toml:16: [janitor] 'enabled' is an upstream key SQLBuild does not implement; it is ignored",
            "sqlbuild_project.toml:19: [targets.dev] 'clone' is an upstream key SQLBuild does not implement; it is ignored",
        }, project.Warnings.Select(w => w.Message));
        Assert.All(project.Warnings, w => Assert.Equal("P030.UpstreamKeyIgnored", w.ErrorId));
        Assert.Equal(30, project.Config.Janitor.HistoryDays);
    }

    // ---- values ------------------------------------------------------------------------------------

    [Fact]
    public void History_days_defaults_to_90_and_must_be_at_least_1()
    {
        using (var fx = Config(Minimal)) Assert.Equal(90, fx.Compile().Config.Janitor.HistoryDays);
        var ex = Fails(Minimal + "[janitor]\nhistory_days = 0\n");
        Assert.Equal("sqlbuild_project.toml:12: janitor.history_days: expected an integer >= 1, got 0", ex.Message);
    }

    [Fact]
    public void Default_audit_severity_is_error_unless_set_and_applies_to_audits_that_set_none()
    {
        using (var fx = Config(Minimal)) Assert.Equal(AuditSeverity.Error, fx.Compile().Config.Settings.DefaultAuditSeverity);
        using (var fx = Config(Minimal + "[settings]\ndefault_audit_severity = \"warn\"\n"))
        {
            fx.Write("models/m.sql", "MODEL (audits [not_null(id), unique(id, severity error)]);\nSELECT 1 AS id");
            var audits = fx.Compile().Models["m"].Config.Audits;
            Assert.Equal(new[] { AuditSeverity.Warn, AuditSeverity.Error }, audits.Select(a => a.Severity));
        }
        Assert.Equal("sqlbuild_project.toml:12: settings.default_audit_severity: expected \"error\" or \"warn\", got 'loud'",
            Fails(Minimal + "[settings]\ndefault_audit_severity = \"loud\"\n").Message);
    }

    [Fact]
    public void Vars_take_scalars_and_the_active_targets_vars_win()
    {
        var toml = Minimal + "\n[targets.dev.vars]\nregion = \"eu\"\n\n[targets.prod]\nconnection = \"local\"\nschema = \"prod\"\n\n" +
                   "[targets.prod.vars]\nregion = \"us\"\n\n[vars]\nregion = \"any\"\nmin = 10\nrate = 1.5\non = true\n";
        using var fx = Config(toml);
        Assert.Equal(new Dictionary<string, string> { ["region"] = "eu", ["min"] = "10", ["rate"] = "1.5", ["on"] = "true" }, fx.Compile().Config.Vars);
        Assert.Equal("us", fx.Compile("prod").Config.Vars["region"]);
        var ex = Fails(Minimal + "[vars]\nlist = [1, 2]\n");
        Assert.Equal("sqlbuild_project.toml:12: vars.list: expected a string, number or boolean (@@list stands for text in SQL), got an array", ex.Message);
    }

    [Fact]
    public void A_legacy_target_connection_block_is_the_targets_own_connection()
    {
        using var fx = Config("name = \"shop\"\nadapter = \"duckdb\"\ndefault_target = \"dev\"\n\n[targets.dev]\nschema = \"dev\"\n\n[targets.dev.connection]\ndatabase = \"own.duckdb\"\n");
        var target = fx.Compile().Config.ActiveTarget;
        Assert.Equal("own.duckdb", target.Connection.Get("database"));
        Assert.Equal("dev.connection", target.ConnectionName);
    }
}

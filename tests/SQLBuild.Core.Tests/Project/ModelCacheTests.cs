using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

/// <summary>
/// A process that compiles the same project again reuses the models whose files it parsed before (issue 11). What these
/// hold: an unchanged file gives the very same model; anything a model is read against that changes (its text, even at
/// the same length within the same millisecond, the TOML, a variable, an environment variable, a hook, a schema, another
/// model) is seen at once; and a compile through the cache reports exactly what a first compile would.
/// </summary>
public class ModelCacheTests
{
    private static ProjectFixture Project(string tomlExtra = "", params (string Path, string Content)[] files)
    {
        var fx = new ProjectFixture(new Dictionary<string, string> { ["sqlbuild_project.toml"] = ProjectFixture.MinimalToml + "\n" + tomlExtra });
        foreach (var (path, content) in files) fx.Write(path, content);
        return fx;
    }

    [Fact]
    public void An_unchanged_file_gives_the_same_model_and_identity_again()
    {
        using var fx = Project("", ("models/a.sql", "SELECT 1 AS id"), ("models/b.sql", "SELECT id FROM __ref(\"a\")"));
        var first = fx.Compile();
        var firstIds = IdentityCalculator.Compute(first);
        var second = fx.Compile();
        Assert.Same(first.Models["a"], second.Models["a"]);
        Assert.Same(first.Models["b"], second.Models["b"]);
        Assert.Equal(firstIds["b"], IdentityCalculator.Compute(second)["b"]);
        Assert.Equal(first.TopologicalOrder, second.TopologicalOrder);
    }

    [Fact]
    public void A_file_rewritten_at_once_with_text_of_the_same_length_is_read_again()
    {
        using var fx = Project("", ("models/a.sql", "SELECT 1 AS id"));
        var before = IdentityCalculator.Compute(fx.Compile())["a"].VersionHash;
        fx.Write("models/a.sql", "SELECT 2 AS id");    // same size, same mtime tick: content decides, not the clock
        var project = fx.Compile();
        Assert.Equal("SELECT 2 AS id", project.Models["a"].Sql);
        Assert.NotEqual(before, IdentityCalculator.Compute(project)["a"].VersionHash);
    }

    [Fact]
    public void A_changed_variable_in_the_toml_reaches_an_unchanged_model()
    {
        using var fx = Project("[vars]\nlimit_n = 5\n", ("models/a.sql", "SELECT @@limit_n AS n"));
        Assert.Equal("SELECT 5 AS n", fx.Compile().Models["a"].Sql);
        fx.Write("sqlbuild_project.toml", ProjectFixture.MinimalToml + "\n[vars]\nlimit_n = 7\n");
        Assert.Equal("SELECT 7 AS n", fx.Compile().Models["a"].Sql);
    }

    [Fact]
    public void A_changed_environment_variable_reaches_an_unchanged_model_and_an_unchanged_toml()
    {
        var name = "SQB_CACHE_TEST_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        try
        {
            Environment.SetEnvironmentVariable(name, "1");
            using var fx = Project($"[vars]\nfrom_toml = \"${{ENV:{name}}}\"\n",
                ("models/a.sql", $"SELECT @@ENV:{name} AS direct"), ("models/b.sql", "SELECT @@from_toml AS via_toml"));
            var first = fx.Compile();
            Assert.Equal("SELECT 1 AS direct", first.Models["a"].Sql);
            Assert.Equal("SELECT 1 AS via_toml", first.Models["b"].Sql);
            Environment.SetEnvironmentVariable(name, "2");
            var second = fx.Compile();
            Assert.Equal("SELECT 2 AS direct", second.Models["a"].Sql);
            Assert.Equal("SELECT 2 AS via_toml", second.Models["b"].Sql);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void An_environment_variable_read_by_a_hook_file_or_a_toml_hook_reaches_unchanged_models()
    {
        // Found by the adversarial review: hooks are substituted at compile time, so the values they read are part of
        // what a model is read against, even when neither the model, the hook file nor the TOML changes.
        var name = "SQB_CACHE_HOOK_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        try
        {
            Environment.SetEnvironmentVariable(name, "h1");
            using var fx = Project($"[path_defaults.\"marts\"]\npost_hooks = [\"inline_sql(\\\"SELECT '@@ENV:{name}' AS layer\\\")\"]\n",
                ("hooks/sql/note.sql", $"SELECT '@@ENV:{name}' AS file"),
                ("models/a.sql", "MODEL (materialized table, pre_hooks [sql(\"note\")]);\nSELECT 1 AS id"),
                ("models/marts/b.sql", "MODEL (materialized table);\nSELECT 1 AS id"));
            var first = fx.Compile();
            Assert.Equal("SELECT 'h1' AS file", Assert.Single(first.Models["a"].Config.PreHooks).Sql);
            Assert.Equal("SELECT 'h1' AS layer", Assert.Single(first.Models["b"].Config.PostHooks).Sql);
            var firstIds = IdentityCalculator.Compute(first);

            Environment.SetEnvironmentVariable(name, "h2");
            var second = fx.Compile();
            Assert.Equal("SELECT 'h2' AS file", Assert.Single(second.Models["a"].Config.PreHooks).Sql);
            Assert.Equal("SELECT 'h2' AS layer", Assert.Single(second.Models["b"].Config.PostHooks).Sql);
            var secondIds = IdentityCalculator.Compute(second);
            Assert.NotEqual(firstIds["a"].VersionHash, secondIds["a"].VersionHash);
            Assert.NotEqual(firstIds["b"].VersionHash, secondIds["b"].VersionHash);

            Environment.SetEnvironmentVariable(name, null);
            Assert.Equal("P018", fx.Fails().Code);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public void What_a_caller_is_handed_cannot_change_the_next_compile()
    {
        // Found by the adversarial review: Get-SqbModel handed out the graph's parent list and the config's tags, and an
        // edit at the prompt ($m.DependsOn.Remove(...)) changed every later compile and version hash of the session.
        using var fx = Project("", ("models/a.sql", "SELECT 1 AS id"),
            ("models/b.sql", "MODEL (tags [marts], materialized incremental, unique_key [id], incremental_strategy merge);\nSELECT id FROM __ref(\"a\")"));
        var project = fx.Compile();
        Assert.Throws<NotSupportedException>(() => ((IList<string>)project.Parents["b"]).Clear());
        Assert.Throws<NotSupportedException>(() => ((IList<string>)project.Children["a"]).Clear());
        Assert.Throws<NotSupportedException>(() => ((IList<string>)project.Models["b"].Config.Tags)[0] = "hacked");
        Assert.Throws<NotSupportedException>(() => ((IList<string>)project.Models["b"].Config.UniqueKey)[0] = "other");
        var again = fx.Compile();
        Assert.Equal(new[] { "a" }, again.Parents["b"]);
        Assert.Equal(new[] { "marts" }, again.Models["b"].Config.Tags);
    }

    [Fact]
    public void A_long_session_keeps_only_the_last_compile()
    {
        // Each compile hands on the last one's parses, never the last cache itself: a chain would keep every compile
        // of a session alive.
        using var fx = Project("", ("models/a.sql", "SELECT 1 AS id"));
        var first = FirstModel(fx);
        for (var i = 2; i <= 4; i++)
        {
            fx.Write("models/a.sql", $"SELECT {i} AS id");
            fx.Compile();
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(first.IsAlive);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference FirstModel(ProjectFixture fx) => new(fx.Compile().Models["a"]);

    [Fact]
    public void Defaults_hooks_and_schemas_that_change_reach_unchanged_models()
    {
        using var fx = Project("[defaults]\nmaterialized = \"view\"\n",
            ("hooks/sql/note.sql", "SELECT 'one'"),
            ("schemas/keys.sql", "SCHEMA (name keys, columns (id (type INTEGER)));"),
            ("models/a.sql", "MODEL (pre_hooks [sql(\"note\")], model_schema keys, contract enforced);\nSELECT 1 AS id"));
        var first = fx.Compile().Models["a"];
        Assert.Equal(Materialization.View, first.Config.Materialized);
        fx.Write("sqlbuild_project.toml", ProjectFixture.MinimalToml + "\n[defaults]\nmaterialized = \"table\"\n");
        fx.Write("hooks/sql/note.sql", "SELECT 'two'");
        fx.Write("schemas/keys.sql", "SCHEMA (name keys, columns (id (type BIGINT)));");
        var second = fx.Compile().Models["a"];
        Assert.Equal(Materialization.Table, second.Config.Materialized);
        Assert.Equal("SELECT 'two'", Assert.Single(second.Config.PreHooks).Sql);
        Assert.Equal("BIGINT", Assert.Single(second.Config.Columns).Type);
    }

    [Fact]
    public void Removing_a_model_that_unchanged_models_read_is_an_error_again()
    {
        using var fx = Project("", ("models/a.sql", "SELECT 1 AS id"), ("models/b.sql", "SELECT id FROM __ref(\"a\")"));
        fx.Compile();
        File.Delete(Path.Combine(fx.Dir, "models", "a.sql"));
        var error = fx.Fails();
        Assert.Equal("P011", error.Code);
        Assert.Contains("unknown model 'a'", error.Message);
    }

    [Fact]
    public void A_new_model_joins_the_graph_of_unchanged_ones()
    {
        using var fx = Project("", ("models/b.sql", "SELECT 1 AS id"));
        fx.Compile();
        fx.Write("models/a.sql", "SELECT 1 AS id").Write("models/b.sql", "SELECT id FROM __ref(\"a\")");
        var project = fx.Compile();
        Assert.Equal(new[] { "a", "b" }, project.TopologicalOrder);
        Assert.Equal(new[] { "a" }, project.Parents["b"]);
    }

    [Fact]
    public void A_cycle_made_by_one_changed_file_is_found()
    {
        using var fx = Project("", ("models/a.sql", "SELECT 1 AS id"), ("models/b.sql", "SELECT id FROM __ref(\"a\")"));
        fx.Compile();
        fx.Write("models/a.sql", "SELECT id FROM __ref(\"b\")");
        Assert.Equal("P013", fx.Fails().Code);
    }

    [Fact]
    public void A_broken_file_fails_every_time_and_a_fixed_one_compiles()
    {
        using var fx = Project("", ("models/a.sql", "SELECT 1 AS id"), ("models/b.sql", "MODEL (materialized nope);\nSELECT 1 AS id"));
        var first = fx.Fails();
        var again = fx.Fails();
        Assert.Equal(first.Message, again.Message);
        fx.Write("models/b.sql", "MODEL (materialized table);\nSELECT 1 AS id");
        Assert.Equal(Materialization.Table, fx.Compile().Models["b"].Config.Materialized);
    }

    [Fact]
    public void Warnings_of_unchanged_models_are_reported_on_every_compile()
    {
        using var fx = Project("", ("models/a.sql", "MODEL (replay_on_change full);\nSELECT 1 AS id"));
        var first = fx.Compile().Warnings.Select(w => w.Message).ToList();
        Assert.NotEmpty(first);
        Assert.Equal(first, fx.Compile().Warnings.Select(w => w.Message).ToList());
    }

    [Fact]
    public void Another_target_with_other_variables_is_not_served_the_first_ones_models()
    {
        var toml = ProjectFixture.MinimalToml + """

            [targets.dev.vars]
            region = "eu"

            [targets.prod]
            connection = "local"
            schema = "prod"

            [targets.prod.vars]
            region = "us"
            """;
        using var fx = new ProjectFixture(new Dictionary<string, string> { ["sqlbuild_project.toml"] = toml });
        fx.Write("models/a.sql", "SELECT '@@region' AS region");
        Assert.Equal("SELECT 'eu' AS region", fx.Compile().Models["a"].Sql);
        Assert.Equal("SELECT 'us' AS region", fx.Compile("prod").Models["a"].Sql);
        Assert.Equal("SELECT 'eu' AS region", fx.Compile("dev").Models["a"].Sql);
    }
}

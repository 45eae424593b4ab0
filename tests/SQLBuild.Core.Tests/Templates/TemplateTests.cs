using SQLBuild.Core.Build;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Templates;

/// <summary>The virtual template New-SqbProject writes: both of its targets work, each with its own state store.</summary>
public class TemplateTests
{
    private static SqbBuildResult Build(BuildFixture f, string target)
    {
        var project = f.Compile(target);
        new StateLifecycle(StateStore.Open(project, NullLog.Instance), NullLog.Instance).Initialize();
        return ProjectBuild.Build(project, new BuildOptions(), NullLog.Instance, CancellationToken.None);
    }

    [Fact]
    public void Virtual_template_builds_dev_and_prod_in_one_file()
    {
        using var f = new BuildFixture("duckdb", "virtual");
        var dev = Build(f, "dev");
        var prod = Build(f, "prod");
        Assert.Equal("succeeded", dev.Status);
        Assert.Equal("succeeded", prod.Status);
        Assert.Equal("finalized", prod.EnvironmentStatus);
        Assert.All(prod.Nodes.Where(n => n.NodeType != "test"), n => Assert.StartsWith("prod__sqb_physical.", n.Relation));
        Assert.Equal(12, f.Count("fct_orders", "prod"));
    }

    [Fact]
    public void A_state_store_shared_by_two_targets_is_refused_naming_the_fix()
    {
        using var f = new BuildFixture("duckdb", "virtual");
        Build(f, "dev");
        f.Write("sqlbuild_project.toml", f.Read("sqlbuild_project.toml").Replace("schema = \"sqlbuild_state_prod\"", "schema = \"sqlbuild_state\""));
        var ex = Assert.Throws<SqbException>(() => Build(f, "prod"));
        Assert.Equal("E003", ex.Code);
        Assert.Equal("state store 'sqlbuild_state' already tracks physical relations of another target ('dev__sqb_physical'); " +
                     "target 'prod' needs its own state schema", ex.Message);
        Assert.Contains("[targets.prod.state] schema", ex.RecommendedAction);
        Assert.Null(f.Find("fct_orders", "prod"));
    }
}

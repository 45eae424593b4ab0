using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build;

/// <summary>The one entry point the cmdlets call: checks the mode guards, then picks the pipeline.</summary>
public static class Builds
{
    public static SqbPlan Plan(CompiledProject project, BuildOptions options, ISqbLog log)
    {
        ModeGuards.CheckBuild(project.Config, options, "plan");
        RequireDirect(project);
        return new DirectBuildPipeline(project, Warehouse(project, log), log).Plan(options);
    }

    public static SqbBuildResult Build(CompiledProject project, BuildOptions options, ISqbLog log, CancellationToken cancel)
    {
        ModeGuards.CheckBuild(project.Config, options);
        RequireDirect(project);
        return new DirectBuildPipeline(project, Warehouse(project, log), log).Build(options, cancel);
    }

    private static IWarehouse Warehouse(CompiledProject project, ISqbLog log) =>
        WarehouseFactory.Create(project.Config.ActiveTarget.Connection, log);

    private static void RequireDirect(CompiledProject project)
    {
        if (project.Config.Settings.VirtualEnvironments)
            throw new SqbException("B010", "VirtualModeUnavailable",
                "virtual_environments = true is not available in this version of SQLBuild; only direct mode builds are",
                SqbErrorKind.InvalidOperation, project.Config.Name,
                "Set [settings] virtual_environments = false in sqlbuild_project.toml to build in direct mode.");
    }
}

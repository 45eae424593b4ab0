using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build;

/// <summary>The one entry point the cmdlets call: checks the mode guards, then picks the direct or virtual pipeline.</summary>
public static class Builds
{
    public static SqbPlan Plan(CompiledProject project, BuildOptions options, ISqbLog log)
    {
        ModeGuards.CheckBuild(project.Config, options, "plan");
        return project.Config.Settings.VirtualEnvironments
            ? new VirtualBuildPipeline(StateStore.Open(project, log), log).Plan(options)
            : new DirectBuildPipeline(project, WarehouseFactory.Create(project.Config.ActiveTarget.Connection, log), log).Plan(options);
    }

    /// <param name="plan">A plan made just before with the same options (optional): a virtual build it shows to
    /// have nothing to do returns without reading state again.</param>
    public static SqbBuildResult Build(CompiledProject project, BuildOptions options, ISqbLog log, CancellationToken cancel, SqbPlan? plan = null)
    {
        ModeGuards.CheckBuild(project.Config, options);
        return project.Config.Settings.VirtualEnvironments
            ? new VirtualBuildPipeline(StateStore.Open(project, log), log).Build(options, cancel, plan?.Analysis)
            : new DirectBuildPipeline(project, WarehouseFactory.Create(project.Config.ActiveTarget.Connection, log), log).Build(options, cancel);
    }
}

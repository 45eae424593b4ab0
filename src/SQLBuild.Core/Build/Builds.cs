using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build;

/// <summary>The one entry point the cmdlets call: checks the mode guards, then picks the direct or virtual pipeline.</summary>
public static class Builds
{
    /// <param name="command">The command named in guard messages: <c>plan</c>, or <c>build</c> when a build previews itself (-WhatIf).</param>
    public static SqbPlan Plan(CompiledProject project, BuildOptions options, ISqbLog log, string command = "plan")
    {
        ModeGuards.CheckBuild(project.Config, options, command);
        if (project.Config.Settings.VirtualEnvironments)
            return new VirtualBuildPipeline(StateStore.Open(project, log), log).Plan(options);
        var warehouse = WarehouseFactory.Create(project.Config.ActiveTarget.Connection, log);
        try { return new DirectBuildPipeline(project, warehouse, log).Plan(options); }
        finally { (warehouse as IDisposable)?.Dispose(); }
    }

    public static SqbBuildResult Build(CompiledProject project, BuildOptions options, ISqbLog log, CancellationToken cancel)
    {
        ModeGuards.CheckBuild(project.Config, options);
        if (project.Config.Settings.VirtualEnvironments)
            return new VirtualBuildPipeline(StateStore.Open(project, log), log).Build(options, cancel);
        var warehouse = WarehouseFactory.Create(project.Config.ActiveTarget.Connection, log);
        try { return new DirectBuildPipeline(project, warehouse, log).Build(options, cancel); }
        finally { (warehouse as IDisposable)?.Dispose(); }
    }
}

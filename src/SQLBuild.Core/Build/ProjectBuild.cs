using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Direct;
using SQLBuild.Core.Build.Virtual;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build;

/// <summary>
/// Building a project, the one entry point the cmdlets call: checks the mode guards, then plans or runs
/// the direct build (straight into the target schema) or the virtual one (versions, refs and views).
/// </summary>
public static class ProjectBuild
{
    /// <param name="command">The command named in guard messages: <c>plan</c>, or <c>build</c> when a build previews itself (-WhatIf).</param>
    public static SqbPlan Plan(CompiledProject project, BuildOptions options, ISqbLog log, string command = "plan")
    {
        ModeGuards.CheckBuild(project.Config, options, command);
        if (project.Config.Settings.VirtualEnvironments)
            return new VirtualBuild(StateStore.Open(project, log), log).Plan(options);
        return Direct(project, log, build => build.Plan(options));
    }

    public static SqbBuildResult Build(CompiledProject project, BuildOptions options, ISqbLog log, CancellationToken cancel)
    {
        ModeGuards.CheckBuild(project.Config, options);
        if (project.Config.Settings.VirtualEnvironments)
            return new VirtualBuild(StateStore.Open(project, log), log) { Cancellation = cancel }.Build(options);
        return Direct(project, log, build => build.Build(options, cancel));
    }

    private static T Direct<T>(CompiledProject project, ISqbLog log, Func<DirectBuild, T> work)
    {
        var warehouse = WarehouseFactory.Create(project.Config.ActiveTarget.Connection, log);
        try { return work(new DirectBuild(project, warehouse, log)); }
        finally { (warehouse as IDisposable)?.Dispose(); }
    }
}

using System.Management.Automation;
using SQLBuild.Core.Build;
using SQLBuild.Core.Errors;

namespace SQLBuild.PowerShell;

/// <summary>Builds the project's seeds, models and data tests into the target (upstream <c>sqb build</c>).</summary>
[Cmdlet(VerbsLifecycle.Invoke, "SqbBuild", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SqbBuildResult))]
public sealed class InvokeSqbBuildCommand : BuildCmdletBase
{
    /// <summary>Models built at once (default: [settings] concurrency).</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Concurrency { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var options = Options(MyInvocation.BoundParameters.ContainsKey(nameof(Concurrency)) ? Concurrency : null);
        if (WhatIfRequested)
        {
            // -WhatIf lists every step the build would take (guards and selection checked, nothing written).
            var plan = Run(log => ProjectBuild.Plan(project, options, log, "build"));
            foreach (var step in plan.Steps) ShouldProcess(step.Relation, $"{step.Action} {step.NodeType} '{step.Name}'");
            return;
        }
        var target = $"'{project.Config.Name}' into {Environment ?? project.Config.ActiveTarget.Name} ({project.Config.ActiveTarget.Connection})";
        if (!ShouldProcess(target, "Build")) return;

        var result = Run(log => ProjectBuild.Build(project, options, log, StopToken));
        WriteObject(result);
        WriteSqbErrors(result.Nodes.Where(n => n.Status == SqbNodeStatus.Failed).Select(n => (n, (SqbException?)n.Failure())).ToList(), _ => { });
    }
}

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
        // Guards and selection are checked before asking, so -WhatIf reports bad input too.
        ModeGuards.CheckBuild(project.Config, options);
        var plan = Run(log => Builds.Plan(project, options, log));
        var what = $"{plan.Steps.Count} node(s) of '{project.Config.Name}' into {plan.Environment} ({project.Config.ActiveTarget.Connection})";
        if (!ShouldProcess(what, "Build")) return;

        var result = Run(log => Builds.Build(project, options, log, StopToken, plan));
        WriteObject(result);
        foreach (var node in result.Nodes.Where(n => n.Status == SqbNodeStatus.Failed))
        {
            var code = node.ErrorCode ?? "B001.NodeFailed";
            var dot = code.IndexOf('.');
            WriteSqbError(new SqbException(dot > 0 ? code[..dot] : code, dot > 0 ? code[(dot + 1)..] : "NodeFailed",
                $"{node.NodeType} '{node.Name}' failed: {node.Error}",
                code.StartsWith("B002", StringComparison.Ordinal) || code.StartsWith("B003", StringComparison.Ordinal)
                    ? SqbErrorKind.InvalidData : SqbErrorKind.WriteError,
                node,
                node.NodeType == "test"
                    ? $"Fix the data or the test, then run Invoke-SqbBuild -Select {node.Name}."
                    : $"Fix the model, then run Invoke-SqbBuild -Select {node.Name}+ to rebuild it and what it skipped."));
        }
    }
}

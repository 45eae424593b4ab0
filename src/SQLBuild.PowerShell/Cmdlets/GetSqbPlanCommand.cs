using System.Management.Automation;
using SQLBuild.Core.Build;

namespace SQLBuild.PowerShell;

/// <summary>Shows what Invoke-SqbBuild would do, one step per node, without writing anything (upstream <c>sqb plan</c>).</summary>
[Cmdlet(VerbsCommon.Get, "SqbPlan")]
[OutputType(typeof(SqbPlanStep))]
public sealed class GetSqbPlanCommand : BuildCmdletBase
{
    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var plan = Run(log => ProjectBuild.Plan(project, Options(), log));
        WriteObject(plan.Steps, enumerateCollection: true);
    }
}

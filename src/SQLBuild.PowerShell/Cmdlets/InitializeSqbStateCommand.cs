using System.Management.Automation;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Creates the state schema and tables of the active target, additively (upstream <c>sqb state init</c>).</summary>
[Cmdlet(VerbsData.Initialize, "SqbState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SqbStateInfo))]
public sealed class InitializeSqbStateCommand : SqbCmdlet
{
    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var info = Run(log => new StateLifecycle(StateStore.Open(project, log), log).Info());
        if (!ShouldProcess($"{info.Schema} ({info.Connection})", "Initialize state store")) return;
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log) { Cancellation = StopToken }.Initialize()));
    }
}

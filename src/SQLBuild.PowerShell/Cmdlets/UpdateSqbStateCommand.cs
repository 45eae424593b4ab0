using System.Management.Automation;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Validates the state schema, backs every state table up into a new backup schema, then re-initializes
/// (upstream <c>sqb state migrate</c>). An invalid schema is refused with nothing written.</summary>
[Cmdlet(VerbsData.Update, "SqbState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SqbStateBackup))]
public sealed class UpdateSqbStateCommand : SqbCmdlet
{
    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var info = Run(log => new StateLifecycle(StateStore.Open(project, log), log).Info());
        if (!ShouldProcess($"{info.Schema} ({info.Connection})", "Back up and migrate state store")) return;
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log) { Cancellation = StopToken }.Migrate()));
    }
}

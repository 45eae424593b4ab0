using System.Management.Automation;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Drops every state table of the target (upstream <c>sqb state reset --auto-approve</c>); needs
/// <c>allow_reset = true</c>. The schema and the backups are kept.</summary>
[Cmdlet(VerbsCommon.Reset, "SqbState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbStateResetResult))]
public sealed class ResetSqbStateCommand : SqbCmdlet
{
    /// <summary>Reset without asking for confirmation (upstream's --auto-approve); still honours -WhatIf.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var info = Run(log =>
        {
            var lifecycle = new StateLifecycle(StateStore.Open(project, log), log);
            lifecycle.RequireResetAllowed();
            return lifecycle.Info();
        });
        if (!ShouldProcessUnlessForced(Force, $"{info.Schema} ({info.Connection})", "Drop every state table (backups are kept)")) return;
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log) { Cancellation = StopToken }.Reset()));
    }
}

using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Replaces the live state tables with a backup's in one transaction (upstream <c>sqb state rollback</c>).</summary>
[Cmdlet(VerbsData.Restore, "SqbState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbStateRestoreResult))]
public sealed class RestoreSqbStateCommand : SqbCmdlet
{
    /// <summary>The backup to restore (default: the latest). Binds BackupId of Get-SqbStateBackup's objects.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
    public string? BackupId { get; set; }

    /// <summary>Restore without asking for confirmation (still honours -WhatIf).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var info = Run(log => new StateLifecycle(StateStore.Open(project, log), log).Info());
        var what = BackupId is null ? "the latest backup" : $"backup {BackupId}";
        if (!ShouldProcessUnlessForced(Force, $"{info.Schema} ({info.Connection})", $"Replace every state table with {what}")) return;
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log) { Cancellation = StopToken }.Restore(BackupId)));
    }
}

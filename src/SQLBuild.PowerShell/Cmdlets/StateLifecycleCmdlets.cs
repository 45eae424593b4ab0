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
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log).Migrate()));
    }
}

/// <summary>Lists the backups of the state store, newest first, with table and row counts.</summary>
[Cmdlet(VerbsCommon.Get, "SqbStateBackup")]
[OutputType(typeof(SqbStateBackup))]
public sealed class GetSqbStateBackupCommand : SqbCmdlet
{
    /// <summary>Only these backups (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? BackupId { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var backups = Run(log => new StateLifecycle(StateStore.Open(project, log), log).Backups());
        var patterns = BackupId?.Select(b => new WildcardPattern(b, WildcardOptions.IgnoreCase)).ToList();
        foreach (var b in backups.Where(b => patterns is null || patterns.Any(p => p.IsMatch(b.BackupId))))
            WriteObject(b);
    }
}

/// <summary>Replaces the live state tables with a backup's in one transaction (upstream <c>sqb state rollback</c>).</summary>
[Cmdlet(VerbsData.Restore, "SqbState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(SqbStateRestoreResult))]
public sealed class RestoreSqbStateCommand : SqbCmdlet
{
    /// <summary>The backup to restore (default: the latest). Binds BackupId of Get-SqbStateBackup's objects.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
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
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log).Restore(BackupId)));
    }
}

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
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log).Reset()));
    }
}

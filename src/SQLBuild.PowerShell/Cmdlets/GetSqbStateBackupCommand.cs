using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Lists the backups of the state store, newest first, with table and row counts.</summary>
[Cmdlet(VerbsCommon.Get, "SqbStateBackup")]
[OutputType(typeof(SqbStateBackup))]
public sealed class GetSqbStateBackupCommand : SqbCmdlet
{
    /// <summary>Only these backups (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BackupIdCompleter))]
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

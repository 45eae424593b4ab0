using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Errors;
using SQLBuild.Core.State;
using SQLBuild.PowerShell.Hosting;

namespace SQLBuild.PowerShell;

/// <summary>Deletes a lock row: one key with -Force, or every lock proven orphaned with -Orphaned (upstream <c>sqb state locks clear</c>).
/// Each lock is deleted by its key and the holder the cmdlet showed, after ending that holder's server sessions.</summary>
[Cmdlet(VerbsCommon.Clear, "SqbLock", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = "Key")]
[OutputType(typeof(SqbLock))]
public sealed class ClearSqbLockCommand : SqbCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Key", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(LockKeyCompleter))]
    public string Key { get; set; } = "";

    /// <summary>Clear without asking, whoever holds the lock.</summary>
    [Parameter(ParameterSetName = "Key")]
    public SwitchParameter Force { get; set; }

    /// <summary>Clear only locks whose holder is proven gone (session ended or local process dead); safe for automation.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Orphaned")]
    public SwitchParameter Orphaned { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var rows = Run(log => new LockManager(StateStore.Open(project, log), log).List());
        var targets = Orphaned ? rows.Where(row => row.IsOrphaned).ToList() : rows.Where(row => row.Key == Key).ToList();
        if (!Orphaned && targets.Count == 0)
        {
            WriteSqbError(new SqbException(ErrorCodes.LockNotFound, "LockNotFound", $"no lock '{Key}' is held", SqbErrorKind.ObjectNotFound,
                Key, "Get-SqbLock lists the locks that are held."));
            return;
        }
        foreach (var row in targets)
        {
            if (!ShouldProcessUnlessForced(Force || Orphaned, LockOutput.Holder(row), "Clear lock and end its holder's server sessions")) continue;
            var cleared = Run(log => new LockManager(StateStore.Open(project, log), log).Clear(row));
            if (cleared.Deleted)
                WriteObject(LockOutput.ToSqbLock(row, cleared.EndedSessions));
            else
                WriteSqbError(new SqbException(ErrorCodes.LockNotFound, "LockNotFound",
                    $"lock '{row.Key}' is no longer held by {row.OwnerId}; nothing was cleared", SqbErrorKind.ObjectNotFound, row.Key,
                    "Get-SqbLock shows who holds it now."));
        }
    }
}

using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Deletes a lock row: one key with -Force, or every lock proven orphaned with -Orphaned (upstream <c>sqb state locks clear</c>).</summary>
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
        var targets = Orphaned ? rows.Where(r => r.IsOrphaned).ToList() : rows.Where(r => r.Key == Key).ToList();
        if (!Orphaned && targets.Count == 0)
        {
            WriteSqbError(new Core.Errors.SqbException("C271", "LockNotFound", $"no lock '{Key}' is held", Core.Errors.SqbErrorKind.ObjectNotFound,
                Key, "Get-SqbLock lists the locks that are held."));
            return;
        }
        foreach (var r in targets)
        {
            var age = DateTime.UtcNow - r.CreatedAt;
            var holder = $"{r.Key} held by {r.OwnerId} (host {r.OwnerHost}, pid {r.OwnerPid}, age {age:hh\\:mm\\:ss}" +
                         (r.IsOrphaned ? ", orphaned" : r.IsExpired ? ", expired" : ", live") + ")";
            if (!ShouldProcessUnlessForced(Force || Orphaned, holder, "Clear lock")) continue;
            if (Run(log => new LockManager(StateStore.Open(project, log), log).Clear(r.Key)))
                WriteObject(GetSqbLockCommand.ToLock(r));
        }
    }
}

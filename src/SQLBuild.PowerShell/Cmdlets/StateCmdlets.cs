using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
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
        WriteObject(Run(log => new StateLifecycle(StateStore.Open(project, log), log).Initialize()));
    }
}

/// <summary>Lists locks with holder, expiry and orphan detection (upstream <c>sqb state locks</c>).</summary>
[Cmdlet(VerbsCommon.Get, "SqbLock")]
[OutputType(typeof(SqbLock))]
public sealed class GetSqbLockCommand : SqbCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(LockKeyCompleter))]
    public string[]? Key { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var rows = Run(log => new LockManager(StateStore.Open(project, log), log).List());
        var patterns = Key?.Select(k => new WildcardPattern(k, WildcardOptions.IgnoreCase)).ToList();
        foreach (var r in rows.Where(r => patterns is null || patterns.Any(p => p.IsMatch(r.Key))))
            WriteObject(ToLock(r));
    }

    internal static SqbLock ToLock(LockRow r) => new()
    {
        Key = r.Key, OwnerId = r.OwnerId, OwnerHost = r.OwnerHost, OwnerPid = r.OwnerPid, OperationId = r.OperationId,
        CreatedAt = r.CreatedAt, ExpiresAt = r.ExpiresAt, IsExpired = r.IsExpired, IsOrphaned = r.IsOrphaned,
        Age = DateTime.UtcNow - r.CreatedAt,
    };
}

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

/// <summary>Lists journaled operations with their events; a running one with no live lock shows as failed (interrupted).</summary>
[Cmdlet(VerbsCommon.Get, "SqbOperation")]
[OutputType(typeof(SqbOperation))]
public sealed class GetSqbOperationCommand : SqbCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("OperationId")]
    public string? Id { get; set; }

    [Parameter]
    public string? Type { get; set; }

    [Parameter]
    [ValidateSet("Running", "Succeeded", "Failed", IgnoreCase = true)]
    public string? Status { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        WriteObject(Run(log => new OperationQueries(StateStore.Open(project, log), log).List(Id, Type, Status, Environment)), enumerateCollection: true);
    }
}

using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

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

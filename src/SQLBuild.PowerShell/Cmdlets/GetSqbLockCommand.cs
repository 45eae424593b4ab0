using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.State;
using SQLBuild.PowerShell.Hosting;

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
        foreach (var row in rows.Where(row => patterns is null || patterns.Any(p => p.IsMatch(row.Key))))
            WriteObject(LockOutput.ToSqbLock(row));
    }
}

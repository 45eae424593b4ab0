using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Lists the virtual data environments of the active target.</summary>
[Cmdlet(VerbsCommon.Get, "SqbEnvironment")]
[OutputType(typeof(SqbEnvironment))]
public sealed class GetSqbEnvironmentCommand : SqbCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Environment", "VirtualEnv")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var all = Run(log => new Inspection(StateStore.Open(project, log), log).Environments());
        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        foreach (var e in all.Where(e => patterns is null || patterns.Any(p => p.IsMatch(e.Name)))) WriteObject(e);
        if (Name is not null)
            foreach (var n in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && all.All(e => e.Name != n)))
                WriteSqbError(new Core.Errors.SqbException("S020", "UnknownEnvironment", $"unknown virtual environment '{n}'",
                    Core.Errors.SqbErrorKind.ObjectNotFound, n, "Get-SqbEnvironment lists the virtual environments of this target."));
    }
}

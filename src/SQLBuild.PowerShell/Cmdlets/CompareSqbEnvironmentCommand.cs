using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Refs that differ between two environments, with column-level changes (upstream <c>sqb diff</c>).</summary>
[Cmdlet(VerbsData.Compare, "SqbEnvironment")]
[OutputType(typeof(SqbRefDifference))]
public sealed class CompareSqbEnvironmentCommand : SqbCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string Reference { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Environment", "Name")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string Difference { get; set; } = "";

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        WriteObject(Run(log => new Inspection(StateStore.Open(project, log), log).CompareEnvironments(Reference, Difference)), enumerateCollection: true);
    }
}

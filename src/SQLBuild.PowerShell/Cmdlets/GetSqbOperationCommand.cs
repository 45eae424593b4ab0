using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

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

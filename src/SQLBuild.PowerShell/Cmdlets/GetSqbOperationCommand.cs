using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>
/// Lists journaled operations with their events, newest first; a running one with no live lock shows as failed
/// (interrupted). <c>-First</c> and <c>-Since</c> page the journal in the database.
/// </summary>
[Cmdlet(VerbsCommon.Get, "SqbOperation")]
[OutputType(typeof(SqbOperation))]
public sealed class GetSqbOperationCommand : SqbCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("OperationId")]
    public string? Id { get; set; }

    [Parameter]
    public string? Type { get; set; }

    /// <summary>One or more of Running, Succeeded, Failed (an interrupted run included), Cancelled (stopped with Ctrl+C).</summary>
    [Parameter]
    [ValidateSet("Running", "Succeeded", "Failed", "Cancelled", IgnoreCase = true)]
    public string[]? Status { get; set; }

    /// <summary>At most this many operations, newest first.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? First { get; set; }

    /// <summary>Only operations started at or after this time (local time unless the value is UTC).</summary>
    [Parameter]
    public DateTime? Since { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var query = new OperationQuery { Id = Id, Type = Type, Status = Status, Environment = Environment, Since = Since, First = First };
        WriteObject(Run(log => new OperationQueries(StateStore.Open(project, log), log).List(query)), enumerateCollection: true);
    }
}

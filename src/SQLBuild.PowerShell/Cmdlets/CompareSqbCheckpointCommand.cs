using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Differences between a checkpoint and its environment's current refs (upstream <c>sqb state checkpoints diff</c>).</summary>
[Cmdlet(VerbsData.Compare, "SqbCheckpoint")]
[OutputType(typeof(SqbRefDifference))]
public sealed class CompareSqbCheckpointCommand : SqbCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(CheckpointCompleter))]
    public string CheckpointId { get; set; } = "";

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        WriteObject(Run(log => new Inspection(StateStore.Open(project, log), log).CompareCheckpoint(CheckpointId)), enumerateCollection: true);
    }
}

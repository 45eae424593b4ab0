using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Lists checkpoints, newest first (upstream <c>sqb state checkpoints list|show</c>).</summary>
[Cmdlet(VerbsCommon.Get, "SqbCheckpoint", DefaultParameterSetName = "List")]
[OutputType(typeof(SqbCheckpoint))]
public sealed class GetSqbCheckpointCommand : SqbCmdlet
{
    [Parameter(ParameterSetName = "List", Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    [Parameter(ParameterSetName = "Id", Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("CheckpointId")]
    [ArgumentCompleter(typeof(CheckpointCompleter))]
    public string Id { get; set; } = "";

    [Parameter] public SwitchParameter IncludeRefs { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var env = ParameterSetName == "Id" ? null : Environment ?? project.Config.ActiveTarget.Name;
        WriteObject(Run(log => new Inspection(StateStore.Open(project, log), log)
            .Checkpoints(env, ParameterSetName == "Id" ? Id : null, IncludeRefs)), enumerateCollection: true);
    }
}

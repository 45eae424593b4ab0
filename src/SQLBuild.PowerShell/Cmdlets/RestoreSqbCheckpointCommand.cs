using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

/// <summary>Sets an environment back to a checkpoint's refs (upstream <c>sqb rollback</c>).</summary>
[Cmdlet(VerbsData.Restore, "SqbCheckpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SqbRestoreResult))]
public sealed class RestoreSqbCheckpointCommand : SqbCmdlet
{
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("VirtualEnv")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CheckpointCompleter))]
    public string? CheckpointId { get; set; }

    [Parameter, ArgumentCompleter(typeof(SelectorCompleter))] public string[]? Select { get; set; }
    [Parameter, ArgumentCompleter(typeof(SelectorCompleter))] public string[]? Exclude { get; set; }
    [Parameter] public SwitchParameter AllowPartialRollback { get; set; }
    [Parameter] public SwitchParameter IncludeStaleUpstreams { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        Core.Build.ModeGuards.CheckRollback(project.Config);
        var env = Environment ?? project.Config.ActiveTarget.Name;
        if (!ShouldProcess($"virtual environment '{env}'", $"Restore checkpoint {CheckpointId ?? "(the newest that differs)"}")) return;
        WriteObject(Run(log => new CheckpointRestore(StateStore.Open(project, log), log) { Cancellation = StopToken }.Restore(new RestoreOptions
        {
            Environment = env, CheckpointId = CheckpointId, Select = Select, Exclude = Exclude,
            AllowPartialRollback = AllowPartialRollback, IncludeStaleUpstreams = IncludeStaleUpstreams,
        })));
    }
}

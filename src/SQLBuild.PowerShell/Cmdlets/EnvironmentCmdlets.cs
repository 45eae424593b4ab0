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

/// <summary>Promotes one environment's refs into another and swaps its views; nothing is rebuilt (upstream <c>sqb promote</c>).</summary>
[Cmdlet(VerbsData.Publish, "SqbEnvironment", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SqbPromotionResult))]
public sealed class PublishSqbEnvironmentCommand : SqbCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Environment", "Name")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string From { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string To { get; set; } = "";

    [Parameter, ArgumentCompleter(typeof(SelectorCompleter))] public string[]? Select { get; set; }
    [Parameter, ArgumentCompleter(typeof(SelectorCompleter))] public string[]? Exclude { get; set; }
    [Parameter] public SwitchParameter AllowPartialPromotion { get; set; }
    [Parameter] public SwitchParameter IncludeStaleUpstreams { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        Core.Build.ModeGuards.CheckPromote(project.Config);
        var what = Select is null ? $"all refs of '{From}'" : $"refs of {string.Join(", ", Select)} from '{From}'";
        if (!ShouldProcess($"virtual environment '{To}'", $"Promote {what}")) return;
        WriteObject(Run(log => new Promotion(StateStore.Open(project, log), log).Promote(new PromoteOptions
        {
            From = From, To = To, Select = Select, Exclude = Exclude,
            AllowPartialPromotion = AllowPartialPromotion, IncludeStaleUpstreams = IncludeStaleUpstreams,
        })));
    }
}

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
        WriteObject(Run(log => new CheckpointRestore(StateStore.Open(project, log), log).Restore(new RestoreOptions
        {
            Environment = env, CheckpointId = CheckpointId, Select = Select, Exclude = Exclude,
            AllowPartialRollback = AllowPartialRollback, IncludeStaleUpstreams = IncludeStaleUpstreams,
        })));
    }
}

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

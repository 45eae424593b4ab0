using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Environments;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell;

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
        WriteObject(Run(log => new Promotion(StateStore.Open(project, log), log) { Cancellation = StopToken }.Promote(new PromoteOptions
        {
            From = From, To = To, Select = Select, Exclude = Exclude,
            AllowPartialPromotion = AllowPartialPromotion, IncludeStaleUpstreams = IncludeStaleUpstreams,
        })));
    }
}

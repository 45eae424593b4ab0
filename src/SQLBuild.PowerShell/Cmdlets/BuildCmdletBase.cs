using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Build;

namespace SQLBuild.PowerShell;

/// <summary>The selection and mode parameters shared by <c>Get-SqbPlan</c> and <c>Invoke-SqbBuild</c>.</summary>
public abstract class BuildCmdletBase : SqbCmdlet
{
    /// <summary>True: builds and plans read every seed before anything runs (P015 first).</summary>
    protected override bool ReadsSeeds => true;

    /// <summary>Selectors: name, tag:x, path:models/x, seed:x, +x (ancestors), x+ (descendants); several = union; a,b = intersection.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(SelectorCompleter))]
    public string[]? Select { get; set; }

    /// <summary>Selectors to leave out (same forms as -Select).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(SelectorCompleter))]
    public string[]? Exclude { get; set; }

    /// <summary>Rebuild incremental models from scratch.</summary>
    [Parameter]
    public SwitchParameter FullRefresh { get; set; }

    /// <summary>Direct mode: read unselected upstream models from this target's schema.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DeferTo { get; set; }

    /// <summary>Direct mode: do not run data tests.</summary>
    [Parameter]
    public SwitchParameter NoTests { get; set; }

    /// <summary>Direct mode: do not run audits.</summary>
    [Parameter]
    public SwitchParameter NoAudits { get; set; }

    /// <summary>Virtual mode: the virtual data environment (default: the target's name).</summary>
    [Parameter]
    [Alias("VirtualEnv")]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    /// <summary>Virtual mode: build only stale models and their descendants.</summary>
    [Parameter]
    public SwitchParameter ChangesOnly { get; set; }

    /// <summary>Virtual mode: add stale required upstream models to a -Select.</summary>
    [Parameter]
    public SwitchParameter IncludeStaleUpstreams { get; set; }

    protected BuildOptions Options(int? concurrency = null) => new()
    {
        Select = Select, Exclude = Exclude, FullRefresh = FullRefresh, DeferTo = DeferTo,
        NoTests = NoTests, NoAudits = NoAudits, Environment = Environment, ChangesOnly = ChangesOnly,
        IncludeStaleUpstreams = IncludeStaleUpstreams, Concurrency = concurrency,
    };
}

namespace SQLBuild.Core.Build;

/// <summary>What the caller asked of a build or a plan. Mode guards (<see cref="ModeGuards"/>) decide
/// which of these the project's mode allows before anything is touched.</summary>
public sealed class BuildOptions
{
    public IReadOnlyList<string>? Select { get; init; }
    public IReadOnlyList<string>? Exclude { get; init; }
    public bool NoTests { get; init; }
    public bool NoAudits { get; init; }
    public bool FullRefresh { get; init; }
    /// <summary>Direct mode: resolve unselected upstream models in this target's schema.</summary>
    public string? DeferTo { get; init; }
    /// <summary>Overrides <c>[settings] concurrency</c>.</summary>
    public int? Concurrency { get; init; }
    // Virtual mode only (SPEC §11):
    public string? Environment { get; init; }
    public bool ChangesOnly { get; init; }
    public bool IncludeStaleUpstreams { get; init; }
}

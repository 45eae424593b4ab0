namespace SQLBuild;

/// <summary>A compiled model, seed or data test, as <c>Get-SqbModel</c> shows it.</summary>
public sealed class SqbModel
{
    public required string Name { get; init; }
    public required string NodeType { get; init; }        // model | seed | test
    public string? Materialized { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> DependsOn { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Sources { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Audits { get; init; } = Array.Empty<string>();
    public required string Path { get; init; }
    public required string LocalHash { get; init; }
    public string? VersionHash { get; init; }
    public string? Relation { get; init; }
    public string? CompiledSql { get; init; }
}

/// <summary>One step of a direct-mode plan.</summary>
public sealed class SqbPlanStep
{
    public required string Target { get; init; }
    /// <summary>Direct mode: the target schema. Virtual mode: the VDE name.</summary>
    public required string Environment { get; init; }
    public required int Order { get; init; }
    public required string Name { get; init; }
    public required string NodeType { get; init; }
    public string? Materialized { get; init; }
    public required string Action { get; init; }          // create | replace | incremental | full_refresh | load | test
    public required string Relation { get; init; }
    public string? Existing { get; init; }                // table | view | null when absent
    public string? Reason { get; init; }
    public IReadOnlyList<string> DependsOn { get; init; } = Array.Empty<string>();
    /// <summary>Virtual mode: the version the VDE binds now, and the one the build would bind.</summary>
    public string? BoundVersion { get; init; }
    public string? ExpectedVersion { get; init; }
    /// <summary>Virtual mode: the VDE's status now (finalized | working | new).</summary>
    public string? EnvironmentStatus { get; init; }
    /// <summary>Virtual mode: unified diff of the model query against the bound version (-old / +new lines).</summary>
    public string? QueryDiff { get; init; }
}

/// <summary>What <c>Invoke-SqbBuild</c> would do, computed without writing anything.</summary>
public sealed class SqbPlan
{
    public required string Project { get; init; }
    public required string Target { get; init; }
    public required string Environment { get; init; }
    public required string Mode { get; init; }
    public required IReadOnlyList<SqbPlanStep> Steps { get; init; }
    /// <summary>What the plan was computed from (virtual mode), so a build right after it need not read state again to find nothing to do.</summary>
    internal object? Analysis { get; init; }
}

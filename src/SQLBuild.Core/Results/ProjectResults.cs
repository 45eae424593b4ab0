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
    /// <summary>Models: the description (the header's, else its model_schema's).</summary>
    public string? Description { get; init; }
    /// <summary>Models: the declared columns as <c>name TYPE</c> (the type left out where none is declared).</summary>
    public IReadOnlyList<string> Columns { get; init; } = Array.Empty<string>();
    /// <summary>Models: <c>enforced</c>, <c>none</c>, or null when the header sets no contract.</summary>
    public string? Contract { get; init; }
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
}

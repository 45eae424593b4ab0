namespace SQLBuild;

/// <summary>A virtual data environment (<c>Get-SqbEnvironment</c>).</summary>
public sealed class SqbEnvironment
{
    public required string Name { get; init; }
    /// <summary>finalized | working | detached (state value <c>active</c> is shown as working).</summary>
    public required string Status { get; init; }
    public string? Baseline { get; init; }
    public int ModelCount { get; init; }
    public int SeedCount { get; init; }
    public int CheckpointCount { get; init; }
    public required string LogicalSchema { get; init; }
    public required string Target { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? FinalizedAt { get; init; }
    /// <summary>Alias for pipelines: <c>Get-SqbEnvironment | Get-SqbCheckpoint</c> binds -Environment by this name.</summary>
    public string Environment => Name;
}

/// <summary>One ref: a node bound to a version.</summary>
public sealed class SqbRef
{
    public required string NodeType { get; init; }
    public required string Name { get; init; }
    public required string VersionHash { get; init; }
    public override string ToString() => $"{Name}@{VersionHash[..Math.Min(8, VersionHash.Length)]}";
}

public sealed class SqbCheckpoint
{
    public required string Id { get; init; }
    public required string Environment { get; init; }
    public DateTime CreatedAt { get; init; }
    public int RefCount { get; init; }
    /// <summary>The full ref set (with -IncludeRefs or -Id).</summary>
    public IReadOnlyList<SqbRef>? Refs { get; init; }
    /// <summary>Binds to -CheckpointId of Restore-SqbCheckpoint and Compare-SqbCheckpoint.</summary>
    public string CheckpointId => Id;
}

/// <summary>One difference between two ref sets (environments or a checkpoint and its environment).</summary>
public sealed class SqbRefDifference
{
    public required string Reference { get; init; }
    public required string Difference { get; init; }
    public required string NodeType { get; init; }
    public required string Name { get; init; }
    /// <summary>changed | only_in_reference | only_in_difference</summary>
    public required string Change { get; init; }
    public string? ReferenceVersion { get; init; }
    public string? DifferenceVersion { get; init; }
    /// <summary>Column-level differences of a changed relation: <c>+col type</c>, <c>-col type</c>, <c>~col a -> b</c>.</summary>
    public IReadOnlyList<string> ColumnChanges { get; init; } = Array.Empty<string>();
}

/// <summary>The result of <c>Publish-SqbEnvironment</c>.</summary>
public sealed class SqbPromotionResult
{
    public required string From { get; init; }
    public required string To { get; init; }
    /// <summary>finalized | working</summary>
    public required string Status { get; init; }
    public required IReadOnlyList<string> PromotedModels { get; init; }
    public IReadOnlyList<string> RemainingStale { get; init; } = Array.Empty<string>();
    public int RefChanges { get; init; }
    public int ViewsWritten { get; init; }
    public string? CheckpointId { get; init; }
    public required string OperationId { get; init; }
    public TimeSpan Duration { get; init; }
}

/// <summary>The result of <c>Restore-SqbCheckpoint</c>.</summary>
public sealed class SqbRestoreResult
{
    public required string Environment { get; init; }
    public required string CheckpointId { get; init; }
    public required string Status { get; init; }
    public required IReadOnlyList<string> RestoredModels { get; init; }
    public int RefChanges { get; init; }
    public int ViewsWritten { get; init; }
    public required string OperationId { get; init; }
    public TimeSpan Duration { get; init; }
}

public sealed class SqbLock
{
    public required string Key { get; init; }
    public required string OwnerId { get; init; }
    public string? OwnerHost { get; init; }
    public long? OwnerPid { get; init; }
    public string? OperationId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
    public bool IsExpired { get; init; }
    public bool IsOrphaned { get; init; }
    public TimeSpan Age { get; init; }
    /// <summary>The server sessions of the holder (named <c>sqlbuild/&lt;operation id&gt;</c>) that Clear-SqbLock ended
    /// (PostgreSQL backend pids, SQL Server session ids); empty otherwise.</summary>
    public IReadOnlyList<long> EndedSessions { get; init; } = Array.Empty<long>();
    public string? Environment => Key.StartsWith("virtual_env:", StringComparison.Ordinal) ? Key["virtual_env:".Length..] : null;
}

public sealed class SqbOperationEvent
{
    public required string Action { get; init; }
    public required string Status { get; init; }
    public string? Message { get; init; }
    public DateTime CreatedAt { get; init; }
    public override string ToString() => $"{CreatedAt:u} {Action}/{Status}: {Message}";
}

public sealed class SqbOperation
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    /// <summary>running | succeeded | failed. A <c>running</c> row with no live lock is reported failed (Reason interrupted).</summary>
    public required string Status { get; init; }
    /// <summary>The status stored in state_operations.</summary>
    public required string RecordedStatus { get; init; }
    public string? Reason { get; init; }
    public string? Environment { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public IReadOnlyList<SqbOperationEvent> Events { get; init; } = Array.Empty<SqbOperationEvent>();
    public string? LastMessage => Events.Count == 0 ? null : Events[^1].Message;
}

/// <summary>The state store of a target (<c>Initialize-SqbState</c>).</summary>
public sealed class SqbStateInfo
{
    public required string Target { get; init; }
    public required string Backend { get; init; }
    public required string Schema { get; init; }
    public required string Connection { get; init; }
    public bool SharesWarehouse { get; init; }
    public int Tables { get; init; }
    public int SchemaVersion { get; init; }
}

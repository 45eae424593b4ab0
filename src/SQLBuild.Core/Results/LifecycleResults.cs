namespace SQLBuild;

/// <summary>
/// One relation of <c>ConvertTo-SqbVirtualEnvironment</c> (adopt) or <c>ConvertFrom-SqbVirtualEnvironment</c>
/// (detach): where it was, where it goes, and what was (or, in a plan, would be) done.
/// </summary>
public sealed class SqbRelationMove
{
    /// <summary>adopt | detach</summary>
    public required string Operation { get; init; }
    public required string Environment { get; init; }
    public required string Name { get; init; }
    /// <summary>model | seed</summary>
    public required string NodeType { get; init; }
    /// <summary>view | table | incremental (models); null for seeds.</summary>
    public string? Materialized { get; init; }
    /// <summary>
    /// move (native schema move), copy (copied, needs -AllowCopy), view (a view recreated from the model's SQL),
    /// finish (only the view at the logical name is (re)created), done (nothing left to do: an earlier run did it),
    /// missing (nothing to adopt: the relation does not exist), skipped (not adopted; see Message),
    /// conflict (blocked; see Message), drop (detach: a physical view nothing reads any more is dropped).
    /// </summary>
    public required string Action { get; init; }
    public string? From { get; init; }
    public string? To { get; init; }
    public string? VersionHash { get; init; }
    public string? Message { get; init; }
    /// <summary>True when the action changes the warehouse (move, copy, view, finish, drop).</summary>
    public bool Changes => Action is "move" or "copy" or "view" or "finish" or "drop";
    public override string ToString() => $"{Action} {From ?? Name} -> {To ?? "-"}";
}

/// <summary>The result of <c>ConvertTo-SqbVirtualEnvironment</c> (upstream <c>sqb state adopt</c>).</summary>
public sealed class SqbAdoptionResult
{
    public required string Target { get; init; }
    public required string Environment { get; init; }
    /// <summary>finalized (every model and seed adopted) | working (some were missing or skipped).</summary>
    public required string Status { get; init; }
    public int ModelCount { get; init; }
    public int SeedCount { get; init; }
    /// <summary>Every relation, with what was done to it in this run.</summary>
    public required IReadOnlyList<SqbRelationMove> Relations { get; init; }
    /// <summary>Models and seeds that were not adopted (missing or skipped).</summary>
    public IReadOnlyList<string> NotAdopted { get; init; } = Array.Empty<string>();
    public int RefChanges { get; init; }
    public string? CheckpointId { get; init; }
    public required string OperationId { get; init; }
    public required string Message { get; init; }
    public TimeSpan Duration { get; init; }
}

/// <summary>The result of <c>ConvertFrom-SqbVirtualEnvironment</c> (upstream <c>sqb state detach</c>).</summary>
public sealed class SqbDetachResult
{
    public required string Target { get; init; }
    public required string Environment { get; init; }
    /// <summary>detached</summary>
    public required string Status { get; init; }
    public int ModelCount { get; init; }
    public int SeedCount { get; init; }
    public required IReadOnlyList<SqbRelationMove> Relations { get; init; }
    public required string OperationId { get; init; }
    public required string Message { get; init; }
    public TimeSpan Duration { get; init; }
}

/// <summary>
/// One thing <c>Invoke-SqbJanitor</c> removed (or, with <c>-WhatIf</c>, would remove).
/// </summary>
public sealed class SqbJanitorItem
{
    /// <summary>PhysicalRelation | LogicalView | Checkpoint | Environment | StateBackup | Lock</summary>
    public required string Kind { get; init; }
    /// <summary>The relation, checkpoint id, environment name, backup schema or lock key.</summary>
    public required string Name { get; init; }
    public string? Environment { get; init; }
    /// <summary>model | seed, for physical relations.</summary>
    public string? NodeType { get; init; }
    public string? NodeName { get; init; }
    public string? VersionHash { get; init; }
    /// <summary>Why it goes: unreferenced, beyond max_checkpoints, expired, older backup, expired lock.</summary>
    public required string Reason { get; init; }
    /// <summary>planned | removed | failed</summary>
    public required string Result { get; init; }
    public string? Message { get; init; }
    public string? OperationId { get; init; }
    public override string ToString() => $"{Kind} {Name}: {Result}";
}

namespace SQLBuild;

/// <summary>What a <see cref="SqbReconcileFinding"/> reports (SPEC §7).</summary>
public enum SqbFindingKind
{
    /// <summary>A model or seed of the project has no ref in the VDE.</summary>
    MissingRef,
    /// <summary>A ref's version has no <c>physical_relations</c> row.</summary>
    MissingTrackedPhysical,
    /// <summary>The tracked physical relation is absent from the warehouse.</summary>
    MissingPhysical,
    /// <summary>The logical view is absent.</summary>
    MissingView,
    /// <summary>A table stands where the logical view belongs.</summary>
    LogicalIsTable,
    /// <summary>The logical view exists but does not read the ref's physical relation (beyond upstream).</summary>
    WrongViewTarget,
    /// <summary>A view in the VDE's logical schema that SQLBuild could own, for no ref and no project node (beyond upstream).</summary>
    UnexpectedView,
    /// <summary>A journaled operation of the VDE ended <c>failed</c>, or is <c>running</c> with no live lock (beyond upstream).</summary>
    FailedOperation,
}

/// <summary>
/// One problem <c>Get-SqbReconcile</c> found. Binds by property name into <c>Repair-SqbView</c>
/// (Environment, Name, NodeType) and <c>Set-SqbModelRef</c> (Environment, Name).
/// </summary>
public sealed class SqbReconcileFinding
{
    public required string Environment { get; init; }
    /// <summary><c>model</c> or <c>seed</c>; <c>view</c> for UnexpectedView, <c>operation</c> for FailedOperation.</summary>
    public required string NodeType { get; init; }
    /// <summary>The model or seed name; the view name for UnexpectedView; the operation id for FailedOperation.</summary>
    public required string Name { get; init; }
    public required SqbFindingKind Kind { get; init; }
    /// <summary>The logical view readers use (<c>schema.name</c>); null for FailedOperation.</summary>
    public string? Relation { get; init; }
    /// <summary>The physical relation the view should read (from state, or by naming convention when untracked or when there is no ref);
    /// for FailedOperation the operation type.</summary>
    public string? Expected { get; init; }
    /// <summary>Upstream's wording: <c>missing ref: m</c>, <c>missing logical target: m</c>, ...</summary>
    public required string Message { get; init; }
    /// <summary>The cmdlet line that fixes it.</summary>
    public required string Recovery { get; init; }
    /// <summary>Whether <c>Repair-SqbView</c> repairs this finding (MissingView, WrongViewTarget).</summary>
    public bool Repairable => Kind is SqbFindingKind.MissingView or SqbFindingKind.WrongViewTarget;

    public override string ToString() => Message;
}

/// <summary>One view <c>Repair-SqbView</c> was asked to repair, or <c>Set-SqbModelRef</c> rebound.</summary>
public sealed class SqbRepairResult
{
    public required string Environment { get; init; }
    public required string NodeType { get; init; }
    public required string Name { get; init; }
    /// <summary>The logical view (<c>schema.name</c>).</summary>
    public required string Relation { get; init; }
    /// <summary>The physical relation the view reads (or would read); null when the ref or its tracked row is missing.</summary>
    public string? PhysicalRelation { get; init; }
    /// <summary><c>repaired</c> | <c>blocked</c> | <c>unchanged</c>; from <c>Set-SqbModelRef</c>: <c>attached</c> | <c>unchanged</c>.</summary>
    public required string Result { get; init; }
    public required string Message { get; init; }
    /// <summary>The journaled operation (type <c>repair</c> or <c>attach</c>) that did the work.</summary>
    public string? OperationId { get; init; }
    /// <summary>Set-SqbModelRef: the version hash the ref pointed to before (null when it had none).</summary>
    public string? PreviousVersion { get; init; }
    /// <summary>Set-SqbModelRef: the version hash the ref points to now.</summary>
    public string? Version { get; init; }

    public const string Repaired = "repaired";
    public const string Blocked = "blocked";
    public const string Unchanged = "unchanged";
    public const string Attached = "attached";
}

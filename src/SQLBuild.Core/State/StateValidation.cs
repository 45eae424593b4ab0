namespace SQLBuild.Core.State;

public enum StateProblemKind { MissingTable, MissingColumn, WrongColumnType, MissingIndex }

/// <summary>One way a state schema differs from <see cref="StateSchema.Tables"/>; <see cref="Message"/> is upstream's text.</summary>
public sealed record StateSchemaProblem(StateProblemKind Kind, string Table, string? Column, string Message)
{
    public override string ToString() => Message;
}

/// <summary>
/// What <see cref="StateValidator"/> found in one schema. Extra tables and columns are ignored, as upstream.
/// </summary>
public sealed class StateValidation
{
    public StateValidation(string schema, IReadOnlyList<StateSchemaProblem> problems, IReadOnlyList<string> existingTables)
    {
        Schema = schema;
        Problems = problems;
        ExistingTables = existingTables;
    }

    public string Schema { get; }
    public IReadOnlyList<StateSchemaProblem> Problems { get; }
    /// <summary>The state tables (of <see cref="StateSchema.Tables"/>) that exist, in list order.</summary>
    public IReadOnlyList<string> ExistingTables { get; }
    public bool IsValid => Problems.Count == 0;

    /// <summary>True when the table exists with every column in its type family (a missing index does not stop reads and writes).</summary>
    public bool Usable(StateTable t) => Problems.All(p => p.Table != t.Name || p.Kind == StateProblemKind.MissingIndex);

    /// <summary>True when no state table exists, apart perhaps from <c>state_migration_events</c> (which a reset leaves holding its own event).</summary>
    public bool IsEmpty => ExistingTables.All(t => t == StateSchema.StateMigrationEvents.Name);
}

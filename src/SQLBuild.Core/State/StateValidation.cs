using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;

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

/// <summary>
/// Validation driven by <see cref="StateSchema.Tables"/> (upstream's <c>build_validation_result</c>): every
/// table, every column and its type family (<see cref="StateSql.Family"/>), and every unique index
/// <c>idx_sqb_&lt;table&gt;_identity</c>. Reads the catalog set-based: one catalog read with columns and one
/// index query, whatever the number of tables.
/// </summary>
public static class StateValidator
{
    public static StateValidation Validate(IWarehouseSession s, StateSql sql, string schema, bool checkIndexes = true)
    {
        var catalog = s.ReadCatalog(new[] { schema }, includeColumns: true);
        var comparer = sql.Dialect.Kind == AdapterKind.Postgres ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var indexes = new HashSet<(string, string)>();
        if (checkIndexes && catalog.Schemas.Contains(schema))
            foreach (var r in s.Query(sql.Indexes(schema)))
                indexes.Add((Norm(StateRepository.Str(r[0])), Norm(StateRepository.Str(r[1]))));
        string Norm(string? v) => comparer == StringComparer.Ordinal ? v ?? "" : (v ?? "").ToLowerInvariant();

        var tablesByName = catalog.Relations.Where(r => r.Kind == RelationKind.Table && r.Schema == schema)
            .GroupBy(r => r.Name, comparer).ToDictionary(g => g.Key, g => g.First(), comparer);
        var problems = new List<StateSchemaProblem>();
        var existing = new List<string>();
        foreach (var t in StateSchema.Tables)
        {
            if (!tablesByName.TryGetValue(t.Name, out var relation))
            {
                problems.Add(new(StateProblemKind.MissingTable, t.Name, null, $"Missing state table: {t.Name}"));
                continue;
            }
            existing.Add(t.Name);
            var columns = catalog.ColumnsOf(relation.Relation).GroupBy(c => c.Name, comparer).ToDictionary(g => g.Key, g => g.First(), comparer);
            foreach (var c in t.Columns)
            {
                if (!columns.TryGetValue(c.Name, out var actual))
                    problems.Add(new(StateProblemKind.MissingColumn, t.Name, c.Name, $"Missing state column: {t.Name}.{c.Name}"));
                else if (StateSql.Family(actual.DataType) != c.Type)
                    problems.Add(new(StateProblemKind.WrongColumnType, t.Name, c.Name,
                        $"Wrong state column type: {t.Name}.{c.Name} expected {TypeName(c.Type)}, got {actual.DataType}"));
            }
            if (checkIndexes && t.UniqueKey.Count > 0 && !indexes.Contains((Norm(t.Name), Norm(t.IndexName))))
                problems.Add(new(StateProblemKind.MissingIndex, t.Name, null, $"Missing state index: {t.Name}.{t.IndexName}"));
        }
        return new StateValidation(schema, problems, existing);
    }

    /// <summary>Upstream's names of the column types: integer, text, timestamp.</summary>
    public static string TypeName(StateColumnType type) => type switch
    {
        StateColumnType.Integer => "integer",
        StateColumnType.Timestamp => "timestamp",
        _ => "text",
    };
}

using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.State;

/// <summary>
/// Validation driven by <see cref="StateSchema.Tables"/> (upstream's <c>build_validation_result</c>): every
/// table, every column and its type family (<see cref="StateSql.Family"/>), and every unique index
/// <c>idx_sqb_&lt;table&gt;_identity</c>. Reads the catalog set-based: one catalog read with columns and one
/// index query, whatever the number of tables.
/// </summary>
public static class StateValidator
{
    public static StateValidation Validate(IWarehouseSession session, StateSql sql, string schema, bool checkIndexes = true)
    {
        var catalog = session.ReadCatalog(new[] { schema }, includeColumns: true);
        var comparer = sql.Dialect.CatalogNameComparer;
        var indexes = checkIndexes && catalog.Schemas.Contains(schema)
            ? session.Query(sql.Indexes(schema)).Select(r => (Table: StateRepository.Str(r[0]) ?? "", Index: StateRepository.Str(r[1]) ?? "")).ToList()
            : new List<(string Table, string Index)>();
        bool HasIndex(StateTable t) => indexes.Any(i => comparer.Equals(i.Table, t.Name) && comparer.Equals(i.Index, t.IndexName));

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
            if (checkIndexes && t.UniqueKey.Count > 0 && !HasIndex(t))
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

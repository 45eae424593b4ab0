using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// The failing-rows query of each built-in audit, in a dialect. Identifiers are quoted by the dialect,
/// accepted values travel as parameters; <c>expression_is_true</c> and generic audits are user SQL,
/// passed through like model SQL.
/// </summary>
public static class AuditQueries
{
    /// <summary>
    /// Returns the statement counting failing rows of <paramref name="audit"/> on <paramref name="relation"/>.
    /// <paramref name="resolveModel"/> gives the relation of a model named by <c>relationships(to ...)</c>;
    /// <paramref name="generic"/> is the rendered body of a generic audit (references already resolved).
    /// </summary>
    public static SqlStatement FailingRowCount(SqlDialect d, AuditSpec audit, RelationName relation,
        Func<string, RelationName> resolveModel, string? generic = null)
    {
        var rel = d.Qualify(relation);
        string Col() => d.QuoteIdentifier(audit.Column ?? throw new InvalidOperationException($"audit {audit.Name} needs a column"));
        var target = $"{relation} {audit.Display}";
        switch (audit.Name)
        {
            case "not_null":
                return d.CountQuery("AUDIT", target, $"SELECT * FROM {rel} WHERE {Col()} IS NULL");
            case "unique":
                return d.CountQuery("AUDIT", target,
                    $"SELECT {Col()} FROM {rel} WHERE {Col()} IS NOT NULL GROUP BY {Col()} HAVING COUNT(*) > 1");
            case "accepted_values":
            {
                var ps = audit.Values.Select((_, i) => d.Parameter(i + 1));
                return d.CountQuery("AUDIT", target,
                    $"SELECT * FROM {rel} WHERE {Col()} IS NOT NULL AND {AsText(d, Col())} NOT IN ({string.Join(", ", ps)})",
                    audit.Values.Cast<object?>().ToArray());
            }
            case "relationships":
            {
                var parent = d.Qualify(resolveModel(audit.ToModel!));
                var field = d.QuoteIdentifier(audit.ToField!);
                return d.CountQuery("AUDIT", target,
                    $"SELECT c.{Col()} FROM {rel} AS c LEFT JOIN {parent} AS p ON c.{Col()} = p.{field} " +
                    $"WHERE c.{Col()} IS NOT NULL AND p.{field} IS NULL");
            }
            case "expression_is_true":
                return d.CountQuery("AUDIT", target, $"SELECT * FROM {rel} WHERE NOT ({audit.Expression})");
            default:
            {
                if (generic is null) throw new InvalidOperationException($"unknown audit '{audit.Name}'");
                return d.CountQuery("AUDIT", target, RenderGeneric(d, generic, audit, rel));
            }
        }
    }

    /// <summary>Replaces <c>@relation</c>, <c>@column</c> and named <c>@arg</c> placeholders (longest names first).</summary>
    public static string RenderGeneric(SqlDialect d, string body, AuditSpec audit, string qualifiedRelation)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["relation"] = qualifiedRelation };
        if (audit.Column is not null) values["column"] = d.QuoteIdentifier(audit.Column);
        foreach (var (k, v) in audit.Arguments) values.TryAdd(k, v);
        return System.Text.RegularExpressions.Regex.Replace(body, @"@([A-Za-z_][A-Za-z0-9_]*)",
            m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
    }

    private static string AsText(SqlDialect d, string expr) => d.Kind switch
    {
        AdapterKind.SqlServer => $"CAST({expr} AS NVARCHAR(4000))",
        _ => $"CAST({expr} AS VARCHAR)",
    };
}

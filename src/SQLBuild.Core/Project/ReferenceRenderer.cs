using System.Text;

namespace SQLBuild.Core.Project;

/// <summary>Replaces each reference call in a SQL text by the relation name a resolver gives.</summary>
public static class ReferenceRenderer
{
    /// <summary>
    /// Returns <paramref name="sql"/> with every reference (as found by the compiler, indexing <paramref name="sql"/>)
    /// replaced by <paramref name="resolve"/>(reference), e.g. a quoted <c>"dev"."stg_orders"</c>.
    /// </summary>
    public static string Render(string sql, IReadOnlyList<Reference> refs, Func<Reference, string> resolve)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(refs);
        ArgumentNullException.ThrowIfNull(resolve);
        if (refs.Count == 0) return sql;
        var sb = new StringBuilder(sql.Length + refs.Count * 16);
        var pos = 0;
        foreach (var r in refs.OrderBy(r => r.Start))
        {
            if (r.Start < pos || r.Start + r.Length > sql.Length)
                throw new ArgumentException($"reference to '{r.Name}' at {r.Start} does not index this SQL text", nameof(refs));
            sb.Append(sql, pos, r.Start - pos);
            sb.Append(resolve(r));
            pos = r.Start + r.Length;
        }
        sb.Append(sql, pos, sql.Length - pos);
        return sb.ToString();
    }

}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Faults;

namespace SQLBuild.Core.Operations;

/// <summary>A logical view to (re)write so that it reads <see cref="Target"/>, dropped first where its columns must change.</summary>
public sealed record ViewWrite(RelationName View, RelationName Target, bool DropFirst);

/// <summary>
/// How a logical view reads its physical relation: the test whether it does, and the writing of views that
/// should (the environment switch, repair and attach all write them the same way).
/// </summary>
public static class LogicalViews
{
    /// <summary>
    /// The writes that point each view at its target. PostgreSQL's CREATE OR REPLACE VIEW keeps the old columns and may
    /// only append new ones, so where views bind to relations an existing view whose columns are not a prefix of its
    /// target's is dropped first (never CASCADE). ONE query compares them on the server for all views
    /// (<see cref="SqlDialect.ViewsNotPrefixOf"/>), whatever their number.
    /// </summary>
    public static IReadOnlyList<ViewWrite> To(IWarehouseSession session,
        IReadOnlyList<(RelationName View, RelationName Target, CatalogRelation? Existing)> views)
    {
        var existing = views.Where(v => v.Existing is not null).Select(v => (v.View, v.Target)).ToList();
        var drop = new HashSet<RelationName>();
        if (existing.Count > 0 && session.Dialect.ViewsBindToRelations && session.Dialect.ViewsNotPrefixOf(existing) is { } query)
            foreach (var row in session.Query(query)) drop.Add(new RelationName((string)row[0]!, (string)row[1]!));
        return views.Select(v => new ViewWrite(v.View, v.Target, v.Existing is not null && drop.Contains(v.View))).ToList();
    }

    /// <summary>
    /// Writes <paramref name="writes"/> inside the caller's transaction, in ONE batch (<see cref="Statements"/>).
    /// </summary>
    public static void Write(IWarehouseSession session, string schema, IReadOnlyList<ViewWrite> writes, string step) =>
        session.ExecuteBatch(Statements(session.Dialect, schema, writes, step));

    /// <summary>
    /// The statements of <paramref name="writes"/>: the schema first (when there is a view to write), then each view. The test
    /// kill point <c>&lt;step&gt;:view:&lt;n&gt;</c> is reached as the n-th view's statements are made: the views go to the server
    /// in one batch after the last, so a kill there leaves the open transaction with none of them.
    /// </summary>
    public static IReadOnlyList<SqlStatement> Statements(SqlDialect dialect, string schema, IReadOnlyList<ViewWrite> writes, string step)
    {
        var statements = new List<SqlStatement>();
        if (writes.Count > 0) statements.Add(dialect.CreateSchemaIfNotExists(schema));
        var n = 0;
        foreach (var write in writes)
        {
            KillPoints.At($"{step}{KillPoints.View}{++n}");
            if (write.DropFirst) statements.Add(dialect.DropViewIfExists(write.View));
            statements.Add(dialect.CreateOrReplaceView(write.View, dialect.SelectAll(write.Target)));
        }
        return statements;
    }
}

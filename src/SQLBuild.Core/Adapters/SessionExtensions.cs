namespace SQLBuild.Core.Adapters;

public static class SessionExtensions
{
    /// <summary>
    /// Runs <paramref name="statements"/> as one transaction, all or nothing: where a batch outside a transaction is one already
    /// (<see cref="IWarehouseSession.BatchesAreAtomic"/>) in ONE round trip with no COMMIT after it, otherwise in a transaction
    /// of their own. Not inside a transaction the caller holds open.
    /// </summary>
    public static void ExecuteAtomically(this IWarehouseSession session, IReadOnlyList<SqlStatement> statements)
    {
        if (statements.Count > 1 && session.BatchesAreAtomic)
        {
            session.ExecuteBatch(statements);
            return;
        }
        using var tx = session.BeginTransaction();
        session.ExecuteBatch(statements);
        tx.Commit();
    }

    /// <summary>The columns of one relation, in order (empty when it does not exist).</summary>
    public static IReadOnlyList<CatalogColumn> ColumnsOf(this IWarehouseSession session, RelationName relation) =>
        session.Query(session.Dialect.RelationColumns(relation))
            .Select(r => new CatalogColumn(relation.Schema, relation.Name, Convert.ToString(r[0])!, Convert.ToString(r[1])!, Convert.ToInt32(r[2])))
            .ToList();

    /// <summary>The columns of each of <paramref name="relations"/>, in order (empty for one that does not exist): one query where
    /// the dialect reads several at once (<see cref="SqlDialect.RelationsColumns"/>).</summary>
    public static IReadOnlyList<IReadOnlyList<CatalogColumn>> ColumnsOf(this IWarehouseSession session, IReadOnlyList<RelationName> relations) =>
        session.Dialect.RelationsColumns(relations) is { } query ? ColumnsFrom(session.Query(query), relations) : relations.Select(session.ColumnsOf).ToList();

    /// <summary>The columns of two relations, in one query where the dialect reads several at once (a swap's target and its new rows).</summary>
    public static (IReadOnlyList<CatalogColumn> First, IReadOnlyList<CatalogColumn> Second) ColumnsOf(this IWarehouseSession session, RelationName first, RelationName second)
    {
        var both = session.ColumnsOf(new[] { first, second });
        return (both[0], both[1]);
    }

    /// <summary>
    /// <see cref="IWarehouseSession.ExecuteBatch"/> of <paramref name="statements"/>, then the columns of each of
    /// <paramref name="relations"/> as they are after it: in the batch's round trip where the dialect reads several relations'
    /// columns in one query, else just after it. Returns the rows each statement affected and the columns.
    /// </summary>
    public static (IReadOnlyList<int> Affected, IReadOnlyList<IReadOnlyList<CatalogColumn>> Columns) ExecuteBatchThenColumnsOf(
        this IWarehouseSession session, IReadOnlyList<SqlStatement> statements, IReadOnlyList<RelationName> relations)
    {
        if (session.Dialect.RelationsColumns(relations) is not { } query) return (session.ExecuteBatch(statements), session.ColumnsOf(relations));
        var (affected, rows) = session.ExecuteBatchThenQuery(statements, query);
        return (affected, ColumnsFrom(rows, relations));
    }

    /// <summary>The rows of <see cref="SqlDialect.RelationsColumns"/>, per relation.</summary>
    private static IReadOnlyList<IReadOnlyList<CatalogColumn>> ColumnsFrom(IReadOnlyList<object?[]> rows, IReadOnlyList<RelationName> relations)
    {
        var columns = rows
            .Select(r => new CatalogColumn(Convert.ToString(r[0])!, Convert.ToString(r[1])!, Convert.ToString(r[2])!, Convert.ToString(r[3])!, Convert.ToInt32(r[4])))
            .ToLookup(c => new RelationName(c.Schema, c.Relation));
        return relations.Select(r => (IReadOnlyList<CatalogColumn>)columns[r].ToList()).ToList();
    }

    /// <summary>The privileges on <paramref name="relations"/> and on the relations whose catalog ids are <paramref name="ids"/>
    /// (with every column's name when <paramref name="allColumns"/>), in one query (<see cref="SqlDialect.RelationPrivileges"/>).
    /// Only where <see cref="SqlDialect.HasPrivileges"/>.</summary>
    public static PrivilegeSnapshot ReadPrivileges(this IWarehouseSession session, IReadOnlyCollection<RelationName> relations, IReadOnlyCollection<long> ids,
        bool allColumns = false) =>
        PrivilegeSnapshot.FromRows(session.Query(session.Dialect.RelationPrivileges(relations, ids, allColumns)), session.Dialect.CatalogNameComparer);
}

namespace SQLBuild.Core.Adapters;

public static class SessionExtensions
{
    /// <summary>The columns of one relation, in order (empty when it does not exist).</summary>
    public static IReadOnlyList<CatalogColumn> ColumnsOf(this IWarehouseSession session, RelationName relation) =>
        session.Query(session.Dialect.RelationColumns(relation))
            .Select(r => new CatalogColumn(relation.Schema, relation.Name, Convert.ToString(r[0])!, Convert.ToString(r[1])!, Convert.ToInt32(r[2])))
            .ToList();

    /// <summary>The columns of each of <paramref name="relations"/>, in order (empty for one that does not exist): one query where
    /// the dialect reads several at once (<see cref="SqlDialect.RelationsColumns"/>).</summary>
    public static IReadOnlyList<IReadOnlyList<CatalogColumn>> ColumnsOf(this IWarehouseSession session, IReadOnlyList<RelationName> relations)
    {
        if (session.Dialect.RelationsColumns(relations) is not { } query) return relations.Select(session.ColumnsOf).ToList();
        var columns = session.Query(query)
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

namespace SQLBuild.Core.Adapters;

public static class SessionExtensions
{
    /// <summary>The columns of one relation, in order (empty when it does not exist).</summary>
    public static IReadOnlyList<CatalogColumn> ColumnsOf(this IWarehouseSession session, RelationName relation) =>
        session.Query(session.Dialect.RelationColumns(relation))
            .Select(r => new CatalogColumn(relation.Schema, relation.Name, Convert.ToString(r[0])!, Convert.ToString(r[1])!, Convert.ToInt32(r[2])))
            .ToList();

    /// <summary>The privileges on <paramref name="relations"/> and on the relations whose catalog ids are <paramref name="ids"/>
    /// (with every column's name when <paramref name="allColumns"/>), in one query (<see cref="SqlDialect.RelationPrivileges"/>).
    /// Only where <see cref="SqlDialect.HasPrivileges"/>.</summary>
    public static PrivilegeSnapshot ReadPrivileges(this IWarehouseSession session, IReadOnlyCollection<RelationName> relations, IReadOnlyCollection<long> ids,
        bool allColumns = false) =>
        PrivilegeSnapshot.FromRows(session.Query(session.Dialect.RelationPrivileges(relations, ids, allColumns)), session.Dialect.CatalogNameComparer);
}

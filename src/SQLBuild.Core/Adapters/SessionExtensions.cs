namespace SQLBuild.Core.Adapters;

public static class SessionExtensions
{
    /// <summary>The columns of one relation, in order (empty when it does not exist).</summary>
    public static IReadOnlyList<CatalogColumn> ColumnsOf(this IWarehouseSession session, RelationName relation) =>
        session.Query(session.Dialect.RelationColumns(relation))
            .Select(r => new CatalogColumn(relation.Schema, relation.Name, Convert.ToString(r[0])!, Convert.ToString(r[1])!, Convert.ToInt32(r[2])))
            .ToList();
}

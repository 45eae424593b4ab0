using SQLBuild.Core.Adapters;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Operations;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Reconcile;

/// <summary>
/// The condition of one node's chain ref -> tracked physical row -> physical relation -> logical view,
/// judged from state rows and one catalog snapshot already read (never a query per node). The first
/// broken link wins: fixing it (a rebuild writes the view too) is the fix for everything after it.
/// </summary>
internal sealed record NodeInspection(
    NodeKey Key,
    SqbFindingKind? Problem,
    RelationName View,
    RelationName? Physical,
    string? VersionHash,
    CatalogRelation? Existing)
{
    public bool Healthy => Problem is null;

    public static NodeInspection Inspect(NodeKey key, IReadOnlyDictionary<NodeKey, string> refs,
        IReadOnlyDictionary<(NodeKey Key, string Hash), PhysicalRelationRow> physical, CatalogSnapshot catalog,
        VirtualNames names, string environment, string? expectedHash)
    {
        var view = names.Logical(environment, key.NodeName);
        var existing = catalog.Find(view);
        if (!refs.TryGetValue(key, out var hash))
            return new(key, SqbFindingKind.MissingRef, view, expectedHash is null ? null : names.Physical(key.NodeName, expectedHash), expectedHash, existing);
        if (!physical.TryGetValue((key, hash), out var row))
            return new(key, SqbFindingKind.MissingTrackedPhysical, view, names.Physical(key.NodeName, hash), hash, existing);
        if (!catalog.Exists(row.Relation))
            return new(key, SqbFindingKind.MissingPhysical, view, row.Relation, hash, existing);
        SqbFindingKind? problem = existing switch
        {
            null => SqbFindingKind.MissingView,
            { Kind: RelationKind.Table } => SqbFindingKind.LogicalIsTable,
            _ when !existing.Reads(row.Relation) => SqbFindingKind.WrongViewTarget,
            _ => null,
        };
        return new(key, problem, view, row.Relation, hash, existing);
    }
}

/// <summary>
/// The catalog reconcile works from: the VDE's logical schema with view definitions (to see which relation each view
/// reads), and of the physical schema only the relations the caller names (found by name: the schema holds every
/// version of every model of every environment, and only existence matters there). Two queries whatever the number of
/// models.
/// </summary>
internal static class ReconcileCatalog
{
    public static CatalogSnapshot Read(IWarehouseSession session, string logicalSchema, string physicalSchema,
        IEnumerable<RelationName> physicalRelations)
    {
        var logical = session.ReadCatalog(new[] { logicalSchema }, viewDefinitions: true);
        if (logicalSchema == physicalSchema) return logical;
        var names = physicalRelations.Where(r => r.Schema == physicalSchema).Select(r => r.Name).ToList();
        var physical = session.ReadCatalogNamed(physicalSchema, names);
        return new CatalogSnapshot(logical.Schemas, logical.Relations.Concat(physical.Relations));
    }

    /// <summary>The physical relations the refs of a VDE point at (by their tracked rows).</summary>
    public static IEnumerable<RelationName> OfRefs(IReadOnlyDictionary<NodeKey, string> refs,
        IReadOnlyDictionary<(NodeKey Key, string Hash), PhysicalRelationRow> physical) =>
        refs.Select(r => physical.TryGetValue((r.Key, r.Value), out var row) ? row.Relation : null).OfType<RelationName>();
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Identity;
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
            _ when !EnvironmentSwitch.ViewReads(existing, row.Relation) => SqbFindingKind.WrongViewTarget,
            _ => null,
        };
        return new(key, problem, view, row.Relation, hash, existing);
    }
}

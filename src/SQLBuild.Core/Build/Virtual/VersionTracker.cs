using System.Collections.Concurrent;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build.Virtual;

/// <summary>
/// Records built versions in state (model_versions / seed_versions, physical_relations, ancestry). Where the state
/// shares the warehouse connection (the default), through the building session, in the batch of the transaction that
/// publishes the version, so a version exists exactly when it is recorded. With a separate state store, on a state
/// session of the worker's own (from a pool), just before that batch: a failure in between leaves a record without its
/// relation, which the next build sees as missing and builds again, never the reverse.
/// </summary>
internal sealed class VersionTracker : IDisposable
{
    private readonly StateStore _store;
    private readonly ConcurrentBag<IWarehouseSession> _sessions = new();

    public VersionTracker(StateStore store) => _store = store;

    private void Record(IWarehouseSession building, Action<StateRepository> write)
    {
        if (_store.SharesWarehouse)
        {
            write(new StateRepository(building, _store.Sql));
            return;
        }
        if (!_sessions.TryTake(out var session)) session = _store.OpenStateSession();
        try { write(new StateRepository(session, _store.Sql)); }
        finally { _sessions.Add(session); }
    }

    /// <summary>
    /// The statements that record something, for the caller to send in the batch of the transaction that makes it final
    /// (where state shares the building session); with a separate state store they are written there at once (just
    /// before that batch) and none are returned.
    /// </summary>
    private IReadOnlyList<SqlStatement> Records(IWarehouseSession building, Func<StateRepository, IReadOnlyList<SqlStatement>> make)
    {
        if (_store.SharesWarehouse) return make(new StateRepository(building, _store.Sql));
        Record(building, repo => repo.Session.ExecuteBatch(make(repo)));
        return Array.Empty<SqlStatement>();
    }

    /// <summary>A model version's two rows (model_versions, physical_relations); see <see cref="Records"/>.</summary>
    public IReadOnlyList<SqlStatement> ModelRecords(IWarehouseSession building, ModelNode model, NodeIdentity identity, RelationName physical, string relationType) =>
        Records(building, repo => repo.RecordModelVersions(
            new[] { new ModelVersionRow(model.Name, identity.VersionHash, identity.LocalHash, IdentityCalculator.NormalizeSql(model.Sql), identity.MetadataJson, "ready") },
            new[] { new PhysicalRelationRow(NodeTypes.Model, model.Name, identity.VersionHash, null, physical.Schema, physical.Name, relationType) }).ToList());

    /// <summary>A seed version's two rows (seed_versions, physical_relations); see <see cref="Records"/>.</summary>
    public IReadOnlyList<SqlStatement> SeedRecords(IWarehouseSession building, SeedNode seed, string versionHash, RelationName physical) =>
        Records(building, repo => repo.RecordSeedVersion(seed.Name, versionHash, seed.ContentHash,
            new PhysicalRelationRow(NodeTypes.Seed, seed.Name, versionHash, null, physical.Schema, physical.Name, "table")));

    /// <summary>The ancestry row of a version seeded from a prior one; see <see cref="Records"/>.</summary>
    public IReadOnlyList<SqlStatement> AncestryRecords(IWarehouseSession building, string model, string versionHash, string parentVersionHash, string strategy) =>
        Records(building, repo => new[] { repo.AncestryRecord(model, versionHash, parentVersionHash, strategy) });

    /// <summary>A refresh of a version (its <c>updated_at</c>: when it was last refreshed); see <see cref="Records"/>.</summary>
    public IReadOnlyList<SqlStatement> RefreshRecords(IWarehouseSession refreshing, NodeKey key, string versionHash) =>
        Records(refreshing, repo => new[] { repo.RefreshedRecord(key, versionHash) });

    /// <summary>Records one model version now (a taken-over relation).</summary>
    public void TrackModel(IWarehouseSession building, ModelNode model, NodeIdentity identity, RelationName physical, string relationType) =>
        building.ExecuteBatch(ModelRecords(building, model, identity, physical, relationType));

    /// <summary>Records one seed version now (a taken-over relation).</summary>
    public void TrackSeed(IWarehouseSession building, SeedNode seed, string versionHash, RelationName physical) =>
        building.ExecuteBatch(SeedRecords(building, seed, versionHash, physical));

    /// <summary>Runs a session's state reads where state lives: the building session when they share it, else a pooled state session.</summary>
    public T Read<T>(IWarehouseSession building, Func<StateRepository, T> read)
    {
        var result = default(T)!;
        Record(building, repo => result = read(repo));
        return result;
    }

    /// <summary>
    /// Creates a wave of view versions and records them, set-based: the views' DDL and the state rows (one multi-row
    /// statement per state table) go in ONE batch on the building session, inside the caller's transaction, which
    /// makes them exist and recorded at once. With a separate state store the state rows go in one batch of their own
    /// just before that transaction commits (as <see cref="TrackModel"/> does for one version).
    /// </summary>
    public void CreateAndTrackViews(IWarehouseSession building, IReadOnlyList<SqlStatement> ddl,
        IReadOnlyList<(ModelNode Model, NodeIdentity Identity, RelationName Physical)> versions)
    {
        IReadOnlyList<SqlStatement> Records(StateRepository repo) => repo.RecordModelVersions(
            versions.Select(v => new ModelVersionRow(v.Model.Name, v.Identity.VersionHash, v.Identity.LocalHash,
                IdentityCalculator.NormalizeSql(v.Model.Sql), v.Identity.MetadataJson, "ready")).ToList(),
            versions.Select(v => new PhysicalRelationRow(NodeTypes.Model, v.Model.Name, v.Identity.VersionHash, null, v.Physical.Schema, v.Physical.Name, "view"))
                .ToList()).ToList();
        if (_store.SharesWarehouse)
        {
            building.ExecuteBatch(ddl.Concat(Records(new StateRepository(building, _store.Sql))).ToList());
            return;
        }
        building.ExecuteBatch(ddl);
        Record(building, repo => repo.Session.ExecuteBatch(Records(repo)));
    }

    public void Dispose()
    {
        while (_sessions.TryTake(out var session)) session.Dispose();
    }
}

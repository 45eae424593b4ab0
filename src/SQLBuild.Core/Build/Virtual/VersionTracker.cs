using System.Collections.Concurrent;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build.Virtual;

/// <summary>
/// Records built versions in state (model_versions / seed_versions, physical_relations, ancestry) as soon as each
/// succeeds, so a physical relation is never left untracked for the janitor. Workers record in parallel, each on a
/// state session of its own (taken from a pool), not one after another on a shared one.
/// </summary>
internal sealed class VersionTracker : IDisposable
{
    private readonly StateStore _store;
    private readonly ConcurrentBag<IWarehouseSession> _sessions = new();

    public VersionTracker(StateStore store) => _store = store;

    private void Record(Action<StateRepository> write)
    {
        if (!_sessions.TryTake(out var session)) session = _store.OpenStateSession();
        try { write(new StateRepository(session, _store.Sql)); }
        finally { _sessions.Add(session); }
    }

    public void TrackModel(ModelNode model, NodeIdentity identity, RelationName physical, string relationType) => Record(repo =>
    {
        repo.InsertModelVersion(new ModelVersionRow(model.Name, identity.VersionHash, identity.LocalHash,
            IdentityCalculator.NormalizeSql(model.Sql), identity.MetadataJson, "ready"));
        repo.InsertPhysicalRelation(new PhysicalRelationRow(NodeTypes.Model, model.Name, identity.VersionHash, null, physical.Schema, physical.Name, relationType));
    });

    public void TrackSeed(SeedNode seed, string versionHash, RelationName physical) => Record(repo =>
    {
        repo.InsertSeedVersion(seed.Name, versionHash, seed.ContentHash);
        repo.InsertPhysicalRelation(new PhysicalRelationRow(NodeTypes.Seed, seed.Name, versionHash, null, physical.Schema, physical.Name, "table"));
    });

    public void TrackAncestry(string model, string versionHash, string parentVersionHash, string strategy) =>
        Record(repo => repo.InsertAncestry(model, versionHash, parentVersionHash, strategy));

    public void Dispose()
    {
        while (_sessions.TryTake(out var session)) session.Dispose();
    }
}

using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.State;

/// <summary>
/// The state rows the janitor reads and deletes (SPEC §10): the database clock, environments with their
/// refs, checkpoints with theirs, version rows of dropped physical relations, expired locks and the
/// state backup schemas. Deletes go through one session, so the caller can wrap them in one transaction.
/// </summary>
public sealed class RetentionRepository
{
    private readonly IWarehouseSession _s;
    private readonly StateSql _q;

    public RetentionRepository(IWarehouseSession session, StateSql sql)
    {
        _s = session;
        _q = sql;
    }

    /// <summary>The database's current UTC time (the clock every state timestamp was written with).</summary>
    public DateTime DatabaseNow() =>
        StateRepository.Dt(_s.ExecuteScalar(_q.Clock())) ?? DateTime.UtcNow;

    /// <summary>The backup schemas that exist, newest first (their ids are UTC timestamps, so names sort by age).</summary>
    public IReadOnlyList<string> BackupSchemas() =>
        _s.Query(_q.SchemasLike(_q.BackupPrefix)).Select(r => StateRepository.Str(r[0])!)
            .Where(n => n.Length > _q.BackupPrefix.Length).OrderByDescending(n => n, StringComparer.Ordinal).ToList();

    /// <summary>Deletes a VDE's refs and its row.</summary>
    public void DeleteEnvironment(string name)
    {
        var where = $"{_q.Col("virtual_environment_name")} = {_q.P(1)}";
        _s.Execute(_q.Delete(StateSchema.NodeRefs, where, new object?[] { name }));
        _s.Execute(_q.Delete(StateSchema.VirtualEnvironments, where, new object?[] { name }));
    }

    /// <summary>Deletes checkpoints and their refs, 500 ids per statement.</summary>
    public void DeleteCheckpoints(IReadOnlyCollection<string> ids)
    {
        foreach (var chunk in ids.Distinct().Chunk(500))
        {
            var values = chunk.Cast<object?>().ToArray();
            _s.Execute(_q.Delete(StateSchema.CheckpointRefs, _q.In("checkpoint_id", 1, chunk.Length), values));
            _s.Execute(_q.Delete(StateSchema.Checkpoints, _q.In("checkpoint_id", 1, chunk.Length), values));
        }
    }

    /// <summary>Deletes one version: its physical relation row, its model or seed version row and its ancestry row.</summary>
    public void DeleteVersion(NodeKey key, string versionHash)
    {
        _s.Execute(_q.Delete(StateSchema.PhysicalRelations,
            $"{_q.Col("artifact_type")} = {_q.P(1)} AND {_q.Col("artifact_name")} = {_q.P(2)} AND {_q.Col("version_hash")} = {_q.P(3)}",
            new object?[] { key.NodeType, key.NodeName, versionHash }));
        if (key.NodeType == NodeTypes.Seed)
            _s.Execute(_q.Delete(StateSchema.SeedVersions, $"{_q.Col("seed_name")} = {_q.P(1)} AND {_q.Col("version_hash")} = {_q.P(2)}",
                new object?[] { key.NodeName, versionHash }));
        else
        {
            var where = $"{_q.Col("model_name")} = {_q.P(1)} AND {_q.Col("version_hash")} = {_q.P(2)}";
            _s.Execute(_q.Delete(StateSchema.ModelVersions, where, new object?[] { key.NodeName, versionHash }));
            _s.Execute(_q.Delete(StateSchema.PhysicalRelationAncestry, where, new object?[] { key.NodeName, versionHash }));
        }
    }

    /// <summary>Deletes a lock row only while it is still expired (a holder that renewed it in the meantime keeps it).</summary>
    public bool DeleteExpiredLock(string key) =>
        _s.Execute(_q.Delete(StateSchema.Locks, $"{_q.Col("lock_key")} = {_q.P(1)} AND {_q.Col("expires_at")} <= {_q.Now}",
            new object?[] { key })) > 0;
}

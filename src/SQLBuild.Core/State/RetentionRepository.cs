using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.State;

/// <summary>
/// The state rows the janitor reads and deletes (SPEC §10): the database clock, environments with their
/// refs, checkpoints with theirs, version rows of dropped physical relations, expired locks and the
/// state backup schemas. Deletes go through one session, so the caller can wrap them in one transaction.
/// </summary>
public sealed class RetentionRepository
{
    private readonly IWarehouseSession _session;
    private readonly StateSql _sql;

    public RetentionRepository(IWarehouseSession session, StateSql sql)
    {
        _session = session;
        _sql = sql;
    }

    /// <summary>The database's current UTC time (the clock every state timestamp was written with).</summary>
    public DateTime DatabaseNow() =>
        StateRepository.Dt(_session.ExecuteScalar(_sql.Clock())) ?? DateTime.UtcNow;

    /// <summary>The backup schemas that exist, newest first (their ids are UTC timestamps, so names sort by age).</summary>
    public IReadOnlyList<string> BackupSchemas() =>
        _session.Query(_sql.SchemasLike(_sql.BackupPrefix)).Select(r => StateRepository.Str(r[0])!)
            .Where(n => n.Length > _sql.BackupPrefix.Length).OrderByDescending(n => n, StringComparer.Ordinal).ToList();

    /// <summary>Deletes a VDE's refs and its row.</summary>
    public void DeleteEnvironment(string name)
    {
        var environment = Where.Equal("virtual_environment_name", name);
        _session.Execute(_sql.Delete(StateSchema.NodeRefs, environment));
        _session.Execute(_sql.Delete(StateSchema.VirtualEnvironments, environment));
    }

    /// <summary>Deletes checkpoints and their refs, 500 ids per statement.</summary>
    public void DeleteCheckpoints(IReadOnlyCollection<string> ids)
    {
        foreach (var chunk in ids.Distinct().Chunk(500))
        {
            var checkpoints = Where.In("checkpoint_id", chunk);
            _session.Execute(_sql.Delete(StateSchema.CheckpointRefs, checkpoints));
            _session.Execute(_sql.Delete(StateSchema.Checkpoints, checkpoints));
        }
    }

    /// <summary>Deletes one version: its physical relation row, its model or seed version row and its ancestry row.</summary>
    public void DeleteVersion(NodeKey key, string versionHash)
    {
        _session.Execute(_sql.Delete(StateSchema.PhysicalRelations,
            Where.Equal("artifact_type", key.NodeType) & Where.Equal("artifact_name", key.NodeName) & Where.Equal("version_hash", versionHash)));
        if (key.NodeType == NodeTypes.Seed)
            _session.Execute(_sql.Delete(StateSchema.SeedVersions, Where.Equal("seed_name", key.NodeName) & Where.Equal("version_hash", versionHash)));
        else
        {
            var version = Where.Equal("model_name", key.NodeName) & Where.Equal("version_hash", versionHash);
            _session.Execute(_sql.Delete(StateSchema.ModelVersions, version));
            _session.Execute(_sql.Delete(StateSchema.PhysicalRelationAncestry, version));
        }
    }

    /// <summary>Deletes a lock row only while it is still expired (a holder that renewed it in the meantime keeps it).</summary>
    public bool DeleteExpiredLock(string key) =>
        _session.Execute(_sql.Delete(StateSchema.Locks, Where.Equal("lock_key", key) & Where.AtMost("expires_at", StateValue.Now))) > 0;
}

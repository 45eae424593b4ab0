using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.State;

/// <summary>
/// The state rows the janitor reads and deletes (SPEC §10): the database clock, environments with their
/// refs, checkpoints with theirs, version rows of dropped physical relations, expired locks, the
/// state backup schemas, and the history older than <c>history_days</c> (journal, ref events, reconcile events). Deletes go through one session, so the caller can wrap them in one transaction.
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

    // ------------------------------------------------------------------ history

    private static readonly object?[] Finished = { OperationJournal.Succeeded, OperationJournal.Failed, OperationJournal.Cancelled };

    /// <summary>The operations recorded <c>running</c> (live or interrupted): their rows are never pruned.</summary>
    public IReadOnlyList<string> RunningOperations() =>
        _session.Query(_sql.Select(StateSchema.Operations, new[] { "operation_id" }, Where.Equal("status", OperationJournal.Running)))
            .Select(r => StateRepository.Str(r[0])!).ToList();

    /// <summary>The finished operations (succeeded, failed, cancelled) last changed at or before <paramref name="cutoff"/>.</summary>
    public IReadOnlyList<string> FinishedOperationsBefore(DateTime cutoff) =>
        _session.Query(_sql.Select(StateSchema.Operations, new[] { "operation_id" },
                Where.AtMost("updated_at", StateValue.Time(cutoff)) & Where.In("status", Finished)))
            .Select(r => StateRepository.Str(r[0])!).ToList();

    /// <summary>How many events the operations <paramref name="ids"/> have.</summary>
    public long CountEvents(IReadOnlyCollection<string> ids) =>
        ids.Chunk(500).Sum(chunk => Convert.ToInt64(_session.ExecuteScalar(_sql.Count(StateSchema.OperationEvents, Where.In("operation_id", chunk))),
            System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Deletes operations with their events, 500 per statement: (operations, events) deleted. A row that is
    /// <c>running</c> again (a reused id) stays.</summary>
    public (long Operations, long Events) DeleteOperations(IReadOnlyCollection<string> ids)
    {
        long operations = 0, events = 0;
        foreach (var chunk in ids.Chunk(500))
        {
            operations += _session.Execute(_sql.Delete(StateSchema.Operations, Where.In("operation_id", chunk) & Where.In("status", Finished)));
            events += _session.Execute(_sql.Delete(StateSchema.OperationEvents, Where.In("operation_id", chunk)));
        }
        return (operations, events);
    }

    /// <summary>Ref events (an audit trail nothing reads back: refs and checkpoints hold what restore needs) created at or
    /// before <paramref name="cutoff"/>, except those of the operations <paramref name="keep"/>.</summary>
    private static Where RefEventsBefore(DateTime cutoff, IReadOnlyCollection<string> keep) =>
        Where.AtMost("created_at", StateValue.Time(cutoff)) & Where.NotIn("operation_id", keep);

    public long CountRefEventsBefore(DateTime cutoff, IReadOnlyCollection<string> keep) =>
        Convert.ToInt64(_session.ExecuteScalar(_sql.Count(StateSchema.RefEvents, RefEventsBefore(cutoff, keep))), System.Globalization.CultureInfo.InvariantCulture);

    public long DeleteRefEventsBefore(DateTime cutoff, IReadOnlyCollection<string> keep) =>
        _session.Execute(_sql.Delete(StateSchema.RefEvents, RefEventsBefore(cutoff, keep)));

    /// <summary>Reconcile events (report, repair_view, attach) created at or before <paramref name="cutoff"/>.</summary>
    public long CountReconcileEventsBefore(DateTime cutoff) =>
        Convert.ToInt64(_session.ExecuteScalar(_sql.Count(StateSchema.ReconcileEvents, Where.AtMost("created_at", StateValue.Time(cutoff)))),
            System.Globalization.CultureInfo.InvariantCulture);

    public long DeleteReconcileEventsBefore(DateTime cutoff) =>
        _session.Execute(_sql.Delete(StateSchema.ReconcileEvents, Where.AtMost("created_at", StateValue.Time(cutoff))));
}

using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.State;

/// <summary>
/// Reads and writes state rows through one session (which may hold an open transaction shared with
/// warehouse DDL). Every read is set-based: one statement per table, never one per model.
/// </summary>
public sealed class StateRepository
{
    private readonly IWarehouseSession _session;
    private readonly StateSql _sql;

    public StateRepository(IWarehouseSession session, StateSql sql)
    {
        _session = session;
        _sql = sql;
    }

    public IWarehouseSession Session => _session;
    public StateSql Sql => _sql;

    // ------------------------------------------------------------------ environments

    private static readonly string[] EnvColumns =
        { "virtual_environment_name", "status", "baseline_virtual_environment_name", "created_at", "updated_at", "finalized_at" };

    public IReadOnlyList<EnvironmentRow> Environments(string? name = null)
    {
        var rows = _session.Query(name is null
            ? _sql.Select(StateSchema.VirtualEnvironments, EnvColumns, orderBy: new[] { Order.Asc("virtual_environment_name") })
            : _sql.Select(StateSchema.VirtualEnvironments, EnvColumns, Where.Equal("virtual_environment_name", name)));
        return rows.Select(r => new EnvironmentRow(Str(r[0])!, Str(r[1])!, Str(r[2]), Dt(r[3])!.Value, Dt(r[4])!.Value, Dt(r[5]))).ToList();
    }

    public EnvironmentRow? Environment(string name) => Environments(name).SingleOrDefault();

    /// <summary>Inserts or updates the VDE row, keeping created_at; finalized_at moves when the status is finalized.</summary>
    public void UpsertEnvironment(string name, string status, string? baseline) =>
        _session.Execute(EnvironmentWrite(name, status, baseline, Environment(name) is not null));

    /// <summary>The statement of <see cref="UpsertEnvironment"/>, given whether the row exists.</summary>
    public SqlStatement EnvironmentWrite(string name, string status, string? baseline, bool exists)
    {
        if (!exists)
        {
            var now = new List<string> { "created_at", "updated_at" };
            if (status == EnvironmentStatus.Finalized) now.Add("finalized_at");
            return _sql.Insert(StateSchema.VirtualEnvironments, new (string, object?)[]
            {
                ("virtual_environment_name", name), ("status", status), ("baseline_virtual_environment_name", baseline),
            }, now.ToArray());
        }
        var set = new List<Set> { Set.To("status", status), Set.To("baseline_virtual_environment_name", baseline), Set.ToNow("updated_at") };
        if (status == EnvironmentStatus.Finalized) set.Add(Set.ToNow("finalized_at"));
        return _sql.Update(StateSchema.VirtualEnvironments, set, Where.Equal("virtual_environment_name", name));
    }

    public void SetEnvironmentStatus(string name, string status)
    {
        _session.Execute(_sql.Update(StateSchema.VirtualEnvironments,
            new[] { Set.To("status", status), Set.ToNow("updated_at") },
            Where.Equal("virtual_environment_name", name)));
    }

    // ------------------------------------------------------------------ refs

    public Dictionary<NodeKey, string> Refs(string environment)
    {
        var rows = _session.Query(_sql.Select(StateSchema.NodeRefs, new[] { "node_type", "node_name", "version_hash" },
            Where.Equal("virtual_environment_name", environment)));
        return rows.ToDictionary(r => new NodeKey(Str(r[0])!, Str(r[1])!), r => Str(r[2])!);
    }

    /// <summary>The audit signature each ref of the VDE carries (null: unknown).</summary>
    public Dictionary<NodeKey, string?> RefAudits(string environment)
    {
        var rows = _session.Query(_sql.Select(StateSchema.NodeRefs, new[] { "node_type", "node_name", "audit_signature" },
            Where.Equal("virtual_environment_name", environment)));
        return rows.ToDictionary(r => new NodeKey(Str(r[0])!, Str(r[1])!), r => Str(r[2]));
    }

    /// <summary>Every ref of every VDE with its audit signature, in one read: (environment, key, version, signature).</summary>
    public IReadOnlyList<(string Environment, NodeKey Key, string Hash, string? AuditSignature)> AllRefAudits() =>
        _session.Query(_sql.Select(StateSchema.NodeRefs, new[] { "virtual_environment_name", "node_type", "node_name", "version_hash", "audit_signature" }))
            .Select(r => (Str(r[0])!, new NodeKey(Str(r[1])!, Str(r[2])!), Str(r[3])!, Str(r[4]))).ToList();

    /// <summary>Refs of every VDE, in one read.</summary>
    public Dictionary<string, Dictionary<NodeKey, string>> AllRefs()
    {
        var rows = _session.Query(_sql.Select(StateSchema.NodeRefs, new[] { "virtual_environment_name", "node_type", "node_name", "version_hash" }));
        return rows.GroupBy(r => Str(r[0])!).ToDictionary(g => g.Key,
            g => g.ToDictionary(r => new NodeKey(Str(r[1])!, Str(r[2])!), r => Str(r[3])!));
    }

    /// <summary>Every ref of the VDE with its version and audit signature, in one read.</summary>
    public Dictionary<NodeKey, (string Hash, string? AuditSignature)> RefsWithAudits(string environment)
    {
        var rows = _session.Query(_sql.Select(StateSchema.NodeRefs, new[] { "node_type", "node_name", "version_hash", "audit_signature" },
            Where.Equal("virtual_environment_name", environment)));
        return rows.ToDictionary(r => new NodeKey(Str(r[0])!, Str(r[1])!), r => (Str(r[2])!, Str(r[3])));
    }

    /// <summary>
    /// Makes the VDE's refs exactly <paramref name="refs"/>: deletes refs not in it, writes changed and new
    /// ones, and appends one ref event per change. Returns the changes. <paramref name="audits"/> gives the audit
    /// signature of the refs it names: new and changed refs take it, an unchanged ref whose signature differs is
    /// updated (no ref event: its version did not move). Refs it does not name keep theirs (new ones: unknown).
    /// One read, then every write in one batch (<see cref="RefWrites"/>).
    /// </summary>
    public IReadOnlyList<RefChange> ReplaceRefs(string environment, IReadOnlyDictionary<NodeKey, string> refs, string? operationId,
        IReadOnlyDictionary<NodeKey, string?>? audits = null)
    {
        var writes = RefWrites(environment, RefsWithAudits(environment), refs, operationId, audits);
        _session.ExecuteBatch(writes.Statements);
        return writes.Changes;
    }

    /// <summary>What <see cref="ReplaceRefs"/> writes, from the VDE's <paramref name="current"/> refs, without running it: the changes,
    /// the statements (set-based: one DELETE per node type, one multi-row INSERT for refs and for events, one UPDATE per
    /// unmoved ref whose audit signature changed) and the audit signature every ref of <paramref name="refs"/> carries after them.</summary>
    public (IReadOnlyList<RefChange> Changes, IReadOnlyList<SqlStatement> Statements, IReadOnlyDictionary<NodeKey, string?> Signatures) RefWrites(
        string environment, IReadOnlyDictionary<NodeKey, (string Hash, string? AuditSignature)> current, IReadOnlyDictionary<NodeKey, string> refs,
        string? operationId, IReadOnlyDictionary<NodeKey, string?>? audits = null)
    {
        var changes = new List<RefChange>();
        foreach (var (key, (hash, _)) in current)
            if (!refs.TryGetValue(key, out var next)) changes.Add(new RefChange(key, hash, null));
            else if (next != hash) changes.Add(new RefChange(key, hash, next));
        foreach (var (key, hash) in refs)
            if (!current.ContainsKey(key)) changes.Add(new RefChange(key, null, hash));

        var statements = new List<SqlStatement>();
        var ordered = changes.OrderBy(c => c.Key.NodeType, StringComparer.Ordinal).ThenBy(c => c.Key.NodeName, StringComparer.Ordinal).ToList();
        foreach (var byType in ordered.Where(c => c.Previous is not null).GroupBy(c => c.Key.NodeType))
            foreach (var chunk in byType.Select(c => (object?)c.Key.NodeName).Chunk(_sql.MaxInValues))
                statements.Add(_sql.Delete(StateSchema.NodeRefs,
                    Where.Equal("virtual_environment_name", environment) & Where.Equal("node_type", byType.Key) & Where.In("node_name", chunk)));
        string? Signature(NodeKey key) => audits is not null && audits.TryGetValue(key, out var signature) ? signature : null;
        statements.AddRange(_sql.InsertMany(StateSchema.NodeRefs,
            new[] { "virtual_environment_name", "node_type", "node_name", "version_hash", "audit_signature" },
            ordered.Where(c => c.New is not null).Select(c => new object?[] { environment, c.Key.NodeType, c.Key.NodeName, c.New, Signature(c.Key) }).ToList(),
            "updated_at"));
        var moved = changes.Select(c => c.Key).ToHashSet();
        var signatures = new Dictionary<NodeKey, string?>();
        foreach (var key in refs.Keys)
        {
            if (moved.Contains(key)) { signatures[key] = Signature(key); continue; }
            var was = current[key].AuditSignature;
            signatures[key] = was;
            if (audits is null || !audits.TryGetValue(key, out var signature) || was == signature) continue;
            signatures[key] = signature;
            statements.Add(_sql.Update(StateSchema.NodeRefs, new[] { Set.To("audit_signature", signature), Set.ToNow("updated_at") },
                Where.Equal("virtual_environment_name", environment) & Where.Equal("node_type", key.NodeType) & Where.Equal("node_name", key.NodeName)));
        }
        statements.AddRange(_sql.InsertMany(StateSchema.RefEvents,
            new[] { "event_id", "virtual_environment_name", "node_type", "node_name", "previous_version_hash", "new_version_hash", "operation_id" },
            ordered.Select(c => new object?[] { Ids.NewEventId(), environment, c.Key.NodeType, c.Key.NodeName, c.Previous, c.New, operationId }).ToList(),
            "created_at"));
        return (changes, statements, signatures);
    }

    // ------------------------------------------------------------------ versions and physical relations

    public Dictionary<(string Name, string Hash), ModelVersionRow> ModelVersions(IReadOnlyCollection<string> modelNames)
    {
        var result = new Dictionary<(string, string), ModelVersionRow>();
        foreach (var chunk in modelNames.Distinct().Chunk(500))
        {
            var rows = _session.Query(_sql.Select(StateSchema.ModelVersions,
                new[] { "model_name", "version_hash", "local_hash", "compiled_sql", "metadata_json", "status" },
                Where.In("model_name", chunk)));
            foreach (var r in rows)
                result[(Str(r[0])!, Str(r[1])!)] = new ModelVersionRow(Str(r[0])!, Str(r[1])!, Str(r[2]) ?? "", Str(r[3]) ?? "", Str(r[4]) ?? "", Str(r[5]) ?? "");
        }
        return result;
    }

    public void InsertModelVersion(ModelVersionRow v) => InsertIfAbsent(StateSchema.ModelVersions, new (string, object?)[]
    {
        ("model_name", v.ModelName), ("version_hash", v.VersionHash), ("local_hash", v.LocalHash), ("compiled_sql", v.CompiledSql),
        ("metadata_json", v.MetadataJson), ("status", v.Status),
    }, "created_at", "updated_at");

    public void InsertSeedVersion(string seed, string versionHash, string contentHash) => InsertIfAbsent(StateSchema.SeedVersions, new (string, object?)[]
    {
        ("seed_name", seed), ("version_hash", versionHash), ("content_hash", contentHash), ("status", "ready"),
    }, "created_at", "updated_at");

    /// <summary>One guarded INSERT (the row may exist: versions are shared); a concurrent insert of the same key is not an error.</summary>
    private void InsertIfAbsent(StateTable t, IReadOnlyList<(string Column, object? Value)> values, params string[] nowColumns)
    {
        try
        {
            _session.Execute(_sql.InsertIfAbsent(t, values, nowColumns));
        }
        catch (Errors.SqbException ex) when (WarehouseErrors.IsUniqueViolation(ex))
        {
            // Another process recorded the same version between our check and our insert.
        }
    }

    private static readonly string[] PhysColumns =
        { "artifact_type", "artifact_name", "version_hash", "database_name", "schema_name", "relation_name", "relation_type" };

    /// <summary>Every tracked physical relation (one read; filter in memory).</summary>
    public List<PhysicalRelationRow> PhysicalRelations()
    {
        var rows = _session.Query(_sql.Select(StateSchema.PhysicalRelations, PhysColumns));
        return rows.Select(ToPhysical).ToList();
    }

    public Dictionary<(NodeKey Key, string Hash), PhysicalRelationRow> PhysicalRelationIndex() =>
        PhysicalRelations().GroupBy(p => (p.Key, p.VersionHash)).ToDictionary(g => g.Key, g => g.First());

    /// <summary>The tracked physical relations of just <paramref name="versions"/>, found by version hash (one read where the
    /// dialect binds arrays): for a caller that needs a known set out of a table that holds every environment's versions.</summary>
    public Dictionary<(NodeKey Key, string Hash), PhysicalRelationRow> PhysicalRelationIndex(IReadOnlyCollection<(NodeKey Key, string Hash)> versions)
    {
        var wanted = versions.ToHashSet();
        var index = new Dictionary<(NodeKey Key, string Hash), PhysicalRelationRow>();
        foreach (var chunk in wanted.Select(v => (object?)v.Hash).Distinct().Chunk(_sql.MaxInValues))
            foreach (var p in _session.Query(_sql.Select(StateSchema.PhysicalRelations, PhysColumns, Where.In("version_hash", chunk))).Select(ToPhysical))
                if (wanted.Contains((p.Key, p.VersionHash))) index.TryAdd((p.Key, p.VersionHash), p);
        return index;
    }

    /// <summary>Whether a version of a node has a physical_relations row (one keyed lookup).</summary>
    public bool IsTracked(NodeKey key, string versionHash) =>
        _session.Query(_sql.Select(StateSchema.PhysicalRelations, new[] { "version_hash" },
            Where.Equal("artifact_type", key.NodeType) & Where.Equal("artifact_name", key.NodeName) & Where.Equal("version_hash", versionHash))).Count > 0;

    public void InsertPhysicalRelation(PhysicalRelationRow p) => InsertIfAbsent(StateSchema.PhysicalRelations, new (string, object?)[]
    {
        ("artifact_type", p.ArtifactType), ("artifact_name", p.ArtifactName), ("version_hash", p.VersionHash),
        ("database_name", p.DatabaseName), ("schema_name", p.SchemaName), ("relation_name", p.RelationName), ("relation_type", p.RelationType),
    }, "created_at", "updated_at");

    /// <summary>Which of <paramref name="versions"/> have a physical_relations row, in one read per node type (set-based
    /// <see cref="IsTracked"/>).</summary>
    public HashSet<(NodeKey Key, string Hash)> Tracked(IReadOnlyCollection<(NodeKey Key, string Hash)> versions)
    {
        var tracked = new HashSet<(NodeKey, string)>();
        foreach (var byType in versions.GroupBy(v => v.Key.NodeType))
            foreach (var chunk in byType.Select(v => (object?)v.Key.NodeName).Distinct().Chunk(_sql.MaxInValues))
                foreach (var r in _session.Query(_sql.Select(StateSchema.PhysicalRelations, new[] { "artifact_name", "version_hash" },
                             Where.Equal("artifact_type", byType.Key) & Where.In("artifact_name", chunk))))
                    tracked.Add((new NodeKey(byType.Key, Str(r[0])!), Str(r[1])!));
        return tracked.Where(versions.Contains).ToHashSet();
    }

    /// <summary>The statements that record many model versions and their physical relations (each unless recorded already):
    /// one per state table where arrays bind. The caller runs them in the transaction that makes the versions exist.</summary>
    public IEnumerable<SqlStatement> RecordModelVersions(IReadOnlyList<ModelVersionRow> versions, IReadOnlyList<PhysicalRelationRow> relations) =>
        _sql.InsertManyIfAbsent(StateSchema.ModelVersions, new[] { "model_name", "version_hash", "local_hash", "compiled_sql", "metadata_json", "status" },
                versions.Select(v => new object?[] { v.ModelName, v.VersionHash, v.LocalHash, v.CompiledSql, v.MetadataJson, v.Status }).ToList(),
                "created_at", "updated_at")
            .Concat(_sql.InsertManyIfAbsent(StateSchema.PhysicalRelations, PhysColumns,
                relations.Select(p => new object?[] { p.ArtifactType, p.ArtifactName, p.VersionHash, p.DatabaseName, p.SchemaName, p.RelationName, p.RelationType })
                    .ToList(), "created_at", "updated_at"));

    /// <summary>The statements that record one seed version and its physical relation (each unless recorded already).</summary>
    public IReadOnlyList<SqlStatement> RecordSeedVersion(string seed, string versionHash, string contentHash, PhysicalRelationRow relation) =>
        _sql.InsertManyIfAbsent(StateSchema.SeedVersions, new[] { "seed_name", "version_hash", "content_hash", "status" },
                new[] { new object?[] { seed, versionHash, contentHash, "ready" } }, "created_at", "updated_at")
            .Concat(_sql.InsertManyIfAbsent(StateSchema.PhysicalRelations, PhysColumns,
                new[] { new object?[] { relation.ArtifactType, relation.ArtifactName, relation.VersionHash, relation.DatabaseName, relation.SchemaName, relation.RelationName, relation.RelationType } },
                "created_at", "updated_at"))
            .ToList();

    /// <summary>The statement of <see cref="InsertAncestry"/>.</summary>
    public SqlStatement AncestryRecord(string model, string versionHash, string parentVersionHash, string strategy) =>
        _sql.InsertIfAbsent(StateSchema.PhysicalRelationAncestry, new (string, object?)[]
        {
            ("model_name", model), ("version_hash", versionHash), ("parent_version_hash", parentVersionHash), ("seed_strategy", strategy),
        }, "created_at");

    /// <summary>The statement of <see cref="MarkRefreshed"/>.</summary>
    public SqlStatement RefreshedRecord(NodeKey key, string versionHash) =>
        _sql.Update(StateSchema.PhysicalRelations, new[] { Set.ToNow("updated_at") },
            Where.Equal("artifact_type", key.NodeType) & Where.Equal("artifact_name", key.NodeName) & Where.Equal("version_hash", versionHash));

    /// <summary>Records that a version was refreshed (its data re-run into it): its <c>updated_at</c>, which
    /// <c>run_despite_unchanged</c> compares with.</summary>
    public void MarkRefreshed(NodeKey key, string versionHash) =>
        _session.Execute(_sql.Update(StateSchema.PhysicalRelations, new[] { Set.ToNow("updated_at") },
            Where.Equal("artifact_type", key.NodeType) & Where.Equal("artifact_name", key.NodeName) & Where.Equal("version_hash", versionHash)));

    /// <summary>When each tracked version was last built or refreshed (database clock, UTC).</summary>
    public Dictionary<(NodeKey Key, string Hash), DateTime> RefreshTimes()
    {
        var rows = _session.Query(_sql.Select(StateSchema.PhysicalRelations, new[] { "artifact_type", "artifact_name", "version_hash", "updated_at" }));
        return rows.GroupBy(r => (new NodeKey(Str(r[0])!, Str(r[1])!), Str(r[2])!)).ToDictionary(g => g.Key, g => Dt(g.First()[3]) ?? DateTime.MinValue);
    }

    public void InsertAncestry(string model, string versionHash, string parentVersionHash, string strategy) =>
        InsertIfAbsent(StateSchema.PhysicalRelationAncestry, new (string, object?)[]
        {
            ("model_name", model), ("version_hash", versionHash), ("parent_version_hash", parentVersionHash), ("seed_strategy", strategy),
        }, "created_at");

    // ------------------------------------------------------------------ checkpoints

    /// <summary>A checkpoint of <paramref name="refs"/>, with the audit signatures the VDE's refs carry now (written
    /// in the same transaction, after the refs), so a rollback brings back what each version was audited against.</summary>
    public string CreateCheckpoint(string environment, IReadOnlyDictionary<NodeKey, string> refs)
    {
        var (id, statements) = CheckpointWrites(environment, refs, RefAudits(environment));
        _session.ExecuteBatch(statements);
        return id;
    }

    /// <summary>What <see cref="CreateCheckpoint"/> writes, without running it, given the audit signature each ref carries.</summary>
    public (string Id, IReadOnlyList<SqlStatement> Statements) CheckpointWrites(string environment, IReadOnlyDictionary<NodeKey, string> refs,
        IReadOnlyDictionary<NodeKey, string?> audits)
    {
        var id = Ids.NewCheckpointId();
        var statements = new List<SqlStatement>
        {
            _sql.Insert(StateSchema.Checkpoints, new (string, object?)[] { ("checkpoint_id", id), ("virtual_environment_name", environment) }, "created_at"),
        };
        statements.AddRange(_sql.InsertMany(StateSchema.CheckpointRefs, new[] { "checkpoint_id", "node_type", "node_name", "version_hash", "audit_signature" },
            refs.OrderBy(r => r.Key.NodeType, StringComparer.Ordinal).ThenBy(r => r.Key.NodeName, StringComparer.Ordinal)
                .Select(r => new object?[] { id, r.Key.NodeType, r.Key.NodeName, r.Value, audits.GetValueOrDefault(r.Key) }).ToList()));
        return (id, statements);
    }

    /// <summary>The audit signatures a checkpoint's refs carry.</summary>
    public Dictionary<NodeKey, string?> CheckpointAudits(string checkpointId)
    {
        var rows = _session.Query(_sql.Select(StateSchema.CheckpointRefs, new[] { "node_type", "node_name", "audit_signature" },
            Where.Equal("checkpoint_id", checkpointId)));
        return rows.ToDictionary(r => new NodeKey(Str(r[0])!, Str(r[1])!), r => Str(r[2]));
    }

    /// <summary>Checkpoints of one VDE (or all), newest first (upstream: created_at DESC, checkpoint_id DESC).</summary>
    public IReadOnlyList<CheckpointRow> Checkpoints(string? environment = null)
    {
        var order = new[] { Order.Desc("created_at"), Order.Desc("checkpoint_id") };
        var rows = _session.Query(_sql.Select(StateSchema.Checkpoints, new[] { "checkpoint_id", "virtual_environment_name", "created_at" },
            environment is null ? null : Where.Equal("virtual_environment_name", environment), order));
        return rows.Select(r => new CheckpointRow(Str(r[0])!, Str(r[1])!, Dt(r[2])!.Value)).ToList();
    }

    /// <summary>Refs of the given checkpoints, in one read per 500 ids.</summary>
    public Dictionary<string, Dictionary<NodeKey, string>> CheckpointRefs(IReadOnlyCollection<string> checkpointIds)
    {
        var result = checkpointIds.Distinct().ToDictionary(id => id, _ => new Dictionary<NodeKey, string>());
        foreach (var chunk in checkpointIds.Distinct().Chunk(500))
        {
            var rows = _session.Query(_sql.Select(StateSchema.CheckpointRefs, new[] { "checkpoint_id", "node_type", "node_name", "version_hash" },
                Where.In("checkpoint_id", chunk)));
            foreach (var r in rows) result[Str(r[0])!][new NodeKey(Str(r[1])!, Str(r[2])!)] = Str(r[3])!;
        }
        return result;
    }

    // ------------------------------------------------------------------ reconcile events

    /// <summary>Appends a <c>reconcile_events</c> row (action <c>report</c>, <c>repair_view</c> or <c>attach</c>).</summary>
    public void InsertReconcileEvent(string environment, string action, string status, string message) =>
        _session.Execute(_sql.Insert(StateSchema.ReconcileEvents, new (string, object?)[]
        {
            ("event_id", Ids.NewEventId()), ("virtual_environment_name", environment), ("action", action), ("status", status), ("message", message),
        }, "created_at"));

    // ------------------------------------------------------------------ helpers

    private static PhysicalRelationRow ToPhysical(object?[] r) =>
        new(Str(r[0])!, Str(r[1])!, Str(r[2])!, Str(r[3]), Str(r[4])!, Str(r[5])!, Str(r[6]) ?? "table");

    public static string? Str(object? v) => v is null or DBNull ? null : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture);

    public static DateTime? Dt(object? v) => v switch
    {
        null or DBNull => null,
        DateTime d => DateTime.SpecifyKind(d, DateTimeKind.Utc),
        DateTimeOffset o => o.UtcDateTime,
        _ => DateTime.SpecifyKind(Convert.ToDateTime(v, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc),
    };
}

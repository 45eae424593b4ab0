namespace SQLBuild.Core.State;

public enum StateColumnType { Integer, Text, Timestamp }

public sealed record StateColumn(string Name, StateColumnType Type);

/// <summary>One state table: columns in order and the unique key (SPEC §5, brackets).</summary>
public sealed record StateTable(string Name, IReadOnlyList<StateColumn> Columns, IReadOnlyList<string> UniqueKey)
{
    /// <summary>Upstream's index name: <c>idx_sqb_&lt;table&gt;_identity</c>.</summary>
    public string IndexName => $"idx_sqb_{Name}_identity";
    public StateColumn Column(string name) => Columns.Single(c => c.Name == name);
}

/// <summary>
/// THE list of state tables. Initialization, validation, backup and restore all iterate this list;
/// nothing else names the set of tables. Names and columns are upstream's (SPEC §5), so a warehouse
/// written by the <c>sqb</c> CLI and by this module agree.
/// </summary>
public static class StateSchema
{
    public const int CurrentVersion = 1;

    private static StateColumn I(string n) => new(n, StateColumnType.Integer);
    private static StateColumn T(string n) => new(n, StateColumnType.Text);
    private static StateColumn Ts(string n) => new(n, StateColumnType.Timestamp);

    public static readonly StateTable StateVersions = new("state_versions",
        new[] { I("schema_version"), T("sqlbuild_version"), Ts("updated_at") }, Array.Empty<string>());

    public static readonly StateTable StateMigrationEvents = new("state_migration_events",
        new[] { T("event_id"), T("action"), T("backup_id"), T("status"), T("message"), Ts("created_at") },
        new[] { "event_id" });

    public static readonly StateTable ModelVersions = new("model_versions",
        new[] { T("model_name"), T("version_hash"), T("local_hash"), T("compiled_sql"), T("metadata_json"), T("status"), Ts("created_at"), Ts("updated_at") },
        new[] { "model_name", "version_hash" });

    public static readonly StateTable SeedVersions = new("seed_versions",
        new[] { T("seed_name"), T("version_hash"), T("content_hash"), T("status"), Ts("created_at"), Ts("updated_at") },
        new[] { "seed_name", "version_hash" });

    public static readonly StateTable PhysicalRelations = new("physical_relations",
        new[] { T("artifact_type"), T("artifact_name"), T("version_hash"), T("database_name"), T("schema_name"), T("relation_name"), T("relation_type"), Ts("created_at"), Ts("updated_at") },
        new[] { "artifact_type", "artifact_name", "version_hash" });

    public static readonly StateTable PhysicalRelationAncestry = new("physical_relation_ancestry",
        new[] { T("model_name"), T("version_hash"), T("parent_version_hash"), T("seed_strategy"), Ts("created_at") },
        new[] { "model_name", "version_hash" });

    public static readonly StateTable VirtualEnvironments = new("virtual_environments",
        new[] { T("virtual_environment_name"), T("status"), T("baseline_virtual_environment_name"), Ts("created_at"), Ts("updated_at"), Ts("finalized_at") },
        new[] { "virtual_environment_name" });

    /// <summary>A VDE's refs. <c>audit_signature</c> (ours, additive) names the audit list and severities the ref's
    /// version passed in this environment; NULL when unknown (written by upstream, or before this column existed).</summary>
    public static readonly StateTable NodeRefs = new("virtual_environment_node_refs",
        new[] { T("virtual_environment_name"), T("node_type"), T("node_name"), T("version_hash"), Ts("updated_at"), T("audit_signature") },
        new[] { "virtual_environment_name", "node_type", "node_name" });

    public static readonly StateTable Checkpoints = new("virtual_environment_checkpoints",
        new[] { T("checkpoint_id"), T("virtual_environment_name"), Ts("created_at") },
        new[] { "checkpoint_id" });

    public static readonly StateTable CheckpointRefs = new("virtual_environment_checkpoint_refs",
        new[] { T("checkpoint_id"), T("node_type"), T("node_name"), T("version_hash"), T("audit_signature") },
        new[] { "checkpoint_id", "node_type", "node_name" });

    public static readonly StateTable RefEvents = new("virtual_environment_ref_events",
        new[] { T("event_id"), T("virtual_environment_name"), T("node_type"), T("node_name"), T("previous_version_hash"), T("new_version_hash"), T("operation_id"), Ts("created_at") },
        new[] { "event_id" });

    public static readonly StateTable Locks = new("locks",
        new[] { T("lock_key"), T("owner_id"), T("owner_host"), I("owner_pid"), T("operation_id"), Ts("expires_at"), Ts("created_at"), Ts("updated_at") },
        new[] { "lock_key" });

    public static readonly StateTable Operations = new("state_operations",
        new[] { T("operation_id"), T("operation_type"), T("status"), T("virtual_environment_name"), Ts("created_at"), Ts("updated_at") },
        new[] { "operation_id" });

    public static readonly StateTable OperationEvents = new("state_operation_events",
        new[] { T("event_id"), T("operation_id"), T("action"), T("status"), T("message"), Ts("created_at") },
        new[] { "event_id" });

    public static readonly StateTable ReconcileEvents = new("reconcile_events",
        new[] { T("event_id"), T("virtual_environment_name"), T("action"), T("status"), T("message"), Ts("created_at") },
        new[] { "event_id" });

    /// <summary>Every state table, in creation order.</summary>
    public static readonly IReadOnlyList<StateTable> Tables = new[]
    {
        StateVersions, StateMigrationEvents, ModelVersions, SeedVersions, PhysicalRelations, PhysicalRelationAncestry,
        VirtualEnvironments, NodeRefs, Checkpoints, CheckpointRefs, RefEvents, Locks, Operations, OperationEvents,
        ReconcileEvents,
    };
}

namespace SQLBuild.Core.Project;

/// <summary>
/// The keys of a model's config, in a MODEL header and in the project's <c>[defaults]</c> and <c>[path_defaults]</c>
/// tables: the keys SQLBuild implements, and upstream's keys it accepts with one warning (P030) and otherwise ignores.
/// A key in neither list is an error that names the closest known key.
/// </summary>
internal static class ModelKeys
{
    /// <summary>The keys SQLBuild implements, in the order an error lists them.</summary>
    public static readonly string[] Implemented =
    {
        "materialized", "tags", "audits", "unique_key", "incremental_strategy", "cursor", "cursor_type", "cursor_grain",
        "description", "columns", "model_schema", "contract", "full_refresh", "pre_hooks", "post_hooks",
        "run_despite_unchanged", "row_diff_tolerances", "row_diff_exclude_columns", "enabled",
    };

    /// <summary>Upstream MODEL keys SQLBuild accepts without implementing them (upstream's model configuration page).</summary>
    public static readonly string[] Upstream =
    {
        "schema", "database", "alias", "enums", "constants", "sql_analysis", "dynamic_columns", "audit_factories",
        "cursor_start", "cursor_end", "cursor_inputs", "incremental_mode", "microbatch_strategy", "cursor_watermark_mode",
        "batch_size", "batch_concurrency", "microbatch_limit", "max_microbatches", "lookback", "append_cursor_inclusive",
        "merge_exclude_columns", "on_schema_change", "replay_on_change", "migrate_from", "migrate_force", "old_name_view",
        "snapshot_strategy", "updated_at", "check_columns", "observed_at", "historical_input", "initial_valid_from",
        "invalidate_hard_deletes", "valid_from_column", "valid_to_column", "snapshot_full_refresh", "snapshot_schema_change",
        "config", "placeholders", "row_diff_sample_rows", "row_diff_sample_seed", "cursor_future_action",
        "cursor_future_max_distance", "cursor_start_max_action", "cursor_start_max_ahead", "unaccounted_partition_policy",
    };

    /// <summary>The implemented keys <c>[defaults]</c> takes (upstream allows only these there; the others belong in
    /// <c>[path_defaults]</c> or the header).</summary>
    public static readonly string[] DefaultsImplemented =
    {
        "materialized", "contract", "full_refresh", "tags", "incremental_strategy", "row_diff_exclude_columns", "row_diff_tolerances",
    };

    /// <summary>The upstream keys <c>[defaults]</c> takes that SQLBuild does not implement.</summary>
    public static readonly string[] DefaultsUpstream =
    {
        "schema", "database", "seed_database", "seed_schema", "function_database", "function_schema", "replay_on_change",
        "incremental_mode", "merge_exclude_columns", "append_cursor_inclusive", "lookback", "unaccounted_partition_policy",
        "cursor_start", "cursor_end", "cursor_watermark_mode", "cursor_future_action", "cursor_future_max_distance",
        "cursor_start_max_action", "cursor_start_max_ahead", "microbatch_strategy", "batch_size", "batch_concurrency",
        "max_microbatches", "row_diff_sample_rows", "row_diff_sample_seed",
    };

    /// <summary>The keys of one declared column.</summary>
    public static readonly string[] ColumnImplemented = { "type", "nullable", "description", "audits" };
    public static readonly string[] ColumnUpstream = { "migrate_from", "enum", "tags", "meta" };

    /// <summary>Why an ignored key matters, where it does: where upstream would put the relation.</summary>
    public static string IgnoredNote(string key) => key switch
    {
        "schema" or "database" or "alias" => ": the model is built in the target's schema under its own name",
        _ => "",
    };
}

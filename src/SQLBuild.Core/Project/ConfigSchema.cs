using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// The keys of <c>sqlbuild_project.toml</c> and <c>sqlbuild_local.toml</c>, checked before any value is read: a key
/// SQLBuild does not know is P002 naming the file, line, key and the closest known key (<c>did you mean
/// 'virtual_environments'?</c>), so a typo can never quietly change what a command does. An upstream key SQLBuild does not
/// implement is accepted with one P030 warning (a whole upstream table with one warning, its contents unread). Upstream's
/// older names that would change the mode (<c>environment_mode</c>, <c>default_environment</c>, <c>[environments]</c>) are
/// errors naming the current key.
/// </summary>
internal static class ConfigSchema
{
    private static readonly string[] Root =
        { "name", "adapter", "default_target", "target", "connections", "connection", "targets", "settings", "defaults", "path_defaults", "vars", "janitor" };
    private static readonly string[] RootUpstream =
        { "constants", "rules", "scopes", "references", "migrations", "scenario", "dbt", "skills", "snapshots", "microbatches" };
    private static readonly Dictionary<string, string> OlderNames = new(StringComparer.Ordinal)
    {
        ["environment_mode"] = "upstream's older name for [settings] virtual_environments = true",
        ["default_environment"] = "upstream's older name for default_target",
        ["environments"] = "upstream's older name for [targets.<name>]",
    };

    private static readonly string[] Settings = { "virtual_environments", "concurrency", "changes_only", "default_audit_severity" };
    private static readonly string[] SettingsUpstream =
    {
        "sql_analysis", "require_sql_analysis", "query_change_tracking", "sql_validation", "column_contract_mode",
        "microbatch_concurrency", "auto_load_sources", "table_promotion_mode", "default_audit_run_scope",
    };

    private static readonly string[] Janitor = { "max_checkpoints", "retention_days", "history_days" };
    private static readonly string[] JanitorUpstream =
        { "enabled", "archive_retention_days", "delete_tracked_only", "exclude_patterns", "direct_state_history_versions" };

    private static readonly string[] Target = { "schema", "connection", "state", "changes_only", "vars" };
    private static readonly string[] TargetUpstream =
        { "loader_schema", "database", "defer_sources_to", "clone", "missing_migration_origin", "warehouses", "execution_limits" };

    private static readonly string[] State = { "backend", "schema", "connection", "allow_reset", "unsuffixed_virtual_env" };

    private static readonly Dictionary<AdapterKind, (string[] Ours, string[] Upstream)> Connection = new()
    {
        [AdapterKind.DuckDb] = (new[] { "database", "path", "connection_string" }, new[] { "extensions", "settings", "attach" }),
        [AdapterKind.Postgres] = (
            new[] { "host", "port", "user", "username", "password", "dbname", "database", "sslmode", "connect_timeout", "command_timeout", "connection_string" },
            new[]
            {
                "sslcert", "sslkey", "sslrootcert", "sslpassword", "application_name", "options", "target_session_attrs", "keepalives",
                "keepalives_idle", "keepalives_interval", "keepalives_count", "gssencmode", "service", "passfile", "hostaddr", "client_encoding",
            }),
        [AdapterKind.SqlServer] = (
            new[]
            {
                "server", "host", "port", "database", "dbname", "user", "username", "password", "encrypt", "trust_server_certificate",
                "connect_timeout", "command_timeout", "connection_string",
            },
            new[] { "tds_version", "appname", "login_timeout", "charset", "conn_properties", "autocommit", "timeout", "read_only" }),
    };

    private static readonly string[] AnyConnection = Connection.Values.SelectMany(c => c.Ours).Distinct().ToArray();
    private static readonly string[] AnyConnectionUpstream = Connection.Values.SelectMany(c => c.Upstream).Distinct().Except(AnyConnection).ToArray();

    /// <summary>Checks every key of the merged files (each node remembers its file and line).</summary>
    public static void Check(ConfigNode root, List<ProjectWarning> warnings)
    {
        foreach (var (key, node) in root.Table!)
            if (OlderNames.TryGetValue(key, out var hint))
                throw ProjectErrors.ConfigInvalid(node.File, node.Line, $"'{key}' is {hint}: rename it");
        Keys(root, null, Root, RootUpstream, warnings);

        foreach (var (name, connection) in Tables(root, "connections"))
            Keys(connection, $"[connections.{name}]", AnyConnection, AnyConnectionUpstream, warnings);
        if (root.Child("connection") is { IsTable: true } legacy)
            Keys(legacy, "[connection]", AnyConnection, AnyConnectionUpstream, warnings);
        if (root.Child("settings") is { IsTable: true } settings) Keys(settings, "[settings]", Settings, SettingsUpstream, warnings);
        if (root.Child("janitor") is { IsTable: true } janitor) Keys(janitor, "[janitor]", Janitor, JanitorUpstream, warnings);
        foreach (var (name, target) in Tables(root, "targets"))
        {
            Keys(target, $"[targets.{name}]", Target, TargetUpstream, warnings);
            if (target.Child("connection") is { IsTable: true } own)
                Keys(own, $"[targets.{name}.connection]", AnyConnection, AnyConnectionUpstream, warnings);
            if (target.Child("state") is not { IsTable: true } state) continue;
            Keys(state, $"[targets.{name}.state]", State, Array.Empty<string>(), warnings);
            if (state.Child("connection") is { IsTable: true } stateConnection)
                Keys(stateConnection, $"[targets.{name}.state.connection]", AnyConnection, AnyConnectionUpstream, warnings);
        }
    }

    /// <summary>Whether a connection key means something for <paramref name="adapter"/>; one of upstream's that SQLBuild
    /// ignores means nothing (and was warned about), one of another adapter's is an error.</summary>
    public static bool ConnectionKey(ConfigNode node, string key, AdapterKind adapter, string where)
    {
        var (ours, upstream) = Connection[adapter];
        if (ours.Contains(key)) return true;
        if (upstream.Contains(key) || AnyConnectionUpstream.Contains(key)) return false;
        throw ProjectErrors.ConfigInvalid(node.File, node.Line,
            $"'{key}' is not a {ConfigLoader.AdapterName(adapter)} connection key in {where}{KeyNames.Suggestion(key, ours, upstream)}");
    }

    private static IEnumerable<(string Name, ConfigNode Node)> Tables(ConfigNode root, string key) =>
        root.Child(key) is { IsTable: true } parent
            ? parent.Table!.Where(kv => kv.Value.IsTable).Select(kv => (kv.Key, kv.Value))
            : Enumerable.Empty<(string, ConfigNode)>();

    private static void Keys(ConfigNode table, string? where, IReadOnlyList<string> ours, IReadOnlyList<string> upstream, List<ProjectWarning> warnings)
    {
        foreach (var (key, node) in table.Table!)
        {
            if (ours.Contains(key)) continue;
            if (upstream.Contains(key))
            {
                var what = where is null ? (node.IsTable ? $"[{key}]" : $"'{key}'") : $"{where} '{key}'";
                warnings.Add(new ProjectWarning(ErrorCodes.UpstreamKeyIgnored, "UpstreamKeyIgnored",
                    $"{node.File}:{node.Line}: {what} is an upstream {(node.IsTable && where is null ? "table" : "key")} SQLBuild does not implement; it is ignored"));
                continue;
            }
            throw ProjectErrors.ConfigInvalid(node.File, node.Line,
                $"unknown key '{key}'{(where is null ? "" : " in " + where)}{KeyNames.Suggestion(key, ours, upstream)}");
        }
    }
}

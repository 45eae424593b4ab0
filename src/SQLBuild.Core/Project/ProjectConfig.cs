using System.Net;

namespace SQLBuild.Core.Project;

public enum AdapterKind { DuckDb, Postgres, SqlServer }

/// <summary>A place in a project file, for error messages: path relative to the project folder, 1-based line.</summary>
public sealed record SourceLocation(string File, int Line, int Column = 1)
{
    public override string ToString() => Column > 1 ? $"{File}:{Line}:{Column}" : $"{File}:{Line}";
}

/// <summary>
/// A resolved warehouse or state connection. <see cref="Values"/> holds the TOML keys after
/// <c>${ENV:NAME}</c> interpolation (host, port, user, dbname, database, server, encrypt, ...).
/// The password is kept apart in <see cref="Password"/> and never printed; <see cref="ToString"/> is safe.
/// </summary>
public sealed class ConnectionSettings
{
    public ConnectionSettings(string name, AdapterKind adapter, IReadOnlyDictionary<string, string> values,
        string? password, string? connectionString, string projectDirectory)
    {
        Name = name;
        Adapter = adapter;
        Values = values;
        Password = password;
        ConnectionString = connectionString;
        ProjectDirectory = projectDirectory;
    }

    /// <summary>The <c>[connections.NAME]</c> key, or a synthetic name such as <c>dev.state</c>.</summary>
    public string Name { get; }
    public AdapterKind Adapter { get; }
    /// <summary>Non-secret keys (never contains <c>password</c>).</summary>
    public IReadOnlyDictionary<string, string> Values { get; }
    public string? Password { get; }
    /// <summary>A full driver connection string, when the project gives one (may carry a password: never print).</summary>
    public string? ConnectionString { get; }
    /// <summary>Relative DuckDB paths resolve against this folder.</summary>
    public string ProjectDirectory { get; }

    public string? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;

    /// <summary>Overrides user/password from a PSCredential (the cmdlet converts it to a NetworkCredential).</summary>
    public ConnectionSettings WithCredential(NetworkCredential? credential)
    {
        if (credential is null) return this;
        var values = new Dictionary<string, string>(Values, StringComparer.OrdinalIgnoreCase);
        if (!string.IsNullOrEmpty(credential.UserName)) values["user"] = credential.UserName;
        return new ConnectionSettings(Name, Adapter, values, credential.Password, ConnectionString, ProjectDirectory);
    }

    /// <summary>A description safe for any output: adapter and non-secret keys only.</summary>
    public override string ToString()
    {
        var keys = new[] { "host", "port", "server", "dbname", "database", "user" };
        var parts = keys.Where(k => Values.ContainsKey(k)).Select(k => $"{k}={Values[k]}").ToList();
        if (ConnectionString is not null) parts.Add("connection_string=***");
        return $"{Adapter.ToString().ToLowerInvariant()}({string.Join(", ", parts)})";
    }
}

public sealed class StateSettings
{
    public required string Backend { get; init; }              // duckdb | postgres | sqlserver
    public required string Schema { get; init; }               // default "sqlbuild_state"
    public bool AllowReset { get; init; }
    public string? UnsuffixedVirtualEnv { get; init; }
    /// <summary>Null: the state lives in the target's own warehouse connection (the default).</summary>
    public ConnectionSettings? Connection { get; init; }
}

public sealed class TargetSettings
{
    public required string Name { get; init; }
    public required string Schema { get; init; }
    public required string ConnectionName { get; init; }
    public required ConnectionSettings Connection { get; init; }
    public StateSettings? State { get; init; }
    public bool? ChangesOnly { get; init; }
}

public sealed class JanitorSettings
{
    public int MaxCheckpoints { get; init; } = 20;
    public int RetentionDays { get; init; } = 30;
    /// <summary>Journal, event and reconcile rows older than this many days are pruned (at least 1).</summary>
    public int HistoryDays { get; init; } = 90;
}

public sealed class ProjectSettings
{
    public bool VirtualEnvironments { get; init; }
    public int Concurrency { get; init; } = 4;
    public bool ChangesOnly { get; init; }
    /// <summary>The severity of an audit that sets none (SPEC §2: error).</summary>
    public AuditSeverity DefaultAuditSeverity { get; init; } = AuditSeverity.Error;
}

/// <summary>
/// <c>sqlbuild_project.toml</c> merged with <c>sqlbuild_local.toml</c>, interpolated and validated,
/// with the active target chosen (<c>-Target</c> &gt; local <c>target</c> &gt; <c>default_target</c>).
/// </summary>
public sealed class ProjectConfig
{
    public required string Name { get; init; }
    public required AdapterKind Adapter { get; init; }
    public required string ProjectDirectory { get; init; }
    public string? DefaultTarget { get; init; }
    public required ProjectSettings Settings { get; init; }
    public JanitorSettings Janitor { get; init; } = new();
    public required IReadOnlyDictionary<string, TargetSettings> Targets { get; init; }
    public required TargetSettings ActiveTarget { get; init; }
    /// <summary><c>[vars]</c> with the active target's <c>vars</c> over them: what <c>@@name</c> stands for in SQL.</summary>
    public IReadOnlyDictionary<string, string> Vars { get; init; } = new Dictionary<string, string>();
    /// <summary>Upstream keys the files set that SQLBuild accepts without implementing (P030 warnings).</summary>
    public IReadOnlyList<ProjectWarning> Warnings { get; init; } = Array.Empty<ProjectWarning>();
    /// <summary><c>[defaults]</c> and <c>[path_defaults]</c>, read and checked.</summary>
    internal ModelLayers Layers { get; init; } = ModelLayers.None;
    /// <summary>The two files' text exactly as this config was read from (null: no local file), for the compile cache's
    /// key: the files may change on disk while a compile runs.</summary>
    internal IReadOnlyList<(string File, string? Text)> SourceTexts { get; init; } = Array.Empty<(string, string?)>();
}

using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using SQLBuild.Core.Errors;
using Tomlyn;

namespace SQLBuild.Core.Project;

/// <summary>
/// Reads <c>sqlbuild_project.toml</c>, merges <c>sqlbuild_local.toml</c> over it, checks every key
/// (<see cref="ConfigSchema"/>: an unknown key is an error before anything else is read), interpolates
/// <c>${ENV:NAME}</c>, validates every value of SPEC §2 and chooses the active target.
/// </summary>
internal static class ConfigLoader
{
    public const string ProjectFileName = "sqlbuild_project.toml";
    public const string LocalFileName = "sqlbuild_local.toml";

    private static readonly Regex Identifier = new(@"^[A-Za-z_][A-Za-z0-9_]*\z", RegexOptions.CultureInvariant);
    private static readonly Regex VdeSuffix = new(@"^[a-z][a-z0-9_]*\z", RegexOptions.CultureInvariant);
    private static readonly Regex EnvReference = new(@"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant);

    private static readonly string[] AdapterNames = { "duckdb", "postgres", "sqlserver" };

    public static bool IsIdentifier(string? value) => value is not null && Identifier.IsMatch(value);

    public static ProjectConfig Load(string projectDirectory, string? target, NetworkCredential? credential)
    {
        var projectPath = Path.Combine(projectDirectory, ProjectFileName);
        var projectText = File.ReadAllText(projectPath);
        var root = ConfigNode.Parse(projectText, ProjectFileName);
        var localPath = Path.Combine(projectDirectory, LocalFileName);
        var localText = File.Exists(localPath) ? File.ReadAllText(localPath) : null;
        if (localText is not null)
            root = ConfigNode.Merge(root, ConfigNode.Parse(localText, LocalFileName));
        var warnings = new List<ProjectWarning>();
        ConfigSchema.Check(root, warnings);

        var name = RequireString(root, "name", "the project name");
        if (name.Trim().Length == 0)
            throw Invalid(root.Child("name")!, "expected a non-empty project name");

        var adapterNode = root.Child("adapter") ?? throw Missing(root, "adapter", "one of " + string.Join(", ", AdapterNames));
        var adapter = ParseAdapter(adapterNode, Str(adapterNode, strict: true));

        var defaultTarget = OptionalString(root, "default_target");
        if (defaultTarget is not null && !IsIdentifier(defaultTarget))
            throw Invalid(root.Child("default_target")!, $"invalid target name '{defaultTarget}': expected ^[A-Za-z_][A-Za-z0-9_]*$");
        var localTarget = OptionalString(root, "target");

        var settings = ReadSettings(OptionalTable(root, "settings"));
        var janitor = ReadJanitor(OptionalTable(root, "janitor"));
        var layers = ModelLayers.Read(OptionalTable(root, "defaults"), OptionalTable(root, "path_defaults"), warnings);
        var projectVars = ReadVars(OptionalTable(root, "vars"), strict: true);

        var connections = OptionalTable(root, "connections");
        if (connections is not null)
            foreach (var (connName, conn) in connections.Table!)
                if (!conn.IsTable)
                    throw Invalid(conn, $"expected a table [connections.{connName}], got {conn.TypeName}");
        var legacyConnection = OptionalTable(root, "connection");

        var targetsNode = OptionalTable(root, "targets");
        if (targetsNode is null || targetsNode.Table!.Count == 0)
            throw ProjectErrors.ConfigInvalid(root.File, 0, "no targets defined: add a [targets.NAME] table with connection and schema");
        foreach (var (targetName, targetNode) in targetsNode.Table!)
        {
            if (!IsIdentifier(targetName))
                throw Invalid(targetNode, $"invalid target name '{targetName}': expected ^[A-Za-z_][A-Za-z0-9_]*$");
            if (!targetNode.IsTable)
                throw Invalid(targetNode, $"expected a table [targets.{targetName}], got {targetNode.TypeName}");
        }

        var known = string.Join(", ", targetsNode.Table!.Keys.OrderBy(k => k, StringComparer.Ordinal));
        string activeName;
        string origin;
        if (target is not null)
        {
            if (!IsIdentifier(target))
                throw ProjectErrors.UnknownTarget($"invalid target name '{target}'; known targets: {known}", SqbErrorKind.InvalidArgument, target);
            activeName = target;
            origin = "-Target";
        }
        else if (localTarget is not null)
        {
            activeName = localTarget;
            origin = $"target in {root.Child("target")!.File}";
        }
        else if (defaultTarget is not null)
        {
            activeName = defaultTarget;
            origin = "default_target";
        }
        else
        {
            throw ProjectErrors.UnknownTarget(
                $"no target selected: pass -Target, or set target in {LocalFileName} or default_target in {ProjectFileName}; known targets: {known}",
                SqbErrorKind.InvalidArgument, null);
        }
        if (!targetsNode.Table!.ContainsKey(activeName))
            throw ProjectErrors.UnknownTarget($"unknown target '{activeName}' (from {origin}); known targets: {known}",
                SqbErrorKind.ObjectNotFound, activeName);

        var targets = new Dictionary<string, TargetSettings>(StringComparer.Ordinal);
        foreach (var (targetName, targetNode) in targetsNode.Table!)
        {
            var isActive = targetName == activeName;
            var targetSettings = ReadTarget(targetName, targetNode, adapter, connections, legacyConnection, projectDirectory, strict: isActive);
            if (isActive && credential is not null)
                targetSettings = ApplyCredential(targetSettings, credential, adapter);
            targets[targetName] = targetSettings;
        }

        var vars = new Dictionary<string, string>(projectVars, StringComparer.Ordinal);
        foreach (var (targetName, targetNode) in targetsNode.Table!)
        {
            var targetVars = ReadVars(OptionalTable(targetNode, "vars"), strict: targetName == activeName);
            if (targetName == activeName)
                foreach (var (key, value) in targetVars) vars[key] = value;
        }

        return new ProjectConfig
        {
            Name = name,
            Adapter = adapter,
            ProjectDirectory = projectDirectory,
            DefaultTarget = defaultTarget,
            Settings = settings,
            Janitor = janitor,
            Targets = targets,
            ActiveTarget = targets[activeName],
            Vars = vars,
            Layers = layers,
            Warnings = warnings,
            SourceTexts = new[] { (ProjectFileName, (string?)projectText), (LocalFileName, localText) },
        };
    }

    private static TargetSettings ApplyCredential(TargetSettings target, NetworkCredential credential, AdapterKind adapter)
    {
        Redaction.RegisterSecret(credential.Password);
        var state = target.State;
        if (state?.Connection is not null && state.Connection.Adapter == adapter)
        {
            state = new StateSettings
            {
                Backend = state.Backend,
                Schema = state.Schema,
                AllowReset = state.AllowReset,
                UnsuffixedVirtualEnv = state.UnsuffixedVirtualEnv,
                Connection = state.Connection.WithCredential(credential),
            };
        }
        return new TargetSettings
        {
            Name = target.Name,
            Schema = target.Schema,
            ConnectionName = target.ConnectionName,
            Connection = target.Connection.WithCredential(credential),
            State = state,
            ChangesOnly = target.ChangesOnly,
        };
    }

    // ---- sections -------------------------------------------------------------------------

    private static ProjectSettings ReadSettings(ConfigNode? table)
    {
        if (table is null) return new ProjectSettings();
        var severity = AuditSeverity.Error;
        if (table.Child("default_audit_severity") is { } severityNode)
        {
            severity = Str(severityNode, strict: true).ToLowerInvariant() switch
            {
                "error" => AuditSeverity.Error,
                "warn" => AuditSeverity.Warn,
                var other => throw Invalid(severityNode, $"expected \"error\" or \"warn\", got '{other}'"),
            };
        }
        return new ProjectSettings
        {
            VirtualEnvironments = OptionalBool(table, "virtual_environments") ?? false,
            Concurrency = OptionalInt(table, "concurrency", min: 1, max: 64) ?? 4,   // as -Concurrency (ValidateRange 1-64)
            ChangesOnly = OptionalBool(table, "changes_only") ?? false,
            DefaultAuditSeverity = severity,
        };
    }

    private static JanitorSettings ReadJanitor(ConfigNode? table)
    {
        if (table is null) return new JanitorSettings();
        var defaults = new JanitorSettings();
        return new JanitorSettings
        {
            MaxCheckpoints = OptionalInt(table, "max_checkpoints", min: 1) ?? defaults.MaxCheckpoints,
            RetentionDays = OptionalInt(table, "retention_days", min: 0) ?? defaults.RetentionDays,
            HistoryDays = OptionalInt(table, "history_days", min: 1) ?? defaults.HistoryDays,
        };
    }

    /// <summary><c>[vars]</c> (or a target's <c>vars</c>): scalars as the text <c>@@name</c> stands for.</summary>
    private static Dictionary<string, string> ReadVars(ConfigNode? table, bool strict)
    {
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        if (table is null) return vars;
        foreach (var (key, node) in table.Table!)
        {
            if (!IsIdentifier(key))
                throw Invalid(node, $"invalid variable name '{key}': expected ^[A-Za-z_][A-Za-z0-9_]*$ (used as @@{key})");
            vars[key] = node.Value switch
            {
                string => Str(node, strict),
                long l => l.ToString(CultureInfo.InvariantCulture),
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                bool b => b ? "true" : "false",
                _ => throw Invalid(node, $"expected a string, number or boolean (@@{key} stands for text in SQL), got {node.TypeName}"),
            };
        }
        return vars;
    }

    private static TargetSettings ReadTarget(string name, ConfigNode node, AdapterKind adapter, ConfigNode? connections,
        ConfigNode? legacyConnection, string projectDirectory, bool strict)
    {
        var schema = RequireString(node, "schema", "the target's schema name", strict);
        CheckIdentifier(node.Child("schema")!, schema, "schema", strict);

        string connectionName;
        ConfigNode connectionNode;
        if (node.Child("connection") is { IsTable: true } own)
        {
            // Upstream's legacy [targets.NAME.connection] block: a connection of the target's own.
            var ownConnection = ReadConnection(own, $"{name}.connection", adapter, projectDirectory, strict);
            var ownState = ReadState(name, OptionalTable(node, "state"), adapter, connections, KnownConnections(connections), projectDirectory, strict);
            CheckStateSchema(node, schema, ownState.Schema, strict);
            return Target(name, node, schema, ownConnection.Name, ownConnection, ownState);
        }
        var connRef = OptionalString(node, "connection", strict);
        var knownConnections = KnownConnections(connections);
        if (connRef is not null)
        {
            connectionNode = connections?.Child(connRef)
                ?? throw Invalid(node.Child("connection")!, $"unknown connection '{connRef}'; known connections: {knownConnections}");
            connectionName = connRef;
        }
        else if (legacyConnection is not null)
        {
            connectionNode = legacyConnection;
            connectionName = "connection";
        }
        else if (connections is not null && connections.Table!.Count == 1)
        {
            var only = connections.Table!.First();
            connectionName = only.Key;
            connectionNode = only.Value;
        }
        else
        {
            throw ProjectErrors.ConfigInvalid(node.File, node.Line,
                $"targets.{name}: no connection: set connection = \"NAME\" (known connections: {knownConnections}) or add a [connection] table");
        }
        var connection = ReadConnection(connectionNode, connectionName, adapter, projectDirectory, strict);

        var state = ReadState(name, OptionalTable(node, "state"), adapter, connections, knownConnections, projectDirectory, strict);
        CheckStateSchema(node, schema, state.Schema, strict);
        return Target(name, node, schema, connectionName, connection, state);
    }

    /// <summary>
    /// The state store keeps a schema of its own: not the target schema (where logical views live, so a model named
    /// like a state table would collide with it), not the physical schema <c>&lt;schema&gt;__sqb_physical</c> and not a
    /// VDE's logical schema <c>&lt;schema&gt;__&lt;vde&gt;</c>. Compared without case, as DuckDB and SQL Server do.
    /// The error names the state schema's key when it is set, else the target's schema.
    /// </summary>
    private static void CheckStateSchema(ConfigNode target, string schema, string stateSchema, bool strict)
    {
        if (!strict && (EnvReference.IsMatch(schema) || EnvReference.IsMatch(stateSchema))) return;
        var at = target.Child("state")?.Child("schema") ?? target.Child("schema")!;
        string? clash = null;
        if (string.Equals(stateSchema, schema, StringComparison.OrdinalIgnoreCase))
            clash = "the target schema, where the logical views live";
        else if (string.Equals(stateSchema, schema + "__sqb_physical", StringComparison.OrdinalIgnoreCase))
            clash = "the target's physical schema";
        else if (stateSchema.StartsWith(schema + "__", StringComparison.OrdinalIgnoreCase) &&
                 VdeSuffix.IsMatch(stateSchema[(schema.Length + 2)..].ToLowerInvariant()))
            clash = $"the logical schema of virtual environment '{stateSchema[(schema.Length + 2)..].ToLowerInvariant()}' (<schema>__<vde>)";
        if (clash is not null)
            throw Invalid(at, $"state schema '{stateSchema}' is {clash}: give the state store a schema of its own (default sqlbuild_state)");
    }

    private static TargetSettings Target(string name, ConfigNode node, string schema, string connectionName,
        ConnectionSettings connection, StateSettings state) => new()
    {
        Name = name,
        Schema = schema,
        ConnectionName = connectionName,
        Connection = connection,
        State = state,
        ChangesOnly = OptionalBool(node, "changes_only"),
    };

    private static string KnownConnections(ConfigNode? connections) =>
        connections is null || connections.Table!.Count == 0 ? "none" : string.Join(", ", connections.Table!.Keys.OrderBy(k => k, StringComparer.Ordinal));

    private static StateSettings ReadState(string targetName, ConfigNode? node, AdapterKind adapter, ConfigNode? connections,
        string knownConnections, string projectDirectory, bool strict)
    {
        var adapterName = AdapterName(adapter);
        if (node is null)
            return new StateSettings { Backend = adapterName, Schema = "sqlbuild_state" };

        var backend = adapterName;
        var backendKind = adapter;
        var backendNode = node.Child("backend");
        if (backendNode is not null)
        {
            backendKind = ParseAdapter(backendNode, Str(backendNode, strict));
            backend = AdapterName(backendKind);
        }

        var schema = OptionalString(node, "schema", strict) ?? "sqlbuild_state";
        if (node.Child("schema") is { } schemaNode) CheckIdentifier(schemaNode, schema, "schema", strict);

        var unsuffixed = OptionalString(node, "unsuffixed_virtual_env", strict);
        if (unsuffixed is not null && (strict || !EnvReference.IsMatch(unsuffixed)) && !VdeSuffix.IsMatch(unsuffixed))
            throw Invalid(node.Child("unsuffixed_virtual_env")!,
                $"invalid virtual environment name '{unsuffixed}': expected ^[a-z][a-z0-9_]*$ (a VDE name, as -Environment takes it)");

        ConnectionSettings? connection = null;
        var connNode = node.Child("connection");
        if (connNode is not null)
        {
            if (connNode.IsTable)
            {
                connection = ReadConnection(connNode, $"{targetName}.state", backendKind, projectDirectory, strict);
            }
            else if (connNode.Value is string)
            {
                var refName = Str(connNode, strict);
                var named = connections?.Child(refName)
                    ?? throw Invalid(connNode, $"unknown connection '{refName}'; known connections: {knownConnections}");
                connection = ReadConnection(named, refName, backendKind, projectDirectory, strict);
            }
            else
            {
                throw Invalid(connNode, $"expected a table [targets.{targetName}.state.connection] or a connection name, got {connNode.TypeName}");
            }
        }
        else if (backendKind != adapter)
        {
            throw Invalid(node, $"backend '{backend}' differs from the project adapter '{adapterName}': add [targets.{targetName}.state.connection]");
        }

        return new StateSettings
        {
            Backend = backend,
            Schema = schema,
            AllowReset = OptionalBool(node, "allow_reset") ?? false,
            UnsuffixedVirtualEnv = unsuffixed,
            Connection = connection,
        };
    }

    private static ConnectionSettings ReadConnection(ConfigNode node, string name, AdapterKind adapter, string projectDirectory, bool strict)
    {
        if (!node.IsTable)
            throw Invalid(node, $"expected a connection table, got {node.TypeName}");
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? password = null;
        string? connectionString = null;
        foreach (var (key, child) in node.Table!)
        {
            if (!ConfigSchema.ConnectionKey(child, key, adapter, $"[{ConnectionPath(node, name)}]")) continue;
            string text = child.Value switch
            {
                string => Str(child, strict),
                long l => l.ToString(CultureInfo.InvariantCulture),
                bool b => b ? "true" : "false",
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                _ => throw Invalid(child, $"expected a string, integer or boolean, got {child.TypeName}"),
            };
            switch (key.ToLowerInvariant())
            {
                case "password":
                    if (child.Value is not string) throw Invalid(child, $"expected a string, got {child.TypeName}");
                    password = text;
                    RegisterSecret(text);
                    break;
                case "connection_string":
                    if (child.Value is not string) throw Invalid(child, $"expected a string, got {child.TypeName}");
                    connectionString = text;
                    RegisterSecret(text);
                    RegisterConnectionStringSecrets(text);
                    break;
                case "port":
                    var unresolved = !strict && EnvReference.IsMatch(text);
                    if (!unresolved && !IsPort(text))
                        throw Invalid(child, $"expected a port number 1-65535, got {child.TypeName}");
                    values[key] = text;
                    break;
                default:
                    values[key] = text;
                    break;
            }
        }

        if (connectionString is null)
        {
            var (required, meaning) = adapter switch
            {
                AdapterKind.DuckDb => ("database", "a file path relative to the project, or \":memory:\""),
                AdapterKind.Postgres => ("host", "the server host name"),
                _ => ("server", "the server name; or host"),
            };
            if (adapter == AdapterKind.SqlServer && !values.ContainsKey("server") && values.ContainsKey("host")) required = "host";
            if (!values.TryGetValue(required, out var v) || v.Trim().Length == 0)
                throw ProjectErrors.ConfigInvalid(node.File, node.Line,
                    $"{ConnectionPath(node, name)}: missing key '{required}' ({meaning}) or connection_string for {AdapterName(adapter)}");
        }

        return new ConnectionSettings(name, adapter, values, password, connectionString, projectDirectory);
    }

    /// <summary>Schema, target and environment names must be plain identifiers. An unresolved placeholder of a
    /// target that is not active is left for the day that target is selected.</summary>
    private static void CheckIdentifier(ConfigNode node, string value, string what, bool strict)
    {
        if (!strict && EnvReference.IsMatch(value)) return;
        if (!IsIdentifier(value))
            throw Invalid(node, $"invalid {what} name '{value}': expected ^[A-Za-z_][A-Za-z0-9_]*$");
    }

    /// <summary>Registers a resolved secret; a placeholder left unresolved (inactive target) is no secret.</summary>
    private static void RegisterSecret(string text)
    {
        if (!EnvReference.IsMatch(text)) Redaction.RegisterSecret(text);
    }

    /// <summary>The password inside a connection string is a secret of its own: a driver message may quote it alone.</summary>
    private static void RegisterConnectionStringSecrets(string text)
    {
        if (EnvReference.IsMatch(text)) return;
        try
        {
            var builder = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = text };
            foreach (var key in new[] { "password", "pwd" })
                if (builder.TryGetValue(key, out var value) && value is string secret) Redaction.RegisterSecret(secret);
        }
        catch (ArgumentException)
        {
            // Not parseable as key=value pairs: the whole string is registered; the driver will refuse it.
        }
    }

    private static bool IsPort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535;

    private static string ConnectionPath(ConfigNode node, string name) => node.Path.Length > 0 ? node.Path : name;

    // ---- typed accessors ------------------------------------------------------------------

    private static AdapterKind ParseAdapter(ConfigNode node, string value) => value.ToLowerInvariant() switch
    {
        "duckdb" => AdapterKind.DuckDb,
        "postgres" => AdapterKind.Postgres,
        "sqlserver" => AdapterKind.SqlServer,
        _ => throw Invalid(node, $"unknown adapter '{value}'; expected one of {string.Join(", ", AdapterNames)}"),
    };

    public static string AdapterName(AdapterKind adapter) => adapter switch
    {
        AdapterKind.DuckDb => "duckdb",
        AdapterKind.Postgres => "postgres",
        _ => "sqlserver",
    };

    private static ConfigNode? OptionalTable(ConfigNode parent, string key)
    {
        var node = parent.Child(key);
        if (node is null) return null;
        if (!node.IsTable) throw Invalid(node, $"expected a table, got {node.TypeName}");
        return node;
    }

    private static string RequireString(ConfigNode parent, string key, string meaning, bool strict = true) =>
        OptionalString(parent, key, strict) ?? throw Missing(parent, key, meaning);

    private static string? OptionalString(ConfigNode parent, string key, bool strict = true)
    {
        var node = parent.Child(key);
        return node is null ? null : Str(node, strict);
    }

    private static string Str(ConfigNode node, bool strict)
    {
        if (node.Value is not string s)
            throw Invalid(node, $"expected a string, got {node.TypeName}");
        return Interpolate(s, node, strict);
    }

    /// <summary>Replaces <c>${ENV:NAME}</c>. A missing variable is P004 naming the key and the variable,
    /// never a value. When not strict (a target that is not active) the placeholder stays as written.</summary>
    private static string Interpolate(string value, ConfigNode node, bool strict) =>
        EnvReference.Replace(value, m =>
        {
            var variable = m.Groups[1].Value;
            var env = Environment.GetEnvironmentVariable(variable);
            if (env is null)
            {
                if (strict) throw ProjectErrors.MissingEnvVar(node.File, node.Line, node.Path, variable);
                return m.Value;
            }
            return env;
        });

    private static bool? OptionalBool(ConfigNode parent, string key)
    {
        var node = parent.Child(key);
        if (node is null) return null;
        return node.Value is bool b ? b : throw Invalid(node, $"expected a boolean (true or false), got {node.TypeName}");
    }

    private static int? OptionalInt(ConfigNode parent, string key, int min, int max = int.MaxValue)
    {
        var node = parent.Child(key);
        if (node is null) return null;
        var expected = max == int.MaxValue ? $"an integer >= {min}" : $"an integer from {min} to {max}";
        if (node.Value is not long l)
            throw Invalid(node, $"expected {expected}, got {node.TypeName}");
        if (l < min || l > max)
            throw Invalid(node, $"expected {expected}, got {l.ToString(CultureInfo.InvariantCulture)}");
        return (int)l;
    }

    private static SqbException Invalid(ConfigNode node, string message) =>
        ProjectErrors.ConfigInvalid(node.File, node.Line, $"{node.Path}: {message}");

    private static SqbException Missing(ConfigNode table, string key, string meaning)
    {
        var where = table.Path.Length == 0 ? "" : $"{table.Path}: ";
        return ProjectErrors.ConfigInvalid(table.File, table.Path.Length == 0 ? 0 : table.Line,
            $"{where}missing required key '{key}' ({meaning})");
    }
}

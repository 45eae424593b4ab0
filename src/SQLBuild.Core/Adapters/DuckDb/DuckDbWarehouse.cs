using DuckDB.NET.Data;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// An embedded DuckDB database: a file (relative to the project folder) or <c>:memory:</c>.
/// <para>
/// Sharing: DuckDB allows one database instance per file per process, with any number of connections
/// on it. DuckDB.NET keeps a process-wide cache of open instances keyed by the data source text, so
/// every session on the same file (from this warehouse or another one in the process) opens a new
/// connection on the same instance; we pass the full normalised path so the key is always the same.
/// The instance closes when its last connection closes. For <c>:memory:</c>, each connection string
/// would create a new empty database, so the warehouse keeps one root connection open and gives each
/// session a <see cref="DuckDBConnection.Duplicate"/> of it: one private in-memory database per
/// warehouse instance, shared by all its sessions (parallel workers see the same data).
/// </para>
/// <para>Another process holding the file yields W004 (ResourceBusy).</para>
/// </summary>
internal sealed class DuckDbWarehouse : IWarehouse, IDisposable
{
    private readonly ISqbLog _log;
    private readonly object _gate = new();
    private DuckDBConnection? _memoryRoot;
    private bool _disposed;

    public DuckDbWarehouse(ConnectionSettings settings, ISqbLog log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _log = log ?? NullLog.Instance;
        var database = settings.Get("database") ?? settings.Get("path");
        if (string.IsNullOrWhiteSpace(database) && !string.IsNullOrWhiteSpace(settings.ConnectionString))
            database = new DuckDBConnectionStringBuilder { ConnectionString = settings.ConnectionString }.DataSource;
        if (string.IsNullOrWhiteSpace(database))
            throw WarehouseErrors.ConnectionFailed("duckdb", $"connection '{settings.Name}' has no 'database' (a file path or \":memory:\")");

        InMemory = string.Equals(database.Trim(), ":memory:", StringComparison.OrdinalIgnoreCase);
        if (InMemory)
        {
            DatabasePath = ":memory:";
        }
        else
        {
            if (database.Contains(';') || database.Contains('\0'))
                throw WarehouseErrors.ConnectionFailed($"duckdb(database={database})", "the database path must not contain ';'");
            var baseDir = string.IsNullOrEmpty(settings.ProjectDirectory) ? Directory.GetCurrentDirectory() : settings.ProjectDirectory;
            DatabasePath = Path.GetFullPath(Path.Combine(baseDir, database));
        }
    }

    public SqlDialect Dialect => DuckDbDialect.Instance;
    public bool InMemory { get; }
    /// <summary>Full path of the database file, or ":memory:".</summary>
    public string DatabasePath { get; }
    public string Description => $"duckdb(database={DatabasePath})";

    public IWarehouseSession OpenSession()
    {
        DuckDBConnection connection;
        if (InMemory)
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_memoryRoot is null)
                {
                    var root = new DuckDBConnection("Data Source=:memory:");
                    Open(root);
                    _memoryRoot = root;
                }
                connection = _memoryRoot.Duplicate();
            }
        }
        else
        {
            try
            {
                var folder = Path.GetDirectoryName(DatabasePath);
                if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw WarehouseErrors.ConnectionFailed(Description, e);
            }
            connection = new DuckDBConnection("Data Source=" + DatabasePath);
            OpenFile(connection);
            return new DuckDbSession(connection, _log);
        }
        Open(connection);
        return new DuckDbSession(connection, _log);
    }

    // ---- Crash recovery. DuckDB (1.5.x) replays a leftover write-ahead log when it opens a file, but the
    // index entries of the replayed rows do not survive the checkpoint that follows (the next clean close):
    // from then on a DELETE by key misses the row, a unique index admits a duplicate, and deleting such a
    // row fails with "Failed to delete all rows from index". A process killed mid-operation (the recovery
    // scenarios of the state store) leaves exactly such a log. So when this process opens a file that no
    // connection of ours holds open and a log is waiting, every index is rebuilt right after the replay.

    private static readonly object RecoveryGate = new();
    private static readonly Dictionary<string, int> OpenConnections = new(StringComparer.Ordinal);

    private void OpenFile(DuckDBConnection connection)
    {
        lock (RecoveryGate)
        {
            var open = OpenConnections.GetValueOrDefault(DatabasePath);
            var replay = open == 0 && File.Exists(DatabasePath + ".wal");
            Open(connection);
            OpenConnections[DatabasePath] = open + 1;
            var path = DatabasePath;
            connection.StateChange += (_, e) =>
            {
                if (e.CurrentState != System.Data.ConnectionState.Closed) return;
                lock (RecoveryGate) OpenConnections[path] = Math.Max(0, OpenConnections.GetValueOrDefault(path) - 1);
            };
            if (replay) RebuildIndexes(connection);
        }
    }

    private void RebuildIndexes(DuckDBConnection connection)
    {
        var indexes = new List<(string Schema, string Name, string Sql)>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT schema_name, index_name, sql FROM duckdb_indexes() WHERE database_name = current_database() AND sql IS NOT NULL";
            using var reader = list.ExecuteReader();
            while (reader.Read()) indexes.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }
        foreach (var (schema, name, sql) in indexes)
        {
            try
            {
                using var drop = connection.CreateCommand();
                drop.CommandText = $"DROP INDEX {Dialect.QuoteIdentifier(schema)}.{Dialect.QuoteIdentifier(name)}";
                drop.ExecuteNonQuery();
                using var create = connection.CreateCommand();
                create.CommandText = sql;
                create.ExecuteNonQuery();
            }
            catch (DuckDBException e)
            {
                _log.Warning($"duckdb: could not rebuild index {schema}.{name} of {DatabasePath} after replaying its write-ahead log: {e.Message}");
            }
        }
        _log.Verbose($"duckdb: rebuilt {indexes.Count} index(es) of {DatabasePath} after replaying its write-ahead log");
    }

    private void Open(DuckDBConnection connection)
    {
        try
        {
            connection.Open();
        }
        catch (DuckDBException e)
        {
            connection.Dispose();
            if (e.Message.Contains("Could not set lock on file", StringComparison.OrdinalIgnoreCase) ||
                e.Message.Contains("Conflicting lock", StringComparison.OrdinalIgnoreCase))
                throw new SqbException(ErrorCodes.DatabaseInUse, "DatabaseInUse",
                    $"database file '{DatabasePath}' is in use by another process",
                    SqbErrorKind.ResourceBusy, DatabasePath,
                    "DuckDB allows one process per database file: close the other program or build, then retry", e);
            throw WarehouseErrors.ConnectionFailed(Description, e);
        }
    }

    /// <summary>Closes the in-memory root connection (the data of a :memory: database goes with it).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _memoryRoot?.Dispose();
            _memoryRoot = null;
        }
    }
}

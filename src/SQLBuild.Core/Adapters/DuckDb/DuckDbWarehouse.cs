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
/// <para>
/// Crash recovery: a process that closes the file normally checkpoints it and removes its write-ahead
/// log, so a <c>.wal</c> beside a file that no session of this process has open was left by a process
/// that was killed. DuckDB 1.5 replays that log into the tables but not into their indexes: a unique
/// index then misses the replayed rows, so lookups by key find nothing and duplicates get in (the
/// orphaned lock row of a killed build could be neither taken over nor cleared). The first session
/// after such a crash therefore rebuilds every index of the database, in one transaction, before
/// anything reads it (the init of the state store would recreate an index lost to a crash in between).
/// </para>
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
        var database = DuckDbDatabase.PathOf(settings)
            ?? throw WarehouseErrors.ConnectionFailed("duckdb", $"connection '{settings.Name}' has no 'database' (a file path or \":memory:\")");
        InMemory = database == DuckDbDatabase.InMemory;
        if (!InMemory && (database.Contains(';') || database.Contains('\0')))
            throw WarehouseErrors.ConnectionFailed($"duckdb(database={database})", "the database path must not contain ';'");
        DatabasePath = database;
        _dialect = new DuckDbDialect(DuckDbDatabase.CatalogName(database));
    }

    private readonly DuckDbDialect _dialect;

    /// <summary>Knows the database's catalog name, so relations in a schema named like it get three-part names.</summary>
    public SqlDialect Dialect => _dialect;
    public bool InMemory { get; }
    /// <summary>Full path of the database file, or ":memory:".</summary>
    public string DatabasePath { get; }
    public string Description => $"duckdb(database={DatabasePath})";

    /// <summary>DuckDB runs in this process: an operation id names nothing on a server, and every session is its own
    /// connection to the shared database instance (nothing to pool).</summary>
    public IWarehouseSession OpenSession(SessionOptions? options = null)
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
            return OpenFileSession(options);
        }
        Open(connection);
        return new DuckDbSession(connection, _dialect, _log, options);
    }

    // Sessions this process has open per database file (all warehouses share DuckDB.NET's instance cache).
    private static readonly Dictionary<string, int> OpenFileSessions = new(StringComparer.Ordinal);
    private static readonly object FileGate = new();

    private IWarehouseSession OpenFileSession(SessionOptions? options)
    {
        lock (FileGate)
        {
            var first = OpenFileSessions.GetValueOrDefault(DatabasePath) == 0;
            var leftOverLog = first && File.Exists(DatabasePath + ".wal");
            var connection = new DuckDBConnection("Data Source=" + DatabasePath);
            Open(connection);
            OpenFileSessions[DatabasePath] = OpenFileSessions.GetValueOrDefault(DatabasePath) + 1;
            var session = new DuckDbSession(connection, _dialect, _log, options, Released);
            if (!leftOverLog) return session;
            try
            {
                RebuildIndexes(session);
                return session;
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
    }

    private void Released()
    {
        lock (FileGate)
        {
            var left = OpenFileSessions.GetValueOrDefault(DatabasePath) - 1;
            if (left > 0) OpenFileSessions[DatabasePath] = left;
            else OpenFileSessions.Remove(DatabasePath);
        }
    }

    /// <summary>Drops and recreates every index from its own definition (see the class remarks).</summary>
    private void RebuildIndexes(DuckDbSession session)
    {
        var d = _dialect;
        var indexes = session.Query(d.Indexes());
        if (indexes.Count == 0) return;
        // DuckDB keeps a dropped index's name taken until the drop commits: drop all, then create all.
        using (var tx = session.BeginTransaction())
        {
            foreach (var r in indexes) session.Execute(d.DropIndex((string)r[0]!, (string)r[1]!));
            tx.Commit();
        }
        using (var tx = session.BeginTransaction())
        {
            foreach (var r in indexes) session.Execute(new SqlStatement("CREATE INDEX", $"{r[0]}.{r[1]}", (string)r[2]!));
            tx.Commit();
        }
        _log.Verbose($"{Description}: rebuilt {indexes.Count} index(es) after replaying the write-ahead log a killed process left");
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

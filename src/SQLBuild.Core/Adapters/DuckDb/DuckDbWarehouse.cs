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
        }
        Open(connection);
        return new DuckDbSession(connection, _log);
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

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
/// Crash recovery: DuckDB 1.5 (<see cref="IndexReplayBroken"/>) replays a killed writer's write-ahead log into
/// the tables but not into their indexes: a unique index then misses the replayed rows and keeps entries for
/// replayed deletes, so lookups by key find nothing, duplicates get in, and a delete of a replayed row fails
/// ("Failed to delete all rows from index"); the orphaned lock row of a killed build could be neither taken
/// over nor cleared. Whoever replays the log (this product, the duckdb CLI, another tool) checkpoints the broken
/// index into the file, where it stays. DuckDB exposes nothing that tells a complete index from a broken one
/// short of probing every key, so the evidence used is that of the crash itself: a <c>.wal</c> beside a file
/// that no session of this process has open (a killed writer's log, replayed by this open), or the marker
/// <c>&lt;file&gt;.sqb-open</c> that every process of this product writes beside the file while it has it open
/// and removes after its last session closed and checkpointed it (a process killed with the file open leaves
/// it, whatever program opens the file next). On such evidence, the first session rebuilds every table that
/// has an index, before anything reads it, in ONE transaction (a crash leaves the old indexes or the new ones,
/// never none): DuckDB keeps a dropped index's name taken until the drop commits, but dropping the table frees
/// it, so each table is copied to a temporary table, dropped, recreated from its own definition, refilled, and
/// its indexes are recreated from theirs under their own names.
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
    // Open markers this process wrote (a leftover one it failed to act on stays as the evidence of the crash).
    private static readonly HashSet<string> OwnMarkers = new(StringComparer.Ordinal);

    /// <summary>
    /// DuckDB versions that replay a write-ahead log into tables but not into their indexes (see the class remarks):
    /// observed with DuckDB.NET 1.5.6.1 (DuckDB v1.5.6): after a killed writer's log is replayed, an equality lookup
    /// misses the replayed row, a second row with the same unique key is accepted, and deleting the replayed row
    /// fails fatally. Versions outside the range skip the marker and the rebuild; re-test when upgrading.
    /// </summary>
    internal static readonly (Version From, Version Before) IndexReplayBroken = (new(1, 5, 0), new(1, 6, 0));

    private static bool? _replayBreaksIndexes;

    /// <summary>Whether the DuckDB library in this process has the index replay fault (asked once per process).</summary>
    internal static bool ReplayBreaksIndexes(IWarehouseSession session)
    {
        if (_replayBreaksIndexes is { } known) return known;
        var text = Convert.ToString(session.ExecuteScalar(DuckDbDialect.Version()), System.Globalization.CultureInfo.InvariantCulture) ?? "";
        var affected = ParseVersion(text) is { } v && v >= IndexReplayBroken.From && v < IndexReplayBroken.Before;
        _replayBreaksIndexes = affected;
        return affected;
    }

    /// <summary><c>v1.5.6</c> (or <c>1.5.6-dev12</c>) as a version; null when it is not one.</summary>
    internal static Version? ParseVersion(string text)
    {
        var t = text.Trim().TrimStart('v', 'V');
        var end = 0;
        while (end < t.Length && (char.IsAsciiDigit(t[end]) || t[end] == '.')) end++;
        return Version.TryParse(t[..end].TrimEnd('.'), out var v) ? v : null;
    }

    /// <summary>The marker of a process of this product having the file open (see the class remarks).</summary>
    internal string OpenMarkerPath => DatabasePath + ".sqb-open";

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
            if (!first) return session;
            try
            {
                if (!ReplayBreaksIndexes(session)) return session;
                // This process now holds the file (DuckDB admits one process per file): a marker left here is a dead one's.
                var leftOverMarker = File.Exists(OpenMarkerPath);
                if (leftOverLog || leftOverMarker)
                    RebuildIndexes(session, leftOverLog ? "replaying the write-ahead log a killed process left" : $"a process killed with the file open (it left {Path.GetFileName(OpenMarkerPath)})");
                WriteOpenMarker();
                return session;
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
    }

    private void WriteOpenMarker()
    {
        try
        {
            File.WriteAllText(OpenMarkerPath, $"sqlbuild process {Environment.ProcessId} has this database open; a marker left behind makes the next open rebuild its indexes{Environment.NewLine}");
            OwnMarkers.Add(OpenMarkerPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Verbose($"{Description}: cannot write {OpenMarkerPath} ({e.Message}); a crash of this process may go unnoticed by the next");
        }
    }

    /// <summary>Runs after a file session's connection closed: the last one closed the database, which checkpointed it.</summary>
    private void Released()
    {
        lock (FileGate)
        {
            var left = OpenFileSessions.GetValueOrDefault(DatabasePath) - 1;
            if (left > 0)
            {
                OpenFileSessions[DatabasePath] = left;
                return;
            }
            OpenFileSessions.Remove(DatabasePath);
            // Keep a marker this process did not write (a crash's, whose rebuild failed) and one beside a log that
            // was not checkpointed (the next open rebuilds anyway).
            if (!OwnMarkers.Contains(OpenMarkerPath) || File.Exists(DatabasePath + ".wal")) return;
            OwnMarkers.Remove(OpenMarkerPath);
            try { File.Delete(OpenMarkerPath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.Verbose($"{Description}: cannot remove {OpenMarkerPath} ({e.Message}); the next open rebuilds the indexes");
            }
        }
    }

    /// <summary>
    /// Rebuilds every table that has an index, and its indexes, in one transaction (see the class remarks).
    /// </summary>
    private void RebuildIndexes(DuckDbSession session, string why)
    {
        var d = _dialect;
        var tables = session.Query(d.IndexedTables());
        if (tables.Count == 0) return;
        var indexes = session.Query(d.Indexes());
        try
        {
            RebuildTables(session, tables, indexes);
        }
        catch (SqbException e)
        {
            throw new SqbException(ErrorCodes.ConnectionFailed, "ConnectionFailed",
                $"cannot open {Description}: rebuilding its indexes after {why} failed, nothing was changed: {e.Message}",
                SqbErrorKind.ConnectionError, DatabasePath,
                "a unique index cannot be rebuilt over duplicate keys that got in while it was broken: remove the duplicate rows (duckdb CLI), then retry", e);
        }
        _log.Verbose($"{Description}: rebuilt {tables.Count} table(s) and {indexes.Count} index(es) after {why}");
    }

    private void RebuildTables(DuckDbSession session, IReadOnlyList<object?[]> tables, IReadOnlyList<object?[]> indexes)
    {
        var d = _dialect;
        using (var tx = session.BeginTransaction())
        {
            var n = 0;
            foreach (var t in tables)
            {
                var (schema, name, definition) = ((string)t[0]!, (string)t[1]!, (string)t[2]!);
                var table = new RelationName(schema, name);
                var target = $"{schema}.{name}";
                var copy = $"temp.main.{d.QuoteIdentifier($"sqb_rebuild_{n++}")}";
                session.Execute(new SqlStatement("REBUILD INDEXES", target, $"CREATE TEMP TABLE {copy} AS SELECT * FROM {d.Qualify(table)}"));
                session.Execute(new SqlStatement("REBUILD INDEXES", target, $"DROP TABLE {d.Qualify(table)}"));
                session.Execute(new SqlStatement("REBUILD INDEXES", target, Retarget(definition, d.Qualify(table))));
                session.Execute(new SqlStatement("REBUILD INDEXES", target, $"INSERT INTO {d.Qualify(table)} SELECT * FROM {copy}"));
                session.Execute(new SqlStatement("REBUILD INDEXES", target, $"DROP TABLE {copy}"));
                foreach (var i in indexes.Where(i => (string)i[0]! == schema && (string)i[1]! == name))
                    session.Execute(new SqlStatement("CREATE INDEX", $"{schema}.{i[2]}", Retarget((string)i[3]!, d.Qualify(table))));
            }
            tx.Commit();
        }
    }

    /// <summary>
    /// A <c>CREATE TABLE</c> or <c>CREATE [UNIQUE] INDEX ... ON</c> statement as DuckDB prints it, with the table's name
    /// replaced by <paramref name="qualified"/>: DuckDB prints <c>schema.table</c>, which would name another catalog
    /// when the schema is named like the database's catalog.
    /// </summary>
    internal static string Retarget(string definition, string qualified)
    {
        int start;
        if (definition.StartsWith("CREATE TABLE ", StringComparison.OrdinalIgnoreCase)) start = "CREATE TABLE ".Length;
        else
        {
            var on = -1;
            foreach (var head in new[] { "CREATE UNIQUE INDEX ", "CREATE INDEX " })
                if (definition.StartsWith(head, StringComparison.OrdinalIgnoreCase))
                {
                    var afterName = SkipName(definition, head.Length);
                    if (string.Compare(definition, afterName, " ON ", 0, 4, StringComparison.OrdinalIgnoreCase) == 0) on = afterName + 4;
                    break;
                }
            if (on < 0) return definition;
            start = on;
        }
        var end = SkipName(definition, start);
        return end == start ? definition : definition[..start] + qualified + definition[end..];
    }

    // The end of a dotted name at i: parts quoted ("a""b") or plain (letters, digits, _ and $).
    private static int SkipName(string sql, int i)
    {
        while (i < sql.Length)
        {
            if (sql[i] == '"')
            {
                i++;
                while (i < sql.Length && !(sql[i] == '"' && (i + 1 >= sql.Length || sql[i + 1] != '"'))) i += sql[i] == '"' ? 2 : 1;
                i++;
            }
            else
            {
                var from = i;
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$')) i++;
                if (i == from) return from;
            }
            if (i < sql.Length && sql[i] == '.') i++;
            else break;
        }
        return Math.Min(i, sql.Length);
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

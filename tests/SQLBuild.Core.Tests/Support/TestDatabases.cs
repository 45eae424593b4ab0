using Npgsql;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// Real databases for tests, shared by every test project area.
/// <list type="bullet">
/// <item>PostgreSQL: set <c>SQB_TEST_POSTGRES</c> to an Npgsql connection string
/// (e.g. <c>Host=127.0.0.1;Port=55433;Username=postgres;Password=...;Database=postgres</c>);
/// tests use <c>Skip.IfNot(TestDatabases.HasPostgres, ...)</c> with <c>[SkippableFact]</c>.</item>
/// <item>SQL Server: <c>SQB_SQLSERVER</c> holds a SqlClient connection string.</item>
/// <item>DuckDB: always available, in a temp folder (<see cref="NewDuckDbFile"/>) or <c>:memory:</c>.</item>
/// </list>
/// Use a fresh <see cref="UniqueSchema"/> per test and <see cref="DropSchemas"/> afterwards.
/// </summary>
public static class TestDatabases
{
    public const string PostgresVariable = "SQB_TEST_POSTGRES";
    public const string SqlServerVariable = "SQB_SQLSERVER";

    public static string? PostgresConnectionString => Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s ? s : null;
    public static string? SqlServerConnectionString => Environment.GetEnvironmentVariable(SqlServerVariable) is { Length: > 0 } s ? s : null;
    public static bool HasPostgres => PostgresConnectionString is not null;
    public static bool HasSqlServer => SqlServerConnectionString is not null;

    public const string NoPostgres = "set SQB_TEST_POSTGRES to an Npgsql connection string to run PostgreSQL tests";
    public const string NoSqlServer = "set SQB_SQLSERVER to a SqlClient connection string to run SQL Server tests";

    /// <summary>PostgreSQL settings as a project would give them: host, port, user, dbname keys and a separate password.</summary>
    public static ConnectionSettings Postgres(string? projectDirectory = null, string name = "test_pg")
    {
        var cs = PostgresConnectionString ?? throw new InvalidOperationException(NoPostgres);
        var b = new NpgsqlConnectionStringBuilder(cs);
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["host"] = b.Host ?? "localhost",
            ["port"] = b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["user"] = b.Username ?? "postgres",
            ["dbname"] = b.Database ?? "postgres",
        };
        return new ConnectionSettings(name, AdapterKind.Postgres, values, b.Password, null, projectDirectory ?? Path.GetTempPath());
    }

    /// <summary>PostgreSQL settings carrying the whole connection string (the <c>connection_string</c> form).</summary>
    public static ConnectionSettings PostgresFromConnectionString(string? projectDirectory = null, string name = "test_pg_cs") =>
        new(name, AdapterKind.Postgres, new Dictionary<string, string>(),
            null, PostgresConnectionString ?? throw new InvalidOperationException(NoPostgres), projectDirectory ?? Path.GetTempPath());

    public static ConnectionSettings SqlServer(string? projectDirectory = null, string name = "test_mssql") =>
        new(name, AdapterKind.SqlServer, new Dictionary<string, string>(),
            null, SqlServerConnectionString ?? throw new InvalidOperationException(NoSqlServer), projectDirectory ?? Path.GetTempPath());

    /// <summary>DuckDB settings for a database path (relative to <paramref name="projectDirectory"/>) or ":memory:".</summary>
    public static ConnectionSettings DuckDb(string database, string projectDirectory, string name = "test_duckdb") =>
        new(name, AdapterKind.DuckDb, new Dictionary<string, string> { ["database"] = database }, null, null, projectDirectory);

    public static ConnectionSettings DuckDbMemory() => DuckDb(":memory:", Path.GetTempPath(), "test_duckdb_memory");

    /// <summary>A DuckDB file in a fresh temp folder (deleted on dispose). The file itself is created on first session.</summary>
    public static TempDuckDb NewDuckDbFile(string fileName = "test.duckdb") => new(fileName);

    /// <summary>A schema name unique to this call: the prefix, '_' and 20 lowercase hex digits.</summary>
    public static string UniqueSchema(string prefix = "sqbt") => prefix + "_" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>
    /// Drops the schemas and everything in them without CASCADE: views first (repeatedly, for views
    /// on views), then tables, then the schema. For test cleanup; errors are swallowed.
    /// </summary>
    public static void DropSchemas(IWarehouse warehouse, params string[] schemas)
    {
        try
        {
            using var session = warehouse.OpenSession();
            var d = session.Dialect;
            for (var round = 0; round < 5; round++)
            {
                var snapshot = session.ReadCatalog(schemas);
                var views = snapshot.Relations.Where(r => r.Kind == RelationKind.View).ToList();
                if (views.Count == 0) break;
                foreach (var v in views)
                    try { session.Execute(d.DropViewIfExists(v.Relation)); } catch (Exception) { /* a dependent view goes first next round */ }
            }
            foreach (var t in session.ReadCatalog(schemas).Relations.Where(r => r.Kind == RelationKind.Table))
                try { session.Execute(d.DropTableIfExists(t.Relation)); } catch (Exception) { }
            foreach (var s in schemas)
                try { session.Execute(d.DropSchemaIfExists(s)); } catch (Exception) { }
        }
        catch (Exception)
        {
            // cleanup only
        }
    }
}

public sealed class TempDuckDb : IDisposable
{
    internal TempDuckDb(string fileName)
    {
        Directory = Path.Combine(Path.GetTempPath(), "sqb-duckdb-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        FileName = fileName;
    }

    /// <summary>The temp folder, used as the project directory.</summary>
    public string Directory { get; }
    public string FileName { get; }
    public string FullPath => Path.GetFullPath(Path.Combine(Directory, FileName));
    public ConnectionSettings Settings => TestDatabases.DuckDb(FileName, Directory);

    public IWarehouse CreateWarehouse(ISqbLog? log = null) => WarehouseFactory.Create(Settings, log ?? NullLog.Instance);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A thread-safe log that keeps every line, for asserting what was logged.</summary>
public sealed class RecordingLog : ISqbLog
{
    private readonly List<string> _lines = new();
    public IReadOnlyList<string> Lines { get { lock (_lines) return _lines.ToList(); } }
    public void Verbose(string message) { lock (_lines) _lines.Add("VERBOSE: " + message); }
    public void Warning(string message) { lock (_lines) _lines.Add("WARNING: " + message); }
    public void Progress(string activity, string status, int done, int total) { lock (_lines) _lines.Add($"PROGRESS: {activity}: {status} ({done}/{total})"); }
    public void Section(string name) { lock (_lines) _lines.Add("SECTION: " + name); }
}

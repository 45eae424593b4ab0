using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

public class DuckDbWarehouseTests
{
    private static SqlStatement Sql(string sql) => new("TEST", "duckdb", sql);

    private static long Count(IWarehouseSession s, string table) =>
        Convert.ToInt64(s.ExecuteScalar(Sql($"SELECT COUNT(*) FROM {table}")));

    [Fact]
    public void Memory_database_is_shared_by_the_sessions_of_one_warehouse_only()
    {
        var a = WarehouseFactory.Create(TestDatabases.DuckDbMemory(), NullLog.Instance);
        var b = WarehouseFactory.Create(TestDatabases.DuckDbMemory(), NullLog.Instance);
        try
        {
            using (var s1 = a.OpenSession())
                s1.Execute(Sql("CREATE TABLE shared_t AS SELECT 42 AS x"));
            // The writing session is closed: the data lives on in the warehouse's database.
            using (var s2 = a.OpenSession())
            using (var s3 = a.OpenSession())
            {
                Assert.Equal(1L, Count(s2, "shared_t"));
                s3.Execute(Sql("INSERT INTO shared_t VALUES (43)"));
                Assert.Equal(2L, Count(s2, "shared_t"));
            }
            using var other = b.OpenSession();
            Assert.False(other.ReadCatalog(new[] { "main" }).Exists(new RelationName("main", "shared_t")));
        }
        finally
        {
            ((IDisposable)a).Dispose();
            ((IDisposable)b).Dispose();
        }
        Assert.Throws<ObjectDisposedException>(() => a.OpenSession());
    }

    [Fact]
    public void Relative_path_resolves_against_the_project_folder_and_its_folder_is_created()
    {
        using var db = TestDatabases.NewDuckDbFile(Path.Combine("data", "deep", "shop.duckdb"));
        var w = db.CreateWarehouse();
        Assert.False(File.Exists(db.FullPath));
        using (var s = w.OpenSession())
            s.Execute(Sql("CREATE TABLE t AS SELECT 1 AS a"));
        Assert.True(File.Exists(db.FullPath));
        Assert.Equal($"duckdb(database={db.FullPath})", w.Description);
        Assert.Equal(AdapterKind.DuckDb, w.Dialect.Kind);
    }

    [Fact]
    public void Several_warehouses_and_sessions_on_one_file_in_one_process_share_the_database()
    {
        using var db = TestDatabases.NewDuckDbFile();
        var w1 = db.CreateWarehouse();
        // The same file reached through a different relative spelling.
        var w2 = WarehouseFactory.Create(TestDatabases.DuckDb(Path.Combine(".", "x", "..", db.FileName), db.Directory), NullLog.Instance);
        using var s1 = w1.OpenSession();
        using var s2 = w2.OpenSession();
        s1.Execute(Sql("CREATE TABLE t (a BIGINT)"));
        s2.Execute(Sql("INSERT INTO t VALUES (1), (2)"));
        Assert.Equal(2L, Count(s1, "t"));

        Parallel.For(0, 8, i =>
        {
            using var s = (i % 2 == 0 ? w1 : w2).OpenSession();
            s.Execute(Sql($"CREATE TABLE p{i} AS SELECT range AS n FROM range({100 * (i + 1)})"));
            s.Execute(Sql($"INSERT INTO p{i} SELECT 0"));
        });
        for (var i = 0; i < 8; i++) Assert.Equal(100L * (i + 1) + 1, Count(s1, $"p{i}"));
    }

    [Fact]
    public void Cancelling_a_session_interrupts_its_running_statement_within_seconds()
    {
        using var db = TestDatabases.NewDuckDbFile("cancel.duckdb");
        using var cancel = new CancellationTokenSource();
        using var s = db.CreateWarehouse().OpenSession(new SessionOptions { Cancellation = cancel.Token });
        cancel.CancelAfter(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Minutes of work without the interrupt.
        Assert.ThrowsAny<OperationCanceledException>(() => s.ExecuteScalar(Sql("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3")));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0, 5);
        using var again = db.CreateWarehouse().OpenSession();
        Assert.Equal(1L, Convert.ToInt64(again.ExecuteScalar(Sql("SELECT 1"))));
    }

    [Fact]
    public void Data_survives_closing_every_session_and_reopening()
    {
        using var db = TestDatabases.NewDuckDbFile();
        using (var s = db.CreateWarehouse().OpenSession())
            s.Execute(Sql("CREATE TABLE kept AS SELECT 5 AS a"));
        using (var s = db.CreateWarehouse().OpenSession())
            Assert.Equal(1L, Count(s, "kept"));
    }

    [Fact]
    public void A_connection_without_database_is_W001()
    {
        var settings = new ConnectionSettings("local", AdapterKind.DuckDb, new Dictionary<string, string>(), null, null, Path.GetTempPath());
        var ex = Assert.Throws<SqbException>(() => WarehouseFactory.Create(settings, NullLog.Instance));
        Assert.Equal(ErrorCodes.ConnectionFailed, ex.Code);
        Assert.Equal(SqbErrorKind.ConnectionError, ex.Kind);
        Assert.Contains("'local' has no 'database'", ex.Message);
    }

    [Fact]
    public void A_folder_that_cannot_be_created_is_W001()
    {
        using var db = TestDatabases.NewDuckDbFile();
        var blocker = Path.Combine(db.Directory, "file-not-folder");
        File.WriteAllText(blocker, "x");
        var w = WarehouseFactory.Create(TestDatabases.DuckDb(Path.Combine("file-not-folder", "db.duckdb"), db.Directory), NullLog.Instance);
        var ex = Assert.Throws<SqbException>(() => w.OpenSession());
        Assert.Equal(ErrorCodes.ConnectionFailed, ex.Code);
        Assert.StartsWith("cannot connect to duckdb(database=", ex.Message);
    }

    private const string HolderSource = """
        #:package DuckDB.NET.Data.Full@1.5.6.1
        // Test helper: opens a DuckDB file read-write and holds it until stdin closes.
        using DuckDB.NET.Data;
        using var connection = new DuckDBConnection("Data Source=" + args[0]);
        connection.Open();
        Console.WriteLine("HOLDING");
        Console.Out.Flush();
        Console.In.ReadToEnd();
        """;

    /// <summary>
    /// Starts another process that holds the file, with a .NET 10 file-based app (<c>dotnet run holder.cs</c>),
    /// compiled once into the SDK's cache.
    /// </summary>
    private static Process? StartHolder(string databasePath, out string diagnostics)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sqb-duckdb-lock-holder");
        Directory.CreateDirectory(folder);
        var source = Path.Combine(folder, "holder.cs");
        if (!File.Exists(source) || File.ReadAllText(source) != HolderSource) File.WriteAllText(source, HolderSource);

        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false, WorkingDirectory = folder,
        };
        foreach (var a in new[] { "run", source, "--", databasePath }) psi.ArgumentList.Add(a);
        // The test host runs under MSBuild-driven settings that would confuse a nested build.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);

        var process = Process.Start(psi)!;
        var ready = process.StandardOutput.ReadLineAsync();
        if (ready.Wait(TimeSpan.FromMinutes(3)) && ready.Result == "HOLDING")
        {
            diagnostics = "";
            return process;
        }
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        diagnostics = process.StandardError.ReadToEnd();
        process.Dispose();
        return null;
    }

    [SkippableFact]
    public void A_file_held_by_another_process_is_W004_resource_busy()
    {
        using var db = TestDatabases.NewDuckDbFile("busy.duckdb");
        using (var s = db.CreateWarehouse().OpenSession())
            s.Execute(Sql("CREATE TABLE t AS SELECT 1 AS a"));

        using var holder = StartHolder(db.FullPath, out var diagnostics);
        Skip.If(holder is null, $"could not start the helper process with 'dotnet run holder.cs': {diagnostics}");
        try
        {
            var w = db.CreateWarehouse();
            var ex = Assert.Throws<SqbException>(() => w.OpenSession());
            Assert.Equal(ErrorCodes.DatabaseInUse, ex.Code);
            Assert.Equal("W004.DatabaseInUse", ex.ErrorId);
            Assert.Equal(SqbErrorKind.ResourceBusy, ex.Kind);
            Assert.Equal($"database file '{db.FullPath}' is in use by another process", ex.Message);
            Assert.NotNull(ex.RecommendedAction);
        }
        finally
        {
            holder!.StandardInput.Close();
            if (!holder.WaitForExit(30_000)) holder.Kill(entireProcessTree: true);
        }
        // Released: this process can open it again.
        using var again = db.CreateWarehouse().OpenSession();
        Assert.Equal(1L, Count(again, "t"));
    }
}

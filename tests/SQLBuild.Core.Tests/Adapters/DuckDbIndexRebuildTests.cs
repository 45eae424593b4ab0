using System.Diagnostics;
using DuckDB.NET.Data;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>
/// DuckDB 1.5 replays a killed writer's log into tables but not into their indexes, and whoever replays it
/// (this product, the duckdb CLI) checkpoints the broken index into the file. The product rebuilds the indexes,
/// in one transaction, on the first open after a crash, whatever program opened the file in between.
/// </summary>
public class DuckDbIndexRebuildTests
{
    private static SqlStatement S(string sql) => new("TEST", "index", sql);

    private static long Scalar(IWarehouseSession s, string sql) => Convert.ToInt64(s.ExecuteScalar(S(sql)));

    private static long Scalar(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar());
    }

    private static void Exec(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Opens the file with a plain DuckDB connection, not through the product: it replays the log and
    /// checkpoints on close, as the duckdb CLI would.</summary>
    private static void OpenWithPlainDuckDb(string path)
    {
        using (var c = new DuckDBConnection("Data Source=" + path))
        {
            c.Open();
            Scalar(c, "SELECT COUNT(*) FROM duckdb_tables()");
        }
        Assert.False(File.Exists(path + ".wal"));
    }

    private static bool Affected()
    {
        var w = WarehouseFactory.Create(TestDatabases.DuckDbMemory(), NullLog.Instance);
        try
        {
            using var s = w.OpenSession();
            return DuckDbWarehouse.ReplayBreaksIndexes(s);
        }
        finally { ((IDisposable)w).Dispose(); }
    }

    /// <summary>
    /// The state of a process that committed <paramref name="write"/> and died before any checkpoint, taken by copying
    /// the file, its log and the product's open marker while a session of the product has them open.
    /// </summary>
    private static void Crash(TempDuckDb live, TempDuckDb crashed, string setup, string write)
    {
        using (var s = live.CreateWarehouse().OpenSession())
            foreach (var sql in setup.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                s.Execute(S(sql));
        var w = (DuckDbWarehouse)live.CreateWarehouse();
        using var session = w.OpenSession();
        session.Execute(S("CHECKPOINT"));
        session.Execute(S(write));
        Assert.True(File.Exists(live.FullPath + ".wal"));
        File.Copy(live.FullPath, crashed.FullPath);
        File.Copy(live.FullPath + ".wal", crashed.FullPath + ".wal");
        if (File.Exists(w.OpenMarkerPath)) File.Copy(w.OpenMarkerPath, crashed.FullPath + ".sqb-open");
    }

    [Theory]
    [InlineData("v1.5.6", "1.5.6")]
    [InlineData("1.5.0-dev123", "1.5.0")]
    [InlineData("v1.4.2", "1.4.2")]
    [InlineData("duckdb", null)]
    public void Versions_are_read_as_DuckDB_prints_them(string text, string? expected) =>
        Assert.Equal(expected, DuckDbWarehouse.ParseVersion(text)?.ToString());

    [Theory]
    [InlineData("CREATE TABLE st.locks(lock_key VARCHAR NOT NULL);", "CREATE TABLE \"c\".\"st\".\"locks\"(lock_key VARCHAR NOT NULL);")]
    [InlineData("CREATE TABLE \"a\"\"b\".\"t(1)\"(x INTEGER);", "CREATE TABLE \"c\".\"st\".\"locks\"(x INTEGER);")]
    [InlineData("CREATE UNIQUE INDEX idx_sqb_locks_identity ON st.locks(lock_key);", "CREATE UNIQUE INDEX idx_sqb_locks_identity ON \"c\".\"st\".\"locks\"(lock_key);")]
    [InlineData("CREATE INDEX \"i on x\" ON jaffle.t(\"a b\");", "CREATE INDEX \"i on x\" ON \"c\".\"st\".\"locks\"(\"a b\");")]
    [InlineData("CREATE VIEW v AS SELECT 1;", "CREATE VIEW v AS SELECT 1;")]
    public void A_printed_definition_is_retargeted_at_the_qualified_table(string definition, string expected) =>
        Assert.Equal(expected, DuckDbWarehouse.Retarget(definition, "\"c\".\"st\".\"locks\""));

    /// <summary>
    /// The gate says what this DuckDB does: replayed by a plain connection, a row committed before a crash is
    /// missed by a lookup on its unique key exactly when the version is in the affected range. When DuckDB is
    /// upgraded past the fault this fails until the range says so.
    /// </summary>
    [Fact]
    public void The_version_gate_matches_what_this_DuckDB_does_to_a_replayed_log()
    {
        using var live = TestDatabases.NewDuckDbFile("live.duckdb");
        using var crashed = TestDatabases.NewDuckDbFile("crashed.duckdb");
        using (var c = new DuckDBConnection("Data Source=" + live.FullPath))
        {
            c.Open();
            Exec(c, "CREATE SCHEMA st");
            Exec(c, "CREATE TABLE st.locks (lock_key VARCHAR, owner_id VARCHAR)");
            Exec(c, "CREATE UNIQUE INDEX idx_sqb_locks_identity ON st.locks (lock_key)");
            Exec(c, "INSERT INTO st.locks SELECT 'k' || i, 'o' FROM range(100) t(i)");
            Exec(c, "CHECKPOINT");
            Exec(c, "INSERT INTO st.locks VALUES ('virtual_env:dev', 'adopt:dev')");
            File.Copy(live.FullPath, crashed.FullPath);
            File.Copy(live.FullPath + ".wal", crashed.FullPath + ".wal");
        }
        OpenWithPlainDuckDb(crashed.FullPath);
        using var again = new DuckDBConnection("Data Source=" + crashed.FullPath);
        again.Open();
        Assert.Equal(101L, Scalar(again, "SELECT COUNT(*) FROM st.locks"));
        var broken = Scalar(again, "SELECT COUNT(*) FROM st.locks WHERE lock_key = 'virtual_env:dev'") == 0;
        Assert.Equal(broken, Affected());
    }

    private const string ChildSource = """
        #:package DuckDB.NET.Data.Full@1.5.6.1
        // Test helper: through SQLBuild.Core (args[0]), opens the DuckDB file args[1], commits args[2], reports and waits to be killed.
        using System.Reflection;
        var core = Assembly.LoadFrom(args[0]);
        Type T(string name) => core.GetType(name, throwOnError: true)!;
        var settings = Activator.CreateInstance(T("SQLBuild.Core.Project.ConnectionSettings"), "child",
            Enum.Parse(T("SQLBuild.Core.Project.AdapterKind"), "DuckDb"), new Dictionary<string, string> { ["database"] = args[1] },
            null, null, Path.GetDirectoryName(args[1])!)!;
        var log = T("SQLBuild.Core.Logging.NullLog").GetField("Instance")!.GetValue(null);
        var warehouse = T("SQLBuild.Core.Adapters.WarehouseFactory").GetMethod("Create")!.Invoke(null, new[] { settings, log })!;
        var session = T("SQLBuild.Core.Adapters.IWarehouse").GetMethod("OpenSession")!.Invoke(warehouse, new object?[] { null })!;
        var statement = Activator.CreateInstance(T("SQLBuild.Core.Adapters.SqlStatement"), "CHILD", "write", args[2], null)!;
        T("SQLBuild.Core.Adapters.IWarehouseSession").GetMethod("Execute")!.Invoke(session, new[] { statement });
        Console.WriteLine("WROTE");
        Console.Out.Flush();
        Console.In.ReadToEnd();
        """;

    /// <summary>
    /// Starts a process that commits <paramref name="write"/> through the product (a .NET 10 file-based app loading
    /// this build's SQLBuild.Core) and holds the file; null when it cannot be started.
    /// </summary>
    private static Process? StartWriter(string databasePath, string write, out string diagnostics)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sqb-duckdb-index-writer");
        Directory.CreateDirectory(folder);
        var source = Path.Combine(folder, "writer.cs");
        if (!File.Exists(source) || File.ReadAllText(source) != ChildSource) File.WriteAllText(source, ChildSource);
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false, WorkingDirectory = folder,
        };
        foreach (var a in new[] { "run", source, "--", typeof(DuckDbWarehouse).Assembly.Location, databasePath, write }) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        var process = Process.Start(psi)!;
        // The first run compiles the app, and the SDK may write before it.
        var ready = Task.Run(() =>
        {
            while (process.StandardOutput.ReadLine() is { } line)
                if (line == "WROTE") return true;
            return false;
        });
        if (ready.Wait(TimeSpan.FromMinutes(3)) && ready.Result)
        {
            diagnostics = "";
            return process;
        }
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        diagnostics = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.Dispose();
        return null;
    }

    [SkippableFact]
    public void A_killed_writer_s_index_is_rebuilt_when_another_program_replayed_its_log_first()
    {
        using var db = TestDatabases.NewDuckDbFile("state.duckdb");
        using (var s = db.CreateWarehouse().OpenSession())
        {
            s.Execute(S("CREATE SCHEMA st"));
            s.Execute(S("CREATE TABLE st.locks (lock_key VARCHAR NOT NULL, owner_id VARCHAR)"));
            s.Execute(S("CREATE UNIQUE INDEX idx_sqb_locks_identity ON st.locks (lock_key)"));
            s.Execute(S("INSERT INTO st.locks SELECT 'k' || i, 'o' FROM range(100) t(i)"));
        }
        var marker = db.FullPath + ".sqb-open";
        Assert.False(File.Exists(marker));

        using (var writer = StartWriter(db.FullPath, "INSERT INTO st.locks VALUES ('virtual_env:dev', 'adopt:dev')", out var diagnostics))
        {
            Skip.If(writer is null, $"could not start the writer process with 'dotnet run writer.cs': {diagnostics}");
            writer!.Kill(entireProcessTree: true);
            writer.WaitForExit();
        }
        Assert.True(File.Exists(db.FullPath + ".wal"));
        var affected = Affected();
        Assert.Equal(affected, File.Exists(marker));

        OpenWithPlainDuckDb(db.FullPath);

        var log = new RecordingLog();
        using (var s = db.CreateWarehouse(log).OpenSession())
        {
            Assert.Equal(1L, Scalar(s, "SELECT COUNT(*) FROM st.locks WHERE lock_key = 'virtual_env:dev'"));
            var dup = Assert.Throws<SqbException>(() => s.Execute(S("INSERT INTO st.locks VALUES ('virtual_env:dev', 'other')")));
            Assert.True(WarehouseErrors.IsUniqueViolation(dup));
            Assert.Equal(1, s.Execute(S("DELETE FROM st.locks WHERE lock_key = 'virtual_env:dev' AND owner_id = 'adopt:dev'")));
            Assert.Equal(100L, Scalar(s, "SELECT COUNT(*) FROM st.locks"));
            // Same index name (the state validator looks for it), same table definition.
            Assert.Equal("idx_sqb_locks_identity", s.ExecuteScalar(S("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'locks'")));
            Assert.Throws<SqbException>(() => s.Execute(S("INSERT INTO st.locks VALUES (NULL, 'x')")));
        }
        Assert.Equal(affected, log.Lines.Any(l => l.Contains("rebuilt 1 table(s) and 1 index(es)", StringComparison.Ordinal)));
        // A clean close removes the marker: the next open rebuilds nothing.
        Assert.False(File.Exists(marker));
        log = new RecordingLog();
        using (db.CreateWarehouse(log).OpenSession())
            Assert.DoesNotContain(log.Lines, l => l.Contains("rebuilt", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void A_schema_named_like_the_file_is_rebuilt_in_place_with_its_definition()
    {
        Skip.IfNot(Affected(), "this DuckDB keeps its indexes through a replayed log: nothing is rebuilt");
        using var live = TestDatabases.NewDuckDbFile("jaffle.duckdb");
        using var crashed = TestDatabases.NewDuckDbFile("jaffle.duckdb");
        Crash(live, crashed,
            "CREATE SCHEMA jaffle.jaffle; CREATE TABLE jaffle.jaffle.t (\"a b\" VARCHAR NOT NULL, n INTEGER DEFAULT 7); " +
            "CREATE UNIQUE INDEX \"t key\" ON jaffle.jaffle.t (\"a b\"); INSERT INTO jaffle.jaffle.t SELECT 'k' || i, i FROM range(10) r(i)",
            "INSERT INTO jaffle.jaffle.t (\"a b\") VALUES ('new')");
        OpenWithPlainDuckDb(crashed.FullPath);

        var log = new RecordingLog();
        using var s = crashed.CreateWarehouse(log).OpenSession();
        Assert.Contains(log.Lines, l => l.Contains("rebuilt 1 table(s) and 1 index(es)", StringComparison.Ordinal));
        Assert.Equal(7L, Scalar(s, "SELECT n FROM jaffle.jaffle.t WHERE \"a b\" = 'new'"));
        Assert.Equal(11L, Scalar(s, "SELECT COUNT(*) FROM jaffle.jaffle.t"));
        Assert.Equal(0L, Scalar(s, "SELECT COUNT(*) FROM duckdb_tables() WHERE schema_name <> 'jaffle'"));
        Assert.True(WarehouseErrors.IsUniqueViolation(Assert.Throws<SqbException>(() => s.Execute(S("INSERT INTO jaffle.jaffle.t VALUES ('new', 1)")))));
        Assert.Equal("t key", s.ExecuteScalar(S("SELECT index_name FROM duckdb_indexes() WHERE schema_name = 'jaffle'")));
    }

    [SkippableFact]
    public void A_rebuild_that_fails_changes_nothing_and_says_why()
    {
        Skip.IfNot(Affected(), "this DuckDB keeps its indexes through a replayed log: nothing is rebuilt");
        using var live = TestDatabases.NewDuckDbFile("live.duckdb");
        using var crashed = TestDatabases.NewDuckDbFile("crashed.duckdb");
        Crash(live, crashed,
            "CREATE SCHEMA st; CREATE TABLE st.a_ok (k VARCHAR); CREATE UNIQUE INDEX idx_a ON st.a_ok (k); " +
            "CREATE TABLE st.b_dup (k VARCHAR); CREATE UNIQUE INDEX idx_b ON st.b_dup (k); " +
            "INSERT INTO st.a_ok VALUES ('x'); INSERT INTO st.b_dup VALUES ('x')",
            "INSERT INTO st.b_dup VALUES ('replayed')");
        // Replayed and checkpointed by another program, the broken index lets a duplicate in before the product sees the file again.
        OpenWithPlainDuckDb(crashed.FullPath);
        using (var c = new DuckDBConnection("Data Source=" + crashed.FullPath))
        {
            c.Open();
            Exec(c, "INSERT INTO st.b_dup VALUES ('replayed')");
            Assert.Equal(2L, Scalar(c, "SELECT COUNT(*) FROM (SELECT k || '' AS k FROM st.b_dup) WHERE k = 'replayed'"));
        }

        var ex = Assert.Throws<SqbException>(() => crashed.CreateWarehouse().OpenSession());
        Assert.Equal(ErrorCodes.ConnectionFailed, ex.Code);
        Assert.Contains("rebuilding its indexes after a process killed with the file open", ex.Message);
        Assert.Contains("nothing was changed", ex.Message);
        Assert.Contains("duplicate rows", ex.RecommendedAction);
        // The evidence of the crash stays: the next open tries again.
        Assert.True(File.Exists(crashed.FullPath + ".sqb-open"));
        Assert.Contains("nothing was changed", Assert.Throws<SqbException>(() => crashed.CreateWarehouse().OpenSession()).Message);

        // The first table was rebuilt inside the transaction that failed: both keep their indexes and rows.
        using var again = new DuckDBConnection("Data Source=" + crashed.FullPath);
        again.Open();
        Assert.Equal(2L, Scalar(again, "SELECT COUNT(*) FROM duckdb_indexes() WHERE index_name IN ('idx_a', 'idx_b')"));
        Assert.Equal(0L, Scalar(again, "SELECT COUNT(*) FROM duckdb_tables() WHERE table_name LIKE 'sqb_rebuild%'"));
        Assert.Equal(1L, Scalar(again, "SELECT COUNT(*) FROM st.a_ok"));
        Assert.Equal(3L, Scalar(again, "SELECT COUNT(*) FROM st.b_dup"));
    }
}

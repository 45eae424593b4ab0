using System.Text;
using Npgsql;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>PostgreSQL-only behaviour, against the server in SQB_TEST_POSTGRES.</summary>
public sealed class PostgresWarehouseTests : IDisposable
{
    private readonly RecordingLog _log = new();
    private readonly List<string> _schemas = new();
    private IWarehouse? _warehouse;

    private IWarehouse Warehouse
    {
        get
        {
            Skip.IfNot(TestDatabases.HasPostgres, TestDatabases.NoPostgres);
            return _warehouse ??= WarehouseFactory.Create(TestDatabases.Postgres(), _log);
        }
    }

    private string NewSchema()
    {
        var s = TestDatabases.UniqueSchema();
        _schemas.Add(s);
        return s;
    }

    public void Dispose()
    {
        if (_warehouse is not null) TestDatabases.DropSchemas(_warehouse, _schemas.ToArray());
    }

    private static ConnectionSettings WithPassword(string password, string? port = null)
    {
        var good = TestDatabases.Postgres();
        var values = new Dictionary<string, string>(good.Values, StringComparer.OrdinalIgnoreCase);
        if (port is not null) values["port"] = port;
        return new ConnectionSettings("bad", AdapterKind.Postgres, values, password, null, good.ProjectDirectory);
    }

    [SkippableFact]
    public void Sessions_outlive_the_servers_idle_session_timeout_and_a_pooled_connection_the_server_ended_is_replaced()
    {
        Skip.IfNot(TestDatabases.HasPostgres, TestDatabases.NoPostgres);
        // A hardened server or role ends sessions idle for 1 s (here through the connection's startup options).
        var idle = new NpgsqlConnectionStringBuilder(TestDatabases.PostgresConnectionString!) { Options = "-c idle_session_timeout=1000" };
        var settings = new ConnectionSettings("idle", AdapterKind.Postgres, new Dictionary<string, string>(), null, idle.ConnectionString, Path.GetTempPath());
        var log = new RecordingLog();
        var w = WarehouseFactory.Create(settings, log);
        long PidOf(IWarehouseSession s) => Convert.ToInt64(s.ExecuteScalar(new SqlStatement("TEST", "pid", "SELECT pg_backend_pid()")));
        using var observer = Warehouse.OpenSession();
        void WaitUntilEnded(long pid)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Convert.ToInt64(observer.ExecuteScalar(new SqlStatement("TEST", "alive", $"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"))) > 0)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the server never ended session {pid}");
                Thread.Sleep(100);
            }
        }

        // Our session, idle while a model runs elsewhere, is not ended: it sets idle_session_timeout = 0.
        using (var held = w.OpenSession())
        {
            Assert.Equal("0", held.ExecuteScalar(new SqlStatement("TEST", "show", "SHOW idle_session_timeout")));
            var pid = PidOf(held);
            // A session of the server's setting, idle as long, is ended: the setting is in force.
            using var plain = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(idle.ConnectionString) { Pooling = false }.ConnectionString);
            plain.Open();
            using (var c = new NpgsqlCommand("SELECT pg_backend_pid()", plain)) WaitUntilEnded(Convert.ToInt64(c.ExecuteScalar()));
            Assert.Equal(pid, PidOf(held));
        }

        // A pooled connection the server ended while it sat in the pool (a DBA, a restart, a pooler) is replaced when opened.
        long pooled;
        using (var s = w.OpenSession()) pooled = PidOf(s);
        observer.ExecuteScalar(new SqlStatement("TEST", "terminate", $"SELECT pg_terminate_backend({pooled})"));
        WaitUntilEnded(pooled);
        using (var again = w.OpenSession())
        {
            Assert.NotEqual(pooled, PidOf(again));
            Assert.Equal(1, Convert.ToInt32(again.ExecuteScalar(new SqlStatement("TEST", "alive", "SELECT 1"))));
        }
        Assert.Contains(log.Lines, l => l.StartsWith("VERBOSE: a pooled connection to postgres(", StringComparison.Ordinal) && l.Contains("had been closed by the server"));
    }

    [SkippableFact]
    public void A_wrong_password_is_W001_and_the_password_appears_nowhere()
    {
        Skip.IfNot(TestDatabases.HasPostgres, TestDatabases.NoPostgres);
        const string password = "Wr0ng-Pa55word-XYZ";
        var log = new RecordingLog();
        var w = WarehouseFactory.Create(WithPassword(password), log);
        Assert.DoesNotContain(password, w.Description);
        var ex = Assert.Throws<SqbException>(() => w.OpenSession());
        Assert.Equal(ErrorCodes.ConnectionFailed, ex.Code);
        Assert.Equal("W001.ConnectionFailed", ex.ErrorId);
        Assert.Equal(SqbErrorKind.ConnectionError, ex.Kind);
        Assert.StartsWith("cannot connect to postgres(host=", ex.Message);
        Assert.Contains("28P01", ex.Message);          // the server's reason survives redaction
        Assert.DoesNotContain(password, ex.Message);
        Assert.DoesNotContain(password, ex.ToString());
        Assert.DoesNotContain(password, ex.RecommendedAction ?? "");
        Assert.DoesNotContain(log.Lines, l => l.Contains(password, StringComparison.Ordinal));
    }

    [SkippableFact]
    public void An_unreachable_server_is_W001_connection_error()
    {
        Skip.IfNot(TestDatabases.HasPostgres, TestDatabases.NoPostgres);
        var w = WarehouseFactory.Create(WithPassword("irrelevant-pw", port: "1"), new RecordingLog());
        var ex = Assert.Throws<SqbException>(() => w.OpenSession());
        Assert.Equal(ErrorCodes.ConnectionFailed, ex.Code);
        Assert.Contains("port=1", ex.Message);
    }

    [SkippableFact]
    public void The_connection_string_form_works_and_sets_application_name()
    {
        Skip.IfNot(TestDatabases.HasPostgres, TestDatabases.NoPostgres);
        var w = WarehouseFactory.Create(TestDatabases.PostgresFromConnectionString(), _log);
        var password = new NpgsqlConnectionStringBuilder(TestDatabases.PostgresConnectionString).Password!;
        Assert.DoesNotContain(password, w.Description);
        Assert.StartsWith("postgres(host=", w.Description);
        var setting = (string name) => new SqlStatement("SELECT", name, $"SELECT current_setting('{name}')");
        using (var s = w.OpenSession())
        {
            Assert.Equal("sqlbuild", s.ExecuteScalar(setting("application_name")));
            // A server checks every 2 s that the client of a running statement is still there (a killed client's
            // statement is cancelled instead of running on).
            Assert.Equal("2s", s.ExecuteScalar(setting("client_connection_check_interval")));
        }
        // A session of an operation names it, so DBAs (and a later run) can find it in pg_stat_activity; the name does
        // not stick to the pooled connection once the session ends.
        using (var s = w.OpenSession(new SessionOptions { OperationId = "build:0123abcd" }))
            Assert.Equal("sqlbuild/build:0123abcd", s.ExecuteScalar(setting("application_name")));
        using (var s = w.OpenSession())
            Assert.Equal("sqlbuild", s.ExecuteScalar(setting("application_name")));
    }

    [SkippableFact]
    public void Cancelling_a_session_cancels_its_running_statement_on_the_server_within_a_second()
    {
        using var cancel = new CancellationTokenSource();
        using var s = Warehouse.OpenSession(new SessionOptions { Cancellation = cancel.Token });
        cancel.CancelAfter(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => s.Execute(new SqlStatement("SLEEP", "pg_sleep", "SELECT pg_sleep(30)")));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0, 5);
        // Nothing of it runs on: the server shows no pg_sleep of ours any more.
        using var probe = Warehouse.OpenSession();
        Assert.Equal(0L, Convert.ToInt64(probe.ExecuteScalar(new SqlStatement("SELECT", "pg_stat_activity",
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'"))));
    }

    [SkippableFact]
    public void A_63_byte_multibyte_name_reaches_the_server_intact_and_64_is_refused_before_it()
    {
        using var s = Warehouse.OpenSession();
        var d = s.Dialect;
        var schema = NewSchema();
        s.Execute(d.CreateSchemaIfNotExists(schema));
        var name63 = new string('é', 31) + "x";            // 63 bytes: PostgreSQL's exact limit
        Assert.Equal(63, Encoding.UTF8.GetByteCount(name63));
        s.Execute(d.CreateTableAs(new RelationName(schema, name63), "SELECT 1 AS a"));
        var stored = Assert.Single(s.ReadCatalog(new[] { schema }).Relations);
        Assert.Equal(name63, stored.Name);                  // not truncated by the server

        var name64 = new string('é', 32);                   // the server would silently cut this to 63 bytes
        var ex = Assert.Throws<SqbException>(() => d.CreateTableAs(new RelationName(schema, name64), "SELECT 1 AS a"));
        Assert.Equal(ErrorCodes.IdentifierTooLong, ex.Code);
        Assert.Single(s.ReadCatalog(new[] { schema }).Relations);
    }

    [SkippableFact]
    public void Notices_go_to_the_verbose_log()
    {
        using var s = Warehouse.OpenSession();
        s.Execute(new SqlStatement("DO", "notice", "DO $$ BEGIN RAISE NOTICE 'hello from %', 'plpgsql'; END $$"));
        Assert.Contains("VERBOSE: DO notice", _log.Lines);
        Assert.Contains("VERBOSE: postgres notice: hello from plpgsql", _log.Lines);
    }

    [SkippableFact]
    public void Materialized_views_are_reported_as_tables_and_partitions_as_tables()
    {
        using var s = Warehouse.OpenSession();
        var d = s.Dialect;
        var schema = NewSchema();
        s.Execute(d.CreateSchemaIfNotExists(schema));
        var q = d.QuoteIdentifier(schema);
        s.Execute(new SqlStatement("SETUP", schema, $"CREATE MATERIALIZED VIEW {q}.mv AS SELECT 1 AS a"));
        s.Execute(new SqlStatement("SETUP", schema, $"CREATE TABLE {q}.parted (a int) PARTITION BY RANGE (a)"));
        var snap = s.ReadCatalog(new[] { schema }, includeColumns: true);
        Assert.Equal(RelationKind.Table, snap.Find(new RelationName(schema, "mv"))!.Kind);
        Assert.Equal(RelationKind.Table, snap.Find(new RelationName(schema, "parted"))!.Kind);
        Assert.Equal("integer", Assert.Single(snap.ColumnsOf(new RelationName(schema, "parted"))).DataType);
        s.Execute(new SqlStatement("CLEANUP", schema, $"DROP MATERIALIZED VIEW {q}.mv"));
    }

    [SkippableFact]
    public void Replace_view_refuses_to_drop_a_view_other_views_depend_on()
    {
        using var s = Warehouse.OpenSession();
        var d = s.Dialect;
        var schema = NewSchema();
        s.Execute(d.CreateSchemaIfNotExists(schema));
        var v = new RelationName(schema, "v");
        var dependent = new RelationName(schema, "dependent");
        s.Execute(d.CreateOrReplaceView(v, "SELECT 1 AS a"));
        s.Execute(d.CreateOrReplaceView(dependent, $"SELECT a FROM {d.Qualify(v)}"));
        using (var tx = s.BeginTransaction())
        {
            var ex = Assert.Throws<SqbException>(() => { foreach (var st in d.ReplaceViewStatements(v, "SELECT 2 AS b")) s.Execute(st); });
            Assert.StartsWith($"DROP VIEW {v} failed:", ex.Message);   // no CASCADE: the dependent view is safe
            tx.Rollback();
        }
        Assert.Equal(2, s.ReadCatalog(new[] { schema }).Relations.Count);
        // Plain CREATE OR REPLACE cannot change the columns on PostgreSQL: that is why ReplaceViewStatements exists.
        Assert.Throws<SqbException>(() => s.Execute(d.CreateOrReplaceView(v, "SELECT 'x'::text AS renamed")));
    }

    [SkippableFact]
    public void Move_table_changes_schema_natively()
    {
        using var s = Warehouse.OpenSession();
        var d = s.Dialect;
        var a = NewSchema();
        var b = NewSchema();
        s.Execute(d.CreateSchemaIfNotExists(a));
        s.Execute(d.CreateSchemaIfNotExists(b));
        s.Execute(d.CreateTableAs(new RelationName(a, "t"), "SELECT 1 AS x"));
        s.Execute(d.MoveTable(new RelationName(a, "t"), b));
        var snap = s.ReadCatalog(new[] { a, b });
        Assert.False(snap.Exists(new RelationName(a, "t")));
        Assert.True(snap.Exists(new RelationName(b, "t")));
    }
}

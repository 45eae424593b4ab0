using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>
/// What each dialect says about bookkeeping tables (the state store's): the UTC clock, column types,
/// idempotent DDL, catalog reads, exact counts, how catalog names compare, and session-level locks.
/// The T-SQL of these members is parsed with ScriptDom by <see cref="SqlServerDialectTests"/> through
/// <see cref="DialectTests.AllStatements"/>; here are their shapes.
/// </summary>
public class BookkeepingDialectTests
{
    private static SqlDialect D(AdapterKind k) => WarehouseFactory.Dialect(k);
    private static readonly RelationName Locks = new("st", "locks");

    [Fact]
    public void The_clock_is_the_databases_own_utc_time()
    {
        Assert.Equal("(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')", D(AdapterKind.Postgres).UtcNow);
        Assert.Equal("CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)", D(AdapterKind.DuckDb).UtcNow);
        Assert.Equal("SYSUTCDATETIME()", D(AdapterKind.SqlServer).UtcNow);
        Assert.Equal("((CURRENT_TIMESTAMP AT TIME ZONE 'UTC') + INTERVAL '600 seconds')", D(AdapterKind.Postgres).UtcNowPlus(600));
        Assert.Equal("(CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP) + INTERVAL 600 SECOND)", D(AdapterKind.DuckDb).UtcNowPlus(600));
        Assert.Equal("DATEADD(second, 600, SYSUTCDATETIME())", D(AdapterKind.SqlServer).UtcNowPlus(600));
    }

    [Theory]
    [InlineData(AdapterKind.DuckDb, "BIGINT", "VARCHAR", "VARCHAR", "TIMESTAMP")]
    [InlineData(AdapterKind.Postgres, "BIGINT", "TEXT", "TEXT", "TIMESTAMP")]
    [InlineData(AdapterKind.SqlServer, "BIGINT", "NVARCHAR(MAX)", "NVARCHAR(450)", "DATETIME2(6)")]
    public void Each_column_family_has_a_type_and_only_sql_server_bounds_indexed_text(
        AdapterKind kind, string integer, string text, string indexedText, string timestamp)
    {
        var d = D(kind);
        Assert.Equal(integer, d.TypeName(ColumnFamily.Integer, indexed: false));
        Assert.Equal(integer, d.TypeName(ColumnFamily.Integer, indexed: true));
        Assert.Equal(text, d.TypeName(ColumnFamily.Text, indexed: false));
        Assert.Equal(indexedText, d.TypeName(ColumnFamily.Text, indexed: true));
        Assert.Equal(timestamp, d.TypeName(ColumnFamily.Timestamp, indexed: false));
    }

    [Fact]
    public void Ansi_ddl_guards_with_if_not_exists()
    {
        var d = D(AdapterKind.Postgres);
        var columns = new[] { new FamilyColumn("lock_key", ColumnFamily.Text, true), new FamilyColumn("owner_pid", ColumnFamily.Integer, false) };
        var table = d.CreateTableIfNotExists(Locks, columns);
        Assert.Equal(("CREATE TABLE", "st.locks"), (table.Kind, table.Target));
        Assert.Equal("CREATE TABLE IF NOT EXISTS \"st\".\"locks\" (\"lock_key\" TEXT, \"owner_pid\" BIGINT)", table.Sql);
        var column = d.AddColumnIfNotExists(Locks, columns[1]);
        Assert.Equal(("ALTER TABLE", "st.locks.owner_pid"), (column.Kind, column.Target));
        Assert.Equal("ALTER TABLE \"st\".\"locks\" ADD COLUMN IF NOT EXISTS \"owner_pid\" BIGINT", column.Sql);
        var index = d.CreateUniqueIndexIfNotExists(Locks, "idx_sqb_locks_identity", new[] { "lock_key" });
        Assert.Equal(("CREATE INDEX", "st.idx_sqb_locks_identity"), (index.Kind, index.Target));
        Assert.Equal("CREATE UNIQUE INDEX IF NOT EXISTS \"idx_sqb_locks_identity\" ON \"st\".\"locks\" (\"lock_key\")", index.Sql);
        Assert.Equal("CREATE TABLE IF NOT EXISTS \"st\".\"locks\" (\"lock_key\" VARCHAR)",
            D(AdapterKind.DuckDb).CreateTableIfNotExists(Locks, columns[..1]).Sql);
    }

    [Fact]
    public void Sql_server_ddl_guards_with_the_catalog_and_escaped_literals()
    {
        var d = D(AdapterKind.SqlServer);
        var odd = new RelationName("it's", "lo]cks");
        Assert.Equal("IF OBJECT_ID(N'[it''s].[lo]]cks]', N'U') IS NULL CREATE TABLE [it's].[lo]]cks] ([lock_key] NVARCHAR(450), [at] DATETIME2(6))",
            d.CreateTableIfNotExists(odd, new[] { new FamilyColumn("lock_key", ColumnFamily.Text, true), new FamilyColumn("at", ColumnFamily.Timestamp, false) }).Sql);
        Assert.Equal("IF COL_LENGTH(N'[it''s].[lo]]cks]', N'o''k') IS NULL ALTER TABLE [it's].[lo]]cks] ADD [o'k] NVARCHAR(MAX)",
            d.AddColumnIfNotExists(odd, new FamilyColumn("o'k", ColumnFamily.Text, false)).Sql);
        Assert.Equal("IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'i''x' AND object_id = OBJECT_ID(N'[it''s].[lo]]cks]')) " +
                     "CREATE UNIQUE INDEX [i'x] ON [it's].[lo]]cks] ([a], [b])",
            d.CreateUniqueIndexIfNotExists(odd, "i'x", new[] { "a", "b" }).Sql);
    }

    [Theory]
    [MemberData(nameof(DialectTests.Kinds), MemberType = typeof(DialectTests))]
    public void Catalog_reads_take_the_schema_and_prefix_as_parameters(AdapterKind kind)
    {
        var d = D(kind);
        var indexes = d.UniqueIndexes("secret_schema");
        Assert.DoesNotContain("secret_schema", indexes.Sql);
        Assert.Equal(new object?[] { "secret_schema" }, indexes.Parameters);
        var backups = d.SchemasWithPrefix("st__backup_");
        Assert.DoesNotContain("st__backup_", backups.Sql);
        Assert.Equal(new object?[] { "st__backup_" }, backups.Parameters);
        Assert.Equal("st__backup_*", backups.Target);
        Assert.Contains("(name, 11)", backups.Sql.Replace("nspname", "name").Replace("schema_name", "name"), StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("DESC", backups.Sql);
    }

    [Fact]
    public void Only_postgres_compares_catalog_names_by_case()
    {
        Assert.False(D(AdapterKind.Postgres).CatalogNameComparer.Equals("Locks", "locks"));
        Assert.True(D(AdapterKind.DuckDb).CatalogNameComparer.Equals("Locks", "locks"));
        Assert.True(D(AdapterKind.SqlServer).CatalogNameComparer.Equals("Locks", "locks"));
        Assert.False(D(AdapterKind.SqlServer).CatalogNameComparer.Equals("locks", "locks2"));
    }

    [Fact]
    public void Counts_of_many_tables_are_one_statement_and_exact_wide_on_sql_server()
    {
        var tables = new[] { new RelationName("a", "t1"), new RelationName("b", "t2") };
        var duck = D(AdapterKind.DuckDb).CountRowsOfEach(tables);
        Assert.Equal("SELECT 0 AS sqb_ordinal, COUNT(*) AS sqb_rows FROM \"a\".\"t1\"\nUNION ALL\nSELECT 1 AS sqb_ordinal, COUNT(*) AS sqb_rows FROM \"b\".\"t2\"", duck.Sql);
        Assert.Equal(("COUNT", "a, b"), (duck.Kind, duck.Target));
        Assert.Equal("SELECT 0 AS sqb_ordinal, COUNT_BIG(*) AS sqb_rows FROM [a].[t1]\nUNION ALL\nSELECT 1 AS sqb_ordinal, COUNT_BIG(*) AS sqb_rows FROM [b].[t2]",
            D(AdapterKind.SqlServer).CountRowsOfEach(tables).Sql);
        foreach (var kind in Enum.GetValues<AdapterKind>())
            Assert.Throws<ArgumentException>(() => D(kind).CountRowsOfEach(Array.Empty<RelationName>()));
    }

    [Fact]
    public void Duckdb_has_no_session_locks()
    {
        var d = D(AdapterKind.DuckDb);
        Assert.False(d.SupportsAdvisoryLocks);
        Assert.Throws<NotSupportedException>(() => d.TryAdvisoryLock("r"));
        Assert.Throws<NotSupportedException>(() => d.ReleaseAdvisoryLock("r"));
        Assert.Throws<NotSupportedException>(() => d.AdvisoryLockTaken(true));
        Assert.Throws<NotSupportedException>(() => d.ProbeAdvisoryLock("r"));
        // DuckDB runs in the process: no server sessions to list or end.
        Assert.Null(d.SessionsOfApplication("sqlbuild/build:x"));
        Assert.Null(d.EndSessionsOfApplication("sqlbuild/build:x"));
    }

    [Fact]
    public void Postgres_locks_a_64_bit_id_derived_from_the_resource()
    {
        var d = D(AdapterKind.Postgres);
        Assert.True(d.SupportsAdvisoryLocks);
        var take = d.TryAdvisoryLock("sqlbuild:st:virtual_env:dev");
        var give = d.ReleaseAdvisoryLock("sqlbuild:st:virtual_env:dev");
        Assert.Equal(("ADVISORY LOCK", "sqlbuild:st:virtual_env:dev", "SELECT pg_try_advisory_lock($1)"), (take.Kind, take.Target, take.Sql));
        Assert.Equal(("ADVISORY UNLOCK", "SELECT pg_advisory_unlock($1)"), (give.Kind, give.Sql));
        var id = Assert.IsType<long>(Assert.Single(take.Parameters!));
        Assert.Equal(id, Assert.Single(give.Parameters!));
        Assert.Equal(id, PostgresDialect.AdvisoryLockId("sqlbuild:st:virtual_env:dev"));
        Assert.NotEqual(id, PostgresDialect.AdvisoryLockId("sqlbuild:other:virtual_env:dev"));
        Assert.True(d.AdvisoryLockTaken(true));
        Assert.False(d.AdvisoryLockTaken(false));
    }

    [Fact]
    public void Postgres_probes_pg_locks_for_the_ids_halves_without_taking_the_lock()
    {
        var d = D(AdapterKind.Postgres);
        var probe = d.ProbeAdvisoryLock("sqlbuild:st:virtual_env:dev");
        Assert.Equal(("ADVISORY PROBE", "sqlbuild:st:virtual_env:dev"), (probe.Kind, probe.Target));
        Assert.Contains("FROM pg_catalog.pg_locks AS l", probe.Sql);
        Assert.Contains("l.locktype = 'advisory' AND l.granted AND l.objsubid = 1", probe.Sql);
        Assert.DoesNotContain("pg_try_advisory", probe.Sql);
        var id = unchecked((ulong)PostgresDialect.AdvisoryLockId("sqlbuild:st:virtual_env:dev"));
        Assert.Equal(new object?[] { (long)(id >> 32), (long)(id & 0xFFFF_FFFF) }, probe.Parameters);
        Assert.True(d.AdvisoryLockIsFree(1));
        Assert.False(d.AdvisoryLockIsFree(0));

        var sessions = d.SessionsOfApplication("sqlbuild/build:x")!;
        Assert.Contains("FROM pg_catalog.pg_stat_activity AS a", sessions.Sql);
        Assert.Contains("a.application_name = $1", sessions.Sql);
        Assert.Contains("a.pid <> pg_catalog.pg_backend_pid()", sessions.Sql);
        Assert.Equal(new object?[] { "sqlbuild/build:x" }, sessions.Parameters);
        var end = d.EndSessionsOfApplication("sqlbuild/build:x")!;
        Assert.Equal("TERMINATE", end.Kind);
        Assert.Contains("pg_catalog.pg_terminate_backend(d.pid)", end.Sql);
        // The sessions are chosen behind an optimization fence, so the filters always run before pg_terminate_backend.
        Assert.Contains("OFFSET 0) AS d", end.Sql);
        Assert.Equal(new object?[] { "sqlbuild/build:x" }, end.Parameters);
    }

    [Fact]
    public void Sql_server_takes_a_session_applock_without_waiting()
    {
        var d = D(AdapterKind.SqlServer);
        Assert.True(d.SupportsAdvisoryLocks);
        var take = d.TryAdvisoryLock("sqlbuild:st:virtual_env:dev");
        Assert.Equal("APPLOCK", take.Kind);
        Assert.Contains("@LockOwner = 'Session', @LockTimeout = 0", take.Sql);
        Assert.Equal(new object?[] { "sqlbuild:st:virtual_env:dev" }, take.Parameters);
        Assert.DoesNotContain("virtual_env", take.Sql);
        Assert.Equal("APPLOCK RELEASE", d.ReleaseAdvisoryLock("sqlbuild:st:virtual_env:dev").Kind);
        Assert.True(d.AdvisoryLockTaken(0));
        Assert.True(d.AdvisoryLockTaken(1));
        Assert.False(d.AdvisoryLockTaken(-1));

        var probe = d.ProbeAdvisoryLock("sqlbuild:st:virtual_env:dev");
        Assert.Equal(("APPLOCK TEST", "SELECT APPLOCK_TEST('public', @p1, 'Exclusive', 'Session')"), (probe.Kind, probe.Sql));
        Assert.Equal(new object?[] { "sqlbuild:st:virtual_env:dev" }, probe.Parameters);
        Assert.True(d.AdvisoryLockIsFree(1));
        Assert.False(d.AdvisoryLockIsFree(0));
    }

    [Fact]
    public void Sql_server_lists_and_kills_the_sessions_of_an_operation_by_program_name()
    {
        var d = D(AdapterKind.SqlServer);
        var sessions = d.SessionsOfApplication("sqlbuild/build:x")!;
        Assert.Contains("FROM sys.dm_exec_sessions AS s", sessions.Sql);
        Assert.Contains("s.program_name = @p1", sessions.Sql);
        Assert.Contains("s.session_id <> @@SPID", sessions.Sql);
        Assert.Equal(new object?[] { "sqlbuild/build:x" }, sessions.Parameters);
        var kill = d.EndSessionsOfApplication("sqlbuild/build:x")!;
        Assert.Equal("KILL", kill.Kind);
        Assert.Contains("CONCAT(N'KILL ', session_id)", kill.Sql);
        Assert.Contains("s.program_name = @p1", kill.Sql);
        Assert.DoesNotContain("build:x", kill.Sql);
        Assert.Equal(new object?[] { "sqlbuild/build:x" }, kill.Parameters);
    }
}

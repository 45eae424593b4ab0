using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>
/// <see cref="IWarehouseSession.ExecuteBatch"/>: statements in order, in one round trip on PostgreSQL (one NpgsqlBatch, logged as
/// <c>BATCH n</c>), one after the other on DuckDB; inside a transaction they join it; a failure names its statement.
/// </summary>
public class ExecuteBatchTests
{
    public static TheoryData<string> Engines() => new() { "duckdb", "postgres" };

    private sealed class Db : IDisposable
    {
        private readonly TempDuckDb? _file;
        private readonly IWarehouse _warehouse;
        public RecordingLog Log { get; } = new();
        public string Schema { get; } = TestDatabases.UniqueSchema("sqbb");
        public IWarehouseSession Session { get; }

        public Db(string engine)
        {
            TestEngine.SkipUnlessAvailable(engine);
            if (engine == "postgres") _warehouse = WarehouseFactory.Create(TestDatabases.Postgres(), Log);
            else
            {
                _file = TestDatabases.NewDuckDbFile();
                _warehouse = _file.CreateWarehouse(Log);
            }
            Session = _warehouse.OpenSession();
            Session.Execute(Session.Dialect.CreateSchemaIfNotExists(Schema));
        }

        public string T(string name) => Session.Dialect.Qualify(new RelationName(Schema, name));
        public SqlStatement Sql(string kind, string target, string sql, params object?[] parameters) => new(kind, target, sql, parameters);
        public bool Exists(string name) => Session.ReadCatalog(new[] { Schema }).Exists(new RelationName(Schema, name));

        public void Dispose()
        {
            Session.Dispose();
            if (_file is not null) _file.Dispose();
            else TestDatabases.DropSchemas(_warehouse, Schema);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void A_batch_runs_in_order_inside_the_transaction_and_reports_the_rows_of_each_statement(string engine)
    {
        using var db = new Db(engine);
        var d = db.Session.Dialect;
        using (var tx = db.Session.BeginTransaction())
        {
            var affected = db.Session.ExecuteBatch(new[]
            {
                db.Sql("CREATE TABLE", "t", $"CREATE TABLE {db.T("t")} (id BIGINT, name VARCHAR(20))"),
                db.Sql("INSERT", "t", $"INSERT INTO {db.T("t")} (id, name) VALUES ({d.Parameter(1)}, {d.Parameter(2)}), ({d.Parameter(3)}, {d.Parameter(4)})", 1L, "a", 2L, null),
                db.Sql("UPDATE", "t", $"UPDATE {db.T("t")} SET name = {d.Parameter(1)} WHERE id = {d.Parameter(2)}", "b", 2L),
            });
            Assert.Equal(new[] { 2, 1 }, affected.Skip(1));
            tx.Rollback();
        }
        Assert.False(db.Exists("t"));
        if (engine == "postgres") Assert.Contains("VERBOSE: BATCH 3", db.Log.Lines);
        Assert.Contains($"VERBOSE: INSERT t", db.Log.Lines);
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void A_failing_statement_is_named_and_on_postgres_the_batch_is_all_or_nothing(string engine)
    {
        using var db = new Db(engine);
        var error = Assert.Throws<SqbException>(() => db.Session.ExecuteBatch(new[]
        {
            db.Sql("CREATE TABLE", "made", $"CREATE TABLE {db.T("made")} (id BIGINT)"),
            db.Sql("INSERT", "nowhere", $"INSERT INTO {db.T("nowhere")} (id) VALUES (1)"),
            db.Sql("CREATE TABLE", "after", $"CREATE TABLE {db.T("after")} (id BIGINT)"),
        }));
        // DuckDB runs them one by one and names the statement; PostgreSQL names it where Npgsql says which, else the batch.
        Assert.Contains("nowhere", error.Message);
        if (engine == "duckdb") Assert.Contains("INSERT nowhere", error.Message);
        Assert.False(db.Exists("after"));
        // PostgreSQL runs a batch outside a transaction as one implicit transaction.
        if (engine == "postgres") Assert.False(db.Exists("made"));
        // The session stays usable.
        Assert.Equal(1L, Convert.ToInt64(db.Session.ExecuteScalar(db.Sql("SELECT", "one", "SELECT 1"))));
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void A_query_after_a_batch_sees_what_the_batch_made_and_on_postgres_rides_in_its_round_trip(string engine)
    {
        using var db = new Db(engine);
        var d = db.Session.Dialect;
        var made = new RelationName(db.Schema, "made");
        var (affected, rows) = db.Session.ExecuteBatchThenQuery(new[]
        {
            db.Sql("CREATE TABLE", "made", $"CREATE TABLE {db.T("made")} (id BIGINT, name VARCHAR(20))"),
            db.Sql("INSERT", "made", $"INSERT INTO {db.T("made")} (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
        }, db.Sql("SELECT", "made", $"SELECT COUNT(*) FROM {db.T("made")} WHERE id > {d.Parameter(1)}", 1L));
        Assert.Equal(3, affected[1]);
        Assert.Equal(2L, Convert.ToInt64(Assert.Single(rows)[0]));
        if (engine == "postgres") Assert.Contains("VERBOSE: BATCH 3", db.Log.Lines);

        // The columns of a relation the batch creates, read with it: what a table swap compares.
        var (_, columns) = db.Session.ExecuteBatchThenColumnsOf(new[]
        {
            db.Sql("CREATE TABLE", "next", $"CREATE TABLE {db.T("next")} AS SELECT id, name, id * 2 AS twice FROM {db.T("made")}"),
        }, new[] { made, new RelationName(db.Schema, "next"), new RelationName(db.Schema, "absent") });
        Assert.Equal(new[] { "id", "name" }, columns[0].Select(c => c.Name));
        Assert.Equal(new[] { "id", "name", "twice" }, columns[1].Select(c => c.Name));
        Assert.Empty(columns[2]);
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void A_failing_statement_before_the_query_fails_the_call_and_leaves_nothing_on_postgres(string engine)
    {
        using var db = new Db(engine);
        var error = Assert.Throws<SqbException>(() => db.Session.ExecuteBatchThenQuery(new[]
        {
            db.Sql("CREATE TABLE", "made", $"CREATE TABLE {db.T("made")} (id BIGINT)"),
            db.Sql("INSERT", "nowhere", $"INSERT INTO {db.T("nowhere")} (id) VALUES (1)"),
        }, db.Sql("SELECT", "made", $"SELECT COUNT(*) FROM {db.T("made")}")));
        Assert.Contains("nowhere", error.Message);
        if (engine == "postgres") Assert.False(db.Exists("made"));
        Assert.Equal(1L, Convert.ToInt64(db.Session.ExecuteScalar(db.Sql("SELECT", "one", "SELECT 1"))));
    }

    [SkippableTheory]
    [MemberData(nameof(Engines))]
    public void Executed_atomically_statements_land_together_or_not_at_all_and_on_postgres_without_a_commit_round_trip(string engine)
    {
        using var db = new Db(engine);
        db.Session.Execute(db.Sql("CREATE TABLE", "t", $"CREATE TABLE {db.T("t")} (id BIGINT)"));
        Assert.Throws<SqbException>(() => db.Session.ExecuteAtomically(new[]
        {
            db.Sql("INSERT", "t", $"INSERT INTO {db.T("t")} (id) VALUES (1)"),
            db.Sql("DROP TABLE", "t", $"DROP TABLE {db.T("t")}"),
            db.Sql("INSERT", "nowhere", $"INSERT INTO {db.T("nowhere")} (id) VALUES (1)"),
        }));
        Assert.True(db.Exists("t"));
        Assert.Equal(0L, Convert.ToInt64(db.Session.ExecuteScalar(db.Sql("SELECT", "t", $"SELECT COUNT(*) FROM {db.T("t")}"))));

        var mark = db.Log.Lines.Count;
        db.Session.ExecuteAtomically(new[]
        {
            db.Sql("INSERT", "t", $"INSERT INTO {db.T("t")} (id) VALUES (1)"),
            db.Sql("INSERT", "t", $"INSERT INTO {db.T("t")} (id) VALUES (2)"),
        });
        Assert.Equal(2L, Convert.ToInt64(db.Session.ExecuteScalar(db.Sql("SELECT", "t", $"SELECT COUNT(*) FROM {db.T("t")}"))));
        var sent = db.Log.Lines.Skip(mark).ToList();
        if (engine == "postgres") Assert.DoesNotContain("VERBOSE: COMMIT transaction", sent);
        else Assert.Contains("VERBOSE: BEGIN transaction", sent);
    }
}

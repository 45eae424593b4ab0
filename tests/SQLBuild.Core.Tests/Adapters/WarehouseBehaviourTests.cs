using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>
/// The behaviour every adapter must have, run against a real engine by each subclass: DuckDB (file and
/// :memory:) always, PostgreSQL when SQB_TEST_POSTGRES is set, SQL Server when SQB_SQLSERVER is set.
/// Each test works in its own fresh schema, dropped afterwards.
/// </summary>
public abstract class WarehouseBehaviourTests : IDisposable
{
    private IWarehouse? _warehouse;
    private readonly List<string> _schemas = new();

    protected RecordingLog Log { get; } = new();
    protected abstract bool Available { get; }
    protected abstract string SkipReason { get; }
    protected abstract IWarehouse CreateWarehouse();

    /// <summary>A name every engine accepts that breaks any unescaped quoting: both quote characters and a bracket.</summary>
    protected const string Nasty = "we\"ird'name]";

    protected IWarehouse Warehouse
    {
        get
        {
            Skip.IfNot(Available, SkipReason);
            return _warehouse ??= CreateWarehouse();
        }
    }

    protected SqlDialect D => Warehouse.Dialect;

    protected string NewSchema(string prefix = "sqbt")
    {
        var s = TestDatabases.UniqueSchema(prefix);
        _schemas.Add(s);
        return s;
    }

    /// <summary>A session with a fresh schema already created.</summary>
    protected (IWarehouseSession Session, string Schema) OpenWithSchema()
    {
        var session = Warehouse.OpenSession();
        var schema = NewSchema();
        session.Execute(session.Dialect.CreateSchemaIfNotExists(schema));
        return (session, schema);
    }

    public virtual void Dispose()
    {
        if (_warehouse is not null && _schemas.Count > 0) TestDatabases.DropSchemas(_warehouse, _schemas.ToArray());
        (_warehouse as IDisposable)?.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static long Long(object? v) => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Drivers differ in the .NET type of a DATE (DateOnly or DateTime); compare as DateOnly.</summary>
    protected static object? Normalize(object? v) => v switch
    {
        DateTime dt when dt.TimeOfDay == TimeSpan.Zero && dt.Kind != DateTimeKind.Utc => v,
        int i => (long)i,
        _ => v,
    };

    private SqlStatement Sql(string kind, string target, string sql, params object?[] ps) => new(kind, target, sql, ps);

    private IReadOnlyList<object?[]> Rows(IWarehouseSession s, RelationName rel, string orderBy) =>
        s.Query(Sql("SELECT", rel.ToString(), $"SELECT * FROM {s.Dialect.Qualify(rel)} ORDER BY {s.Dialect.QuoteIdentifier(orderBy)}"));

    // ------------------------------------------------------------------ schemas and catalog

    [SkippableFact]
    public void Create_schema_is_idempotent_and_the_catalog_reports_only_existing_schemas()
    {
        using var s = Warehouse.OpenSession();
        var schema = NewSchema();
        var missing = NewSchema("sqbmissing");
        s.Execute(D.CreateSchemaIfNotExists(schema));
        s.Execute(D.CreateSchemaIfNotExists(schema));

        var snap = s.ReadCatalog(new[] { schema, missing });
        Assert.Contains(schema, snap.Schemas);
        Assert.DoesNotContain(missing, snap.Schemas);
        Assert.Empty(snap.Relations);

        var empty = s.ReadCatalog(Array.Empty<string>(), includeColumns: true);
        Assert.Empty(empty.Schemas);
        Assert.Empty(empty.Relations);

        s.Execute(D.DropSchemaIfExists(schema));
        Assert.DoesNotContain(schema, s.ReadCatalog(new[] { schema }).Schemas);
    }

    [SkippableFact]
    public void Catalog_tells_tables_from_views_with_definitions_and_columns_in_one_query_each()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var other = NewSchema();
        s.Execute(D.CreateSchemaIfNotExists(other));
        var table = new RelationName(schema, "base_tbl");
        var view = new RelationName(schema, "v_base");
        var otherTable = new RelationName(other, Nasty);
        s.Execute(D.CreateTableAs(table, "SELECT 1 AS id, 'x' AS label"));
        s.Execute(D.CreateOrReplaceView(view, $"SELECT label, id FROM {D.Qualify(table)}"));
        s.Execute(D.CreateTableAs(otherTable, "SELECT 2 AS z"));

        var before = Log.Lines.Count;
        var snap = s.ReadCatalog(new[] { schema, other }, includeColumns: true);
        var catalogQueries = Log.Lines.Skip(before).Count(l => l.StartsWith("VERBOSE: CATALOG", StringComparison.Ordinal));
        Assert.Equal(3, catalogQueries);   // schemas, relations, columns: set-based, not per relation

        Assert.Equal(3, snap.Relations.Count);
        var t = snap.Find(table)!;
        Assert.Equal(RelationKind.Table, t.Kind);
        Assert.Null(t.ViewDefinition);
        Assert.False(t.Reads(table));
        var v = snap.Find(view)!;
        Assert.Equal(RelationKind.View, v.Kind);
        Assert.True(v.Reads(table));
        Assert.True(v.ReadsFrom(schema));
        Assert.False(v.ReadsFrom(other));
        Assert.False(v.Reads(otherTable));
        Assert.True(snap.Exists(otherTable));
        Assert.False(snap.Exists(new RelationName(schema, "nope")));

        Assert.Equal(new[] { "id", "label" }, snap.ColumnsOf(table).Select(c => c.Name));
        Assert.Equal(new[] { "label", "id" }, snap.ColumnsOf(view).Select(c => c.Name));
        Assert.Equal(new[] { 1, 2 }, snap.ColumnsOf(view).Select(c => c.Ordinal));
        Assert.All(snap.ColumnsOf(table), c => Assert.False(string.IsNullOrWhiteSpace(c.DataType)));
        Assert.Equal("z", Assert.Single(snap.ColumnsOf(otherTable)).Name);

        var noColumns = s.ReadCatalog(new[] { schema });
        Assert.Empty(noColumns.ColumnsOf(table));
        Assert.Equal(2, noColumns.Relations.Count);
    }

    [SkippableFact]
    public void What_a_view_reads_is_what_it_selects_from_not_a_name_it_mentions()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var read = new RelationName(schema, "t_read__v_aaaaaaaa");
        var named = new RelationName(schema, "t_named__v_bbbbbbbb");
        var view = new RelationName(schema, "v");
        s.Execute(D.CreateTableAs(read, "SELECT 1 AS id"));
        s.Execute(D.CreateTableAs(named, "SELECT 2 AS id"));
        s.Execute(D.CreateOrReplaceView(view, $"SELECT id, 't_named__v_bbbbbbbb' AS note FROM {D.Qualify(read)}"));
        var constant = new RelationName(schema, "v_constant");
        s.Execute(D.CreateOrReplaceView(constant, "SELECT 1 AS one"));

        var catalog = s.ReadCatalog(new[] { schema });
        var v = catalog.Find(view)!;
        Assert.True(v.Reads(read));
        Assert.False(catalog.Find(constant)!.Reads(read));
        if (v.ViewReads is not null)
        {
            // Where the engine keeps dependencies (PostgreSQL), a name in a literal is not a read.
            Assert.False(v.Reads(named));
            Assert.Equal(new[] { read }, v.ViewReads);
            Assert.Empty(catalog.Find(constant)!.ViewReads!);
        }
        // Without definitions, only existence and kind are promised.
        Assert.Equal(RelationKind.View, s.ReadCatalog(new[] { schema }, viewDefinitions: false).Find(view)!.Kind);
    }

    // ------------------------------------------------------------------ DDL

    [SkippableFact]
    public void Ctas_accepts_a_cte_with_order_by_and_a_trailing_comment()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, Nasty);
        s.Execute(D.CreateTableAs(t, """
            WITH src AS (
                SELECT 2 AS id, 'b' AS v
                UNION ALL SELECT 1, 'a'
                UNION ALL SELECT 3, 'c'
            )
            SELECT id, v FROM src
            ORDER BY id; -- the model's last line
            """));
        Assert.Equal(3L, Long(s.ExecuteScalar(D.CountRows(t))));
        Assert.Equal(3L, Long(s.ExecuteScalar(D.MaxValue(t, "id"))));
        Assert.Equal(2L, Long(s.ExecuteScalar(D.CountQuery("AUDIT", t.ToString(),
            $"WITH big AS (SELECT id FROM {D.Qualify(t)} WHERE id > {D.Parameter(1)}) SELECT id FROM big ORDER BY id",
            new object?[] { 1L }))));
    }

    [SkippableFact]
    public void Views_are_created_and_replaced_even_when_columns_change()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "t");
        var v = new RelationName(schema, "v");
        s.Execute(D.CreateTableAs(t, "SELECT 1 AS a, 2 AS b"));
        s.Execute(D.CreateOrReplaceView(v, $"SELECT a FROM {D.Qualify(t)}"));
        s.Execute(D.CreateOrReplaceView(v, $"SELECT a FROM {D.Qualify(t)} WHERE a = 1"));
        Assert.Equal(1L, Long(s.ExecuteScalar(D.CountRows(v))));

        using (var tx = s.BeginTransaction())
        {
            foreach (var st in D.ReplaceViewStatements(v, $"SELECT b AS renamed, a FROM {D.Qualify(t)}")) s.Execute(st);
            tx.Commit();
        }
        var snap = s.ReadCatalog(new[] { schema }, includeColumns: true);
        Assert.Equal(new[] { "renamed", "a" }, snap.ColumnsOf(v).Select(c => c.Name));
        Assert.Equal(2L, Long(s.Query(new SqlStatement("SELECT", v.ToString(), $"SELECT renamed FROM {D.Qualify(v)}"))[0][0]));
    }

    [SkippableFact]
    public void Drop_if_exists_is_quiet_when_absent_and_never_drops_the_other_kind()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "t");
        var v = new RelationName(schema, "v");
        s.Execute(D.DropTableIfExists(t));
        s.Execute(D.DropViewIfExists(v));
        s.Execute(D.CreateTableAs(t, "SELECT 1 AS a"));
        s.Execute(D.CreateOrReplaceView(v, $"SELECT a FROM {D.Qualify(t)}"));

        // DROP VIEW on a table (and DROP TABLE on a view) fails instead of removing the wrong object.
        Assert.Throws<SqbException>(() => s.Execute(D.DropViewIfExists(t)));
        Assert.True(s.ReadCatalog(new[] { schema }).Exists(t));

        s.Execute(D.DropViewIfExists(v));
        s.Execute(D.DropTableIfExists(t));
        Assert.Empty(s.ReadCatalog(new[] { schema }).Relations);
    }

    [SkippableFact]
    public void Rename_keeps_data_and_handles_quotes_in_both_names()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, Nasty);
        s.Execute(D.CreateTableAs(t, "SELECT 7 AS a"));
        s.Execute(D.RenameTable(t, Nasty + "_v2'\""));
        var snap = s.ReadCatalog(new[] { schema });
        Assert.False(snap.Exists(t));
        var renamed = new RelationName(schema, Nasty + "_v2'\"");
        Assert.True(snap.Exists(renamed));
        Assert.Equal(7L, Long(s.ExecuteScalar(D.MaxValue(renamed, "a"))));
    }

    [SkippableFact]
    public void Create_table_for_seed_types_then_insert_rows_of_every_type_with_nulls()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "seed " + Nasty);
        var columns = new[]
        {
            new SeedColumn("id", SeedColumnType.Integer), new SeedColumn("amount", SeedColumnType.Decimal),
            new SeedColumn("flag", SeedColumnType.Boolean), new SeedColumn("day", SeedColumnType.Date),
            new SeedColumn("at", SeedColumnType.Timestamp), new SeedColumn("note 'q'", SeedColumnType.Text),
        };
        s.Execute(D.CreateTable(t, columns));
        var ts = new DateTime(2024, 2, 29, 13, 45, 10).AddTicks(1_234_560);
        var rows = new List<object?[]>
        {
            new object?[] { 1L, 12.3456789m, true, new DateOnly(2024, 2, 29), ts, "plain" },
            new object?[] { 2L, -0.5m, false, new DateOnly(1900, 1, 1), new DateTime(1999, 12, 31, 23, 59, 59), "it's \"q\" [b] ünï 日本" },
            new object?[] { 3L, null, null, null, null, null },
            new object?[] { 4L, 0m, true, new DateOnly(9999, 12, 31), new DateTime(2000, 1, 1), "" },
            new object?[] { 9_007_199_254_740_993L, 99999999.0000000001m, false, new DateOnly(2000, 1, 1), ts, new string('x', 5000) },
        };
        // Enough rows to need several INSERT statements on every engine, with whole NULL columns in some batches.
        for (var i = 0; i < 2300; i++) rows.Add(new object?[] { 100L + i, i % 3 == 0 ? null : i / 7m, i % 2 == 0, null, null, $"r{i}" });
        s.InsertRows(t, columns.Select(c => c.Name).ToList(), rows);

        Assert.Equal(rows.Count, Long(s.ExecuteScalar(D.CountRows(t))));
        Assert.True(Log.Lines.Count(l => l == $"VERBOSE: INSERT {t}") >= 3, "expected the rows in several batched statements");
        var back = Rows(s, t, "id").ToDictionary(r => Long(r[0]));
        for (var r = 0; r < 5; r++)
        {
            var id = (long)rows[r][0]!;
            for (var c = 0; c < columns.Length; c++)
            {
                var expected = rows[r][c];
                var actual = back[id][c];
                if (expected is DateOnly d && actual is DateTime dt) actual = DateOnly.FromDateTime(dt);
                Assert.True(Equals(expected, actual), $"row {r} column {columns[c].Name}: expected {expected} ({expected?.GetType().Name}), got {actual} ({actual?.GetType().Name})");
            }
        }
        Assert.All(back.Values.Where(row => Long(row[0]) is >= 100 and < 10_000), row => Assert.Null(row[3]));
        Assert.Null(back[100][1]);
        Assert.Equal(Math.Round(1m / 7m, 10), Math.Round((decimal)back[101][1]!, 10));   // DECIMAL(38,10) or unbounded NUMERIC
        Assert.Equal(false, back[101][2]);
        Assert.Equal("r2299", back[2399][5]);
    }

    [SkippableFact]
    public void Insert_rows_refuses_ragged_rows_and_accepts_none()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "t");
        s.Execute(D.CreateTable(t, new[] { new SeedColumn("a", SeedColumnType.Integer) }));
        s.InsertRows(t, new[] { "a" }, Array.Empty<object?[]>());
        Assert.Throws<ArgumentException>(() => s.InsertRows(t, new[] { "a" }, new[] { new object?[] { 1L, 2L } }));
        Assert.Equal(0L, Long(s.ExecuteScalar(D.CountRows(t))));
    }

    [SkippableFact]
    public void Insert_rows_in_several_statements_is_all_or_nothing()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "t");
        s.Execute(D.CreateTable(t, new[] { new SeedColumn("n", SeedColumnType.Integer) }));
        var rows = Enumerable.Range(0, 2500).Select(i => new object?[] { i == 2100 ? "not a number" : (object)(long)i }).ToList();
        Assert.Throws<SqbException>(() => s.InsertRows(t, new[] { "n" }, rows));
        Assert.Equal(0L, Long(s.ExecuteScalar(D.CountRows(t))));   // the batches before the bad one are gone too

        // Inside the caller's transaction the rows join it.
        using (var tx = s.BeginTransaction())
        {
            s.InsertRows(t, new[] { "n" }, rows.Take(2000).ToList());
            tx.Rollback();
        }
        Assert.Equal(0L, Long(s.ExecuteScalar(D.CountRows(t))));
    }

    // ------------------------------------------------------------------ incremental DML

    private (RelationName Target, RelationName Source) IncrementalPair(IWarehouseSession s, string schema)
    {
        var target = new RelationName(schema, "target");
        var source = new RelationName(schema, "source");
        var cols = new[] { new SeedColumn("id", SeedColumnType.Integer), new SeedColumn("v", SeedColumnType.Text) };
        s.Execute(D.CreateTable(target, cols));
        s.Execute(D.CreateTable(source, cols));
        s.InsertRows(target, new[] { "id", "v" }, new[] { new object?[] { 1L, "a" }, new object?[] { 2L, "b" } });
        s.InsertRows(source, new[] { "id", "v" }, new[] { new object?[] { 2L, "B" }, new object?[] { 3L, "C" } });
        return (target, source);
    }

    private List<(long, string?)> Content(IWarehouseSession s, RelationName t) =>
        Rows(s, t, "id").Select(r => (Long(r[0]), (string?)r[1])).ToList();

    [SkippableFact]
    public void Insert_from_appends_all_rows()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var (target, source) = IncrementalPair(s, schema);
        Assert.Equal(2, s.Execute(D.InsertFrom(target, source, new[] { "id", "v" })));
        Assert.Equal(new[] { (1L, (string?)"a"), (2L, "B"), (2L, "b"), (3L, "C") }, Content(s, target).OrderBy(x => x.Item1).ThenBy(x => x.Item2, StringComparer.Ordinal));
    }

    [SkippableFact]
    public void Delete_matching_then_insert_replaces_rows_by_key()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var (target, source) = IncrementalPair(s, schema);
        Assert.Equal(1, s.Execute(D.DeleteMatching(target, source, new[] { "id" })));
        s.Execute(D.InsertFrom(target, source, new[] { "id", "v" }));
        Assert.Equal(new[] { (1L, (string?)"a"), (2L, "B"), (3L, "C") }, Content(s, target));
    }

    [SkippableFact]
    public void Merge_updates_matches_and_inserts_new_keys()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var (target, source) = IncrementalPair(s, schema);
        s.Execute(D.Merge(target, source, new[] { "id" }, new[] { "id", "v" }));
        Assert.Equal(new[] { (1L, (string?)"a"), (2L, "B"), (3L, "C") }, Content(s, target));
        // Keys only: nothing to update, new keys inserted, existing untouched.
        s.Execute(D.Merge(target, source, new[] { "id", "v" }, new[] { "id", "v" }));
        Assert.Equal(3, Content(s, target).Count);
    }

    // ------------------------------------------------------------------ transactions

    [SkippableFact]
    public void Rollback_undoes_ddl_and_dml_commit_keeps_them()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var kept = new RelationName(schema, "kept");
        var undone = new RelationName(schema, "undone");
        s.Execute(D.CreateTableAs(kept, "SELECT 1 AS a"));

        using (var tx = s.BeginTransaction())
        {
            s.Execute(D.CreateTableAs(undone, "SELECT 1 AS a"));
            s.InsertRows(kept, new[] { "a" }, new[] { new object?[] { 2L } });
            s.Execute(D.RenameTable(kept, "kept_renamed"));
            Assert.True(s.ReadCatalog(new[] { schema }).Exists(undone));   // the session sees its own transaction
            tx.Rollback();
        }
        var snap = s.ReadCatalog(new[] { schema });
        Assert.False(snap.Exists(undone));
        Assert.True(snap.Exists(kept));
        Assert.Equal(1L, Long(s.ExecuteScalar(D.CountRows(kept))));

        using (var tx = s.BeginTransaction())
        {
            s.Execute(D.CreateTableAs(undone, "SELECT 1 AS a"));
            tx.Commit();
        }
        Assert.True(s.ReadCatalog(new[] { schema }).Exists(undone));

        using (s.BeginTransaction())
            s.Execute(D.DropTableIfExists(undone));            // disposed without commit: rolled back
        Assert.True(s.ReadCatalog(new[] { schema }).Exists(undone));
    }

    [SkippableFact]
    public void A_failed_statement_in_a_transaction_rolls_back_cleanly_and_the_session_goes_on()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "t");
        using (var tx = s.BeginTransaction())
        {
            s.Execute(D.CreateTableAs(t, "SELECT 1 AS a"));
            Assert.Throws<SqbException>(() => s.Execute(D.CountRows(new RelationName(schema, "missing"))));
            tx.Rollback();
            tx.Rollback();   // idempotent
        }
        Assert.False(s.ReadCatalog(new[] { schema }).Exists(t));
        Assert.Equal(1L, Long(s.ExecuteScalar(new SqlStatement("SELECT", "one", "SELECT 1"))));
    }

    [SkippableFact]
    public void Only_one_transaction_at_a_time_and_other_sessions_do_not_see_uncommitted_ddl()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        using var other = Warehouse.OpenSession();
        var t = new RelationName(schema, "pending");
        using var tx = s.BeginTransaction();
        Assert.Throws<InvalidOperationException>(() => s.BeginTransaction());
        s.Execute(D.CreateTableAs(t, "SELECT 1 AS a"));
        // On SQL Server a catalog read waits for the other session's uncommitted DDL instead of skipping it.
        if (D.Kind != AdapterKind.SqlServer) Assert.False(other.ReadCatalog(new[] { schema }).Exists(t));
        tx.Commit();
        Assert.True(other.ReadCatalog(new[] { schema }).Exists(t));
        Assert.Throws<InvalidOperationException>(() => tx.Commit());
    }

    // ------------------------------------------------------------------ parameters, errors, logging

    [SkippableFact]
    public void Parameters_bind_positionally_with_every_value_type()
    {
        using var s = Warehouse.OpenSession();
        var p = Enumerable.Range(1, 6).Select(D.Parameter).ToArray();
        var row = Assert.Single(s.Query(new SqlStatement("SELECT", "parameters",
            $"SELECT {p[0]} AS a, {p[1]} AS b, {p[2]} AS c, {p[3]} AS d, {p[4]} AS e, {p[5]} AS f",
            new object?[] { 42L, 1.25m, true, new DateOnly(2020, 5, 6), new DateTime(2020, 5, 6, 7, 8, 9), "it's $1 @p1 ?" })));
        Assert.Equal(42L, Long(row[0]));
        Assert.Equal(1.25m, Convert.ToDecimal(row[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(true, row[2]);
        Assert.Equal(new DateOnly(2020, 5, 6), row[3] is DateTime dt ? DateOnly.FromDateTime(dt) : row[3]);
        Assert.Equal(new DateTime(2020, 5, 6, 7, 8, 9), row[4]);
        Assert.Equal("it's $1 @p1 ?", row[5]);
        Assert.Null(s.ExecuteScalar(new SqlStatement("SELECT", "null", $"SELECT CAST({p[0]} AS {D.TypeName(SeedColumnType.Text)})", new object?[] { null })));
    }

    [SkippableFact]
    public void A_failing_statement_is_W010_naming_kind_and_target_with_the_driver_error_inside()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var missing = new RelationName(schema, "no_such_table");
        var ex = Assert.Throws<SqbException>(() => s.Execute(D.CountRows(missing)));
        Assert.Equal(ErrorCodes.SqlFailed, ex.Code);
        Assert.Equal("W010.SqlFailed", ex.ErrorId);
        Assert.StartsWith($"COUNT {missing} failed: ", ex.Message);
        Assert.Contains("no_such_table", ex.Message);
        Assert.NotNull(ex.InnerException);
        Assert.Equal(WarehouseErrorClass.ObjectNotFound, WarehouseErrors.Classify(ex));
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal(missing.ToString(), ex.Target);
    }

    [SkippableFact]
    public void A_duplicate_key_is_classified_as_unique_violation()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "locks");
        s.Execute(new SqlStatement("CREATE TABLE", t.ToString(),
            $"CREATE TABLE {D.Qualify(t)} (lock_key {D.TypeName(SeedColumnType.Text).Replace("(MAX)", "(200)")} NOT NULL PRIMARY KEY)"));
        var insert = new SqlStatement("INSERT", t.ToString(), $"INSERT INTO {D.Qualify(t)} (lock_key) VALUES ({D.Parameter(1)})", new object?[] { "virtual_env:dev" });
        Assert.Equal(1, s.Execute(insert));
        var ex = Assert.Throws<SqbException>(() => s.Execute(insert));
        Assert.True(WarehouseErrors.IsUniqueViolation(ex), ex.Message);
        Assert.Equal(WarehouseErrorClass.Other, WarehouseErrors.Classify(new InvalidOperationException()));
    }

    [SkippableFact]
    public void Verbose_log_shows_kind_and_target_only_never_sql_or_values()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        var t = new RelationName(schema, "t");
        s.Execute(D.CreateTable(t, new[] { new SeedColumn("a", SeedColumnType.Text) }));
        s.InsertRows(t, new[] { "a" }, new[] { new object?[] { "s3cr3t-value" } });
        s.Query(new SqlStatement("PROBE", t.ToString(), $"SELECT a FROM {D.Qualify(t)} WHERE a = {D.Parameter(1)}", new object?[] { "s3cr3t-value" }));

        var lines = Log.Lines;
        Assert.Contains($"VERBOSE: CREATE SCHEMA {schema}", lines);
        Assert.Contains($"VERBOSE: CREATE TABLE {t}", lines);
        Assert.Contains($"VERBOSE: INSERT {t}", lines);
        Assert.Contains($"VERBOSE: PROBE {t}", lines);
        Assert.DoesNotContain(lines, l => l.Contains("s3cr3t", StringComparison.Ordinal) || l.Contains("SELECT", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Parallel_sessions_work_concurrently_and_see_each_others_committed_work()
    {
        var (s, schema) = OpenWithSchema();
        using var _ = s;
        const int workers = 6;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
        {
            using var w = Warehouse.OpenSession();
            var t = new RelationName(schema, $"part_{i}");
            w.Execute(w.Dialect.CreateTable(t, new[] { new SeedColumn("n", SeedColumnType.Integer) }));
            w.InsertRows(t, new[] { "n" }, Enumerable.Range(0, 50).Select(n => new object?[] { (long)n }).ToList());
        });
        var snap = s.ReadCatalog(new[] { schema });
        Assert.Equal(workers, snap.Relations.Count);
        for (var i = 0; i < workers; i++) Assert.Equal(50L, Long(s.ExecuteScalar(D.CountRows(new RelationName(schema, $"part_{i}")))));
    }

    [SkippableFact]
    public void A_disposed_session_refuses_work()
    {
        var s = Warehouse.OpenSession();
        s.Dispose();
        s.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s.Execute(new SqlStatement("SELECT", "one", "SELECT 1")));
    }
}

public sealed class DuckDbFileBehaviourTests : WarehouseBehaviourTests
{
    private readonly TempDuckDb _db = TestDatabases.NewDuckDbFile("nested/folder/warehouse.duckdb");
    protected override bool Available => true;
    protected override string SkipReason => "";
    protected override IWarehouse CreateWarehouse() => _db.CreateWarehouse(Log);

    public override void Dispose()
    {
        base.Dispose();
        _db.Dispose();
    }
}

public sealed class DuckDbMemoryBehaviourTests : WarehouseBehaviourTests
{
    protected override bool Available => true;
    protected override string SkipReason => "";
    protected override IWarehouse CreateWarehouse() => WarehouseFactory.Create(TestDatabases.DuckDbMemory(), Log);
}

public sealed class PostgresBehaviourTests : WarehouseBehaviourTests
{
    protected override bool Available => TestDatabases.HasPostgres;
    protected override string SkipReason => TestDatabases.NoPostgres;
    protected override IWarehouse CreateWarehouse() => WarehouseFactory.Create(TestDatabases.Postgres(), Log);
}

public sealed class SqlServerBehaviourTests : WarehouseBehaviourTests
{
    protected override bool Available => TestDatabases.HasSqlServer;
    protected override string SkipReason => TestDatabases.NoSqlServer;
    protected override IWarehouse CreateWarehouse() => WarehouseFactory.Create(TestDatabases.SqlServer(), Log);
}

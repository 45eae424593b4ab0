using Microsoft.SqlServer.TransactSql.ScriptDom;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>Every T-SQL statement the dialect generates must parse with SQL Server 2022's own parser.</summary>
public class SqlServerDialectTests
{
    private static readonly SqlServerDialect D = SqlServerDialect.Instance;

    private static TSqlFragment Parse(string sql)
    {
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(sql);
        var fragment = parser.Parse(reader, out var errors);
        Assert.True(errors.Count == 0,
            $"T-SQL parse errors:\n{string.Join("\n", errors.Select(e => $"line {e.Line} col {e.Column}: {e.Message}"))}\n--- SQL ---\n{sql}");
        return fragment;
    }

    public static TheoryData<int> NameSets()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < DialectTests.NastyNames.Length; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(NameSets))]
    public void Every_generated_statement_parses(int nameSet)
    {
        var n = DialectTests.NastyNames[nameSet];
        var statements = DialectTests.AllStatements(D, n[0], n[1], n[2]).ToList();
        Assert.True(statements.Count > 20);
        foreach (var s in statements) Parse(s.Sql);
    }

    [Fact]
    public void The_parser_catches_what_the_query_shaping_avoids()
    {
        // The naive CTAS: a CTE inside a derived table is a syntax error in T-SQL.
        var parser = new TSql160Parser(true);
        parser.Parse(new StringReader("SELECT * INTO [s].[t] FROM (WITH x AS (SELECT 1 AS a) SELECT a FROM x) AS q;"), out var errors);
        Assert.NotEmpty(errors);
        parser.Parse(new StringReader("EXEC sp_rename N'[s].[t]', N'it's', N'OBJECT';"), out var quoteErrors);
        Assert.NotEmpty(quoteErrors);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(CursorGrain.Day)]
    [InlineData(CursorGrain.Hour)]
    public void An_incremental_delta_parses_with_and_without_a_cursor_grain(CursorGrain? grain)
    {
        var target = new RelationName("s", "daily");
        var delta = D.IncrementalDelta("SELECT order_day, n FROM [s].[src]", "order_day", target, grain);
        Parse(delta);
        if (grain is { } g) Assert.Contains($">= (SELECT DATETRUNC({EnumNames.Snake(g)}, MAX([order_day])) FROM [s].[daily])", delta);
    }

    [Fact]
    public void A_lock_timeout_outlives_its_transaction_on_SQL_Server_so_it_is_put_back_to_wait_without_end()
    {
        // SET LOCK_TIMEOUT is session-scoped: a table swap that bounds its lock wait must put it back, or the node's
        // session would fail its next model's long statement after two seconds of waiting.
        Assert.Equal("SET LOCK_TIMEOUT 2000", D.SetLockTimeout(2000)!.Sql);
        Assert.Equal("SET LOCK_TIMEOUT -1", D.ResetLockTimeout()!.Sql);
        Parse(D.SetLockTimeout(2000)!.Sql);
        Parse(D.ResetLockTimeout()!.Sql);
        // PostgreSQL's SET LOCAL ends with the transaction: nothing to put back.
        Assert.Null(PostgresDialect.Instance.ResetLockTimeout());
    }

    [Fact]
    public void Batched_seed_inserts_parse()
    {
        // The shape DbWarehouseSession.InsertRows builds: one placeholder per value, rows in a VALUES list.
        var cols = new[] { "id", "it's", "a]b" };
        var sql = $"INSERT INTO {D.Qualify(new RelationName("s", "seed"))} ({string.Join(", ", cols.Select(D.QuoteIdentifier))}) VALUES " +
                  string.Join(", ", Enumerable.Range(0, 3).Select(r => "(" + string.Join(", ", cols.Select((_, c) => D.Parameter(r * 3 + c + 1))) + ")"));
        Parse(sql);
    }

    [Fact]
    public void Max_length_names_parse()
    {
        string N(char c) => new(c, 128);
        var t = new RelationName(N('s'), N('t'));
        var u = new RelationName(N('s'), N('u'));
        var cols = new[] { N('c'), N('d') };
        var statements = new[]
        {
            D.CreateSchemaIfNotExists(N('\'')), D.CreateTableAs(t, "SELECT 1 AS a"), D.RenameTable(t, N(']')),
            D.Merge(t, u, new[] { N('c') }, cols), D.DeleteMatching(t, u, cols), D.InsertFrom(t, u, cols),
            D.CreateTable(t, new[] { new SeedColumn(N('c'), SeedColumnType.Text) }), D.MaxValue(t, N('c')),
        };
        foreach (var s in statements) Parse(s.Sql);
    }

    [Theory]
    [InlineData("SELECT a FROM t")]
    [InlineData("SELECT a FROM t ORDER BY a")]
    [InlineData("SELECT TOP 10 a FROM t ORDER BY a")]
    [InlineData("SELECT a FROM t ORDER BY a OFFSET 5 ROWS FETCH NEXT 10 ROWS ONLY")]
    [InlineData("WITH x AS (SELECT 1 AS a) SELECT a FROM x")]
    [InlineData("WITH x (a) AS (SELECT 1), [y z] AS (SELECT a FROM x) SELECT a FROM [y z] ORDER BY a;")]
    [InlineData("-- header\nWITH x AS (SELECT 'it''s (' AS a /* ) nested /* c */ */) SELECT a FROM x -- tail")]
    [InlineData("SELECT a, ROW_NUMBER() OVER (ORDER BY a) AS rn FROM t")]
    [InlineData("SELECT a FROM t OPTION (MAXDOP 1)")]
    [InlineData("WITH x AS (SELECT 1 AS a) SELECT a FROM x ORDER BY a OPTION (RECOMPILE);")]
    [InlineData("SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1")]
    [InlineData("SELECT N'WITH x AS (' AS a, [ORDER BY] FROM t")]
    public void Ctas_count_and_view_parse_for_ctes_order_by_and_hints(string query)
    {
        var t = new RelationName("dev", "t");
        var ctas = D.CreateTableAs(t, query).Sql;
        var count = D.CountQuery("AUDIT", "dev.t", query).Sql;
        Parse(ctas);
        Parse(count);
        var view = D.CreateOrReplaceView(t, query).Sql;
        if (!query.Contains("OPTION")) Parse(view);   // a view cannot carry a query hint
        // CTAS is a SELECT .. INTO, never a CTE inside a derived table.
        var script = (TSqlScript)Parse(ctas);
        var select = Assert.IsType<SelectStatement>(Assert.Single(Assert.Single(script.Batches).Statements));
        Assert.NotNull(select.Into);
        Assert.Equal(query.TrimStart().StartsWith("WITH", StringComparison.OrdinalIgnoreCase)
                     || query.Contains("\nWITH", StringComparison.Ordinal), select.WithCtesAndXmlNamespaces is not null);
    }

    [Fact]
    public void Order_by_gets_offset_zero_only_when_needed()
    {
        Assert.Contains("OFFSET 0 ROWS", D.CountQuery("A", "t", "SELECT a FROM t ORDER BY a").Sql);
        Assert.DoesNotContain("OFFSET 0 ROWS", D.CountQuery("A", "t", "SELECT TOP 3 a FROM t ORDER BY a").Sql);
        Assert.DoesNotContain("OFFSET 0 ROWS", D.CountQuery("A", "t", "SELECT a FROM t ORDER BY a OFFSET 2 ROWS").Sql);
        Assert.DoesNotContain("OFFSET 0 ROWS", D.CountQuery("A", "t", "SELECT a, ROW_NUMBER() OVER (ORDER BY a) AS r FROM t").Sql);
        Assert.DoesNotContain("OFFSET 0 ROWS", D.CountQuery("A", "t", "SELECT '' AS x FROM t -- ORDER BY x").Sql);
    }

    [Fact]
    public void Cte_list_is_lifted_in_front_of_the_outer_statement()
    {
        var sql = D.CreateTableAs(new RelationName("s", "t"), "WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT x FROM b;").Sql;
        Assert.Equal("WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * INTO [s].[t] FROM (\nSELECT x FROM b\n) AS sqb_q;", sql);
        var hint = D.CountQuery("A", "t", "SELECT a FROM t OPTION (MAXDOP 1)").Sql;
        Assert.Equal("SELECT COUNT_BIG(*) FROM (\nSELECT a FROM t\n) AS sqb_q\nOPTION (MAXDOP 1);", hint);
    }

    [Fact]
    public void Unrecognised_shapes_are_left_as_written()
    {
        // Unterminated literal: not ours to fix, SQL Server reports it.
        Assert.Contains("SELECT 'oops FROM t", D.CountQuery("A", "t", "SELECT 'oops FROM t").Sql);
        // WITH that is not a CTE list.
        Assert.Contains("WITH XMLNAMESPACES", D.CountQuery("A", "t", "WITH XMLNAMESPACES ('uri' AS ns) SELECT 1 AS a").Sql);
    }

    [Fact]
    public void The_clock_expressions_parse()
    {
        Parse($"SELECT {D.UtcNow}, {D.UtcNowPlus(600)}, {D.UtcNowPlus(-86400)};");
        Parse($"UPDATE [st].[locks] SET [expires_at] = {D.UtcNowPlus(600)} WHERE [expires_at] <= {D.UtcNow};");
    }

    [Fact]
    public void Bookkeeping_ddl_parses_with_max_length_names()
    {
        string N(char c) => new(c, 128);
        var t = new RelationName(N('\''), N(']'));
        var statements = new[]
        {
            D.CreateTableIfNotExists(t, new[] { new FamilyColumn(N('c'), ColumnFamily.Text, true), new FamilyColumn(N('d'), ColumnFamily.Timestamp, false) }),
            D.AddColumnIfNotExists(t, new FamilyColumn(N('\''), ColumnFamily.Integer, false)),
            D.CreateUniqueIndexIfNotExists(t, N('i'), new[] { N('c') }),
            D.CountRowsOfEach(new[] { t, t }),
        };
        foreach (var s in statements) Parse(s.Sql);
    }

    [Fact]
    public void Parameters_in_an_audit_query_survive()
    {
        var s = D.CountQuery("AUDIT", "dev.t", "SELECT * FROM dev.t WHERE status NOT IN (@p1, @p2)", new object?[] { "new", "paid" });
        Parse(s.Sql);
        Assert.Contains("@p1, @p2", s.Sql);
        Assert.Equal(new object?[] { "new", "paid" }, s.Parameters);
    }
}

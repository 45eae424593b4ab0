using System.Text;
using System.Text.RegularExpressions;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

public class DialectTests
{
    public static TheoryData<AdapterKind> Kinds => new() { AdapterKind.DuckDb, AdapterKind.Postgres, AdapterKind.SqlServer };

    private static SqlDialect D(AdapterKind k) => WarehouseFactory.Dialect(k);

    [Fact]
    public void Factory_returns_the_dialect_of_each_kind()
    {
        Assert.IsType<DuckDbDialect>(D(AdapterKind.DuckDb));
        Assert.IsType<PostgresDialect>(D(AdapterKind.Postgres));
        Assert.IsType<SqlServerDialect>(D(AdapterKind.SqlServer));
        foreach (var k in Enum.GetValues<AdapterKind>()) Assert.Equal(k, D(k).Kind);
    }

    [Theory]
    [InlineData("orders", "\"orders\"")]
    [InlineData("Mixed Case", "\"Mixed Case\"")]
    [InlineData("we\"ird", "\"we\"\"ird\"")]
    [InlineData("\"", "\"\"\"\"")]
    [InlineData("a'b", "\"a'b\"")]
    [InlineData("[x]", "\"[x]\"")]
    [InlineData("zürich_ß_日本", "\"zürich_ß_日本\"")]
    [InlineData("drop table x; --", "\"drop table x; --\"")]
    public void Ansi_dialects_double_the_double_quote(string name, string expected)
    {
        Assert.Equal(expected, D(AdapterKind.DuckDb).QuoteIdentifier(name));
        Assert.Equal(expected, D(AdapterKind.Postgres).QuoteIdentifier(name));
    }

    [Theory]
    [InlineData("orders", "[orders]")]
    [InlineData("a]b", "[a]]b]")]
    [InlineData("]]", "[]]]]]")]
    [InlineData("[x", "[[x]")]
    [InlineData("we\"ird", "[we\"ird]")]
    [InlineData("a'b", "[a'b]")]
    [InlineData("zürich_日本", "[zürich_日本]")]
    public void SqlServer_doubles_the_closing_bracket(string name, string expected) =>
        Assert.Equal(expected, D(AdapterKind.SqlServer).QuoteIdentifier(name));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Qualify_quotes_both_parts(AdapterKind kind)
    {
        var d = D(kind);
        var q = d.Qualify(new RelationName("s.x", "t\"]"));
        Assert.Equal(d.QuoteIdentifier("s.x") + "." + d.QuoteIdentifier("t\"]"), q);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Invalid_identifiers_are_W003(AdapterKind kind)
    {
        var d = D(kind);
        foreach (var bad in new[] { "", "   ", "a\0b", "tab\there", "line\nbreak", "bell\u0007", "\ud800lone" })
        {
            var ex = Assert.Throws<SqbException>(() => d.QuoteIdentifier(bad));
            Assert.Equal(ErrorCodes.IdentifierInvalid, ex.Code);
            Assert.Equal(SqbErrorKind.InvalidArgument, ex.Kind);
            Assert.DoesNotContain('\0', ex.Message);
        }
        var named = Assert.Throws<SqbException>(() => d.ValidateIdentifier("a\u0001", "schema"));
        Assert.StartsWith("schema 'a\\u0001' is not a valid identifier", named.Message);
    }

    [Fact]
    public void Postgres_limit_is_63_bytes_of_utf8_not_characters()
    {
        var d = D(AdapterKind.Postgres);
        Assert.Equal(63, d.MaxIdentifierLength);
        d.ValidateIdentifier(new string('a', 63), "name");                 // 63 bytes: fine
        d.ValidateIdentifier(new string('é', 31) + "a", "name");          // 31*2 + 1 = 63 bytes: fine

        var multibyte = new string('é', 32);                              // 32 characters, 64 bytes
        Assert.Equal(64, Encoding.UTF8.GetByteCount(multibyte));
        var ex = Assert.Throws<SqbException>(() => d.ValidateIdentifier(multibyte, "physical relation name"));
        Assert.Equal(ErrorCodes.IdentifierTooLong, ex.Code);
        Assert.Equal("IdentifierTooLong", ex.ErrorName);
        Assert.Equal($"physical relation name '{multibyte}' is 64 bytes; postgres allows at most 63", ex.Message);
        Assert.NotNull(ex.RecommendedAction);

        var cjk = new string('日', 22);                                    // 22 characters, 66 bytes
        var ex2 = Assert.Throws<SqbException>(() => d.QuoteIdentifier(cjk));
        Assert.Contains("is 66 bytes; postgres allows at most 63", ex2.Message);
        Assert.Throws<SqbException>(() => d.Qualify(new RelationName("s", new string('x', 64))));
    }

    [Fact]
    public void SqlServer_limit_is_128_characters()
    {
        var d = D(AdapterKind.SqlServer);
        Assert.Equal(128, d.MaxIdentifierLength);
        d.ValidateIdentifier(new string('日', 128), "name");               // characters, not bytes
        var ex = Assert.Throws<SqbException>(() => d.ValidateIdentifier(new string('x', 129), "schema"));
        Assert.Equal(ErrorCodes.IdentifierTooLong, ex.Code);
        Assert.Equal($"schema '{new string('x', 129)}' is 129 characters; sqlserver allows at most 128", ex.Message);
    }

    [Fact]
    public void SqlServer_refuses_a_trailing_blank_it_would_silently_drop()
    {
        var ex = Assert.Throws<SqbException>(() => D(AdapterKind.SqlServer).QuoteIdentifier("name "));
        Assert.Equal(ErrorCodes.IdentifierInvalid, ex.Code);
        Assert.Equal("[ lead]", D(AdapterKind.SqlServer).QuoteIdentifier(" lead"));
    }

    [Fact]
    public void DuckDb_has_no_practical_limit_and_never_truncates()
    {
        var d = D(AdapterKind.DuckDb);
        var name = new string('x', 5000);
        Assert.Equal("\"" + name + "\"", d.QuoteIdentifier(name));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_statement_validates_every_identifier(AdapterKind kind)
    {
        var d = D(kind);
        var bad = "x\0y";
        var ok = new RelationName("s", "t");
        var badRel = new RelationName("s", bad);
        var calls = new Action[]
        {
            () => d.CreateSchemaIfNotExists(bad),
            () => d.CreateOrReplaceView(badRel, "SELECT 1 AS a"),
            () => d.CreateTableAs(badRel, "SELECT 1 AS a"),
            () => d.CreateTable(ok, new[] { new SeedColumn(bad, SeedColumnType.Text) }),
            () => d.DropTableIfExists(badRel),
            () => d.DropViewIfExists(badRel),
            () => d.RenameTable(ok, bad),
            () => d.RenameTable(badRel, "n"),
            () => d.InsertFrom(ok, ok, new[] { bad }),
            () => d.DeleteMatching(ok, badRel, new[] { "k" }),
            () => d.DeleteMatching(ok, ok, new[] { bad }),
            () => d.Merge(ok, ok, new[] { "k" }, new[] { "k", bad }),
            () => d.CountRows(badRel),
            () => d.MaxValue(ok, bad),
            () => d.DropSchemaIfExists(bad),
            () => d.CreateTableIfNotExists(badRel, new[] { new FamilyColumn("c", ColumnFamily.Text, false) }),
            () => d.CreateTableIfNotExists(ok, new[] { new FamilyColumn(bad, ColumnFamily.Text, false) }),
            () => d.AddColumnIfNotExists(ok, new FamilyColumn(bad, ColumnFamily.Integer, false)),
            () => d.CreateUniqueIndexIfNotExists(ok, bad, new[] { "k" }),
            () => d.CreateUniqueIndexIfNotExists(ok, "i", new[] { bad }),
            () => d.CountRowsOfEach(new[] { ok, badRel }),
        };
        foreach (var call in calls)
            Assert.Equal(ErrorCodes.IdentifierInvalid, Assert.Throws<SqbException>(call).Code);
    }

    [Fact]
    public void Parameters_are_positional_in_each_engine_style()
    {
        Assert.Equal("$1", D(AdapterKind.DuckDb).Parameter(1));
        Assert.Equal("$12", D(AdapterKind.Postgres).Parameter(12));
        Assert.Equal("@p3", D(AdapterKind.SqlServer).Parameter(3));
        foreach (var k in Enum.GetValues<AdapterKind>())
            Assert.Throws<ArgumentOutOfRangeException>(() => D(k).Parameter(0));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_seed_type_has_a_type_name(AdapterKind kind)
    {
        var names = Enum.GetValues<SeedColumnType>().Select(t => D(kind).TypeName(t)).ToList();
        Assert.All(names, n => Assert.False(string.IsNullOrWhiteSpace(n)));
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal("BIGINT", D(kind).TypeName(SeedColumnType.Integer));
    }

    /// <summary>Every statement every dialect can generate, for a range of names.</summary>
    public static IEnumerable<SqlStatement> AllStatements(SqlDialect d, string schema, string name, string column)
    {
        var rel = new RelationName(schema, name);
        var src = new RelationName(schema, name + "_src");
        var cols = new[] { column, "v" };
        var queries = new[]
        {
            "SELECT 1 AS a",
            "SELECT a, b FROM s.t ORDER BY a;",
            "WITH x AS (SELECT 1 AS a), y AS (SELECT a FROM x) SELECT a FROM y -- trailing comment",
        };
        yield return d.CreateSchemaIfNotExists(schema);
        yield return d.DropSchemaIfExists(schema);
        foreach (var q in queries)
        {
            yield return d.CreateOrReplaceView(rel, q);
            foreach (var s in d.ReplaceViewStatements(rel, q)) yield return s;
            yield return d.CreateTableAs(rel, q);
            yield return d.CountQuery("AUDIT", rel.ToString(), q);
        }
        yield return d.CreateTable(rel, Enum.GetValues<SeedColumnType>().Select((t, i) => new SeedColumn(column + i, t)).ToList());
        yield return d.DropTableIfExists(rel);
        yield return d.DropViewIfExists(rel);
        yield return d.RenameTable(rel, name + "_new'\"]");
        yield return d.InsertFrom(rel, src, cols);
        yield return d.DeleteMatching(rel, src, new[] { column });
        yield return d.DeleteMatching(rel, src, cols);
        yield return d.Merge(rel, src, new[] { column }, cols);
        yield return d.Merge(rel, src, cols, cols);
        yield return d.CountRows(rel);
        yield return d.MaxValue(rel, column);
        yield return d.CatalogRelations(new[] { schema, "other" });
        yield return d.CatalogSchemas(new[] { schema });
        yield return d.CatalogColumns(new[] { schema, "a", "b" });
        yield return d.RelationColumns(rel);
        yield return d.DeleteAll(rel);
        if (d.SupportsMoveTable) yield return d.MoveTable(rel, schema + "_moved");
        var family = Enum.GetValues<ColumnFamily>().Select((f, i) => new FamilyColumn(column + i, f, i == 1)).ToList();
        yield return d.CreateTableIfNotExists(rel, family);
        foreach (var c in family) yield return d.AddColumnIfNotExists(rel, c);
        yield return d.CreateUniqueIndexIfNotExists(rel, "idx_" + name, cols);
        yield return d.UniqueIndexes(schema);
        yield return d.SchemasWithPrefix(schema + "__backup_");
        yield return d.CountRowsOfEach(new[] { rel, src });
        if (d.SupportsAdvisoryLocks)
        {
            yield return d.TryAdvisoryLock($"sqlbuild:{schema}:{name}");
            yield return d.ReleaseAdvisoryLock($"sqlbuild:{schema}:{name}");
            yield return d.ProbeAdvisoryLock($"sqlbuild:{schema}:{name}");
        }
        if (d.SessionsOfApplication($"sqlbuild/build:{name}") is { } sessions) yield return sessions;
        if (d.EndSessionsOfApplication($"sqlbuild/build:{name}") is { } end) yield return end;

        if (d.HasPrivileges)
        {
            yield return d.RelationPrivileges(new[] { rel, src }, new long[] { 42, 7 }, allColumns: true);
            yield return d.RelationPrivileges(new[] { rel }, Array.Empty<long>(), allColumns: false);
            foreach (var s in d.Grant(rel, SamplePrivileges(d, name, column))) yield return s;
        }
    }

    /// <summary>Privileges of every shape the engine has, the grantees and columns named <paramref name="grantee"/> and
    /// <paramref name="column"/>: whole relation and columns, PUBLIC, with grant option, SQL Server DENY.</summary>
    public static IReadOnlyList<RelationPrivilege> SamplePrivileges(SqlDialect d, string grantee, string column)
    {
        var list = new List<RelationPrivilege>
        {
            new(null, grantee, "SELECT", true), new(null, grantee, "UPDATE", true), new(null, column, "INSERT", false),
            new(column, column, "SELECT", false), new(column + "2", column, "SELECT", false), new(column, column, "UPDATE", false),
            new(null, null, "SELECT", false), new(column, null, "REFERENCES", false),
        };
        if (d.Kind == AdapterKind.SqlServer)
            list.AddRange(new RelationPrivilege[]
            {
                new(null, grantee, "VIEW DEFINITION", false), new(null, grantee, "TAKE OWNERSHIP", false), new(null, column, "DELETE", false, Denied: true),
                new(column, grantee + "2", "SELECT", false, Denied: true), new(null, null, "VIEW CHANGE TRACKING", false, Denied: true),
            });
        else list.AddRange(new RelationPrivilege[] { new(null, grantee, "TRUNCATE", false), new(null, column, "TRIGGER", false) });
        return list;
    }

    public static readonly string[][] NastyNames =
    {
        new[] { "dev", "orders", "id" },
        new[] { "dev__sqb_physical", "stg_orders__v_0123abcd", "order_id" },
        new[] { "My Schema", "Order Details", "Unit Price" },
        new[] { "we\"ird", "it's", "col]umn" },
        new[] { "[brackets]", "]]", "\"\"" },
        new[] { "zürich", "日本語", "ß" },
        new[] { "select", "table", "from" },
        new[] { "x'; DROP TABLE t; --", "a/*b*/c", "--" },
    };

    public static TheoryData<AdapterKind, int> KindsAndNames()
    {
        var data = new TheoryData<AdapterKind, int>();
        foreach (var k in Enum.GetValues<AdapterKind>())
            for (var i = 0; i < NastyNames.Length; i++) data.Add(k, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndNames))]
    public void No_statement_uses_cascade_and_values_never_inline(AdapterKind kind, int nameSet)
    {
        var n = NastyNames[nameSet];
        foreach (var s in AllStatements(D(kind), n[0], n[1], n[2]))
        {
            Assert.DoesNotMatch(new Regex(@"\bCASCADE\b", RegexOptions.IgnoreCase), s.Sql);
            Assert.False(string.IsNullOrWhiteSpace(s.Kind));
            Assert.False(string.IsNullOrWhiteSpace(s.Target));
        }
        // Catalog schema names travel as parameters, never in the text.
        var cat = D(kind).CatalogRelations(new[] { "sch_secret_value" });
        Assert.DoesNotContain("sch_secret_value", cat.Sql);
        Assert.NotNull(cat.Parameters);
    }

    [Fact]
    public void Postgres_catalog_takes_the_schema_list_as_one_array_parameter()
    {
        var s = D(AdapterKind.Postgres).CatalogRelations(new[] { "a", "b" });
        Assert.Contains("= ANY($1::text[])", s.Sql);
        var p = Assert.Single(s.Parameters!);
        Assert.Equal(new[] { "a", "b" }, Assert.IsType<string[]>(p));
        // What a view reads comes from its rule's dependencies, never from deparsing it (slow and not MVCC-safe).
        Assert.Contains("pg_catalog.pg_depend", s.Sql);
        Assert.DoesNotContain("pg_get_viewdef", s.Sql);
        Assert.Contains("'r', 'p', 'v', 'm'", s.Sql);
    }

    [Fact]
    public void SqlServer_catalog_takes_one_parameter_per_schema()
    {
        var s = D(AdapterKind.SqlServer).CatalogRelations(new[] { "a", "b", "c" });
        Assert.Contains("IN (@p1, @p2, @p3)", s.Sql);
        Assert.Equal(new object?[] { "a", "b", "c" }, s.Parameters);
        var none = D(AdapterKind.SqlServer).CatalogSchemas(Array.Empty<string>());
        Assert.Contains("1 = 0", none.Sql);
    }

    [Fact]
    public void Privileges_are_read_in_one_query_with_the_relations_as_parameters()
    {
        var relations = new[] { new RelationName("sch_secret", "rel_secret"), new RelationName("s2", "r2") };
        var pg = D(AdapterKind.Postgres).RelationPrivileges(relations, new long[] { 5 }, allColumns: false);
        Assert.DoesNotContain("secret", pg.Sql);
        Assert.Equal(3, pg.Parameters!.Count);
        Assert.Equal(new[] { "sch_secret", "s2" }, Assert.IsType<string[]>(pg.Parameters[0]));
        Assert.Equal(new[] { "rel_secret", "r2" }, Assert.IsType<string[]>(pg.Parameters[1]));
        Assert.Equal(new long[] { 5 }, Assert.IsType<long[]>(pg.Parameters[2]));
        Assert.Contains("x.grantee <> r.relowner", pg.Sql);   // the owner's rights are implicit
        Assert.Contains("t.attacl IS NOT NULL", pg.Sql);          // only the columns that carry privileges

        // SQL Server: two parameters however many relations (it takes at most 2,100 per statement).
        var ms = D(AdapterKind.SqlServer).RelationPrivileges(relations, new long[] { 5, 7 }, allColumns: false);
        Assert.DoesNotContain("secret", ms.Sql);
        Assert.Equal(new object?[] { "[{\"s\":\"sch_secret\",\"n\":\"rel_secret\"},{\"s\":\"s2\",\"n\":\"r2\"}]", "[5,7]" }, ms.Parameters);
        Assert.Contains("p.state IN ('G', 'W', 'D')", ms.Sql);
    }

    [Fact]
    public void Grants_quote_grantees_and_columns_and_name_every_role_with_the_engines_public()
    {
        var view = new RelationName("s", "v");
        var pg = D(AdapterKind.Postgres).Grant(view, new RelationPrivilege[]
        {
            new(null, "bi_reader", "SELECT", false), new(null, "bi_reader", "UPDATE", false), new(null, "Admin \"x\"", "SELECT", true),
            new("a", "clerk", "SELECT", false), new("b", "clerk", "SELECT", false), new("a", "clerk", "UPDATE", false), new(null, null, "SELECT", false),
        });
        Assert.Equal(new[]
        {
            "GRANT SELECT ON TABLE \"s\".\"v\" TO PUBLIC",
            "GRANT SELECT ON TABLE \"s\".\"v\" TO \"Admin \"\"x\"\"\" WITH GRANT OPTION",
            "GRANT SELECT, UPDATE ON TABLE \"s\".\"v\" TO \"bi_reader\"",
            "GRANT SELECT (\"a\", \"b\"), UPDATE (\"a\") ON TABLE \"s\".\"v\" TO \"clerk\"",
        }, pg.Select(s => s.Sql));
        Assert.All(pg, s => Assert.Equal(("GRANT", "s.v"), (s.Kind, s.Target)));

        // SQL Server: DENYs come last, so that a deny still wins over a grant given back with it.
        var ms = D(AdapterKind.SqlServer).Grant(view, new RelationPrivilege[]
        {
            new("a", "intern", "SELECT", false, Denied: true), new(null, "intern", "DELETE", false, Denied: true),
            new(null, "bi]reader", "SELECT", true), new(null, null, "VIEW DEFINITION", false),
        });
        Assert.Equal(new[]
        {
            "GRANT VIEW DEFINITION ON OBJECT::[s].[v] TO [public];",
            "GRANT SELECT ON OBJECT::[s].[v] TO [bi]]reader] WITH GRANT OPTION;",
            "DENY DELETE ON OBJECT::[s].[v] TO [intern];",
            "DENY SELECT ([a]) ON OBJECT::[s].[v] TO [intern];",
        }, ms.Select(s => s.Sql));
    }

    [Fact]
    public void A_privilege_keyword_the_engine_does_not_know_never_reaches_sql()
    {
        var view = new RelationName("s", "v");
        var injected = new RelationPrivilege(null, "r", "SELECT ON x TO r; DROP TABLE t; --", false);
        foreach (var kind in new[] { AdapterKind.Postgres, AdapterKind.SqlServer })
        {
            Assert.False(D(kind).CanGrant(injected, RelationKind.Table));
            Assert.Throws<ArgumentException>(() => D(kind).Grant(view, new[] { injected }));
            Assert.False(D(kind).CanGrant(new RelationPrivilege("c", "r", "DELETE", false), RelationKind.Table));   // no column DELETE
        }
        // PostgreSQL has no DENY; SQL Server's VIEW CHANGE TRACKING is for tables only; PostgreSQL grants TRUNCATE on views.
        var deny = new RelationPrivilege(null, "r", "SELECT", false, Denied: true);
        Assert.False(D(AdapterKind.Postgres).CanGrant(deny, RelationKind.View));
        Assert.Throws<ArgumentException>(() => D(AdapterKind.Postgres).Grant(view, new[] { deny }));
        Assert.True(D(AdapterKind.SqlServer).CanGrant(deny, RelationKind.View));
        var tracking = new RelationPrivilege(null, "r", "VIEW CHANGE TRACKING", false);
        Assert.True(D(AdapterKind.SqlServer).CanGrant(tracking, RelationKind.Table));
        Assert.False(D(AdapterKind.SqlServer).CanGrant(tracking, RelationKind.View));
        Assert.True(D(AdapterKind.Postgres).CanGrant(new RelationPrivilege(null, "r", "TRUNCATE", false), RelationKind.View));
    }

    [Fact]
    public void DuckDb_has_no_privileges_to_read_or_grant()
    {
        var d = D(AdapterKind.DuckDb);
        Assert.False(d.HasPrivileges);
        Assert.Throws<NotSupportedException>(() => d.RelationPrivileges(new[] { new RelationName("s", "v") }, Array.Empty<long>(), allColumns: false));
        Assert.Throws<NotSupportedException>(() => d.Grant(new RelationName("s", "v"), new[] { new RelationPrivilege(null, "r", "SELECT", false) }));
    }

    [Fact]
    public void SqlServer_literals_in_ddl_are_escaped()
    {
        var d = D(AdapterKind.SqlServer);
        Assert.Equal("IF SCHEMA_ID(N'a''b]c') IS NULL EXEC(N'CREATE SCHEMA [a''b]]c]');",
            d.CreateSchemaIfNotExists("a'b]c").Sql);
        Assert.Equal("EXEC sys.sp_rename N'[s''x].[t]]y]', N'n''e]w', N'OBJECT';",
            d.RenameTable(new RelationName("s'x", "t]y"), "n'e]w").Sql);
    }

    [Fact]
    public void Ansi_statements_have_the_expected_shape()
    {
        var d = D(AdapterKind.Postgres);
        var t = new RelationName("dev", "fct");
        var s = new RelationName("dev", "fct__tmp");
        Assert.Equal("CREATE SCHEMA IF NOT EXISTS \"dev\"", d.CreateSchemaIfNotExists("dev").Sql);
        Assert.Equal("DROP TABLE IF EXISTS \"dev\".\"fct\"", d.DropTableIfExists(t).Sql);
        Assert.Equal("ALTER TABLE \"dev\".\"fct\" RENAME TO \"x\"\"y\"", d.RenameTable(t, "x\"y").Sql);
        Assert.Equal("CREATE OR REPLACE VIEW \"dev\".\"fct\" AS\nSELECT 1 AS a\n", d.CreateOrReplaceView(t, "SELECT 1 AS a;  \n").Sql);
        Assert.Equal("SELECT COUNT(*) FROM (\nSELECT 1 -- c\n) AS sqb_q", d.CountQuery("AUDIT", "x", "SELECT 1 -- c").Sql);
        var merge = d.Merge(t, s, new[] { "id" }, new[] { "id", "v" }).Sql;
        Assert.Contains("ON sqb_t.\"id\" = sqb_s.\"id\"", merge);
        Assert.Contains("WHEN MATCHED THEN UPDATE SET \"v\" = sqb_s.\"v\"", merge);
        Assert.Contains("WHEN NOT MATCHED THEN INSERT (\"id\", \"v\") VALUES (sqb_s.\"id\", sqb_s.\"v\")", merge);
        Assert.DoesNotContain("WHEN MATCHED", d.Merge(t, s, new[] { "id" }, new[] { "id" }).Sql);
        var replace = d.ReplaceViewStatements(t, "SELECT 2 AS b");
        Assert.Equal(new[] { "DROP VIEW", "CREATE VIEW" }, replace.Select(x => x.Kind));
        Assert.Single(D(AdapterKind.DuckDb).ReplaceViewStatements(t, "SELECT 2 AS b"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Empty_key_or_column_lists_are_refused(AdapterKind kind)
    {
        var d = D(kind);
        var t = new RelationName("s", "t");
        Assert.Throws<ArgumentException>(() => d.Merge(t, t, Array.Empty<string>(), new[] { "a" }));
        Assert.Throws<ArgumentException>(() => d.DeleteMatching(t, t, Array.Empty<string>()));
        Assert.Throws<ArgumentException>(() => d.InsertFrom(t, t, Array.Empty<string>()));
        Assert.Throws<ArgumentException>(() => d.CreateTable(t, Array.Empty<SeedColumn>()));
        Assert.Throws<ArgumentException>(() => d.CreateTableAs(t, " ;\n "));
    }

    [Fact]
    public void DuckDb_cannot_move_tables_between_schemas()
    {
        Assert.False(D(AdapterKind.DuckDb).SupportsMoveTable);
        Assert.Throws<NotSupportedException>(() => D(AdapterKind.DuckDb).MoveTable(new RelationName("a", "b"), "c"));
        Assert.Equal("ALTER TABLE \"a\".\"b\" SET SCHEMA \"c\"", D(AdapterKind.Postgres).MoveTable(new RelationName("a", "b"), "c").Sql);
        Assert.Equal("ALTER SCHEMA [c] TRANSFER [a].[b];", D(AdapterKind.SqlServer).MoveTable(new RelationName("a", "b"), "c").Sql);
    }
}

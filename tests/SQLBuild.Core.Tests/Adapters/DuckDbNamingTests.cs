using SQLBuild.Core.Adapters;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>
/// A DuckDB database file is a catalog named after the file (jaffle.duckdb is jaffle); a two-part name whose first part
/// is both a catalog and a schema is ambiguous to DuckDB. The dialect of a warehouse knows its catalog and names a
/// relation in such a schema with three parts; every other name stays two-part.
/// </summary>
public class DuckDbNamingTests
{
    private static SqlStatement Sql(string sql) => new("TEST", "duckdb", sql);

    [Theory]
    [InlineData("jaffle.duckdb", "jaffle")]
    [InlineData("Jaffle.duckdb", "Jaffle")]
    [InlineData("my.project.duckdb", "my")]
    [InlineData(".hidden.duckdb", "hidden")]
    [InlineData("no_extension", "no_extension")]
    [InlineData("main.duckdb", "main_db")]
    [InlineData("system.duckdb", "system_db")]
    [InlineData("temp.duckdb", "temp_db")]
    public void The_catalog_name_is_the_one_duckdb_gives_the_file(string file, string catalog)
    {
        using var db = TestDatabases.NewDuckDbFile(file);
        var warehouse = db.CreateWarehouse();
        Assert.Equal(catalog, ((DuckDbDialect)warehouse.Dialect).Catalog);
        using var session = warehouse.OpenSession();
        Assert.Equal(catalog, session.ExecuteScalar(Sql("SELECT current_database()")));
    }

    [Fact]
    public void A_memory_database_is_the_catalog_memory()
    {
        var warehouse = WarehouseFactory.Create(TestDatabases.DuckDbMemory(), Logging.NullLog.Instance);
        Assert.Equal("memory", ((DuckDbDialect)warehouse.Dialect).Catalog);
        ((IDisposable)warehouse).Dispose();
    }

    [Theory]
    [InlineData("jaffle", "\"jaffle\".\"jaffle\".\"orders\"")]
    [InlineData("JAFFLE", "\"jaffle\".\"JAFFLE\".\"orders\"")]
    [InlineData("system", "\"jaffle\".\"system\".\"orders\"")]
    [InlineData("temp", "\"jaffle\".\"temp\".\"orders\"")]
    [InlineData("jaffle__sqb_physical", "\"jaffle__sqb_physical\".\"orders\"")]
    [InlineData("dev", "\"dev\".\"orders\"")]
    public void Only_a_schema_named_like_a_catalog_gets_three_parts(string schema, string qualified)
    {
        var dialect = new DuckDbDialect("jaffle");
        Assert.Equal(qualified, dialect.Qualify(new RelationName(schema, "orders")));
        Assert.Equal($"SELECT * FROM {qualified}", dialect.SelectAll(new RelationName(schema, "orders")));
        Assert.Equal("\"jaffle\".\"orders\"", DuckDbDialect.Instance.Qualify(new RelationName("jaffle", "orders")));
    }

    [Fact]
    public void Every_statement_on_a_schema_named_like_the_file_runs()
    {
        using var db = TestDatabases.NewDuckDbFile("jaffle.duckdb");
        var warehouse = db.CreateWarehouse();
        var d = warehouse.Dialect;
        var t = new RelationName("jaffle", "t");
        var v = new RelationName("jaffle", "v");
        using var s = warehouse.OpenSession();
        s.Execute(d.CreateSchemaIfNotExists("jaffle"));
        s.Execute(d.CreateTable(t, new[] { new SQLBuild.Core.Project.SeedColumn("id", SQLBuild.Core.Project.SeedColumnType.Integer) }));
        s.InsertRows(t, new[] { "id" }, new[] { new object?[] { 1L }, new object?[] { 2L } });
        s.Execute(d.CreateOrReplaceView(v, d.SelectAll(t)));
        s.Execute(d.CreateUniqueIndexIfNotExists(t, "t_id", new[] { "id" }));
        s.Execute(((DuckDbDialect)d).DropIndex("jaffle", "t_id"));
        s.Execute(d.DropViewIfExists(v));
        s.Execute(d.RenameTable(t, "t2"));
        var t2 = new RelationName("jaffle", "t2");
        Assert.Equal(2L, s.ExecuteScalar(d.CountRows(t2)));
        s.Execute(d.DropTableIfExists(t2));
        s.Execute(d.DropSchemaIfExists("jaffle"));
        Assert.Empty(s.ReadCatalog(new[] { "jaffle" }).Schemas);
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Adapters;

/// <summary>
/// Parallel build workers (and concurrent builds of other VDEs) drop and create relations in the physical
/// schema while another session reads its catalog: the read must not fail because a view vanished under it.
/// </summary>
public class CatalogRaceTests
{
    [SkippableFact]
    public void On_postgres_a_catalog_read_survives_views_dropped_concurrently()
    {
        Skip.IfNot(TestDatabases.HasPostgres, TestDatabases.NoPostgres);
        var warehouse = WarehouseFactory.Create(TestDatabases.Postgres(), NullLog.Instance);
        var schema = TestDatabases.UniqueSchema("race");
        try
        {
            using (var s = warehouse.OpenSession())
            {
                s.Execute(s.Dialect.CreateSchemaIfNotExists(schema));
                s.Execute(s.Dialect.CreateTableAs(new RelationName(schema, "base"), "SELECT 1 AS id"));
            }
            using var stop = new CancellationTokenSource();
            var churn = Task.Run(() =>
            {
                using var s = warehouse.OpenSession();
                var n = 0;
                while (!stop.IsCancellationRequested)
                {
                    var v = new RelationName(schema, "v" + (n++ % 20));
                    s.Execute(s.Dialect.CreateOrReplaceView(v, $"SELECT id FROM {s.Dialect.Qualify(new RelationName(schema, "base"))}"));
                    s.Execute(s.Dialect.DropViewIfExists(v));
                }
            });
            try
            {
                using var reader = warehouse.OpenSession();
                for (var i = 0; i < 100; i++)
                {
                    var catalog = reader.ReadCatalog(new[] { schema }, includeColumns: true);
                    Assert.NotNull(catalog.Find(new RelationName(schema, "base")));
                }
            }
            finally
            {
                stop.Cancel();
                churn.Wait();
            }
        }
        finally
        {
            TestDatabases.DropSchemas(warehouse, schema);
        }
    }
}

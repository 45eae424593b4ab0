using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Identity;

public class ReferenceResolutionTests
{
    [Fact]
    public void Renders_models_and_seeds_in_one_schema_and_sources_at_their_declared_table()
    {
        using var fx = new ProjectFixture(ShopProject.Files());
        var project = fx.Compile();
        var model = project.Models["stg_customers"];

        var sql = ReferenceResolution.Render(project, WarehouseFactory.Dialect(AdapterKind.SqlServer), model.Sql, model.References,
            name => new RelationName("dev", name));

        Assert.Equal("""
            SELECT c.id AS customer_id, c.name, cc.name AS country
            FROM [raw].[raw_customers] c
            LEFT JOIN [dev].[country_codes] cc ON cc.code = c.country_code
            """, sql);
    }
}

using SQLBuild.Core.Project;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

public class ReferenceRendererTests
{
    [Fact]
    public void Renders_models_and_seeds_in_one_schema_and_sources_at_their_declared_table()
    {
        using var fx = new ProjectFixture(ShopProject.Files());
        var project = fx.Compile();
        var model = project.Models["stg_customers"];

        var sql = ReferenceRenderer.RenderInSchema(project, model.Sql, model.References, "dev", (schema, name) => $"[{schema}].[{name}]");

        Assert.Equal("""
            SELECT c.id AS customer_id, c.name, cc.name AS country
            FROM [raw].[raw_customers] c
            LEFT JOIN [dev].[country_codes] cc ON cc.code = c.country_code
            """, sql);
    }
}

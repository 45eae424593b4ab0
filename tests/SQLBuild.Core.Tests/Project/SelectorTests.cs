using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

/// <summary>
/// Graph of <see cref="ShopProject"/>: country_codes (seed) -> stg_customers -> dim_customers -> fct_orders,
/// and stg_orders -> fct_orders. Tags: stg_orders [staging, daily], dim_customers [finance], fct_orders [finance, daily].
/// </summary>
public class SelectorTests : IDisposable
{
    private readonly ProjectFixture _fx = new(ShopProject.Files());
    private readonly CompiledProject _p;

    public SelectorTests()
    {
        // xunit never disposes an instance whose constructor threw: clean up here then.
        try { _p = _fx.Compile(); }
        catch { _fx.Dispose(); throw; }
    }

    public void Dispose() => _fx.Dispose();

    private string[] Select(string[]? select, string[]? exclude = null) => Selector.Resolve(_p, select, exclude).ToArray();

    private static readonly string[] All = { "country_codes", "dim_customers", "fct_orders", "stg_customers", "stg_orders" };

    [Fact]
    public void Null_or_empty_select_is_every_model_and_seed()
    {
        Assert.Equal(All, Select(null));
        Assert.Equal(All, Select(Array.Empty<string>()));
    }

    [Theory]
    [InlineData("fct_orders", new[] { "fct_orders" })]
    [InlineData("country_codes", new[] { "country_codes" })]
    [InlineData("seed:country_codes", new[] { "country_codes" })]
    [InlineData("+fct_orders", new[] { "country_codes", "dim_customers", "fct_orders", "stg_customers", "stg_orders" })]
    [InlineData("+dim_customers", new[] { "country_codes", "dim_customers", "stg_customers" })]
    [InlineData("stg_customers+", new[] { "dim_customers", "fct_orders", "stg_customers" })]
    [InlineData("country_codes+", new[] { "country_codes", "dim_customers", "fct_orders", "stg_customers" })]
    [InlineData("+stg_customers+", new[] { "country_codes", "dim_customers", "fct_orders", "stg_customers" })]
    [InlineData("stg_orders+", new[] { "fct_orders", "stg_orders" })]
    [InlineData("tag:daily", new[] { "fct_orders", "stg_orders" })]
    [InlineData("tag:finance,tag:daily", new[] { "fct_orders" })]
    [InlineData("tag:finance, path:models/marts", new[] { "dim_customers", "fct_orders" })]
    [InlineData("+fct_orders,path:models/staging", new[] { "stg_customers", "stg_orders" })]
    [InlineData("+tag:finance", new[] { "country_codes", "dim_customers", "fct_orders", "stg_customers", "stg_orders" })]
    [InlineData("path:models/marts", new[] { "dim_customers", "fct_orders" })]
    [InlineData("models/staging/", new[] { "stg_customers", "stg_orders" })]
    [InlineData("./models/marts/fct_orders.sql", new[] { "fct_orders" })]
    [InlineData("path:models/marts/dim_customers", new[] { "dim_customers" })]
    [InlineData("path:seeds", new[] { "country_codes" })]
    [InlineData("path:models", new[] { "dim_customers", "fct_orders", "stg_customers", "stg_orders" })]
    [InlineData("source:raw_orders", new string[0])]
    [InlineData("source:raw_orders+", new[] { "fct_orders", "stg_orders" })]
    [InlineData("source:raw_customers+", new[] { "dim_customers", "fct_orders", "stg_customers" })]
    [InlineData("+source:raw_customers+", new[] { "dim_customers", "fct_orders", "stg_customers" })]
    [InlineData("source:raw_customers+,tag:finance", new[] { "dim_customers", "fct_orders" })]
    [InlineData("stg_customers~fct_orders", new[] { "dim_customers", "fct_orders", "stg_customers" })]
    [InlineData("country_codes~dim_customers", new[] { "country_codes", "dim_customers", "stg_customers" })]
    [InlineData("+stg_customers~dim_customers+", new[] { "country_codes", "dim_customers", "fct_orders", "stg_customers" })]
    [InlineData("stg_orders~fct_orders", new[] { "fct_orders", "stg_orders" })]
    [InlineData("source:raw_customers~dim_customers", new[] { "dim_customers", "stg_customers" })]
    [InlineData("fct_orders~fct_orders", new[] { "fct_orders" })]
    [InlineData("stg_customers~fct_orders,tag:finance", new[] { "dim_customers", "fct_orders" })]
    public void Single_values(string value, string[] expected) => Assert.Equal(expected, Select(new[] { value }));

    [Fact]
    public void Several_values_are_a_union()
    {
        Assert.Equal(new[] { "dim_customers", "stg_orders" }, Select(new[] { "stg_orders", "dim_customers" }));
        Assert.Equal(new[] { "country_codes", "fct_orders", "stg_orders" }, Select(new[] { "tag:daily", "seed:country_codes" }));
    }

    [Fact]
    public void Exclude_subtracts_with_the_same_syntax()
    {
        Assert.Equal(new[] { "country_codes", "dim_customers", "fct_orders" }, Select(null, new[] { "path:models/staging" }));
        Assert.Equal(new[] { "country_codes", "stg_customers", "stg_orders" }, Select(new[] { "+fct_orders" }, new[] { "tag:finance" }));
        Assert.Equal(new[] { "stg_orders" }, Select(new[] { "tag:daily" }, new[] { "stg_customers+" }));
        Assert.Empty(Select(new[] { "fct_orders" }, new[] { "+fct_orders" }));
    }

    [Theory]
    [InlineData("nope", "unknown selector name 'nope'")]
    [InlineData("+nope+", "unknown selector name 'nope'")]
    [InlineData("raw_orders", "unknown selector name 'raw_orders'")]
    [InlineData("seed:stg_orders", "unknown selector name 'stg_orders': no seed has that name")]
    [InlineData("tag:hourly", "no models found with tag 'hourly'")]
    [InlineData("path:models/mart", "no models found under path 'models/mart'")]
    [InlineData("models/other/x", "no models found under path 'models/other/x'")]
    [InlineData("fct_orders,nope", "unknown selector name 'nope'")]
    [InlineData("source:nope+", "unknown selector name 'nope': no source has that name")]
    [InlineData("source:stg_orders", "unknown selector name 'stg_orders': no source has that name")]
    [InlineData("nope~fct_orders", "unknown selector name 'nope'")]
    [InlineData("fct_orders~stg_orders", "no path from 'fct_orders' to 'stg_orders': 'stg_orders' does not read 'fct_orders', directly or indirectly")]
    public void Unknown_names_are_P020_object_not_found(string value, string message)
    {
        var ex = Assert.Throws<SqbException>(() => Select(new[] { value }));
        Assert.Equal(ErrorCodes.SelectorInvalid, ex.Code);
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal(message, ex.Message);

        var ex2 = Assert.Throws<SqbException>(() => Select(null, new[] { value }));
        Assert.Equal(message, ex2.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("+")]
    [InlineData("++")]
    [InlineData("tag:")]
    [InlineData("a,,b")]
    [InlineData("fct+orders")]
    [InlineData("src:raw_orders")]
    [InlineData("a~b~c")]
    [InlineData("stg_customers+~fct_orders")]
    public void Malformed_values_are_P020_invalid_argument(string value)
    {
        var ex = Assert.Throws<SqbException>(() => Select(new[] { value }));
        Assert.Equal(ErrorCodes.SelectorInvalid, ex.Code);
        Assert.Equal(SqbErrorKind.InvalidArgument, ex.Kind);
    }

    [Theory]
    [InlineData("fct_orders~", "path selector 'fct_orders~' requires names on both sides of '~'")]
    [InlineData("~fct_orders", "path selector '~fct_orders' requires names on both sides of '~'")]
    [InlineData("+~+", "path selector '+~+' requires names on both sides of '~'")]
    [InlineData("src:x", "unknown selector method 'src:' in 'src:x'; expected tag:, path:, seed: or source:")]
    public void Malformed_values_say_what_upstream_says(string value, string message)
    {
        var ex = Assert.Throws<SqbException>(() => Select(new[] { value }));
        Assert.Equal(SqbErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal(message, ex.Message);
    }
}

using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

public class ReferenceTests
{
    private static IReadOnlyList<Reference> Scan(string sql) => ReferenceScanner.Scan(sql, "models/m.sql", new LineMap(sql));

    [Fact]
    public void Finds_all_three_kinds_with_either_quote_and_inner_whitespace()
    {
        const string sql = "select * from __ref(\"a\") join __seed('b') on true join __source(  \"c\"\t) on true";
        var refs = Scan(sql);
        Assert.Equal(new[] { (ReferenceKind.Ref, "a"), (ReferenceKind.Seed, "b"), (ReferenceKind.Source, "c") }, refs.Select(r => (r.Kind, r.Name)));
        Assert.Equal(new[] { "__ref(\"a\")", "__seed('b')", "__source(  \"c\"\t)" }, refs.Select(r => sql.Substring(r.Start, r.Length)));
    }

    [Fact]
    public void Skips_string_literals_quoted_identifiers_comments_and_dollar_quotes()
    {
        const string sql = """
            select '__ref("s1")' as a, 'it''s __ref("s2")' as b, "__ref" as c -- __ref("c1")
            /* __ref("c2") /* nested __ref("c3") */ __ref("c4") */
            , $$ __ref("d1") $$ as d, $tag$ __ref("d2") $tag$ as e
            from __ref("real")
            """;
        var r = Assert.Single(Scan(sql));
        Assert.Equal("real", r.Name);
    }

    [Fact]
    public void Ignores_longer_identifiers_and_qualified_names()
    {
        var refs = Scan("select x__ref(\"a\"), s.__ref(\"b\"), __refs(\"c\"), __ref_x from __ref(\"ok\")");
        Assert.Equal(new[] { "ok" }, refs.Select(r => r.Name));
    }

    [Fact]
    public void Location_is_line_and_column_in_the_file()
    {
        var sql = "select 1\n  from __ref(\"a\")";
        var refs = ReferenceScanner.Scan(sql, "models/m.sql", new LineMap(sql, firstLine: 7));
        Assert.Equal(new SourceLocation("models/m.sql", 8, 8), refs[0].Location);
        Assert.Equal("models/m.sql:8:8", refs[0].Location.ToString());
    }

    [Theory]
    [InlineData("select * from __ref(a)")]
    [InlineData("select * from __ref(\"a\"")]
    [InlineData("select * from __ref(\"\")")]
    [InlineData("select * from __ref (\"a\" , \"b\")")]
    [InlineData("select __seed from t")]
    public void Malformed_calls_are_P011_parser_errors(string sql)
    {
        var ex = Assert.Throws<SqbException>(() => Scan(sql));
        Assert.Equal(ErrorCodes.UnknownReference, ex.Code);
        Assert.Equal(SqbErrorKind.ParserError, ex.Kind);
        Assert.StartsWith("models/m.sql:1: malformed reference: expected __", ex.Message);
    }

    [Fact]
    public void Render_replaces_each_call_and_keeps_everything_else()
    {
        const string sql = "select * from __ref(\"a\") x join __seed( 'b' ) y on x.id = y.id -- __ref(\"z\")";
        var refs = Scan(sql);
        var rendered = ReferenceRenderer.Render(sql, refs, r => $"\"dev\".\"{r.Name}\"");
        Assert.Equal("select * from \"dev\".\"a\" x join \"dev\".\"b\" y on x.id = y.id -- __ref(\"z\")", rendered);
        Assert.Equal("select 1", ReferenceRenderer.Render("select 1", Array.Empty<Reference>(), _ => throw new InvalidOperationException()));
    }

    [Fact]
    public void Render_rejects_references_that_do_not_index_the_text()
    {
        var refs = Scan("select * from __ref(\"a\")");
        Assert.Throws<ArgumentException>(() => ReferenceRenderer.Render("select 1", refs, r => r.Name));
    }

    [Fact]
    public void Compiled_model_references_render_against_model_sql()
    {
        using var fx = new ProjectFixture(ShopProject.Files());
        var fct = fx.Compile().Models["fct_orders"];
        var sql = ReferenceRenderer.Render(fct.Sql, fct.References, r => $"main.{r.Name}");
        Assert.Contains("FROM main.stg_orders o", sql);
        Assert.Contains("JOIN main.dim_customers d", sql);
        Assert.Contains("-- __ref(\"not_a_ref\")", sql);
        Assert.DoesNotContain("__ref(\"stg_orders\")", sql);
    }

    // ---- unknown names -----------------------------------------------------------------------

    private static SqbException CompileFails(params (string, string)[] files)
    {
        using var fx = ProjectFixture.With(files);
        return fx.Fails();
    }

    private const string Source = "sources:\n  - name: raw_x\n    schema: raw\n";

    [Theory]
    [InlineData("select 1\nfrom __ref(\"nope\")", "models/m.sql:2: unknown model 'nope' in __ref(\"nope\")")]
    [InlineData("select * from __ref('s')", "models/m.sql:1: unknown model 's' in __ref('s'): 's' is a seed, use __seed(\"s\")")]
    [InlineData("select * from __ref(\"raw_x\")", "models/m.sql:1: unknown model 'raw_x' in __ref(\"raw_x\"): 'raw_x' is a source, use __source(\"raw_x\")")]
    [InlineData("select * from __seed(\"other\")", "models/m.sql:1: unknown seed 'other' in __seed(\"other\"): 'other' is a model, use __ref(\"other\")")]
    [InlineData("select * from __seed(\"nope\")", "models/m.sql:1: unknown seed 'nope' in __seed(\"nope\")")]
    [InlineData("\n\n\nselect * from __source(\"s\")", "models/m.sql:4: unknown source 's' in __source(\"s\"): 's' is a seed, use __seed(\"s\")")]
    [InlineData("select * from __source(\"nope\")", "models/m.sql:1: unknown source 'nope' in __source(\"nope\")")]
    public void Unknown_names_are_P011_with_file_line_and_hint(string sql, string message)
    {
        var ex = CompileFails(("models/m.sql", sql), ("models/other.sql", "select 1"), ("seeds/s.csv", "a\n1\n"), ("sources/raw.yml", Source));
        Assert.Equal(ErrorCodes.UnknownReference, ex.Code);
        Assert.Equal(SqbErrorKind.ObjectNotFound, ex.Kind);
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Reference_line_counts_from_the_sql_start_after_a_header()
    {
        var ex = CompileFails(("models/m.sql", "MODEL (\n  materialized table\n);\n\nselect *\nfrom __ref(\"nope\")"));
        Assert.Equal("models/m.sql:6: unknown model 'nope' in __ref(\"nope\")", ex.Message);
    }
}

using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

public class SourceTests
{
    [Fact]
    public void Flow_and_block_styles_yaml_extension_and_defaults()
    {
        using var fx = ProjectFixture.With(
            ("sources/a.yml", "sources: [{ name: raw_customers, schema: raw, table: customers }]\n"),
            ("sources/b.yaml", "# more\nsources:\n  - name: raw_events\n    schema: \"events\"\n    database: lake\n    description: ignored\n"),
            ("sources/empty.yml", ""));
        var p = fx.Compile();
        var c = p.Sources["raw_customers"];
        Assert.Equal(("raw", "customers", (string?)null, new SourceLocation("sources/a.yml", 1)), (c.Schema, c.Table, c.Database, c.Location));
        var e = p.Sources["raw_events"];
        Assert.Equal(("events", "raw_events", "lake", new SourceLocation("sources/b.yaml", 3)), (e.Schema, e.Table, e.Database, e.Location));
    }

    [Theory]
    [InlineData("sources:\n  - name: x\n   schema: [\n", SqbErrorKind.ParserError, "sources/s.yml:3: invalid YAML: ")]
    [InlineData("sources:\n  - name: x\n    name: y\n    schema: r\n", SqbErrorKind.ParserError, "sources/s.yml:3: invalid YAML: Duplicate key")]
    [InlineData("sources:\n  - name: a\n    schema: r\n  - name: x\n", SqbErrorKind.InvalidData, "sources/s.yml:4: source 'x' has no schema")]
    [InlineData("sources:\n  - schema: r\n", SqbErrorKind.InvalidData, "sources/s.yml:2: source has no name")]
    [InlineData("sources:\n  - name: x\n    schema: [a]\n", SqbErrorKind.InvalidData, "sources/s.yml:3: schema: expected a text value")]
    [InlineData("sources: raw\n", SqbErrorKind.InvalidData, "sources/s.yml:1: sources: expected a list of { name, schema, table }")]
    [InlineData("tables:\n  - name: x\n", SqbErrorKind.InvalidData, "sources/s.yml:1: missing key 'sources'")]
    [InlineData("- name: x\n", SqbErrorKind.InvalidData, "sources/s.yml:1: expected a mapping with a 'sources' key")]
    [InlineData("sources:\n  - raw_x\n", SqbErrorKind.InvalidData, "sources/s.yml:2: expected a source { name: ..., schema: ..., table: ... }")]
    public void Bad_source_files_are_P016_with_the_line(string yml, SqbErrorKind kind, string prefix)
    {
        using var fx = ProjectFixture.With(("sources/s.yml", yml));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.SourceInvalid, ex.Code);
        Assert.Equal(kind, ex.Kind);
        Assert.StartsWith(prefix, ex.Message);
    }

    [Fact]
    public void Duplicate_source_across_files_names_both_places()
    {
        using var fx = ProjectFixture.With(
            ("sources/a.yml", "sources:\n  - name: x\n    schema: r\n"),
            ("sources/b.yml", "sources:\n\n  - name: x\n    schema: q\n"));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.SourceInvalid, ex.Code);
        Assert.Equal("sources/b.yml:3: duplicate source 'x' (first declared at sources/a.yml:2)", ex.Message);
    }

    [Fact]
    public void Invalid_source_name_is_D016_with_the_line()
    {
        using var fx = ProjectFixture.With(("sources/a.yml", "sources:\n  - name: Raw-X\n    schema: r\n"));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.InvalidModelName, ex.Code);
        Assert.StartsWith("sources/a.yml:2: invalid source name 'Raw-X'", ex.Message);
    }
}

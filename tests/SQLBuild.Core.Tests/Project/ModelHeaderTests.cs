using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

public class ModelHeaderTests
{
    private static ModelNode Model(string text, params (string Path, string Content)[] extra)
    {
        using var fx = ProjectFixture.With(extra.Append(("models/m.sql", text)).ToArray());
        return fx.Compile().Models["m"];
    }

    private static SqbException Fails(string text, params (string Path, string Content)[] extra)
    {
        using var fx = ProjectFixture.With(extra.Append(("models/m.sql", text)).ToArray());
        return fx.Fails();
    }

    [Fact]
    public void No_header_means_a_view_with_defaults()
    {
        var m = Model("\n\n  select 1 as x  \n");
        Assert.Equal(Materialization.View, m.Config.Materialized);
        Assert.Empty(m.Config.Tags);
        Assert.Empty(m.Config.Audits);
        Assert.Empty(m.Config.UniqueKey);
        Assert.Equal(IncrementalStrategy.Append, m.Config.IncrementalStrategy);
        Assert.Null(m.Config.Cursor);
        Assert.Equal("select 1 as x", m.Sql);
        Assert.Equal(3, m.SqlStartLine);
    }

    [Fact]
    public void Empty_header_and_header_on_one_line_with_the_query()
    {
        var m = Model("model();select 1;");
        Assert.Equal(Materialization.View, m.Config.Materialized);
        Assert.Equal("select 1", m.Sql);
        Assert.Equal(1, m.SqlStartLine);
    }

    [Fact]
    public void Comments_inside_and_before_the_header_and_trailing_comma_are_allowed()
    {
        var m = Model("""
            /* multi
               line */
            -- note
            MODEL ( -- inline
              materialized /* c */ table,
              unique_key [a, "b"],
              tags 'single',
            );
            select 1 as a, 2 as b
            """);
        Assert.Equal(Materialization.Table, m.Config.Materialized);
        Assert.Equal(new[] { "a", "b" }, m.Config.UniqueKey);
        Assert.Equal(new[] { "single" }, m.Config.Tags);
        Assert.Equal(9, m.SqlStartLine);
    }

    [Fact]
    public void Strings_support_doubled_quotes_and_backslash_escapes()
    {
        var m = Model("MODEL (description \"say \\\"hi\\\" and \"\"bye\"\" \\\\ \\n\");\nselect 1");
        Assert.Equal("say \"hi\" and \"bye\" \\ \\n", m.Config.Description);
        var m2 = Model("MODEL (description 'it''s \\'ok\\'');\nselect 1");
        Assert.Equal("it's 'ok'", m2.Config.Description);
    }

    [Fact]
    public void Incremental_with_delete_insert_and_a_single_unique_key()
    {
        var m = Model("MODEL (materialized incremental, incremental_strategy delete_insert, unique_key id, cursor ts);\nselect 1 as id, now() as ts");
        Assert.Equal(Materialization.Incremental, m.Config.Materialized);
        Assert.Equal(IncrementalStrategy.DeleteInsert, m.Config.IncrementalStrategy);
        Assert.Equal(new[] { "id" }, m.Config.UniqueKey);
        Assert.Equal("ts", m.Config.Cursor);
    }

    [Fact]
    public void Audit_arguments_in_every_form()
    {
        var m = Model("""
            MODEL (
              audits [
                accepted_values(status, values ['new', "paid", 3], severity error),
                relationships("customer id", to dim_c, field 'id'),
                expression_is_true('a <> ''x''', severity warn),
                in_range(amount, low 0, high 'a''b'),
                row_count
              ]
            );
            select 1
            """, ("models/dim_c.sql", "select 1 as id"), ("audits/in_range.sql", "select 1"), ("audits/row_count.sql", "select 1"));
        var a = m.Config.Audits;
        Assert.Equal(new[] { "new", "paid", "3" }, a[0].Values);
        Assert.Equal(AuditSeverity.Error, a[0].Severity);
        Assert.Equal(("customer id", "dim_c", "id"), (a[1].Column, a[1].ToModel, a[1].ToField));
        Assert.Equal("a <> 'x'", a[2].Expression);
        Assert.Equal(AuditSeverity.Warn, a[2].Severity);
        Assert.Equal("amount", a[3].Column);
        Assert.Equal(new[] { "low", "high" }, a[3].Arguments.Keys);
        Assert.Equal("0", a[3].Arguments["low"]);
        Assert.Equal("'a''b'", a[3].Arguments["high"]);     // as written, ready for @high
        Assert.Equal("row_count", a[4].Name);
        Assert.Null(a[4].Column);
        Assert.Equal(new[] { 3, 4, 5, 6, 7 }, a.Select(x => x.Location.Line));
    }

    // ---- errors ------------------------------------------------------------------------------

    [Theory]
    [InlineData("MODEL (\n  materialised table\n);\nselect 1", "models/m.sql:2: unknown MODEL key 'materialised'; did you mean 'materialized'?")]
    [InlineData("MODEL (\n  frobnicate table\n);\nselect 1", "models/m.sql:2: unknown MODEL key 'frobnicate'; expected one of materialized, tags, audits, unique_key, incremental_strategy, cursor, cursor_type, cursor_grain, description, columns, model_schema, contract, full_refresh, pre_hooks, post_hooks, run_despite_unchanged, row_diff_tolerances, row_diff_exclude_columns, enabled")]
    [InlineData("MODEL (\n  materialized tabel\n);\nselect 1", "models/m.sql:2: materialized: expected view, table or incremental, got 'tabel'")]
    [InlineData("MODEL (\n  materialized [table]\n);\nselect 1", "models/m.sql:2: materialized: expected view, table or incremental, got a list [...]")]
    [InlineData("MODEL (materialized table,\n materialized view);\nselect 1", "models/m.sql:2: duplicate MODEL key 'materialized' (first set on line 1)")]
    [InlineData("MODEL (\n  incremental_strategy sideways\n);\nselect 1", "models/m.sql:2: incremental_strategy: expected append, delete_insert or merge, got 'sideways'")]
    [InlineData("MODEL (\n  materialized incremental,\n  incremental_strategy merge\n);\nselect 1", "models/m.sql:3: incremental_strategy merge needs unique_key")]
    [InlineData("MODEL (\n  materialized incremental,\n  incremental_strategy delete_insert,\n  unique_key []\n);\nselect 1", "models/m.sql:4: unique_key: expected at least one column")]
    [InlineData("MODEL (\n  materialized table,\n  incremental_strategy append\n);\nselect 1", "models/m.sql:3: incremental_strategy only applies to materialized incremental")]
    [InlineData("MODEL (\n  description unquoted\n);\nselect 1", "models/m.sql:2: description: expected a quoted string 'text', got 'unquoted'")]
    [InlineData("MODEL (\n  tags [a, (b)]\n);\nselect 1", "models/m.sql:2: tags: expected a list of tags [a, b], got a block ( ... )")]
    [InlineData("MODEL (materialized table);\n\n-- only a comment\n", "models/m.sql:1: model has no SQL after the MODEL header")]
    [InlineData("select 1;\nselect 2", "models/m.sql:1: a model holds one query: found ';' followed by more SQL")]
    public void Bad_header_content_is_P010_invalid_data(string text, string message)
    {
        var ex = Fails(text);
        Assert.Equal(ErrorCodes.ModelHeader, ex.Code);
        Assert.Equal(SqbErrorKind.InvalidData, ex.Kind);
        Assert.StartsWith(message, ex.Message);
    }

    [Theory]
    [InlineData("-- c\nMODEL (\n  materialized table,\n  tags [a\n", "models/m.sql:2: MODEL header is not closed: expected ')' and ';' before the end of the file")]
    [InlineData("MODEL (\n  materialized table\n)\nselect 1", "models/m.sql:3: expected ';' after the closing ')' of the MODEL header")]
    [InlineData("MODEL materialized table;\nselect 1", "models/m.sql:1: expected '(' after MODEL, got 'materialized'")]
    [InlineData("MODEL (\n  materialized table\n  tags [a]\n);\nselect 1", "models/m.sql:3: expected ',' or ')' after the value of 'materialized', got 'tags'")]
    [InlineData("MODEL (\n  description 'abc\n);\nselect 1", "models/m.sql:2: unterminated string: missing closing quote (')")]
    [InlineData("MODEL (\n  materialized = table\n);\nselect 1", "models/m.sql:2: unexpected character '=' in the MODEL header")]
    [InlineData("MODEL (\n  materialized\n);\nselect 1", "models/m.sql:2: key 'materialized' has no value")]
    [InlineData("MODEL (\n  tags [a b]\n);\nselect 1", "models/m.sql:2: expected ',' or ']' in the list of 'tags', got 'b'")]
    public void Header_syntax_errors_are_P010_parser_errors(string text, string message)
    {
        var ex = Fails(text);
        Assert.Equal(ErrorCodes.ModelHeader, ex.Code);
        Assert.Equal(SqbErrorKind.ParserError, ex.Kind);
        Assert.Equal(message, ex.Message);
    }

    [Theory]
    [InlineData("audits [not_nul(x)]", "models/m.sql:2: unknown audit 'not_nul': expected a built-in (not_null, unique, accepted_values, relationships, expression_is_true) or a generic audit audits/not_nul.sql")]
    [InlineData("audits not_null(x)", "models/m.sql:2: audits: expected a list [not_null(col), ...], got a call not_null(...)")]
    [InlineData("audits [not_null]", "models/m.sql:2: not_null needs a column: not_null(column)")]
    [InlineData("audits [unique(a, b)]", "models/m.sql:2: unique: expected one column, got another positional argument 'b'")]
    [InlineData("audits [unique(id, severity fatal)]", "models/m.sql:2: unique: severity: expected warn or error, got 'fatal'")]
    [InlineData("audits [unique(id, sevrity warn)]", "models/m.sql:2: unique: unknown argument 'sevrity'; expected severity")]
    [InlineData("audits [unique(id, severity warn, severity error)]", "models/m.sql:2: unique: duplicate argument 'severity'")]
    [InlineData("audits [accepted_values(s)]", "models/m.sql:2: accepted_values needs values ['a', 'b']")]
    [InlineData("audits [accepted_values(s, values [])]", "models/m.sql:2: accepted_values: values: expected a non-empty list ['a', 'b'], got an empty list")]
    [InlineData("audits [relationships(id, to \"m\")]", "models/m.sql:2: relationships needs field \"column\"")]
    [InlineData("audits [relationships(id, to nowhere, field id)]", "models/m.sql:2: relationships: unknown model 'nowhere' in to \"nowhere\"")]
    [InlineData("audits [expression_is_true(a > 0)]", "models/m.sql:2: unexpected character '>' in the MODEL header")]
    [InlineData("audits [expression_is_true(amount)]", "models/m.sql:2: expression_is_true: expected a quoted SQL expression, got 'amount'")]
    [InlineData("audits [expression_is_true]", "models/m.sql:2: expression_is_true needs an expression")]
    [InlineData("audits [\n  positive(a, b)\n]", "models/m.sql:3: positive: expected at most one positional argument")]
    public void Bad_audits_are_P017_or_P010_with_the_line(string audits, string message)
    {
        var ex = Fails($"MODEL (\n  {audits}\n);\nselect 1", ("audits/positive.sql", "select 1"));
        Assert.Equal(message.Contains("unexpected character") ? ErrorCodes.ModelHeader : ErrorCodes.AuditInvalid, ex.Code);
        Assert.StartsWith(message, ex.Message);
    }

    [Fact]
    public void Audit_header_is_parsed_and_its_syntax_errors_are_P017()
    {
        using var fx = ProjectFixture.With(("audits/g.sql", "-- generic\nAUDIT (\n  x [1\n);\nselect 1"));
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.AuditInvalid, ex.Code);
        Assert.Equal(SqbErrorKind.ParserError, ex.Kind);
        Assert.Equal("audits/g.sql:4: expected ',' or ']' in the list of 'x', got ')'", ex.Message);
    }

    [Fact]
    public void Sql_keeps_a_semicolon_inside_strings_and_comments_and_strips_one_trailing()
    {
        var m = Model("select ';' as a /* ; */ -- ;\n, 'b' as b ;  \n\n");
        Assert.Equal("select ';' as a /* ; */ -- ;\n, 'b' as b", m.Sql);
    }
}

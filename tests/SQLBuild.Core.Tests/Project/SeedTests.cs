using System.Security.Cryptography;
using System.Text;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Project;

public class SeedTests
{
    /// <summary>A compiled seed and the rows a load reads from its file.</summary>
    private sealed record Loaded(SeedNode Node, IReadOnlyList<object?[]> Rows)
    {
        public IReadOnlyList<SeedColumn> Columns => Node.Columns;
    }

    private static Loaded Seed(string csv)
    {
        using var fx = ProjectFixture.With(("seeds/s.csv", csv));
        var seed = fx.Compile().Seeds["s"];
        var rows = seed.ReadRows().ToList();
        Assert.Equal(rows.Count, seed.RowCount);
        return new Loaded(seed, rows);
    }

    private static SqbException Fails(string csv)
    {
        using var fx = ProjectFixture.With(("seeds/s.csv", csv));
        return fx.Fails();
    }

    [Fact]
    public void Infers_each_type_and_stores_parsed_values()
    {
        var s = Seed("""
            i,d,b,dt,ts,t,neg
            1,1.25,true,2024-02-29,2024-02-29 23:59:59,hello,-5
            2,3,FALSE,2024-03-01,2024-03-01T00:00:00.5,42x,+7
            """);
        Assert.Equal(new[] { SeedColumnType.Integer, SeedColumnType.Decimal, SeedColumnType.Boolean, SeedColumnType.Date, SeedColumnType.Timestamp, SeedColumnType.Text, SeedColumnType.Integer },
            s.Columns.Select(c => c.Type));
        Assert.Equal(new object?[] { 1L, 1.25m, true, new DateOnly(2024, 2, 29), new DateTime(2024, 2, 29, 23, 59, 59), "hello", -5L }, s.Rows[0]);
        Assert.Equal(new object?[] { 2L, 3m, false, new DateOnly(2024, 3, 1), new DateTime(2024, 3, 1, 0, 0, 0, 500), "42x", 7L }, s.Rows[1]);
    }

    [Fact]
    public void Empty_fields_are_null_and_do_not_affect_inference()
    {
        var s = Seed("a,b,c\n1,,\n,2024-01-01,\n3,,\n");
        Assert.Equal(new[] { SeedColumnType.Integer, SeedColumnType.Date, SeedColumnType.Text }, s.Columns.Select(c => c.Type));
        Assert.Equal(new object?[] { 1L, null, null }, s.Rows[0]);
        Assert.Equal(new object?[] { null, new DateOnly(2024, 1, 1), null }, s.Rows[1]);
    }

    [Fact]
    public void Mixed_values_widen_to_the_common_type()
    {
        var s = Seed("num,when,mixed,boolnum,zip\n1,2024-01-01,1,true,02134\n2.5,2024-01-02 10:00:00,x,1,10001\n");
        Assert.Equal(new[] { SeedColumnType.Decimal, SeedColumnType.Timestamp, SeedColumnType.Text, SeedColumnType.Text, SeedColumnType.Text },
            s.Columns.Select(c => c.Type));
        Assert.Equal(1m, s.Rows[0][0]);
        Assert.Equal(new DateTime(2024, 1, 1), s.Rows[0][1]);
        Assert.Equal("1", s.Rows[0][2]);
        Assert.Equal("true", s.Rows[0][3]);
        Assert.Equal("02134", s.Rows[0][4]);   // leading zero keeps a code as text
    }

    [Fact]
    public void Integers_beyond_long_become_decimal_and_invalid_dates_text()
    {
        var s = Seed("big,bad_date,spaced\n99999999999999999999,2024-02-30, 5\n");
        Assert.Equal(new[] { SeedColumnType.Decimal, SeedColumnType.Text, SeedColumnType.Text }, s.Columns.Select(c => c.Type));
        Assert.Equal(99999999999999999999m, s.Rows[0][0]);
        Assert.Equal(" 5", s.Rows[0][2]);
    }

    [Fact]
    public void Quoting_edge_cases_follow_rfc_4180()
    {
        var csv = "id,text\r\n" +
                  "1,\"a, b\"\r\n" +
                  "2,\"say \"\"hi\"\"\"\r\n" +
                  "3,\"line1\r\nline2\"\r\n" +
                  "4,\"\"\r\n" +
                  "5,plain \"inner\" quote\r\n" +
                  "6,\"12\"\r\n";
        var s = Seed(csv);
        Assert.Equal(SeedColumnType.Text, s.Columns[1].Type);
        Assert.Equal(new object?[] { "a, b", "say \"hi\"", "line1\r\nline2", null, "plain \"inner\" quote", "12" }, s.Rows.Select(r => r[1]));
        Assert.Equal(6, s.Rows.Count);
    }

    [Fact]
    public void Quoted_numbers_still_infer_as_numbers()
    {
        var s = Seed("n\n\"1\"\n\"2\"\n");
        Assert.Equal(SeedColumnType.Integer, s.Columns[0].Type);
        Assert.Equal(new object?[] { 1L, 2L }, s.Rows.Select(r => r[0]));
    }

    [Fact]
    public void Header_names_are_trimmed_blank_lines_skipped_and_a_last_line_without_newline_read()
    {
        var s = Seed(" id , name \n\n1,a\n\n2,b");
        Assert.Equal(new[] { "id", "name" }, s.Columns.Select(c => c.Name));
        Assert.Equal(2, s.Rows.Count);
        Assert.Equal("b", s.Rows[1][1]);
    }

    [Fact]
    public void Header_only_file_has_text_columns_and_no_rows()
    {
        var s = Seed("a,b\n");
        Assert.Empty(s.Rows);
        Assert.All(s.Columns, c => Assert.Equal(SeedColumnType.Text, c.Type));
    }

    [Fact]
    public void Bom_is_not_part_of_the_first_column_and_hash_covers_the_raw_bytes()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("id\n1\n")).ToArray();
        using var fx = new ProjectFixture().WriteBytes("seeds/s.csv", bytes);
        var s = fx.Compile().Seeds["s"];
        Assert.Equal("id", s.Columns[0].Name);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), s.ContentHash);
        Assert.Equal(64, s.ContentHash.Length);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3\n", "seeds/s.csv:3: row has 1 field, expected 2 as in the header row")]
    [InlineData("a,b\n1,2\n\"x\ny\",3\n4,5,6\n", "seeds/s.csv:5: row has 3 fields, expected 2 as in the header row")]
    [InlineData("a,b\r\n1,\"multi\r\nline\"\r\n2\r\n", "seeds/s.csv:4: row has 1 field, expected 2 as in the header row")]
    [InlineData("a,,c\n", "seeds/s.csv:1: column 2 of the header row has an empty name")]
    [InlineData("\n\nid,ID\n", "seeds/s.csv:3: duplicate column name 'ID' in the header row (columns 1 and 2)")]
    [InlineData("", "seeds/s.csv:1: empty file: a header row with the column names is required")]
    public void Bad_csv_content_is_P015_with_the_line(string csv, string message)
    {
        var ex = Fails(csv);
        Assert.Equal(ErrorCodes.SeedInvalid, ex.Code);
        Assert.Equal(SqbErrorKind.InvalidData, ex.Kind);
        Assert.Equal(message, ex.Message);
    }

    [Theory]
    [InlineData("a,b\n1,\"2\n3,4\n", "seeds/s.csv:2: unterminated quoted field")]
    [InlineData("a,b\n1,\"2\"x\n", "seeds/s.csv:2: unexpected character 'x' after a closing quote")]
    public void Bad_csv_syntax_is_P015_parser_error(string csv, string prefix)
    {
        var ex = Fails(csv);
        Assert.Equal(ErrorCodes.SeedInvalid, ex.Code);
        Assert.Equal(SqbErrorKind.ParserError, ex.Kind);
        Assert.StartsWith(prefix, ex.Message);
    }

    // ---- encoding and streaming --------------------------------------------------------------------

    [Theory]
    [InlineData(new byte[] { (byte)'a', (byte)'\n', (byte)'1', 0xFF, (byte)'\n' }, 2, "0xFF")]
    [InlineData(new byte[] { (byte)'a', (byte)',', (byte)'b', (byte)'\n', (byte)'x', (byte)',', (byte)'"', (byte)'q', (byte)'\n', 0xC3, (byte)'"', (byte)'\n' }, 3, "0xC3")]
    [InlineData(new byte[] { (byte)'n', (byte)'\n', 0xE2, 0x82 }, 2, "0xE2")]
    public void Invalid_utf8_is_P015_with_the_line(byte[] bytes, int line, string badByte)
    {
        using var fx = new ProjectFixture().WriteBytes("seeds/s.csv", bytes);
        var ex = fx.Fails();
        Assert.Equal(ErrorCodes.SeedInvalid, ex.Code);
        Assert.Equal($"seeds/s.csv:{line}: invalid UTF-8: byte {badByte} is not part of a UTF-8 character; save the file as UTF-8", ex.Message);
    }

    [Fact]
    public void Without_readSeeds_a_seed_is_read_only_when_its_content_is_used_with_the_same_P015_and_hash()
    {
        using var fx = new ProjectFixture().WriteBytes("seeds/s.csv", new byte[] { (byte)'a', (byte)'\n', (byte)'1', 0xE9, (byte)'\n' });
        // A command that needs no seed content compiles (issue 12: Clear-SqbLock must not fail on a data file).
        var project = ProjectCompiler.Compile(fx.Dir, readSeeds: false);
        var seed = project.Seeds["s"];
        Assert.Equal("seeds/s.csv", seed.RelativePath);
        var ex = Assert.Throws<SqbException>(() => seed.Columns);
        Assert.Equal(("P015", "seeds/s.csv:2: invalid UTF-8: byte 0xE9 is not part of a UTF-8 character; save the file as UTF-8"), (ex.Code, ex.Message));
        // Reconcile's identities leave the unreadable seed out instead of failing.
        Assert.DoesNotContain("s", SQLBuild.Core.Identity.IdentityCalculator.ComputeReadable(project).Keys);

        // A good file: the deferred read gives exactly what the eager one gives.
        fx.Write("seeds/s.csv", "a,b\n1,x\n");
        var lazy = ProjectCompiler.Compile(fx.Dir, readSeeds: false).Seeds["s"];
        var eager = ProjectCompiler.Compile(fx.Dir).Seeds["s"];
        Assert.Equal((eager.ContentHash, eager.RowCount), (lazy.ContentHash, lazy.RowCount));
        Assert.Equal(eager.Columns, lazy.Columns);
    }

    [Fact]
    public void Utf8_characters_split_across_read_blocks_decode_whole()
    {
        // 64 KiB blocks: put multi-byte characters across every block boundary of a 300 KiB file.
        var sb = new StringBuilder("name\n");
        while (sb.Length < 300_000) sb.Append("é€😀x\n");
        var s = Seed(sb.ToString());
        Assert.All(s.Rows, r => Assert.Equal("é€😀x", r[0]));
        Assert.Equal(SeedColumnType.Text, s.Columns[0].Type);
    }

    [Fact]
    public void Compiling_keeps_no_rows_a_load_reads_them_from_the_file()
    {
        using var fx = ProjectFixture.With(("seeds/s.csv", "id,name\n1,a\n2,b\n"));
        var seed = fx.Compile().Seeds["s"];
        Assert.Equal(2, seed.RowCount);
        fx.Write("seeds/s.csv", "id,name\n7,z\n8,y\n");
        var rows = new List<object?[]>();
        var ex = Assert.Throws<SqbException>(() => { foreach (var r in seed.ReadRows()) rows.Add(r); });
        Assert.Equal(new object?[] { 7L, "z" }, rows[0]);
        Assert.Equal("seeds/s.csv:1: the file changed while it was loaded: run the command again", ex.Message);
    }

    [Fact]
    public void A_compiled_seed_holds_its_shape_not_its_rows()
    {
        using var fx = ProjectFixture.With(("seeds/s.csv", "id,at\n1,2024-01-01\n2,2024-01-02\n"));
        var seed = fx.Compile().Seeds["s"];
        File.Delete(Path.Combine(fx.Dir, "seeds", "s.csv"));
        Assert.Equal(new[] { SeedColumnType.Integer, SeedColumnType.Date }, seed.Columns.Select(c => c.Type));
        Assert.Equal(2, seed.RowCount);
        Assert.Equal(64, seed.ContentHash.Length);
        Assert.Throws<FileNotFoundException>(() => seed.ReadRows().ToList());
    }
}

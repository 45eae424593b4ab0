using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;
using SQLBuild.Core.Tests.Support;
using Xunit;

namespace SQLBuild.Core.Tests.Identity;

/// <summary>
/// The identity texts are hashed into every version a state store holds, so their bytes are a contract: a faster
/// writer must produce exactly what the first one did. These hold the current code against that first code (kept
/// here as the reference), over every key that enters the metadata and text that needs escaping.
/// </summary>
public class IdentityTests
{
    private static readonly string[] Headers =
    {
        "MODEL (materialized view);",
        "MODEL (materialized table, tags [a, b], description \"d\");",
        "MODEL (materialized incremental, cursor id);",
        "MODEL (materialized incremental, cursor ts, cursor_type timestamp, cursor_grain day, full_refresh false);",
        "MODEL (materialized incremental, cursor n, cursor_type integer, full_refresh true);",
        "MODEL (materialized incremental, incremental_strategy merge, unique_key [id, \"k\"]);",
        "MODEL (materialized incremental, incremental_strategy delete_insert, unique_key id);",
        "MODEL (materialized table, contract enforced, columns (id (type INTEGER), naive_col (type 'VARCHAR(10) COLLATE \"é<&>\"'), amount (type \"DECIMAL(10,2)\")));",
        "MODEL (materialized table, pre_hooks [\"SET x = '<&>' -- é\"], post_hooks [\"ANALYZE @this\", \"SELECT '\\\\' AS \\\"q\\\"\"]);",
        "MODEL (materialized incremental, cursor id, contract enforced, columns (id (type BIGINT)), pre_hooks [\"SELECT 1\"]);",
    };

    public static IEnumerable<object[]> HeaderCases() => Headers.Select(h => new object[] { h });

    [Theory]
    [MemberData(nameof(HeaderCases))]
    public void Model_metadata_is_byte_for_byte_what_the_serializer_wrote(string header)
    {
        using var fx = new ProjectFixture().Write("models/m.sql", header + "\nSELECT 1 AS id");
        var model = fx.Compile().Models["m"];
        Assert.Equal(ReferenceMetadata(model), IdentityCalculator.ModelMetadata(model));
    }

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("  SELECT 1  \r\nFROM t\t \n\n  WHERE x = 'a \r b'  \r\n")]
    [InlineData("\r\n\r\nSELECT\r\r\n  1\n")]
    [InlineData("")]
    [InlineData("SELECT 'ü€𝄞' AS x   \n-- trailing   ")]
    public void Sql_normalizes_as_it_always_did(string sql) =>
        Assert.Equal(ReferenceNormalize(sql), IdentityCalculator.NormalizeSql(sql));

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("ü€𝄞 and a long tail")]
    public void Sha256_is_lowercase_hex_of_the_utf8_bytes(string text) =>
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant(), IdentityCalculator.Sha256(text));

    [Fact]
    public void A_text_longer_than_the_stack_buffer_hashes_the_same()
    {
        var text = string.Concat(Enumerable.Repeat("SELECT 'é' AS x UNION ALL ", 2000));
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant(), IdentityCalculator.Sha256(text));
    }

    [Fact]
    public void Hashes_computed_in_parallel_equal_those_computed_one_by_one()
    {
        // 300 models in a chain and a fan: above the size where the local hashes are computed in parallel.
        var fx = new ProjectFixture();
        using var _ = fx;
        for (var i = 0; i < 300; i++)
            fx.Write($"models/m_{i:d3}.sql", i == 0 ? "MODEL (materialized table);\nSELECT 1 AS id"
                : $"SELECT id FROM __ref(\"m_{(i - 1) / 2:d3}\")  \r\n");
        var project = fx.Compile();
        var ids = IdentityCalculator.Compute(project);
        foreach (var name in project.TopologicalOrder)
        {
            var model = project.Models[name];
            var local = IdentityCalculator.Sha256(ReferenceNormalize(model.Sql) + "\n" + ReferenceMetadata(model));
            var version = new StringBuilder(local);
            foreach (var parent in project.Parents[name]) version.Append('\n').Append(ids[parent].VersionHash);
            Assert.Equal(local, ids[name].LocalHash);
            Assert.Equal(IdentityCalculator.Sha256(version.ToString()), ids[name].VersionHash);
        }
    }

    // ---- the first code, as the reference ------------------------------------------------------------

    private static string ReferenceNormalize(string sql) =>
        string.Join("\n", sql.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd())).Trim();

    private static string ReferenceMetadata(ModelNode model)
    {
        var c = model.Config;
        var config = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["materialized"] = c.Materialized.ToString().ToLowerInvariant(),
        };
        if (c.Materialized == Materialization.Incremental)
        {
            config["incremental_strategy"] = EnumNames.Snake(c.IncrementalStrategy);
            config["unique_key"] = c.UniqueKey;
            config["cursor"] = c.Cursor;
            if (c.CursorType is { } cursorType) config["cursor_type"] = EnumNames.Snake(cursorType);
            if (c.CursorGrain is { } grain) config["cursor_grain"] = EnumNames.Snake(grain);
            if (c.FullRefresh is { } fullRefresh) config["full_refresh"] = fullRefresh;
        }
        if (c.Contract == ContractMode.Enforced)
        {
            config["contract"] = "enforced";
            config["columns"] = c.Columns.Select(col => new[] { col.Name, col.Type ?? "" }).ToArray();
        }
        if (c.PreHooks.Count > 0) config["pre_hooks"] = c.PreHooks.Select(h => h.Sql).ToArray();
        if (c.PostHooks.Count > 0) config["post_hooks"] = c.PostHooks.Select(h => h.Sql).ToArray();
        var doc = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["config"] = config,
            ["model_name"] = model.Name,
        };
        return JsonSerializer.Serialize(doc);
    }
}

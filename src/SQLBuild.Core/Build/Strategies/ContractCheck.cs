using System.Text.RegularExpressions;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>
/// <c>contract enforced</c> at run time, as upstream: the relation a build made (a staging table, a pending version, an
/// incremental's delta, a view under a staging name) must have exactly the declared columns, and each declared type,
/// before it can take its place. Names compare without case; types compare by family across the engines' spellings
/// (<c>INTEGER</c> = <c>int4</c> = <c>integer</c>, <c>VARCHAR</c> = <c>character varying</c> = <c>text</c>, ...), with
/// length, precision and scale only where the declaration gives them. Nullability is not checked (upstream checks it
/// statically; a <c>not_null</c> audit checks the data).
/// </summary>
internal static class ContractCheck
{
    private static readonly Regex TypeShape = new(@"^(?<base>[A-Z0-9_ ]+?)\s*(\((?<args>[^)]*)\))?$", RegexOptions.CultureInvariant);

    private static readonly Dictionary<string, string[]> Families = new(StringComparer.Ordinal)
    {
        ["INTEGER"] = new[] { "INTEGER" }, ["INT"] = new[] { "INTEGER" }, ["INT4"] = new[] { "INTEGER" }, ["SIGNED"] = new[] { "INTEGER" },
        ["BIGINT"] = new[] { "BIGINT" }, ["INT8"] = new[] { "BIGINT" }, ["LONG"] = new[] { "BIGINT" },
        ["SMALLINT"] = new[] { "SMALLINT" }, ["INT2"] = new[] { "SMALLINT" }, ["SHORT"] = new[] { "SMALLINT" },
        ["TINYINT"] = new[] { "TINYINT" }, ["INT1"] = new[] { "TINYINT" }, ["HUGEINT"] = new[] { "HUGEINT" },
        ["VARCHAR"] = new[] { "VARCHAR" }, ["CHARACTER VARYING"] = new[] { "VARCHAR" }, ["CHAR VARYING"] = new[] { "VARCHAR" },
        ["TEXT"] = new[] { "VARCHAR" }, ["STRING"] = new[] { "VARCHAR" }, ["NVARCHAR"] = new[] { "VARCHAR" },
        ["CHAR"] = new[] { "CHAR" }, ["CHARACTER"] = new[] { "CHAR" }, ["BPCHAR"] = new[] { "CHAR" }, ["NCHAR"] = new[] { "CHAR" },
        ["BOOLEAN"] = new[] { "BOOLEAN" }, ["BOOL"] = new[] { "BOOLEAN" }, ["BIT"] = new[] { "BOOLEAN" },
        ["DOUBLE"] = new[] { "DOUBLE" }, ["DOUBLE PRECISION"] = new[] { "DOUBLE" }, ["FLOAT8"] = new[] { "DOUBLE" },
        ["REAL"] = new[] { "REAL" }, ["FLOAT4"] = new[] { "REAL" },
        ["FLOAT"] = new[] { "DOUBLE", "REAL" },     // 8 bytes on PostgreSQL and SQL Server, 4 on DuckDB
        ["DECIMAL"] = new[] { "DECIMAL" }, ["NUMERIC"] = new[] { "DECIMAL" },
        ["TIMESTAMP"] = new[] { "TIMESTAMP" }, ["TIMESTAMP WITHOUT TIME ZONE"] = new[] { "TIMESTAMP" },
        ["DATETIME"] = new[] { "TIMESTAMP" }, ["DATETIME2"] = new[] { "TIMESTAMP" },
        ["TIMESTAMPTZ"] = new[] { "TIMESTAMPTZ" }, ["TIMESTAMP WITH TIME ZONE"] = new[] { "TIMESTAMPTZ" }, ["DATETIMEOFFSET"] = new[] { "TIMESTAMPTZ" },
        ["DATE"] = new[] { "DATE" },
        ["TIME"] = new[] { "TIME" }, ["TIME WITHOUT TIME ZONE"] = new[] { "TIME" },
        ["UUID"] = new[] { "UUID" }, ["UNIQUEIDENTIFIER"] = new[] { "UUID" },
    };

    /// <summary>Throws B005 naming every difference when the model's contract is enforced and <paramref name="relation"/>
    /// does not meet it.</summary>
    public static void Verify(IWarehouseSession session, ModelNode model, RelationName relation)
    {
        if (model.Config.Contract != ContractMode.Enforced) return;
        var actual = session.ColumnsOf(relation);
        var problems = new List<string>();
        foreach (var declared in model.Config.Columns)
        {
            var column = actual.FirstOrDefault(c => string.Equals(c.Name, declared.Name, StringComparison.OrdinalIgnoreCase));
            if (column is null) problems.Add($"missing column '{declared.Name}'");
            else if (declared.Type is { } type && !Matches(type, column.DataType))
                problems.Add($"column '{declared.Name}' is {column.DataType}, declared {type}");
        }
        foreach (var column in actual)
            if (!model.Config.Columns.Any(d => string.Equals(d.Name, column.Name, StringComparison.OrdinalIgnoreCase)))
                problems.Add($"undeclared column '{column.Name}' ({column.DataType})");
        if (problems.Count == 0) return;
        throw new SqbException(ErrorCodes.ContractViolated, "ContractViolated",
            $"contract of '{model.Name}' not met: {string.Join("; ", problems)}",
            SqbErrorKind.InvalidData, model.Name,
            $"Make the query of {model.RelativePath} produce the declared columns and types, or change its columns (...) declaration.");
    }

    /// <summary>Whether a catalog type meets a declared one.</summary>
    public static bool Matches(string declared, string actual)
    {
        var (declaredBase, declaredArgs) = Shape(declared);
        var (actualBase, actualArgs) = Shape(actual);
        var declaredFamilies = Families.GetValueOrDefault(declaredBase) ?? new[] { declaredBase };
        var actualFamilies = Families.GetValueOrDefault(actualBase) ?? new[] { actualBase };
        if (!declaredFamilies.Intersect(actualFamilies).Any()) return false;
        return declaredArgs is null || declaredArgs == actualArgs;
    }

    private static (string Base, string? Args) Shape(string type)
    {
        var text = Regex.Replace(type.Trim().ToUpperInvariant(), @"\s+", " ");
        var m = TypeShape.Match(text);
        if (!m.Success) return (text, null);
        var args = m.Groups["args"].Success ? string.Join(",", m.Groups["args"].Value.Split(',').Select(a => a.Trim())) : null;
        return (m.Groups["base"].Value.Trim(), args);
    }
}

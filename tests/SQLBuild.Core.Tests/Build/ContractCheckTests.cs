using SQLBuild.Core.Build.Strategies;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>How a declared column type meets what an engine's catalog reports (contract enforced).</summary>
public class ContractCheckTests
{
    [Theory]
    [InlineData("INTEGER", "INTEGER")]
    [InlineData("INTEGER", "integer")]
    [InlineData("int", "int4")]
    [InlineData("BIGINT", "bigint")]
    [InlineData("VARCHAR", "character varying(100)")]
    [InlineData("VARCHAR", "text")]
    [InlineData("TEXT", "VARCHAR")]
    [InlineData("VARCHAR(100)", "character varying(100)")]
    [InlineData("DECIMAL", "DECIMAL(38,2)")]
    [InlineData("DECIMAL(10, 2)", "numeric(10,2)")]
    [InlineData("NUMERIC(10,2)", "DECIMAL(10,2)")]
    [InlineData("TIMESTAMP", "timestamp without time zone")]
    [InlineData("TIMESTAMP WITH TIME ZONE", "timestamptz")]
    [InlineData("BOOLEAN", "bool")]
    [InlineData("FLOAT", "double precision")]
    [InlineData("FLOAT", "REAL")]
    [InlineData("DOUBLE", "float8")]
    public void Types_match_by_family(string declared, string actual) => Assert.True(ContractCheck.Matches(declared, actual));

    [Theory]
    [InlineData("INTEGER", "BIGINT")]
    [InlineData("VARCHAR", "INTEGER")]
    [InlineData("VARCHAR(50)", "character varying(100)")]
    [InlineData("DECIMAL(10,2)", "numeric(12,2)")]
    [InlineData("DECIMAL(10,2)", "numeric")]
    [InlineData("TIMESTAMP", "timestamp with time zone")]
    [InlineData("DOUBLE", "REAL")]
    [InlineData("DATE", "TIMESTAMP")]
    public void Types_of_other_families_or_shapes_do_not_match(string declared, string actual) => Assert.False(ContractCheck.Matches(declared, actual));
}

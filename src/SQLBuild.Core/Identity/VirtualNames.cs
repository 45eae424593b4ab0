using System.Text.RegularExpressions;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Identity;

/// <summary>
/// Physical and logical names of SPEC §4.1, identical to upstream's so a warehouse written by the
/// <c>sqb</c> CLI and by this module agree: <c>&lt;schema&gt;__sqb_physical.&lt;node&gt;__v_&lt;hash8&gt;</c>,
/// and views in <c>&lt;schema&gt;__&lt;vde&gt;</c> (the unsuffixed VDE uses <c>&lt;schema&gt;</c> itself).
/// </summary>
public sealed class VirtualNames
{
    private static readonly Regex VdeRule = new("^[a-z][a-z0-9_]*$", RegexOptions.Compiled);

    public VirtualNames(ProjectConfig config, SqlDialect dialect)
    {
        TargetSchema = config.ActiveTarget.Schema;
        Unsuffixed = config.ActiveTarget.State?.UnsuffixedVirtualEnv;
        Dialect = dialect;
    }

    public string TargetSchema { get; }
    public string? Unsuffixed { get; }
    public SqlDialect Dialect { get; }

    public string PhysicalSchema => TargetSchema + "__sqb_physical";

    public RelationName Physical(string node, string versionHash) => new(PhysicalSchema, $"{node}__v_{versionHash[..Math.Min(8, versionHash.Length)]}");

    public string LogicalSchema(string environment) => environment == Unsuffixed ? TargetSchema : $"{TargetSchema}__{environment}";

    public RelationName Logical(string environment, string node) => new(LogicalSchema(environment), node);

    /// <summary>Refuses a VDE name outside <c>^[a-z][a-z0-9_]*$</c> and any derived name over the engine's limit.</summary>
    public void ValidateEnvironment(string environment)
    {
        if (!VdeRule.IsMatch(environment))
            throw new SqbException(ErrorCodes.InvalidEnvironmentName, "InvalidEnvironmentName",
                $"virtual environment name '{environment}' must match ^[a-z][a-z0-9_]*$", SqbErrorKind.InvalidArgument, environment);
        Dialect.ValidateIdentifier(LogicalSchema(environment), $"logical schema of virtual environment '{environment}'");
    }

    /// <summary>Checks every physical and logical name a set of nodes will use, before anything is created.</summary>
    public void ValidateNodes(string environment, IEnumerable<(string Node, string Hash)> nodes)
    {
        Dialect.ValidateIdentifier(PhysicalSchema, "physical schema");
        ValidateEnvironment(environment);
        foreach (var (node, hash) in nodes)
        {
            Dialect.ValidateIdentifier(Physical(node, hash).Name, $"physical relation name of '{node}'");
            Dialect.ValidateIdentifier(node, $"logical view name of '{node}'");
        }
    }
}

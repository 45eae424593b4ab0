namespace SQLBuild.Core.Project;

/// <summary>
/// A project read from disk and checked: every reference resolves, names are unique across models,
/// seeds and sources, and the graph has no cycle. Immutable; safe to share across threads.
/// </summary>
public sealed class CompiledProject
{
    public required ProjectConfig Config { get; init; }
    public required IReadOnlyDictionary<string, ModelNode> Models { get; init; }
    public required IReadOnlyDictionary<string, SeedNode> Seeds { get; init; }
    public required IReadOnlyDictionary<string, SourceNode> Sources { get; init; }
    public required IReadOnlyDictionary<string, DataTestNode> Tests { get; init; }
    public required IReadOnlyDictionary<string, GenericAuditDefinition> GenericAudits { get; init; }

    /// <summary>Models and seeds in dependency order (a node after everything it reads); ties broken by name.</summary>
    public required IReadOnlyList<string> TopologicalOrder { get; init; }

    /// <summary>Direct upstream models and seeds of each model (sources excluded), in first-reference order.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Parents { get; init; }

    /// <summary>Direct downstream models of each model or seed.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Children { get; init; }

    public NodeKind? KindOf(string name) =>
        Models.ContainsKey(name) ? NodeKind.Model :
        Seeds.ContainsKey(name) ? NodeKind.Seed :
        Sources.ContainsKey(name) ? NodeKind.Source : null;
}

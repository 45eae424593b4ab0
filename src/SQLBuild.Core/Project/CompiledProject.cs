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

    /// <summary>What the compiler accepted but the user should know: upstream keys SQLBuild does not implement (P030),
    /// one warning per key.</summary>
    public IReadOnlyList<ProjectWarning> Warnings { get; init; } = Array.Empty<ProjectWarning>();

    /// <summary>Every model and seed upstream of <paramref name="nodes"/>, transitively (the nodes themselves excluded unless upstream of another).</summary>
    public HashSet<string> Ancestors(IEnumerable<string> nodes)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(nodes);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (!Parents.TryGetValue(n, out var ps)) continue;
            foreach (var p in ps) if (result.Add(p)) stack.Push(p);
        }
        return result;
    }

    public NodeKind? KindOf(string name) =>
        Models.ContainsKey(name) ? NodeKind.Model :
        Seeds.ContainsKey(name) ? NodeKind.Seed :
        Sources.ContainsKey(name) ? NodeKind.Source : null;
}

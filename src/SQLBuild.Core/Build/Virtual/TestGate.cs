using SQLBuild.Core.Build.Audits;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Virtual;

/// <summary>
/// A failed data test keeps the refs of what it read, and of everything built on top of those versions, where
/// they are: the nodes' own builds succeeded, but they are reported failed and their refs do not move.
/// </summary>
internal static class TestGate
{
    /// <param name="built">The nodes this build made new versions of.</param>
    public static void Apply(CompiledProject project, IReadOnlyList<string> selected, IReadOnlyCollection<string> built,
        IEnumerable<DataTestNode> tests, IDictionary<string, SqbNodeResult> results)
    {
        var selectedSet = selected.ToHashSet(StringComparer.Ordinal);
        foreach (var test in tests.Where(t => results["test:" + t.Name].Status == SqbNodeStatus.Failed))
        {
            var read = ReadsBuilt(test, built).ToHashSet(StringComparer.Ordinal);
            var blocked = new HashSet<string>(read, StringComparer.Ordinal);
            foreach (var node in project.TopologicalOrder)
                if (selectedSet.Contains(node) && project.Parents.TryGetValue(node, out var parents) && parents.Any(blocked.Contains)) blocked.Add(node);
            foreach (var node in selected)
            {
                if (!blocked.Contains(node) || results[node].Status is SqbNodeStatus.Failed or SqbNodeStatus.Skipped) continue;
                results[node] = NodeOutcome.BlockedByTest(results[node], test.Name, read.Contains(node));
            }
        }
    }

    /// <summary>The models and seeds of this build that a data test reads (it runs after them).</summary>
    public static IEnumerable<string> ReadsBuilt(DataTestNode test, IReadOnlyCollection<string> built) =>
        test.References.Where(r => r.Kind != ReferenceKind.Source && built.Contains(r.Name)).Select(r => r.Name).Distinct();
}

namespace SQLBuild.Core.Project;

/// <summary>The model/seed graph: parents from references, children, a deterministic topological order, cycle detection.</summary>
internal static class Dag
{
    public sealed record Graph(
        IReadOnlyList<string> TopologicalOrder,
        IReadOnlyDictionary<string, IReadOnlyList<string>> Parents,
        IReadOnlyDictionary<string, IReadOnlyList<string>> Children);

    public static Graph Build(IReadOnlyDictionary<string, ModelNode> models, IReadOnlyDictionary<string, SeedNode> seeds)
    {
        var parents = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var childSets = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var name in seeds.Keys.Concat(models.Keys))
        {
            parents[name] = Array.Empty<string>();
            childSets[name] = new SortedSet<string>(StringComparer.Ordinal);
        }

        foreach (var model in models.Values)
        {
            var list = new List<string>();
            foreach (var r in model.References)
            {
                if (r.Kind == ReferenceKind.Source) continue;
                if (list.Contains(r.Name)) continue;
                list.Add(r.Name);
                childSets[r.Name].Add(model.Name);
            }
            parents[model.Name] = list;
        }

        var indegree = parents.ToDictionary(kv => kv.Key, kv => kv.Value.Count, StringComparer.Ordinal);
        var ready = new SortedSet<string>(indegree.Where(kv => kv.Value == 0).Select(kv => kv.Key), StringComparer.Ordinal);
        var order = new List<string>(parents.Count);
        while (ready.Count > 0)
        {
            var next = ready.Min!;
            ready.Remove(next);
            order.Add(next);
            foreach (var child in childSets[next])
                if (--indegree[child] == 0) ready.Add(child);
        }

        if (order.Count < parents.Count)
            throw CycleError(models, parents, new HashSet<string>(indegree.Where(kv => kv.Value > 0).Select(kv => kv.Key), StringComparer.Ordinal));

        var children = childSets.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.ToArray(), StringComparer.Ordinal);
        return new Graph(order, parents, children);
    }

    /// <summary>Every node left after Kahn's algorithm has a parent that is also left, so walking parents
    /// from the smallest name must come back to a node already seen: that loop is the cycle.</summary>
    private static Errors.SqbException CycleError(IReadOnlyDictionary<string, ModelNode> models,
        IReadOnlyDictionary<string, IReadOnlyList<string>> parents, HashSet<string> remaining)
    {
        var path = new List<string>();
        var seenAt = new Dictionary<string, int>(StringComparer.Ordinal);
        var current = remaining.Min(StringComparer.Ordinal)!;
        while (!seenAt.ContainsKey(current))
        {
            seenAt[current] = path.Count;
            path.Add(current);
            current = parents[current].First(remaining.Contains);
        }
        var cycle = path.Skip(seenAt[current]).ToList();

        // Start the message at the smallest name so the same cycle always reads the same way.
        var first = cycle.Min(StringComparer.Ordinal)!;
        var shift = cycle.IndexOf(first);
        cycle = cycle.Skip(shift).Concat(cycle.Take(shift)).ToList();
        var text = string.Join(" -> ", cycle.Append(first));

        var model = models[first];
        var next = cycle.Count > 1 ? cycle[1] : first;
        var line = model.References.FirstOrDefault(r => r.Kind == ReferenceKind.Ref && r.Name == next)?.Location.Line ?? model.SqlStartLine;
        return ProjectErrors.Cycle(model.RelativePath, line, text, first);
    }
}

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
        // Nodes by index in name order, so "the smallest ready name first" is "the smallest ready index first".
        var names = seeds.Keys.Concat(models.Keys).ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        var index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++) index[names[i]] = i;

        var parents = new Dictionary<string, IReadOnlyList<string>>(names.Length, StringComparer.Ordinal);
        var children = new List<int>?[names.Length];
        var indegree = new int[names.Length];
        foreach (var name in seeds.Keys) parents[name] = Array.Empty<string>();
        foreach (var model in models.Values)
        {
            var list = new List<string>(model.References.Count);
            var child = index[model.Name];
            foreach (var r in model.References)
            {
                if (r.Kind == ReferenceKind.Source) continue;
                if (list.Contains(r.Name)) continue;
                list.Add(r.Name);
                (children[index[r.Name]] ??= new List<int>()).Add(child);
            }
            parents[model.Name] = list.AsReadOnly();    // read-only: the compile cache hands the graph to later compiles
            indegree[child] = list.Count;
        }

        var ready = new PriorityQueue<int, int>();
        for (var i = 0; i < names.Length; i++)
            if (indegree[i] == 0) ready.Enqueue(i, i);
        var order = new List<string>(names.Length);
        while (ready.TryDequeue(out var next, out _))
        {
            order.Add(names[next]);
            if (children[next] is not { } list) continue;
            foreach (var child in list)
                if (--indegree[child] == 0) ready.Enqueue(child, child);
        }

        if (order.Count < names.Length)
            throw CycleError(models, parents, new HashSet<string>(names.Where((_, i) => indegree[i] > 0), StringComparer.Ordinal));

        var childLists = new Dictionary<string, IReadOnlyList<string>>(names.Length, StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            if (children[i] is not { } list) { childLists[names[i]] = Array.Empty<string>(); continue; }
            list.Sort();    // by name: indexes are in name order
            var unique = new List<string>(list.Count);
            for (var k = 0; k < list.Count; k++)
                if (k == 0 || list[k] != list[k - 1]) unique.Add(names[list[k]]);
            childLists[names[i]] = unique.AsReadOnly();
        }
        return new Graph(order, parents, childLists);
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

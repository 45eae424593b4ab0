using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>Selectors of SPEC §2 (<c>name</c>, <c>tag:x</c>, <c>path:models/x</c>, <c>seed:x</c>, <c>source:x</c>, <c>+x</c>,
/// <c>x+</c>, <c>+x+</c>, path-between <c>a~b</c> and <c>+a~b+</c>, several values = union, <c>a,b</c> = intersection),
/// minus excludes. A source is selectable (<c>source:raw+</c> is every model that reads it, transitively) but is never
/// built itself: what a selection yields is models and seeds.</summary>
public static class Selector
{
    /// <summary>Returns the selected model and seed names (sorted). Null or empty <paramref name="select"/> = every model and seed.
    /// Throws P020 for an unknown name, tag or path, or a malformed value.</summary>
    public static IReadOnlySet<string> Resolve(CompiledProject project, IReadOnlyList<string>? select, IReadOnlyList<string>? exclude)
    {
        ArgumentNullException.ThrowIfNull(project);
        var graph = new Graph(project);
        var result = new SortedSet<string>(StringComparer.Ordinal);
        if (select is null || select.Count == 0)
        {
            result.UnionWith(project.Models.Keys);
            result.UnionWith(project.Seeds.Keys);
        }
        else
        {
            foreach (var value in select) result.UnionWith(Evaluate(graph, value));
        }
        if (exclude is not null)
            foreach (var value in exclude) result.ExceptWith(Evaluate(graph, value));
        result.RemoveWhere(name => !project.Models.ContainsKey(name) && !project.Seeds.ContainsKey(name));
        return result;
    }

    /// <summary>The project's graph with its sources in it: a source's children are the models that read it.</summary>
    private sealed class Graph
    {
        public Graph(CompiledProject project)
        {
            Project = project;
            var children = project.Children.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            foreach (var source in project.Sources.Keys)
                children[source] = project.Models.Values
                    .Where(m => m.References.Any(r => r.Kind == ReferenceKind.Source && r.Name == source))
                    .Select(m => m.Name).ToArray();
            Children = children;
        }

        public CompiledProject Project { get; }
        public IReadOnlyDictionary<string, IReadOnlyList<string>> Children { get; }
        public IReadOnlyDictionary<string, IReadOnlyList<string>> Parents => Project.Parents;
    }

    private static HashSet<string> Evaluate(Graph graph, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw ProjectErrors.Selector("empty selector: expected a name, tag:x, path:models/x, seed:x or source:x", SqbErrorKind.InvalidArgument, value ?? "");
        var terms = value.Split(',').Select(t => t.Trim()).ToList();
        if (terms.Any(t => t.Length == 0))
            throw ProjectErrors.Selector($"invalid selector '{value}': empty term around ','", SqbErrorKind.InvalidArgument, value);
        HashSet<string>? result = null;
        foreach (var term in terms)
        {
            var set = term.Contains('~') ? PathBetween(graph, term) : Term(graph, term);
            if (result is null) result = set;
            else result.IntersectWith(set);
        }
        return result!;
    }

    /// <summary>
    /// <c>a~b</c>: every node on a path from <c>a</c> down to <c>b</c>, both included; <c>+a~b+</c> adds the ancestors of
    /// <c>a</c> and the descendants of <c>b</c>. Either end may be any single selector (<c>source:raw~fct_orders</c>).
    /// </summary>
    private static HashSet<string> PathBetween(Graph graph, string term)
    {
        var tilde = term.IndexOf('~');
        var left = term[..tilde].Trim();
        var right = term[(tilde + 1)..].Trim();
        var upstream = left.StartsWith('+');
        var downstream = right.EndsWith('+');
        var from = upstream ? left[1..].Trim() : left;
        var to = downstream ? right[..^1].Trim() : right;
        if (from.Length == 0 || to.Length == 0 || to.Contains('~'))
            throw ProjectErrors.Selector($"path selector '{term}' requires names on both sides of '~'", SqbErrorKind.InvalidArgument, term);
        if (from.Contains('+') || to.Contains('+'))
            throw ProjectErrors.Selector($"invalid selector '{term}': expected [+]a~b[+]", SqbErrorKind.InvalidArgument, term);

        var starts = Core(graph, from, term);
        var ends = Core(graph, to, term);
        var below = Walk(starts, graph.Children);
        below.UnionWith(starts);
        var above = Walk(ends, graph.Parents);
        above.UnionWith(ends);
        below.IntersectWith(above);
        if (below.Count == 0)
            throw ProjectErrors.Selector($"no path from '{from}' to '{to}': '{to}' does not read '{from}', directly or indirectly",
                SqbErrorKind.ObjectNotFound, term);
        if (upstream) below.UnionWith(Walk(starts, graph.Parents));
        if (downstream) below.UnionWith(Walk(ends, graph.Children));
        return below;
    }

    private static HashSet<string> Term(Graph graph, string term)
    {
        var ancestors = term.StartsWith('+');
        var descendants = term.EndsWith('+') && term.Length > 1;
        var core = term[(ancestors ? 1 : 0)..(term.Length - (descendants ? 1 : 0))].Trim();
        if (core.Length == 0 || core.Contains('+'))
            throw ProjectErrors.Selector($"invalid selector '{term}': expected [+]name[+]", SqbErrorKind.InvalidArgument, term);

        var set = Core(graph, core, term);
        if (ancestors) set.UnionWith(Walk(set, graph.Parents));
        if (descendants) set.UnionWith(Walk(set, graph.Children));
        return set;
    }

    /// <summary>One selector without graph operators: a name, a path, or method:argument.</summary>
    private static HashSet<string> Core(Graph graph, string core, string term)
    {
        var project = graph.Project;
        var set = new HashSet<string>(StringComparer.Ordinal);
        var colon = core.IndexOf(':');
        if (colon > 0)
        {
            var method = core[..colon];
            var arg = core[(colon + 1)..].Trim();
            if (arg.Length == 0)
                throw ProjectErrors.Selector($"invalid selector '{term}': nothing after '{method}:'", SqbErrorKind.InvalidArgument, term);
            switch (method)
            {
                case "tag":
                    set.UnionWith(project.Models.Values.Where(m => m.Config.Tags.Contains(arg, StringComparer.Ordinal)).Select(m => m.Name));
                    if (set.Count == 0)
                        throw ProjectErrors.Selector($"no models found with tag '{arg}'", SqbErrorKind.ObjectNotFound, arg);
                    break;
                case "path":
                    set.UnionWith(ByPath(project, arg));
                    break;
                case "seed":
                    if (!project.Seeds.ContainsKey(arg))
                        throw ProjectErrors.Selector($"unknown selector name '{arg}': no seed has that name", SqbErrorKind.ObjectNotFound, arg);
                    set.Add(arg);
                    break;
                case "source":
                    if (!project.Sources.ContainsKey(arg))
                        throw ProjectErrors.Selector($"unknown selector name '{arg}': no source has that name", SqbErrorKind.ObjectNotFound, arg);
                    set.Add(arg);
                    break;
                default:
                    throw ProjectErrors.Selector($"unknown selector method '{method}:' in '{term}'; expected tag:, path:, seed: or source:",
                        SqbErrorKind.InvalidArgument, term);
            }
        }
        else if (core.Contains('/') || core.Contains('\\'))
        {
            set.UnionWith(ByPath(project, core));
        }
        else
        {
            if (!project.Models.ContainsKey(core) && !project.Seeds.ContainsKey(core))
                throw ProjectErrors.Selector($"unknown selector name '{core}'", SqbErrorKind.ObjectNotFound, core);
            set.Add(core);
        }
        return set;
    }

    private static IEnumerable<string> ByPath(CompiledProject project, string raw)
    {
        var path = raw.Trim().Replace('\\', '/');
        while (path.StartsWith("./", StringComparison.Ordinal)) path = path[2..];
        path = path.TrimEnd('/');
        bool Matches(string rel) =>
            rel == path || rel.StartsWith(path + "/", StringComparison.Ordinal) ||
            (Path.ChangeExtension(rel, null) == path);
        var found = project.Models.Values.Where(m => Matches(m.RelativePath)).Select(m => m.Name)
            .Concat(project.Seeds.Values.Where(s => Matches(s.RelativePath)).Select(s => s.Name))
            .ToList();
        if (found.Count == 0)
            throw ProjectErrors.Selector($"no models found under path '{raw.Trim()}'", SqbErrorKind.ObjectNotFound, raw);
        return found;
    }

    /// <summary>Everything reachable from <paramref name="start"/> through <paramref name="edges"/>, start excluded.</summary>
    private static HashSet<string> Walk(IEnumerable<string> start, IReadOnlyDictionary<string, IReadOnlyList<string>> edges)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(start);
        while (queue.Count > 0)
        {
            var n = queue.Dequeue();
            if (!edges.TryGetValue(n, out var next)) continue;
            foreach (var m in next)
                if (seen.Add(m)) queue.Enqueue(m);
        }
        return seen;
    }
}

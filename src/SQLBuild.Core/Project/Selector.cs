using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>Selectors of SPEC §2 (<c>name</c>, <c>tag:x</c>, <c>path:models/x</c>, <c>seed:x</c>, <c>+x</c>, <c>x+</c>, <c>+x+</c>,
/// several values = union, <c>a,b</c> = intersection), minus excludes.</summary>
public static class Selector
{
    /// <summary>Returns the selected model and seed names (sorted). Null or empty <paramref name="select"/> = every model and seed.
    /// Throws P020 for an unknown name, tag or path, or a malformed value.</summary>
    public static IReadOnlySet<string> Resolve(CompiledProject project, IReadOnlyList<string>? select, IReadOnlyList<string>? exclude)
    {
        ArgumentNullException.ThrowIfNull(project);
        var result = new SortedSet<string>(StringComparer.Ordinal);
        if (select is null || select.Count == 0)
        {
            result.UnionWith(project.Models.Keys);
            result.UnionWith(project.Seeds.Keys);
        }
        else
        {
            foreach (var value in select) result.UnionWith(Evaluate(project, value));
        }
        if (exclude is not null)
            foreach (var value in exclude) result.ExceptWith(Evaluate(project, value));
        return result;
    }

    private static HashSet<string> Evaluate(CompiledProject project, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw ProjectErrors.Selector("empty selector: expected a name, tag:x, path:models/x or seed:x", SqbErrorKind.InvalidArgument, value ?? "");
        var terms = value.Split(',').Select(t => t.Trim()).ToList();
        if (terms.Any(t => t.Length == 0))
            throw ProjectErrors.Selector($"invalid selector '{value}': empty term around ','", SqbErrorKind.InvalidArgument, value);
        HashSet<string>? result = null;
        foreach (var term in terms)
        {
            var set = Term(project, term);
            if (result is null) result = set;
            else result.IntersectWith(set);
        }
        return result!;
    }

    private static HashSet<string> Term(CompiledProject project, string term)
    {
        var ancestors = term.StartsWith('+');
        var descendants = term.EndsWith('+') && term.Length > 1;
        var core = term[(ancestors ? 1 : 0)..(term.Length - (descendants ? 1 : 0))].Trim();
        if (core.Length == 0 || core.Contains('+'))
            throw ProjectErrors.Selector($"invalid selector '{term}': expected [+]name[+]", SqbErrorKind.InvalidArgument, term);

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
                default:
                    throw ProjectErrors.Selector($"unknown selector method '{method}:' in '{term}'; expected tag:, path: or seed:",
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

        if (ancestors) set.UnionWith(Walk(set, project.Parents));
        if (descendants) set.UnionWith(Walk(set, project.Children));
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

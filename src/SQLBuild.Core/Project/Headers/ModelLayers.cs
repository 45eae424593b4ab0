using System.Globalization;
using SQLBuild.Core.Errors;
using Tomlyn.Model;

namespace SQLBuild.Core.Project;

/// <summary>One <c>[path_defaults."key"]</c> table: its folder pattern below <c>models/</c> and its entries.</summary>
internal sealed record PathDefault(string Key, IReadOnlyList<string> Segments, IReadOnlyList<HeaderEntry> Entries)
{
    /// <summary>The entries by key, for a model's reader (checked once, when the table was read).</summary>
    public HeaderEntries ByKey { get; } = ModelLayers.Checked(Entries);

    public bool HasWildcard => Segments.Any(s => s is "*" or "**");
    public int Literals => Segments.Count(s => s is not ("*" or "**"));
    public int Stars => Segments.Count(s => s == "*");
    public int DoubleStars => Segments.Count(s => s == "**");
}

/// <summary>
/// The project's model config layers, upstream's way: <c>[defaults]</c> for every model, then the ONE nearest
/// <c>[path_defaults."folder"]</c> table that matches the model's folder below <c>models/</c> (a key matches its folder
/// and every folder below it; <c>*</c> is one folder, <c>**</c> any number; a key without wildcards beats every wildcard
/// key, the deepest such key wins; among wildcard keys more literal folders, then more <c>*</c>, then fewer <c>**</c>
/// win, and a tie is an error), then the MODEL header. Values are TOML; a key whose header value is structured takes
/// header syntax in a string (<c>audits = ["not_null(id)"]</c>, <c>columns = "(id (type INTEGER))"</c>).
/// </summary>
internal sealed class ModelLayers
{
    public static readonly ModelLayers None = new(Array.Empty<HeaderEntry>(), Array.Empty<PathDefault>());

    private ModelLayers(IReadOnlyList<HeaderEntry> defaults, IReadOnlyList<PathDefault> pathDefaults)
    {
        Defaults = defaults;
        PathDefaults = pathDefaults;
        _defaults = defaults.Count > 0 ? Checked(defaults) : null;
    }

    private readonly HeaderEntries? _defaults;
    /// <summary>The layers of each models/ folder seen so far (models are read in parallel, and most share a folder).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<HeaderEntries>> _byFolder = new(StringComparer.Ordinal);

    public IReadOnlyList<HeaderEntry> Defaults { get; }
    public IReadOnlyList<PathDefault> PathDefaults { get; }

    /// <summary>Keys whose TOML strings hold header syntax (a list of them, for the list keys).</summary>
    private static readonly string[] HeaderSyntaxLists = { "audits", "pre_hooks", "post_hooks" };

    /// <summary>Reads and checks both tables: an unknown key is P002 naming the closest known one, an upstream key a
    /// P030 warning in <paramref name="warnings"/>.</summary>
    public static ModelLayers Read(ConfigNode? defaults, ConfigNode? pathDefaults, List<ProjectWarning> warnings)
    {
        var defaultEntries = Array.Empty<HeaderEntry>() as IReadOnlyList<HeaderEntry>;
        if (defaults is not null)
        {
            foreach (var (key, node) in defaults.Table!)
            {
                if (!ModelKeys.DefaultsImplemented.Contains(key) && !ModelKeys.DefaultsUpstream.Contains(key) &&
                    (ModelKeys.Implemented.Contains(key) || ModelKeys.Upstream.Contains(key)))
                    throw ProjectErrors.ConfigInvalid(node.File, node.Line,
                        $"'{key}' is not allowed in [defaults]: set it in a [path_defaults] table or the MODEL header");
            }
            defaultEntries = Entries(defaults, "[defaults]", ModelKeys.DefaultsImplemented, ModelKeys.DefaultsUpstream, warnings);
        }

        var paths = new List<PathDefault>();
        if (pathDefaults is not null)
        {
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, table) in pathDefaults.Table!)
            {
                var layer = $"[path_defaults.\"{key}\"]";
                if (!table.IsTable)
                    throw ProjectErrors.ConfigInvalid(table.File, table.Line, $"path_defaults.{key}: expected a table {layer}, got {table.TypeName}");
                var segments = Segments(key, table);
                var normal = string.Join('/', segments);
                if (seen.TryGetValue(normal, out var other))
                    throw ProjectErrors.ConfigInvalid(table.File, table.Line,
                        $"{layer} names the same folder as [path_defaults.\"{other}\"]: keep one of them");
                seen[normal] = key;
                paths.Add(new PathDefault(key, segments, Entries(table, layer, ModelKeys.Implemented, ModelKeys.Upstream, warnings)));
            }
        }
        return new ModelLayers(defaultEntries, paths);
    }

    /// <summary>The layers of one model, highest precedence first: its nearest path default, then <c>[defaults]</c>.</summary>
    public IReadOnlyList<HeaderEntries> For(string relativePath)
    {
        if (PathDefaults.Count == 0) return _defaults is null ? Array.Empty<HeaderEntries>() : new[] { _defaults };
        var slash = relativePath.LastIndexOf('/');
        var folder = slash < 0 ? "" : relativePath[..slash];
        if (_byFolder.TryGetValue(folder, out var cached)) return cached;
        var layers = new List<HeaderEntries>(2);
        if (Nearest(relativePath) is { } nearest) layers.Add(nearest.ByKey);
        if (_defaults is not null) layers.Add(_defaults);
        return _byFolder.GetOrAdd(folder, layers);
    }

    /// <summary>A layer's entries by key. They were checked (known keys, each once) when the table was read.</summary>
    internal static HeaderEntries Checked(IReadOnlyList<HeaderEntry> entries) =>
        new(entries, "key", null, ModelKeys.Implemented, Array.Empty<string>(), (e, m) => ProjectErrors.ModelHeader(e.File, e.Line, m));

    /// <summary>The path default that applies to a model file, or null.</summary>
    public PathDefault? Nearest(string relativePath)
    {
        var parts = relativePath.Split('/');
        var folder = parts.Skip(1).Take(parts.Length - 2).ToArray();    // below models/, without the file name
        var matching = PathDefaults.Where(p => Matches(p.Segments, 0, folder, 0)).ToList();
        if (matching.Count == 0) return null;
        var literal = matching.Where(p => !p.HasWildcard).OrderByDescending(p => p.Segments.Count).FirstOrDefault();
        if (literal is not null) return literal;
        var ranked = matching.OrderByDescending(p => p.Literals).ThenByDescending(p => p.Stars).ThenBy(p => p.DoubleStars).ToList();
        if (ranked.Count > 1 && Rank(ranked[0]) == Rank(ranked[1]))
        {
            var first = ranked[0].Entries.FirstOrDefault();
            throw ProjectErrors.ConfigInvalid(first?.File ?? ConfigLoader.ProjectFileName, first?.Line ?? 0,
                $"{relativePath} matches [path_defaults.\"{ranked[0].Key}\"] and [path_defaults.\"{ranked[1].Key}\"] equally: make one of them more specific");
        }
        return ranked[0];
    }

    private static (int, int, int) Rank(PathDefault p) => (p.Literals, p.Stars, -p.DoubleStars);

    /// <summary>Whether the pattern matches a prefix of the folder (a key matches its folder and the folders below it).</summary>
    private static bool Matches(IReadOnlyList<string> pattern, int i, string[] folder, int j)
    {
        if (i == pattern.Count) return true;
        if (pattern[i] == "**")
        {
            for (var k = j; k <= folder.Length; k++)
                if (Matches(pattern, i + 1, folder, k)) return true;
            return false;
        }
        if (j == folder.Length) return false;
        return (pattern[i] == "*" || string.Equals(pattern[i], folder[j], StringComparison.Ordinal)) && Matches(pattern, i + 1, folder, j + 1);
    }

    /// <summary>A key's folders below <c>models/</c>: <c>"models/staging"</c> and <c>staging</c> are the same folder.</summary>
    private static string[] Segments(string key, ConfigNode table)
    {
        var path = key.Replace('\\', '/').Trim('/');
        if (path == "models") path = "";
        else if (path.StartsWith("models/", StringComparison.Ordinal)) path = path["models/".Length..];
        var segments = path.Length == 0 ? Array.Empty<string>() : path.Split('/');
        if (segments.Any(s => s.Length == 0 || s is "." or ".."))
            throw ProjectErrors.ConfigInvalid(table.File, table.Line,
                $"path_defaults.\"{key}\": expected a folder below models/ such as \"staging\" or \"marts/*\"");
        return segments;
    }

    private static IReadOnlyList<HeaderEntry> Entries(ConfigNode table, string layer, IReadOnlyList<string> keys,
        IReadOnlyCollection<string> upstream, List<ProjectWarning> warnings)
    {
        // Only a key that means something is converted: an ignored or unknown key's value may be any TOML.
        var raw = table.Table!.Select(kv => keys.Contains(kv.Key)
            ? ToEntry(kv.Key, kv.Value, layer)
            : new HeaderEntry(kv.Key, new HeaderWord("", kv.Value.Line, 0, 0), kv.Value.Line, kv.Value.File, "", layer));
        var checkedEntries = new HeaderEntries(raw, "key", layer, keys, upstream,
            (entry, message) => ProjectErrors.ConfigInvalid(entry.File, entry.Line, message),
            entry => warnings.Add(new ProjectWarning(ErrorCodes.UpstreamKeyIgnored, "UpstreamKeyIgnored",
                $"{entry.File}:{entry.Line}: {layer} '{entry.Key}' is an upstream key SQLBuild does not implement; it is ignored{ModelKeys.IgnoredNote(entry.Key)}")));
        return checkedEntries.All.ToList();
    }

    private static HeaderEntry ToEntry(string key, ConfigNode node, string layer)
    {
        var owner = $"'{key}' in {layer}";
        SqbException Syntax(string file, int line, string message) => ProjectErrors.ConfigInvalid(file, line, message);
        if (node.Value is string s && key == "columns")
            return new HeaderEntry(key, HeaderReader.ReadValueText(s, node.File, node.Line, owner, Syntax), node.Line, node.File, s, layer);
        if (node.Value is TomlArray array && HeaderSyntaxLists.Contains(key))
        {
            var items = array.Select(item => item as string ?? throw ProjectErrors.ConfigInvalid(node.File, node.Line,
                $"{layer} {key}: expected a list of strings in MODEL header syntax, such as [\"not_null(id)\"]")).ToList();
            var text = "[" + string.Join(", ", items) + "]";
            return new HeaderEntry(key, HeaderReader.ReadValueText(text, node.File, node.Line, owner, Syntax), node.Line, node.File, text, layer);
        }
        return new HeaderEntry(key, ToValue(node.IsTable ? node : node.Value, node.Line, node.File, layer, key), node.Line, node.File, "", layer);
    }

    /// <summary>A TOML value as the header value it stands for: strings, numbers, booleans (as words), lists, and tables
    /// (as a block of named values).</summary>
    private static HeaderValue ToValue(object? value, int line, string file, string layer, string key) => value switch
    {
        ConfigNode table => new HeaderCall("", table.Table!.Select(kv =>
            new HeaderArgument(kv.Key, ToValue(kv.Value.IsTable ? kv.Value : kv.Value.Value, kv.Value.Line, file, layer, key), kv.Value.Line)).ToList(), line, 0, 0),
        TomlTable inline => new HeaderCall("", inline.Select(kv => new HeaderArgument(kv.Key, ToValue(kv.Value, line, file, layer, key), line)).ToList(), line, 0, 0),
        string s => new HeaderString(s, line, 0, 0),
        bool b => new HeaderWord(b ? "true" : "false", line, 0, 0),
        long l => new HeaderNumber(l.ToString(CultureInfo.InvariantCulture), line, 0, 0),
        double d => new HeaderNumber(d.ToString("R", CultureInfo.InvariantCulture), line, 0, 0),
        TomlArray array => new HeaderList(array.Select(item => ToValue(item, line, file, layer, key)).ToList(), line, 0, 0),
        _ => throw ProjectErrors.ConfigInvalid(file, line, $"{layer} {key}: expected a string, number, boolean, list or table"),
    };
}

using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Serialization;

namespace SQLBuild.Core.Project;

/// <summary>
/// A TOML value that remembers where it was written (file, 1-based line, dotted key path), so every
/// config error can name <c>file:line: key</c>, also after <c>sqlbuild_local.toml</c> was merged in.
/// </summary>
internal sealed class ConfigNode
{
    private ConfigNode(string file, int line, string path, object? value, Dictionary<string, ConfigNode>? table)
    {
        File = file;
        Line = line;
        Path = path;
        Value = value;
        Table = table;
    }

    public string File { get; }
    public int Line { get; }
    /// <summary>Dotted key path such as <c>connections.wh.password</c> (empty for the document root).</summary>
    public string Path { get; }
    /// <summary>A scalar (string, long, double, bool, TomlDateTime) or an array; null for a table.</summary>
    public object? Value { get; }
    /// <summary>Child keys in written order; null when this node is not a table.</summary>
    public Dictionary<string, ConfigNode>? Table { get; }

    public bool IsTable => Table is not null;

    public ConfigNode? Child(string key) => Table is not null && Table.TryGetValue(key, out var n) ? n : null;

    public static ConfigNode NewTable(string file, int line, string path) => new(file, line, path, null, new Dictionary<string, ConfigNode>(StringComparer.Ordinal));

    /// <summary>Parses one TOML file. Throws P001 with file, line, column and the parser's message.</summary>
    public static ConfigNode Parse(string text, string file)
    {
        // Validate first: the syntax parser reports duplicate keys and redefined tables, which the
        // model deserializer silently accepts (last one wins).
        var doc = SyntaxParser.Parse(text, file, true);
        var error = doc.Diagnostics.FirstOrDefault(d => d.Kind == Tomlyn.Syntax.DiagnosticMessageKind.Error);
        if (error is not null)
            throw ProjectErrors.ConfigSyntax(file, error.Span.Start.Line + 1, error.Span.Start.Column + 1, Sanitize(error.Message));

        var store = new TomlMetadataStore();
        var options = new TomlSerializerOptions
        {
            MetadataStore = store,
            SourceName = file,
            DuplicateKeyHandling = TomlDuplicateKeyHandling.Error,
        };
        TomlTable model;
        try
        {
            model = TomlSerializer.Deserialize<TomlTable>(text, options) ?? new TomlTable();
        }
        catch (TomlException ex)
        {
            var first = ex.Diagnostics?.FirstOrDefault();
            if (first is not null)
                throw ProjectErrors.ConfigSyntax(file, first.Span.Start.Line + 1, first.Span.Start.Column + 1, Sanitize(first.Message));
            throw ProjectErrors.ConfigSyntax(file, ex.Line ?? 1, ex.Column ?? 1, Sanitize(StripLocation(ex.Message)));
        }
        return FromTable(model, store, file, 1, "");
    }

    private static readonly System.Text.RegularExpressions.Regex QuotedDefinition =
        new(@" with `[^`]*`", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>Tomlyn's duplicate-key message quotes the first definition (<c>with `password = "..."`</c>):
    /// drop it, so a value (possibly a password) never reaches an error message.</summary>
    private static string Sanitize(string message) => QuotedDefinition.Replace(message, "");

    private static string StripLocation(string message)
    {
        // Tomlyn prefixes "file(l,c) : error : "; keep the parser's own words.
        var idx = message.IndexOf(": error : ", StringComparison.Ordinal);
        return idx >= 0 ? message[(idx + ": error : ".Length)..].Trim() : message.Trim();
    }

    private static ConfigNode FromTable(TomlTable table, TomlMetadataStore store, string file, int line, string path)
    {
        var node = NewTable(file, line, path);
        store.TryGetProperties(table, out var metadata);
        foreach (var (key, value) in table)
        {
            var childLine = line;
            if (metadata is not null && metadata.TryGetProperty(key, out var pm) && pm is not null)
                childLine = pm.Span.Start.Line + 1;
            var childPath = path.Length == 0 ? key : $"{path}.{key}";
            node.Table![key] = value is TomlTable sub
                ? FromTable(sub, store, file, childLine, childPath)
                : new ConfigNode(file, childLine, childPath, value, null);
        }
        return node;
    }

    /// <summary>Deep merge: tables merge key by key; any other value of <paramref name="over"/> replaces.</summary>
    public static ConfigNode Merge(ConfigNode baseNode, ConfigNode over)
    {
        if (!baseNode.IsTable || !over.IsTable) return over;
        var merged = new ConfigNode(baseNode.File, baseNode.Line, baseNode.Path, null,
            new Dictionary<string, ConfigNode>(baseNode.Table!, StringComparer.Ordinal));
        foreach (var (key, value) in over.Table!)
            merged.Table![key] = merged.Table.TryGetValue(key, out var existing) ? Merge(existing, value) : value;
        return merged;
    }

    /// <summary>A short TOML type name for "expected X, got Y" messages.</summary>
    public string TypeName => Value switch
    {
        _ when IsTable => "a table",
        string => "a string",
        long => "an integer",
        double => "a float",
        bool => "a boolean",
        TomlDateTime => "a date-time",
        TomlArray or TomlTableArray => "an array",
        null => "nothing",
        _ => Value.GetType().Name,
    };
}

using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SQLBuild.Core.Project;

/// <summary>
/// Reads <c>sources/*.yml</c>: <c>sources: [{ name: raw_customers, schema: raw, table: customers, database: db }]</c>;
/// <c>table</c> defaults to <c>name</c>, <c>database</c> is optional. Other keys (description, columns, ...) are ignored.
/// </summary>
internal static class SourceReader
{
    public static IReadOnlyList<SourceNode> Read(string fullPath, string relativePath)
    {
        var text = File.ReadAllText(fullPath);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            var line = (int)Math.Max(1, ex.Start.Line);
            var message = ex.InnerException is YamlException inner && inner.Message != ex.Message ? inner.Message : ex.Message;
            throw ProjectErrors.SourceInvalid(relativePath, line, $"invalid YAML: {StripMark(message)}", Errors.SqbErrorKind.ParserError);
        }
        catch (ArgumentException ex)
        {
            // YamlDotNet reports a duplicate mapping key this way.
            throw ProjectErrors.SourceInvalid(relativePath, 1, $"invalid YAML: {ex.Message}", Errors.SqbErrorKind.ParserError);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            return Array.Empty<SourceNode>();
        if (stream.Documents.Count > 1)
            throw ProjectErrors.SourceInvalid(relativePath, Line(stream.Documents[1].RootNode), "expected one YAML document");

        var root = stream.Documents[0].RootNode;
        if (root is not YamlMappingNode rootMap)
            throw ProjectErrors.SourceInvalid(relativePath, Line(root), "expected a mapping with a 'sources' key");
        var sourcesNode = Get(rootMap, "sources");
        if (sourcesNode is null)
            throw ProjectErrors.SourceInvalid(relativePath, Line(root), "missing key 'sources' (a list of { name, schema, table })");
        if (IsNull(sourcesNode)) return Array.Empty<SourceNode>();
        if (sourcesNode is not YamlSequenceNode list)
            throw ProjectErrors.SourceInvalid(relativePath, Line(sourcesNode), "sources: expected a list of { name, schema, table }");

        var result = new List<SourceNode>();
        foreach (var item in list.Children)
        {
            if (item is not YamlMappingNode map)
                throw ProjectErrors.SourceInvalid(relativePath, Line(item), "expected a source { name: ..., schema: ..., table: ... }");
            var line = Line(item);
            var name = Scalar(map, "name", relativePath)
                ?? throw ProjectErrors.SourceInvalid(relativePath, line, "source has no name");
            if (!ProjectCompiler.IsValidName(name))
                throw ProjectErrors.InvalidName(relativePath, Line(Get(map, "name")!), name, "source");
            var schema = Scalar(map, "schema", relativePath)
                ?? throw ProjectErrors.SourceInvalid(relativePath, line, $"source '{name}' has no schema");
            var table = Scalar(map, "table", relativePath) ?? name;
            var database = Scalar(map, "database", relativePath);
            result.Add(new SourceNode
            {
                Name = name,
                Schema = schema,
                Table = table,
                Database = database,
                Location = new SourceLocation(relativePath, line),
            });
        }
        return result;
    }

    private static string StripMark(string message)
    {
        // "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): While scanning ..." -> "While scanning ..."
        var idx = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && idx >= 0 ? message[(idx + 3)..] : message;
    }

    private static int Line(YamlNode node) => (int)Math.Max(1, node.Start.Line);

    private static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode k && k.Value == key).Value;

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode s && s.Style == YamlDotNet.Core.ScalarStyle.Plain && (s.Value is null or "" or "~" or "null");

    private static string? Scalar(YamlMappingNode map, string key, string file)
    {
        var node = Get(map, key);
        if (node is null || IsNull(node)) return null;
        if (node is not YamlScalarNode s)
            throw ProjectErrors.SourceInvalid(file, Line(node), $"{key}: expected a text value");
        var value = s.Value?.Trim();
        if (string.IsNullOrEmpty(value))
            throw ProjectErrors.SourceInvalid(file, Line(node), $"{key}: expected a non-empty value");
        return value;
    }
}

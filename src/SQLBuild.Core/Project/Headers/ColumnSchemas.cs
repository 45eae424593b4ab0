namespace SQLBuild.Core.Project;

/// <summary>A reusable column schema (<c>schemas/**/*.sql</c>), its parent's columns first.</summary>
internal sealed record ColumnSchema(string Name, string? Description, IReadOnlyList<ColumnDeclaration> Columns, string RelativePath);

/// <summary>
/// Upstream's reusable schemas, which a model binds with <c>model_schema NAME</c>:
/// <c>SCHEMA (name order, description "...", extends base, columns ( ... ));</c> in any file under <c>schemas/</c>. A
/// schema may extend one parent (transitively, without cycles) and add columns, never redeclare the parent's.
/// </summary>
internal static class ColumnSchemas
{
    private static readonly string[] Keys = { "name", "description", "extends", "columns" };

    private sealed record Declared(string Name, string? Description, string? Extends, int ExtendsLine,
        IReadOnlyList<ColumnDeclaration> Columns, string RelativePath, int Line);

    /// <param name="files">The files under schemas/: (project-relative path, text).</param>
    public static IReadOnlyDictionary<string, ColumnSchema> Load(IEnumerable<(string Relative, string Text)> files,
        IReadOnlySet<string> genericAudits, AuditSeverity defaultSeverity)
    {
        var declared = new Dictionary<string, Declared>(StringComparer.Ordinal);
        foreach (var (rel, text) in files)
        {
            var header = HeaderReader.Read(text, rel, "SCHEMA", ProjectErrors.ModelHeaderSyntax)
                ?? throw ProjectErrors.ModelHeader(rel, 1, "expected a SCHEMA ( name ..., columns ( ... ) ); declaration");
            var entries = new HeaderEntries(header.Entries, "SCHEMA key", null, Keys, Array.Empty<string>(),
                (e, message) => ProjectErrors.ModelHeader(rel, e.Line, message));
            var name = Path.GetFileNameWithoutExtension(rel);
            if (entries.TryGet("name", out var nameEntry))
                name = nameEntry.Value.AsWord() ?? throw ProjectErrors.ModelHeader(rel, nameEntry.Line, $"name: expected a schema name, got {nameEntry.Value.Describe()}");
            if (!ProjectCompiler.IsValidName(name)) throw ProjectErrors.InvalidName(rel, header.KeywordLine, name, "schema");
            if (declared.TryGetValue(name, out var other))
                throw ProjectErrors.DuplicateName($"duplicate schema '{name}': {other.RelativePath} and {rel}", name);
            string? description = null;
            if (entries.TryGet("description", out var d)) description = d.Value is HeaderString s ? s.Text
                : throw ProjectErrors.ModelHeader(rel, d.Line, $"description: expected a quoted string, got {d.Value.Describe()}");
            string? extends = null;
            var extendsLine = 0;
            if (entries.TryGet("extends", out var ext))
            {
                extends = ext.Value.AsWord() ?? throw ProjectErrors.ModelHeader(rel, ext.Line, $"extends: expected one schema name, got {ext.Value.Describe()}");
                extendsLine = ext.Line;
            }
            var columns = entries.TryGet("columns", out var c)
                ? ColumnReader.Read(c, genericAudits, defaultSeverity, null)
                : Array.Empty<ColumnDeclaration>();
            declared[name] = new Declared(name, description, extends, extendsLine, columns, rel, header.KeywordLine);
        }

        var resolved = new Dictionary<string, ColumnSchema>(StringComparer.Ordinal);
        ColumnSchema Resolve(Declared schema, List<string> chain)
        {
            if (resolved.TryGetValue(schema.Name, out var done)) return done;
            if (chain.Contains(schema.Name))
                throw ProjectErrors.ModelHeader(schema.RelativePath, schema.ExtendsLine,
                    $"schema inheritance cycle: {string.Join(" -> ", chain.Append(schema.Name))}");
            var columns = new List<ColumnDeclaration>();
            if (schema.Extends is { } parentName)
            {
                var parent = declared.GetValueOrDefault(parentName) ?? throw ProjectErrors.ModelHeader(schema.RelativePath, schema.ExtendsLine,
                    $"extends: unknown schema '{parentName}'; schemas: {string.Join(", ", declared.Keys.Order(StringComparer.Ordinal))}");
                columns.AddRange(Resolve(parent, chain.Append(schema.Name).ToList()).Columns);
            }
            foreach (var own in schema.Columns)
            {
                if (columns.Any(p => string.Equals(p.Column.Name, own.Column.Name, StringComparison.OrdinalIgnoreCase)))
                    throw ProjectErrors.ModelHeader(schema.RelativePath, own.Line,
                        $"column '{own.Column.Name}' is inherited from '{schema.Extends}': a schema cannot redeclare a parent's column");
                columns.Add(own with { Column = own.Column with { FromSchema = schema.Name } });
            }
            return resolved[schema.Name] = new ColumnSchema(schema.Name, schema.Description, columns, schema.RelativePath);
        }
        foreach (var schema in declared.Values) Resolve(schema, new List<string>());
        return resolved;
    }
}

using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>One declared column as written, with its audits; <see cref="HasMetadata"/> when it sets more than audits.</summary>
internal sealed record ColumnDeclaration(ModelColumn Column, IReadOnlyList<AuditSpec> Audits, bool HasMetadata, int Line);

/// <summary>
/// Reads a <c>columns ( name (type INTEGER, nullable false, description "...", audits [not_null]), ... )</c> block, of a
/// MODEL header or of a reusable <c>SCHEMA</c>. A type is a word (<c>INTEGER</c>), a call (<c>DECIMAL(18, 2)</c>) or a
/// string (<c>"TIMESTAMP WITH TIME ZONE"</c>); a column audit names no column (it is the column's).
/// </summary>
internal static class ColumnReader
{
    public static IReadOnlyList<ColumnDeclaration> Read(HeaderEntry entry, IReadOnlySet<string> genericAudits,
        AuditSeverity defaultSeverity, Action<HeaderEntry>? ignored)
    {
        SqbException Invalid(int line, string message) => ProjectErrors.ModelHeader(entry.File, line, message);
        if (entry.Value is not HeaderCall { Name.Length: 0 } block)
            throw Invalid(entry.Value.Line, $"columns: expected a block ( name (type INTEGER), ... ), got {entry.Value.Describe()}");

        var result = new List<ColumnDeclaration>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var arg in block.Args)
        {
            if (arg.Name is not null)
                throw Invalid(arg.Line, $"columns: expected name (type ...), got '{arg.Name}' {arg.Value.Describe()}");
            var (name, args) = arg.Value switch
            {
                HeaderCall call when call.Name.Length > 0 => (call.Name, call.Args),
                HeaderWord word => (word.Text, (IReadOnlyList<HeaderArgument>)Array.Empty<HeaderArgument>()),
                _ => throw Invalid(arg.Line, $"columns: expected name (type ...), got {arg.Value.Describe()}"),
            };
            if (seen.TryGetValue(name, out var firstLine))
                throw Invalid(arg.Line, $"columns: column '{name}' is declared twice (first on line {firstLine})");
            seen[name] = arg.Line;

            if (args.FirstOrDefault(a => a.Name is null) is { } positional)
                throw Invalid(positional.Line, $"column '{name}': expected key value pairs (type INTEGER, nullable false), got {positional.Value.Describe()}");
            var keys = new HeaderEntries(args.Select(a => new HeaderEntry(a.Name!, a.Value, a.Line, entry.File, entry.Text, entry.Layer)),
                "column key", $"column '{name}'", ModelKeys.ColumnImplemented, ModelKeys.ColumnUpstream,
                (e, message) => Invalid(e.Line, message), ignored);

            string? type = null;
            if (keys.TryGet("type", out var typeEntry)) type = TypeText(typeEntry.Value) ?? throw Invalid(typeEntry.Line,
                $"column '{name}': type: expected a type such as INTEGER, DECIMAL(18, 2) or \"TIMESTAMP WITH TIME ZONE\", got {typeEntry.Value.Describe()}");
            bool? nullable = null;
            if (keys.TryGet("nullable", out var nullEntry)) nullable = Bool(nullEntry.Value) ?? throw Invalid(nullEntry.Line,
                $"column '{name}': nullable: expected true or false, got {nullEntry.Value.Describe()}");
            string? description = null;
            if (keys.TryGet("description", out var descEntry)) description = descEntry.Value is HeaderString d ? d.Text
                : throw Invalid(descEntry.Line, $"column '{name}': description: expected a quoted string, got {descEntry.Value.Describe()}");
            var audits = new List<AuditSpec>();
            if (keys.TryGet("audits", out var auditEntry))
            {
                if (auditEntry.Value is not HeaderList list)
                    throw ProjectErrors.AuditInvalid(entry.File, auditEntry.Line, $"column '{name}': audits: expected a list [not_null, unique], got {auditEntry.Value.Describe()}");
                audits.AddRange(list.Items.Select(item => AuditSpecReader.Read(item, entry.Text, entry.File, genericAudits, defaultSeverity, name)));
            }
            result.Add(new ColumnDeclaration(new ModelColumn(name, type, nullable, description), audits,
                type is not null || nullable is not null || description is not null, arg.Line));
        }
        return result;
    }

    /// <summary>A type as one text: <c>INTEGER</c>, <c>DECIMAL(18,2)</c>, or a string as written.</summary>
    private static string? TypeText(HeaderValue value) => value switch
    {
        HeaderWord w => w.Text,
        HeaderString s when s.Text.Trim().Length > 0 => s.Text.Trim(),
        HeaderCall c when c.Name.Length > 0 && c.Args.All(a => a.Name is null && a.Value is HeaderNumber) =>
            $"{c.Name}({string.Join(",", c.Args.Select(a => ((HeaderNumber)a.Value).Text))})",
        _ => null,
    };

    public static bool? Bool(HeaderValue value) => value.AsWord()?.ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => null,
    };
}

using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>Turns a parsed <c>MODEL ( ... );</c> header into a <see cref="ModelConfig"/>, checking every key and audit.</summary>
internal static class ModelHeaderParser
{
    public static readonly string[] Keys = { "materialized", "tags", "audits", "unique_key", "incremental_strategy", "cursor", "description" };
    public static readonly string[] BuiltInAudits = { "not_null", "unique", "accepted_values", "relationships", "expression_is_true" };

    /// <summary>Parses the header of a model file. Returns the config (defaults when there is no header)
    /// and the offset where the SQL body starts.</summary>
    public static (ModelConfig Config, int BodyStart) Parse(string text, string file, IReadOnlySet<string> genericAudits)
    {
        var header = HeaderParser.Parse(text, file, "MODEL", ProjectErrors.ModelHeaderSyntax);
        if (header is null) return (new ModelConfig(), 0);

        var seen = new Dictionary<string, HEntry>(StringComparer.Ordinal);
        foreach (var e in header.Entries)
        {
            if (!Keys.Contains(e.Key))
                throw ProjectErrors.ModelHeader(file, e.Line, $"unknown MODEL key '{e.Key}'; expected one of {string.Join(", ", Keys)}");
            if (seen.ContainsKey(e.Key))
                throw ProjectErrors.ModelHeader(file, e.Line, $"duplicate MODEL key '{e.Key}' (first set on line {seen[e.Key].Line})");
            seen[e.Key] = e;
        }

        var materialized = Materialization.View;
        if (seen.TryGetValue("materialized", out var m))
        {
            materialized = Word(m, file)?.ToLowerInvariant() switch
            {
                "view" => Materialization.View,
                "table" => Materialization.Table,
                "incremental" => Materialization.Incremental,
                _ => throw ProjectErrors.ModelHeader(file, m.Value.Line,
                    $"materialized: expected view, table or incremental, got {m.Value.Describe()}"),
            };
        }

        var strategy = IncrementalStrategy.Append;
        if (seen.TryGetValue("incremental_strategy", out var s))
        {
            strategy = Word(s, file)?.ToLowerInvariant() switch
            {
                "append" => IncrementalStrategy.Append,
                "delete_insert" => IncrementalStrategy.DeleteInsert,
                "merge" => IncrementalStrategy.Merge,
                _ => throw ProjectErrors.ModelHeader(file, s.Value.Line,
                    $"incremental_strategy: expected append, delete_insert or merge, got {s.Value.Describe()}"),
            };
            if (materialized != Materialization.Incremental)
                throw ProjectErrors.ModelHeader(file, s.Line, "incremental_strategy only applies to materialized incremental");
        }

        string? cursor = null;
        if (seen.TryGetValue("cursor", out var c))
        {
            cursor = Word(c, file) ?? throw ProjectErrors.ModelHeader(file, c.Value.Line, $"cursor: expected a column name, got {c.Value.Describe()}");
            if (materialized != Materialization.Incremental)
                throw ProjectErrors.ModelHeader(file, c.Line, "cursor only applies to materialized incremental");
        }

        var uniqueKey = seen.TryGetValue("unique_key", out var u) ? NameList(u, file, "a column name or a list [a, b] of column names") : Array.Empty<string>();
        if (u is not null && uniqueKey.Count == 0)
            throw ProjectErrors.ModelHeader(file, u.Value.Line, "unique_key: expected at least one column");

        if (materialized == Materialization.Incremental && strategy != IncrementalStrategy.Append && uniqueKey.Count == 0)
        {
            var name = strategy == IncrementalStrategy.DeleteInsert ? "delete_insert" : "merge";
            throw ProjectErrors.ModelHeader(file, s!.Line, $"incremental_strategy {name} needs unique_key (a column or [a, b])");
        }

        var tags = seen.TryGetValue("tags", out var t) ? NameList(t, file, "a list of tags [a, b]").Distinct(StringComparer.Ordinal).ToArray() : Array.Empty<string>();

        string? description = null;
        if (seen.TryGetValue("description", out var d))
        {
            description = d.Value is HString ds ? ds.Text
                : throw ProjectErrors.ModelHeader(file, d.Value.Line, $"description: expected a quoted string 'text', got {d.Value.Describe()}");
        }

        var audits = new List<AuditSpec>();
        if (seen.TryGetValue("audits", out var a))
        {
            if (a.Value is not HList list)
                throw ProjectErrors.AuditInvalid(file, a.Value.Line, $"audits: expected a list [not_null(col), ...], got {a.Value.Describe()}");
            foreach (var item in list.Items)
                audits.Add(ParseAudit(item, text, file, genericAudits));
        }

        var config = new ModelConfig
        {
            Materialized = materialized,
            Tags = tags,
            Audits = audits,
            UniqueKey = uniqueKey,
            IncrementalStrategy = strategy,
            Cursor = cursor,
            Description = description,
        };
        return (config, header.BodyStart);
    }

    private static string? Word(HEntry e, string file) => e.Value switch
    {
        HWord w => w.Text,
        HString s => s.Text,
        _ => null,
    };

    private static IReadOnlyList<string> NameList(HEntry e, string file, string expected)
    {
        switch (e.Value)
        {
            case HWord w: return new[] { w.Text };
            case HString s: return new[] { s.Text };
            case HList list:
                var result = new List<string>();
                foreach (var item in list.Items)
                {
                    result.Add(item switch
                    {
                        HWord w => w.Text,
                        HString s => s.Text,
                        _ => throw ProjectErrors.ModelHeader(file, item.Line, $"{e.Key}: expected {expected}, got {item.Describe()}"),
                    });
                }
                return result;
            default:
                throw ProjectErrors.ModelHeader(file, e.Value.Line, $"{e.Key}: expected {expected}, got {e.Value.Describe()}");
        }
    }

    // ---- audits --------------------------------------------------------------------------------

    private static AuditSpec ParseAudit(HValue v, string text, string file, IReadOnlySet<string> genericAudits)
    {
        var (name, args) = v switch
        {
            HCall call when call.Name.Length > 0 => (call.Name, call.Args),
            HWord w => (w.Text, (IReadOnlyList<HArg>)Array.Empty<HArg>()),
            _ => throw ProjectErrors.AuditInvalid(file, v.Line, $"expected an audit such as not_null(col), got {v.Describe()}"),
        };
        var location = new SourceLocation(file, v.Line);
        var isBuiltIn = BuiltInAudits.Contains(name);
        if (!isBuiltIn && !genericAudits.Contains(name))
            throw ProjectErrors.AuditInvalid(file, v.Line,
                $"unknown audit '{name}': expected a built-in ({string.Join(", ", BuiltInAudits)}) or a generic audit audits/{name}.sql");

        var positional = args.Where(x => x.Name is null).ToList();
        var named = new Dictionary<string, HArg>(StringComparer.Ordinal);
        foreach (var arg in args.Where(x => x.Name is not null))
        {
            if (!named.TryAdd(arg.Name!, arg))
                throw ProjectErrors.AuditInvalid(file, arg.Line, $"{name}: duplicate argument '{arg.Name}'");
        }

        var severity = AuditSeverity.Error;
        if (named.Remove("severity", out var sev))
        {
            severity = (sev.Value is HWord sw ? sw.Text : sev.Value is HString ss ? ss.Text : null)?.ToLowerInvariant() switch
            {
                "warn" => AuditSeverity.Warn,
                "error" => AuditSeverity.Error,
                _ => throw ProjectErrors.AuditInvalid(file, sev.Line, $"{name}: severity: expected warn or error, got {sev.Value.Describe()}"),
            };
        }

        string RequireColumn()
        {
            if (positional.Count == 0)
                throw ProjectErrors.AuditInvalid(file, v.Line, $"{name} needs a column: {name}(column{(name == "accepted_values" ? ", values [...]" : name == "relationships" ? ", to \"model\", field \"col\"" : "")})");
            if (positional.Count > 1)
                throw ProjectErrors.AuditInvalid(file, positional[1].Line, $"{name}: expected one column, got another positional argument {positional[1].Value.Describe()}");
            return NameOf(positional[0].Value) ?? throw ProjectErrors.AuditInvalid(file, positional[0].Line,
                $"{name}: expected a column name, got {positional[0].Value.Describe()}");
        }

        string RequireNamed(string key, string expected)
        {
            if (!named.Remove(key, out var arg))
                throw ProjectErrors.AuditInvalid(file, v.Line, $"{name} needs {key} {expected}");
            return NameOf(arg.Value) ?? throw ProjectErrors.AuditInvalid(file, arg.Line, $"{name}: {key}: expected {expected}, got {arg.Value.Describe()}");
        }

        void NoMoreNamed(string allowed)
        {
            if (named.Count > 0)
            {
                var extra = named.Values.First();
                throw ProjectErrors.AuditInvalid(file, extra.Line, $"{name}: unknown argument '{extra.Name}'; expected {allowed}");
            }
        }

        switch (name)
        {
            case "not_null":
            case "unique":
                {
                    var column = RequireColumn();
                    NoMoreNamed("severity");
                    return new AuditSpec { Name = name, Column = column, Severity = severity, Location = location };
                }
            case "accepted_values":
                {
                    var column = RequireColumn();
                    if (!named.Remove("values", out var valuesArg))
                        throw ProjectErrors.AuditInvalid(file, v.Line, "accepted_values needs values ['a', 'b']");
                    if (valuesArg.Value is not HList list || list.Items.Count == 0)
                        throw ProjectErrors.AuditInvalid(file, valuesArg.Line,
                            $"accepted_values: values: expected a non-empty list ['a', 'b'], got {(valuesArg.Value is HList ? "an empty list" : valuesArg.Value.Describe())}");
                    var values = list.Items.Select(item => item switch
                    {
                        HString s => s.Text,
                        HNumber n => n.Text,
                        HWord w => w.Text,
                        _ => throw ProjectErrors.AuditInvalid(file, item.Line, $"accepted_values: expected a string or number, got {item.Describe()}"),
                    }).ToArray();
                    NoMoreNamed("values, severity");
                    return new AuditSpec { Name = name, Column = column, Values = values, Severity = severity, Location = location };
                }
            case "relationships":
                {
                    var column = RequireColumn();
                    var to = RequireNamed("to", "\"model\"");
                    var field = RequireNamed("field", "\"column\"");
                    NoMoreNamed("to, field, severity");
                    return new AuditSpec { Name = name, Column = column, ToModel = to, ToField = field, Severity = severity, Location = location };
                }
            case "expression_is_true":
                {
                    HArg? exprArg = null;
                    if (named.Remove("expression", out var namedExpr)) exprArg = namedExpr;
                    if (positional.Count > (exprArg is null ? 1 : 0))
                        throw ProjectErrors.AuditInvalid(file, positional[^1].Line, "expression_is_true: expected one expression string");
                    exprArg ??= positional.FirstOrDefault();
                    if (exprArg is null)
                        throw ProjectErrors.AuditInvalid(file, v.Line, "expression_is_true needs an expression: expression_is_true(\"amount >= 0\")");
                    if (exprArg.Value is not HString expr || expr.Text.Trim().Length == 0)
                        throw ProjectErrors.AuditInvalid(file, exprArg.Line, $"expression_is_true: expected a quoted SQL expression, got {exprArg.Value.Describe()}");
                    NoMoreNamed("severity");
                    return new AuditSpec { Name = name, Expression = expr.Text, Severity = severity, Location = location };
                }
            default:
                {
                    string? column = null;
                    if (named.Remove("column", out var colArg))
                        column = NameOf(colArg.Value) ?? throw ProjectErrors.AuditInvalid(file, colArg.Line, $"{name}: column: expected a column name, got {colArg.Value.Describe()}");
                    if (positional.Count > (column is null ? 1 : 0))
                        throw ProjectErrors.AuditInvalid(file, positional[^1].Line,
                            $"{name}: expected at most one positional argument (the column); pass the others as key value");
                    if (column is null && positional.Count == 1)
                        column = NameOf(positional[0].Value) ?? throw ProjectErrors.AuditInvalid(file, positional[0].Line,
                            $"{name}: expected a column name, got {positional[0].Value.Describe()}");
                    var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var (key, arg) in named)
                        arguments[key] = text[arg.Value.Start..arg.Value.End];
                    return new AuditSpec { Name = name, Column = column, Arguments = arguments, Severity = severity, Location = location };
                }
        }
    }

    private static string? NameOf(HValue v) => v switch
    {
        HWord w => w.Text,
        HString s when s.Text.Length > 0 => s.Text,
        _ => null,
    };
}

namespace SQLBuild.Core.Project;

/// <summary>
/// One item of a MODEL header's <c>audits [...]</c> list as an <see cref="AuditSpec"/>: a built-in audit with its
/// column and arguments checked, or a generic audit from <c>audits/NAME.sql</c> with its named arguments as written.
/// A column's audits (<c>columns ( id (audits [not_null, unique]) )</c>) name no column: theirs is implied.
/// </summary>
internal static class AuditSpecReader
{
    public static readonly string[] BuiltInAudits = { "not_null", "unique", "accepted_values", "relationships", "expression_is_true" };

    /// <param name="defaultSeverity">The severity of an audit that sets none ([settings] default_audit_severity).</param>
    /// <param name="impliedColumn">The column of a column audit; null for a model audit.</param>
    public static AuditSpec Read(HeaderValue item, string text, string file, IReadOnlySet<string> genericAudits,
        AuditSeverity defaultSeverity = AuditSeverity.Error, string? impliedColumn = null)
    {
        var (name, args) = item switch
        {
            HeaderCall call when call.Name.Length > 0 => (call.Name, call.Args),
            HeaderWord word => (word.Text, (IReadOnlyList<HeaderArgument>)Array.Empty<HeaderArgument>()),
            _ => throw ProjectErrors.AuditInvalid(file, item.Line, $"expected an audit such as not_null(col), got {item.Describe()}"),
        };
        var location = new SourceLocation(file, item.Line);
        var isBuiltIn = BuiltInAudits.Contains(name);
        if (!isBuiltIn && !genericAudits.Contains(name))
            throw ProjectErrors.AuditInvalid(file, item.Line,
                $"unknown audit '{name}': expected a built-in ({string.Join(", ", BuiltInAudits)}) or a generic audit audits/{name}.sql");

        var positional = args.Where(x => x.Name is null).ToList();
        var named = new Dictionary<string, HeaderArgument>(StringComparer.Ordinal);
        foreach (var arg in args.Where(x => x.Name is not null))
        {
            if (!named.TryAdd(arg.Name!, arg))
                throw ProjectErrors.AuditInvalid(file, arg.Line, $"{name}: duplicate argument '{arg.Name}'");
        }

        var severity = defaultSeverity;
        if (named.Remove("severity", out var severityArg))
        {
            severity = severityArg.Value.AsWord()?.ToLowerInvariant() switch
            {
                "warn" => AuditSeverity.Warn,
                "error" => AuditSeverity.Error,
                _ => throw ProjectErrors.AuditInvalid(file, severityArg.Line, $"{name}: severity: expected warn or error, got {severityArg.Value.Describe()}"),
            };
        }

        string RequireColumn()
        {
            if (impliedColumn is not null)
            {
                if (positional.Count > 0)
                    throw ProjectErrors.AuditInvalid(file, positional[0].Line,
                        $"{name}: an audit of column '{impliedColumn}' names no column, got {positional[0].Value.Describe()}");
                return impliedColumn;
            }
            if (positional.Count == 0)
                throw ProjectErrors.AuditInvalid(file, item.Line, $"{name} needs a column: {name}(column{(name == "accepted_values" ? ", values [...]" : name == "relationships" ? ", to \"model\", field \"col\"" : "")})");
            if (positional.Count > 1)
                throw ProjectErrors.AuditInvalid(file, positional[1].Line, $"{name}: expected one column, got another positional argument {positional[1].Value.Describe()}");
            return NameOf(positional[0].Value) ?? throw ProjectErrors.AuditInvalid(file, positional[0].Line,
                $"{name}: expected a column name, got {positional[0].Value.Describe()}");
        }

        string RequireNamed(string key, string expected)
        {
            if (!named.Remove(key, out var arg))
                throw ProjectErrors.AuditInvalid(file, item.Line, $"{name} needs {key} {expected}");
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
                        throw ProjectErrors.AuditInvalid(file, item.Line, "accepted_values needs values ['a', 'b']");
                    if (valuesArg.Value is not HeaderList list || list.Items.Count == 0)
                        throw ProjectErrors.AuditInvalid(file, valuesArg.Line,
                            $"accepted_values: values: expected a non-empty list ['a', 'b'], got {(valuesArg.Value is HeaderList ? "an empty list" : valuesArg.Value.Describe())}");
                    var values = list.Items.Select(item => item switch
                    {
                        HeaderString s => s.Text,
                        HeaderNumber n => n.Text,
                        HeaderWord w => w.Text,
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
                    HeaderArgument? exprArg = null;
                    if (named.Remove("expression", out var namedExpr)) exprArg = namedExpr;
                    if (positional.Count > (exprArg is null ? 1 : 0))
                        throw ProjectErrors.AuditInvalid(file, positional[^1].Line, "expression_is_true: expected one expression string");
                    exprArg ??= positional.FirstOrDefault();
                    if (exprArg is null)
                        throw ProjectErrors.AuditInvalid(file, item.Line, "expression_is_true needs an expression: expression_is_true(\"amount >= 0\")");
                    if (exprArg.Value is not HeaderString expr || expr.Text.Trim().Length == 0)
                        throw ProjectErrors.AuditInvalid(file, exprArg.Line, $"expression_is_true: expected a quoted SQL expression, got {exprArg.Value.Describe()}");
                    NoMoreNamed("severity");
                    return new AuditSpec { Name = name, Expression = expr.Text, Severity = severity, Location = location };
                }
            default:
                {
                    var column = impliedColumn;
                    if (named.Remove("column", out var colArg))
                        column = NameOf(colArg.Value) ?? throw ProjectErrors.AuditInvalid(file, colArg.Line, $"{name}: column: expected a column name, got {colArg.Value.Describe()}");
                    if (positional.Count > (column is null ? 1 : 0))
                        throw ProjectErrors.AuditInvalid(file, positional[^1].Line, impliedColumn is null
                            ? $"{name}: expected at most one positional argument (the column); pass the others as key value"
                            : $"{name}: an audit of column '{impliedColumn}' names no column; pass the other arguments as key value");
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

    /// <summary>A column or model name: a word or a non-empty string.</summary>
    private static string? NameOf(HeaderValue value) => value.AsWord() is { Length: > 0 } name ? name : null;
}

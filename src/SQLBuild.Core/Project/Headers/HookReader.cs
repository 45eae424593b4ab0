using System.Text;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>A reusable SQL hook: <c>hooks/sql/**/NAME.sql</c>, whose <c>@param</c> (raw) and <c>@'param'</c> (a SQL
/// string literal) placeholders the calling model fills in.</summary>
internal sealed record NamedHook(string Name, string Sql, string RelativePath, int StartLine);

/// <summary>
/// Reads <c>pre_hooks</c> / <c>post_hooks</c>: an ordered list of <c>inline_sql("...")</c>, <c>sql("name", arg: value,
/// ...)</c> (a <see cref="NamedHook"/>) and upstream's <c>python("name", ...)</c>, which SQLBuild does not run (a warning
/// names it). A bare string is inline SQL too. Project variables are substituted now; <c>@@CTX:...</c> at run time.
/// </summary>
internal static class HookReader
{
    public static IReadOnlyList<ModelHook> Read(HeaderEntry entry, ModelContext context)
    {
        SqbException Invalid(int line, string message) => ProjectErrors.ModelHeader(entry.File, line, message);
        if (entry.Value is not HeaderList list)
            throw Invalid(entry.Value.Line, $"{entry.Key}: expected a list [inline_sql(\"...\"), sql(\"name\")], got {entry.Value.Describe()}");
        var hooks = new List<ModelHook>();
        for (var i = 0; i < list.Items.Count; i++)
        {
            var item = list.Items[i];
            var label = $"{entry.Key}[{i + 1}]";
            var location = new SourceLocation(entry.File, item.Line);
            switch (item)
            {
                case HeaderString s:
                    hooks.Add(new ModelHook($"{label} inline_sql", Inline(s.Text, entry, item.Line, context, label), location));
                    break;
                case HeaderCall { Name: "inline_sql" } call:
                    if (call.Args.Count != 1 || call.Args[0].Name is not null || call.Args[0].Value is not HeaderString sql)
                        throw Invalid(item.Line, $"{label}: inline_sql takes one quoted SQL statement: inline_sql(\"ANALYZE ...\")");
                    hooks.Add(new ModelHook($"{label} inline_sql", Inline(sql.Text, entry, item.Line, context, label), location));
                    break;
                case HeaderCall { Name: "sql" } call:
                    var name = call.Args.FirstOrDefault() is { Name: null, Value: HeaderString or HeaderWord } first ? first.Value.AsWord()! : null;
                    if (name is null) throw Invalid(item.Line, $"{label}: sql(\"name\", ...) names a hook of hooks/sql/ first");
                    var hook = context.Hooks.GetValueOrDefault(name) ?? throw Invalid(item.Line,
                        $"{label}: unknown SQL hook '{name}': expected hooks/sql/{name}.sql" +
                        (context.Hooks.Count == 0 ? "" : $" (hooks: {string.Join(", ", context.Hooks.Keys.Order(StringComparer.Ordinal))})"));
                    hooks.Add(new ModelHook($"{label} sql(\"{name}\")", Named(hook, call, entry, item.Line, context, label), location));
                    break;
                case HeaderCall { Name: "python" } call:
                    var python = call.Args.FirstOrDefault()?.Value.AsWord() ?? "?";
                    context.Ignore($"python hook '{python}'", $"{entry.File}:{item.Line}",
                        $"{entry.Key} python(\"{python}\") is an upstream Python hook, which SQLBuild does not run; it is ignored");
                    break;
                default:
                    throw Invalid(item.Line, $"{label}: expected inline_sql(\"...\"), sql(\"name\", ...) or python(\"name\", ...), got {item.Describe()}");
            }
        }
        return hooks;
    }

    private static string Inline(string sql, HeaderEntry entry, int line, ModelContext context, string label)
    {
        if (sql.Trim().Length == 0) throw ProjectErrors.ModelHeader(entry.File, line, $"{label}: the hook's SQL is empty");
        return context.Variables.Substitute(sql, entry.File, new LineMap(sql, line), hook: true);
    }

    /// <summary>The named hook's SQL with the call's arguments in place of its <c>@param</c> and <c>@'param'</c>.</summary>
    private static string Named(NamedHook hook, HeaderCall call, HeaderEntry entry, int line, ModelContext context, string label)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var arg in call.Args.Skip(1))
        {
            if (arg.Name is null)
                throw ProjectErrors.ModelHeader(entry.File, arg.Line, $"{label}: pass the arguments of sql(\"{hook.Name}\") by name: role: \"analyst\"");
            args[arg.Name] = arg.Value switch
            {
                HeaderString s => s.Text,
                HeaderWord w => w.Text,
                HeaderNumber n => n.Text,
                _ => throw ProjectErrors.ModelHeader(entry.File, arg.Line, $"{label}: argument '{arg.Name}': expected a string, word or number, got {arg.Value.Describe()}"),
            };
        }
        var used = new HashSet<string>(StringComparer.Ordinal);
        var sb = new StringBuilder();
        var sql = hook.Sql;
        var i = 0;
        while (i < sql.Length)
        {
            if (sql[i] != '@')
            {
                // Comments, string literals and quoted identifiers hold no parameter ('ops@example.com').
                var end = SqlLexer.SkipNonCode(sql, i);
                if (end == i) end = i + 1;
                sb.Append(sql, i, end - i);
                i = end;
                continue;
            }
            if ((i > 0 && sql[i - 1] == '@') || (i + 1 < sql.Length && sql[i + 1] == '@'))
            {
                sb.Append(sql[i++]);
                continue;
            }
            var quoted = i + 1 < sql.Length && sql[i + 1] == '\'';
            var start = i + (quoted ? 2 : 1);
            var j = start;
            while (j < sql.Length && (char.IsLetterOrDigit(sql[j]) || sql[j] == '_')) j++;
            var name = sql[start..j];
            if (name.Length == 0 || quoted && (j >= sql.Length || sql[j] != '\''))
            {
                sb.Append(sql[i++]);
                continue;
            }
            if (!args.TryGetValue(name, out var value))
                throw ProjectErrors.ModelHeader(entry.File, line,
                    $"{label}: hooks/sql hook '{hook.Name}' uses @{name}, which sql(\"{hook.Name}\", ...) does not pass");
            used.Add(name);
            sb.Append(quoted ? DialectText.Literal(value) : value);
            i = quoted ? j + 1 : j;
        }
        if (args.Keys.FirstOrDefault(k => !used.Contains(k)) is { } unused)
            throw ProjectErrors.ModelHeader(entry.File, line, $"{label}: hook '{hook.Name}' has no parameter '{unused}' ({hook.RelativePath} uses none by that name)");
        var rendered = sb.ToString();
        return context.Variables.Substitute(rendered, hook.RelativePath, new LineMap(rendered, hook.StartLine), hook: true);
    }
}

using System.Text;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// Upstream's SQL interpolation, at compile time: <c>@@name</c> is the project variable from <c>[vars]</c> (the active
/// target's <c>[targets.NAME.vars]</c> win), <c>@@ENV:NAME</c> an environment variable. Either one undefined is P018 at
/// its file and line. <c>@@@name</c> (a runtime placeholder) stays as written, comments are left alone, and on SQL Server
/// a T-SQL global such as <c>@@ROWCOUNT</c> stays too unless a variable of that name is defined. In hook SQL
/// <c>@@CTX:...</c> stays for the run to fill in (<see cref="ContextKeys"/>); anywhere else it is an error.
/// </summary>
internal sealed class ProjectVariables
{
    /// <summary>The <c>@@CTX:</c> keys a hook may use; the longest one that matches is taken, so
    /// <c>@@CTX:destination.schema.x</c> is the schema followed by <c>.x</c>.</summary>
    public static readonly string[] ContextKeys = { "destination.qualified", "destination.schema", "destination.table", "model.name" };

    private static readonly HashSet<string> SqlServerGlobals = new(StringComparer.OrdinalIgnoreCase)
    {
        "ROWCOUNT", "ERROR", "IDENTITY", "TRANCOUNT", "SPID", "SERVERNAME", "SERVICENAME", "VERSION", "FETCH_STATUS",
        "DATEFIRST", "LANGUAGE", "LANGID", "LOCK_TIMEOUT", "MAX_CONNECTIONS", "MAX_PRECISION", "NESTLEVEL", "OPTIONS",
        "PROCID", "REMSERVER", "TEXTSIZE", "DBTS", "CONNECTIONS", "CPU_BUSY", "IDLE", "IO_BUSY", "PACKET_ERRORS",
        "PACK_RECEIVED", "PACK_SENT", "TIMETICKS", "TOTAL_ERRORS", "TOTAL_READ", "TOTAL_WRITE", "CURSOR_ROWS",
    };

    private readonly IReadOnlyDictionary<string, string> _values;
    private readonly AdapterKind _adapter;

    public ProjectVariables(IReadOnlyDictionary<string, string> values, AdapterKind adapter)
    {
        _values = values;
        _adapter = adapter;
    }

    /// <summary>
    /// Substitutes the variables of <paramref name="sql"/>; <paramref name="lines"/> maps its offsets to the lines of
    /// <paramref name="file"/> for errors. <paramref name="hook"/> lets <c>@@CTX:</c> through.
    /// </summary>
    public string Substitute(string sql, string file, LineMap lines, bool hook = false)
    {
        if (!sql.Contains("@@", StringComparison.Ordinal)) return sql;
        var sb = new StringBuilder(sql.Length);
        var i = 0;
        while (i < sql.Length)
        {
            if (SqlLexer.IsCommentStart(sql, i))
            {
                var end = SqlLexer.SkipComment(sql, i);
                sb.Append(sql, i, end - i);
                i = end;
                continue;
            }
            if (sql[i] != '@' || i + 1 >= sql.Length || sql[i + 1] != '@')
            {
                sb.Append(sql[i++]);
                continue;
            }
            var run = i;
            while (run < sql.Length && sql[run] == '@') run++;
            if (run - i != 2)
            {
                sb.Append(sql, i, run - i);       // @@@placeholder (or more): left for the runtime
                i = run;
                continue;
            }
            i = SubstituteOne(sql, i, run, sb, file, lines, hook);
        }
        return sb.ToString();
    }

    private int SubstituteOne(string sql, int at, int nameStart, StringBuilder sb, string file, LineMap lines, bool hook)
    {
        if (StartsWith(sql, nameStart, "ENV:"))
        {
            var (env, end) = Identifier(sql, nameStart + 4);
            if (env.Length == 0) throw Undefined(file, lines.LineOf(at), "'@@ENV:' names no environment variable");
            var value = Environment.GetEnvironmentVariable(env)
                ?? throw Undefined(file, lines.LineOf(at), $"environment variable '{env}' of '@@ENV:{env}' is not set");
            sb.Append(value);
            return end;
        }
        if (StartsWith(sql, nameStart, "CTX:"))
        {
            var key = ContextKeys.Where(k => StartsWith(sql, nameStart + 4, k)).OrderByDescending(k => k.Length).FirstOrDefault();
            if (!hook)
                throw Undefined(file, lines.LineOf(at), "'@@CTX:' is for hook SQL only (pre_hooks and post_hooks)");
            if (key is null)
                throw Undefined(file, lines.LineOf(at), $"unknown context variable after '@@CTX:'; expected one of {string.Join(", ", ContextKeys)}");
            var end = nameStart + 4 + key.Length;
            sb.Append(sql, at, end - at);
            return end;
        }
        var (name, nameEnd) = Identifier(sql, nameStart);
        if (name.Length == 0)
        {
            sb.Append("@@");
            return nameStart;
        }
        if (_values.TryGetValue(name, out var text))
        {
            sb.Append(text);
            return nameEnd;
        }
        if (_adapter == AdapterKind.SqlServer && SqlServerGlobals.Contains(name))
        {
            sb.Append(sql, at, nameEnd - at);
            return nameEnd;
        }
        var defined = _values.Count == 0 ? "no [vars] are defined" : "defined: " + string.Join(", ", _values.Keys.Order(StringComparer.Ordinal));
        throw Undefined(file, lines.LineOf(at), $"undefined variable '@@{name}'; {defined}");
    }

    private static bool StartsWith(string s, int i, string prefix) =>
        string.CompareOrdinal(s, i, prefix, 0, prefix.Length) == 0;

    private static (string Name, int End) Identifier(string s, int i)
    {
        var j = i;
        if (j < s.Length && SqlLexer.IsIdentStart(s[j]))
            while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] == '_')) j++;
        return (s[i..j], j);
    }

    private static SqbException Undefined(string file, int line, string message) =>
        new(ErrorCodes.VariableUndefined, "VariableUndefined", $"{ProjectErrors.At(file, line)}: {message}",
            SqbErrorKind.InvalidData, new SourceLocation(file, Math.Max(line, 1)),
            $"Define it under [vars] (or [targets.<target>.vars]) in {ConfigLoader.ProjectFileName}, or set the environment variable.");
}

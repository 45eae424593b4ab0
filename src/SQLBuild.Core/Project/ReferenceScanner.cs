using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// Finds <c>__ref("x")</c>, <c>__seed("x")</c> and <c>__source("x")</c> calls in SQL code (never inside a
/// string literal, quoted identifier or comment). Single or double quotes; whitespace allowed around
/// the parentheses' content.
/// </summary>
internal static class ReferenceScanner
{
    /// <param name="sql">The SQL text the references index into.</param>
    /// <param name="file">Project-relative file name for locations and errors.</param>
    /// <param name="lines">Maps offsets of <paramref name="sql"/> to file lines and columns.</param>
    public static IReadOnlyList<Reference> Scan(string sql, string file, LineMap lines)
    {
        var result = new List<Reference>();
        var i = 0;
        while (i < sql.Length)
        {
            var skipped = SqlLexer.SkipNonCode(sql, i);
            if (skipped != i) { i = skipped; continue; }
            var c = sql[i];
            if (!SqlLexer.IsIdentStart(c)) { i++; continue; }

            var start = i;
            while (i < sql.Length && SqlLexer.IsIdentChar(sql[i])) i++;
            if (start > 0 && (SqlLexer.IsIdentChar(sql[start - 1]) || sql[start - 1] == '.')) continue;
            var word = sql[start..i];
            ReferenceKind kind;
            switch (word)
            {
                case "__ref": kind = ReferenceKind.Ref; break;
                case "__seed": kind = ReferenceKind.Seed; break;
                case "__source": kind = ReferenceKind.Source; break;
                default: continue;
            }

            var line = lines.LineOf(start);
            SqbException Malformed() => ProjectErrors.UnknownReference(file, line,
                $"malformed reference: expected {word}(\"name\")", SqbErrorKind.ParserError);

            var j = SkipSpaces(sql, i);
            if (j >= sql.Length || sql[j] != '(') throw Malformed();
            j = SkipSpaces(sql, j + 1);
            if (j >= sql.Length || (sql[j] != '"' && sql[j] != '\'')) throw Malformed();
            var quote = sql[j];
            var nameStart = j + 1;
            var nameEnd = sql.IndexOf(quote, nameStart);
            if (nameEnd < 0) throw Malformed();
            var name = sql[nameStart..nameEnd];
            if (name.Length == 0 || name.Contains('\n')) throw Malformed();
            j = SkipSpaces(sql, nameEnd + 1);
            if (j >= sql.Length || sql[j] != ')') throw Malformed();
            var end = j + 1;

            result.Add(new Reference(kind, name, start, end - start, new SourceLocation(file, line, lines.ColumnOf(start))));
            i = end;
        }
        return result;
    }

    private static int SkipSpaces(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        return i;
    }

    /// <summary>The call as written, e.g. <c>__ref("x")</c>, for messages.</summary>
    public static string CallText(string sql, Reference r) => sql.Substring(r.Start, r.Length);
}

namespace SQLBuild.Core.Adapters;

/// <summary>
/// Splits a T-SQL query so it can be embedded where SQL Server accepts only a plain query expression
/// (derived table of <c>SELECT .. INTO</c>, <c>COUNT</c> wrapper, view body):
/// <list type="bullet">
/// <item>a leading CTE list (<c>WITH a AS (..), b AS (..)</c>) becomes <see cref="Prefix"/>, written before the
/// outer statement, because a CTE cannot stand inside a derived table;</item>
/// <item>a top-level <c>ORDER BY</c> without <c>TOP</c>, <c>OFFSET</c> or <c>FOR</c> gets <c>OFFSET 0 ROWS</c>
/// appended, which makes it legal in a derived table or view without changing the rows;</item>
/// <item>a trailing top-level <c>OPTION (..)</c> query hint moves to <see cref="Option"/>, for the outer statement.</item>
/// </list>
/// A lightweight lexer (comments, nested block comments, string literals, quoted and bracketed names)
/// finds these at parenthesis depth 0. When the text does not have a shape it recognises, the query is
/// left as written and SQL Server reports whatever is wrong with it.
/// </summary>
internal sealed class TSqlQueryShape
{
    public string Prefix { get; }
    public string Body { get; }
    public string Option { get; }

    private TSqlQueryShape(string prefix, string body, string option)
    {
        Prefix = prefix;
        Body = body;
        Option = option;
    }

    private enum TokKind { Word, Quoted, Str, Punct, Other }

    private readonly record struct Tok(TokKind Kind, int Start, int End, string Text)
    {
        public bool Is(string word) => Kind == TokKind.Word && string.Equals(Text, word, StringComparison.OrdinalIgnoreCase);
        public bool IsPunct(char c) => Kind == TokKind.Punct && Text.Length == 1 && Text[0] == c;
    }

    public static TSqlQueryShape Analyze(string sql)
    {
        var text = DialectText.TrimQuery(sql);
        var toks = Lex(text);
        if (toks is null) return new TSqlQueryShape("", text, "");
        // Drop trailing statement terminators (and anything after them, only comments can be there).
        while (toks.Count > 0 && toks[^1].IsPunct(';')) toks.RemoveAt(toks.Count - 1);
        if (toks.Count == 0) return new TSqlQueryShape("", text, "");
        text = text[..toks[^1].End];

        var bodyStart = 0;
        if (toks[0].Is("WITH"))
        {
            var i = SkipCteList(toks, 1);
            if (i < 0 || i >= toks.Count) return new TSqlQueryShape("", text, "");
            bodyStart = i;
        }

        var prefix = text[..toks[bodyStart].Start];
        var bodyToks = toks.GetRange(bodyStart, toks.Count - bodyStart);
        var bodyEnd = text.Length;
        var option = "";

        // Top-level OPTION ( ... ) at the end.
        var optionAt = FindTopLevel(bodyToks, t => t.Is("OPTION"));
        if (optionAt >= 0 && optionAt + 1 < bodyToks.Count && bodyToks[optionAt + 1].IsPunct('('))
        {
            var close = MatchParen(bodyToks, optionAt + 1);
            if (close == bodyToks.Count - 1)
            {
                option = text[bodyToks[optionAt].Start..bodyToks[close].End];
                bodyEnd = bodyToks[optionAt].Start;
                bodyToks = bodyToks.GetRange(0, optionAt);
            }
        }

        var body = text[toks[bodyStart].Start..bodyEnd].TrimEnd();

        var orderAt = -1;
        var depth = 0;
        for (var i = 0; i < bodyToks.Count; i++)
        {
            var t = bodyToks[i];
            if (t.IsPunct('(')) depth++;
            else if (t.IsPunct(')')) depth--;
            else if (depth == 0 && t.Is("ORDER") && i + 1 < bodyToks.Count && bodyToks[i + 1].Is("BY")) orderAt = i;
        }
        if (orderAt >= 0)
        {
            var hasTop = FindTopLevel(bodyToks, t => t.Is("TOP")) >= 0;
            var tail = bodyToks.GetRange(orderAt, bodyToks.Count - orderAt);
            var offsetAt = FindTopLevel(tail, t => t.Is("OFFSET"));
            var hasOffset = offsetAt >= 0 && FindTopLevel(tail.GetRange(offsetAt, tail.Count - offsetAt), t => t.Is("ROW") || t.Is("ROWS")) >= 0;
            var hasOffsetOrFor = hasOffset || FindTopLevel(tail, t => t.Is("FOR")) >= 0;
            if (!hasTop && !hasOffsetOrFor) body += "\nOFFSET 0 ROWS";
        }

        return new TSqlQueryShape(prefix, body, option);
    }

    /// <summary>Skips "name [(cols)] AS ( ... ) [, ...]" and returns the index of the first token after the list, or -1.</summary>
    private static int SkipCteList(List<Tok> toks, int i)
    {
        while (true)
        {
            if (i >= toks.Count || (toks[i].Kind != TokKind.Word && toks[i].Kind != TokKind.Quoted)) return -1;
            i++;
            if (i < toks.Count && toks[i].IsPunct('('))
            {
                i = MatchParen(toks, i);
                if (i < 0) return -1;
                i++;
            }
            if (i >= toks.Count || !toks[i].Is("AS")) return -1;
            i++;
            if (i >= toks.Count || !toks[i].IsPunct('(')) return -1;
            i = MatchParen(toks, i);
            if (i < 0) return -1;
            i++;
            if (i < toks.Count && toks[i].IsPunct(',')) { i++; continue; }
            return i;
        }
    }

    private static int MatchParen(List<Tok> toks, int open)
    {
        var depth = 0;
        for (var i = open; i < toks.Count; i++)
        {
            if (toks[i].IsPunct('(')) depth++;
            else if (toks[i].IsPunct(')') && --depth == 0) return i;
        }
        return -1;
    }

    private static int FindTopLevel(List<Tok> toks, Func<Tok, bool> match)
    {
        var depth = 0;
        for (var i = 0; i < toks.Count; i++)
        {
            var t = toks[i];
            if (t.IsPunct('(')) depth++;
            else if (t.IsPunct(')')) depth--;
            else if (depth == 0 && match(t)) return i;
        }
        return -1;
    }

    /// <summary>Tokens without whitespace and comments; null when a literal, name or comment is not closed.</summary>
    private static List<Tok>? Lex(string s)
    {
        var toks = new List<Tok>();
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '-' && i + 1 < s.Length && s[i + 1] == '-')
            {
                while (i < s.Length && s[i] != '\n') i++;
                continue;
            }
            if (c == '/' && i + 1 < s.Length && s[i + 1] == '*')
            {
                var depth = 0;
                while (i < s.Length)
                {
                    if (s[i] == '/' && i + 1 < s.Length && s[i + 1] == '*') { depth++; i += 2; }
                    else if (s[i] == '*' && i + 1 < s.Length && s[i + 1] == '/') { depth--; i += 2; if (depth == 0) break; }
                    else i++;
                }
                if (depth != 0) return null;
                continue;
            }
            var start = i;
            if ((c == 'N' || c == 'n') && i + 1 < s.Length && s[i + 1] == '\'') { i++; c = '\''; }
            if (c == '\'' || c == '"' || c == '[')
            {
                var close = c == '[' ? ']' : c;
                i++;
                var closed = false;
                while (i < s.Length)
                {
                    if (s[i] == close)
                    {
                        if (i + 1 < s.Length && s[i + 1] == close) { i += 2; continue; }
                        i++;
                        closed = true;
                        break;
                    }
                    i++;
                }
                if (!closed) return null;
                toks.Add(new Tok(c == '\'' ? TokKind.Str : TokKind.Quoted, start, i, s[start..i]));
                continue;
            }
            if (char.IsLetter(c) || c == '_' || c == '@' || c == '#')
            {
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '@' or '#' or '$')) i++;
                toks.Add(new Tok(TokKind.Word, start, i, s[start..i]));
                continue;
            }
            if (char.IsDigit(c))
            {
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '.')) i++;
                toks.Add(new Tok(TokKind.Other, start, i, s[start..i]));
                continue;
            }
            i++;
            toks.Add(new Tok(TokKind.Punct, start, i, s[start..i]));
        }
        return toks;
    }
}

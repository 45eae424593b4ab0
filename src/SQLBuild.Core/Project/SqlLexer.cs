namespace SQLBuild.Core.Project;

/// <summary>
/// The little SQL lexing the compiler needs: skip comments (<c>--</c>, nested <c>/* */</c>), string
/// literals (<c>'..'</c> with <c>''</c>), quoted identifiers (<c>".."</c>) and dollar-quoted strings
/// (<c>$tag$..$tag$</c>), so references and semicolons are only seen in code.
/// </summary>
internal static class SqlLexer
{
    public static bool IsIdentStart(char c) => char.IsLetter(c) || c == '_';
    public static bool IsIdentChar(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '$';

    /// <summary>Skips whitespace and comments from <paramref name="i"/>; returns the first index of code (or the length).</summary>
    public static int SkipTrivia(string s, int i)
    {
        while (i < s.Length)
        {
            if (char.IsWhiteSpace(s[i])) { i++; continue; }
            if (IsCommentStart(s, i)) { i = SkipComment(s, i); continue; }
            break;
        }
        return i;
    }

    public static bool IsCommentStart(string s, int i) =>
        i + 1 < s.Length && ((s[i] == '-' && s[i + 1] == '-') || (s[i] == '/' && s[i + 1] == '*'));

    /// <summary>At a comment start, returns the index just after it (unterminated: the length).</summary>
    public static int SkipComment(string s, int i)
    {
        if (s[i] == '-')
        {
            var nl = s.IndexOf('\n', i);
            return nl < 0 ? s.Length : nl + 1;
        }
        var depth = 0;
        while (i < s.Length)
        {
            if (i + 1 < s.Length && s[i] == '/' && s[i + 1] == '*') { depth++; i += 2; continue; }
            if (i + 1 < s.Length && s[i] == '*' && s[i + 1] == '/')
            {
                depth--;
                i += 2;
                if (depth == 0) return i;
                continue;
            }
            i++;
        }
        return s.Length;
    }

    /// <summary>
    /// When a comment, string literal, quoted identifier or dollar-quoted string starts at <paramref name="i"/>,
    /// returns the index just after it (the length when unterminated: the warehouse will report that);
    /// otherwise returns <paramref name="i"/> unchanged.
    /// </summary>
    public static int SkipNonCode(string s, int i)
    {
        if (i >= s.Length) return i;
        if (IsCommentStart(s, i)) return SkipComment(s, i);
        var c = s[i];
        if (c == '\'' || c == '"')
        {
            var j = i + 1;
            while (j < s.Length)
            {
                if (s[j] == c)
                {
                    if (j + 1 < s.Length && s[j + 1] == c) { j += 2; continue; }
                    return j + 1;
                }
                j++;
            }
            return s.Length;
        }
        if (c == '$' && (i == 0 || !IsIdentChar(s[i - 1])))
        {
            var j = i + 1;
            while (j < s.Length && (j == i + 1 ? IsIdentStart(s[j]) : IsIdentChar(s[j])) && s[j] != '$') j++;
            if (j < s.Length && s[j] == '$')
            {
                var tag = s.Substring(i, j - i + 1);
                var end = s.IndexOf(tag, j + 1, StringComparison.Ordinal);
                return end < 0 ? s.Length : end + tag.Length;
            }
        }
        return i;
    }

    /// <summary>Offsets of every <c>;</c> that is code (not inside a literal or comment).</summary>
    public static List<int> CodeSemicolons(string s)
    {
        var result = new List<int>();
        var i = 0;
        while (i < s.Length)
        {
            var j = SkipNonCode(s, i);
            if (j != i) { i = j; continue; }
            if (s[i] == ';') result.Add(i);
            i++;
        }
        return result;
    }

    /// <summary>Offset of the first character of code at or after <paramref name="i"/> that is not a comment or whitespace, else -1.</summary>
    public static int NextCode(string s, int i)
    {
        var j = SkipTrivia(s, i);
        return j < s.Length ? j : -1;
    }
}

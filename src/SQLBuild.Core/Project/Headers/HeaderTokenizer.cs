using System.Text;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

internal enum HeaderTokenKind { Word, String, Number, LParen, RParen, LBracket, RBracket, Comma, Colon, Eof }

internal readonly record struct HeaderToken(HeaderTokenKind Kind, string Text, int Start, int End, int Line)
{
    public string Describe() => Kind switch
    {
        HeaderTokenKind.Eof => "end of file",
        HeaderTokenKind.String => $"string '{Text}'",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits a header into tokens: words, numbers, strings (<c>'..'</c> or <c>".."</c>, doubled quote or backslash
/// escapes) and <c>( ) [ ] , :</c> (a colon only after a call argument's name, upstream's <c>role: "analyst"</c>).
/// Whitespace and comments between tokens are skipped.
/// </summary>
internal sealed class HeaderTokenizer
{
    private readonly string _text;
    private readonly LineMap _lines;
    private readonly string _keyword;
    private readonly Func<int, string, SqbException> _error;
    private int _pos;

    /// <param name="start">The offset to read from (just after the keyword).</param>
    /// <param name="error">Makes the error for a line and a message.</param>
    public HeaderTokenizer(string text, LineMap lines, int start, string keyword, Func<int, string, SqbException> error)
    {
        _text = text;
        _lines = lines;
        _pos = start;
        _keyword = keyword;
        _error = error;
    }

    public HeaderToken Next()
    {
        _pos = SqlLexer.SkipTrivia(_text, _pos);
        if (_pos >= _text.Length)
            return new HeaderToken(HeaderTokenKind.Eof, "", _text.Length, _text.Length, _lines.LineOf(Math.Max(0, _text.Length - 1)));
        var start = _pos;
        var line = _lines.LineOf(start);
        var c = _text[_pos];
        HeaderTokenKind? single = c switch
        {
            '(' => HeaderTokenKind.LParen,
            ')' => HeaderTokenKind.RParen,
            '[' => HeaderTokenKind.LBracket,
            ']' => HeaderTokenKind.RBracket,
            ',' => HeaderTokenKind.Comma,
            ':' => HeaderTokenKind.Colon,
            _ => null,
        };
        if (single is not null)
        {
            _pos++;
            return new HeaderToken(single.Value, c.ToString(), start, _pos, line);
        }
        if (c is '\'' or '"') return QuotedString(c, start, line);
        if (SqlLexer.IsIdentStart(c))
        {
            var j = _pos + 1;
            while (j < _text.Length && (char.IsLetterOrDigit(_text[j]) || _text[j] == '_')) j++;
            _pos = j;
            return new HeaderToken(HeaderTokenKind.Word, _text[start..j], start, j, line);
        }
        if (char.IsDigit(c) || ((c == '-' || c == '+') && _pos + 1 < _text.Length && char.IsDigit(_text[_pos + 1])))
        {
            var j = _pos + 1;
            while (j < _text.Length && char.IsDigit(_text[j])) j++;
            if (j + 1 < _text.Length && _text[j] == '.' && char.IsDigit(_text[j + 1]))
            {
                j++;
                while (j < _text.Length && char.IsDigit(_text[j])) j++;
            }
            _pos = j;
            return new HeaderToken(HeaderTokenKind.Number, _text[start..j], start, j, line);
        }
        throw _error(line, $"unexpected character '{c}' in the {_keyword} header");
    }

    private HeaderToken QuotedString(char quote, int start, int line)
    {
        var sb = new StringBuilder();
        var j = _pos + 1;
        while (true)
        {
            if (j >= _text.Length) throw _error(line, $"unterminated string: missing closing quote ({quote})");
            var ch = _text[j];
            if (ch == quote)
            {
                if (j + 1 < _text.Length && _text[j + 1] == quote) { sb.Append(quote); j += 2; continue; }
                j++;
                break;
            }
            if (ch == '\\' && j + 1 < _text.Length && (_text[j + 1] == quote || _text[j + 1] == '\\'))
            {
                sb.Append(_text[j + 1]);
                j += 2;
                continue;
            }
            sb.Append(ch);
            j++;
        }
        _pos = j;
        return new HeaderToken(HeaderTokenKind.String, sb.ToString(), start, _pos, line);
    }
}

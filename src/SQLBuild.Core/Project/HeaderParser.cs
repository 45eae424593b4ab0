using System.Text;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

internal enum HTokenKind { Word, String, Number, LParen, RParen, LBracket, RBracket, Comma, Eof }

internal readonly record struct HToken(HTokenKind Kind, string Text, int Start, int End, int Line)
{
    public string Describe() => Kind switch
    {
        HTokenKind.Eof => "end of file",
        HTokenKind.String => $"string '{Text}'",
        _ => $"'{Text}'",
    };
}

/// <summary>A value in a <c>MODEL ( ... );</c> / <c>AUDIT ( ... );</c> header. <see cref="Start"/>..<see cref="End"/>
/// index the value as written in the file.</summary>
internal abstract record HValue(int Line, int Start, int End)
{
    public abstract string Describe();
}

internal sealed record HWord(string Text, int Line, int Start, int End) : HValue(Line, Start, End)
{
    public override string Describe() => $"'{Text}'";
}

internal sealed record HString(string Text, int Line, int Start, int End) : HValue(Line, Start, End)
{
    public override string Describe() => $"string '{Text}'";
}

internal sealed record HNumber(string Text, int Line, int Start, int End) : HValue(Line, Start, End)
{
    public override string Describe() => $"number {Text}";
}

internal sealed record HList(IReadOnlyList<HValue> Items, int Line, int Start, int End) : HValue(Line, Start, End)
{
    public override string Describe() => "a list [...]";
}

/// <summary><c>name(arg, key value, ...)</c>; a bare block <c>( ... )</c> has an empty name.</summary>
internal sealed record HCall(string Name, IReadOnlyList<HArg> Args, int Line, int Start, int End) : HValue(Line, Start, End)
{
    public override string Describe() => Name.Length == 0 ? "a block ( ... )" : $"a call {Name}(...)";
}

/// <summary>A call argument: positional (<see cref="Name"/> null) or named (<c>key value</c>).</summary>
internal sealed record HArg(string? Name, HValue Value, int Line);

internal sealed record HEntry(string Key, HValue Value, int Line);

/// <summary>A parsed header: its entries and where the body after the closing <c>);</c> starts.</summary>
internal sealed record HHeader(IReadOnlyList<HEntry> Entries, int KeywordLine, int BodyStart);

/// <summary>
/// Tokenizer and parser for <c>KEYWORD ( key value, ... );</c> headers. Values are bare words, numbers,
/// strings (<c>'..'</c> or <c>".."</c>, doubled quote or backslash escapes), lists <c>[a, b]</c> and calls
/// <c>f(x, key value)</c>. Comments and blank lines may precede the header and appear inside it.
/// </summary>
internal sealed class HeaderParser
{
    private readonly string _text;
    private readonly string _file;
    private readonly string _keyword;
    private readonly Func<string, int, string, SqbException> _error;
    private readonly LineMap _lines;
    private readonly List<HToken> _buffer = new();
    private int _pos;
    private int _keywordLine;
    private int _lastEnd;

    private HeaderParser(string text, string file, string keyword, Func<string, int, string, SqbException> error)
    {
        _text = text;
        _file = file;
        _keyword = keyword;
        _error = error;
        _lines = new LineMap(text);
    }

    /// <summary>Parses the header at the top of <paramref name="text"/>, or returns null when the file has none.</summary>
    public static HHeader? Parse(string text, string file, string keyword, Func<string, int, string, SqbException> error) =>
        new HeaderParser(text, file, keyword, error).ParseHeader();

    private HHeader? ParseHeader()
    {
        var i = SqlLexer.SkipTrivia(_text, 0);
        if (i + _keyword.Length > _text.Length ||
            string.Compare(_text, i, _keyword, 0, _keyword.Length, StringComparison.OrdinalIgnoreCase) != 0 ||
            (i + _keyword.Length < _text.Length && SqlLexer.IsIdentChar(_text[i + _keyword.Length])))
            return null;

        _keywordLine = _lines.LineOf(i);
        _pos = i + _keyword.Length;
        var open = Next();
        if (open.Kind != HTokenKind.LParen)
            throw Error(open.Line, $"expected '(' after {_keyword}, got {open.Describe()}");

        var entries = new List<HEntry>();
        if (Peek().Kind == HTokenKind.RParen)
        {
            Next();
        }
        else
        {
            while (true)
            {
                var key = Next();
                if (key.Kind == HTokenKind.Eof) throw NotClosed();
                if (key.Kind != HTokenKind.Word)
                    throw Error(key.Line, $"expected a key (a word such as materialized), got {key.Describe()}");
                var after = Peek();
                if (after.Kind is HTokenKind.Comma or HTokenKind.RParen)
                    throw Error(key.Line, $"key '{key.Text}' has no value");
                var value = ParseValue($"'{key.Text}'");
                entries.Add(new HEntry(key.Text, value, key.Line));

                var sep = Next();
                if (sep.Kind == HTokenKind.RParen) break;
                if (sep.Kind == HTokenKind.Comma)
                {
                    if (Peek().Kind == HTokenKind.RParen) { Next(); break; }
                    continue;
                }
                if (sep.Kind == HTokenKind.Eof) throw NotClosed();
                throw Error(sep.Line, $"expected ',' or ')' after the value of '{key.Text}', got {sep.Describe()}");
            }
        }

        // The closing ')' was the last token read: the body is SQL, so look for ';' without the header tokenizer.
        var closeEnd = _lastEnd;
        var semi = SqlLexer.SkipTrivia(_text, closeEnd);
        if (semi >= _text.Length || _text[semi] != ';')
            throw Error(_lines.LineOf(closeEnd - 1), $"expected ';' after the closing ')' of the {_keyword} header");
        return new HHeader(entries, _keywordLine, semi + 1);
    }

    private HValue ParseValue(string owner)
    {
        var t = Next();
        switch (t.Kind)
        {
            case HTokenKind.Word:
                if (Peek().Kind == HTokenKind.LParen) return ParseCall(t.Text, t);
                return new HWord(t.Text, t.Line, t.Start, t.End);
            case HTokenKind.String:
                return new HString(t.Text, t.Line, t.Start, t.End);
            case HTokenKind.Number:
                return new HNumber(t.Text, t.Line, t.Start, t.End);
            case HTokenKind.LBracket:
                {
                    var items = new List<HValue>();
                    if (Peek().Kind == HTokenKind.RBracket)
                    {
                        var close = Next();
                        return new HList(items, t.Line, t.Start, close.End);
                    }
                    while (true)
                    {
                        items.Add(ParseValue(owner));
                        var sep = Next();
                        if (sep.Kind == HTokenKind.RBracket) return new HList(items, t.Line, t.Start, sep.End);
                        if (sep.Kind == HTokenKind.Comma)
                        {
                            if (Peek().Kind == HTokenKind.RBracket)
                            {
                                var close = Next();
                                return new HList(items, t.Line, t.Start, close.End);
                            }
                            continue;
                        }
                        if (sep.Kind == HTokenKind.Eof) throw NotClosed();
                        throw Error(sep.Line, $"expected ',' or ']' in the list of {owner}, got {sep.Describe()}");
                    }
                }
            case HTokenKind.LParen:
                _buffer.Insert(0, t);
                return ParseCall("", t);
            case HTokenKind.Eof:
                throw NotClosed();
            default:
                throw Error(t.Line, $"expected a value for {owner}, got {t.Describe()}");
        }
    }

    private HCall ParseCall(string name, HToken first)
    {
        var open = Next(); // '('
        var args = new List<HArg>();
        var owner = name.Length == 0 ? "the block" : $"{name}(...)";
        if (Peek().Kind == HTokenKind.RParen)
        {
            var close = Next();
            return new HCall(name, args, first.Line, first.Start, close.End);
        }
        while (true)
        {
            var p = Peek();
            if (p.Kind == HTokenKind.Eof) throw NotClosed();
            if (p.Kind == HTokenKind.Word && Peek(1).Kind is not (HTokenKind.Comma or HTokenKind.RParen or HTokenKind.LParen))
            {
                Next();
                args.Add(new HArg(p.Text, ParseValue($"'{p.Text}' in {owner}"), p.Line));
            }
            else
            {
                args.Add(new HArg(null, ParseValue(owner), p.Line));
            }
            var sep = Next();
            if (sep.Kind == HTokenKind.RParen) return new HCall(name, args, first.Line, first.Start, sep.End);
            if (sep.Kind == HTokenKind.Comma)
            {
                if (Peek().Kind == HTokenKind.RParen)
                {
                    var close = Next();
                    return new HCall(name, args, first.Line, first.Start, close.End);
                }
                continue;
            }
            if (sep.Kind == HTokenKind.Eof) throw NotClosed();
            throw Error(sep.Line, $"expected ',' or ')' in {owner}, got {sep.Describe()}");
        }
    }

    private SqbException NotClosed() =>
        Error(_keywordLine, $"{_keyword} header is not closed: expected ')' and ';' before the end of the file");

    private SqbException Error(int line, string message) => _error(_file, line, message);

    // ---- tokenizer --------------------------------------------------------------------------

    private HToken Peek(int k = 0)
    {
        while (_buffer.Count <= k) _buffer.Add(Lex());
        return _buffer[k];
    }

    private HToken Next()
    {
        HToken t;
        if (_buffer.Count > 0)
        {
            t = _buffer[0];
            _buffer.RemoveAt(0);
        }
        else
        {
            t = Lex();
        }
        _lastEnd = t.End;
        return t;
    }

    private HToken Lex()
    {
        _pos = SqlLexer.SkipTrivia(_text, _pos);
        if (_pos >= _text.Length) return new HToken(HTokenKind.Eof, "", _text.Length, _text.Length, _lines.LineOf(Math.Max(0, _text.Length - 1)));
        var start = _pos;
        var line = _lines.LineOf(start);
        var c = _text[_pos];
        HTokenKind? single = c switch
        {
            '(' => HTokenKind.LParen,
            ')' => HTokenKind.RParen,
            '[' => HTokenKind.LBracket,
            ']' => HTokenKind.RBracket,
            ',' => HTokenKind.Comma,
            _ => null,
        };
        if (single is not null)
        {
            _pos++;
            return new HToken(single.Value, c.ToString(), start, _pos, line);
        }
        if (c is '\'' or '"')
        {
            var sb = new StringBuilder();
            var j = _pos + 1;
            while (true)
            {
                if (j >= _text.Length) throw Error(line, $"unterminated string: missing closing quote ({c})");
                var ch = _text[j];
                if (ch == c)
                {
                    if (j + 1 < _text.Length && _text[j + 1] == c) { sb.Append(c); j += 2; continue; }
                    j++;
                    break;
                }
                if (ch == '\\' && j + 1 < _text.Length && (_text[j + 1] == c || _text[j + 1] == '\\'))
                {
                    sb.Append(_text[j + 1]);
                    j += 2;
                    continue;
                }
                sb.Append(ch);
                j++;
            }
            _pos = j;
            return new HToken(HTokenKind.String, sb.ToString(), start, _pos, line);
        }
        if (SqlLexer.IsIdentStart(c))
        {
            var j = _pos + 1;
            while (j < _text.Length && (char.IsLetterOrDigit(_text[j]) || _text[j] == '_')) j++;
            _pos = j;
            return new HToken(HTokenKind.Word, _text[start..j], start, j, line);
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
            return new HToken(HTokenKind.Number, _text[start..j], start, j, line);
        }
        throw Error(line, $"unexpected character '{c}' in the {_keyword} header");
    }
}

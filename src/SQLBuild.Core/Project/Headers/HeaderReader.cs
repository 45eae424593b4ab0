using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// Reads the syntax of a <c>KEYWORD ( key value, ... );</c> header (MODEL, AUDIT) into a <see cref="ParsedHeader"/>,
/// knowing nothing of what the keys mean. Values are bare words, numbers, strings, lists <c>[a, b]</c> and calls
/// <c>f(x, key value)</c>. Comments and blank lines may precede the header and appear inside it. What the keys mean
/// is read from the entries by the header's own reader (<see cref="ModelHeader"/>).
/// </summary>
internal sealed class HeaderReader
{
    private readonly string _text;
    private readonly string _file;
    private readonly string _keyword;
    private readonly Func<string, int, string, SqbException> _error;
    private readonly LineMap _lines;
    private readonly List<HeaderToken> _lookahead = new();
    private HeaderTokenizer _tokens = null!;
    private int _keywordLine;
    private int _lastEnd;

    private HeaderReader(string text, string file, string keyword, Func<string, int, string, SqbException> error, int firstLine = 1)
    {
        _text = text;
        _file = file;
        _keyword = keyword;
        _error = error;
        _lines = new LineMap(text, firstLine);
    }

    /// <summary>
    /// Reads one header value written on its own, such as a TOML string of a <c>[path_defaults]</c> table that holds
    /// header syntax (<c>"not_null(id)"</c>); <paramref name="line"/> is where the string stands in <paramref name="file"/>.
    /// </summary>
    public static HeaderValue ReadValueText(string text, string file, int line, string owner, Func<string, int, string, SqbException> error)
    {
        var reader = new HeaderReader(text, file, "MODEL", error, line);
        reader._keywordLine = line;
        reader._tokens = new HeaderTokenizer(text, reader._lines, 0, "MODEL", reader.Error);
        var value = reader.ReadValue(owner);
        var rest = reader.Next();
        if (rest.Kind != HeaderTokenKind.Eof)
            throw reader.Error(rest.Line, $"expected one value for {owner}, got more after it: {rest.Describe()}");
        return value;
    }

    /// <summary>Reads the header at the top of <paramref name="text"/>, or returns null when the file has none.</summary>
    /// <param name="error">Makes the syntax error for a file, a line and a message.</param>
    public static ParsedHeader? Read(string text, string file, string keyword, Func<string, int, string, SqbException> error) =>
        new HeaderReader(text, file, keyword, error).ReadHeader();

    private ParsedHeader? ReadHeader()
    {
        var i = SqlLexer.SkipTrivia(_text, 0);
        if (i + _keyword.Length > _text.Length ||
            string.Compare(_text, i, _keyword, 0, _keyword.Length, StringComparison.OrdinalIgnoreCase) != 0 ||
            (i + _keyword.Length < _text.Length && SqlLexer.IsIdentChar(_text[i + _keyword.Length])))
            return null;

        _keywordLine = _lines.LineOf(i);
        _tokens = new HeaderTokenizer(_text, _lines, i + _keyword.Length, _keyword, Error);
        var open = Next();
        if (open.Kind != HeaderTokenKind.LParen)
            throw Error(open.Line, $"expected '(' after {_keyword}, got {open.Describe()}");

        var entries = new List<HeaderEntry>();
        if (Peek().Kind == HeaderTokenKind.RParen)
        {
            Next();
        }
        else
        {
            while (true)
            {
                var key = Next();
                if (key.Kind == HeaderTokenKind.Eof) throw NotClosed();
                if (key.Kind != HeaderTokenKind.Word)
                    throw Error(key.Line, $"expected a key (a word such as materialized), got {key.Describe()}");
                var after = Peek();
                if (after.Kind is HeaderTokenKind.Comma or HeaderTokenKind.RParen)
                    throw Error(key.Line, $"key '{key.Text}' has no value");
                var value = ReadValue($"'{key.Text}'");
                entries.Add(new HeaderEntry(key.Text, value, key.Line, _file, _text));

                var separator = Next();
                if (separator.Kind == HeaderTokenKind.RParen) break;
                if (separator.Kind == HeaderTokenKind.Comma)
                {
                    if (Peek().Kind == HeaderTokenKind.RParen) { Next(); break; }
                    continue;
                }
                if (separator.Kind == HeaderTokenKind.Eof) throw NotClosed();
                throw Error(separator.Line, $"expected ',' or ')' after the value of '{key.Text}', got {separator.Describe()}");
            }
        }

        // The closing ')' was the last token read: the body is SQL, so look for ';' without the header tokenizer.
        var closeEnd = _lastEnd;
        var semicolon = SqlLexer.SkipTrivia(_text, closeEnd);
        if (semicolon >= _text.Length || _text[semicolon] != ';')
            throw Error(_lines.LineOf(closeEnd - 1), $"expected ';' after the closing ')' of the {_keyword} header");
        return new ParsedHeader(entries, _keywordLine, semicolon + 1);
    }

    private HeaderValue ReadValue(string owner)
    {
        var token = Next();
        switch (token.Kind)
        {
            case HeaderTokenKind.Word:
                if (Peek().Kind == HeaderTokenKind.LParen) return ReadCall(token.Text, token);
                return new HeaderWord(token.Text, token.Line, token.Start, token.End);
            case HeaderTokenKind.String:
                return new HeaderString(token.Text, token.Line, token.Start, token.End);
            case HeaderTokenKind.Number:
                return new HeaderNumber(token.Text, token.Line, token.Start, token.End);
            case HeaderTokenKind.LBracket:
                return ReadList(token, owner);
            case HeaderTokenKind.LParen:
                _lookahead.Insert(0, token);
                return ReadCall("", token);
            case HeaderTokenKind.Eof:
                throw NotClosed();
            default:
                throw Error(token.Line, $"expected a value for {owner}, got {token.Describe()}");
        }
    }

    private HeaderList ReadList(HeaderToken open, string owner)
    {
        var items = new List<HeaderValue>();
        if (Peek().Kind == HeaderTokenKind.RBracket)
        {
            var close = Next();
            return new HeaderList(items, open.Line, open.Start, close.End);
        }
        while (true)
        {
            items.Add(ReadValue(owner));
            var separator = Next();
            if (separator.Kind == HeaderTokenKind.RBracket) return new HeaderList(items, open.Line, open.Start, separator.End);
            if (separator.Kind == HeaderTokenKind.Comma)
            {
                if (Peek().Kind == HeaderTokenKind.RBracket)
                {
                    var close = Next();
                    return new HeaderList(items, open.Line, open.Start, close.End);
                }
                continue;
            }
            if (separator.Kind == HeaderTokenKind.Eof) throw NotClosed();
            throw Error(separator.Line, $"expected ',' or ']' in the list of {owner}, got {separator.Describe()}");
        }
    }

    private HeaderCall ReadCall(string name, HeaderToken first)
    {
        Next(); // '('
        var args = new List<HeaderArgument>();
        var owner = name.Length == 0 ? "the block" : $"{name}(...)";
        if (Peek().Kind == HeaderTokenKind.RParen)
        {
            var close = Next();
            return new HeaderCall(name, args, first.Line, first.Start, close.End);
        }
        while (true)
        {
            var next = Peek();
            if (next.Kind == HeaderTokenKind.Eof) throw NotClosed();
            if (next.Kind == HeaderTokenKind.Word && Peek(1).Kind is not (HeaderTokenKind.Comma or HeaderTokenKind.RParen or HeaderTokenKind.LParen))
            {
                Next();
                if (Peek().Kind == HeaderTokenKind.Colon) Next();
                args.Add(new HeaderArgument(next.Text, ReadValue($"'{next.Text}' in {owner}"), next.Line));
            }
            else
            {
                args.Add(new HeaderArgument(null, ReadValue(owner), next.Line));
            }
            var separator = Next();
            if (separator.Kind == HeaderTokenKind.RParen) return new HeaderCall(name, args, first.Line, first.Start, separator.End);
            if (separator.Kind == HeaderTokenKind.Comma)
            {
                if (Peek().Kind == HeaderTokenKind.RParen)
                {
                    var close = Next();
                    return new HeaderCall(name, args, first.Line, first.Start, close.End);
                }
                continue;
            }
            if (separator.Kind == HeaderTokenKind.Eof) throw NotClosed();
            throw Error(separator.Line, $"expected ',' or ')' in {owner}, got {separator.Describe()}");
        }
    }

    private SqbException NotClosed() =>
        Error(_keywordLine, $"{_keyword} header is not closed: expected ')' and ';' before the end of the file");

    private SqbException Error(int line, string message) => _error(_file, line, message);

    private HeaderToken Peek(int k = 0)
    {
        while (_lookahead.Count <= k) _lookahead.Add(_tokens.Next());
        return _lookahead[k];
    }

    private HeaderToken Next()
    {
        HeaderToken token;
        if (_lookahead.Count > 0)
        {
            token = _lookahead[0];
            _lookahead.RemoveAt(0);
        }
        else
        {
            token = _tokens.Next();
        }
        _lastEnd = token.End;
        return token;
    }
}

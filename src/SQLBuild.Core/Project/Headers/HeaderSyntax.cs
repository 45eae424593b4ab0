namespace SQLBuild.Core.Project;

/// <summary>A parsed <c>KEYWORD ( key value, ... );</c> header: its entries in written order, the line of the
/// keyword, and where the body after the closing <c>);</c> starts.</summary>
internal sealed record ParsedHeader(IReadOnlyList<HeaderEntry> Entries, int KeywordLine, int BodyStart);

/// <summary>One <c>key value</c> entry of a header; <see cref="Line"/> is the key's, in <see cref="File"/>.
/// <see cref="Text"/> is the text the value's offsets index (the model file, or the TOML string a layer's value was
/// parsed from). <see cref="Layer"/> names the layer an inherited entry comes from (<c>[defaults]</c>,
/// <c>[path_defaults."staging"]</c>); null for the model's own header.</summary>
internal sealed record HeaderEntry(string Key, HeaderValue Value, int Line, string File, string Text, string? Layer = null)
{
    public bool Inherited => Layer is not null;

    /// <summary>Where the entry was written, for messages: <c>models/a.sql:3</c> or <c>sqlbuild_project.toml:12 [defaults]</c>.</summary>
    public string Origin => Layer is null ? $"{File}:{Line}" : $"{File}:{Line} {Layer}";
}

/// <summary>A value in a header. <see cref="Start"/>..<see cref="End"/> index the value as written in the file.</summary>
internal abstract record HeaderValue(int Line, int Start, int End)
{
    /// <summary>The value for "expected X, got Y" messages.</summary>
    public abstract string Describe();

    /// <summary>The text of a word, or of a string (which may be empty); null for a number, list or call.</summary>
    public string? AsWord() => this switch
    {
        HeaderWord word => word.Text,
        HeaderString text => text.Text,
        _ => null,
    };
}

/// <summary>A bare word: <c>incremental</c>, <c>order_id</c>.</summary>
internal sealed record HeaderWord(string Text, int Line, int Start, int End) : HeaderValue(Line, Start, End)
{
    public override string Describe() => $"'{Text}'";
}

/// <summary>A quoted string, unescaped: <c>'it''s'</c> is <c>it's</c>.</summary>
internal sealed record HeaderString(string Text, int Line, int Start, int End) : HeaderValue(Line, Start, End)
{
    public override string Describe() => $"string '{Text}'";
}

/// <summary>A number as written: <c>-1</c>, <c>2.5</c>.</summary>
internal sealed record HeaderNumber(string Text, int Line, int Start, int End) : HeaderValue(Line, Start, End)
{
    public override string Describe() => $"number {Text}";
}

/// <summary>A list <c>[a, b]</c>.</summary>
internal sealed record HeaderList(IReadOnlyList<HeaderValue> Items, int Line, int Start, int End) : HeaderValue(Line, Start, End)
{
    public override string Describe() => "a list [...]";
}

/// <summary><c>name(arg, key value, ...)</c>; a bare block <c>( ... )</c> has an empty name.</summary>
internal sealed record HeaderCall(string Name, IReadOnlyList<HeaderArgument> Args, int Line, int Start, int End) : HeaderValue(Line, Start, End)
{
    public override string Describe() => Name.Length == 0 ? "a block ( ... )" : $"a call {Name}(...)";
}

/// <summary>A call argument: positional (<see cref="Name"/> null) or named (<c>key value</c>).</summary>
internal sealed record HeaderArgument(string? Name, HeaderValue Value, int Line);

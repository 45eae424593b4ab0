namespace SQLBuild.Core.Project;

/// <summary>Maps offsets of a text to 1-based line and column numbers.</summary>
internal sealed class LineMap
{
    private readonly List<int> _lineStarts = new() { 0 };

    private readonly int _firstColumn;

    /// <param name="firstLine">Line number of the text's first line in its file.</param>
    /// <param name="firstColumn">Column of the text's first character in its file.</param>
    public LineMap(string text, int firstLine = 1, int firstColumn = 1)
    {
        FirstLine = firstLine;
        _firstColumn = firstColumn;
        for (var i = 0; i < text.Length; i++)
            if (text[i] == '\n') _lineStarts.Add(i + 1);
    }

    public int FirstLine { get; }

    public int LineOf(int offset)
    {
        var idx = _lineStarts.BinarySearch(offset);
        if (idx < 0) idx = ~idx - 1;
        return FirstLine + idx;
    }

    public int ColumnOf(int offset)
    {
        var idx = _lineStarts.BinarySearch(offset);
        if (idx < 0) idx = ~idx - 1;
        return offset - _lineStarts[idx] + (idx == 0 ? _firstColumn : 1);
    }
}

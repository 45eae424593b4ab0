namespace SQLBuild.Core.Build.Virtual;

/// <summary>A small line diff (longest common subsequence) for query diffs in plans.</summary>
public static class TextDiff
{
    /// <summary>Lines prefixed with "-" (only in <paramref name="before"/>), "+" (only in <paramref name="after"/>) or " ".</summary>
    public static string Unified(string before, string after)
    {
        var a = before.Replace("\r\n", "\n").Split('\n');
        var b = after.Replace("\r\n", "\n").Split('\n');
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
            for (var j = b.Length - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        var lines = new List<string>();
        int x = 0, y = 0;
        while (x < a.Length && y < b.Length)
        {
            if (a[x] == b[y]) { lines.Add(" " + a[x]); x++; y++; }
            else if (lcs[x + 1, y] >= lcs[x, y + 1]) lines.Add("-" + a[x++]);
            else lines.Add("+" + b[y++]);
        }
        while (x < a.Length) lines.Add("-" + a[x++]);
        while (y < b.Length) lines.Add("+" + b[y++]);
        return string.Join("\n", lines);
    }
}

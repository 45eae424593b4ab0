namespace SQLBuild.Core.Project;

/// <summary>A warning of the compiler: a project that builds, with something the user should know (an upstream key
/// SQLBuild does not implement). <see cref="ErrorId"/> reads like an error's: <c>P030.UpstreamKeyIgnored</c>.</summary>
public sealed record ProjectWarning(string Code, string Name, string Message)
{
    public string ErrorId => $"{Code}.{Name}";
}

/// <summary>
/// The key sets the strict checks share: which keys a table or header knows, which upstream keys it accepts
/// without implementing them, and the closest known key for a misspelt one.
/// </summary>
internal static class KeyNames
{
    /// <summary>The known key closest to <paramref name="key"/> (by edits: insert, delete, replace, swap two neighbours),
    /// when it is close enough to be a typo; null otherwise.</summary>
    public static string? Closest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var d = Distance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance || d == bestDistance && string.CompareOrdinal(candidate, best) < 0)
            {
                best = candidate;
                bestDistance = d;
            }
        }
        return best is not null && bestDistance <= Math.Max(2, key.Length / 4) ? best : null;
    }

    /// <summary>"; did you mean 'x'?" when a known key is close, else "; expected one of a, b, c".</summary>
    public static string Suggestion(string key, IReadOnlyCollection<string> ours, IEnumerable<string> upstream) =>
        Closest(key, ours.Concat(upstream)) is { } closest
            ? $"; did you mean '{closest}'?"
            : $"; expected one of {string.Join(", ", ours)}";

    /// <summary>Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one substring).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}

using System.Diagnostics.CodeAnalysis;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// A header's entries by key, for the reader that gives them meaning. A key the header does not know, or a key
/// set twice, is an error at its line.
/// </summary>
internal sealed class HeaderEntries
{
    private readonly Dictionary<string, HeaderEntry> _byKey = new(StringComparer.Ordinal);

    /// <param name="keys">The keys the header knows, in the order an unknown-key error lists them.</param>
    /// <param name="error">Makes the error for a line and a message.</param>
    public HeaderEntries(ParsedHeader header, string keyword, IReadOnlyList<string> keys, Func<int, string, SqbException> error)
    {
        foreach (var entry in header.Entries)
        {
            if (!keys.Contains(entry.Key))
                throw error(entry.Line, $"unknown {keyword} key '{entry.Key}'; expected one of {string.Join(", ", keys)}");
            if (_byKey.TryGetValue(entry.Key, out var first))
                throw error(entry.Line, $"duplicate {keyword} key '{entry.Key}' (first set on line {first.Line})");
            _byKey[entry.Key] = entry;
        }
    }

    public bool TryGet(string key, [NotNullWhen(true)] out HeaderEntry? entry) => _byKey.TryGetValue(key, out entry);
}

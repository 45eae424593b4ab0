using System.Diagnostics.CodeAnalysis;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// A header's (or a config layer's) entries by key, for the reader that gives them meaning. A key set twice is an error
/// at its line; so is a key that is neither known nor upstream's, naming the closest known key. An upstream key that
/// SQLBuild does not implement is handed to <c>ignored</c> and left out.
/// </summary>
internal sealed class HeaderEntries
{
    private readonly Dictionary<string, HeaderEntry> _byKey = new(StringComparer.Ordinal);

    /// <param name="noun">What a key is called in an error: "MODEL key", "key".</param>
    /// <param name="scope">Where the keys stand, for an error (" in [defaults]"); null for a header.</param>
    /// <param name="keys">The keys the reader knows, in the order an unknown-key error lists them.</param>
    /// <param name="upstream">Upstream's keys accepted without meaning.</param>
    /// <param name="error">Makes the error for an entry and a message.</param>
    /// <param name="ignored">Told of each upstream key left out.</param>
    public HeaderEntries(IEnumerable<HeaderEntry> entries, string noun, string? scope, IReadOnlyList<string> keys,
        IReadOnlyCollection<string> upstream, Func<HeaderEntry, string, SqbException> error, Action<HeaderEntry>? ignored = null)
    {
        foreach (var entry in entries)
        {
            if (_byKey.TryGetValue(entry.Key, out var first))
                throw error(entry, $"duplicate {noun} '{entry.Key}' (first set on line {first.Line})");
            if (!keys.Contains(entry.Key))
            {
                if (!upstream.Contains(entry.Key))
                    throw error(entry, $"unknown {noun} '{entry.Key}'{(scope is null ? "" : " in " + scope)}{KeyNames.Suggestion(entry.Key, keys, upstream)}");
                ignored?.Invoke(entry);
                continue;
            }
            _byKey[entry.Key] = entry;
        }
    }

    public bool TryGet(string key, [NotNullWhen(true)] out HeaderEntry? entry) => _byKey.TryGetValue(key, out entry);

    public IReadOnlyCollection<HeaderEntry> All => _byKey.Values;
}

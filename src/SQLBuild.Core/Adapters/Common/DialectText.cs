using System.Globalization;
using System.Text;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// The text rules every dialect shares: identifier checks and their errors (W002, W003), string literals,
/// and trimming a user query for embedding. No driver types here.
/// </summary>
internal static class DialectText
{
    /// <summary>
    /// Removes trailing whitespace and statement terminators from a user query so it can be embedded
    /// in a larger statement. Embedding always puts the query on its own lines, so a trailing line
    /// comment cannot swallow the closing parenthesis.
    /// </summary>
    public static string TrimQuery(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var s = sql.TrimEnd();
        while (s.EndsWith(';')) s = s[..^1].TrimEnd();
        if (s.Trim().Length == 0) throw new ArgumentException("the query is empty", nameof(sql));
        return s;
    }

    /// <summary>A single-quoted SQL string literal with embedded quotes doubled (N'' on SQL Server).</summary>
    public static string Literal(string value, bool national = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.IndexOf('\0') >= 0) throw new ArgumentException("a SQL literal cannot contain NUL", nameof(value));
        return (national ? "N'" : "'") + value.Replace("'", "''") + "'";
    }

    /// <summary>The identifier with control characters shown as \uXXXX, for messages.</summary>
    public static string Printable(string identifier)
    {
        var sb = new StringBuilder(identifier.Length);
        foreach (var c in identifier)
        {
            if (char.IsControl(c) || char.IsSurrogate(c)) sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The checks every engine shares: not empty, not only blanks, no control characters (NUL included),
    /// no unpaired UTF-16 surrogate. Throws W003.
    /// </summary>
    public static void ValidateCommon(string? identifier, string what)
    {
        if (identifier is null || identifier.Length == 0 || string.IsNullOrWhiteSpace(identifier))
            throw Invalid(identifier ?? string.Empty, what, "it is empty");
        for (var i = 0; i < identifier.Length; i++)
        {
            var c = identifier[i];
            if (char.IsControl(c))
                throw Invalid(identifier, what, $"it contains the control character U+{(int)c:X4}");
            if (char.IsHighSurrogate(c) && i + 1 < identifier.Length && char.IsLowSurrogate(identifier[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c))
                throw Invalid(identifier, what, "it contains an unpaired UTF-16 surrogate");
        }
    }

    public static SqbException Invalid(string identifier, string what, string reason) =>
        new(ErrorCodes.IdentifierInvalid, "IdentifierInvalid",
            $"{what} '{Printable(identifier)}' is not a valid identifier: {reason}",
            SqbErrorKind.InvalidArgument, identifier,
            "use a name without control characters");

    public static SqbException TooLong(string identifier, string what, int length, string unit, string engine, int limit) =>
        new(ErrorCodes.IdentifierTooLong, "IdentifierTooLong",
            $"{what} '{Printable(identifier)}' is {length} {unit}; {engine} allows at most {limit}",
            SqbErrorKind.InvalidArgument, identifier,
            $"shorten the name: {engine} identifiers are limited to {limit} {unit} and SQLBuild never truncates them");

    public static void RequireNonEmpty<T>(IReadOnlyCollection<T> items, string paramName)
    {
        ArgumentNullException.ThrowIfNull(items, paramName);
        if (items.Count == 0) throw new ArgumentException($"{paramName} must not be empty", paramName);
    }

    public static string SchemaListTarget(IReadOnlyList<string> schemas) => string.Join(", ", schemas);

    /// <summary>What a statement over many relations touches, for the log: their schemas and how many relations.</summary>
    public static string RelationListTarget(IReadOnlyCollection<RelationName> relations) =>
        $"{string.Join(", ", relations.Select(r => r.Schema).Distinct(StringComparer.Ordinal))} ({relations.Count} relation(s))";
}

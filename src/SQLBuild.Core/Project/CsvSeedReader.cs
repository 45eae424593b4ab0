using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SQLBuild.Core.Project;

/// <summary>
/// Reads a seed CSV (RFC 4180: quoted fields with embedded commas, quotes and newlines; LF or CRLF;
/// a header row; strict UTF-8) and infers each column's type from its non-empty values, streaming: the
/// compiler reads each seed once without keeping its rows, and only a load reads the rows again.
/// </summary>
internal static class CsvSeedReader
{
    private static readonly Regex IntegerPattern = new(@"^[+-]?([0-9]+)\z", RegexOptions.CultureInvariant);
    private static readonly Regex DecimalPattern = new(@"^[+-]?([0-9]+)\.[0-9]+\z", RegexOptions.CultureInvariant);

    private static readonly string[] TimestampFormats = BuildTimestampFormats();

    private static string[] BuildTimestampFormats()
    {
        var formats = new List<string>();
        foreach (var sep in new[] { " ", "'T'" })
        {
            formats.Add($"yyyy-MM-dd{sep}HH:mm:ss");
            for (var n = 1; n <= 7; n++)
                formats.Add($"yyyy-MM-dd{sep}HH:mm:ss.{new string('f', n)}");
        }
        return formats.ToArray();
    }

    private sealed record CsvRecord(int Line, List<string> Fields);

    /// <summary>
    /// Compiles a seed in one streaming pass: hashes the file, checks that it is UTF-8 and well-formed CSV with the
    /// header's field count on every row, and infers each column's type. No row is kept: <see cref="ReadRows"/> reads them
    /// again, only for a command that loads the seed.
    /// </summary>
    public static SeedContent Read(string fullPath, string relativePath)
    {
        using var text = new SeedText(fullPath, relativePath);
        using var records = Records(text, relativePath).GetEnumerator();
        if (!records.MoveNext())
            throw ProjectErrors.SeedInvalid(relativePath, 1, "empty file: a header row with the column names is required");

        var names = HeaderNames(records.Current, relativePath);
        var types = new SeedColumnType?[names.Count];
        long rows = 0;
        while (records.MoveNext())
        {
            var r = CheckWidth(records.Current, names.Count, relativePath);
            rows++;
            for (var c = 0; c < names.Count; c++)
            {
                var v = r.Fields[c];
                if (v.Length == 0 || types[c] == SeedColumnType.Text) continue;
                var t = Classify(v);
                types[c] = types[c] is { } known ? Widen(known, t) : t;
            }
        }

        return new SeedContent(names.Select((n, i) => new SeedColumn(n, types[i] ?? SeedColumnType.Text)).ToArray(), rows, text.HashHex());
    }

    /// <summary>
    /// The rows of a compiled seed, parsed to values of its column types (null for an empty field), read from the file
    /// as they are consumed. A file that changed since it was compiled is P015 once the read reaches its end.
    /// </summary>
    public static IEnumerable<object?[]> ReadRows(SeedNode seed)
    {
        using var text = new SeedText(seed.FullPath, seed.RelativePath);
        var first = true;
        foreach (var r in Records(text, seed.RelativePath))
        {
            if (first)
            {
                first = false;
                continue;
            }
            CheckWidth(r, seed.Columns.Count, seed.RelativePath);
            var row = new object?[seed.Columns.Count];
            for (var c = 0; c < row.Length; c++)
                row[c] = r.Fields[c].Length == 0 ? null : ToValue(r.Fields[c], seed.Columns[c].Type, seed.RelativePath, r.Line);
            yield return row;
        }
        if (text.HashHex() != seed.ContentHash)
            throw ProjectErrors.SeedInvalid(seed.RelativePath, 1, "the file changed while it was loaded: run the command again");
    }

    private static List<string> HeaderNames(CsvRecord header, string file)
    {
        var names = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var c = 0; c < header.Fields.Count; c++)
        {
            var col = header.Fields[c].Trim();
            if (col.Length == 0)
                throw ProjectErrors.SeedInvalid(file, header.Line, $"column {c + 1} of the header row has an empty name");
            if (seen.TryGetValue(col, out var first))
                throw ProjectErrors.SeedInvalid(file, header.Line, $"duplicate column name '{col}' in the header row (columns {first + 1} and {c + 1})");
            seen[col] = c;
            names.Add(col);
        }
        return names;
    }

    private static CsvRecord CheckWidth(CsvRecord r, int width, string file)
    {
        if (r.Fields.Count != width)
            throw ProjectErrors.SeedInvalid(file, r.Line,
                $"row has {r.Fields.Count} field{(r.Fields.Count == 1 ? "" : "s")}, expected {width} as in the header row");
        return r;
    }

    /// <summary>The narrowest type one value fits.</summary>
    internal static SeedColumnType Classify(string v)
    {
        var m = IntegerPattern.Match(v);
        if (m.Success)
        {
            // "007" keeps its zeros: a code, not a number.
            if (HasLeadingZero(m.Groups[1].Value)) return SeedColumnType.Text;
            return long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
                ? SeedColumnType.Integer
                : SeedColumnType.Decimal;
        }
        m = DecimalPattern.Match(v);
        if (m.Success)
        {
            if (HasLeadingZero(m.Groups[1].Value)) return SeedColumnType.Text;
            return decimal.TryParse(v, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _)
                ? SeedColumnType.Decimal
                : SeedColumnType.Text;
        }
        if (v.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Equals("false", StringComparison.OrdinalIgnoreCase))
            return SeedColumnType.Boolean;
        if (DateOnly.TryParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            return SeedColumnType.Date;
        if (DateTime.TryParseExact(v, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            return SeedColumnType.Timestamp;
        return SeedColumnType.Text;
    }

    private static bool HasLeadingZero(string digits) => digits.Length > 1 && digits[0] == '0';

    private static SeedColumnType Widen(SeedColumnType a, SeedColumnType b)
    {
        if (a == b) return a;
        if (IsNumber(a) && IsNumber(b)) return SeedColumnType.Decimal;
        if (IsTemporal(a) && IsTemporal(b)) return SeedColumnType.Timestamp;
        return SeedColumnType.Text;
    }

    private static bool IsNumber(SeedColumnType t) => t is SeedColumnType.Integer or SeedColumnType.Decimal;
    private static bool IsTemporal(SeedColumnType t) => t is SeedColumnType.Date or SeedColumnType.Timestamp;

    private static object ToValue(string v, SeedColumnType type, string file, int line)
    {
        try { return ToValue(v, type); }
        catch (FormatException) { throw Changed(file, line, v, type); }
        catch (OverflowException) { throw Changed(file, line, v, type); }
    }

    private static Errors.SqbException Changed(string file, int line, string v, SeedColumnType type) =>
        ProjectErrors.SeedInvalid(file, line, $"'{v}' is not a {type.ToString().ToLowerInvariant()}: the file changed while it was loaded; run the command again");

    private static object ToValue(string v, SeedColumnType type) => type switch
    {
        SeedColumnType.Integer => long.Parse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
        SeedColumnType.Decimal => decimal.Parse(v, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture),
        SeedColumnType.Boolean => v.Equals("true", StringComparison.OrdinalIgnoreCase),
        SeedColumnType.Date => DateOnly.ParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        SeedColumnType.Timestamp => v.Length == 10
            ? DateOnly.ParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture).ToDateTime(TimeOnly.MinValue)
            : DateTime.ParseExact(v, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None),
        _ => v,
    };

    /// <summary>Splits CSV text into records as it reads, each with the line it starts on. Blank lines are skipped.</summary>
    private static IEnumerable<CsvRecord> Records(SeedText s, string file)
    {
        var line = 1;
        var sb = new StringBuilder();
        while (s.Peek() >= 0)
        {
            // A blank line between records holds no record.
            if (s.Peek() == '\n') { s.Read(); line++; continue; }
            if (s.Peek() == '\r') { s.Read(); if (s.Peek() == '\n') s.Read(); line++; continue; }

            var recordLine = line;
            var fields = new List<string>();
            while (true)
            {
                sb.Clear();
                if (s.Peek() == '"')
                {
                    var quoteLine = line;
                    s.Read();
                    while (true)
                    {
                        var ch = s.Read();
                        if (ch < 0)
                            throw ProjectErrors.SeedInvalid(file, quoteLine, "unterminated quoted field: missing closing '\"'", Errors.SqbErrorKind.ParserError);
                        if (ch == '"')
                        {
                            if (s.Peek() == '"') { s.Read(); sb.Append('"'); continue; }
                            break;
                        }
                        if (ch == '\n') line++;
                        else if (ch == '\r' && s.Peek() != '\n') line++;
                        sb.Append((char)ch);
                    }
                    var after = s.Peek();
                    if (after >= 0 && after != ',' && after != '\r' && after != '\n')
                        throw ProjectErrors.SeedInvalid(file, line, $"unexpected character '{(char)after}' after a closing quote: quote the whole field and double inner quotes (\"\")",
                            Errors.SqbErrorKind.ParserError);
                }
                else
                {
                    while (s.Peek() is >= 0 and not ',' and not '\r' and not '\n')
                        sb.Append((char)s.Read());
                }
                fields.Add(sb.ToString());

                if (s.Peek() == ',') { s.Read(); continue; }
                if (s.Peek() == '\r') { s.Read(); if (s.Peek() == '\n') s.Read(); }
                else if (s.Peek() == '\n') s.Read();
                line++;
                break;
            }
            yield return new CsvRecord(recordLine, fields);
        }
    }
}

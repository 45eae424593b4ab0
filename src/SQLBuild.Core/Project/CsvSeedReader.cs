using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace SQLBuild.Core.Project;

/// <summary>
/// Reads a seed CSV (RFC 4180: quoted fields with embedded commas, quotes and newlines; LF or CRLF;
/// a header row) and infers each column's type from its non-empty values.
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

    public static SeedNode Read(string fullPath, string relativePath, string name)
    {
        var bytes = File.ReadAllBytes(fullPath);
        var hash = System.Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        var text = new UTF8Encoding(false).GetString(bytes);
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];

        var records = Parse(text, relativePath);
        if (records.Count == 0)
            throw ProjectErrors.SeedInvalid(relativePath, 1, "empty file: a header row with the column names is required");

        var header = records[0];
        var names = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var c = 0; c < header.Fields.Count; c++)
        {
            var col = header.Fields[c].Trim();
            if (col.Length == 0)
                throw ProjectErrors.SeedInvalid(relativePath, header.Line, $"column {c + 1} of the header row has an empty name");
            if (seen.TryGetValue(col, out var first))
                throw ProjectErrors.SeedInvalid(relativePath, header.Line, $"duplicate column name '{col}' in the header row (columns {first + 1} and {c + 1})");
            seen[col] = c;
            names.Add(col);
        }

        var rows = records.Skip(1).ToList();
        foreach (var r in rows)
        {
            if (r.Fields.Count != names.Count)
                throw ProjectErrors.SeedInvalid(relativePath, r.Line,
                    $"row has {r.Fields.Count} field{(r.Fields.Count == 1 ? "" : "s")}, expected {names.Count} as in the header row");
        }

        var types = new SeedColumnType[names.Count];
        for (var c = 0; c < names.Count; c++)
        {
            SeedColumnType? type = null;
            foreach (var r in rows)
            {
                var v = r.Fields[c];
                if (v.Length == 0) continue;
                var t = Classify(v);
                type = type is null ? t : Widen(type.Value, t);
                if (type == SeedColumnType.Text) break;
            }
            types[c] = type ?? SeedColumnType.Text;
        }

        var values = new List<object?[]>(rows.Count);
        foreach (var r in rows)
        {
            var row = new object?[names.Count];
            for (var c = 0; c < names.Count; c++)
                row[c] = r.Fields[c].Length == 0 ? null : ToValue(r.Fields[c], types[c]);
            values.Add(row);
        }

        return new SeedNode
        {
            Name = name,
            RelativePath = relativePath,
            FullPath = fullPath,
            Columns = names.Select((n, i) => new SeedColumn(n, types[i])).ToArray(),
            Rows = values,
            ContentHash = hash,
        };
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

    /// <summary>Splits CSV text into records, each with the line it starts on. Blank lines are skipped.</summary>
    private static List<CsvRecord> Parse(string s, string file)
    {
        var records = new List<CsvRecord>();
        var i = 0;
        var line = 1;
        var n = s.Length;
        while (i < n)
        {
            // A blank line between records holds no record.
            if (s[i] == '\n') { i++; line++; continue; }
            if (s[i] == '\r') { i += i + 1 < n && s[i + 1] == '\n' ? 2 : 1; line++; continue; }

            var recordLine = line;
            var fields = new List<string>();
            while (true)
            {
                var sb = new StringBuilder();
                if (i < n && s[i] == '"')
                {
                    var quoteLine = line;
                    i++;
                    while (true)
                    {
                        if (i >= n)
                            throw ProjectErrors.SeedInvalid(file, quoteLine, "unterminated quoted field: missing closing '\"'", Errors.SqbErrorKind.ParserError);
                        var ch = s[i];
                        if (ch == '"')
                        {
                            if (i + 1 < n && s[i + 1] == '"') { sb.Append('"'); i += 2; continue; }
                            i++;
                            break;
                        }
                        if (ch == '\n') line++;
                        else if (ch == '\r' && !(i + 1 < n && s[i + 1] == '\n')) line++;
                        sb.Append(ch);
                        i++;
                    }
                    if (i < n && s[i] != ',' && s[i] != '\r' && s[i] != '\n')
                        throw ProjectErrors.SeedInvalid(file, line, $"unexpected character '{s[i]}' after a closing quote: quote the whole field and double inner quotes (\"\")",
                            Errors.SqbErrorKind.ParserError);
                }
                else
                {
                    while (i < n && s[i] != ',' && s[i] != '\r' && s[i] != '\n')
                        sb.Append(s[i++]);
                }
                fields.Add(sb.ToString());

                if (i < n && s[i] == ',') { i++; continue; }
                if (i < n && s[i] == '\r') i += i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
                else if (i < n && s[i] == '\n') i++;
                line++;
                break;
            }
            records.Add(new CsvRecord(recordLine, fields));
        }
        return records;
    }
}

using System.Globalization;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>Typed reads of connection keys shared by the server adapters.</summary>
internal static class ConnectionValues
{
    /// <summary>A non-negative integer key (port, timeouts), or null when absent.</summary>
    public static int? NonNegativeInt(string? value, string key, ConnectionSettings s)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0) return n;
        throw new FormatException($"'{key}' of connection '{s.Name}' must be a non-negative integer");
    }
}

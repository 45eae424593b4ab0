using System.Data.Common;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// Which database a DuckDB connection opens, and the catalog name DuckDB gives it, worked out from the connection
/// settings alone (no driver is loaded), so a dialect can be made before any connection.
/// </summary>
internal static class DuckDbDatabase
{
    public const string InMemory = ":memory:";

    /// <summary>The full path of the database file, or <c>:memory:</c>; null when the settings name none.</summary>
    public static string? PathOf(ConnectionSettings settings)
    {
        var database = settings.Get("database") ?? settings.Get("path");
        if (string.IsNullOrWhiteSpace(database) && !string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = settings.ConnectionString };
            database = (builder.TryGetValue("Data Source", out var ds) ? ds : builder.TryGetValue("DataSource", out var ds2) ? ds2 : null) as string;
        }
        if (string.IsNullOrWhiteSpace(database)) return null;
        if (string.Equals(database.Trim(), InMemory, StringComparison.OrdinalIgnoreCase)) return InMemory;
        if (database.Contains(';') || database.Contains('\0')) return database;
        var baseDir = string.IsNullOrEmpty(settings.ProjectDirectory) ? Directory.GetCurrentDirectory() : settings.ProjectDirectory;
        return Path.GetFullPath(Path.Combine(baseDir, database));
    }

    /// <summary>
    /// The name DuckDB gives the catalog of a database it opens: <c>memory</c> in memory, otherwise the file name up to
    /// its first dot (leading dots skipped), with <c>_db</c> appended to the reserved names main, system and temp.
    /// <c>jaffle.duckdb</c> is the catalog <c>jaffle</c>.
    /// </summary>
    public static string CatalogName(string path)
    {
        if (path == InMemory) return "memory";
        var name = Path.GetFileName(path);
        var first = name.Split('.', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? name;
        return first is "main" or "system" or "temp" ? first + "_db" : first;
    }

    /// <summary>The dialect for the database of <paramref name="settings"/>: one that knows its catalog name.</summary>
    public static DuckDbDialect Dialect(ConnectionSettings settings) =>
        PathOf(settings) is { } path ? new DuckDbDialect(CatalogName(path)) : DuckDbDialect.Instance;
}

using SQLBuild.Core.Project;

namespace SQLBuild.Core.Adapters;

/// <summary>Where an embedded (DuckDB) database lives on disk, so read-only work can avoid creating it.</summary>
public static class WarehouseFiles
{
    public const string InMemory = ":memory:";

    /// <summary>The absolute file of a DuckDB connection (relative paths resolve against the project folder), or null for <c>:memory:</c>.</summary>
    public static string? DuckDbPath(ConnectionSettings settings)
    {
        var db = settings.Get("database") ?? settings.Get("path");
        if (string.IsNullOrWhiteSpace(db) || db.StartsWith(InMemory, StringComparison.Ordinal)) return null;
        return Path.GetFullPath(Path.IsPathRooted(db) ? db : Path.Combine(settings.ProjectDirectory, db));
    }

    /// <summary>True when opening this connection would create a new empty database file.</summary>
    public static bool WouldCreateDatabase(ConnectionSettings settings) =>
        settings.Adapter == AdapterKind.DuckDb && DuckDbPath(settings) is { } path && !File.Exists(path);
}

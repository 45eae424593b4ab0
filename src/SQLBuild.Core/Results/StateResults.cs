namespace SQLBuild;

/// <summary>
/// A backup of the state store (<c>Get-SqbStateBackup</c>, and the result of <c>Update-SqbState</c>):
/// the schema <c>&lt;state schema&gt;__backup_&lt;BackupId&gt;</c> holding a copy of every state table.
/// </summary>
public sealed class SqbStateBackup
{
    /// <summary>UTC <c>yyyyMMddTHHmmssffffffZ</c> (upstream's format); binds to <c>Restore-SqbState -BackupId</c>.</summary>
    public required string BackupId { get; init; }
    /// <summary>The backup schema, <c>&lt;StateSchema&gt;__backup_&lt;BackupId&gt;</c>.</summary>
    public required string Schema { get; init; }
    /// <summary>The live state schema the backup belongs to.</summary>
    public required string StateSchema { get; init; }
    public required string Target { get; init; }
    /// <summary>When the backup was taken (UTC, read from the id); null for a schema whose id is not a timestamp.</summary>
    public DateTime? CreatedAt { get; init; }
    /// <summary>Tables in the backup schema.</summary>
    public int Tables { get; init; }
    /// <summary>Rows over all tables of the backup.</summary>
    public long Rows { get; init; }
    /// <summary>Row count per table.</summary>
    public IReadOnlyDictionary<string, long> TableRows { get; init; } = new Dictionary<string, long>();
    /// <summary>State tables the backup lacks (a backup written by this module lacks none); such a backup cannot be restored.</summary>
    public IReadOnlyList<string> MissingTables { get; init; } = Array.Empty<string>();
    public bool IsComplete => MissingTables.Count == 0;
}

/// <summary>The result of <c>Restore-SqbState</c>: the live state tables now hold the backup's rows.</summary>
public sealed class SqbStateRestoreResult
{
    public required string BackupId { get; init; }
    /// <summary>The backup schema restored from (kept: a restore never deletes a backup).</summary>
    public required string Schema { get; init; }
    public required string StateSchema { get; init; }
    public required string Target { get; init; }
    public int Tables { get; init; }
    public long Rows { get; init; }
    public string? OperationId { get; init; }
    public TimeSpan Duration { get; init; }
}

/// <summary>The result of <c>Reset-SqbState</c>.</summary>
public sealed class SqbStateResetResult
{
    public required string Target { get; init; }
    public required string StateSchema { get; init; }
    /// <summary>The state tables that existed and were dropped.</summary>
    public required IReadOnlyList<string> DroppedTables { get; init; }
    /// <summary>Backups left untouched (a reset never drops a backup).</summary>
    public int Backups { get; init; }
    public TimeSpan Duration { get; init; }
}

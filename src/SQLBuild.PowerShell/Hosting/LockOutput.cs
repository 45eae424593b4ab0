using SQLBuild.Core.State;

namespace SQLBuild.PowerShell.Hosting;

/// <summary>How a lock row reaches the pipeline (Get-SqbLock, Clear-SqbLock) and a confirmation prompt.</summary>
internal static class LockOutput
{
    /// <summary>The output object of a lock row, its age taken now; <paramref name="endedSessions"/>: the holder's server
    /// sessions Clear-SqbLock ended.</summary>
    public static SqbLock ToSqbLock(LockRow row, IReadOnlyList<long>? endedSessions = null) => new()
    {
        Key = row.Key, OwnerId = row.OwnerId, OwnerHost = row.OwnerHost, OwnerPid = row.OwnerPid, OperationId = row.OperationId,
        CreatedAt = row.CreatedAt, ExpiresAt = row.ExpiresAt, IsExpired = row.IsExpired, IsOrphaned = row.IsOrphaned,
        Age = DateTime.UtcNow - row.CreatedAt, EndedSessions = endedSessions ?? Array.Empty<long>(),
    };

    /// <summary>The lock and its holder as a confirmation names them:
    /// <c>key held by owner (host h, pid p, age 00:01:02, live)</c>.</summary>
    public static string Holder(LockRow row)
    {
        var age = DateTime.UtcNow - row.CreatedAt;
        return $"{row.Key} held by {row.OwnerId} (host {row.OwnerHost}, pid {row.OwnerPid}, age {age:hh\\:mm\\:ss}" +
               (row.IsOrphaned ? ", orphaned" : row.IsExpired ? ", expired" : ", live") + ")";
    }
}

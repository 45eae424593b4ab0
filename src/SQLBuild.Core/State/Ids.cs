namespace SQLBuild.Core.State;

/// <summary>Identifiers of state rows.</summary>
public static class Ids
{
    private static long _lastTicks;

    /// <summary>A time-ordered id (16 hex of strictly increasing UTC ticks, then 16 random hex), so events sort in the order written.</summary>
    public static string NewEventId()
    {
        long ticks, last;
        do
        {
            last = Interlocked.Read(ref _lastTicks);
            ticks = Math.Max(DateTime.UtcNow.Ticks, last + 1);
        } while (Interlocked.CompareExchange(ref _lastTicks, ticks, last) != last);
        return ticks.ToString("x16") + Guid.NewGuid().ToString("N")[..16];
    }

    /// <summary>Upstream's checkpoint id: <c>chk_&lt;UTC yyyyMMddHHmmssffffff&gt;_&lt;uuid4 hex&gt;</c>.</summary>
    public static string NewCheckpointId() =>
        "chk_" + DateTime.UtcNow.ToString("yyyyMMddHHmmssffffff", System.Globalization.CultureInfo.InvariantCulture) + "_" + Guid.NewGuid().ToString("N");

    /// <summary>Upstream's backup id: UTC <c>yyyyMMddTHHmmssffffffZ</c>.</summary>
    public static string NewBackupId() => DateTime.UtcNow.ToString(BackupIdFormat, System.Globalization.CultureInfo.InvariantCulture);

    public const string BackupIdFormat = "yyyyMMdd'T'HHmmssffffff'Z'";

    /// <summary>The UTC time a backup id names, or null when it is not one of <see cref="NewBackupId"/>'s.</summary>
    public static DateTime? BackupTime(string backupId) =>
        DateTime.TryParseExact(backupId, BackupIdFormat, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : null;

    public static string NewOperationId(string type) => $"{type}:{Guid.NewGuid():N}";
}

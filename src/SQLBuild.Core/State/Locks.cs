using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.State;

/// <summary>A row of the locks table, with what can be proven about its holder.</summary>
public sealed record LockRow(string Key, string OwnerId, string? OwnerHost, long? OwnerPid, string? OperationId,
    DateTime CreatedAt, DateTime ExpiresAt, bool IsExpired, bool IsOrphaned);

/// <summary>
/// Locks of SPEC §6. Acquire is one INSERT guarded by the unique key, after deleting an expired or
/// orphaned row for that key; a live row fails at once (no waiting). The holder renews its row while
/// it works and, on PostgreSQL / SQL Server, keeps a session-level advisory lock so that a holder whose
/// session died is provably orphaned.
/// </summary>
public sealed class LockManager
{
    public const int TtlSeconds = 600;
    public static string EnvironmentKey(string environment) => $"virtual_env:{environment}";
    public const string MigrationKey = "state_migration";

    private readonly StateStore _store;
    private readonly ISqbLog _log;

    public LockManager(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
    }

    private StateSql Q => _store.Sql;
    private AdapterKind Kind => _store.StateWarehouse.Dialect.Kind;

    /// <summary>
    /// Takes <paramref name="key"/> for <paramref name="operationId"/> or throws at once: S014 for a
    /// VDE (S019 when <paramref name="code"/> says so), naming the holder.
    /// </summary>
    public LockLease Acquire(string key, string operationId, string code = "S014")
    {
        var session = _store.OpenStateSession();
        try
        {
            var advisory = TryAdvisory(session, key);
            if (advisory == false) throw Locked(session, key, code, holderMayLag: true);
            // Clear a row whose holder is gone: expired, or (advisory lock now ours / dead local pid) orphaned.
            var row = Read(session, key).SingleOrDefault();
            if (row is not null && (row.IsExpired || advisory == true || row.IsOrphaned))
            {
                _log.Verbose(row.IsExpired ? $"taking over expired lock {key} of {row.OwnerId}" : $"taking over orphaned lock {key} of {row.OwnerId}");
                session.Execute(Q.Delete(StateSchema.Locks, $"{Q.Col("lock_key")} = {Q.P(1)} AND {Q.Col("owner_id")} = {Q.P(2)}",
                    new object?[] { key, row.OwnerId }));
            }
            try
            {
                session.Execute(Q.InsertWith(StateSchema.Locks, new (string, object?)[]
                {
                    ("lock_key", key), ("owner_id", operationId), ("owner_host", System.Environment.MachineName),
                    ("owner_pid", (long)System.Environment.ProcessId), ("operation_id", operationId),
                }, new[] { ("expires_at", Q.NowPlus(TtlSeconds)), ("created_at", Q.Now), ("updated_at", Q.Now) }));
            }
            catch (SqbException) when (Read(session, key).Any(r => r.OwnerId != operationId))
            {
                throw Locked(session, key, code);
            }
            _log.Verbose($"acquired lock {key} for {operationId}");
            return new LockLease(this, session, key, operationId, advisory == true);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private SqbException Locked(IWarehouseSession session, string key, string code, bool holderMayLag = false)
    {
        var holder = Read(session, key).SingleOrDefault();
        // A holder takes its advisory lock a moment before its row is committed: give the row that moment
        // to show, so the error names the holder. This never waits for the lock itself.
        for (var i = 0; holder is null && holderMayLag && i < 10; i++)
        {
            Thread.Sleep(25);
            holder = Read(session, key).SingleOrDefault();
        }
        var subject = key.StartsWith("virtual_env:", StringComparison.Ordinal)
            ? $"virtual environment '{key["virtual_env:".Length..]}' is locked"
            : $"state store is locked ({key})";
        var by = holder is null ? "" : $" by {holder.OwnerId} (host {holder.OwnerHost}, pid {holder.OwnerPid}, since {holder.CreatedAt:u}, expires {holder.ExpiresAt:u})";
        return new SqbException(code, code == "S019" ? "EnvironmentLocked" : key == MigrationKey ? "StateLocked" : "EnvironmentLocked",
            subject + by, SqbErrorKind.ResourceBusy, key,
            $"Wait for the other process to finish, or, if it is gone, run Clear-SqbLock -Key '{key}' -Force (or Clear-SqbLock -Orphaned).");
    }

    /// <summary>Every lock row (or one key's), with expiry judged by the database clock and orphan detection.</summary>
    public IReadOnlyList<LockRow> List(string? key = null)
    {
        using var session = _store.OpenStateSession();
        return Read(session, key);
    }

    private IReadOnlyList<LockRow> Read(IWarehouseSession session, string? key)
    {
        var expired = $"CASE WHEN {Q.Col("expires_at")} <= {Q.Now} THEN 1 ELSE 0 END";
        var sql = $"SELECT {Q.Col("lock_key")}, {Q.Col("owner_id")}, {Q.Col("owner_host")}, {Q.Col("owner_pid")}, {Q.Col("operation_id")}, " +
                  $"{Q.Col("created_at")}, {Q.Col("expires_at")}, {expired} FROM {Q.Table(StateSchema.Locks)}" +
                  (key is null ? "" : $" WHERE {Q.Col("lock_key")} = {Q.P(1)}") + $" ORDER BY {Q.Col("lock_key")}";
        var rows = session.Query(new SqlStatement("SELECT", $"{Q.Schema}.locks", sql, key is null ? null : new object?[] { key }));
        return rows.Select(r =>
        {
            var k = StateRepository.Str(r[0])!;
            var host = StateRepository.Str(r[2]);
            long? pid = r[3] is null or DBNull ? null : Convert.ToInt64(r[3]);
            var expiresAt = StateRepository.Dt(r[6]) ?? DateTime.MinValue;
            var isExpired = Convert.ToInt64(r[7]) == 1;
            var orphaned = !isExpired && (DeadLocalProcess(host, pid) || ProbeAdvisoryFree(k));
            return new LockRow(k, StateRepository.Str(r[1])!, host, pid, StateRepository.Str(r[4]),
                StateRepository.Dt(r[5]) ?? DateTime.MinValue, expiresAt, isExpired, orphaned);
        }).ToList();
    }

    /// <summary>Deletes a lock row whatever its holder (Clear-SqbLock -Force). Returns whether a row was deleted.</summary>
    public bool Clear(string key)
    {
        using var session = _store.OpenStateSession();
        return session.Execute(Q.Delete(StateSchema.Locks, $"{Q.Col("lock_key")} = {Q.P(1)}", new object?[] { key })) > 0;
    }

    // ------------------------------------------------------------------ orphan detection

    private static bool DeadLocalProcess(string? host, long? pid)
    {
        if (pid is null || !string.Equals(host, System.Environment.MachineName, StringComparison.OrdinalIgnoreCase)) return false;
        if (pid == System.Environment.ProcessId) return false;
        try
        {
            using var p = Process.GetProcessById((int)pid.Value);
            return p.HasExited;
        }
        catch (ArgumentException) { return true; }
        catch (InvalidOperationException) { return true; }
    }

    /// <summary>The 64-bit advisory lock id of a lock key.</summary>
    public static long AdvisoryId(string key) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("sqlbuild:" + key)), 0);

    /// <summary>Tries the session-level advisory lock: true = taken, false = held by a live session, null = engine has none.</summary>
    private bool? TryAdvisory(IWarehouseSession session, string key)
    {
        switch (Kind)
        {
            case AdapterKind.Postgres:
                return Convert.ToBoolean(session.ExecuteScalar(new SqlStatement("ADVISORY LOCK", key,
                    $"SELECT pg_try_advisory_lock({Q.P(1)})", new object?[] { AdvisoryId(key) })));
            case AdapterKind.SqlServer:
                var result = Convert.ToInt32(session.ExecuteScalar(new SqlStatement("APPLOCK", key,
                    $"DECLARE @r int; EXEC @r = sp_getapplock @Resource = {Q.P(1)}, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0; SELECT @r",
                    new object?[] { "sqlbuild:" + key })));
                return result >= 0;
            default:
                return null;
        }
    }

    internal void ReleaseAdvisory(IWarehouseSession session, string key)
    {
        switch (Kind)
        {
            case AdapterKind.Postgres:
                session.ExecuteScalar(new SqlStatement("ADVISORY UNLOCK", key, $"SELECT pg_advisory_unlock({Q.P(1)})", new object?[] { AdvisoryId(key) }));
                break;
            case AdapterKind.SqlServer:
                session.Execute(new SqlStatement("APPLOCK RELEASE", key,
                    $"EXEC sp_releaseapplock @Resource = {Q.P(1)}, @LockOwner = 'Session'", new object?[] { "sqlbuild:" + key }));
                break;
        }
    }

    /// <summary>True when no live session holds the key's advisory lock (probe: take it and give it back at once).</summary>
    private bool ProbeAdvisoryFree(string key)
    {
        if (Kind is not (AdapterKind.Postgres or AdapterKind.SqlServer)) return false;
        using var probe = _store.OpenStateSession();
        if (TryAdvisory(probe, key) != true) return false;
        ReleaseAdvisory(probe, key);
        return true;
    }

    internal void Renew(IWarehouseSession session, string key, string owner) =>
        session.Execute(Q.Update(StateSchema.Locks,
            $"{Q.Col("expires_at")} = {Q.NowPlus(TtlSeconds)}, {Q.Col("updated_at")} = {Q.Now}",
            $"{Q.Col("lock_key")} = {Q.P(1)} AND {Q.Col("owner_id")} = {Q.P(2)}", new object?[] { key, owner }));

    internal void Release(IWarehouseSession session, string key, string owner) =>
        session.Execute(Q.Delete(StateSchema.Locks, $"{Q.Col("lock_key")} = {Q.P(1)} AND {Q.Col("owner_id")} = {Q.P(2)}",
            new object?[] { key, owner }));

    internal ISqbLog Log => _log;
}

/// <summary>A held lock: renewed on a timer while the work runs, released (owner-checked) on dispose.</summary>
public sealed class LockLease : IDisposable
{
    private readonly LockManager _manager;
    private readonly IWarehouseSession _session;
    private readonly bool _advisory;
    private readonly Timer _heartbeat;
    private readonly object _gate = new();
    private bool _released;

    /// <summary>Renewal interval; tests may shorten it through SQB_LOCK_RENEW_SECONDS.</summary>
    public static TimeSpan RenewEvery =>
        int.TryParse(System.Environment.GetEnvironmentVariable("SQB_LOCK_RENEW_SECONDS"), out var s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(LockManager.TtlSeconds / 5);

    internal LockLease(LockManager manager, IWarehouseSession session, string key, string owner, bool advisory)
    {
        _manager = manager;
        _session = session;
        Key = key;
        Owner = owner;
        _advisory = advisory;
        _heartbeat = new Timer(_ => Renew(), null, RenewEvery, RenewEvery);
    }

    public string Key { get; }
    public string Owner { get; }

    private void Renew()
    {
        lock (_gate)
        {
            if (_released) return;
            try { _manager.Renew(_session, Key, Owner); }
            catch (Exception ex) { _manager.Log.Warning($"could not renew lock {Key}: {Redaction.Redact(ex.Message)}"); }
        }
    }

    public void Dispose()
    {
        _heartbeat.Dispose();
        lock (_gate)
        {
            if (_released) return;
            _released = true;
            try
            {
                _manager.Release(_session, Key, Owner);
                if (_advisory) _manager.ReleaseAdvisory(_session, Key);
            }
            catch (Exception ex) { _manager.Log.Warning($"could not release lock {Key}: {Redaction.Redact(ex.Message)}"); }
            finally { _session.Dispose(); }
        }
    }
}

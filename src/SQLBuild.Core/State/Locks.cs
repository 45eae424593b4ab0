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

    /// <summary>
    /// Takes <paramref name="key"/> for <paramref name="operationId"/> or throws at once: S014 for a
    /// VDE (S019 when <paramref name="code"/> says so), naming the holder.
    /// </summary>
    public LockLease Acquire(string key, string operationId, string code = ErrorCodes.EnvironmentLocked)
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
                session.Execute(InsertRow(key, operationId));
            }
            // The key was taken when we inserted. The holder's row may already be gone again (released between
            // our insert and this read; on DuckDB also a delete committed after our insert's snapshot), so a unique
            // violation alone means "locked" too, not a raw insert error.
            catch (SqbException e) when (WarehouseErrors.IsUniqueViolation(e) || Read(session, key).Any(r => r.OwnerId != operationId))
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
        return new SqbException(code, code == ErrorCodes.RollbackLocked ? "EnvironmentLocked" : key == MigrationKey ? "StateLocked" : "EnvironmentLocked",
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
        var rows = session.Query(Q.LockRows(key));
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

    private SqlStatement InsertRow(string key, string operationId) =>
        Q.InsertWith(StateSchema.Locks, new (string, object?)[]
        {
            ("lock_key", key), ("owner_id", operationId), ("owner_host", System.Environment.MachineName),
            ("owner_pid", (long)System.Environment.ProcessId), ("operation_id", operationId),
        }, new[] { ("expires_at", Q.NowPlus(TtlSeconds)), ("created_at", Q.Now), ("updated_at", Q.Now) });

    /// <summary>
    /// Writes a held lease's row again through <paramref name="session"/>, inside the caller's transaction:
    /// for <c>Restore-SqbState</c>, which replaces the locks table with a backup's and must keep its own lock.
    /// </summary>
    public void Reinsert(IWarehouseSession session, LockLease lease) => session.Execute(InsertRow(lease.Key, lease.Owner));

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

    /// <summary>
    /// The session-lock resource of a lock key. Advisory locks (PostgreSQL) and applocks (SQL Server) are
    /// database-wide, while lock rows live in one state schema: the resource names the schema too, so two
    /// state stores in one database (two projects, or two targets) never block each other's same key.
    /// </summary>
    public static string AdvisoryResource(string stateSchema, string key) => $"sqlbuild:{stateSchema}:{key}";

    /// <summary>The 64-bit PostgreSQL advisory lock id of a lock key in a state schema.</summary>
    public static long AdvisoryId(string stateSchema, string key) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(AdvisoryResource(stateSchema, key))), 0);

    /// <summary>Tries the session-level advisory lock: true = taken, false = held by a live session, null = engine has none.</summary>
    private bool? TryAdvisory(IWarehouseSession session, string key)
    {
        var statement = Q.TryAdvisoryLock(AdvisoryResource(Q.Schema, key), AdvisoryId(Q.Schema, key));
        if (statement is null) return null;
        var value = session.ExecuteScalar(statement);
        return value is bool b ? b : Convert.ToInt64(value) >= 0;
    }

    internal void ReleaseAdvisory(IWarehouseSession session, string key)
    {
        var statement = Q.ReleaseAdvisoryLock(AdvisoryResource(Q.Schema, key), AdvisoryId(Q.Schema, key));
        if (statement is not null) session.Execute(statement);
    }

    /// <summary>True when no live session holds the key's advisory lock (probe: take it and give it back at once).</summary>
    private bool ProbeAdvisoryFree(string key)
    {
        if (Q.TryAdvisoryLock(key, 0) is null) return false;
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

    /// <summary>
    /// Lets go of a lease whose row no longer exists (<c>Reset-SqbState</c> dropped the locks table): stops
    /// renewing and gives back the advisory lock, deleting nothing.
    /// </summary>
    public void Abandon()
    {
        _heartbeat.Dispose();
        lock (_gate)
        {
            if (_released) return;
            _released = true;
            try
            {
                if (_advisory) _manager.ReleaseAdvisory(_session, Key);
            }
            catch (Exception ex) { _manager.Log.Warning($"could not release lock {Key}: {Redaction.Redact(ex.Message)}"); }
            finally { _session.Dispose(); }
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

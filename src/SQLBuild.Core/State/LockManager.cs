using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.State;

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

    private StateSql Sql => _store.Sql;

    /// <summary>
    /// Takes <paramref name="key"/> for <paramref name="operationId"/> or throws at once: S014 for a
    /// VDE (S019 when <paramref name="code"/> says so), naming the holder.
    /// </summary>
    public LockLease Acquire(string key, string operationId, string code = ErrorCodes.EnvironmentLocked)
    {
        var session = _store.OpenBookkeepingSession(dedicated: true);
        try
        {
            var advisory = TryAdvisory(session, key);
            if (advisory == false) throw Locked(session, key, code, holderMayLag: true);
            // Clear a row whose holder is gone: expired, or (advisory lock now ours / dead local pid) orphaned.
            var row = Read(session, key).SingleOrDefault();
            if (row is not null && (row.IsExpired || advisory == true || row.IsOrphaned))
            {
                _log.Verbose(row.IsExpired ? $"taking over expired lock {key} of {row.OwnerId}" : $"taking over orphaned lock {key} of {row.OwnerId}");
                session.Execute(Sql.Delete(StateSchema.Locks, Held(key, row.OwnerId)));
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
        var rows = session.Query(Sql.LockRows(key));
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
        return session.Execute(Sql.Delete(StateSchema.Locks, Where.Equal("lock_key", key))) > 0;
    }

    /// <summary>The row of <paramref name="key"/> while <paramref name="owner"/> holds it.</summary>
    private static Where Held(string key, string owner) => Where.Equal("lock_key", key) & Where.Equal("owner_id", owner);

    private SqlStatement InsertRow(string key, string operationId) =>
        Sql.Insert(StateSchema.Locks, new[]
        {
            Set.To("lock_key", key), Set.To("owner_id", operationId), Set.To("owner_host", System.Environment.MachineName),
            Set.To("owner_pid", (long)System.Environment.ProcessId), Set.To("operation_id", operationId),
            Set.ToNowPlus("expires_at", TtlSeconds), Set.ToNow("created_at"), Set.ToNow("updated_at"),
        });

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

    private SqlDialect Dialect => Sql.Dialect;

    /// <summary>Tries the session-level advisory lock: true = taken, false = held by a live session, null = engine has none.</summary>
    private bool? TryAdvisory(IWarehouseSession session, string key)
    {
        if (!Dialect.SupportsAdvisoryLocks) return null;
        return Dialect.AdvisoryLockTaken(session.ExecuteScalar(Dialect.TryAdvisoryLock(AdvisoryResource(Sql.Schema, key))));
    }

    internal void ReleaseAdvisory(IWarehouseSession session, string key)
    {
        if (Dialect.SupportsAdvisoryLocks) session.Execute(Dialect.ReleaseAdvisoryLock(AdvisoryResource(Sql.Schema, key)));
    }

    /// <summary>True when no live session holds the key's advisory lock (probe: take it and give it back at once).</summary>
    private bool ProbeAdvisoryFree(string key)
    {
        if (!Dialect.SupportsAdvisoryLocks) return false;
        using var probe = _store.OpenStateSession();
        if (TryAdvisory(probe, key) != true) return false;
        ReleaseAdvisory(probe, key);
        return true;
    }

    /// <summary>Extends the lease; false when its row is no longer <paramref name="owner"/>'s (the lease is lost).</summary>
    internal bool Renew(IWarehouseSession session, string key, string owner) =>
        session.Execute(Sql.Update(StateSchema.Locks, new[] { Set.ToNowPlus("expires_at", TtlSeconds), Set.ToNow("updated_at") }, Held(key, owner))) == 1;

    /// <summary>Inside the caller's transaction: true when the row is still <paramref name="owner"/>'s and unexpired
    /// (<c>UPDATE ... WHERE lock_key = @k AND owner_id = @o AND expires_at &gt; now</c> touched one row).</summary>
    /// <remarks>Where writers wait for each other, the UPDATE also holds the row until the caller commits, so no takeover
    /// can slip in between. DuckDB (one writing process per file; a second writer would conflict with the lease's own
    /// renewal) reads the row instead: only this process can change it.</remarks>
    internal bool Fence(IWarehouseSession session, string key, string owner)
    {
        var live = Held(key, owner) & Where.After("expires_at", StateValue.Now);
        if (Dialect.WritersConflictInsteadOfWaiting)
            return session.Query(Sql.Select(StateSchema.Locks, new[] { "lock_key" }, live)).Count == 1;
        return session.Execute(Sql.Update(StateSchema.Locks, new[] { Set.ToNowPlus("expires_at", TtlSeconds), Set.ToNow("updated_at") }, live)) == 1;
    }

    internal void Release(IWarehouseSession session, string key, string owner) =>
        session.Execute(Sql.Delete(StateSchema.Locks, Held(key, owner)));

    internal ISqbLog Log => _log;
}

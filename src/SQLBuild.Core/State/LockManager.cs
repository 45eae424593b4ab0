using System.Diagnostics;
using System.Globalization;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.State;

/// <summary>What an acquire asks for (SPEC §6).</summary>
/// <param name="Key"><c>virtual_env:&lt;name&gt;</c> or <c>state_migration</c>.</param>
/// <param name="Owner">The owner id: the run's operation id, unique per run.</param>
public sealed record LockRequest(string Key, string Owner)
{
    /// <summary>The code a refusal carries: S014, or S019 for rollback (upstream's).</summary>
    public string Code { get; init; } = ErrorCodes.EnvironmentLocked;

    /// <summary>What the run is called when the other side refuses it ("build", "janitor", "state migrate").</summary>
    public string Action { get; init; } = "this operation";

    /// <summary>
    /// A VDE operation and the janitor or a state migration exclude each other both ways: each inserts its row, then
    /// looks for a live row of the other side (any <c>state_migration</c> row for a VDE key, any <c>virtual_env:*</c> row
    /// for <c>state_migration</c>) and, finding one, deletes its own row and refuses. Whichever of two racing runs
    /// looks last sees the other's row, so they never both go on. False for init, which only adds what is missing and
    /// runs beside anything (a VDE operation still refuses while init holds <c>state_migration</c>).
    /// </summary>
    public bool ExcludesOtherSide { get; init; } = true;
}

/// <summary>What <see cref="LockManager.Clear"/> did: whether the row was deleted (by the clear, or by its holder as it lost its
/// ended sessions), and which server sessions of its holder it ended.</summary>
public sealed record LockClearance(bool Deleted, IReadOnlyList<long> EndedSessions);

/// <summary>
/// Locks of SPEC §6. Acquire is one INSERT guarded by the unique key, after deleting an expired or orphaned row for
/// that key; a live row fails at once (no waiting). The holder renews its row while it works and, on PostgreSQL / SQL
/// Server, keeps a session-level advisory lock, so that a holder whose session died is provably orphaned.
/// <para>
/// Orphaned (SPEC §6) needs both: no session holds the key's session lock, AND the row missed two renewals (judged by the
/// database clock), or its holder is provably dead on this host (a dead local process id), which stands in for the missed
/// renewals since a dead process renews nothing. A dead local process id never stands in for the session lock where the
/// engine has one: two machines (containers, cloned build agents) can share a host name and pid namespaces differ, so a
/// pid that looks dead here may belong to a live holder elsewhere, while the server's session lock cannot be fooled.
/// DuckDB has no session lock; there a dead local process id alone means orphaned: one process at a time opens the file,
/// so a holder in another live process could not have let us in.
/// </para>
/// <para>
/// A takeover (of an orphaned or expired row) first waits, bounded and with progress, for the old holder's server
/// sessions (named <c>sqlbuild/&lt;operation id&gt;</c>) to finish their statements: a server goes on running a statement
/// after its client died, and the next run must not meet its half-made work (issue 9, case 3). Still running at the
/// bound: L003, naming them (Clear-SqbLock ends them).
/// </para>
/// </summary>
public sealed class LockManager
{
    public static string EnvironmentKey(string environment) => EnvironmentPrefix + environment;
    public const string EnvironmentPrefix = "virtual_env:";
    public const string MigrationKey = "state_migration";

    /// <summary>
    /// A holder renews its row every <see cref="RenewEvery"/>: 15 s, so a holder on another host whose session died counts
    /// as orphaned 30 s after its last renewal, and a plain retry after a crash works within half a minute (at once on
    /// the same host). Tests may shorten it through <c>SQB_LOCK_RENEW_SECONDS</c>.
    /// </summary>
    public const int DefaultRenewSeconds = 15;

    /// <summary>The TTL is this many renewal intervals (10 minutes by default). A row therefore states its holder's renewal
    /// interval (its expiry minus its last renewal, divided by this), and any reader can tell when it missed two renewals,
    /// whatever interval the reader itself uses.</summary>
    public const int RenewalsPerTtl = 40;

    public static TimeSpan RenewEvery => TimeSpan.FromSeconds(Setting("SQB_LOCK_RENEW_SECONDS", DefaultRenewSeconds));

    public static int TtlSeconds => (int)RenewEvery.TotalSeconds * RenewalsPerTtl;

    /// <summary>How long a takeover waits for the old holder's statements to end before it refuses with L003: 30 s, ample
    /// for PostgreSQL to notice a dead client (<c>client_connection_check_interval</c>). Tests may change it through
    /// <c>SQB_LOCK_ORPHAN_WAIT_SECONDS</c>.</summary>
    public static TimeSpan OrphanWait => TimeSpan.FromSeconds(Setting("SQB_LOCK_ORPHAN_WAIT_SECONDS", 30));

    private static int Setting(string variable, int fallback) =>
        int.TryParse(System.Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s > 0
            ? s : fallback;

    private readonly StateStore _store;
    private readonly ISqbLog _log;

    public LockManager(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
    }

    private StateSql Sql => _store.Sql;
    private SqlDialect Dialect => Sql.Dialect;

    /// <summary>Takes <paramref name="key"/> for <paramref name="operationId"/> or throws at once (see <see cref="Acquire(LockRequest, CancellationToken)"/>).</summary>
    public LockLease Acquire(string key, string operationId, string code = ErrorCodes.EnvironmentLocked) =>
        Acquire(new LockRequest(key, operationId) { Code = code });

    /// <summary>
    /// Takes the key or throws at once: S014 (S019 for rollback), naming the holder, while a live holder has it or the
    /// other side of the exclusion holds a live row; L003 when an orphan's statements still run after
    /// <see cref="OrphanWait"/>. The lease's session is dedicated (its session lock ends with it) and is closed on every
    /// path that does not return the lease. <paramref name="cancellation"/> stops the wait for an orphan.
    /// </summary>
    public LockLease Acquire(LockRequest request, CancellationToken cancellation = default)
    {
        var session = _store.OpenBookkeepingSession(dedicated: true);
        bool? advisory = null;
        try
        {
            var key = request.Key;
            advisory = TryAdvisory(session, key);
            var row = Read(session, key).SingleOrDefault();
            if (row is not null) advisory = TakeOver(session, row, advisory, request, cancellation);
            else if (advisory == false) throw Locked(session, key, request.Code, holderMayLag: true);
            try
            {
                session.Execute(InsertRow(key, request.Owner));
            }
            // The key was taken when we inserted. The holder's row may already be gone again (released between
            // our insert and this read; on DuckDB also a delete committed after our insert's snapshot), so a unique
            // violation alone means "locked" too, not a raw insert error.
            catch (SqbException e) when (WarehouseErrors.IsUniqueViolation(e) || Read(session, key).Any(r => r.OwnerId != request.Owner))
            {
                throw Locked(session, key, request.Code);
            }
            if (request.ExcludesOtherSide) RefuseBesideOtherSide(session, request);
            _log.Verbose($"acquired lock {key} for {request.Owner}");
            return new LockLease(this, session, key, request.Owner, advisory == true);
        }
        catch
        {
            // Refused after taking the session lock (the other side of the exclusion, or a row that appeared): give it
            // back before closing, since the server drops a closed session's locks a moment later and the next
            // acquire would find it still taken.
            if (advisory == true)
                try { ReleaseAdvisory(session, request.Key); } catch (Exception) { /* the session ends anyway */ }
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Deletes <paramref name="row"/> when its holder is gone (expired, orphaned, or dead on this host with its session
    /// still ending), after waiting for the holder's statements; otherwise throws the lock error. Returns the session
    /// lock as it now stands (taken by us, or null where the engine has none).
    /// </summary>
    private bool? TakeOver(IWarehouseSession session, Observed row, bool? advisory, LockRequest request, CancellationToken cancellation)
    {
        if (advisory == false)
        {
            // A session holds the key: a live holder's, unless the holder died on this host. Then that session is one of
            // its backends, which the server ends moments after the process (awaited below with its statements).
            if (!DeadLocalProcess(row.Host, row.Pid)) throw Locked(session, row.Key, request.Code, row);
        }
        else if (!row.IsExpired && !IsOrphaned(row, sessionLockFree: advisory)) throw Locked(session, row.Key, request.Code, row, sessionEnded: advisory == true);
        advisory = AwaitHolder(session, row, advisory, request.Code, cancellation);
        _log.Verbose(row.IsExpired ? $"taking over expired lock {row.Key} of {row.OwnerId}" : $"taking over orphaned lock {row.Key} of {row.OwnerId}");
        session.Execute(Sql.Delete(StateSchema.Locks, Held(row.Key, row.OwnerId)));
        return advisory;
    }

    /// <summary>
    /// Waits, bounded by <see cref="OrphanWait"/> and with progress, until no session of the old holder runs a statement or
    /// holds a transaction, and (when a session of it still held the key) the session lock is ours. L003 when its
    /// statements still run at the bound; the lock error when the session lock turns out to be another acquirer's.
    /// </summary>
    private bool? AwaitHolder(IWarehouseSession session, Observed row, bool? advisory, string code, CancellationToken cancellation)
    {
        if (Dialect.SessionsOfApplication(row.Application) is not { } query) return advisory;   // DuckDB: nothing runs outside a process
        var bound = OrphanWait;
        var clock = Stopwatch.StartNew();
        var activity = $"Waiting for the statements of {row.OwnerId} to end";
        for (var round = 0; ; round++)
        {
            var sessions = session.Query(query).Select(ServerSession.Of).ToList();
            var busy = sessions.Where(s => s.Busy).ToList();
            if (advisory == false) advisory = TryAdvisory(session, row.Key);
            if (busy.Count == 0 && advisory != false)
            {
                if (round > 0) _log.Progress(activity, "ended", 1, 1);
                return advisory;
            }
            // Nothing of the old holder is left, yet the session lock is held: another acquirer took it meanwhile.
            if (advisory == false && sessions.Count == 0) throw Locked(session, row.Key, code);
            if (clock.Elapsed >= bound)
            {
                if (round > 0) _log.Progress(activity, "gave up", 1, 1);
                throw busy.Count > 0 ? OrphanStillRunning(row, busy, clock.Elapsed) : Locked(session, row.Key, code, row);
            }
            if (round == 0)
                _log.Verbose($"{row.Key}: {row.OwnerId} is gone but {Math.Max(busy.Count, 1)} of its server sessions still run; " +
                             $"waiting up to {bound.TotalSeconds:0} s for them to end");
            _log.Progress(activity, $"{busy.Count} session(s) still running: {string.Join(", ", busy.Select(s => s.Id))}",
                (int)clock.Elapsed.TotalSeconds, Math.Max(1, (int)bound.TotalSeconds));
            if (cancellation.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(250))) cancellation.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Insert, then check (<see cref="LockRequest.ExcludesOtherSide"/>): with our row in place, a live row of the other side
    /// means one of us must give way, and it is the one who looks last. Deletes our row and refuses at once.
    /// </summary>
    private void RefuseBesideOtherSide(IWarehouseSession session, LockRequest request)
    {
        var migration = request.Key == MigrationKey;
        var live = Read(session, null)
            .Where(r => migration ? r.Key.StartsWith(EnvironmentPrefix, StringComparison.Ordinal) : r.Key == MigrationKey)
            .Where(r => !r.IsExpired && !IsOrphaned(r, SessionLockFree(session, r.Key)))
            .ToList();
        if (live.Count == 0) return;
        session.Execute(Sql.Delete(StateSchema.Locks, Held(request.Key, request.Owner)));
        if (migration) throw EnvironmentsLocked(live.Select(r => ToRow(r, orphaned: false)).ToList(), request.Action);
        var holder = live[0];
        throw new SqbException(request.Code, request.Code == ErrorCodes.RollbackLocked ? "EnvironmentLocked" : "StateLocked",
            $"state store is locked ({MigrationKey}) by {Describe(holder)}; {request.Action} refuses while the state store is locked",
            SqbErrorKind.ResourceBusy, MigrationKey,
            $"Wait for the state operation to finish (Get-SqbLock -Key {MigrationKey}), then run the command again; " +
            $"if its process is gone, run Clear-SqbLock -Key '{MigrationKey}' -Force (or Clear-SqbLock -Orphaned).");
    }

    /// <summary>S014 naming a live VDE lock (and how many more): a janitor or state migration refuses beside any.</summary>
    public static SqbException EnvironmentsLocked(IReadOnlyList<LockRow> held, string action)
    {
        var l = held[0];
        var others = held.Count > 1 ? $" (and {held.Count - 1} more: {string.Join(", ", held.Skip(1).Select(h => h.Key))})" : "";
        return new SqbException(ErrorCodes.EnvironmentLocked, "EnvironmentLocked",
            $"virtual environment '{l.Key[EnvironmentPrefix.Length..]}' is locked by {l.OwnerId} (host {l.OwnerHost}, pid {l.OwnerPid}, " +
            $"since {l.CreatedAt:u}, expires {l.ExpiresAt:u}){others}; {action} refuses while a virtual environment is locked",
            SqbErrorKind.ResourceBusy, l.Key,
            $"Wait for the other operation to finish (Get-SqbLock), or, if its process is gone, run Clear-SqbLock -Key '{l.Key}' -Force.");
    }

    private SqbException Locked(IWarehouseSession session, string key, string code, Observed? holder = null, bool holderMayLag = false,
        bool sessionEnded = false)
    {
        holder ??= Read(session, key).SingleOrDefault();
        // A holder takes its advisory lock a moment before its row is committed: give the row that moment
        // to show, so the error names the holder. This never waits for the lock itself.
        for (var i = 0; holder is null && holderMayLag && i < 10; i++)
        {
            Thread.Sleep(25);
            holder = Read(session, key).SingleOrDefault();
        }
        var subject = key.StartsWith(EnvironmentPrefix, StringComparison.Ordinal)
            ? $"virtual environment '{key[EnvironmentPrefix.Length..]}' is locked"
            : $"state store is locked ({key})";
        var by = holder is null ? "" : " by " + Describe(holder);
        // Its session is gone but it has not yet missed two renewals: say when a retry takes it over.
        var after = holder is not null && sessionEnded
            ? $"; its session has ended: it counts as orphaned from {holder.UpdatedAt + 2 * holder.RenewEvery:u}, and a retry then takes it over"
            : "";
        return new SqbException(code, code == ErrorCodes.RollbackLocked ? "EnvironmentLocked" : key == MigrationKey ? "StateLocked" : "EnvironmentLocked",
            subject + by + after, SqbErrorKind.ResourceBusy, key,
            $"Wait for the other process to finish, or, if it is gone, run Clear-SqbLock -Key '{key}' -Force (or Clear-SqbLock -Orphaned).");
    }

    private static string Describe(Observed holder) =>
        $"{holder.OwnerId} (host {holder.Host}, pid {holder.Pid}, since {holder.CreatedAt:u}, expires {holder.ExpiresAt:u})";

    private static SqbException OrphanStillRunning(Observed row, IReadOnlyList<ServerSession> busy, TimeSpan waited) =>
        new(ErrorCodes.OrphanStillRunning, "OrphanStillRunning",
            $"{row.Key} was held by {row.OwnerId} (host {row.Host}, pid {row.Pid}), whose statements still run on the server " +
            $"after {waited.TotalSeconds:0} s: " + string.Join("; ", busy.Select(s => s.Describe())),
            SqbErrorKind.ResourceBusy, row.Key,
            $"Wait for those statements to end and run the command again, or end them with Clear-SqbLock -Key '{row.Key}' -Force " +
            $"(it ends the server sessions of {row.OwnerId}), then run the command again.");

    // ------------------------------------------------------------------ reading

    /// <summary>Every lock row (or one key's), with expiry judged by the database clock and orphan detection. Read-only:
    /// the session locks are probed without being taken, so listing never makes an acquire fail.</summary>
    public IReadOnlyList<LockRow> List(string? key = null)
    {
        using var session = _store.OpenStateSession();
        return Read(session, key).Select(r => ToRow(r, !r.IsExpired && IsOrphaned(r, SessionLockFree(session, r.Key)))).ToList();
    }

    /// <summary>A lock row as read, with the facts its verdicts come from, all by the database clock.</summary>
    private sealed record Observed(string Key, string OwnerId, string? Host, long? Pid, string? OperationId,
        DateTime CreatedAt, DateTime UpdatedAt, DateTime ExpiresAt, DateTime Now, bool IsExpired)
    {
        /// <summary>The holder's renewal interval, as its row states it (<see cref="RenewalsPerTtl"/>).</summary>
        public TimeSpan RenewEvery => (ExpiresAt - UpdatedAt) / RenewalsPerTtl;

        public bool MissedTwoRenewals => Now - UpdatedAt > 2 * RenewEvery;

        /// <summary>The name the server shows for the holder's sessions.</summary>
        public string Application => new SessionOptions { OperationId = OperationId ?? OwnerId }.ApplicationName;
    }

    private IReadOnlyList<Observed> Read(IWarehouseSession session, string? key) =>
        session.Query(Sql.LockRows(key)).Select(r =>
        {
            var created = StateRepository.Dt(r[5]) ?? DateTime.MinValue;
            return new Observed(StateRepository.Str(r[0])!, StateRepository.Str(r[1])!, StateRepository.Str(r[2]),
                r[3] is null or DBNull ? null : Convert.ToInt64(r[3], CultureInfo.InvariantCulture), StateRepository.Str(r[4]),
                created, StateRepository.Dt(r[8]) ?? created, StateRepository.Dt(r[6]) ?? DateTime.MinValue,
                StateRepository.Dt(r[9]) ?? DateTime.UtcNow, Convert.ToInt64(r[7], CultureInfo.InvariantCulture) == 1);
        }).ToList();

    private static LockRow ToRow(Observed r, bool orphaned) =>
        new(r.Key, r.OwnerId, r.Host, r.Pid, r.OperationId, r.CreatedAt, r.ExpiresAt, r.IsExpired, orphaned) { UpdatedAt = r.UpdatedAt };

    /// <summary>
    /// The verdict of SPEC §6 for a row that has not expired: no session holds its session lock (<paramref name="sessionLockFree"/>:
    /// null where the engine has none) and it missed two renewals or its holder is dead on this host; without session
    /// locks (DuckDB), a dead local holder alone. See the class remarks for why.
    /// </summary>
    private static bool IsOrphaned(Observed row, bool? sessionLockFree) => sessionLockFree switch
    {
        true => row.MissedTwoRenewals || DeadLocalProcess(row.Host, row.Pid),
        false => false,
        null => DeadLocalProcess(row.Host, row.Pid),
    };

    /// <summary>The row of <paramref name="key"/> while <paramref name="owner"/> holds it.</summary>
    private static Where Held(string key, string owner) => Where.Equal("lock_key", key) & Where.Equal("owner_id", owner);

    private SqlStatement InsertRow(string key, string operationId) =>
        Sql.Insert(StateSchema.Locks, new[]
        {
            Set.To("lock_key", key), Set.To("owner_id", operationId), Set.To("owner_host", System.Environment.MachineName),
            Set.To("owner_pid", (long)System.Environment.ProcessId), Set.To("operation_id", operationId),
            Set.ToNowPlus("expires_at", TtlSeconds), Set.ToNow("created_at"), Set.ToNow("updated_at"),
        });

    // ------------------------------------------------------------------ clearing

    /// <summary>
    /// <c>Clear-SqbLock</c>: ends the server sessions of the holder it showed (<paramref name="shown"/>), then deletes the row
    /// by key AND that owner, so a row another process took meanwhile is never deleted. The sessions go first: once the
    /// row is gone the next run goes straight ahead, and it must not meet the old holder's statements still at work.
    /// A holder that is still alive loses its lease either way (it can switch nothing); ending its sessions stops its
    /// statements now instead of at its next renewal. Sessions that cannot be ended (no permission) are named in a
    /// warning, and the row is deleted all the same.
    /// </summary>
    public LockClearance Clear(LockRow shown)
    {
        using var session = _store.OpenStateSession();
        var ended = EndSessions(session, shown);
        // A live holder whose sessions were just ended loses its lease and releases its row itself (through a fresh
        // session), which may come before this delete: its row is gone because it was cleared all the same.
        var deleted = session.Execute(Sql.Delete(StateSchema.Locks, Held(shown.Key, shown.OwnerId))) > 0 || ended.Count > 0;
        return new LockClearance(deleted, ended);
    }

    private IReadOnlyList<long> EndSessions(IWarehouseSession session, LockRow shown)
    {
        var application = new SessionOptions { OperationId = shown.OperationId ?? shown.OwnerId }.ApplicationName;
        if (Dialect.EndSessionsOfApplication(application) is not { } end) return Array.Empty<long>();
        List<long> ended;
        try
        {
            ended = session.Query(end).Select(r => Convert.ToInt64(r[0], CultureInfo.InvariantCulture)).ToList();
        }
        catch (SqbException e)
        {
            _log.Warning($"could not end the server sessions of {shown.OwnerId} ({application}): {Redaction.Redact(e.Message)}; " +
                         "a DBA can end them, the lock row is cleared all the same");
            return Array.Empty<long>();
        }
        if (ended.Count == 0) return ended;
        _log.Verbose($"ended {ended.Count} server session(s) of {shown.OwnerId}: {string.Join(", ", ended)}");
        // Ending is asynchronous on the server: wait (briefly) until they are gone, so what they held is free when we return.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10) &&
               session.Query(Dialect.SessionsOfApplication(application)!).Any(r => ended.Contains(Convert.ToInt64(r[0], CultureInfo.InvariantCulture))))
            Thread.Sleep(100);
        return ended;
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

    /// <summary>
    /// The session-lock resource of a lock key. Advisory locks (PostgreSQL) and applocks (SQL Server) are
    /// database-wide, while lock rows live in one state schema: the resource names the schema too, so two
    /// state stores in one database (two projects, or two targets) never block each other's same key.
    /// </summary>
    public static string AdvisoryResource(string stateSchema, string key) => $"sqlbuild:{stateSchema}:{key}";

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

    /// <summary>Whether no session holds the key's session lock, read without taking it; null where the engine has none.</summary>
    private bool? SessionLockFree(IWarehouseSession session, string key) =>
        Dialect.SupportsAdvisoryLocks
            ? Dialect.AdvisoryLockIsFree(session.ExecuteScalar(Dialect.ProbeAdvisoryLock(AdvisoryResource(Sql.Schema, key))))
            : null;

    // ------------------------------------------------------------------ the holder's side

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

    /// <summary>Deletes <paramref name="owner"/>'s row through a session of its own: for a lease whose session has ended.</summary>
    internal void ReleaseThroughNewSession(string key, string owner)
    {
        using var session = _store.OpenBookkeepingSession(dedicated: false);
        Release(session, key, owner);
    }

    /// <summary>One round trip on the lease's session: it answers only while it (and its session lock) lives.</summary>
    internal void Ping(IWarehouseSession session) => session.ExecuteScalar(new SqlStatement("PING", "lease session", "SELECT 1"));

    internal ISqbLog Log => _log;

    /// <summary>One server session of a lock holder, as <see cref="SqlDialect.SessionsOfApplication"/> shows it.</summary>
    private sealed record ServerSession(long Id, string? User, string? State, DateTime? Since, string? Query, bool Busy)
    {
        public static ServerSession Of(object?[] r) => new(Convert.ToInt64(r[0], CultureInfo.InvariantCulture), StateRepository.Str(r[1]),
            StateRepository.Str(r[2]), StateRepository.Dt(r[3]), StateRepository.Str(r[4]), Convert.ToInt64(r[5], CultureInfo.InvariantCulture) == 1);

        public string Describe() =>
            $"session {Id} ({User}, {State}{(Since is { } t ? $" since {t:u}" : "")}): {Redaction.Redact(Query ?? "")}";
    }
}

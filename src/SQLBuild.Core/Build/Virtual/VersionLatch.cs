using System.Collections.Concurrent;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build.Virtual;

/// <summary>
/// Held while one physical version is built, so two builds that need the same new version at once build it once (the
/// second waits, then reuses it). It writes no row: an in-process semaphore covers DuckDB (one process owns the file),
/// and a session-level advisory lock (PostgreSQL) or applock (SQL Server) covers other processes. That lock is taken on
/// the very session that runs the version's DDL (a dedicated one): if the builder dies while the server still runs its
/// statement, the latch stays held until the server ends that statement (it notices the dead client within
/// <c>client_connection_check_interval</c>), so the next builder never meets a half-made relation of a live statement.
/// </summary>
internal sealed class VersionLatch : IDisposable
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    private readonly SemaphoreSlim _gate;
    private readonly IWarehouseSession? _session;
    private readonly string? _resource;
    private bool _released;

    private VersionLatch(SemaphoreSlim gate, IWarehouseSession? session, string? resource)
    {
        _gate = gate;
        _session = session;
        _resource = resource;
    }

    /// <param name="session">The session that will run the version's DDL: it holds the latch.</param>
    public static VersionLatch Acquire(IWarehouseSession session, StateStore store, string key, ISqbLog log, CancellationToken cancel)
    {
        var gate = Gates.GetOrAdd($"{store.Warehouse.Description}|{store.Sql.Schema}|{key}", _ => new SemaphoreSlim(1, 1));
        if (!gate.Wait(0))
        {
            log.Verbose($"waiting for {key}: another build of this process is making it");
            gate.Wait(cancel);
        }
        try
        {
            var dialect = session.Dialect;
            if (!dialect.SupportsAdvisoryLocks) return new VersionLatch(gate, null, null);
            var resource = LockManager.AdvisoryResource(store.Sql.Schema, key);
            var waiting = false;
            while (!dialect.AdvisoryLockTaken(session.ExecuteScalar(dialect.TryAdvisoryLock(resource))))
            {
                if (!waiting) log.Verbose($"waiting for {key}: another process is making it");
                waiting = true;
                cancel.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
                cancel.ThrowIfCancellationRequested();
            }
            return new VersionLatch(gate, session, resource);
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    public void Dispose()
    {
        if (_released) return;
        _released = true;
        try { if (_session is not null) _session.Execute(_session.Dialect.ReleaseAdvisoryLock(_resource!)); }
        catch { /* a dedicated session that broke ends on the server, which frees its session lock anyway */ }
        finally { _gate.Release(); }
    }
}

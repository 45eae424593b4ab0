using System.Collections.Concurrent;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.State;

/// <summary>
/// Held while one physical version is built, so two builds that need the same new version at once build
/// it once (the second waits, then reuses it). Unlike a VDE lock it writes no row: an in-process semaphore
/// covers DuckDB (one process owns the file), and a session-level advisory lock (PostgreSQL) or applock
/// (SQL Server) covers other processes and ends with its session, so a crash leaves nothing behind.
/// </summary>
public sealed class VersionLatch : IDisposable
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    private readonly SemaphoreSlim _gate;
    private readonly IWarehouseSession? _session;
    private readonly SqlStatement? _release;
    private bool _released;

    private VersionLatch(SemaphoreSlim gate, IWarehouseSession? session, SqlStatement? release)
    {
        _gate = gate;
        _session = session;
        _release = release;
    }

    public static VersionLatch Acquire(StateStore store, string key, ISqbLog log, CancellationToken cancel)
    {
        var schema = store.Sql.Schema;
        var dialect = store.Sql.Dialect;
        var gate = Gates.GetOrAdd($"{store.StateWarehouse.Description}|{schema}|{key}", _ => new SemaphoreSlim(1, 1));
        if (!gate.Wait(0))
        {
            log.Verbose($"waiting for {key}: another build of this process is making it");
            gate.Wait(cancel);
        }
        IWarehouseSession? session = null;
        try
        {
            if (!dialect.SupportsAdvisoryLocks) return new VersionLatch(gate, null, null);
            var resource = LockManager.AdvisoryResource(schema, key);
            var take = dialect.TryAdvisoryLock(resource);
            session = store.OpenStateSession();
            var waiting = false;
            while (!dialect.AdvisoryLockTaken(session.ExecuteScalar(take)))
            {
                if (!waiting) log.Verbose($"waiting for {key}: another process is making it");
                waiting = true;
                cancel.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
                cancel.ThrowIfCancellationRequested();
            }
            return new VersionLatch(gate, session, dialect.ReleaseAdvisoryLock(resource));
        }
        catch
        {
            session?.Dispose();
            gate.Release();
            throw;
        }
    }

    public void Dispose()
    {
        if (_released) return;
        _released = true;
        try { if (_release is not null) _session?.Execute(_release); }
        catch { /* the session ends below, which frees a session-level lock anyway */ }
        finally
        {
            _session?.Dispose();
            _gate.Release();
        }
    }
}

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

    /// <summary>
    /// The latches of a wave of versions, tried all at once without waiting: the in-process gates one by one, then the
    /// advisory locks in ONE statement where the dialect has that form. <see cref="Wave.Taken"/> holds the keys this
    /// session now holds; the others are being made by another build (the caller builds them one by one, waiting).
    /// </summary>
    public static Wave TryAcquireWave(IWarehouseSession session, StateStore store, IReadOnlyList<string> keys)
    {
        var gated = new List<(string Key, SemaphoreSlim Gate)>();
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            var gate = Gates.GetOrAdd($"{store.Warehouse.Description}|{store.Sql.Schema}|{key}", _ => new SemaphoreSlim(1, 1));
            if (gate.Wait(0)) gated.Add((key, gate));
        }
        try
        {
            var dialect = session.Dialect;
            if (!dialect.SupportsAdvisoryLocks || gated.Count == 0) return new Wave(session, gated, Array.Empty<string>());
            var resources = gated.Select(g => LockManager.AdvisoryResource(store.Sql.Schema, g.Key)).ToList();
            var taken = new bool[resources.Count];
            if (dialect.TryAdvisoryLocks(resources) is { } many)
                foreach (var row in session.Query(many))
                    taken[Convert.ToInt32(row[0], System.Globalization.CultureInfo.InvariantCulture) - 1] = dialect.AdvisoryLockTaken(row[1]);
            else
                for (var i = 0; i < resources.Count; i++) taken[i] = dialect.AdvisoryLockTaken(session.ExecuteScalar(dialect.TryAdvisoryLock(resources[i])));
            var held = new List<(string, SemaphoreSlim)>();
            var heldResources = new List<string>();
            for (var i = 0; i < gated.Count; i++)
            {
                if (taken[i]) { held.Add(gated[i]); heldResources.Add(resources[i]); }
                else gated[i].Gate.Release();
            }
            return new Wave(session, held, heldResources);
        }
        catch
        {
            foreach (var (_, gate) in gated) gate.Release();
            throw;
        }
    }

    /// <summary>The latches of a wave (<see cref="TryAcquireWave"/>); disposing gives them all back (one statement where it can).</summary>
    internal sealed class Wave : IDisposable
    {
        private readonly IWarehouseSession _session;
        private readonly List<(string Key, SemaphoreSlim Gate)> _gates;
        private readonly IReadOnlyList<string> _resources;
        private bool _released;

        public Wave(IWarehouseSession session, List<(string Key, SemaphoreSlim Gate)> gates, IReadOnlyList<string> resources)
        {
            _session = session;
            _gates = gates;
            _resources = resources;
            Taken = gates.Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        }

        public IReadOnlySet<string> Taken { get; }

        public void Dispose()
        {
            if (_released) return;
            _released = true;
            try
            {
                if (_resources.Count > 0)
                {
                    var dialect = _session.Dialect;
                    if (dialect.ReleaseAdvisoryLocks(_resources) is { } many) _session.Query(many);
                    else foreach (var resource in _resources) _session.Execute(dialect.ReleaseAdvisoryLock(resource));
                }
            }
            catch { /* a dedicated session that broke ends on the server, which frees its session locks anyway */ }
            finally { foreach (var (_, gate) in _gates) gate.Release(); }
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

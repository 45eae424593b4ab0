using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.State;

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

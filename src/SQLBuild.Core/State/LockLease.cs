using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.State;

/// <summary>
/// A held lock: renewed on a timer while the work runs, proven still held inside every transaction that moves refs
/// or views (<see cref="Fence"/>), released (owner-checked) on dispose. Its session is dedicated: never pooled, never
/// cancelled by a stop, so the release after a Ctrl+C runs and a session-level lock ends with it.
/// <para>
/// A renewal that finds its row gone or taken by another owner (a takeover after missed renewals, or
/// <c>Clear-SqbLock</c>) marks the lease lost: <see cref="Lost"/> is cancelled, which stops the operation's running
/// statements, and every later <see cref="Fence"/> fails with L001, so nothing switches.
/// </para>
/// </summary>
public sealed class LockLease : IDisposable
{
    private readonly LockManager _manager;
    private readonly IWarehouseSession _session;
    private readonly bool _advisory;
    private readonly Timer _heartbeat;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _lost = new();
    private bool _released;

    internal LockLease(LockManager manager, IWarehouseSession session, string key, string owner, bool advisory)
    {
        _manager = manager;
        _session = session;
        Key = key;
        Owner = owner;
        _advisory = advisory;
        var every = LockManager.RenewEvery;
        _heartbeat = new Timer(_ => Renew(), null, every, every);
    }

    public string Key { get; }
    public string Owner { get; }

    /// <summary>Cancelled when a renewal finds the row no longer ours.</summary>
    public CancellationToken Lost => _lost.Token;
    public bool IsLost => _lost.IsCancellationRequested;

    private void Renew()
    {
        lock (_gate)
        {
            if (_released || IsLost) return;
            try
            {
                if (_manager.Renew(_session, Key, Owner)) return;
                _manager.Log.Warning($"lost the lock {Key}: its row is gone or held by another owner; stopping {Owner}");
                _lost.Cancel();
            }
            catch (Exception ex) { _manager.Log.Warning($"could not renew lock {Key}: {Redaction.Redact(ex.Message)}"); }
        }
    }

    /// <summary>
    /// Proves, through <paramref name="session"/> and inside its open transaction, that the row is still ours and
    /// unexpired (one UPDATE that must touch exactly one row); otherwise throws L001, so the caller's transaction
    /// rolls back and nothing moves. Also the cheapest renewal there is.
    /// </summary>
    public void Fence(IWarehouseSession session)
    {
        if (!IsLost && _manager.Fence(session, Key, Owner)) return;
        _lost.Cancel();
        throw LostError();
    }

    /// <summary>L001: the lease is gone; nothing was switched.</summary>
    public SqbException LostError() =>
        new(ErrorCodes.LeaseLost, "LeaseLost",
            $"lost the lock '{Key}' while {Owner} ran (another process took it over, or it was cleared); nothing was switched",
            SqbErrorKind.ResourceBusy, Key,
            "Check Get-SqbLock and Get-SqbOperation for the run that holds it now, then run the command again.");

    /// <summary>
    /// Lets go of a lease whose row no longer exists (<c>Reset-SqbState</c> dropped the locks table): stops
    /// renewing and gives back the advisory lock, deleting nothing.
    /// </summary>
    public void Abandon() => End(deleteRow: false);

    public void Dispose() => End(deleteRow: true);

    private void End(bool deleteRow)
    {
        _heartbeat.Dispose();
        lock (_gate)
        {
            if (_released) return;
            _released = true;
            try
            {
                if (deleteRow) _manager.Release(_session, Key, Owner);
                if (_advisory) _manager.ReleaseAdvisory(_session, Key);
            }
            catch (Exception ex) { _manager.Log.Warning($"could not release lock {Key}: {Redaction.Redact(ex.Message)}"); }
            finally
            {
                _session.Dispose();
                _lost.Dispose();
            }
        }
    }
}

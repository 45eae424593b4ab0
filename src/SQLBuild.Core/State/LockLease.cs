using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.State;

/// <summary>
/// A held lock: renewed on a timer while the work runs, proven still held inside every transaction that moves refs
/// or views (<see cref="Fence"/>), released (owner-checked) on dispose. Its session is dedicated: never pooled, never
/// cancelled by a stop, so the release after a Ctrl+C runs and a session-level lock ends with it.
/// <para>
/// The lease is the row AND (where the engine has one) the session lock held by the lease's session. It is lost when a
/// renewal finds its row gone or taken by another owner (a takeover after missed renewals, or <c>Clear-SqbLock</c>), or
/// when the lease's session has ended (a DBA's <c>pg_terminate_backend</c>, <c>Clear-SqbLock -Force</c>, a network or
/// pooler fault): the session lock ended with it, so the lease counts as lost at once, whatever the row says. A renewal
/// that fails on a session that is still there (a timeout, a conflict) is retried at the next renewal; when none has
/// succeeded for two renewal intervals (the point from which others may judge the row orphaned) the lease counts as lost
/// too. Lost: <see cref="Lost"/> is cancelled, which stops the operation's running statements, and every later
/// <see cref="Fence"/> fails with L001, so nothing switches.
/// </para>
/// <para>
/// Release deletes the row by key and owner through the lease's session, or, when that session has ended, through a
/// fresh one, so a lease whose session was ended never leaves its row behind.
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
    private bool _sessionEnded;
    private DateTime _renewedAt = DateTime.UtcNow;

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
                if (_manager.Renew(_session, Key, Owner))
                {
                    _renewedAt = DateTime.UtcNow;
                    return;
                }
                Lose("its row is gone or held by another owner");
            }
            catch (Exception ex) when (SessionEnded(ex))
            {
                _sessionEnded = true;
                Lose($"its session ended ({Redaction.Redact(ex.Message)}), and the session lock with it");
            }
            catch (Exception ex)
            {
                var failing = DateTime.UtcNow - _renewedAt;
                if (failing >= 2 * LockManager.RenewEvery)
                    Lose($"no renewal succeeded for {failing.TotalSeconds:0} s (last: {Redaction.Redact(ex.Message)})");
                else
                    _manager.Log.Warning($"could not renew lock {Key}: {Redaction.Redact(ex.Message)}; retrying at the next renewal");
            }
        }
    }

    private void Lose(string why)
    {
        _manager.Log.Warning($"lost the lock {Key}: {why}; stopping {Owner}");
        _lost.Cancel();
    }

    /// <summary>Whether <paramref name="error"/> says the session it ran on is gone (the server ended it, or the connection broke).</summary>
    private static bool SessionEnded(Exception error) =>
        WarehouseErrors.Classify(error) == WarehouseErrorClass.Connection || error is ObjectDisposedException;

    /// <summary>
    /// Whether the lease is lost, checked now when <paramref name="failure"/> could be its loss seen from the other side
    /// (a statement of the run whose session the server ended, as <c>Clear-SqbLock -Force</c> does, or a stop): a renewal
    /// runs at once, so the run reports L001 instead of the broken statement. Other failures only read <see cref="IsLost"/>.
    /// </summary>
    public bool ExplainsFailure(Exception failure)
    {
        if (IsLost) return true;
        if (failure is OperationCanceledException || SessionEnded(failure)) Renew();
        return IsLost;
    }

    /// <summary>
    /// Proves, through <paramref name="session"/> and inside its open transaction, that the row is still ours and
    /// unexpired (one UPDATE that must touch exactly one row); otherwise throws L001, so the caller's transaction
    /// rolls back and nothing moves. Also the cheapest renewal there is.
    /// </summary>
    /// <remarks>The row alone does not prove the lease: its session lock ended with the lease's session, which may have
    /// happened since the last renewal. So the lease's session answers first (a session that answers still holds its
    /// session lock); one that has ended loses the lease here.</remarks>
    public void Fence(IWarehouseSession session)
    {
        if (!IsLost && LeaseSessionAnswers() && _manager.Fence(session, Key, Owner)) return;
        _lost.Cancel();
        throw LostError();
    }

    private bool LeaseSessionAnswers()
    {
        lock (_gate)
        {
            if (_released || IsLost) return false;
            try
            {
                _manager.Ping(_session);
                return true;
            }
            catch (Exception ex) when (SessionEnded(ex))
            {
                _sessionEnded = true;
                Lose($"its session ended ({Redaction.Redact(ex.Message)}), and the session lock with it");
                return false;
            }
        }
    }

    /// <summary>L001: the lease is gone; nothing was switched.</summary>
    public SqbException LostError() =>
        new(ErrorCodes.LeaseLost, "LeaseLost",
            $"lost the lock '{Key}' while {Owner} ran (another process took it over, it was cleared, or the session that held it ended); nothing was switched",
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
                try
                {
                    if (!_sessionEnded)
                    {
                        if (deleteRow) _manager.Release(_session, Key, Owner);
                        if (_advisory) _manager.ReleaseAdvisory(_session, Key);
                    }
                }
                catch (Exception ex) when (SessionEnded(ex)) { _sessionEnded = true; }
                // The lease's session has ended (its session lock with it): the row is deleted, by key and owner, through a fresh one.
                if (_sessionEnded && deleteRow) _manager.ReleaseThroughNewSession(Key, Owner);
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

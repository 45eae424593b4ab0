using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.State;

/// <summary>
/// One run of a journaled operation, as the journal and the lock see it.
/// </summary>
/// <param name="Kind">The journal's operation type: <c>promote</c>, <c>rollback</c>, <c>state_migrate</c>, ...</param>
/// <param name="Environment">The VDE it changes; null for a target-wide operation (the janitor, the state lifecycle).</param>
/// <param name="LockKey">The lock it holds while it runs (<see cref="LockManager.EnvironmentKey"/> or <see cref="LockManager.MigrationKey"/>).</param>
/// <param name="Description">The journal's start message.</param>
public sealed record JournaledRun(string Kind, string? Environment, string LockKey, string Description)
{
    /// <summary>The code a refusal by the lock carries: S014, or S019 for rollback (upstream's).</summary>
    public string LockedCode { get; init; } = ErrorCodes.EnvironmentLocked;

    /// <summary>The operation's name in the kill-point registry (<see cref="KillPoints.Declared"/>); its kind when null.</summary>
    public string? KillPoint { get; init; }

    /// <summary>What the run is called when the other side of the lock exclusion refuses it; its kind when null.</summary>
    public string? Action { get; init; }

    /// <summary>False for a recovery run on a damaged locks table, which goes on without a lock row (nothing else can take
    /// a lock in a damaged locks table either).</summary>
    public bool Locked { get; init; } = true;

    /// <summary>Checks that need the lock held and may refuse the run (the janitor's: no unfinished operation). They run
    /// before the journal row, so a refusal writes none, like a refusal by the lock itself.</summary>
    public Action? Guard { get; init; }

    /// <summary>False where the journal cannot be written (a damaged journal table) or is about to be dropped (reset).</summary>
    public bool Journaled { get; init; } = true;
}

/// <summary>What the body of a journaled run sees of it (<see cref="JournaledRuns.Run{T}"/>).</summary>
/// <param name="Id">The operation id: the journal row's, the lock owner's.</param>
/// <param name="Store">The state store scoped to the run: its sessions carry the id and stop with the run.</param>
/// <param name="Journal">The journal; null when the run is not journaled.</param>
/// <param name="Lease">The lock it holds; null when it runs without one.</param>
/// <param name="Cancellation">Cancelled when the run is stopped or its lease is lost.</param>
public sealed record JournaledScope(string Id, StateStore Store, OperationJournal? Journal, LockLease? Lease, CancellationToken Cancellation);

/// <summary>
/// The shape of every journaled run (SPEC §6, §9), for the operations on environments and the state lifecycle alike:
/// the lock first, so a run refused by it (or by the other side of the exclusion) writes nothing; then the journal row;
/// then the body; then how it ended.
/// </summary>
public static class JournaledRuns
{
    /// <summary>
    /// Runs <paramref name="body"/> under the run's lock with a journal row: <c>running</c>, the body's steps, and the end:
    /// <c>succeeded</c> with <paramref name="outcome"/>'s message (<c>failed</c> with it when <paramref name="failed"/> says the
    /// result failed); <c>cancelled</c> when <paramref name="cancellation"/> stopped
    /// it; <c>failed</c> with the error's (rethrown), or with L001 when the lease was lost meanwhile (its loss also cancelled
    /// the run's statements; a failure because the server ended the run's sessions is checked against the lease at once). Every run has an id of its own, which is also its lock owner, and names its server sessions.
    /// The outcome is recorded before the lock is released, so no reader sees a running row without its lock.
    /// </summary>
    public static T Run<T>(StateStore store, ISqbLog log, JournaledRun run, CancellationToken cancellation,
        Func<JournaledScope, T> body, Func<T, string> outcome, Func<T, bool>? failed = null)
    {
        cancellation.ThrowIfCancellationRequested();
        var operationId = Ids.NewOperationId(run.Kind);
        KillPoints.Begin(run.KillPoint ?? run.Kind);
        using var lease = run.Locked
            ? new LockManager(store.ForOperation(operationId, CancellationToken.None), log)
                .Acquire(new LockRequest(run.LockKey, operationId) { Code = run.LockedCode, Action = run.Action ?? run.Kind }, cancellation)
            : null;
        run.Guard?.Invoke();
        using var stop = lease is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellation)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellation, lease.Lost);
        var scoped = store.ForOperation(operationId, stop.Token);
        using var journal = run.Journaled ? OperationJournal.Start(scoped, run.Kind, run.Environment, run.Description, log, operationId) : null;
        try
        {
            var result = body(new JournaledScope(operationId, scoped, journal, lease, stop.Token));
            // A run that ends without an exception may still have failed in part (a build whose nodes failed): its
            // journal row says failed, as its result does, so Get-SqbOperation -Status Failed finds it.
            if (failed?.Invoke(result) == true) journal?.FinishFailed(outcome(result));
            else journal?.Succeed(outcome(result));
            return result;
        }
        // L001 also when the failure is the loss seen from the other side: a statement whose session the server ended
        // (Clear-SqbLock -Force ends the holder's sessions) fails before the next renewal would notice the loss.
        catch (Exception ex) when (lease is not null && lease.ExplainsFailure(ex))
        {
            var lost = lease.LostError();
            journal?.Fail(lost.Message);
            throw lost;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            journal?.Cancel($"{run.Kind} was stopped; nothing was switched after the stop");
            throw;
        }
        catch (SqbException ex) when (ex.Code == ErrorCodes.SwitchBlocked)
        {
            // The switch transaction rolled back before it changed anything: a failed run that leaves nothing to finish.
            journal?.Refuse(ex.Message);
            throw;
        }
        catch (Exception ex)
        {
            journal?.Fail(ex.Message);
            throw;
        }
    }
}

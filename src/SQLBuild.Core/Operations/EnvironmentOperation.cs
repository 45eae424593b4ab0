using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Operations;

/// <summary>
/// One run of a journaled operation, as the journal and the lock see it.
/// </summary>
/// <param name="Kind">The journal's operation type: <c>promote</c>, <c>rollback</c>, <c>adopt</c>, ...</param>
/// <param name="Environment">The VDE it changes; null for a target-wide operation (the janitor).</param>
/// <param name="LockKey">The lock it holds while it runs (<see cref="LockManager.EnvironmentKey"/> or <see cref="LockManager.MigrationKey"/>).</param>
/// <param name="Description">The journal's start message.</param>
public sealed record JournaledRun(string Kind, string? Environment, string LockKey, string Description)
{
    /// <summary>The code a refusal by the lock carries: S014, or S019 for rollback (upstream's).</summary>
    public string LockedCode { get; init; } = ErrorCodes.EnvironmentLocked;

    /// <summary>Checks that need the lock held and may refuse the run (the janitor's: no environment locked, no unfinished
    /// operation). They run before the journal row, so a refusal writes none, like a refusal by the lock itself.</summary>
    public Action? Guard { get; init; }
}

/// <summary>
/// The base of the operations on virtual environments: the state store, the log and the naming rules,
/// and <see cref="RunJournaled{T}"/>, the one place that takes the lock, journals a run and records how it
/// ended. Promote, rollback, adopt, detach, repair, attach and the janitor run through it; reconcile and
/// inspection only read.
/// </summary>
public abstract class EnvironmentOperation
{
    private readonly StateStore _store;
    private StateStore? _running;

    protected EnvironmentOperation(StateStore store, ISqbLog log)
    {
        _store = store;
        Log = log;
        Names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    /// <summary>The state store; while a run is under way, scoped to it: its sessions carry the operation id and stop
    /// with the run.</summary>
    protected StateStore Store => _running ?? _store;
    protected ISqbLog Log { get; }
    protected VirtualNames Names { get; }

    /// <summary>Stops the operation (the cmdlet's Ctrl+C): running statements are cancelled, no later step starts,
    /// nothing switches, the lock is released and the journal says <c>cancelled</c>.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// Runs <paramref name="body"/> under the run's lock with a journal row. The lock comes first, so a run refused
    /// by it (S014/S019) or by the run's <see cref="JournaledRun.Guard"/> writes nothing. Then <c>running</c>, a step event per <see cref="OperationContext.Step"/>,
    /// and the end: <c>succeeded</c> with <paramref name="outcome"/>'s message; <c>cancelled</c> when the run was
    /// stopped; <c>failed</c> with the error's (rethrown), or with L001 when the lease was lost meanwhile (its loss
    /// also cancelled the run's statements). Every run has an id of its own, which is also its lock owner. The
    /// outcome is recorded before the lock is released, so no reader sees a running row without its lock.
    /// </summary>
    protected T RunJournaled<T>(JournaledRun run, Func<OperationContext, T> body, Func<T, string> outcome)
    {
        Cancellation.ThrowIfCancellationRequested();
        var operationId = Ids.NewOperationId(run.Kind);
        KillPoints.Begin(run.Kind);
        using var lease = new LockManager(_store.ForOperation(operationId, CancellationToken.None), Log)
            .Acquire(run.LockKey, operationId, run.LockedCode);
        run.Guard?.Invoke();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancellation, lease.Lost);
        var scoped = _store.ForOperation(operationId, stop.Token);
        using var journal = OperationJournal.Start(scoped, run.Kind, run.Environment, run.Description, Log, operationId);
        _running = scoped;
        try
        {
            var result = body(new OperationContext(journal, lease, stop.Token));
            journal.Succeed(outcome(result));
            return result;
        }
        catch (Exception ex) when (lease.IsLost && ex is OperationCanceledException or SqbException { Code: ErrorCodes.LeaseLost })
        {
            var lost = lease.LostError();
            journal.Fail(lost.Message);
            throw lost;
        }
        catch (OperationCanceledException) when (Cancellation.IsCancellationRequested)
        {
            journal.Cancel($"{run.Kind} was stopped; nothing was switched after the stop");
            throw;
        }
        catch (Exception ex)
        {
            journal.Fail(ex.Message);
            throw;
        }
        finally
        {
            _running = null;
        }
    }

    /// <summary>S020 (build it first) unless the VDE exists; S028 when it is detached.</summary>
    protected static void RequireLiveEnvironment(StateRepository repo, string environment)
    {
        var row = repo.Environment(environment) ?? throw EnvironmentErrors.Unknown(environment);
        if (row.Status == EnvironmentStatus.Detached) throw EnvironmentErrors.Detached(environment);
    }

    /// <summary>
    /// The warehouse catalog of <paramref name="schemas"/>, read through <paramref name="stateSession"/> when the
    /// state store shares the warehouse connection, otherwise through a warehouse session of its own.
    /// </summary>
    protected CatalogSnapshot ReadWarehouseCatalog(IWarehouseSession stateSession, IReadOnlyCollection<string> schemas, bool includeColumns = false)
    {
        if (Store.SharesWarehouse) return stateSession.ReadCatalog(schemas, includeColumns);
        using var warehouse = Store.OpenWarehouseSession();
        return warehouse.ReadCatalog(schemas, includeColumns);
    }
}

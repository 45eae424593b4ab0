using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
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

    /// <summary>
    /// The operation id when every run reuses it (upstream's <c>adopt:&lt;target&gt;</c>, <c>detach:&lt;target&gt;</c>);
    /// null for a fresh id per run. A reused id takes the lock before its journal row, so a refused run
    /// never rewrites the row of the run that holds the lock; a fresh id starts its journal row first.
    /// </summary>
    public string? ReusedId { get; init; }
}

/// <summary>
/// The base of the operations on virtual environments: the state store, the log and the naming rules,
/// and <see cref="RunJournaled{T}"/>, the one place that takes the lock, journals a run and records how it
/// ended. Promote, rollback, adopt, detach, repair, attach and the janitor run through it; reconcile and
/// inspection only read.
/// </summary>
public abstract class EnvironmentOperation
{
    protected EnvironmentOperation(StateStore store, ISqbLog log)
    {
        Store = store;
        Log = log;
        Names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    protected StateStore Store { get; }
    protected ISqbLog Log { get; }
    protected VirtualNames Names { get; }

    /// <summary>
    /// Runs <paramref name="body"/> under the run's lock with a journal row: <c>running</c>, a step event per
    /// <see cref="OperationContext.Step"/>, then <c>succeeded</c> with <paramref name="outcome"/>'s message, or
    /// <c>failed</c> with the error's (and the error is rethrown). The outcome is recorded before the lock is
    /// released, so no reader sees a running row without its lock.
    /// </summary>
    protected T RunJournaled<T>(JournaledRun run, Func<OperationContext, T> body, Func<T, string> outcome)
    {
        var operationId = run.ReusedId ?? Ids.NewOperationId(run.Kind);
        LockLease? lease = null;
        try
        {
            if (run.ReusedId is not null) lease = Lock(run, operationId);
            using var journal = OperationJournal.Start(Store, run.Kind, run.Environment, run.Description, Log, operationId);
            try
            {
                lease ??= Lock(run, operationId);
                var result = body(new OperationContext(journal));
                journal.Succeed(outcome(result));
                return result;
            }
            catch (Exception ex)
            {
                journal.Fail(ex.Message);
                throw;
            }
        }
        finally
        {
            lease?.Dispose();
        }
    }

    private LockLease Lock(JournaledRun run, string operationId) =>
        new LockManager(Store, Log).Acquire(run.LockKey, operationId, run.LockedCode);

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
        using var warehouse = Store.Warehouse.OpenSession();
        return warehouse.ReadCatalog(schemas, includeColumns);
    }
}

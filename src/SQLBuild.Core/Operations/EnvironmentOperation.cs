using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Operations;

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
    /// Runs <paramref name="body"/> under the run's lock with a journal row (<see cref="JournaledRuns.Run{T}"/>: the lock
    /// first, so a refused run writes nothing; the end recorded as succeeded, cancelled, failed or lease lost), stopped by
    /// <see cref="Cancellation"/>. While it runs, <see cref="Store"/> is scoped to it.
    /// </summary>
    protected T RunJournaled<T>(JournaledRun run, Func<OperationContext, T> body, Func<T, string> outcome, Func<T, bool>? failed = null) =>
        JournaledRuns.Run(_store, Log, run, Cancellation, scope =>
        {
            _running = scope.Store;
            try
            {
                return body(new OperationContext(scope.Journal!, scope.Lease!, scope.Cancellation));
            }
            finally
            {
                _running = null;
            }
        }, outcome, failed);

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

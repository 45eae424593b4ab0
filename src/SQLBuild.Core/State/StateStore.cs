using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.State;

/// <summary>
/// Where a target's state lives and how to reach it: by default in the target's own warehouse
/// connection (so refs, views and checkpoints can change in one transaction), or in a separate
/// <c>[targets.x.state.connection]</c>.
/// </summary>
public sealed class StateStore
{
    private StateStore(CompiledProject project, StateSettings settings, IWarehouse warehouse, IWarehouse stateWarehouse, bool shared,
        SessionOptions? sessions = null)
    {
        Project = project;
        Settings = settings;
        Warehouse = warehouse;
        StateWarehouse = stateWarehouse;
        SharesWarehouse = shared;
        Sql = new StateSql(stateWarehouse.Dialect, settings.Schema);
        Sessions = sessions ?? SessionOptions.Default;
    }

    /// <summary>Seconds a state or lock statement may run unless the connection sets <c>command_timeout</c>: bookkeeping
    /// is small, so a statement that waits longer is stuck (behind a lock, or on a server that went away).</summary>
    public const int StateCommandTimeoutSeconds = 60;

    /// <summary>How this store opens sessions: whose operation they serve (named <c>sqlbuild/&lt;id&gt;</c> on the server)
    /// and what cancels their statements. <see cref="ForOperation"/> gives a store scoped to one run.</summary>
    public SessionOptions Sessions { get; }

    /// <summary>The same store, whose sessions work for <paramref name="operationId"/> and stop when <paramref name="cancel"/> does.</summary>
    public StateStore ForOperation(string operationId, CancellationToken cancel) =>
        new(Project, Settings, Warehouse, StateWarehouse, SharesWarehouse,
            Sessions with { OperationId = operationId, Cancellation = cancel });

    public CompiledProject Project { get; }
    public StateSettings Settings { get; }
    /// <summary>The target's warehouse (physical relations and logical views).</summary>
    public IWarehouse Warehouse { get; }
    /// <summary>Where the state tables are; the same object as <see cref="Warehouse"/> when shared.</summary>
    public IWarehouse StateWarehouse { get; }
    public bool SharesWarehouse { get; }
    public StateSql Sql { get; }
    public string TargetName => Project.Config.ActiveTarget.Name;

    /// <summary>
    /// Resolves the state store of the active target. Fails (E001) in direct mode or when the target
    /// has no <c>[targets.x.state]</c>, before any connection is opened.
    /// </summary>
    public static StateStore Open(CompiledProject project, ISqbLog log, string command = "State commands")
    {
        var target = project.Config.ActiveTarget;
        if (!project.Config.Settings.VirtualEnvironments)
            throw new SqbException(ErrorCodes.StateRequiresVirtualMode, "StateRequiresVirtualMode",
                $"{command} require virtual_environments = true", SqbErrorKind.InvalidOperation, target.Name,
                "Set [settings] virtual_environments = true in sqlbuild_project.toml and configure [targets.<name>.state].");
        if (target.State is null)
            throw new SqbException(ErrorCodes.StateRequiresVirtualMode, "StateNotConfigured",
                $"{command} require an active target with [targets.{target.Name}.state]", SqbErrorKind.InvalidOperation, target.Name,
                $"Add [targets.{target.Name}.state] with backend and schema to sqlbuild_project.toml.");
        var warehouse = WarehouseFactory.Create(target.Connection, log);
        if (target.State.Connection is null)
            return new StateStore(project, target.State, warehouse, warehouse, shared: true);
        var state = WarehouseFactory.Create(target.State.Connection, log);
        return new StateStore(project, target.State, warehouse, state, shared: false);
    }

    /// <summary>A session on the state tables (in the warehouse itself when they share it), with the state command timeout.</summary>
    public IWarehouseSession OpenStateSession() =>
        StateWarehouse.OpenSession(Sessions with { CommandTimeoutSeconds = Sessions.CommandTimeoutSeconds ?? StateCommandTimeoutSeconds });

    /// <summary>A session on the warehouse for this store's operation; <paramref name="dedicated"/> for one that holds
    /// session locks (a version latch), so they end with it.</summary>
    public IWarehouseSession OpenWarehouseSession(bool dedicated = false) =>
        Warehouse.OpenSession(Sessions with { Dedicated = dedicated });

    /// <summary>
    /// A state session for bookkeeping that must outlive a stop: a lease (renewed, then released after the work was
    /// cancelled; <paramref name="dedicated"/>, so its session lock ends with it) or the journal (which records the
    /// cancellation). Named for the operation, never cancelled, with the state command timeout, so it cannot hang.
    /// </summary>
    public IWarehouseSession OpenBookkeepingSession(bool dedicated) =>
        StateWarehouse.OpenSession(Sessions with
        {
            Dedicated = dedicated, Cancellation = CancellationToken.None,
            CommandTimeoutSeconds = Sessions.CommandTimeoutSeconds ?? StateCommandTimeoutSeconds,
        });

    /// <summary>
    /// Creates the schema and every table, column and unique index that is missing, additively and
    /// idempotently, in one transaction; records schema_version and an <c>init</c> event.
    /// </summary>
    public int Initialize(IWarehouseSession session, string action = "init", string? message = null)
    {
        using var tx = session.BeginTransaction();
        session.Execute(Sql.CreateSchema());
        foreach (var t in StateSchema.Tables)
        {
            session.Execute(Sql.CreateTable(t));
            foreach (var c in t.Columns) session.Execute(Sql.AddColumn(t, c));
            if (t.UniqueKey.Count > 0) session.Execute(Sql.CreateUniqueIndex(t));
        }
        session.Execute(Sql.DeleteAll(StateSchema.StateVersions));
        session.Execute(Sql.Insert(StateSchema.StateVersions,
            new (string, object?)[] { ("schema_version", (long)StateSchema.CurrentVersion), ("sqlbuild_version", ProductInfo.Version) },
            "updated_at"));
        MigrationEvent(session, action, null, "success", message ?? $"initialized {StateSchema.Tables.Count} state tables");
        tx.Commit();
        return StateSchema.Tables.Count;
    }

    public void MigrationEvent(IWarehouseSession session, string action, string? backupId, string status, string message) =>
        session.Execute(Sql.Insert(StateSchema.StateMigrationEvents, new (string, object?)[]
        {
            ("event_id", Ids.NewEventId()), ("action", action), ("backup_id", backupId), ("status", status), ("message", message),
        }, "created_at"));

    /// <summary>True when the state tables exist (checked through one catalog query for their names).</summary>
    public bool IsInitialized(IWarehouseSession session)
    {
        var catalog = session.ReadCatalogNamed(Settings.Schema, StateSchema.Tables.Select(t => t.Name).ToList());
        return StateSchema.Tables.All(t => catalog.Exists(new RelationName(Settings.Schema, t.Name)));
    }

    /// <summary>Fails with a clear message when the state store has not been initialized (on a session of its own).
    /// Operations call it before their journal row, which could not be written otherwise.</summary>
    public void RequireInitialized()
    {
        using var session = OpenStateSession();
        RequireInitialized(session);
    }

    /// <summary>Fails with a clear message when the state store has not been initialized.</summary>
    public void RequireInitialized(IWarehouseSession session)
    {
        if (!IsInitialized(session))
            throw new SqbException(ErrorCodes.StateNotInitialized, "StateNotInitialized",
                $"state store '{Settings.Schema}' of target '{TargetName}' is not initialized", SqbErrorKind.ObjectNotFound,
                Settings.Schema, "Run Initialize-SqbState.");
    }
}

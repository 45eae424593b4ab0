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
    private StateStore(CompiledProject project, StateSettings settings, IWarehouse warehouse, IWarehouse stateWarehouse, bool shared)
    {
        Project = project;
        Settings = settings;
        Warehouse = warehouse;
        StateWarehouse = stateWarehouse;
        SharesWarehouse = shared;
        Sql = new StateSql(stateWarehouse.Dialect, settings.Schema);
    }

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

    public IWarehouseSession OpenStateSession() => StateWarehouse.OpenSession();

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

    /// <summary>True when the state tables exist (checked through one catalog read).</summary>
    public bool IsInitialized(IWarehouseSession session)
    {
        var catalog = session.ReadCatalog(new[] { Settings.Schema });
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

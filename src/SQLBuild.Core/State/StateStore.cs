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
    public int Initialize(IWarehouseSession s, string action = "init", string? message = null)
    {
        using var tx = s.BeginTransaction();
        s.Execute(Sql.CreateSchema());
        foreach (var t in StateSchema.Tables)
        {
            s.Execute(Sql.CreateTable(t));
            foreach (var c in t.Columns) s.Execute(Sql.AddColumn(t, c));
            if (t.UniqueKey.Count > 0) s.Execute(Sql.CreateUniqueIndex(t));
        }
        s.Execute(Sql.DeleteAll(StateSchema.StateVersions));
        s.Execute(Sql.Insert(StateSchema.StateVersions,
            new (string, object?)[] { ("schema_version", (long)StateSchema.CurrentVersion), ("sqlbuild_version", ProductInfo.Version) },
            "updated_at"));
        MigrationEvent(s, action, null, "success", message ?? $"initialized {StateSchema.Tables.Count} state tables");
        tx.Commit();
        return StateSchema.Tables.Count;
    }

    public void MigrationEvent(IWarehouseSession s, string action, string? backupId, string status, string message) =>
        s.Execute(Sql.Insert(StateSchema.StateMigrationEvents, new (string, object?)[]
        {
            ("event_id", Ids.NewEventId()), ("action", action), ("backup_id", backupId), ("status", status), ("message", message),
        }, "created_at"));

    /// <summary>True when the state tables exist (checked through one catalog read).</summary>
    public bool IsInitialized(IWarehouseSession s)
    {
        var catalog = s.ReadCatalog(new[] { Settings.Schema });
        return StateSchema.Tables.All(t => catalog.Exists(new RelationName(Settings.Schema, t.Name)));
    }

    /// <summary>Fails with a clear message when the state store has not been initialized (on a session of its own).
    /// Operations call it before their journal row, which could not be written otherwise.</summary>
    public void RequireInitialized()
    {
        using var s = OpenStateSession();
        RequireInitialized(s);
    }

    /// <summary>Fails with a clear message when the state store has not been initialized.</summary>
    public void RequireInitialized(IWarehouseSession s)
    {
        if (!IsInitialized(s))
            throw new SqbException(ErrorCodes.StateNotInitialized, "StateNotInitialized",
                $"state store '{Settings.Schema}' of target '{TargetName}' is not initialized", SqbErrorKind.ObjectNotFound,
                Settings.Schema, "Run Initialize-SqbState.");
    }
}

public static class ProductInfo
{
    public static string Version { get; } =
        typeof(ProductInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}

/// <summary>Identifiers of state rows.</summary>
public static class Ids
{
    private static long _lastTicks;

    /// <summary>A time-ordered id (16 hex of strictly increasing UTC ticks, then 16 random hex), so events sort in the order written.</summary>
    public static string NewEventId()
    {
        long ticks, last;
        do
        {
            last = Interlocked.Read(ref _lastTicks);
            ticks = Math.Max(DateTime.UtcNow.Ticks, last + 1);
        } while (Interlocked.CompareExchange(ref _lastTicks, ticks, last) != last);
        return ticks.ToString("x16") + Guid.NewGuid().ToString("N")[..16];
    }

    /// <summary>Upstream's checkpoint id: <c>chk_&lt;UTC yyyyMMddHHmmssffffff&gt;_&lt;uuid4 hex&gt;</c>.</summary>
    public static string NewCheckpointId() =>
        "chk_" + DateTime.UtcNow.ToString("yyyyMMddHHmmssffffff", System.Globalization.CultureInfo.InvariantCulture) + "_" + Guid.NewGuid().ToString("N");

    /// <summary>Upstream's backup id: UTC <c>yyyyMMddTHHmmssffffffZ</c>.</summary>
    public static string NewBackupId() => DateTime.UtcNow.ToString(BackupIdFormat, System.Globalization.CultureInfo.InvariantCulture);

    public const string BackupIdFormat = "yyyyMMdd'T'HHmmssffffff'Z'";

    /// <summary>The UTC time a backup id names, or null when it is not one of <see cref="NewBackupId"/>'s.</summary>
    public static DateTime? BackupTime(string backupId) =>
        DateTime.TryParseExact(backupId, BackupIdFormat, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : null;

    public static string NewOperationId(string type) => $"{type}:{Guid.NewGuid():N}";
}

using SQLBuild.Core.Logging;

namespace SQLBuild.Core.State;

/// <summary>State-store lifecycle (SPEC §5): initialize now; migrate, backup, restore and reset build on it.</summary>
public sealed class StateLifecycle
{
    private readonly StateStore _store;
    private readonly ISqbLog _log;

    public StateLifecycle(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
    }

    /// <summary>Creates what is missing, additively and idempotently, holding the <c>state_migration</c> lock
    /// once the locks table exists.</summary>
    public SqbStateInfo Initialize()
    {
        int tables;
        using (var s = _store.OpenStateSession())
        {
            if (_store.IsInitialized(s))
            {
                using var lease = new LockManager(_store, _log).Acquire(LockManager.MigrationKey, Ids.NewOperationId("init"), "S014");
                tables = _store.Initialize(s);
            }
            else tables = _store.Initialize(s);
        }
        return Info(tables);
    }

    public SqbStateInfo Info(int tables = 0) => new()
    {
        Target = _store.TargetName, Backend = _store.Settings.Backend, Schema = _store.Settings.Schema,
        Connection = (_store.Project.Config.ActiveTarget.State?.Connection ?? _store.Project.Config.ActiveTarget.Connection).ToString(),
        SharesWarehouse = _store.SharesWarehouse, Tables = tables == 0 ? StateSchema.Tables.Count : tables, SchemaVersion = StateSchema.CurrentVersion,
    };
}

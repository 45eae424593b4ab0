using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.State;

/// <summary>A name found in the state store, with a short description (for tab completion tooltips).</summary>
public sealed record StateName(string Value, string Description);

/// <summary>
/// Quick, read-only name lookups for tab completion: environments, checkpoint ids, lock keys and
/// backup ids of a target. Needs only the project configuration (no model is compiled), runs one
/// set-based query per call, and never creates anything: an embedded database file that does not
/// exist yet is not opened (opening it would create it). Callers bound the time themselves; a
/// missing or broken state store surfaces as the driver's exception.
/// </summary>
public sealed class StateLookup
{
    private readonly StateStore _store;

    private StateLookup(StateStore store) => _store = store;

    /// <summary>
    /// The lookup for <paramref name="projectDirectory"/>'s target (null: the configured default), or
    /// null when that target keeps no state store (direct mode, no <c>[targets.x.state]</c>) or its
    /// embedded state database does not exist yet.
    /// </summary>
    public static StateLookup? Open(string projectDirectory, string? target, System.Net.NetworkCredential? credential = null, ISqbLog? log = null)
    {
        var config = ConfigLoader.Load(projectDirectory, target, credential);
        var active = config.ActiveTarget;
        if (!config.Settings.VirtualEnvironments || active.State is null) return null;
        if (WarehouseFiles.WouldCreateDatabase(active.State.Connection ?? active.Connection)) return null;
        if (active.State.Connection is not null && WarehouseFiles.WouldCreateDatabase(active.Connection)) return null;
        var project = new CompiledProject
        {
            Config = config,
            Models = new Dictionary<string, ModelNode>(),
            Seeds = new Dictionary<string, SeedNode>(),
            Sources = new Dictionary<string, SourceNode>(),
            Tests = new Dictionary<string, DataTestNode>(),
            GenericAudits = new Dictionary<string, GenericAuditDefinition>(),
            TopologicalOrder = Array.Empty<string>(),
            Parents = new Dictionary<string, IReadOnlyList<string>>(),
            Children = new Dictionary<string, IReadOnlyList<string>>(),
        };
        return new StateLookup(StateStore.Open(project, log ?? NullLog.Instance, "Completion"));
    }

    /// <summary>Virtual environments, by name; the description is the status.</summary>
    public IReadOnlyList<StateName> Environments()
    {
        using var session = _store.OpenStateSession();
        return new StateRepository(session, _store.Sql).Environments()
            .Select(e => new StateName(e.Name, $"{EnvironmentStatus.Display(e.Status)}" + (e.Baseline is null ? "" : $", baseline {e.Baseline}")))
            .ToList();
    }

    /// <summary>Checkpoints, newest first, of one environment or all; the description names the environment and time (UTC).</summary>
    public IReadOnlyList<StateName> Checkpoints(string? environment)
    {
        using var session = _store.OpenStateSession();
        return new StateRepository(session, _store.Sql).Checkpoints(environment)
            .Select(c => new StateName(c.Id, $"{c.Environment}, {c.CreatedAt:yyyy-MM-dd HH:mm:ss}Z"))
            .ToList();
    }

    /// <summary>Lock keys; the description names the holder.</summary>
    public IReadOnlyList<StateName> Locks()
    {
        using var session = _store.OpenStateSession();
        var rows = session.Query(_store.Sql.Select(StateSchema.Locks, new[] { "lock_key", "owner_host", "owner_pid", "operation_id" },
            orderBy: new[] { Order.Asc("lock_key") }));
        return rows.Select(r => new StateName(StateRepository.Str(r[0])!,
            $"held by {StateRepository.Str(r[1])} pid {StateRepository.Str(r[2])} ({StateRepository.Str(r[3])})")).ToList();
    }

    /// <summary>Backup ids (schemas named <c>&lt;state schema&gt;__backup_&lt;id&gt;</c>), newest first.</summary>
    public IReadOnlyList<StateName> Backups()
    {
        using var session = _store.OpenStateSession();
        var prefix = _store.Settings.Schema + "__backup_";
        return session.Query(_store.Sql.SchemasLike(prefix))
            .Select(r => StateRepository.Str(r[0])!)
            .Where(n => n.Length > prefix.Length && n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => new StateName(n[prefix.Length..], n))
            .ToList();
    }
}

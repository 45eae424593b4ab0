using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Environments;

public sealed class JanitorOptions
{
    /// <summary>Overrides <c>[janitor] retention_days</c>; 0 expires every eligible environment now.</summary>
    public int? RetentionDays { get; init; }
    /// <summary>Overrides <c>[janitor] max_checkpoints</c> (at least 1).</summary>
    public int? MaxCheckpoints { get; init; }
}

/// <summary>
/// <c>Invoke-SqbJanitor</c> (SPEC §10, upstream <c>sqb janitor</c>, virtual mode). Removes, in this order:
/// <list type="number">
/// <item>expired environments (<c>retention_days</c> since their last change; never the target's own VDE unless
/// it is detached): their logical views first, then their refs, row and checkpoints;</item>
/// <item>checkpoints beyond the newest <c>max_checkpoints</c> per environment;</item>
/// <item>physical versions that no live (non-detached) environment and no retained checkpoint references,
/// nor any kept physical view reads;</item>
/// <item>state backup schemas (<c>&lt;state schema&gt;__backup_*</c>) except the newest: tables, then the schema;</item>
/// <item>expired lock rows.</item>
/// </list>
/// Warehouse objects go first and state rows after, in one transaction: a drop that fails keeps its state
/// rows, so the next run tries again. Never CASCADE. Takes the <c>state_migration</c> lock (it rewrites
/// state across environments, like migrate and restore) and refuses while any environment is locked,
/// so it never removes a version a running build or promote is about to bind.
/// </summary>
public sealed class Janitor
{
    private readonly StateStore _store;
    private readonly ISqbLog _log;
    private readonly VirtualNames _names;

    public Janitor(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
        _names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    private sealed record EnvironmentCandidate(string Name, string Status, string Reason, IReadOnlyList<RelationName> Views, string? Schema)
    {
        /// <summary>The versions its refs and its checkpoints use: kept when the environment has to stay.</summary>
        public HashSet<(NodeKey, string)> Uses { get; } = new();
    }
    private sealed record CheckpointCandidate(string Id, string Environment, string Reason);
    private sealed record VersionCandidate(NodeKey Key, string Hash, RelationName Relation, bool IsView, bool InWarehouse);

    private sealed class Analysis
    {
        public List<EnvironmentCandidate> Environments { get; } = new();
        public List<CheckpointCandidate> Checkpoints { get; } = new();
        public List<VersionCandidate> Versions { get; } = new();
        public List<string> Backups { get; } = new();
        public Dictionary<string, IReadOnlyList<RelationName>> BackupRelations { get; } = new();
        public List<string> Locks { get; } = new();
    }

    /// <summary>What a run would remove, read-only (Result <c>planned</c>).</summary>
    public IReadOnlyList<SqbJanitorItem> Plan(JanitorOptions? options = null)
    {
        var a = Analyze(options ?? new JanitorOptions());
        return Items(a, null).ToList();
    }

    public IReadOnlyList<SqbJanitorItem> Run(JanitorOptions? options = null)
    {
        options ??= new JanitorOptions();
        using var journal = OperationJournal.Start(_store, "janitor", null, "starting janitor", _log);
        try
        {
            var locks = new LockManager(_store, _log);
            using var lease = locks.Acquire(LockManager.MigrationKey, journal.Id);
            var busy = locks.List().Where(l => l.Key.StartsWith("virtual_env:", StringComparison.Ordinal) && !l.IsExpired && !l.IsOrphaned).ToList();
            if (busy.Count > 0)
            {
                var l = busy[0];
                var others = busy.Count > 1 ? $" (and {busy.Count - 1} more: {string.Join(", ", busy.Skip(1).Select(h => h.Key))})" : "";
                throw new SqbException(ErrorCodes.EnvironmentLocked, "EnvironmentLocked",
                    $"virtual environment '{l.Key["virtual_env:".Length..]}' is locked by {l.OwnerId} (host {l.OwnerHost}, pid {l.OwnerPid}, " +
                    $"since {l.CreatedAt:u}, expires {l.ExpiresAt:u}){others}; janitor refuses while a virtual environment is locked",
                    SqbErrorKind.ResourceBusy, l.Key,
                    $"Wait for the other operation to finish (Get-SqbLock), then run Invoke-SqbJanitor again; if its process is gone, Clear-SqbLock -Key '{l.Key}' -Force.");
            }

            var a = Analyze(options);
            var failed = new Dictionary<string, string>(StringComparer.Ordinal);   // item key -> error
            var removedEnvironments = new List<EnvironmentCandidate>();
            var removedVersions = new List<VersionCandidate>();

            using (var w = _store.Warehouse.OpenSession())
            {
                var d = w.Dialect;
                journal.Step("janitor:environments", $"{a.Environments.Count} expired environment(s)");
                foreach (var e in a.Environments)
                {
                    var ok = true;
                    foreach (var v in e.Views)
                        if (!TryDrop(w, d.DropViewIfExists(v), "LogicalView:" + v, failed)) ok = false;
                    if (ok && e.Schema is not null)
                        TryDrop(w, d.DropSchemaIfExists(e.Schema), "schema:" + e.Schema, null);   // a schema holding other objects stays
                    if (ok) removedEnvironments.Add(e);
                    else failed["Environment:" + e.Name] = "its logical views could not all be dropped";
                }

                journal.Step("janitor:physical", $"{a.Versions.Count} unreferenced physical version(s)");
                // Versions a kept environment (one whose views could not all be dropped) or its checkpoints use stay.
                var stillUsed = a.Environments.Where(e => !removedEnvironments.Contains(e)).SelectMany(e => e.Uses).ToHashSet();
                var versions = a.Versions.Where(v => !stillUsed.Contains((v.Key, v.Hash))).ToList();
                foreach (var v in a.Versions.Where(v => stillUsed.Contains((v.Key, v.Hash))))
                    failed["PhysicalRelation:" + v.Relation] = $"kept: environment whose views could not be dropped still uses it";
                // Views first (a view may read another: retry while that makes progress), then tables.
                var pending = versions.Where(v => v.IsView).ToList();
                while (pending.Count > 0)
                {
                    var next = pending.Where(v =>
                    {
                        if (!TryDrop(w, d.DropViewIfExists(v.Relation), "PhysicalRelation:" + v.Relation, null)) return true;
                        removedVersions.Add(v);
                        return false;
                    }).ToList();
                    if (next.Count == pending.Count)
                    {
                        foreach (var v in next) TryDrop(w, d.DropViewIfExists(v.Relation), "PhysicalRelation:" + v.Relation, failed);
                        break;
                    }
                    pending = next;
                }
                foreach (var v in versions.Where(v => !v.IsView))
                    if (TryDrop(w, d.DropTableIfExists(v.Relation), "PhysicalRelation:" + v.Relation, failed)) removedVersions.Add(v);

                journal.Step("janitor:backups", $"{a.Backups.Count} older state backup(s)");
                using var stateSession = _store.OpenStateSession();
                foreach (var b in a.Backups)
                {
                    var ok = true;
                    foreach (var t in a.BackupRelations.GetValueOrDefault(b) ?? Array.Empty<RelationName>())
                        if (!TryDrop(stateSession, stateSession.Dialect.DropTableIfExists(t), "StateBackup:" + b, failed)) ok = false;
                    if (ok) TryDrop(stateSession, stateSession.Dialect.DropSchemaIfExists(b), "StateBackup:" + b, failed);
                }
            }

            journal.Step("janitor:state", "deleting state rows of what was removed");
            var removedLocks = new List<string>();
            using (var s = _store.OpenStateSession())
            using (var tx = s.BeginTransaction())
            {
                var repo = new RetentionRepository(s, _store.Sql);
                foreach (var e in removedEnvironments) repo.DeleteEnvironment(e.Name);
                repo.DeleteCheckpoints(a.Checkpoints.Where(c => !failed.ContainsKey("Environment:" + c.Environment) || c.Reason.StartsWith("beyond", StringComparison.Ordinal))
                    .Select(c => c.Id).ToList());
                foreach (var v in removedVersions) repo.DeleteVersion(v.Key, v.Hash);
                foreach (var l in a.Locks)
                    if (repo.DeleteExpiredLock(l)) removedLocks.Add(l);
                tx.Commit();
            }

            var items = Items(a, journal.Id, failed, removedLocks).ToList();
            var failures = items.Count(i => i.Result == "failed");
            foreach (var f in items.Where(i => i.Result == "failed")) _log.Warning($"janitor could not remove {f.Kind} {f.Name}: {f.Message}");
            journal.Succeed($"removed {items.Count - failures} item(s)" + (failures > 0 ? $"; {failures} failed and will be retried next run" : ""));
            return items;
        }
        catch (Exception ex)
        {
            journal.Fail(ex.Message);
            throw;
        }
    }

    private Analysis Analyze(JanitorOptions o)
    {
        var config = _store.Project.Config.Janitor;
        var retention = o.RetentionDays ?? config.RetentionDays;
        var max = o.MaxCheckpoints ?? config.MaxCheckpoints;
        if (retention < 0 || max < 1)
            throw new SqbException(ErrorCodes.ConfigInvalid, "InvalidJanitorSetting",
                retention < 0 ? "retention_days must be 0 or more" : "max_checkpoints must be at least 1", SqbErrorKind.InvalidArgument,
                retention < 0 ? "RetentionDays" : "MaxCheckpoints");
        var target = _store.TargetName;
        var a = new Analysis();

        using var s = _store.OpenStateSession();
        _store.RequireInitialized(s);
        var repo = new StateRepository(s, _store.Sql);
        var retentionRepo = new RetentionRepository(s, _store.Sql);
        var now = retentionRepo.DatabaseNow();
        var cutoff = now.AddDays(-retention);
        var environments = repo.Environments();
        var refs = repo.AllRefs();
        var checkpoints = repo.Checkpoints();
        var checkpointRefs = repo.CheckpointRefs(checkpoints.Select(c => c.Id).ToList());
        var physical = repo.PhysicalRelations();

        // Warehouse catalog: the physical schema and the logical schemas of expiring environments, in one read.
        var expiring = environments.Where(e => (e.Status == EnvironmentStatus.Detached || e.Name != target) && e.UpdatedAt <= cutoff).ToList();
        var logicalSchemas = expiring.Where(e => e.Status != EnvironmentStatus.Detached).Select(e => _names.LogicalSchema(e.Name)).Distinct().ToList();
        CatalogSnapshot catalog;
        if (_store.SharesWarehouse) catalog = s.ReadCatalog(logicalSchemas.Append(_names.PhysicalSchema).Distinct().ToList());
        else
        {
            using var w = _store.Warehouse.OpenSession();
            catalog = w.ReadCatalog(logicalSchemas.Append(_names.PhysicalSchema).Distinct().ToList());
        }

        foreach (var e in expiring)
        {
            var reason = e.Status == EnvironmentStatus.Detached
                ? $"detached and unchanged for {retention} day(s) or more"
                : $"expired: unchanged for {retention} day(s) or more";
            var views = new List<RelationName>();
            string? schema = null;
            // A detached environment's names hold the user's plain relations now: never touch them.
            if (e.Status != EnvironmentStatus.Detached)
            {
                var logical = _names.LogicalSchema(e.Name);
                foreach (var key in (refs.GetValueOrDefault(e.Name) ?? new Dictionary<NodeKey, string>()).Keys)
                {
                    var v = catalog.Find(new RelationName(logical, key.NodeName));
                    if (v?.Kind == RelationKind.View && v.ViewDefinition is { } def && def.Contains(_names.PhysicalSchema, StringComparison.OrdinalIgnoreCase))
                        views.Add(v.Relation);
                }
                if (logical != _names.TargetSchema) schema = logical;
            }
            var candidate = new EnvironmentCandidate(e.Name, e.Status, reason, views, schema);
            foreach (var r in refs.GetValueOrDefault(e.Name) ?? new Dictionary<NodeKey, string>()) candidate.Uses.Add((r.Key, r.Value));
            foreach (var c in checkpoints.Where(c => c.Environment == e.Name))
                foreach (var r in checkpointRefs[c.Id]) candidate.Uses.Add((r.Key, r.Value));
            a.Environments.Add(candidate);
        }
        var gone = a.Environments.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var known = environments.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);

        foreach (var group in checkpoints.GroupBy(c => c.Environment))
        {
            if (gone.Contains(group.Key) || !known.Contains(group.Key))
            {
                foreach (var c in group)
                    a.Checkpoints.Add(new CheckpointCandidate(c.Id, c.Environment,
                        gone.Contains(group.Key) ? "its environment expired" : "its environment no longer exists"));
                continue;
            }
            foreach (var c in group.Skip(max))   // newest first
                a.Checkpoints.Add(new CheckpointCandidate(c.Id, c.Environment, $"beyond max_checkpoints ({max})"));
        }
        var prunedCheckpoints = a.Checkpoints.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);

        // Protected: refs of every live (non-detached, not expiring) environment and of every retained checkpoint.
        var used = new HashSet<(NodeKey, string)>();
        foreach (var e in environments.Where(e => e.Status != EnvironmentStatus.Detached && !gone.Contains(e.Name)))
            foreach (var r in refs.GetValueOrDefault(e.Name) ?? new Dictionary<NodeKey, string>()) used.Add((r.Key, r.Value));
        foreach (var (id, cp) in checkpointRefs)
            if (!prunedCheckpoints.Contains(id))
                foreach (var r in cp) used.Add((r.Key, r.Value));

        var kept = physical.Where(p => used.Contains((p.Key, p.VersionHash))).ToList();
        var candidates = physical.Where(p => !used.Contains((p.Key, p.VersionHash))).ToList();
        // A kept physical view keeps every candidate it reads (views on views, transitively).
        var keptRelations = new Queue<RelationName>(kept.Select(p => p.Relation));
        var seen = new HashSet<RelationName>();
        while (keptRelations.Count > 0)
        {
            var r = keptRelations.Dequeue();
            if (!seen.Add(r)) continue;
            if (catalog.Find(r) is not { Kind: RelationKind.View, ViewDefinition: { } def }) continue;
            foreach (var c in candidates.Where(c => ReadsName(def, c.Relation)).ToList())
            {
                candidates.Remove(c);
                keptRelations.Enqueue(c.Relation);
                _log.Verbose($"janitor keeps {c.Relation}: the kept view {r} reads it");
            }
        }
        foreach (var c in candidates.OrderBy(c => c.ArtifactName, StringComparer.Ordinal).ThenBy(c => c.VersionHash, StringComparer.Ordinal))
        {
            var found = catalog.Find(c.Relation);
            a.Versions.Add(new VersionCandidate(c.Key, c.VersionHash, c.Relation, found?.Kind == RelationKind.View || found is null && c.RelationType == "view", found is not null));
        }

        var backups = retentionRepo.BackupSchemas();
        a.Backups.AddRange(backups.Skip(1));
        if (a.Backups.Count > 0)
        {
            var backupCatalog = s.ReadCatalog(a.Backups);
            foreach (var b in a.Backups)
                a.BackupRelations[b] = backupCatalog.Relations.Where(r => r.Schema == b).Select(r => r.Relation)
                    .OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        }

        a.Locks.AddRange(new LockManager(_store, _log).List().Where(l => l.IsExpired).Select(l => l.Key));
        return a;
    }

    /// <summary>Whether view text names a relation (its unique versioned name, as a whole word).</summary>
    private static bool ReadsName(string definition, RelationName relation)
    {
        var i = 0;
        while ((i = definition.IndexOf(relation.Name, i, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            var end = i + relation.Name.Length;
            var before = i == 0 ? ' ' : definition[i - 1];
            var after = end >= definition.Length ? ' ' : definition[end];
            if (!char.IsLetterOrDigit(before) && before != '_' && !char.IsLetterOrDigit(after) && after != '_') return true;
            i = end;
        }
        return false;
    }

    private bool TryDrop(IWarehouseSession s, SqlStatement statement, string key, Dictionary<string, string>? failed)
    {
        try
        {
            s.Execute(statement);
            return true;
        }
        catch (SqbException ex)
        {
            if (failed is not null) failed[key] = Redaction.Redact(ex.Message);
            else _log.Verbose($"janitor: {statement} did not succeed yet: {Redaction.Redact(ex.Message)}");
            return false;
        }
    }

    private IEnumerable<SqbJanitorItem> Items(Analysis a, string? operationId, Dictionary<string, string>? failed = null, List<string>? removedLocks = null)
    {
        string Result(string key) => failed is null ? "planned" : failed.ContainsKey(key) ? "failed" : "removed";
        string? Error(string key) => failed?.GetValueOrDefault(key);
        foreach (var e in a.Environments)
        {
            foreach (var v in e.Views)
                yield return new SqbJanitorItem
                {
                    Kind = "LogicalView", Name = v.ToString(), Environment = e.Name, Reason = $"view of environment '{e.Name}', which expired",
                    Result = Result("LogicalView:" + v), Message = Error("LogicalView:" + v), OperationId = operationId,
                };
            yield return new SqbJanitorItem
            {
                Kind = "Environment", Name = e.Name, Environment = e.Name, Reason = e.Reason,
                Result = Result("Environment:" + e.Name), Message = Error("Environment:" + e.Name), OperationId = operationId,
            };
        }
        foreach (var c in a.Checkpoints)
        {
            var blocked = failed is not null && failed.ContainsKey("Environment:" + c.Environment) && !c.Reason.StartsWith("beyond", StringComparison.Ordinal);
            yield return new SqbJanitorItem
            {
                Kind = "Checkpoint", Name = c.Id, Environment = c.Environment, Reason = c.Reason,
                Result = blocked ? "failed" : failed is null ? "planned" : "removed",
                Message = blocked ? "kept with its environment, whose views could not all be dropped" : null, OperationId = operationId,
            };
        }
        foreach (var v in a.Versions)
            yield return new SqbJanitorItem
            {
                Kind = "PhysicalRelation", Name = v.Relation.ToString(), NodeType = v.Key.NodeType, NodeName = v.Key.NodeName,
                VersionHash = v.Hash,
                Reason = "no environment or retained checkpoint references it" + (v.InWarehouse ? "" : " (already gone from the warehouse: state rows only)"),
                Result = Result("PhysicalRelation:" + v.Relation), Message = Error("PhysicalRelation:" + v.Relation), OperationId = operationId,
            };
        foreach (var b in a.Backups)
            yield return new SqbJanitorItem
            {
                Kind = "StateBackup", Name = b, Reason = "older state backup (the newest is kept)",
                Result = Result("StateBackup:" + b), Message = Error("StateBackup:" + b), OperationId = operationId,
            };
        foreach (var l in a.Locks)
            yield return new SqbJanitorItem
            {
                Kind = "Lock", Name = l, Environment = l.StartsWith("virtual_env:", StringComparison.Ordinal) ? l["virtual_env:".Length..] : null,
                Reason = "expired", Result = failed is null ? "planned" : removedLocks!.Contains(l) ? "removed" : "failed",
                Message = failed is null || removedLocks!.Contains(l) ? null : "renewed by its holder in the meantime", OperationId = operationId,
            };
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;
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
/// state across environments, like migrate and restore), which excludes every VDE operation both ways
/// (<see cref="LockRequest.ExcludesOtherSide"/>): it refuses while any environment is locked, and no build or
/// promote starts while it runs, so it never removes a version one of them is about to bind.
/// </summary>
public sealed class Janitor : EnvironmentOperation
{
    public Janitor(StateStore store, ISqbLog log) : base(store, log) { }

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
    public IReadOnlyList<SqbJanitorItem> Plan(JanitorOptions? options = null) => Items(Analyze(options ?? new JanitorOptions()), null).ToList();

    public IReadOnlyList<SqbJanitorItem> Run(JanitorOptions? options = null) =>
        RunJournaled(new JournaledRun("janitor", null, LockManager.MigrationKey, "starting janitor"),
            run => Run(options ?? new JanitorOptions(), run), Summary);

    private IReadOnlyList<SqbJanitorItem> Run(JanitorOptions options, OperationContext run)
    {
        var analysis = Analyze(options);
        var failed = new Dictionary<string, string>(StringComparer.Ordinal);   // item key -> error
        var removedEnvironments = new List<EnvironmentCandidate>();
        var removedVersions = new List<VersionCandidate>();

        using (var warehouse = Store.OpenWarehouseSession())
        {
            var dialect = warehouse.Dialect;
            run.Step(KillPoints.Janitor.Environments, $"{analysis.Environments.Count} expired environment(s)");
            foreach (var environment in analysis.Environments)
            {
                var ok = true;
                foreach (var view in environment.Views)
                    if (!TryDrop(warehouse, dialect.DropViewIfExists(view), "LogicalView:" + view, failed)) ok = false;
                if (ok && environment.Schema is not null)
                    TryDrop(warehouse, dialect.DropSchemaIfExists(environment.Schema), "schema:" + environment.Schema, null);   // a schema holding other objects stays
                if (ok) removedEnvironments.Add(environment);
                else failed["Environment:" + environment.Name] = "its logical views could not all be dropped";
            }

            run.Step(KillPoints.Janitor.Physical, $"{analysis.Versions.Count} unreferenced physical version(s)");
            // Versions a kept environment (one whose views could not all be dropped) or its checkpoints use stay.
            var stillUsed = analysis.Environments.Where(e => !removedEnvironments.Contains(e)).SelectMany(e => e.Uses).ToHashSet();
            var versions = analysis.Versions.Where(v => !stillUsed.Contains((v.Key, v.Hash))).ToList();
            foreach (var version in analysis.Versions.Where(v => stillUsed.Contains((v.Key, v.Hash))))
                failed["PhysicalRelation:" + version.Relation] = $"kept: environment whose views could not be dropped still uses it";
            // Views first (a view may read another: retry while that makes progress), then tables.
            var pending = versions.Where(v => v.IsView).ToList();
            while (pending.Count > 0)
            {
                var next = pending.Where(v =>
                {
                    if (!TryDrop(warehouse, dialect.DropViewIfExists(v.Relation), "PhysicalRelation:" + v.Relation, null)) return true;
                    removedVersions.Add(v);
                    return false;
                }).ToList();
                if (next.Count == pending.Count)
                {
                    foreach (var version in next) TryDrop(warehouse, dialect.DropViewIfExists(version.Relation), "PhysicalRelation:" + version.Relation, failed);
                    break;
                }
                pending = next;
            }
            foreach (var version in versions.Where(v => !v.IsView))
                if (TryDrop(warehouse, dialect.DropTableIfExists(version.Relation), "PhysicalRelation:" + version.Relation, failed)) removedVersions.Add(version);

            run.Step(KillPoints.Janitor.Backups, $"{analysis.Backups.Count} older state backup(s)");
            using var stateSession = Store.OpenStateSession();
            foreach (var backup in analysis.Backups)
            {
                var ok = true;
                foreach (var table in analysis.BackupRelations.GetValueOrDefault(backup) ?? Array.Empty<RelationName>())
                    if (!TryDrop(stateSession, stateSession.Dialect.DropTableIfExists(table), "StateBackup:" + backup, failed)) ok = false;
                if (ok) TryDrop(stateSession, stateSession.Dialect.DropSchemaIfExists(backup), "StateBackup:" + backup, failed);
            }
        }

        run.Step(KillPoints.Janitor.State, "deleting state rows of what was removed");
        var removedLocks = new List<string>();
        using (var session = Store.OpenStateSession())
        using (var tx = session.BeginTransaction())
        {
            var repo = new RetentionRepository(session, Store.Sql);
            foreach (var environment in removedEnvironments) repo.DeleteEnvironment(environment.Name);
            repo.DeleteCheckpoints(analysis.Checkpoints.Where(c => !failed.ContainsKey("Environment:" + c.Environment) || c.Reason.StartsWith("beyond", StringComparison.Ordinal))
                .Select(c => c.Id).ToList());
            foreach (var version in removedVersions) repo.DeleteVersion(version.Key, version.Hash);
            foreach (var key in analysis.Locks)
                if (repo.DeleteExpiredLock(key)) removedLocks.Add(key);
            tx.Commit();
        }

        var items = Items(analysis, run.Id, failed, removedLocks).ToList();
        foreach (var item in items.Where(i => i.Result == "failed")) Log.Warning($"janitor could not remove {item.Kind} {item.Name}: {item.Message}");
        return items;
    }

    /// <summary>The journal's outcome of a run: what went, and how many items the next run retries.</summary>
    private static string Summary(IReadOnlyList<SqbJanitorItem> items)
    {
        var failures = items.Count(i => i.Result == "failed");
        return $"removed {items.Count - failures} item(s)" + (failures > 0 ? $"; {failures} failed and will be retried next run" : "");
    }

    private Analysis Analyze(JanitorOptions options)
    {
        var config = Store.Project.Config.Janitor;
        var retention = options.RetentionDays ?? config.RetentionDays;
        var max = options.MaxCheckpoints ?? config.MaxCheckpoints;
        if (retention < 0 || max < 1)
            throw new SqbException(ErrorCodes.ConfigInvalid, "InvalidJanitorSetting",
                retention < 0 ? "retention_days must be 0 or more" : "max_checkpoints must be at least 1", SqbErrorKind.InvalidArgument,
                retention < 0 ? "RetentionDays" : "MaxCheckpoints");
        var target = Store.TargetName;
        var analysis = new Analysis();

        using var session = Store.OpenStateSession();
        Store.RequireInitialized(session);
        var repo = new StateRepository(session, Store.Sql);
        var retentionRepo = new RetentionRepository(session, Store.Sql);
        var now = retentionRepo.DatabaseNow();
        var cutoff = now.AddDays(-retention);
        var environments = repo.Environments();
        var refs = repo.AllRefs();
        var checkpoints = repo.Checkpoints();
        var checkpointRefs = repo.CheckpointRefs(checkpoints.Select(c => c.Id).ToList());
        var physical = repo.PhysicalRelations();

        // Warehouse catalog: the physical schema and the logical schemas of expiring environments, in one read.
        var expiring = environments.Where(e => (e.Status == EnvironmentStatus.Detached || e.Name != target) && e.UpdatedAt <= cutoff).ToList();
        var logicalSchemas = expiring.Where(e => e.Status != EnvironmentStatus.Detached).Select(e => Names.LogicalSchema(e.Name)).Distinct().ToList();
        var catalog = ReadWarehouseCatalog(session, logicalSchemas.Append(Names.PhysicalSchema).Distinct().ToList());

        foreach (var environment in expiring)
        {
            var reason = environment.Status == EnvironmentStatus.Detached
                ? $"detached and unchanged for {retention} day(s) or more"
                : $"expired: unchanged for {retention} day(s) or more";
            var views = new List<RelationName>();
            string? schema = null;
            // A detached environment's names hold the user's plain relations now: never touch them.
            if (environment.Status != EnvironmentStatus.Detached)
            {
                var logical = Names.LogicalSchema(environment.Name);
                foreach (var key in (refs.GetValueOrDefault(environment.Name) ?? new Dictionary<NodeKey, string>()).Keys)
                {
                    var view = catalog.Find(new RelationName(logical, key.NodeName));
                    if (view?.Kind == RelationKind.View && view.ViewDefinition is { } def && def.Contains(Names.PhysicalSchema, StringComparison.OrdinalIgnoreCase))
                        views.Add(view.Relation);
                }
                if (logical != Names.TargetSchema) schema = logical;
            }
            var candidate = new EnvironmentCandidate(environment.Name, environment.Status, reason, views, schema);
            foreach (var r in refs.GetValueOrDefault(environment.Name) ?? new Dictionary<NodeKey, string>()) candidate.Uses.Add((r.Key, r.Value));
            foreach (var checkpoint in checkpoints.Where(c => c.Environment == environment.Name))
                foreach (var r in checkpointRefs[checkpoint.Id]) candidate.Uses.Add((r.Key, r.Value));
            analysis.Environments.Add(candidate);
        }
        var gone = analysis.Environments.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var known = environments.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);

        foreach (var group in checkpoints.GroupBy(c => c.Environment))
        {
            if (gone.Contains(group.Key) || !known.Contains(group.Key))
            {
                foreach (var c in group)
                    analysis.Checkpoints.Add(new CheckpointCandidate(c.Id, c.Environment,
                        gone.Contains(group.Key) ? "its environment expired" : "its environment no longer exists"));
                continue;
            }
            foreach (var c in group.Skip(max))   // newest first
                analysis.Checkpoints.Add(new CheckpointCandidate(c.Id, c.Environment, $"beyond max_checkpoints ({max})"));
        }
        var prunedCheckpoints = analysis.Checkpoints.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);

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
            var keptRelation = keptRelations.Dequeue();
            if (!seen.Add(keptRelation)) continue;
            if (catalog.Find(keptRelation) is not { Kind: RelationKind.View, ViewDefinition: { } def }) continue;
            foreach (var c in candidates.Where(c => ReadsName(def, c.Relation)).ToList())
            {
                candidates.Remove(c);
                keptRelations.Enqueue(c.Relation);
                Log.Verbose($"janitor keeps {c.Relation}: the kept view {keptRelation} reads it");
            }
        }
        foreach (var c in candidates.OrderBy(c => c.ArtifactName, StringComparer.Ordinal).ThenBy(c => c.VersionHash, StringComparer.Ordinal))
        {
            var found = catalog.Find(c.Relation);
            analysis.Versions.Add(new VersionCandidate(c.Key, c.VersionHash, c.Relation, found?.Kind == RelationKind.View || found is null && c.RelationType == "view", found is not null));
        }

        var backups = retentionRepo.BackupSchemas();
        analysis.Backups.AddRange(backups.Skip(1));
        if (analysis.Backups.Count > 0)
        {
            var backupCatalog = session.ReadCatalog(analysis.Backups);
            foreach (var b in analysis.Backups)
                analysis.BackupRelations[b] = backupCatalog.Relations.Where(r => r.Schema == b).Select(r => r.Relation)
                    .OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        }

        analysis.Locks.AddRange(new LockManager(Store, Log).List().Where(l => l.IsExpired).Select(l => l.Key));
        return analysis;
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

    private bool TryDrop(IWarehouseSession session, SqlStatement statement, string key, Dictionary<string, string>? failed)
    {
        try
        {
            session.Execute(statement);
            return true;
        }
        catch (SqbException ex)
        {
            if (failed is not null) failed[key] = Redaction.Redact(ex.Message);
            else Log.Verbose($"janitor: {statement} did not succeed yet: {Redaction.Redact(ex.Message)}");
            return false;
        }
    }

    private IEnumerable<SqbJanitorItem> Items(Analysis analysis, string? operationId, Dictionary<string, string>? failed = null, List<string>? removedLocks = null)
    {
        string Result(string key) => failed is null ? "planned" : failed.ContainsKey(key) ? "failed" : "removed";
        string? Error(string key) => failed?.GetValueOrDefault(key);
        foreach (var environment in analysis.Environments)
        {
            foreach (var view in environment.Views)
                yield return new SqbJanitorItem
                {
                    Kind = "LogicalView", Name = view.ToString(), Environment = environment.Name, Reason = $"view of environment '{environment.Name}', which expired",
                    Result = Result("LogicalView:" + view), Message = Error("LogicalView:" + view), OperationId = operationId,
                };
            yield return new SqbJanitorItem
            {
                Kind = "Environment", Name = environment.Name, Environment = environment.Name, Reason = environment.Reason,
                Result = Result("Environment:" + environment.Name), Message = Error("Environment:" + environment.Name), OperationId = operationId,
            };
        }
        foreach (var checkpoint in analysis.Checkpoints)
        {
            var blocked = failed is not null && failed.ContainsKey("Environment:" + checkpoint.Environment) && !checkpoint.Reason.StartsWith("beyond", StringComparison.Ordinal);
            yield return new SqbJanitorItem
            {
                Kind = "Checkpoint", Name = checkpoint.Id, Environment = checkpoint.Environment, Reason = checkpoint.Reason,
                Result = blocked ? "failed" : failed is null ? "planned" : "removed",
                Message = blocked ? "kept with its environment, whose views could not all be dropped" : null, OperationId = operationId,
            };
        }
        foreach (var version in analysis.Versions)
            yield return new SqbJanitorItem
            {
                Kind = "PhysicalRelation", Name = version.Relation.ToString(), NodeType = version.Key.NodeType, NodeName = version.Key.NodeName,
                VersionHash = version.Hash,
                Reason = "no environment or retained checkpoint references it" + (version.InWarehouse ? "" : " (already gone from the warehouse: state rows only)"),
                Result = Result("PhysicalRelation:" + version.Relation), Message = Error("PhysicalRelation:" + version.Relation), OperationId = operationId,
            };
        foreach (var backup in analysis.Backups)
            yield return new SqbJanitorItem
            {
                Kind = "StateBackup", Name = backup, Reason = "older state backup (the newest is kept)",
                Result = Result("StateBackup:" + backup), Message = Error("StateBackup:" + backup), OperationId = operationId,
            };
        foreach (var lockKey in analysis.Locks)
            yield return new SqbJanitorItem
            {
                Kind = "Lock", Name = lockKey, Environment = lockKey.StartsWith("virtual_env:", StringComparison.Ordinal) ? lockKey["virtual_env:".Length..] : null,
                Reason = "expired", Result = failed is null ? "planned" : removedLocks!.Contains(lockKey) ? "removed" : "failed",
                Message = failed is null || removedLocks!.Contains(lockKey) ? null : "renewed by its holder in the meantime", OperationId = operationId,
            };
    }
}

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
    /// <summary>Overrides <c>[janitor] history_days</c> (at least 1).</summary>
    public int? HistoryDays { get; init; }
}

/// <summary>
/// <c>Invoke-SqbJanitor</c> (SPEC §10, upstream <c>sqb janitor</c>, virtual mode). Removes, in this order:
/// <list type="number">
/// <item>expired environments (<c>retention_days</c> since their last change; never the target's own VDE unless
/// it is detached): their logical views first, then their refs, row and checkpoints;</item>
/// <item>checkpoints beyond the newest <c>max_checkpoints</c> per environment;</item>
/// <item>physical versions that no live (non-detached) environment and no retained checkpoint references, and
/// that no view that stays reads (any view anywhere in the warehouse: a user's, another environment's, a kept
/// physical view; views on views followed), read with one catalog query (<see cref="SqlDialect.ViewsReading"/>);</item>
/// <item>state backup schemas (<c>&lt;state schema&gt;__backup_*</c>) except the newest: tables, then the schema;</item>
/// <item>expired lock rows;</item>
/// <item>history older than <c>history_days</c>: finished operations with their events, ref events and reconcile
/// events (never a row of an operation still recorded running).</item>
/// </list>
/// Warehouse objects go first and state rows after, in one transaction: a drop that fails keeps its state
/// rows, so the next run tries again. Never CASCADE. Takes the <c>state_migration</c> lock (it rewrites
/// state across environments, like migrate and restore), which excludes every VDE operation both ways
/// (<see cref="LockRequest.ExcludesOtherSide"/>): it refuses while any environment is locked, and no build or
/// promote starts while it runs, so it never removes a version one of them is about to bind,
/// and it refuses while an adopt, detach, promote or rollback is unfinished (J001, <see cref="OperationQueries.Unfinished"/>):
/// what such a run left half done (a table adopt moved but has no ref yet) is referenced by nothing but that run.
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
        public HistoryCandidate? History { get; set; }
    }

    /// <summary>The history older than <c>history_days</c>: the finished operations to prune, the running ones whose rows stay,
    /// and rows per table (counted by the plan, then what the run deleted).</summary>
    private sealed record HistoryCandidate(int Days, DateTime Cutoff, IReadOnlyList<string> Operations, IReadOnlyList<string> Running)
    {
        public Dictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>What a run would remove, read-only (Result <c>planned</c>).</summary>
    /// <summary>What a run would remove, read-only (Result <c>planned</c>). Refuses as a run would while an operation is unfinished.</summary>
    public IReadOnlyList<SqbJanitorItem> Plan(JanitorOptions? options = null)
    {
        RefuseWhileUnfinished();
        return Items(Analyze(options ?? new JanitorOptions()), null).ToList();
    }

    public IReadOnlyList<SqbJanitorItem> Run(JanitorOptions? options = null) =>
        RunJournaled(new JournaledRun("janitor", null, LockManager.MigrationKey, "starting janitor")
            {
                Guard = RefuseWhileUnfinished,
            },
            run => Run(options ?? new JanitorOptions(), run), Summary);

    /// <summary>The operations whose unfinished runs make the janitor refuse: they leave relations that only they know.</summary>
    public static readonly IReadOnlyList<string> ProtectedOperations = new[] { "adopt", "detach", "promote", "rollback" };

    /// <summary>J001 while an adopt, detach, promote or rollback is running, failed (or was interrupted), or stopped partway,
    /// and no later run of it succeeded: the refusal lists each with the command that finishes it.</summary>
    private void RefuseWhileUnfinished()
    {
        var unfinished = new OperationQueries(Store, Log).Unfinished(ProtectedOperations, includeRunning: true);
        if (unfinished.Count == 0) return;
        var list = string.Join(", ", unfinished.Select(o => $"{o.Id} ({o.Environment ?? Store.TargetName}, {o.Reason ?? o.Status})"));
        var recovery = string.Join("; ", unfinished.Select(Reconcile.ReconcileText.OperationRecovery).Distinct());
        throw new SqbException(ErrorCodes.UnfinishedOperations, "UnfinishedOperations",
            $"janitor refuses while an adopt, detach, promote or rollback is unfinished: {list}", SqbErrorKind.InvalidOperation, unfinished,
            $"Finish them first ({recovery}), then run Invoke-SqbJanitor again. Get-SqbReconcile explains what each one left.");
    }

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
            if (analysis.History is { } history)
            {
                var (operations, events) = repo.DeleteOperations(history.Operations);
                history.Counts[StateSchema.Operations.Name] = operations;
                history.Counts[StateSchema.OperationEvents.Name] = events;
                history.Counts[StateSchema.RefEvents.Name] = repo.DeleteRefEventsBefore(history.Cutoff, history.Running);
                history.Counts[StateSchema.ReconcileEvents.Name] = repo.DeleteReconcileEventsBefore(history.Cutoff);
            }
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
        var historyDays = options.HistoryDays ?? config.HistoryDays;
        if (retention < 0 || max < 1 || historyDays < 1)
            throw new SqbException(ErrorCodes.ConfigInvalid, "InvalidJanitorSetting",
                retention < 0 ? "retention_days must be 0 or more" : max < 1 ? "max_checkpoints must be at least 1" : "history_days must be at least 1",
                SqbErrorKind.InvalidArgument, retention < 0 ? "RetentionDays" : max < 1 ? "MaxCheckpoints" : "HistoryDays");
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
                    if (view is not null && view.ReadsFrom(Names.PhysicalSchema))
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

        var candidates = physical.Where(p => !used.Contains((p.Key, p.VersionHash))).ToList();
        // Views that stay keep what they read: any view in the warehouse but the ones this run drops first (the logical
        // views of expiring environments, the candidate physical views), and through a kept view what it reads in turn.
        var candidateRelations = candidates.Select(c => c.Relation).ToHashSet();
        var dropped = analysis.Environments.SelectMany(e => e.Views).ToHashSet();
        var reads = ViewsReading(session, candidates.Select(c => c.Relation.Name).Distinct().ToList());
        var keep = new Queue<(RelationName Relation, RelationName View)>(reads.Where(r => !candidateRelations.Contains(r.View) && !dropped.Contains(r.View)));
        var kept = new HashSet<RelationName>();
        while (keep.Count > 0)
        {
            var (relation, view) = keep.Dequeue();
            if (!candidateRelations.Contains(relation) || !kept.Add(relation)) continue;
            Log.Verbose($"janitor keeps {relation}: the view {view} reads it");
            foreach (var next in reads.Where(r => r.View == relation)) keep.Enqueue(next);
        }
        candidates.RemoveAll(c => kept.Contains(c.Relation));
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

        var historyCutoff = now.AddDays(-historyDays);
        var history = new HistoryCandidate(historyDays, historyCutoff, retentionRepo.FinishedOperationsBefore(historyCutoff), retentionRepo.RunningOperations());
        history.Counts[StateSchema.Operations.Name] = history.Operations.Count;
        history.Counts[StateSchema.OperationEvents.Name] = retentionRepo.CountEvents(history.Operations);
        history.Counts[StateSchema.RefEvents.Name] = retentionRepo.CountRefEventsBefore(historyCutoff, history.Running);
        history.Counts[StateSchema.ReconcileEvents.Name] = retentionRepo.CountReconcileEventsBefore(historyCutoff);
        if (history.Counts.Values.Any(c => c > 0)) analysis.History = history;
        return analysis;
    }

    /// <summary>(relation, view) for every view in the warehouse that reads one of the physical versions <paramref name="names"/>:
    /// one catalog query per 1,000 names, through the warehouse connection.</summary>
    private List<(RelationName Relation, RelationName View)> ViewsReading(IWarehouseSession stateSession, IReadOnlyList<string> names)
    {
        if (names.Count == 0) return new();
        using var separate = Store.SharesWarehouse ? null : Store.OpenWarehouseSession();
        var warehouse = separate ?? stateSession;
        // A name as a view's text spells it (SQL Server) may differ in case from the version's own: match it as the catalog does.
        var canonical = new Dictionary<string, string>(warehouse.Dialect.CatalogNameComparer);
        foreach (var name in names) canonical.TryAdd(name, name);
        return names.Chunk(1000).SelectMany(chunk => warehouse.Query(warehouse.Dialect.ViewsReading(Names.PhysicalSchema, chunk)))
            .Select(r => (new RelationName(Names.PhysicalSchema, canonical.GetValueOrDefault(StateRepository.Str(r[3])!) ?? StateRepository.Str(r[3])!),
                new RelationName(StateRepository.Str(r[0])!, StateRepository.Str(r[1])!)))
            .ToList();
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
        if (analysis.History is { } history)
            foreach (var (table, count) in history.Counts.Where(c => c.Value > 0))
                yield return new SqbJanitorItem
                {
                    Kind = "History", Name = table,
                    Reason = table == StateSchema.Operations.Name ? $"{count} finished operation(s) older than {history.Days} day(s) (history_days)"
                        : table == StateSchema.OperationEvents.Name ? $"{count} event(s) of those operations"
                        : $"{count} row(s) older than {history.Days} day(s) (history_days)",
                    Result = failed is null ? "planned" : "removed", OperationId = operationId,
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

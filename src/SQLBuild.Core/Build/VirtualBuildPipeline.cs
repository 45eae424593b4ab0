using System.Collections.Concurrent;
using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Environments;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build;

/// <summary>
/// Virtual mode (SPEC §4.2): builds the stale nodes of a VDE into immutable, versioned physical
/// relations, runs audits and tests on them before any ref moves, then switches refs and views
/// (and writes a checkpoint on reaching finalized) through <see cref="EnvironmentSwitch"/>.
/// Unchanged and shared versions are reused, never rewritten.
/// </summary>
public sealed class VirtualBuildPipeline
{
    private readonly StateStore _store;
    private readonly ISqbLog _log;
    private readonly VirtualNames _names;
    private CompiledProject Project => _store.Project;

    public VirtualBuildPipeline(StateStore store, ISqbLog log)
    {
        _store = store;
        _log = log;
        _names = new VirtualNames(store.Project.Config, store.Warehouse.Dialect);
    }

    private VirtualAnalysis Analyze(BuildOptions options)
    {
        using var state = _store.OpenStateSession();
        if (_store.SharesWarehouse) return VirtualAnalysis.Run(_store, _names, options, state, state);
        using var warehouse = _store.Warehouse.OpenSession();
        return VirtualAnalysis.Run(_store, _names, options, state, warehouse);
    }

    public SqbPlan Plan(BuildOptions options)
    {
        var a = Analyze(options);
        var status = a.Row is null ? "new" : EnvironmentStatus.Display(a.Row.Status);
        var steps = new List<SqbPlanStep>();
        var order = 0;
        foreach (var name in a.Selected)
        {
            var key = VirtualAnalysis.Key(Project, name);
            a.StartRefs.TryGetValue(key, out var bound);
            var expected = a.Identities[name].VersionHash;
            string? diff = null;
            if (Project.Models.TryGetValue(name, out var model) && bound is not null && a.BoundVersions.TryGetValue((name, bound), out var v)
                && IdentityCalculator.NormalizeSql(v.CompiledSql) != IdentityCalculator.NormalizeSql(model.Sql))
                diff = TextDiff.Unified(IdentityCalculator.NormalizeSql(v.CompiledSql), IdentityCalculator.NormalizeSql(model.Sql));
            steps.Add(new SqbPlanStep
            {
                Target = _store.TargetName, Environment = a.Environment, Order = ++order, Name = name, NodeType = key.NodeType,
                Materialized = model is null ? null : DirectBuildPipeline.Lower(model.Config.Materialized),
                Action = a.Actions[name].ToString().ToLowerInvariant(),
                Relation = _names.Physical(name, expected).ToString(),
                Reason = a.StaleReasons[name] ?? (a.Actions[name] == VirtualAction.Build ? "physical relation missing" : null),
                DependsOn = Project.Parents.TryGetValue(name, out var ps) ? ps : Array.Empty<string>(),
                BoundVersion = bound, ExpectedVersion = expected, EnvironmentStatus = status, QueryDiff = diff,
            });
        }
        return new SqbPlan { Project = Project.Config.Name, Target = _store.TargetName, Environment = a.Environment, Mode = "virtual", Steps = steps };
    }

    public SqbBuildResult Build(BuildOptions options, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var environment = options.Environment ?? _store.TargetName;
        _names.ValidateEnvironment(environment);
        using var journal = OperationJournal.Start(_store, "build", environment, $"build {environment}", _log);
        try
        {
            using var lease = new LockManager(_store, _log).Acquire(LockManager.EnvironmentKey(environment), journal.Id);
            var a = Analyze(options);
            journal.Step("plan", $"{a.Selected.Count} selected, {a.Actions.Count(x => x.Value == VirtualAction.Build)} to build");
            var results = BuildPhysical(a, journal, options, cancel);

            // Refs move only for nodes that succeeded (built, reused or unchanged).
            var final = new Dictionary<NodeKey, string>(a.StartRefs.Where(r =>
                r.Key.NodeType == NodeTypes.Seed ? Project.Seeds.ContainsKey(r.Key.NodeName) : Project.Models.ContainsKey(r.Key.NodeName)));
            foreach (var name in a.Selected)
                if (results[name].Status is SqbNodeStatus.Succeeded or SqbNodeStatus.Warned)
                    final[VirtualAnalysis.Key(Project, name)] = a.Identities[name].VersionHash;
            var finalized = Project.TopologicalOrder.All(n =>
                final.TryGetValue(VirtualAnalysis.Key(Project, n), out var h) && h == a.Identities[n].VersionHash);
            var status = finalized ? EnvironmentStatus.Finalized : EnvironmentStatus.Active;

            journal.Step("switch", $"moving refs of {environment} to {status}");
            var switched = new EnvironmentSwitch(_store, _names, _log)
                .Apply(environment, final, status, a.Baseline, journal.Id, "build");
            var nodes = a.Selected.Select(n => results[n]).Concat(results.Values.Where(r => r.NodeType == "test")).ToList();
            var failed = nodes.Any(n => n.Status is SqbNodeStatus.Failed or SqbNodeStatus.Skipped);
            journal.Succeed($"built {nodes.Count(n => n.Action == "build" && n.Status != SqbNodeStatus.Failed)} of {a.Selected.Count} selected; " +
                            $"{switched.Changes.Count} ref change(s); status {status}");
            return new SqbBuildResult
            {
                Project = Project.Config.Name, Target = _store.TargetName, Environment = environment, Mode = "virtual",
                Status = failed ? "failed" : "succeeded", Nodes = nodes, Duration = clock.Elapsed,
                EnvironmentStatus = status, CheckpointId = switched.CheckpointId, OperationId = journal.Id,
            };
        }
        catch (Exception ex)
        {
            journal.Fail(ex.Message);
            throw;
        }
    }

    /// <summary>Builds every selected node whose version has no physical relation yet, in DAG order with N workers.</summary>
    private Dictionary<string, SqbNodeResult> BuildPhysical(VirtualAnalysis a, OperationJournal journal, BuildOptions options, CancellationToken cancel)
    {
        var results = new ConcurrentDictionary<string, SqbNodeResult>(StringComparer.Ordinal);
        var final = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, h) in a.StartRefs) final[k.NodeName] = h;
        foreach (var n in a.Selected) final[n] = a.Identities[n].VersionHash;
        RelationName PhysicalOf(string node) => final.TryGetValue(node, out var h)
            ? _names.Physical(node, h)
            : throw new SqbException("S010", "StaleUpstreams", $"'{node}' has no version in virtual environment '{a.Environment}'",
                SqbErrorKind.InvalidOperation, node, $"Invoke-SqbBuild -Environment {a.Environment} -Select {node}");
        string Render(string sql, IReadOnlyList<Reference> refs) => ReferenceRenderer.Render(sql, refs, r => _store.Warehouse.Dialect.Qualify(
            r.Kind == ReferenceKind.Source ? new RelationName(Project.Sources[r.Name].Schema, Project.Sources[r.Name].Table) : PhysicalOf(r.Name)));

        foreach (var n in a.Selected.Where(n => a.Actions[n] != VirtualAction.Build))
            results[n] = new SqbNodeResult
            {
                Name = n, NodeType = VirtualAnalysis.Key(Project, n).NodeType, Status = SqbNodeStatus.Succeeded,
                Materialized = Project.Models.TryGetValue(n, out var m) ? DirectBuildPipeline.Lower(m.Config.Materialized) : null,
                Relation = _names.Physical(n, a.Identities[n].VersionHash).ToString(), Action = a.Actions[n].ToString().ToLowerInvariant(),
            };

        var toBuild = a.Selected.Where(n => a.Actions[n] == VirtualAction.Build).ToList();
        // A relationships audit reads its parent model's new version: build that first (as the direct pipeline does).
        List<string> DepsOf(string n) => (Project.Parents.TryGetValue(n, out var ps) ? ps : Array.Empty<string>())
            .Concat(Project.Models.TryGetValue(n, out var m) ? m.Config.Audits.Select(x => x.ToModel).OfType<string>() : Array.Empty<string>())
            .Where(d => d != n && toBuild.Contains(d)).Distinct().ToList();
        var steps = toBuild.Select(n => (Key: n, Deps: (IReadOnlyList<string>)DepsOf(n))).ToList();
        var tests = Project.Tests.Values.Where(t => t.References.Any(r => r.Kind != ReferenceKind.Source && toBuild.Contains(r.Name))).ToList();
        foreach (var t in tests)
            steps.Add(("test:" + t.Name, t.References.Where(r => r.Kind != ReferenceKind.Source && toBuild.Contains(r.Name)).Select(r => r.Name).Distinct().ToList()));
        if (steps.Count == 0) return new Dictionary<string, SqbNodeResult>(results);

        using (var init = _store.Warehouse.OpenSession())
            init.Execute(init.Dialect.CreateSchemaIfNotExists(_names.PhysicalSchema));
        var audits = new AuditRunner(Project, PhysicalOf, Render);
        var tracker = new PhysicalTracker(_store);
        var sessions = new ConcurrentBag<IWarehouseSession>();
        var total = steps.Count;
        var done = 0;
        _log.Section($"Building {toBuild.Count} physical version(s) for {a.Environment}");
        try
        {
            DagScheduler.Run(steps.Select(s => s.Key).ToList(), steps.ToDictionary(s => s.Key, s => s.Deps),
                options.Concurrency ?? Project.Config.Settings.Concurrency,
                key =>
                {
                    if (!sessions.TryTake(out var s)) s = _store.Warehouse.OpenSession();
                    SqbNodeResult r;
                    try
                    {
                        r = key.StartsWith("test:", StringComparison.Ordinal)
                            ? RunTest(s, Project.Tests[key[5..]], Render)
                            : BuildOne(s, a, key, Render, audits, tracker);
                    }
                    catch (Exception ex) { r = Materializer.Failure(key, NodeKind.Model, null, ex, TimeSpan.Zero); }
                    sessions.Add(s);
                    results[key] = r;
                    var x = Interlocked.Increment(ref done);
                    _log.Progress($"Building {a.Environment}", $"{r.Name}: {r.Status.ToString().ToLowerInvariant()} ({x}/{total})", x, total);
                    if (r.Status == SqbNodeStatus.Failed) _log.Warning($"{r.NodeType} '{r.Name}' failed: {r.Error}");
                    return r.Status != SqbNodeStatus.Failed;
                },
                (key, because) =>
                {
                    var name = key.StartsWith("test:", StringComparison.Ordinal) ? key[5..] : key;
                    results[key] = new SqbNodeResult
                    {
                        Name = name, NodeType = key.StartsWith("test:", StringComparison.Ordinal) ? "test" : VirtualAnalysis.Key(Project, key).NodeType,
                        Status = SqbNodeStatus.Skipped, SkippedBecause = because,
                        Error = because is null ? "build was stopped before this node ran" : $"upstream '{because}' did not succeed",
                    };
                },
                cancel);
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
            tracker.Dispose();
        }

        // A failed data test keeps the refs of what it read (and of their descendants) where they are.
        foreach (var t in tests.Where(t => results["test:" + t.Name].Status == SqbNodeStatus.Failed))
        {
            var blocked = t.References.Where(r => r.Kind != ReferenceKind.Source && toBuild.Contains(r.Name)).Select(r => r.Name).ToHashSet();
            foreach (var n in toBuild)
            {
                if (!blocked.Contains(n) || results[n].Status == SqbNodeStatus.Failed) continue;
                var ok = results[n];
                results[n] = new SqbNodeResult
                {
                    Name = ok.Name, NodeType = ok.NodeType, Materialized = ok.Materialized, Relation = ok.Relation, Rows = ok.Rows,
                    Duration = ok.Duration, Audits = ok.Audits, Action = ok.Action, Status = SqbNodeStatus.Failed,
                    Error = $"data test '{t.Name}' failed; the ref of '{n}' was not moved", ErrorCode = "B003.TestFailed",
                };
            }
        }
        journal.Step("physical", $"built {results.Values.Count(r => r.Action == "build" && r.Status != SqbNodeStatus.Failed)} physical version(s)");
        return new Dictionary<string, SqbNodeResult>(results);
    }

    private SqbNodeResult BuildOne(IWarehouseSession s, VirtualAnalysis a, string name, Func<string, IReadOnlyList<Reference>, string> render,
        AuditRunner audits, PhysicalTracker tracker)
    {
        var clock = Stopwatch.StartNew();
        var d = s.Dialect;
        var hash = a.Identities[name].VersionHash;
        var phys = _names.Physical(name, hash);
        if (Project.Seeds.TryGetValue(name, out var seed))
        {
            var seedInPlace = RebuildsInPlace(d, a, phys);
            try
            {
                if (seedInPlace)
                {
                    // Views (its logical views, physical views on it) are bound to this untracked leftover: refill it.
                    using var tx = s.BeginTransaction();
                    s.Execute(d.DeleteAll(phys));
                    s.InsertRows(phys, seed.Columns.Select(c => c.Name).ToList(), seed.Rows);
                    tx.Commit();
                }
                else
                {
                    s.Execute(d.DropTableIfExists(phys));
                    s.Execute(d.CreateTable(phys, seed.Columns));
                    s.InsertRows(phys, seed.Columns.Select(c => c.Name).ToList(), seed.Rows);
                }
                tracker.TrackSeed(seed, hash, phys);
                return new SqbNodeResult { Name = name, NodeType = "seed", Status = SqbNodeStatus.Succeeded, Relation = phys.ToString(),
                    Duration = clock.Elapsed, Rows = seed.Rows.Count, Action = "build" };
            }
            catch (Exception ex)
            {
                if (!seedInPlace) TryDrop(s, phys, table: true);
                return Materializer.Failure(name, NodeKind.Seed, null, ex, clock.Elapsed, phys);
            }
        }

        var model = Project.Models[name];
        var cfg = model.Config;
        var materialized = DirectBuildPipeline.Lower(cfg.Materialized);
        var sql = render(model.Sql, model.References);
        var isView = cfg.Materialized == Materialization.View;
        IReadOnlyList<SqbAuditResult> results = Array.Empty<SqbAuditResult>();
        var inPlace = RebuildsInPlace(d, a, phys);
        var audited = false;
        try
        {
            long? rows = null;
            if (isView)
            {
                // Same version, same columns: an untracked leftover that views are bound to is replaced in place.
                if (!inPlace) s.Execute(d.DropViewIfExists(phys));
                s.Execute(d.CreateOrReplaceView(phys, sql));
            }
            else
            {
                var key = NodeKey.Model(name);
                var prior = cfg.Materialized == Materialization.Incremental && a.StartRefs.TryGetValue(key, out var b) && b != hash
                            && a.Physical.TryGetValue((key, b), out var pp) && a.PhysicalCatalog.Exists(pp.Relation) ? pp : null;
                if (inPlace && prior is null)
                {
                    // Built and audited aside; the rows readers see change only when the audits pass.
                    results = RefillInPlace(s, name, phys, sql, staging => audits.Run(s, model, staging));
                    audited = true;
                    rows = Convert.ToInt64(s.ExecuteScalar(d.CountRows(phys)) ?? 0L);
                }
                else
                {
                    s.Execute(d.DropTableIfExists(phys));
                    if (prior is null) s.Execute(d.CreateTableAs(phys, sql));
                    else ApplyIncremental(s, model, sql, prior, phys, tracker, hash);
                    rows = Convert.ToInt64(s.ExecuteScalar(d.CountRows(phys)) ?? 0L);
                }
            }
            if (!audited) results = audits.Run(s, model, phys);
            var blocking = AuditRunner.FirstBlocking(results);
            if (blocking is not null)
            {
                if (!inPlace) TryDrop(s, phys, table: !isView);
                return new SqbNodeResult
                {
                    Name = name, NodeType = "model", Materialized = materialized, Status = SqbNodeStatus.Failed, Relation = phys.ToString(),
                    Duration = clock.Elapsed, Audits = results, Action = "build", Rows = rows,
                    Error = blocking.Message + "; the ref was not moved", ErrorCode = "B002.AuditFailed",
                };
            }
            tracker.TrackModel(model, a.Identities[name], phys, isView ? "view" : "table");
            return new SqbNodeResult
            {
                Name = name, NodeType = "model", Materialized = materialized, Relation = phys.ToString(), Duration = clock.Elapsed,
                Rows = rows, Audits = results, Action = "build",
                Status = results.Any(r => r.Status != "passed") ? SqbNodeStatus.Warned : SqbNodeStatus.Succeeded,
            };
        }
        catch (Exception ex)
        {
            if (!inPlace) TryDrop(s, phys, table: !isView);
            return Materializer.Failure(name, NodeKind.Model, materialized, ex, clock.Elapsed, phys, results);
        }
    }

    /// <summary>
    /// A version's physical relation that exists but is not tracked (its <c>physical_relations</c> row was lost,
    /// or a run died between creating and tracking it) is rebuilt under the same name. Where views bind to
    /// relations (PostgreSQL) the logical views that still read it would block a DROP (never CASCADE), so it
    /// is rebuilt in place instead.
    /// </summary>
    private static bool RebuildsInPlace(SqlDialect d, VirtualAnalysis a, RelationName phys) =>
        d.ViewsBindToRelations && a.PhysicalCatalog.Exists(phys);

    /// <summary>
    /// Builds the query into a staging table and audits it there; only when no error audit blocks does it
    /// replace the table's rows, in one transaction, keeping the table (and the views bound to it).
    /// </summary>
    private IReadOnlyList<SqbAuditResult> RefillInPlace(IWarehouseSession s, string name, RelationName phys, string sql,
        Func<RelationName, IReadOnlyList<SqbAuditResult>> audit)
    {
        var d = s.Dialect;
        var staging = new RelationName(phys.Schema, phys.Name + "__sqb_rebuild");
        d.ValidateIdentifier(staging.Name, $"rebuild relation name of '{name}'");
        s.Execute(d.DropTableIfExists(staging));
        s.Execute(d.CreateTableAs(staging, sql));
        try
        {
            var results = audit(staging);
            if (AuditRunner.FirstBlocking(results) is not null) return results;
            var columns = s.ReadCatalog(new[] { staging.Schema }, includeColumns: true).ColumnsOf(staging).Select(c => c.Name).ToList();
            using var tx = s.BeginTransaction();
            s.Execute(d.DeleteAll(phys));
            s.Execute(d.InsertFrom(phys, staging, columns));
            tx.Commit();
            return results;
        }
        finally { TryDrop(s, staging, table: true); }
    }

    /// <summary>A new incremental version starts as a copy of the prior version, then takes the delta.</summary>
    private void ApplyIncremental(IWarehouseSession s, ModelNode model, string sql, PhysicalRelationRow prior, RelationName phys,
        PhysicalTracker tracker, string hash)
    {
        var d = s.Dialect;
        s.Execute(d.CreateTableAs(phys, $"SELECT * FROM {d.Qualify(prior.Relation)}"));
        tracker.TrackAncestry(model.Name, hash, prior.VersionHash, "copy");
        var cfg = model.Config;
        var delta = new RelationName(phys.Schema, phys.Name + "__sqb_delta");
        d.ValidateIdentifier(delta.Name, $"delta relation name of '{model.Name}'");
        s.Execute(d.DropTableIfExists(delta));
        s.Execute(d.CreateTableAs(delta, cfg.Cursor is null ? sql : d.IncrementalDelta(sql, cfg.Cursor, phys)));
        try
        {
            var columns = s.ReadCatalog(new[] { delta.Schema }, includeColumns: true).ColumnsOf(delta).Select(c => c.Name).ToList();
            using var tx = s.BeginTransaction();
            switch (cfg.IncrementalStrategy)
            {
                case IncrementalStrategy.Append: s.Execute(d.InsertFrom(phys, delta, columns)); break;
                case IncrementalStrategy.DeleteInsert:
                    s.Execute(d.DeleteMatching(phys, delta, cfg.UniqueKey));
                    s.Execute(d.InsertFrom(phys, delta, columns));
                    break;
                default: s.Execute(d.Merge(phys, delta, cfg.UniqueKey, columns)); break;
            }
            tx.Commit();
        }
        finally { TryDrop(s, delta, table: true); }
    }

    private SqbNodeResult RunTest(IWarehouseSession s, DataTestNode test, Func<string, IReadOnlyList<Reference>, string> render)
    {
        var clock = Stopwatch.StartNew();
        var failing = Convert.ToInt64(s.ExecuteScalar(s.Dialect.CountQuery("TEST", test.Name, render(test.Sql, test.References))) ?? 0L);
        return new SqbNodeResult
        {
            Name = test.Name, NodeType = "test", Relation = test.RelativePath, Duration = clock.Elapsed, Rows = failing, Action = "test",
            Status = failing == 0 ? SqbNodeStatus.Succeeded : SqbNodeStatus.Failed,
            Error = failing == 0 ? null : $"test '{test.Name}' returned {failing} failing row(s)",
            ErrorCode = failing == 0 ? null : "B003.TestFailed",
        };
    }

    private void TryDrop(IWarehouseSession s, RelationName r, bool table)
    {
        try { s.Execute(table ? s.Dialect.DropTableIfExists(r) : s.Dialect.DropViewIfExists(r)); }
        catch (Exception ex) { _log.Warning($"could not drop '{r}': {Redaction.Redact(ex.Message)}"); }
    }

    /// <summary>Records built versions in state as soon as each succeeds (serialized on one state session),
    /// so a physical relation is never left untracked for the janitor.</summary>
    private sealed class PhysicalTracker : IDisposable
    {
        private readonly StateStore _store;
        private readonly object _gate = new();
        private IWarehouseSession? _session;

        public PhysicalTracker(StateStore store) => _store = store;

        private StateRepository Repo => new(_session ??= _store.OpenStateSession(), _store.Sql);

        public void TrackModel(ModelNode model, NodeIdentity id, RelationName phys, string relationType)
        {
            lock (_gate)
            {
                var repo = Repo;
                repo.InsertModelVersion(new ModelVersionRow(model.Name, id.VersionHash, id.LocalHash,
                    IdentityCalculator.NormalizeSql(model.Sql), id.MetadataJson, "ready"));
                repo.InsertPhysicalRelation(new PhysicalRelationRow(NodeTypes.Model, model.Name, id.VersionHash, null, phys.Schema, phys.Name, relationType));
            }
        }

        public void TrackSeed(SeedNode seed, string hash, RelationName phys)
        {
            lock (_gate)
            {
                var repo = Repo;
                repo.InsertSeedVersion(seed.Name, hash, seed.ContentHash);
                repo.InsertPhysicalRelation(new PhysicalRelationRow(NodeTypes.Seed, seed.Name, hash, null, phys.Schema, phys.Name, "table"));
            }
        }

        public void TrackAncestry(string model, string hash, string parent, string strategy)
        {
            lock (_gate) Repo.InsertAncestry(model, hash, parent, strategy);
        }

        public void Dispose() => _session?.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Operations;
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
            var key = NodeKey.Of(Project, name);
            a.StartRefs.TryGetValue(key, out var bound);
            var expected = a.Identities[name].VersionHash;
            string? diff = null;
            if (Project.Models.TryGetValue(name, out var model) && bound is not null && a.BoundVersions.TryGetValue((name, bound), out var v)
                && IdentityCalculator.NormalizeSql(v.CompiledSql) != IdentityCalculator.NormalizeSql(model.Sql))
                diff = TextDiff.Unified(IdentityCalculator.NormalizeSql(v.CompiledSql), IdentityCalculator.NormalizeSql(model.Sql));
            steps.Add(new SqbPlanStep
            {
                Target = _store.TargetName, Environment = a.Environment, Order = ++order, Name = name, NodeType = key.NodeType,
                Materialized = model is null ? null : EnumNames.Snake(model.Config.Materialized),
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

        // Read-only first (it also refuses an uninitialized store with E002, before any journal write): a
        // build that would change nothing (every selected version unchanged and present, refs and status as
        // they are) returns without a lock, a journal row or a write.
        var preview = Analyze(options);
        if (IsNoOp(preview))
        {
            _log.Verbose($"{environment}: every selected node is unchanged; nothing to build");
            return new SqbBuildResult
            {
                Project = Project.Config.Name, Target = _store.TargetName, Environment = environment, Mode = "virtual",
                Status = "succeeded", Duration = clock.Elapsed, EnvironmentStatus = preview.Row!.Status,
                Nodes = preview.Selected.Select(n => new SqbNodeResult
                {
                    Name = n, NodeType = NodeKey.Of(Project, n).NodeType, Status = SqbNodeStatus.Succeeded, Action = "unchanged",
                    Materialized = Project.Models.TryGetValue(n, out var m) ? EnumNames.Snake(m.Config.Materialized) : null,
                    Relation = _names.Physical(n, preview.Identities[n].VersionHash).ToString(),
                }).ToList(),
            };
        }

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
                    final[NodeKey.Of(Project, name)] = a.Identities[name].VersionHash;
            var finalized = Project.TopologicalOrder.All(n =>
                final.TryGetValue(NodeKey.Of(Project, n), out var h) && h == a.Identities[n].VersionHash);
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

    /// <summary>Nothing to do: the VDE exists with its own refs, every selected node is unchanged, and the
    /// status would not move (a finalized VDE stays finalized; an active one stays active only if some
    /// unselected node is still stale).</summary>
    private bool IsNoOp(VirtualAnalysis a)
    {
        if (a.Row is null || a.OwnRefs.Count == 0 || a.Actions.Values.Any(x => x != VirtualAction.Unchanged)) return false;
        var projectKeys = Project.TopologicalOrder.Select(n => NodeKey.Of(Project, n)).ToHashSet();
        if (a.OwnRefs.Keys.Any(k => !projectKeys.Contains(k))) return false;   // refs of removed nodes would be dropped
        var finalized = Project.TopologicalOrder.All(n => a.StaleReasons[n] is null);
        return finalized ? a.Row.Status == EnvironmentStatus.Finalized : a.Row.Status == EnvironmentStatus.Active;
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
                Name = n, NodeType = NodeKey.Of(Project, n).NodeType, Status = SqbNodeStatus.Succeeded,
                Materialized = Project.Models.TryGetValue(n, out var m) ? EnumNames.Snake(m.Config.Materialized) : null,
                Relation = _names.Physical(n, a.Identities[n].VersionHash).ToString(), Action = a.Actions[n].ToString().ToLowerInvariant(),
            };

        var toBuild = a.Selected.Where(n => a.Actions[n] == VirtualAction.Build).ToList();
        var steps = toBuild.Select(n => (Key: n, Deps: (IReadOnlyList<string>)BuildDependencies(n, toBuild))).ToList();
        var tests = Project.Tests.Values.Where(t => t.References.Any(r => r.Kind != ReferenceKind.Source && toBuild.Contains(r.Name))).ToList();
        foreach (var t in tests)
            steps.Add(("test:" + t.Name, t.References.Where(r => r.Kind != ReferenceKind.Source && toBuild.Contains(r.Name)).Select(r => r.Name).Distinct().ToList()));
        if (steps.Count == 0) return new Dictionary<string, SqbNodeResult>(results);

        using (var init = _store.Warehouse.OpenSession())
            CreateSchemaAlongsideOthers(init, _names.PhysicalSchema);
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
                            ? Materializer.RunDataTest(s, Project.Tests[key[5..]], () => Render(Project.Tests[key[5..]].Sql, Project.Tests[key[5..]].References))
                            : BuildVersion(s, a, key, Render, audits, tracker, cancel);
                    }
                    catch (Exception ex) { r = Materializer.Failure(key, NodeKind.Model, null, ex, TimeSpan.Zero); }
                    // A session that saw a failure may be broken (or mid-transaction): never hand it to the next node.
                    if (r.Status == SqbNodeStatus.Failed) s.Dispose(); else sessions.Add(s);
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
                        Name = name, NodeType = key.StartsWith("test:", StringComparison.Ordinal) ? "test" : NodeKey.Of(Project, key).NodeType,
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
        var selected = a.Selected.ToHashSet(StringComparer.Ordinal);
        foreach (var t in tests.Where(t => results["test:" + t.Name].Status == SqbNodeStatus.Failed))
        {
            var read = t.References.Where(r => r.Kind != ReferenceKind.Source && toBuild.Contains(r.Name)).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            // Descendants were built (or reused) on top of the versions the test rejected: they must not move either.
            var blocked = new HashSet<string>(read, StringComparer.Ordinal);
            foreach (var n in Project.TopologicalOrder)
                if (selected.Contains(n) && Project.Parents.TryGetValue(n, out var ps) && ps.Any(blocked.Contains)) blocked.Add(n);
            foreach (var n in a.Selected)
            {
                if (!blocked.Contains(n) || results[n].Status is SqbNodeStatus.Failed or SqbNodeStatus.Skipped) continue;
                var ok = results[n];
                results[n] = new SqbNodeResult
                {
                    Name = ok.Name, NodeType = ok.NodeType, Materialized = ok.Materialized, Relation = ok.Relation, Rows = ok.Rows,
                    Duration = ok.Duration, Audits = ok.Audits, Action = ok.Action, Status = SqbNodeStatus.Failed,
                    Error = read.Contains(n)
                        ? $"data test '{t.Name}' failed; the ref of '{n}' was not moved"
                        : $"data test '{t.Name}' failed on an upstream of '{n}'; the ref of '{n}' was not moved",
                    ErrorCode = "B003.TestFailed",
                };
            }
        }
        journal.Step("physical", $"built {results.Values.Count(r => r.Action == "build" && r.Status != SqbNodeStatus.Failed)} physical version(s)");
        return new Dictionary<string, SqbNodeResult>(results);
    }

    /// <summary>
    /// CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent creator: two first builds (of two VDEs) creating
    /// the physical schema at once fail with a duplicate pg_namespace key (PostgreSQL) or a catalog write-write
    /// conflict (DuckDB). Such a failure is retried; once the other creator committed, IF NOT EXISTS is a no-op.
    /// </summary>
    private static void CreateSchemaAlongsideOthers(IWarehouseSession s, string schema)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                s.Execute(s.Dialect.CreateSchemaIfNotExists(schema));
                return;
            }
            catch (SqbException e) when (attempt < 5 && WarehouseErrors.Classify(e) is WarehouseErrorClass.UniqueViolation
                                             or WarehouseErrorClass.ObjectExists or WarehouseErrorClass.Busy)
            {
                Thread.Sleep(50 * attempt);
            }
        }
    }

    /// <summary>The nodes of this build that must be built before <paramref name="name"/>: its parents, and the model a
    /// relationships audit of it reads (not a parent, but the audit runs against that model's new version).</summary>
    private List<string> BuildDependencies(string name, IReadOnlyList<string> toBuild)
    {
        var deps = Project.Parents.TryGetValue(name, out var ps) ? ps.Where(toBuild.Contains).ToList() : new List<string>();
        if (Project.Models.TryGetValue(name, out var model))
            deps.AddRange(model.Config.Audits.Select(a => a.ToModel).OfType<string>()
                .Where(m => m != name && toBuild.Contains(m) && !deps.Contains(m)).Distinct());
        return deps;
    }

    /// <summary>
    /// Builds one new version under a lease on its physical name (lock key <c>physical:&lt;schema&gt;.&lt;name&gt;</c>),
    /// so two builds that need the same new version at once (two VDEs, or two processes) build it once: the second
    /// waits for the lease, then finds the version tracked and reuses it. Without the lease the second build
    /// dropped the first's freshly built relation, failing its audits or views (a version is never rewritten).
    /// </summary>
    private SqbNodeResult BuildVersion(IWarehouseSession s, VirtualAnalysis a, string name, Func<string, IReadOnlyList<Reference>, string> render,
        AuditRunner audits, PhysicalTracker tracker, CancellationToken cancel)
    {
        var key = NodeKey.Of(Project, name);
        var hash = a.Identities[name].VersionHash;
        var phys = _names.Physical(name, hash);
        using var lease = AcquireVersionLease(phys, cancel);
        if (BuiltMeanwhile(s, a, key, hash, phys))
        {
            _log.Verbose($"{phys} was built by another build meanwhile; reusing it");
            return new SqbNodeResult
            {
                Name = name, NodeType = key.NodeType, Status = SqbNodeStatus.Succeeded, Relation = phys.ToString(), Action = "reuse",
                Materialized = Project.Models.TryGetValue(name, out var m) ? EnumNames.Snake(m.Config.Materialized) : null,
            };
        }
        return BuildOne(s, a, name, render, audits, tracker);
    }

    private VersionLatch AcquireVersionLease(RelationName phys, CancellationToken cancel) =>
        VersionLatch.Acquire(_store, $"physical:{phys}", _log, cancel);

    /// <summary>Whether another build made this version while this one was analysing or waiting.</summary>
    private bool BuiltMeanwhile(IWarehouseSession s, VirtualAnalysis a, NodeKey key, string hash, RelationName phys)
    {
        using (var state = _store.OpenStateSession())
            if (!new StateRepository(state, _store.Sql).IsTracked(key, hash)) return false;
        // Tracked now but not at analysis time: another build built and tracked it. Tracked then too: this build
        // is rebuilding a missing relation, and it is built meanwhile only if it is back in the warehouse.
        return !a.Physical.ContainsKey((key, hash)) || s.ReadCatalog(new[] { phys.Schema }).Exists(phys);
    }

    private SqbNodeResult BuildOne(IWarehouseSession s, VirtualAnalysis a, string name, Func<string, IReadOnlyList<Reference>, string> render,
        AuditRunner audits, PhysicalTracker tracker)
    {
        var clock = Stopwatch.StartNew();
        var d = s.Dialect;
        var hash = a.Identities[name].VersionHash;
        var phys = _names.Physical(name, hash);
        // An untracked relation already holding this exact version (the state was reset or restored from an
        // older backup, so nothing records it): where views bind to relations (PostgreSQL) it cannot be dropped
        // while logical views still read it, so it is taken over instead: audits run on it, then it is tracked.
        // Same name = same version hash = same definition and upstreams, so it is the version this build wants.
        var untracked = d.ViewsBindToRelations ? a.PhysicalCatalog.Find(phys) : null;
        if (untracked is not null) return TakeOver(s, a, name, untracked, audits, tracker, clock);
        if (Project.Seeds.TryGetValue(name, out var seed))
        {
            try
            {
                // A version's name is new unless a failed run left it behind (then the catalog read saw it).
                if (a.PhysicalCatalog.Exists(phys)) s.Execute(d.DropTableIfExists(phys));
                s.Execute(d.CreateTable(phys, seed.Columns));
                s.InsertRows(phys, seed.Columns.Select(c => c.Name).ToList(), seed.Rows);
                tracker.TrackSeed(seed, hash, phys);
                return new SqbNodeResult { Name = name, NodeType = "seed", Status = SqbNodeStatus.Succeeded, Relation = phys.ToString(),
                    Duration = clock.Elapsed, Rows = seed.Rows.Count, Action = "build" };
            }
            catch (Exception ex)
            {
                TryDrop(s, phys, table: true);
                return Materializer.Failure(name, NodeKind.Seed, null, ex, clock.Elapsed, phys);
            }
        }

        var model = Project.Models[name];
        var cfg = model.Config;
        var materialized = EnumNames.Snake(cfg.Materialized);
        var sql = render(model.Sql, model.References);
        var isView = cfg.Materialized == Materialization.View;
        IReadOnlyList<SqbAuditResult> results = Array.Empty<SqbAuditResult>();
        try
        {
            long? rows = null;
            if (isView)
            {
                if (a.PhysicalCatalog.Exists(phys)) s.Execute(d.DropViewIfExists(phys));
                s.Execute(d.CreateOrReplaceView(phys, sql));
            }
            else
            {
                if (a.PhysicalCatalog.Exists(phys)) s.Execute(d.DropTableIfExists(phys));
                var key = NodeKey.Model(name);
                var prior = cfg.Materialized == Materialization.Incremental && a.StartRefs.TryGetValue(key, out var b) && b != hash
                            && a.Physical.TryGetValue((key, b), out var pp) && a.PhysicalCatalog.Exists(pp.Relation) ? pp : null;
                if (prior is null) s.Execute(d.CreateTableAs(phys, sql));
                else ApplyIncremental(s, model, sql, prior, phys, tracker, hash);
                rows = Convert.ToInt64(s.ExecuteScalar(d.CountRows(phys)) ?? 0L);
            }
            results = audits.Run(s, model, phys);
            var blocking = AuditRunner.FirstBlocking(results);
            if (blocking is not null)
            {
                TryDrop(s, phys, table: !isView);
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
            TryDrop(s, phys, table: !isView);
            return Materializer.Failure(name, NodeKind.Model, materialized, ex, clock.Elapsed, phys, results);
        }
    }

    /// <summary>
    /// A new incremental version starts as a copy of the prior version, then takes the delta. When the
    /// query's columns no longer match the prior version's (a query change that adds, drops or renames a
    /// column, or a cursor the prior version lacks), the prior rows do not fit: the version is built from
    /// scratch instead, with no ancestry row.
    /// </summary>
    private void ApplyIncremental(IWarehouseSession s, ModelNode model, string sql, PhysicalRelationRow prior, RelationName phys,
        PhysicalTracker tracker, string hash)
    {
        var d = s.Dialect;
        var cfg = model.Config;
        var delta = new RelationName(phys.Schema, phys.Name + "__sqb_delta");
        d.ValidateIdentifier(delta.Name, $"delta relation name of '{model.Name}'");
        s.Execute(d.CreateTableAs(phys, d.SelectAll(prior.Relation)));
        var copied = s.ReadCatalog(new[] { phys.Schema }, includeColumns: true).ColumnsOf(phys).Select(c => c.Name).ToList();
        if (cfg.Cursor is not null && !copied.Contains(cfg.Cursor, StringComparer.OrdinalIgnoreCase))
        {
            RebuildFromScratch(s, model, sql, phys, $"the prior version has no cursor column '{cfg.Cursor}'");
            return;
        }
        s.Execute(d.DropTableIfExists(delta));
        s.Execute(d.CreateTableAs(delta, cfg.Cursor is null ? sql : d.IncrementalDelta(sql, cfg.Cursor, phys)));
        try
        {
            var columns = s.ColumnsOf(delta).Select(c => c.Name).ToList();
            if (!columns.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(copied))
            {
                RebuildFromScratch(s, model, sql, phys, "the query's columns differ from the prior version's");
                return;
            }
            using (var tx = s.BeginTransaction())
            {
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
            tracker.TrackAncestry(model.Name, hash, prior.VersionHash, "copy");
        }
        finally { TryDrop(s, delta, table: true); }
    }

    private void RebuildFromScratch(IWarehouseSession s, ModelNode model, string sql, RelationName phys, string why)
    {
        _log.Verbose($"{model.Name}: not seeding {phys} from the prior version ({why}); building it from scratch");
        s.Execute(s.Dialect.DropTableIfExists(phys));
        s.Execute(s.Dialect.CreateTableAs(phys, sql));
    }

    /// <summary>Tracks an existing, untracked relation of the wanted version after running the model's audits on it.
    /// A blocking audit fails the node and leaves the relation alone (views may still read it).</summary>
    private SqbNodeResult TakeOver(IWarehouseSession s, VirtualAnalysis a, string name, CatalogRelation existing, AuditRunner audits,
        PhysicalTracker tracker, Stopwatch clock)
    {
        var phys = existing.Relation;
        var isView = existing.Kind == RelationKind.View;
        _log.Verbose($"{name}: taking over untracked physical relation {phys}");
        IReadOnlyList<SqbAuditResult> results = Array.Empty<SqbAuditResult>();
        long? rows = null;
        try
        {
            if (!isView) rows = Convert.ToInt64(s.ExecuteScalar(s.Dialect.CountRows(phys)) ?? 0L);
            if (Project.Seeds.TryGetValue(name, out var seed))
            {
                tracker.TrackSeed(seed, a.Identities[name].VersionHash, phys);
                return new SqbNodeResult { Name = name, NodeType = "seed", Status = SqbNodeStatus.Succeeded, Relation = phys.ToString(),
                    Duration = clock.Elapsed, Rows = rows, Action = "build" };
            }
            var model = Project.Models[name];
            var materialized = EnumNames.Snake(model.Config.Materialized);
            results = audits.Run(s, model, phys);
            var blocking = AuditRunner.FirstBlocking(results);
            if (blocking is not null)
                return new SqbNodeResult
                {
                    Name = name, NodeType = "model", Materialized = materialized, Status = SqbNodeStatus.Failed, Relation = phys.ToString(),
                    Duration = clock.Elapsed, Audits = results, Action = "build", Rows = rows,
                    Error = blocking.Message + "; the ref was not moved", ErrorCode = "B002.AuditFailed",
                };
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
            return Materializer.Failure(name, Project.Seeds.ContainsKey(name) ? NodeKind.Seed : NodeKind.Model,
                Project.Models.TryGetValue(name, out var m) ? EnumNames.Snake(m.Config.Materialized) : null, ex, clock.Elapsed, phys, results);
        }
    }

    private void TryDrop(IWarehouseSession s, RelationName r, bool table)
    {
        try { s.Execute(table ? s.Dialect.DropTableIfExists(r) : s.Dialect.DropViewIfExists(r)); }
        catch (Exception ex) { _log.Warning($"could not drop '{r}': {Redaction.Redact(ex.Message)}"); }
    }

    /// <summary>Records built versions in state as soon as each succeeds, so a physical relation is never left
    /// untracked for the janitor. Workers record in parallel, each on a state session of its own (taken from
    /// a pool), not one after another on a shared one.</summary>
    private sealed class PhysicalTracker : IDisposable
    {
        private readonly StateStore _store;
        private readonly ConcurrentBag<IWarehouseSession> _sessions = new();

        public PhysicalTracker(StateStore store) => _store = store;

        private void Record(Action<StateRepository> write)
        {
            if (!_sessions.TryTake(out var session)) session = _store.OpenStateSession();
            try { write(new StateRepository(session, _store.Sql)); }
            finally { _sessions.Add(session); }
        }

        public void TrackModel(ModelNode model, NodeIdentity id, RelationName phys, string relationType) => Record(repo =>
        {
            repo.InsertModelVersion(new ModelVersionRow(model.Name, id.VersionHash, id.LocalHash,
                IdentityCalculator.NormalizeSql(model.Sql), id.MetadataJson, "ready"));
            repo.InsertPhysicalRelation(new PhysicalRelationRow(NodeTypes.Model, model.Name, id.VersionHash, null, phys.Schema, phys.Name, relationType));
        });

        public void TrackSeed(SeedNode seed, string hash, RelationName phys) => Record(repo =>
        {
            repo.InsertSeedVersion(seed.Name, hash, seed.ContentHash);
            repo.InsertPhysicalRelation(new PhysicalRelationRow(NodeTypes.Seed, seed.Name, hash, null, phys.Schema, phys.Name, "table"));
        });

        public void TrackAncestry(string model, string hash, string parent, string strategy) =>
            Record(repo => repo.InsertAncestry(model, hash, parent, strategy));

        public void Dispose()
        {
            while (_sessions.TryTake(out var session)) session.Dispose();
        }
    }
}

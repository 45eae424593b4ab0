using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Audits;
using SQLBuild.Core.Build.Execution;
using SQLBuild.Core.Build.Strategies;
using SQLBuild.Core.Operations;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.Core.State;

namespace SQLBuild.Core.Build.Virtual;

/// <summary>
/// Virtual mode (SPEC §4.2): builds the stale nodes of a VDE into immutable, versioned physical
/// relations, runs audits and tests on them before any ref moves, then switches refs and views
/// (and writes a checkpoint on reaching finalized) through <see cref="EnvironmentSwitch"/>.
/// Unchanged and shared versions are reused, never rewritten.
/// </summary>
internal sealed class VirtualBuild : EnvironmentOperation
{
    private CompiledProject Project => Store.Project;

    public VirtualBuild(StateStore store, ISqbLog log) : base(store, log) { }

    private VirtualPlan ReadPlan(BuildOptions options)
    {
        using var state = Store.OpenStateSession();
        if (Store.SharesWarehouse) return VirtualPlan.Read(Store, Names, options, state, state);
        using var warehouse = Store.OpenWarehouseSession();
        return VirtualPlan.Read(Store, Names, options, state, warehouse);
    }

    private string? MaterializedName(string node) =>
        Project.Models.TryGetValue(node, out var model) ? EnumNames.Snake(model.Config.Materialized) : null;

    public SqbPlan Plan(BuildOptions options)
    {
        var plan = ReadPlan(options);
        var status = plan.Row is null ? "new" : EnvironmentStatus.Display(plan.Row.Status);
        var steps = new List<SqbPlanStep>();
        var order = 0;
        // One step per node of the selection, as the default plan: a changes-only build leaves out what is not due,
        // and the plan shows those nodes as unchanged instead of not at all (an empty plan is never a silent one).
        var inPlan = plan.Selected.ToHashSet(StringComparer.Ordinal);
        var chosen = new HashSet<string>(Selector.Resolve(Project, options.Select, options.Exclude), StringComparer.Ordinal);
        foreach (var name in Project.TopologicalOrder.Where(n => inPlan.Contains(n) || chosen.Contains(n)))
        {
            var key = NodeKey.Of(Project, name);
            plan.StartRefs.TryGetValue(key, out var bound);
            var expected = plan.Identities[name].VersionHash;
            string? diff = null;
            if (Project.Models.TryGetValue(name, out var model) && bound is not null && plan.BoundVersions.TryGetValue((name, bound), out var version)
                && IdentityCalculator.NormalizeSql(version.CompiledSql) != IdentityCalculator.NormalizeSql(model.Sql))
                diff = TextDiff.Unified(IdentityCalculator.NormalizeSql(version.CompiledSql), IdentityCalculator.NormalizeSql(model.Sql));
            steps.Add(new SqbPlanStep
            {
                Target = Store.TargetName, Environment = plan.Environment, Order = ++order, Name = name, NodeType = key.NodeType,
                Materialized = MaterializedName(name),
                Action = (plan.Actions.TryGetValue(name, out var action) ? action : VirtualAction.Unchanged).ToString().ToLowerInvariant(),
                Relation = Names.Physical(name, expected).ToString(),
                Reason = plan.Reasons.GetValueOrDefault(name),
                DependsOn = Project.Parents.TryGetValue(name, out var parents) ? parents : Array.Empty<string>(),
                BoundVersion = bound, ExpectedVersion = expected, EnvironmentStatus = status, QueryDiff = diff,
            });
        }
        return new SqbPlan { Project = Project.Config.Name, Target = Store.TargetName, Environment = plan.Environment, Mode = "virtual", Steps = steps };
    }

    public SqbBuildResult Build(BuildOptions options)
    {
        var clock = Stopwatch.StartNew();
        var environment = options.Environment ?? Store.TargetName;
        Names.ValidateEnvironment(environment);

        // Read-only first (it also refuses an uninitialized store with E002, before any journal write): a
        // build that would change nothing (every selected version unchanged and present, refs and status as
        // they are) returns without a lock, a journal row or a write.
        var preview = ReadPlan(options);
        if (IsNoOp(preview))
        {
            Log.Verbose($"{environment}: every selected node is unchanged; nothing to build");
            return new SqbBuildResult
            {
                Project = Project.Config.Name, Target = Store.TargetName, Environment = environment, Mode = "virtual",
                Status = "succeeded", Duration = clock.Elapsed, EnvironmentStatus = preview.Row!.Status,
                Nodes = preview.Selected.Select(n => NodeOutcome.Kept(n, NodeKey.Of(Project, n).NodeType, MaterializedName(n),
                    Names.Physical(n, preview.Identities[n].VersionHash), "unchanged")).ToList(),
            };
        }

        var summary = "";
        return RunJournaled(new JournaledRun("build", environment, LockManager.EnvironmentKey(environment), $"build {environment}"), run =>
        {
            var plan = ReadPlan(options);
            run.Step(KillPoints.Build.Plan, $"{plan.Selected.Count} selected: " +
                string.Join(", ", plan.Actions.Values.GroupBy(a => a).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}")));
            var results = BuildVersions(plan, run, options);

            // Refs move only for nodes that succeeded (built, reused, refreshed, audited or unchanged), with the audit
            // signature their version passed. A node that failed (its audits, or its refresh) or was skipped in a new
            // environment stays unbound there (its ref is not copied from the baseline): the environment stays working
            // and is not finalized, so it cannot be promoted whole past the failure.
            var final = new Dictionary<NodeKey, string>(plan.StartRefs.Where(r =>
                r.Key.NodeType == NodeTypes.Seed ? Project.Seeds.ContainsKey(r.Key.NodeName) : Project.Models.ContainsKey(r.Key.NodeName)));
            var audits = new Dictionary<NodeKey, string?>();
            foreach (var name in plan.Selected)
            {
                var key = NodeKey.Of(Project, name);
                if (results[name].Status is SqbNodeStatus.Succeeded or SqbNodeStatus.Warned)
                {
                    final[key] = plan.Identities[name].VersionHash;
                    if (plan.AuditSignatures.TryGetValue(name, out var signature) && plan.Actions[name] != VirtualAction.Unchanged) audits[key] = signature;
                }
                else if (plan.StartsFromBaseline && plan.StartRefs.GetValueOrDefault(key) == plan.Identities[name].VersionHash)
                    final.Remove(key);
            }
            // A ref kept from the start (a pointer copy from the baseline, or a node not built) keeps what its version passed.
            foreach (var (key, hash) in final)
                if (!audits.ContainsKey(key) && plan.StartRefs.GetValueOrDefault(key) == hash && plan.StartAudits.TryGetValue(key, out var passed))
                    audits[key] = passed;
            var finalized = Project.TopologicalOrder.All(n =>
                final.TryGetValue(NodeKey.Of(Project, n), out var hash) && hash == plan.Identities[n].VersionHash);
            var status = finalized ? EnvironmentStatus.Finalized : EnvironmentStatus.Active;

            // A stopped build switches nothing: the step stops here (and the switch would not commit after a stop).
            run.Step(KillPoints.Build.Switch, $"moving refs of {environment} to {status}");
            var switched = new EnvironmentSwitch(Store, Names, Log).Apply(environment, final, status, plan.Baseline, run, KillPoints.Build.Switch,
                audits: audits);
            var nodes = plan.Selected.Select(n => results[n]).Concat(results.Values.Where(r => r.NodeType == "test")).ToList();
            var failed = nodes.Any(n => n.Status is SqbNodeStatus.Failed or SqbNodeStatus.Skipped);
            int Done(string action) => nodes.Count(n => n.Action == action && n.Status != SqbNodeStatus.Failed);
            summary = $"built {Done("build")}, refreshed {Done("refresh")}, audited {Done("audit")} of {plan.Selected.Count} selected; " +
                      $"{switched.Changes.Count} ref change(s); status {status}";
            return new SqbBuildResult
            {
                Project = Project.Config.Name, Target = Store.TargetName, Environment = environment, Mode = "virtual",
                Status = failed ? "failed" : "succeeded", Nodes = nodes, Duration = clock.Elapsed,
                EnvironmentStatus = status, CheckpointId = switched.CheckpointId, OperationId = run.Id,
            };
        }, _ => summary, result => result.Status == "failed");
    }

    /// <summary>Nothing to do: the VDE exists with its own refs, every selected node is unchanged, and the
    /// status would not move (a finalized VDE stays finalized; an active one stays active only if some
    /// unselected node is still stale).</summary>
    private bool IsNoOp(VirtualPlan plan)
    {
        if (plan.Row is null || plan.OwnRefs.Count == 0 || plan.Actions.Values.Any(x => x != VirtualAction.Unchanged)) return false;
        var projectKeys = Project.TopologicalOrder.Select(n => NodeKey.Of(Project, n)).ToHashSet();
        if (plan.OwnRefs.Keys.Any(k => !projectKeys.Contains(k))) return false;   // refs of removed nodes would be dropped
        var finalized = Project.TopologicalOrder.All(n => plan.StaleReasons[n] is null);
        return finalized ? plan.Row.Status == EnvironmentStatus.Finalized : plan.Row.Status == EnvironmentStatus.Active;
    }

    /// <summary>Builds every selected node whose version has no physical relation yet, in DAG order with N workers,
    /// then runs the data tests that read them.</summary>
    private Dictionary<string, SqbNodeResult> BuildVersions(VirtualPlan plan, OperationContext run, BuildOptions options)
    {
        var bound = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, hash) in plan.StartRefs) bound[key.NodeName] = hash;
        foreach (var node in plan.Selected) bound[node] = plan.Identities[node].VersionHash;
        RelationName PhysicalOf(string node) => bound.TryGetValue(node, out var hash)
            ? Names.Physical(node, hash)
            : throw new SqbException(ErrorCodes.StaleUpstreams, "StaleUpstreams", $"'{node}' has no version in virtual environment '{plan.Environment}'",
                SqbErrorKind.InvalidOperation, node, $"Invoke-SqbBuild -Environment {plan.Environment} -Select {node}");
        string Render(string sql, IReadOnlyList<Reference> references) =>
            ReferenceResolution.Render(Project, Store.Warehouse.Dialect, sql, references, PhysicalOf);

        var results = new Dictionary<string, SqbNodeResult>(StringComparer.Ordinal);
        foreach (var node in plan.Selected.Where(n => plan.Actions[n] is VirtualAction.Unchanged or VirtualAction.Reuse))
            results[node] = NodeOutcome.Kept(node, NodeKey.Of(Project, node).NodeType, MaterializedName(node),
                Names.Physical(node, plan.Identities[node].VersionHash), plan.Actions[node].ToString().ToLowerInvariant());

        // The work: new versions, refreshes and audits in DAG order; then the data tests that read what changed.
        var work = plan.Selected.Where(n => plan.Actions[n] is VirtualAction.Build or VirtualAction.Refresh or VirtualAction.Audit).ToList();
        var tests = Project.Tests.Values.Where(t => TestGate.ReadsBuilt(t, work).Any()).ToList();
        if (work.Count == 0 && tests.Count == 0) return results;

        if (work.Any(n => plan.Actions[n] == VirtualAction.Build))
            using (var session = Store.OpenWarehouseSession())
                CreateSchemaAlongsideOthers(session, Names.PhysicalSchema);
        var audits = new AuditRunner(Project, PhysicalOf, Render);
        using var tracker = new VersionTracker(Store);
        var inWork = work.ToHashSet(StringComparer.Ordinal);
        var steps = work.Select(node => new BuildStep(node, node, Project.Seeds.ContainsKey(node) ? NodeKind.Seed : NodeKind.Model,
            MaterializedName(node), BuildDependencies(node, inWork),
            session => plan.Actions[node] switch
            {
                VirtualAction.Build => BuildVersion(session, plan, node, Render, audits, tracker, run.Cancellation),
                VirtualAction.Refresh => RefreshVersion(session, plan, node, Render, audits, tracker, run.Cancellation),
                _ => AuditVersion(session, plan, node, audits),
            }, InWave: IsPlainNewView(plan, node))).ToList();
        steps.AddRange(tests.Select(test => new BuildStep("test:" + test.Name, test.Name, NodeKind.Test, null, TestGate.ReadsBuilt(test, work).ToList(),
            session => DataTestRunner.Run(session, test, () => Render(test.Sql, test.References)))));
        Log.Section($"Building {work.Count} physical version(s) for {plan.Environment}");
        // Each worker's session is dedicated: a version's latch lives on the session that runs its DDL.
        foreach (var (key, result) in new BuildExecutor(() => Store.OpenWarehouseSession(dedicated: true), Log)
                     .Run(steps, options.Concurrency ?? Project.Config.Settings.Concurrency, $"Building {plan.Environment}", run.Cancellation,
                         (session, wave) => BuildViewWave(session, plan, wave.Select(w => w.Name).ToList(), Render, audits, tracker, run.Cancellation)))
            results[key] = result;
        run.Cancellation.ThrowIfCancellationRequested();

        TestGate.Apply(Project, plan.Selected, work, tests, results);
        int Done(string action) => results.Values.Count(r => r.Action == action && r.Status != SqbNodeStatus.Failed);
        run.Step(KillPoints.Build.Physical, $"built {Done("build")}, refreshed {Done("refresh")}, audited {Done("audit")} version(s)");
        return results;
    }

    /// <summary>
    /// CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent creator: two first builds (of two VDEs) creating
    /// the physical schema at once fail with a duplicate pg_namespace key (PostgreSQL) or a catalog write-write
    /// conflict (DuckDB). Such a failure is retried; once the other creator committed, IF NOT EXISTS is a no-op.
    /// </summary>
    private static void CreateSchemaAlongsideOthers(IWarehouseSession session, string schema)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                session.Execute(session.Dialect.CreateSchemaIfNotExists(schema));
                return;
            }
            catch (SqbException e) when (attempt < 5 && WarehouseErrors.Classify(e) is WarehouseErrorClass.UniqueViolation
                                             or WarehouseErrorClass.ObjectExists or WarehouseErrorClass.Busy)
            {
                Thread.Sleep(50 * attempt);
            }
        }
    }

    /// <summary>The nodes of this build's work that must be done before <paramref name="name"/>: its parents, and the model a
    /// relationships audit of it reads (not a parent, but the audit runs against that model's version).</summary>
    private List<string> BuildDependencies(string name, IReadOnlySet<string> work)
    {
        var dependsOn = Project.Parents.TryGetValue(name, out var parents) ? parents.Where(work.Contains).ToList() : new List<string>();
        if (Project.Models.TryGetValue(name, out var model))
            dependsOn.AddRange(model.Config.Audits.Select(a => a.ToModel).OfType<string>()
                .Where(m => m != name && work.Contains(m) && !dependsOn.Contains(m)).Distinct());
        return dependsOn;
    }

    /// <summary>A new view version with nothing to check or run beside its DDL (no audits, no enforced contract, no hooks), whose
    /// name is free and untracked: such versions are built per wave (<see cref="BuildViewWave"/>).</summary>
    private bool IsPlainNewView(VirtualPlan plan, string name)
    {
        if (plan.Actions[name] != VirtualAction.Build || !Project.Models.TryGetValue(name, out var model)) return false;
        var config = model.Config;
        if (config.Materialized != Materialization.View || config.Audits.Count > 0 || config.Contract == ContractMode.Enforced
            || config.PreHooks.Count > 0 || config.PostHooks.Count > 0) return false;
        var hash = plan.Identities[name].VersionHash;
        return plan.PhysicalCatalog.Find(Names.Physical(name, hash)) is null && !plan.Physical.ContainsKey((NodeKey.Model(name), hash));
    }

    /// <summary>
    /// Builds a wave of new view versions (<see cref="IsPlainNewView"/>) set-based: their latches in one statement, one read of
    /// which another build made meanwhile (those are reused), then ONE transaction that creates every view and records every
    /// version (one batch: the views' DDL and one multi-row statement per state table), so each version exists exactly when
    /// it is recorded, as when built alone. A version whose latch another build holds, and every version of a wave whose
    /// transaction failed (one view's SQL, say; nothing of the wave was made), is built alone (<see cref="BuildVersion"/>),
    /// so each node gets its own outcome.
    /// </summary>
    private IReadOnlyDictionary<string, SqbNodeResult> BuildViewWave(IWarehouseSession session, VirtualPlan plan, IReadOnlyList<string> names,
        Func<string, IReadOnlyList<Reference>, string> render, AuditRunner audits, VersionTracker tracker, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var results = new Dictionary<string, SqbNodeResult>(StringComparer.Ordinal);
        var alone = new List<string>();
        string Hash(string n) => plan.Identities[n].VersionHash;
        RelationName PhysicalOf(string n) => Names.Physical(n, Hash(n));
        string LatchKey(string n) => $"physical:{PhysicalOf(n)}";
        using (var latches = VersionLatch.TryAcquireWave(session, Store, names.Select(LatchKey).ToList()))
        {
            var mine = names.Where(n => latches.Taken.Contains(LatchKey(n))).ToList();
            alone.AddRange(names.Where(n => !latches.Taken.Contains(LatchKey(n))));
            var meanwhile = mine.Count == 0 ? new HashSet<(NodeKey Key, string Hash)>()
                : tracker.Read(session, repo => repo.Tracked(mine.Select(n => (NodeKey.Model(n), Hash(n))).ToList()));
            var build = new List<string>();
            foreach (var n in mine)
            {
                if (!meanwhile.Contains((NodeKey.Model(n), Hash(n)))) { build.Add(n); continue; }
                Log.Verbose($"{PhysicalOf(n)} was built by another build meanwhile; reusing it");
                results[n] = NodeOutcome.Kept(n, NodeTypes.Model, MaterializedName(n), PhysicalOf(n), "reuse");
            }
            if (build.Count > 0)
            {
                try
                {
                    var ddl = build.Select(n => session.Dialect.CreateOrReplaceView(PhysicalOf(n), render(Project.Models[n].Sql, Project.Models[n].References))).ToList();
                    using var tx = session.BeginTransaction();
                    tracker.CreateAndTrackViews(session, ddl, build.Select(n => (Project.Models[n], plan.Identities[n], PhysicalOf(n))).ToList());
                    tx.Commit();
                    foreach (var n in build)
                        results[n] = NodeOutcome.Materialized(n, NodeKind.Model, MaterializedName(n), PhysicalOf(n),
                            new MaterializeOutcome("build", null, Array.Empty<SqbAuditResult>()), clock.Elapsed, "");
                }
                catch (Exception ex) when (!cancel.IsCancellationRequested)
                {
                    Log.Verbose($"a wave of {build.Count} view version(s) did not commit ({Redaction.Redact(ex.Message)}); building each alone");
                    alone.AddRange(build);
                }
            }
        }
        foreach (var n in alone) results[n] = BuildVersion(session, plan, n, render, audits, tracker, cancel);
        return results;
    }

    /// <summary>
    /// Builds one new version under a latch on its physical name, so two builds that need the same new version at
    /// once (two VDEs, or two processes) build it once: the second waits for the latch, then finds the version tracked
    /// and reuses it. Without the latch the second build dropped the first's freshly built relation, failing its
    /// audits or views (a version is never rewritten).
    /// </summary>
    private SqbNodeResult BuildVersion(IWarehouseSession session, VirtualPlan plan, string name, Func<string, IReadOnlyList<Reference>, string> render,
        AuditRunner audits, VersionTracker tracker, CancellationToken cancel)
    {
        var key = NodeKey.Of(Project, name);
        var identity = plan.Identities[name];
        var physical = Names.Physical(name, identity.VersionHash);
        using var latch = VersionLatch.Acquire(session, Store, $"physical:{physical}", Log, cancel);
        if (BuiltMeanwhile(session, plan, key, identity.VersionHash, physical, tracker))
        {
            Log.Verbose($"{physical} was built by another build meanwhile; reusing it");
            return NodeOutcome.Kept(name, key.NodeType, MaterializedName(name), physical, "reuse");
        }
        var clock = Stopwatch.StartNew();
        var kind = key.NodeType == NodeTypes.Seed ? NodeKind.Seed : NodeKind.Model;
        // A relation at the version's name that state does not record (the state was reset or restored from an older
        // backup, or a separate state store missed the record): versions take their name only once complete, so it
        // is this version, finished, but its rows are as old as that build. It is taken over, never dropped (views may
        // read it): a view or seed audited and recorded, a table or incremental refreshed first (recorded in the
        // refresh's transaction), so the build's rows are today's.
        if (plan.PhysicalCatalog.Find(physical) is { } untracked)
            return TakeOver(session, name, kind, identity, untracked, render, audits, tracker, clock);

        Project.Models.TryGetValue(name, out var model);
        try
        {
            var request = new MaterializeRequest
            {
                Session = session, Target = physical, Model = model,
                Seed = model is null ? Project.Seeds[name] : null,
                Sql = model is null ? "" : render(model.Sql, model.References),
                Audits = audits, Prior = model is null ? null : PriorVersion(plan, model, identity.VersionHash), Log = Log,
                Complete = (building, seededFromPrior) => model is null
                    ? tracker.SeedRecords(building, Project.Seeds[name], identity.VersionHash, physical)
                    : tracker.ModelRecords(building, model, identity, physical, model.Config.Materialized == Materialization.View ? "view" : "table")
                        .Concat(seededFromPrior ? tracker.AncestryRecords(building, name, identity.VersionHash, plan.StartRefs[key], "copy") : Array.Empty<SqlStatement>())
                        .ToList(),
            };
            var outcome = (model is null ? MaterializationStrategy.Seed : MaterializationStrategy.For(model)).CreateVersion(request);
            return NodeOutcome.Materialized(name, kind, MaterializedName(name), physical, outcome, clock.Elapsed, "; the ref was not moved");
        }
        catch (Exception ex)
        {
            return NodeOutcome.Failure(name, kind, MaterializedName(name), ex, clock.Elapsed, physical);
        }
    }

    /// <summary>
    /// Re-runs a table or incremental model into its existing version (SPEC 4.2, refresh): a table into a staging
    /// relation, audited, then swapped into the version's name; an incremental's delta applied to it; either in one
    /// transaction that also records the refresh. A failing error audit leaves the version's data as it was. Under the
    /// version's latch, so two environments sharing the version never refresh it at once (the second waits, then
    /// refreshes it again from the same sources).
    /// </summary>
    private SqbNodeResult RefreshVersion(IWarehouseSession session, VirtualPlan plan, string name, Func<string, IReadOnlyList<Reference>, string> render,
        AuditRunner audits, VersionTracker tracker, CancellationToken cancel)
    {
        var model = Project.Models[name];
        var key = NodeKey.Model(name);
        var hash = plan.Identities[name].VersionHash;
        var physical = Names.Physical(name, hash);
        var clock = Stopwatch.StartNew();
        using var latch = VersionLatch.Acquire(session, Store, $"physical:{physical}", Log, cancel);
        try
        {
            var request = new MaterializeRequest
            {
                Session = session, Target = physical, Existing = plan.PhysicalCatalog.Find(physical), Model = model,
                Sql = render(model.Sql, model.References), Audits = audits, KeepShape = true, Log = Log,
                Complete = (refreshing, _) => tracker.RefreshRecords(refreshing, key, hash),
            };
            var outcome = MaterializationStrategy.For(model).Replace(request) with { Action = "refresh" };
            return NodeOutcome.Materialized(name, NodeKind.Model, MaterializedName(name), physical, outcome, clock.Elapsed,
                "; the version keeps its data and the ref was not moved");
        }
        catch (Exception ex)
        {
            return NodeOutcome.Failure(name, NodeKind.Model, MaterializedName(name), ex, clock.Elapsed, physical);
        }
    }

    /// <summary>Runs a model's audits against its version without rebuilding it (its audits changed, or a reused version
    /// has not passed them yet). An error-severity failure fails the node: its ref does not move.</summary>
    private SqbNodeResult AuditVersion(IWarehouseSession session, VirtualPlan plan, string name, AuditRunner audits)
    {
        var model = Project.Models[name];
        var physical = Names.Physical(name, plan.Identities[name].VersionHash);
        var clock = Stopwatch.StartNew();
        try
        {
            var outcome = new MaterializeOutcome("audit", null, audits.Run(session, model, physical));
            return NodeOutcome.Materialized(name, NodeKind.Model, MaterializedName(name), physical, outcome, clock.Elapsed, "; the ref was not moved");
        }
        catch (Exception ex)
        {
            return NodeOutcome.Failure(name, NodeKind.Model, MaterializedName(name), ex, clock.Elapsed, physical);
        }
    }

    /// <summary>An incremental model's new version starts from the version its ref holds now, when that one exists.</summary>
    private static RelationName? PriorVersion(VirtualPlan plan, ModelNode model, string versionHash)
    {
        var key = NodeKey.Model(model.Name);
        return model.Config.Materialized == Materialization.Incremental && plan.StartRefs.TryGetValue(key, out var bound) && bound != versionHash
               && plan.Physical.TryGetValue((key, bound), out var prior) && plan.PhysicalCatalog.Exists(prior.Relation)
            ? prior.Relation
            : null;
    }

    /// <summary>Whether another build made this version while this one was planning or waiting.</summary>
    private bool BuiltMeanwhile(IWarehouseSession session, VirtualPlan plan, NodeKey key, string hash, RelationName physical, VersionTracker tracker)
    {
        // On the building session where state shares it (no state session per node).
        if (!tracker.Read(session, repo => repo.IsTracked(key, hash))) return false;
        // Tracked now but not at planning time: another build built and tracked it. Tracked then too: this build
        // is rebuilding a missing relation, and it is built meanwhile only if it is back in the warehouse.
        return !plan.Physical.ContainsKey((key, hash)) || session.ReadCatalog(new[] { physical.Schema }).Exists(physical);
    }

    /// <summary>Tracks an existing, untracked relation of the wanted version: a table or incremental model after refreshing
    /// it (staged, audited, swapped in, or its delta applied, and recorded in that transaction), a view or seed after
    /// running its audits. A blocking audit fails the node and leaves the relation as it was (views may still read it).</summary>
    private SqbNodeResult TakeOver(IWarehouseSession session, string name, NodeKind kind, NodeIdentity identity, CatalogRelation existing,
        Func<string, IReadOnlyList<Reference>, string> render, AuditRunner audits, VersionTracker tracker, Stopwatch clock)
    {
        var physical = existing.Relation;
        var isView = existing.Kind == RelationKind.View;
        Log.Verbose($"{name}: taking over untracked physical relation {physical}");
        try
        {
            if (!isView && Project.Models.TryGetValue(name, out var refreshed) && refreshed.Config.Materialized != Materialization.View)
            {
                var request = new MaterializeRequest
                {
                    Session = session, Target = physical, Existing = existing, Model = refreshed,
                    Sql = render(refreshed.Sql, refreshed.References), Audits = audits, KeepShape = true, Log = Log,
                    Complete = (taking, _) => tracker.ModelRecords(taking, refreshed, identity, physical, "table"),
                };
                var taken = MaterializationStrategy.For(refreshed).Replace(request) with { Action = "build" };
                return NodeOutcome.Materialized(name, kind, MaterializedName(name), physical, taken, clock.Elapsed,
                    "; the relation keeps its data and the ref was not moved");
            }
            long? rows = isView ? null : Convert.ToInt64(session.ExecuteScalar(session.Dialect.CountRows(physical)) ?? 0L);
            if (Project.Seeds.TryGetValue(name, out var seed))
            {
                tracker.TrackSeed(session, seed, identity.VersionHash, physical);
                return NodeOutcome.Materialized(name, kind, null, physical, new MaterializeOutcome("build", rows, Array.Empty<SqbAuditResult>()),
                    clock.Elapsed, "");
            }
            var model = Project.Models[name];
            var outcome = new MaterializeOutcome("build", rows, audits.Run(session, model, physical));
            if (!outcome.Blocked) tracker.TrackModel(session, model, identity, physical, isView ? "view" : "table");
            return NodeOutcome.Materialized(name, kind, MaterializedName(name), physical, outcome, clock.Elapsed, "; the ref was not moved");
        }
        catch (Exception ex)
        {
            return NodeOutcome.Failure(name, kind, MaterializedName(name), ex, clock.Elapsed, physical);
        }
    }
}

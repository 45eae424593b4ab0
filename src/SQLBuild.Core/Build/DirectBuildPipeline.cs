using System.Collections.Concurrent;
using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build;

/// <summary>
/// Direct mode (SPEC §3): every selected seed, model and data test is built straight into the target
/// schema, in DAG order, with <c>concurrency</c> workers. Tables and seeds go through a staging
/// relation: error audits run on it and only a passing one is swapped in, so a failing audit leaves
/// the previous table untouched. A failed node skips everything downstream of it.
/// </summary>
public sealed class DirectBuildPipeline
{
    private readonly CompiledProject _project;
    private readonly IWarehouse _warehouse;
    private readonly ISqbLog _log;

    public DirectBuildPipeline(CompiledProject project, IWarehouse warehouse, ISqbLog log)
    {
        _project = project;
        _warehouse = warehouse;
        _log = log;
    }

    private sealed record Step(string Key, string Name, NodeKind Kind, IReadOnlyList<string> DependsOn);

    /// <summary>Checks guards, selection and every relation name; nothing touches the warehouse.</summary>
    private (IReadOnlySet<string> Selected, DirectRelations Relations, List<Step> Steps) Prepare(BuildOptions options)
    {
        ModeGuards.CheckBuild(_project.Config, options);
        var selected = Selector.Resolve(_project, options.Select, options.Exclude);
        var relations = new DirectRelations(_project, selected, options.DeferTo, _warehouse.Dialect);
        var steps = new List<Step>();
        foreach (var name in _project.TopologicalOrder.Where(selected.Contains))
        {
            var kind = _project.Models.ContainsKey(name) ? NodeKind.Model : NodeKind.Seed;
            var deps = new List<string>();
            if (kind == NodeKind.Model)
            {
                if (_project.Parents.TryGetValue(name, out var ps)) deps.AddRange(ps.Where(selected.Contains));
                // A relationships audit reads its parent model: build that first when it is in the build too.
                deps.AddRange(_project.Models[name].Config.Audits
                    .Select(a => a.ToModel).OfType<string>()
                    .Where(m => m != name && selected.Contains(m) && !deps.Contains(m)));
            }
            steps.Add(new Step(name, name, kind, deps));
        }
        if (!options.NoTests)
        {
            foreach (var test in _project.Tests.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                var reads = test.References.Where(r => r.Kind != ReferenceKind.Source).Select(r => r.Name).Distinct().ToList();
                // A test runs when it reads something this build writes (or when the whole project is built).
                var wholeProject = options.Select is null or { Count: 0 };
                if (!wholeProject && !reads.Any(selected.Contains)) continue;
                steps.Add(new Step("test:" + test.Name, test.Name, NodeKind.Test, reads.Where(selected.Contains).ToList()));
            }
        }
        // Refuse a name the engine cannot hold before anything is created (never truncate).
        var d = _warehouse.Dialect;
        d.ValidateIdentifier(relations.Schema, "target schema");
        foreach (var s in steps.Where(s => s.Kind != NodeKind.Test))
        {
            var own = relations.Own(s.Name);
            d.ValidateIdentifier(own.Name, $"relation name of '{s.Name}'");
            d.ValidateIdentifier(DirectRelations.Staging(own).Name, $"staging relation name of '{s.Name}'");
            if (s.Kind == NodeKind.Model && _project.Models[s.Name].Config.Materialized == Materialization.Incremental)
                d.ValidateIdentifier(DirectRelations.Delta(own).Name, $"delta relation name of '{s.Name}'");
        }
        return (selected, relations, steps);
    }

    private CatalogSnapshot ReadCatalog(IWarehouseSession session, DirectRelations relations)
    {
        var schemas = new List<string> { relations.Schema };
        if (relations.DeferSchema is not null && relations.DeferSchema != relations.Schema) schemas.Add(relations.DeferSchema);
        return session.ReadCatalog(schemas, includeColumns: true);
    }

    /// <summary>What a build would do, read-only. A DuckDB file that does not exist yet is not created.</summary>
    public SqbPlan Plan(BuildOptions options)
    {
        var (_, relations, steps) = Prepare(options);
        CatalogSnapshot catalog;
        if (WarehouseFiles.WouldCreateDatabase(_project.Config.ActiveTarget.Connection))
            catalog = new CatalogSnapshot(Array.Empty<string>(), Array.Empty<CatalogRelation>());
        else
        {
            using var session = _warehouse.OpenSession();
            catalog = ReadCatalog(session, relations);
        }
        var planSteps = new List<SqbPlanStep>();
        var order = 0;
        foreach (var s in steps)
        {
            if (s.Kind == NodeKind.Test)
            {
                planSteps.Add(new SqbPlanStep
                {
                    Target = _project.Config.ActiveTarget.Name, Environment = relations.Schema,
                    Order = ++order, Name = s.Name, NodeType = "test", Action = "test",
                    Relation = _project.Tests[s.Name].RelativePath, DependsOn = s.DependsOn,
                });
                continue;
            }
            var own = relations.Own(s.Name);
            var existing = catalog.Find(own);
            string action, reason;
            string? materialized = null;
            if (s.Kind == NodeKind.Seed)
            {
                action = "load";
                reason = existing is null ? "seed table does not exist" : "seeds are reloaded on every build";
            }
            else
            {
                var m = _project.Models[s.Name].Config;
                materialized = EnumNames.Snake(m.Materialized);
                (action, reason) = (m.Materialized, existing?.Kind) switch
                {
                    (_, null) => ("create", "relation does not exist"),
                    (Materialization.View, RelationKind.Table) => ("replace", "a table stands where the view belongs"),
                    (Materialization.View, _) => ("replace", "views are replaced on every build"),
                    (Materialization.Table, RelationKind.View) => ("replace", "a view stands where the table belongs"),
                    (Materialization.Table, _) => ("replace", "tables are rebuilt through a staging table"),
                    (Materialization.Incremental, RelationKind.View) => ("full_refresh", "a view stands where the table belongs"),
                    (Materialization.Incremental, _) when options.FullRefresh => ("full_refresh", "-FullRefresh"),
                    _ => ("incremental", m.Cursor is null ? $"{EnumNames.Snake(m.IncrementalStrategy)} of all query rows" : $"{EnumNames.Snake(m.IncrementalStrategy)} of rows newer than max({m.Cursor})"),
                };
            }
            planSteps.Add(new SqbPlanStep
            {
                Target = _project.Config.ActiveTarget.Name, Environment = relations.Schema,
                Order = ++order, Name = s.Name, NodeType = s.Kind == NodeKind.Seed ? "seed" : "model",
                Materialized = materialized, Action = action, Relation = own.ToString(),
                Existing = existing is null ? null : EnumNames.Snake(existing.Kind), Reason = reason, DependsOn = s.DependsOn,
            });
        }
        return new SqbPlan
        {
            Project = _project.Config.Name, Target = _project.Config.ActiveTarget.Name,
            Environment = relations.Schema, Mode = "direct", Steps = planSteps,
        };
    }

    public SqbBuildResult Build(BuildOptions options, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var (_, relations, steps) = Prepare(options);
        var results = new ConcurrentDictionary<string, SqbNodeResult>(StringComparer.Ordinal);
        CatalogSnapshot catalog;
        using (var session = _warehouse.OpenSession())
        {
            session.Execute(_warehouse.Dialect.CreateSchemaIfNotExists(relations.Schema));
            catalog = ReadCatalog(session, relations);
        }
        var materializer = new Materializer(_project, relations, catalog, options, _log);
        var total = steps.Count;
        var finished = 0;
        _log.Section($"Building {total} node(s) of '{_project.Config.Name}' into {relations.Schema}");

        var sessions = new ConcurrentBag<IWarehouseSession>();
        var byKey = steps.ToDictionary(s => s.Key, StringComparer.Ordinal);
        try
        {
            var deps = steps.ToDictionary(s => s.Key, s => (IReadOnlyList<string>)s.DependsOn, StringComparer.Ordinal);
            DagScheduler.Run(steps.Select(s => s.Key).ToList(), deps,
                options.Concurrency ?? _project.Config.Settings.Concurrency,
                key =>
                {
                    var step = byKey[key];
                    if (!sessions.TryTake(out var session)) session = _warehouse.OpenSession();
                    SqbNodeResult result;
                    try
                    {
                        result = step.Kind switch
                        {
                            NodeKind.Seed => materializer.LoadSeed(session, _project.Seeds[step.Name]),
                            NodeKind.Test => materializer.RunTest(session, _project.Tests[step.Name]),
                            _ => materializer.BuildModel(session, _project.Models[step.Name]),
                        };
                    }
                    catch (Exception ex)
                    {
                        result = Materializer.Failure(step.Name, step.Kind, null, ex, TimeSpan.Zero);
                    }
                    // A session that saw a failure may be broken (or mid-transaction): never hand it to the next node.
                    if (result.Status == SqbNodeStatus.Failed) session.Dispose(); else sessions.Add(session);
                    results[key] = result;
                    var n = Interlocked.Increment(ref finished);
                    _log.Progress($"Building {_project.Config.Name}", $"{step.Name}: {result.Status.ToString().ToLowerInvariant()} ({n}/{total})", n, total);
                    if (result.Status == SqbNodeStatus.Failed) _log.Warning($"{Materializer.KindName(step.Kind)} '{step.Name}' failed: {result.Error}");
                    return result.Status != SqbNodeStatus.Failed;
                },
                (key, because) =>
                {
                    var step = byKey[key];
                    results[key] = new SqbNodeResult
                    {
                        Name = step.Name, NodeType = Materializer.KindName(step.Kind), Status = SqbNodeStatus.Skipped,
                        Materialized = step.Kind == NodeKind.Model ? EnumNames.Snake(_project.Models[step.Name].Config.Materialized) : null,
                        SkippedBecause = because,
                        Error = because is null ? "build was stopped before this node ran" : $"upstream '{because}' did not succeed",
                    };
                    Interlocked.Increment(ref finished);
                },
                cancel);
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
            _log.Progress($"Building {_project.Config.Name}", "done", total, total);
        }
        var nodes = steps.Select(s => results[s.Key]).ToList();
        return new SqbBuildResult
        {
            Project = _project.Config.Name, Target = _project.Config.ActiveTarget.Name, Environment = relations.Schema,
            Mode = "direct", Nodes = nodes, Duration = clock.Elapsed,
            Status = nodes.Any(n => n.Status is SqbNodeStatus.Failed or SqbNodeStatus.Skipped) ? "failed" : "succeeded",
        };
    }

}

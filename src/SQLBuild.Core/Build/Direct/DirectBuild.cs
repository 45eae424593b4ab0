using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Audits;
using SQLBuild.Core.Build.Execution;
using SQLBuild.Core.Build.Strategies;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Direct;

/// <summary>
/// Direct mode (SPEC §3): every selected seed, model and data test is built straight into the target
/// schema, in DAG order, with <c>concurrency</c> workers. Tables and seeds go through a staging
/// relation: error audits run on it and only a passing one is swapped in, so a failing audit leaves
/// the previous table untouched. A failed node skips everything downstream of it.
/// </summary>
internal sealed class DirectBuild
{
    private readonly CompiledProject _project;
    private readonly IWarehouse _warehouse;
    private readonly ISqbLog _log;

    public DirectBuild(CompiledProject project, IWarehouse warehouse, ISqbLog log)
    {
        _project = project;
        _warehouse = warehouse;
        _log = log;
    }

    private sealed record Step(string Key, string Name, NodeKind Kind, IReadOnlyList<string> DependsOn);

    /// <summary>Checks selection and every relation name; nothing touches the warehouse.</summary>
    private (DirectRelations Relations, List<Step> Steps) Prepare(BuildOptions options)
    {
        var selected = Selector.Resolve(_project, options.Select, options.Exclude);
        var relations = new DirectRelations(_project, selected, options.DeferTo, _warehouse.Dialect);
        var steps = new List<Step>();
        foreach (var name in _project.TopologicalOrder.Where(selected.Contains))
        {
            var kind = _project.Models.ContainsKey(name) ? NodeKind.Model : NodeKind.Seed;
            var dependsOn = new List<string>();
            if (kind == NodeKind.Model)
            {
                if (_project.Parents.TryGetValue(name, out var parents)) dependsOn.AddRange(parents.Where(selected.Contains));
                // A relationships audit reads its parent model: build that first when it is in the build too.
                dependsOn.AddRange(_project.Models[name].Config.Audits
                    .Select(a => a.ToModel).OfType<string>()
                    .Where(m => m != name && selected.Contains(m) && !dependsOn.Contains(m)));
            }
            steps.Add(new Step(name, name, kind, dependsOn));
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
        var dialect = _warehouse.Dialect;
        dialect.ValidateIdentifier(relations.Schema, "target schema");
        foreach (var step in steps.Where(s => s.Kind != NodeKind.Test))
        {
            var own = relations.Own(step.Name);
            dialect.ValidateIdentifier(own.Name, $"relation name of '{step.Name}'");
            dialect.ValidateIdentifier(StagingNames.Staging(own).Name, $"staging relation name of '{step.Name}'");
            if (step.Kind == NodeKind.Model && _project.Models[step.Name].Config.Materialized == Materialization.Incremental)
                dialect.ValidateIdentifier(StagingNames.Delta(own).Name, $"delta relation name of '{step.Name}'");
        }
        return (relations, steps);
    }

    private static CatalogSnapshot ReadCatalog(IWarehouseSession session, DirectRelations relations)
    {
        var schemas = new List<string> { relations.Schema };
        if (relations.DeferSchema is not null && relations.DeferSchema != relations.Schema) schemas.Add(relations.DeferSchema);
        return session.ReadCatalog(schemas, includeColumns: true);
    }

    /// <summary>What a build would do, read-only. A DuckDB file that does not exist yet is not created.</summary>
    public SqbPlan Plan(BuildOptions options)
    {
        var (relations, steps) = Prepare(options);
        CatalogSnapshot catalog;
        if (WarehouseFiles.WouldCreateDatabase(_project.Config.ActiveTarget.Connection))
            catalog = new CatalogSnapshot(Array.Empty<string>(), Array.Empty<CatalogRelation>());
        else
        {
            using var session = _warehouse.OpenSession();
            catalog = ReadCatalog(session, relations);
        }
        var target = _project.Config.ActiveTarget.Name;
        var planSteps = new List<SqbPlanStep>();
        var order = 0;
        foreach (var step in steps)
        {
            if (step.Kind == NodeKind.Test)
            {
                planSteps.Add(new SqbPlanStep
                {
                    Target = target, Environment = relations.Schema, Order = ++order, Name = step.Name, NodeType = "test", Action = "test",
                    Relation = _project.Tests[step.Name].RelativePath, DependsOn = step.DependsOn,
                });
                continue;
            }
            var own = relations.Own(step.Name);
            var existing = catalog.Find(own);
            string action, reason;
            string? materialized = null;
            if (step.Kind == NodeKind.Seed)
            {
                action = "load";
                reason = existing is null ? "seed table does not exist" : "seeds are reloaded on every build";
            }
            else
            {
                var config = _project.Models[step.Name].Config;
                materialized = EnumNames.Snake(config.Materialized);
                (action, reason) = (config.Materialized, existing?.Kind) switch
                {
                    (_, null) => ("create", "relation does not exist"),
                    (Materialization.View, RelationKind.Table) => ("replace", "a table stands where the view belongs"),
                    (Materialization.View, _) => ("replace", "views are replaced on every build"),
                    (Materialization.Table, RelationKind.View) => ("replace", "a view stands where the table belongs"),
                    (Materialization.Table, _) => ("replace", "tables are rebuilt through a staging table"),
                    (Materialization.Incremental, RelationKind.View) => ("full_refresh", "a view stands where the table belongs"),
                    (Materialization.Incremental, _) when config.FullRefresh == true => ("full_refresh", "full_refresh true"),
                    (Materialization.Incremental, _) when options.FullRefresh && config.FullRefresh is null => ("full_refresh", "-FullRefresh"),
                    _ => ("incremental", config.Cursor is null
                        ? $"{EnumNames.Snake(config.IncrementalStrategy)} of all query rows"
                        : $"{EnumNames.Snake(config.IncrementalStrategy)} of rows newer than max({config.Cursor})"),
                };
            }
            planSteps.Add(new SqbPlanStep
            {
                Target = target, Environment = relations.Schema, Order = ++order, Name = step.Name,
                NodeType = NodeOutcome.TypeName(step.Kind), Materialized = materialized, Action = action, Relation = own.ToString(),
                Existing = existing is null ? null : EnumNames.Snake(existing.Kind), Reason = reason, DependsOn = step.DependsOn,
            });
        }
        return new SqbPlan { Project = _project.Config.Name, Target = target, Environment = relations.Schema, Mode = "direct", Steps = planSteps };
    }

    public SqbBuildResult Build(BuildOptions options, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var (relations, steps) = Prepare(options);
        CatalogSnapshot catalog;
        using (var session = _warehouse.OpenSession())
        {
            session.Execute(_warehouse.Dialect.CreateSchemaIfNotExists(relations.Schema));
            catalog = ReadCatalog(session, relations);
        }
        var audits = options.NoAudits ? null : new AuditRunner(_project, relations.Read, relations.Render);
        _log.Section($"Building {steps.Count} node(s) of '{_project.Config.Name}' into {relations.Schema}");
        // Direct builds have no journal row, but their sessions still name one operation, and stop with the cmdlet.
        var sessions = new SessionOptions { OperationId = State.Ids.NewOperationId("build"), Cancellation = cancel };
        var results = new BuildExecutor(() => _warehouse.OpenSession(sessions), _log).Run(
            steps.Select(step => new BuildStep(step.Key, step.Name, step.Kind, MaterializedName(step), step.DependsOn,
                session => step.Kind == NodeKind.Test
                    ? DataTestRunner.Run(session, _project.Tests[step.Name], () => relations.Render(_project.Tests[step.Name].Sql, _project.Tests[step.Name].References))
                    : Materialize(session, step, relations, catalog, audits, options))).ToList(),
            options.Concurrency ?? _project.Config.Settings.Concurrency, $"Building {_project.Config.Name}", cancel);
        cancel.ThrowIfCancellationRequested();
        var nodes = steps.Select(s => results[s.Key]).ToList();
        return new SqbBuildResult
        {
            Project = _project.Config.Name, Target = _project.Config.ActiveTarget.Name, Environment = relations.Schema,
            Mode = "direct", Nodes = nodes, Duration = clock.Elapsed,
            Status = nodes.Any(n => n.Status is SqbNodeStatus.Failed or SqbNodeStatus.Skipped) ? "failed" : "succeeded",
        };
    }

    private string? MaterializedName(Step step) =>
        step.Kind == NodeKind.Model ? EnumNames.Snake(_project.Models[step.Name].Config.Materialized) : null;

    /// <summary>Builds one seed or model into the target schema with its kind's strategy.</summary>
    private SqbNodeResult Materialize(IWarehouseSession session, Step step, DirectRelations relations, CatalogSnapshot catalog,
        AuditRunner? audits, BuildOptions options)
    {
        var clock = Stopwatch.StartNew();
        var target = relations.Own(step.Name);
        var existing = catalog.Find(target);
        var model = step.Kind == NodeKind.Model ? _project.Models[step.Name] : null;
        var materialized = MaterializedName(step);
        try
        {
            var request = new MaterializeRequest
            {
                Session = session, Target = target, Existing = existing, Model = model,
                Seed = model is null ? _project.Seeds[step.Name] : null,
                Sql = model is null ? "" : relations.Render(model.Sql, model.References),
                Audits = audits, FullRefresh = options.FullRefresh, Log = _log,
            };
            var outcome = (model is null ? MaterializationStrategy.Seed : MaterializationStrategy.For(model)).Replace(request);
            return NodeOutcome.Materialized(step.Name, step.Kind, materialized, target, outcome, clock.Elapsed,
                existing is null ? "" : "; the previous relation was left untouched");
        }
        catch (Exception ex)
        {
            return NodeOutcome.Failure(step.Name, step.Kind, materialized, ex, clock.Elapsed, target);
        }
    }
}

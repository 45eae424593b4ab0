using System.Diagnostics;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build;

/// <summary>
/// Builds one node in one session: seeds and tables via a staging table that is audited and then
/// swapped in; views via an audited staging view; incrementals via an audited delta table applied
/// in one transaction. Stateless across nodes, safe to call from several workers at once.
/// </summary>
internal sealed class Materializer
{
    private readonly CompiledProject _project;
    private readonly DirectRelations _rel;
    private readonly CatalogSnapshot _catalog;
    private readonly BuildOptions _options;
    private readonly ISqbLog _log;
    private readonly AuditRunner _audits;

    public Materializer(CompiledProject project, DirectRelations relations, CatalogSnapshot catalog, BuildOptions options, ISqbLog log)
    {
        _project = project;
        _rel = relations;
        _catalog = catalog;
        _options = options;
        _log = log;
        _audits = new AuditRunner(project, relations.Read, relations.Render);
    }

    public static string KindName(NodeKind kind) => kind.ToString().ToLowerInvariant();

    public static SqbNodeResult Failure(string name, NodeKind kind, string? materialized, Exception ex, TimeSpan duration,
        RelationName? relation = null, IReadOnlyList<SqbAuditResult>? audits = null) => new()
    {
        Name = name, NodeType = KindName(kind), Materialized = materialized, Status = SqbNodeStatus.Failed,
        Relation = relation?.ToString(), Duration = duration, Audits = audits ?? Array.Empty<SqbAuditResult>(),
        Error = ex is SqbException ? ex.Message : Redaction.Redact(ex.Message),
        ErrorCode = (ex as SqbException)?.ErrorId ?? "B001.NodeFailed",
    };

    // ---------------------------------------------------------------- seeds

    public SqbNodeResult LoadSeed(IWarehouseSession s, SeedNode seed)
    {
        var clock = Stopwatch.StartNew();
        var target = _rel.Own(seed.Name);
        var staging = DirectRelations.Staging(target);
        try
        {
            s.Execute(s.Dialect.DropTableIfExists(staging));
            s.Execute(s.Dialect.CreateTable(staging, seed.Columns));
            s.InsertRows(staging, seed.Columns.Select(c => c.Name).ToList(), seed.Rows);
            SwapIn(s, staging, target);
            return new SqbNodeResult
            {
                Name = seed.Name, NodeType = "seed", Status = SqbNodeStatus.Succeeded, Relation = target.ToString(),
                Duration = clock.Elapsed, Rows = seed.Rows.Count, Action = "load",
            };
        }
        catch (Exception ex)
        {
            TryDrop(s, staging);
            return Failure(seed.Name, NodeKind.Seed, null, ex, clock.Elapsed, target);
        }
    }

    // ---------------------------------------------------------------- models

    public SqbNodeResult BuildModel(IWarehouseSession s, ModelNode model)
    {
        var clock = Stopwatch.StartNew();
        var target = _rel.Own(model.Name);
        var materialized = EnumNames.Snake(model.Config.Materialized);
        var sql = _rel.Render(model.Sql, model.References);
        var existing = _catalog.Find(target);
        IReadOnlyList<SqbAuditResult> audits = Array.Empty<SqbAuditResult>();
        try
        {
            string action;
            long? rows;
            switch (model.Config.Materialized)
            {
                case Materialization.View:
                    (action, rows, audits) = BuildView(s, model, sql, target, existing);
                    break;
                case Materialization.Table:
                    (action, rows, audits) = BuildTable(s, model, sql, target, existing);
                    break;
                default:
                    (action, rows, audits) = BuildIncremental(s, model, sql, target, existing);
                    break;
            }
            var blocking = AuditRunner.FirstBlocking(audits);
            if (blocking is not null)
            {
                return new SqbNodeResult
                {
                    Name = model.Name, NodeType = "model", Materialized = materialized, Status = SqbNodeStatus.Failed,
                    Relation = target.ToString(), Duration = clock.Elapsed, Audits = audits, Action = action,
                    Error = blocking.Message + (existing is null ? "" : "; the previous relation was left untouched"),
                    ErrorCode = "B002.AuditFailed",
                };
            }
            return new SqbNodeResult
            {
                Name = model.Name, NodeType = "model", Materialized = materialized,
                Status = audits.Any(a => a.Status != "passed") ? SqbNodeStatus.Warned : SqbNodeStatus.Succeeded,
                Relation = target.ToString(), Duration = clock.Elapsed, Rows = rows, Audits = audits, Action = action,
            };
        }
        catch (Exception ex)
        {
            return Failure(model.Name, NodeKind.Model, materialized, ex, clock.Elapsed, target, audits);
        }
    }

    private bool RunAudits(ModelNode model) => !_options.NoAudits && model.Config.Audits.Count > 0;

    private (string, long?, IReadOnlyList<SqbAuditResult>) BuildView(IWarehouseSession s, ModelNode model, string sql,
        RelationName target, CatalogRelation? existing)
    {
        IReadOnlyList<SqbAuditResult> audits = Array.Empty<SqbAuditResult>();
        if (RunAudits(model))
        {
            // Audit the new definition through a staging view, so a failing audit leaves the old view in place.
            var staging = DirectRelations.Staging(target);
            s.Execute(s.Dialect.DropViewIfExists(staging));
            s.Execute(s.Dialect.CreateOrReplaceView(staging, sql));
            try { audits = _audits.Run(s, model, staging); }
            finally { s.Execute(s.Dialect.DropViewIfExists(staging)); }
            if (AuditRunner.FirstBlocking(audits) is not null) return ("replace", null, audits);
        }
        var action = existing is null ? "create" : "replace";
        try
        {
            using var tx = s.BeginTransaction();
            if (existing?.Kind == RelationKind.Table) s.Execute(s.Dialect.DropTableIfExists(target));
            s.Execute(s.Dialect.CreateOrReplaceView(target, sql));
            tx.Commit();
        }
        catch (SqbException) when (existing?.Kind == RelationKind.View && s.Dialect.ViewsBindToRelations)
        {
            // PostgreSQL cannot CREATE OR REPLACE a view whose columns changed: drop and create it in one
            // transaction (never CASCADE: a view that depends on it makes this fail, and says so).
            _log.Verbose($"{target}: columns changed, replacing the view");
            using var tx = s.BeginTransaction();
            foreach (var statement in s.Dialect.ReplaceViewStatements(target, sql)) s.Execute(statement);
            tx.Commit();
        }
        return (action, null, audits);
    }

    private (string, long?, IReadOnlyList<SqbAuditResult>) BuildTable(IWarehouseSession s, ModelNode model, string sql,
        RelationName target, CatalogRelation? existing)
    {
        var staging = DirectRelations.Staging(target);
        s.Execute(s.Dialect.DropTableIfExists(staging));
        s.Execute(s.Dialect.CreateTableAs(staging, sql));
        try
        {
            var rows = Count(s, staging);
            var audits = RunAudits(model) ? _audits.Run(s, model, staging) : Array.Empty<SqbAuditResult>();
            if (AuditRunner.FirstBlocking(audits) is not null)
            {
                TryDrop(s, staging);
                return ("replace", rows, audits);
            }
            SwapIn(s, staging, target);
            return (existing is null ? "create" : "replace", rows, audits);
        }
        catch
        {
            TryDrop(s, staging);
            throw;
        }
    }

    private (string, long?, IReadOnlyList<SqbAuditResult>) BuildIncremental(IWarehouseSession s, ModelNode model, string sql,
        RelationName target, CatalogRelation? existing)
    {
        if (existing is null || existing.Kind == RelationKind.View || _options.FullRefresh)
        {
            var (action, rows, audits) = BuildTable(s, model, sql, target, existing);
            return (existing is null ? action : "full_refresh", rows, audits);
        }
        var d = s.Dialect;
        var delta = DirectRelations.Delta(target);
        var cfg = model.Config;
        var deltaSql = cfg.Cursor is null ? sql : d.IncrementalDelta(sql, cfg.Cursor, target);
        s.Execute(d.DropTableIfExists(delta));
        s.Execute(d.CreateTableAs(delta, deltaSql));
        try
        {
            var rows = Count(s, delta);
            var audits = RunAudits(model) ? _audits.Run(s, model, delta) : Array.Empty<SqbAuditResult>();
            if (AuditRunner.FirstBlocking(audits) is not null) return ("incremental", rows, audits);
            var columns = s.ColumnsOf(delta).Select(c => c.Name).ToList();
            using (var tx = s.BeginTransaction())
            {
                switch (cfg.IncrementalStrategy)
                {
                    case IncrementalStrategy.Append:
                        s.Execute(d.InsertFrom(target, delta, columns));
                        break;
                    case IncrementalStrategy.DeleteInsert:
                        s.Execute(d.DeleteMatching(target, delta, cfg.UniqueKey));
                        s.Execute(d.InsertFrom(target, delta, columns));
                        break;
                    case IncrementalStrategy.Merge:
                        s.Execute(d.Merge(target, delta, cfg.UniqueKey, columns));
                        break;
                }
                tx.Commit();
            }
            return ("incremental", rows, audits);
        }
        finally
        {
            TryDrop(s, delta);
        }
    }

    // ---------------------------------------------------------------- tests

    public SqbNodeResult RunTest(IWarehouseSession s, DataTestNode test) =>
        RunDataTest(s, test, () => _rel.Render(test.Sql, test.References));

    /// <summary>Runs a data test (its query returns the failing rows) in either mode; <paramref name="renderSql"/>
    /// resolves its references to that mode's relations.</summary>
    public static SqbNodeResult RunDataTest(IWarehouseSession s, DataTestNode test, Func<string> renderSql)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var failing = Convert.ToInt64(s.ExecuteScalar(s.Dialect.CountQuery("TEST", test.Name, renderSql())) ?? 0L);
            return new SqbNodeResult
            {
                Name = test.Name, NodeType = "test", Relation = test.RelativePath, Duration = clock.Elapsed, Rows = failing,
                Action = "test", Status = failing == 0 ? SqbNodeStatus.Succeeded : SqbNodeStatus.Failed,
                Error = failing == 0 ? null : $"test '{test.Name}' returned {failing} failing row(s)",
                ErrorCode = failing == 0 ? null : "B003.TestFailed",
            };
        }
        catch (Exception ex)
        {
            return Failure(test.Name, NodeKind.Test, null, ex, clock.Elapsed);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static long Count(IWarehouseSession s, RelationName r) => Convert.ToInt64(s.ExecuteScalar(s.Dialect.CountRows(r)) ?? 0L);

    /// <summary>
    /// Puts a finished staging table in the target's place in one transaction. Where views bind to
    /// the table they read (PostgreSQL) and the old table has the same columns, its rows are replaced
    /// in place, so downstream views keep working; otherwise the old relation is dropped (never with
    /// CASCADE) and the staging table renamed.
    /// </summary>
    private void SwapIn(IWarehouseSession s, RelationName staging, RelationName target)
    {
        var d = s.Dialect;
        var existing = _catalog.Find(target);
        if (existing?.Kind == RelationKind.Table && d.ViewsBindToRelations)
        {
            var oldCols = s.ColumnsOf(target).Select(c => (c.Name, c.DataType)).ToList();
            var newCols = s.ColumnsOf(staging).Select(c => (c.Name, c.DataType)).ToList();
            if (oldCols.Count > 0 && oldCols.SequenceEqual(newCols))
            {
                using var tx = s.BeginTransaction();
                s.Execute(d.DeleteAll(target));
                s.Execute(d.InsertFrom(target, staging, newCols.Select(c => c.Name).ToList()));
                s.Execute(d.DropTableIfExists(staging));
                tx.Commit();
                return;
            }
        }
        using (var tx = s.BeginTransaction())
        {
            if (existing?.Kind == RelationKind.View) s.Execute(d.DropViewIfExists(target));
            else if (existing is not null) s.Execute(d.DropTableIfExists(target));
            s.Execute(d.RenameTable(staging, target.Name));
            tx.Commit();
        }
    }

    private void TryDrop(IWarehouseSession s, RelationName table)
    {
        try { s.Execute(s.Dialect.DropTableIfExists(table)); }
        catch (Exception ex) { _log.Warning($"could not drop '{table}': {Redaction.Redact(ex.Message)}"); }
    }
}

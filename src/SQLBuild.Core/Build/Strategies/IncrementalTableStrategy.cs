using SQLBuild.Core.Adapters;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>
/// Incremental tables: the model's new rows (all of them, or those newer than the target's maximum cursor)
/// land in a delta table, which is audited and then applied (append, delete+insert or merge on the
/// unique key) in one transaction.
/// </summary>
internal sealed class IncrementalTableStrategy : MaterializationStrategy
{
    protected internal override MaterializeOutcome ReplaceCore(MaterializeRequest request)
    {
        var existing = request.Existing;
        if (existing is null || existing.Kind == RelationKind.View || request.RebuildsWhole)
        {
            var whole = Table.ReplaceCore(request);
            return existing is null ? whole : whole with { Action = "full_refresh" };
        }
        var session = request.Session;
        var dialect = request.Dialect;
        var model = request.Model!;
        var target = request.Target;
        var delta = StagingNames.Delta(target);
        try
        {
            var rows = CreateTableAs(session, delta, DeltaQuery(dialect, model, request.Sql, target));
            var outcome = new MaterializeOutcome("incremental", rows, request.RunAudits(delta));
            if (outcome.Blocked) return outcome;
            var shape = RequireSameShape(request, delta);
            var columns = (shape?.Fresh ?? session.ColumnsOf(delta)).Select(c => c.Name).ToList();
            using var tx = session.BeginTransaction();
            Apply(session, model.Config, target, delta, columns);
            session.ExecuteBatch(request.Records(false));
            tx.Commit();
            return outcome;
        }
        finally
        {
            TryDrop(request, delta, table: true);
        }
    }

    /// <summary>
    /// A new incremental version starts as a copy of the prior version, then takes the delta; copy and delta are one
    /// unit: both land in the pending table, which only then is audited and published. When the query's columns no
    /// longer match the prior version's (a query change that adds, drops or renames a column, or a cursor the prior
    /// version lacks), the prior rows do not fit: the version is built from scratch instead, with no ancestry row.
    /// </summary>
    protected internal override MaterializeOutcome CreateVersionCore(MaterializeRequest request)
    {
        // full_refresh true: every version is built whole, never seeded from the prior one.
        if (request.Prior is not { } prior || request.Model!.Config.FullRefresh == true) return Table.CreateVersionCore(request);
        var session = request.Session;
        var dialect = request.Dialect;
        var model = request.Model!;
        var pending = ClearPending(request);
        var delta = StagingNames.Delta(request.Target);
        try
        {
            session.Execute(dialect.CreateTableAs(pending, dialect.SelectAll(prior)));
            var copied = session.ColumnsOf(pending).Select(c => c.Name).ToList();
            if (model.Config.Cursor is not null && !copied.Contains(model.Config.Cursor, StringComparer.OrdinalIgnoreCase))
                return FromScratch(request, pending, $"the prior version has no cursor column '{model.Config.Cursor}'");
            session.Execute(dialect.DropTableIfExists(delta));
            session.Execute(dialect.CreateTableAs(delta, DeltaQuery(dialect, model, request.Sql, pending)));
            try
            {
                var columns = session.ColumnsOf(delta).Select(c => c.Name).ToList();
                if (!columns.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(copied))
                    return FromScratch(request, pending, "the query's columns differ from the prior version's");
                using var tx = session.BeginTransaction();
                Apply(session, model.Config, pending, delta, columns);
                tx.Commit();
            }
            finally { TryDrop(request, delta, table: true); }
            return TableStrategy.AuditAndPublish(request, pending, seededFromPrior: true);
        }
        catch
        {
            TryDrop(request, pending, table: true);
            throw;
        }
    }

    private static MaterializeOutcome FromScratch(MaterializeRequest request, RelationName pending, string why)
    {
        request.Log.Verbose($"{request.Name}: not seeding {request.Target} from the prior version ({why}); building it from scratch");
        request.Session.Execute(request.Dialect.DropTableIfExists(pending));
        request.Session.Execute(request.Dialect.CreateTableAs(pending, request.Sql));
        return TableStrategy.AuditAndPublish(request, pending, seededFromPrior: false);
    }

    /// <summary>The rows the model adds: all of its query without a cursor, else those newer than the target's maximum;
    /// with a <c>cursor_grain</c> and a strategy that rewrites rows by key (delete_insert, merge), those from the start of
    /// the grain the maximum falls in, so the last, possibly partial, hour or day is built again.</summary>
    private static string DeltaQuery(SqlDialect dialect, ModelNode model, string sql, RelationName target) =>
        model.Config.Cursor is null ? sql
            : dialect.IncrementalDelta(sql, model.Config.Cursor, target,
                model.Config.IncrementalStrategy == IncrementalStrategy.Append ? null : model.Config.CursorGrain);

    private static void Apply(IWarehouseSession session, ModelConfig config, RelationName target, RelationName delta, IReadOnlyList<string> columns)
    {
        var dialect = session.Dialect;
        switch (config.IncrementalStrategy)
        {
            case IncrementalStrategy.Append:
                session.Execute(dialect.InsertFrom(target, delta, columns));
                break;
            case IncrementalStrategy.DeleteInsert:
                session.Execute(dialect.DeleteMatching(target, delta, config.UniqueKey));
                session.Execute(dialect.InsertFrom(target, delta, columns));
                break;
            default:
                session.Execute(dialect.Merge(target, delta, config.UniqueKey, columns));
                break;
        }
    }
}

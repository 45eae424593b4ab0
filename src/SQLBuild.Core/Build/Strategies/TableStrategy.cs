using SQLBuild.Core.Adapters;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>Tables: built whole from the model's query, audited before they take the target's place.</summary>
internal sealed class TableStrategy : MaterializationStrategy
{
    protected internal override MaterializeOutcome ReplaceCore(MaterializeRequest request)
    {
        var session = request.Session;
        var target = request.Target;
        var staging = StagingNames.Staging(target);
        session.Execute(request.Dialect.DropTableIfExists(staging));
        session.Execute(request.Dialect.CreateTableAs(staging, request.Sql));
        try
        {
            var rows = CountRows(session, staging);
            var audits = request.RunAudits(staging);
            var outcome = new MaterializeOutcome(request.Existing is null ? "create" : "replace", rows, audits);
            if (outcome.Blocked)
            {
                TryDrop(request, staging, table: true);
                return outcome with { Action = "replace" };
            }
            RequireSameShape(request, staging);
            SwapIn(session, staging, target, request.Existing, inTransaction: request.Complete is { } complete ? s => complete(s, false) : null);
            return outcome;
        }
        catch
        {
            TryDrop(request, staging, table: true);
            throw;
        }
    }

    protected internal override MaterializeOutcome CreateVersionCore(MaterializeRequest request)
    {
        var pending = ClearPending(request);
        try
        {
            request.Session.Execute(request.Dialect.CreateTableAs(pending, request.Sql));
            return AuditAndPublish(request, pending, seededFromPrior: false);
        }
        catch
        {
            TryDrop(request, pending, table: true);
            throw;
        }
    }

    /// <summary>Counts and audits a pending version; a blocking audit drops it, otherwise it is published.</summary>
    internal static MaterializeOutcome AuditAndPublish(MaterializeRequest request, RelationName pending, bool seededFromPrior)
    {
        var outcome = new MaterializeOutcome("build", CountRows(request.Session, pending), request.RunAudits(pending));
        if (outcome.Blocked) TryDrop(request, pending, table: true);
        else Publish(request, pending, seededFromPrior);
        return outcome;
    }

    /// <summary>
    /// Puts a finished staging table in the target's place in one transaction. Where views bind to
    /// the table they read (PostgreSQL) and the old table has the same columns, its rows are replaced
    /// in place, so downstream views keep working; otherwise the old relation is dropped (never with
    /// CASCADE) and the staging table renamed.
    /// </summary>
    /// <param name="inTransaction">Runs inside the swapping transaction (a refresh's state record).</param>
    internal static void SwapIn(IWarehouseSession session, RelationName staging, RelationName target, CatalogRelation? existing,
        Action<IWarehouseSession>? inTransaction = null)
    {
        var dialect = session.Dialect;
        if (existing?.Kind == RelationKind.Table && dialect.ViewsBindToRelations)
        {
            var oldColumns = session.ColumnsOf(target).Select(c => (c.Name, c.DataType)).ToList();
            var newColumns = session.ColumnsOf(staging).Select(c => (c.Name, c.DataType)).ToList();
            if (oldColumns.Count > 0 && oldColumns.SequenceEqual(newColumns))
            {
                using var inPlace = session.BeginTransaction();
                session.Execute(dialect.DeleteAll(target));
                session.Execute(dialect.InsertFrom(target, staging, newColumns.Select(c => c.Name).ToList()));
                session.Execute(dialect.DropTableIfExists(staging));
                inTransaction?.Invoke(session);
                inPlace.Commit();
                return;
            }
        }
        using var tx = session.BeginTransaction();
        if (existing?.Kind == RelationKind.View) session.Execute(dialect.DropViewIfExists(target));
        else if (existing is not null) session.Execute(dialect.DropTableIfExists(target));
        session.Execute(dialect.RenameTable(staging, target.Name));
        inTransaction?.Invoke(session);
        tx.Commit();
    }
}

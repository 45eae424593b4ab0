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
        try
        {
            // Where the swap will compare the target's columns with the new rows' (a refresh keeps its shape; a table replaced in
            // place), both are read in the round trip that creates the staging table.
            var compares = request.KeepShape || request.Existing?.Kind == RelationKind.Table && request.Dialect.ViewsBindToRelations;
            var (rows, columns) = CreateTableAs(session, staging, request.Sql, compares ? target : null);
            var audits = request.RunAudits(staging);
            var outcome = new MaterializeOutcome(request.Existing is null ? "create" : "replace", rows, audits);
            if (outcome.Blocked)
            {
                TryDrop(request, staging, table: true);
                return outcome with { Action = "replace" };
            }
            // The swap decides on the target's columns as they are when it runs. Whatever ran since they were read (a contract
            // check, audits: seconds to minutes on a large table) gave a DBA time to alter the target, so they are read again
            // then; with nothing in between, the read that came with the staging table stands.
            if (columns is { } read && request.Verifies) columns = (session.ColumnsOf(target), read.Created);
            var shape = RequireSameShape(request, staging, columns) ?? columns;
            SwapIn(session, staging, target, request.Existing, records: request.Complete is null ? null : () => request.Records(false), columns: shape);
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
        var pending = StagingNames.Pending(request.Target);
        try
        {
            // What a killed build of this version left under the pending name is dropped in the same round trip.
            var rows = CreateTableAs(request.Session, pending, request.Sql);
            return AuditAndPublish(request, pending, seededFromPrior: false, rows);
        }
        catch
        {
            TryDrop(request, pending, table: true);
            throw;
        }
    }

    /// <summary>Counts and audits a pending version; a blocking audit drops it, otherwise it is published.</summary>
    internal static MaterializeOutcome AuditAndPublish(MaterializeRequest request, RelationName pending, bool seededFromPrior, long? rows = null)
    {
        var outcome = new MaterializeOutcome("build", rows ?? CountRows(request.Session, pending), request.RunAudits(pending));
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
    /// <param name="records">The statements that record the swap (a refresh's state row), sent in the swap's batch.</param>
    /// <param name="columns">The columns of the target and of the staging table when the caller read them already.</param>
    internal static void SwapIn(IWarehouseSession session, RelationName staging, RelationName target, CatalogRelation? existing,
        Func<IReadOnlyList<SqlStatement>>? records = null, (IReadOnlyList<CatalogColumn> Target, IReadOnlyList<CatalogColumn> Fresh)? columns = null)
    {
        var dialect = session.Dialect;
        if (existing?.Kind == RelationKind.Table && dialect.ViewsBindToRelations)
        {
            // Both relations' columns in one query, unless the caller read them already.
            var both = columns ?? session.ColumnsOf(target, staging);
            var oldColumns = both.Target.Select(c => (c.Name, c.DataType)).ToList();
            var newColumns = both.Fresh.Select(c => (c.Name, c.DataType)).ToList();
            if (oldColumns.Count > 0 && oldColumns.SequenceEqual(newColumns))
            {
                // One transaction for the swap's statements and the record: one round trip where a batch is atomic.
                session.ExecuteAtomically(new[]
                {
                    dialect.DeleteAll(target), dialect.InsertFrom(target, staging, newColumns.Select(c => c.Name).ToList()), dialect.DropTableIfExists(staging),
                }.Concat(records?.Invoke() ?? Array.Empty<SqlStatement>()).ToList());
                return;
            }
        }
        var swap = new List<SqlStatement>();
        if (existing?.Kind == RelationKind.View) swap.Add(dialect.DropViewIfExists(target));
        else if (existing is not null) swap.Add(dialect.DropTableIfExists(target));
        swap.Add(dialect.RenameTable(staging, target.Name));
        swap.AddRange(records?.Invoke() ?? Array.Empty<SqlStatement>());
        session.ExecuteAtomically(swap);
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Operations;

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
            SwapIn(session, staging, target, request.Existing, request.Log, records: request.Complete is null ? null : () => request.Records(false), columns: shape);
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
    /// CASCADE) and the staging table renamed, keeping the old one's privileges and never queueing readers behind the
    /// drop for long (<see cref="ReplaceInUse"/>).
    /// </summary>
    /// <param name="records">The statements that record the swap (a refresh's state row), sent in the swap's batch.</param>
    /// <param name="columns">The columns of the target and of the staging table when the caller read them already.</param>
    internal static void SwapIn(IWarehouseSession session, RelationName staging, RelationName target, CatalogRelation? existing,
        ISqbLog log, Func<IReadOnlyList<SqlStatement>>? records = null, (IReadOnlyList<CatalogColumn> Target, IReadOnlyList<CatalogColumn> Fresh)? columns = null)
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
        if (existing is null || !dialect.HasPrivileges && dialect.SetLockTimeout(SwitchTransaction.LockTimeoutMilliseconds) is null)
            session.ExecuteAtomically(swap);
        else
            ReplaceInUse(session, target, existing.Kind, swap, log);
    }

    /// <summary>
    /// Drops a relation that readers may be using and puts another in its place at its name (a table rebuilt with other
    /// columns; every table rebuild where views do not bind to the tables they read), in one transaction that:
    /// <list type="bullet">
    /// <item>waits at most <see cref="SwitchTransaction.LockTimeoutMilliseconds"/> for the drop's exclusive lock, so the
    /// readers that come after a long query never queue behind the drop for long, and is retried a few times; a last
    /// failure is L002 naming the sessions in the way, and the old relation stays as it was;</item>
    /// <item>grants the new relation what the old one was granted (SPEC §10.1, as a switch does): a DBA's
    /// <c>GRANT SELECT</c> to a report role survives the nightly rebuild.</item>
    /// </list>
    /// </summary>
    private static void ReplaceInUse(IWarehouseSession session, RelationName target, RelationKind kind, IReadOnlyList<SqlStatement> swap, ISqbLog log)
    {
        var dialect = session.Dialect;
        var step = $"replacing {target}";
        // Why the old relation must go, and what it is, for the errors that refuse the drop.
        var (why, old) = kind == RelationKind.View
            ? ("a view stands at its name, so it must be dropped", "view")
            : ("its columns changed, so the old table must be dropped", "table");
        try
        {
            SwitchTransaction.Bounded(session, session.Cancellation, step, new[] { target }, log, () =>
                {
                    RefuseRowSecurity(session, target, why, old);
                    return session.ExecuteBatch(swap);
                },
                fence: null, beforeCommit: null, blocked: e => SwitchTransaction.Blocked(step, new[] { target }, session, e));
        }
        catch (SqbException e) when (WarehouseErrors.Classify(e) == WarehouseErrorClass.DependentObjects)
        {
            throw DependedOn(session, target, why, old, e);
        }
        finally
        {
            // SQL Server's LOCK_TIMEOUT outlives the transaction: the session goes on to build other models.
            if (dialect.ResetLockTimeout() is { } reset) session.Execute(reset);
        }
    }

    /// <summary>A DBA limited which rows readers see (row-level security, policies): the new table would have neither, and the
    /// grants given back would show every row. The swap is refused; the old table stays as it was.</summary>
    private static void RefuseRowSecurity(IWarehouseSession session, RelationName target, string why, string old)
    {
        if (session.Dialect.RowSecurity(target) is not { } query || session.Query(query) is not [var row, ..]) return;
        var policies = Convert.ToString(row[1]);
        if (row[0] is not true && string.IsNullOrEmpty(policies)) return;
        throw new SqbException(ErrorCodes.SqlFailed, "SqlFailed",
            $"replacing {target}: {why}, but it has row-level security " +
            $"({(string.IsNullOrEmpty(policies) ? "enabled, no policies" : "policies: " + policies)}) that the new table would not have; the old {old} was left untouched",
            SqbErrorKind.InvalidOperation, target.ToString(),
            "Drop the policies and disable row-level security on the table, build again, then enable it and create the policies again " +
            "on the new table.");
    }

    /// <summary>The drop was refused because objects SQLBuild does not manage depend on the old table (a DBA's view): the
    /// server's own message names none of them (its detail is not shown, it may hold data), so they are read and named, with
    /// what to do. The old table stays as it was (the transaction was rolled back).</summary>
    private static SqbException DependedOn(IWarehouseSession session, RelationName target, string why, string old, SqbException cause)
    {
        var views = new List<string>();
        try
        {
            if (session.Dialect.DependentViews(target) is { } query)
                views.AddRange(session.Query(query).Select(row => new RelationName(Convert.ToString(row[0])!, Convert.ToString(row[1])!).ToString()));
        }
        catch (SqbException)
        {
            // the names are a help; the error stands without them
        }
        var who = views.Count == 0 ? "other objects (a foreign key or a view) depend on it" : $"{(views.Count == 1 ? "view" : "views")} {string.Join(", ", views)} {(views.Count == 1 ? "depends" : "depend")} on it";
        return new SqbException(ErrorCodes.SqlFailed, "SqlFailed",
            $"replacing {target}: {why}, but {who}; the old {old} was left untouched",
            SqbErrorKind.InvalidOperation, target.ToString(),
            $"Drop the objects that depend on the {old} (SQLBuild never drops them with CASCADE), build again, then create them again; " +
            "or make them models of the project so that SQLBuild rebuilds them.", cause);
    }
}

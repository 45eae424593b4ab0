using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>Views: audited before readers see the new definition.</summary>
internal sealed class ViewStrategy : MaterializationStrategy
{
    protected internal override MaterializeOutcome ReplaceCore(MaterializeRequest request)
    {
        var session = request.Session;
        var dialect = request.Dialect;
        var target = request.Target;
        var existing = request.Existing;
        IReadOnlyList<SqbAuditResult> audits = Array.Empty<SqbAuditResult>();
        if (request.Verifies)
        {
            // Check the new definition through a staging view, so a failing contract or audit leaves the old view in place.
            var staging = StagingNames.Staging(target);
            session.Execute(dialect.DropViewIfExists(staging));
            session.Execute(dialect.CreateOrReplaceView(staging, request.Sql));
            try { audits = request.RunAudits(staging); }
            finally { session.Execute(dialect.DropViewIfExists(staging)); }
            var outcome = new MaterializeOutcome("replace", null, audits);
            if (outcome.Blocked) return outcome;
        }
        try
        {
            using var tx = session.BeginTransaction();
            if (existing?.Kind == RelationKind.Table) session.Execute(dialect.DropTableIfExists(target));
            session.Execute(dialect.CreateOrReplaceView(target, request.Sql));
            tx.Commit();
        }
        catch (SqbException) when (existing?.Kind == RelationKind.View && dialect.ViewsBindToRelations)
        {
            // PostgreSQL cannot CREATE OR REPLACE a view whose columns changed: drop and create it in one
            // transaction (never CASCADE: a view that depends on it makes this fail, and says so).
            request.Log.Verbose($"{target}: columns changed, replacing the view");
            using var tx = session.BeginTransaction();
            foreach (var statement in dialect.ReplaceViewStatements(target, request.Sql)) session.Execute(statement);
            tx.Commit();
        }
        return new MaterializeOutcome(existing is null ? "create" : "replace", null, audits);
    }

    /// <summary>A view version is created and recorded in one transaction, with its post-hooks. Its contract and audits are
    /// checked first, on the same definition under the pending name (outside that transaction, so an audit that cannot
    /// run does not doom it).</summary>
    protected internal override MaterializeOutcome CreateVersionCore(MaterializeRequest request)
    {
        var session = request.Session;
        var dialect = request.Dialect;
        IReadOnlyList<SqbAuditResult> audits = Array.Empty<SqbAuditResult>();
        if (request.Verifies)
        {
            var pending = StagingNames.Pending(request.Target);
            session.Execute(dialect.DropViewIfExists(pending));
            session.Execute(dialect.CreateOrReplaceView(pending, request.Sql));
            try { audits = request.RunAudits(pending); }
            finally { TryDrop(request, pending, table: false); }
        }
        var outcome = new MaterializeOutcome("build", null, audits);
        if (outcome.Blocked) return outcome;
        using var tx = session.BeginTransaction();
        session.Execute(dialect.CreateOrReplaceView(request.Target, request.Sql));
        ModelHooks.RunPost(request, request.Target);
        session.ExecuteBatch(request.Records(false));
        tx.Commit();
        return outcome;
    }
}

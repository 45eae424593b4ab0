using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>Views: audited before readers see the new definition.</summary>
internal sealed class ViewStrategy : MaterializationStrategy
{
    public override MaterializeOutcome Replace(MaterializeRequest request)
    {
        var session = request.Session;
        var dialect = request.Dialect;
        var target = request.Target;
        var existing = request.Existing;
        IReadOnlyList<SqbAuditResult> audits = Array.Empty<SqbAuditResult>();
        if (request.Audits is not null && request.Model!.Config.Audits.Count > 0)
        {
            // Audit the new definition through a staging view, so a failing audit leaves the old view in place.
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

    public override MaterializeOutcome CreateVersion(MaterializeRequest request)
    {
        var session = request.Session;
        var target = request.Target;
        // A version's name is new unless a failed run left it behind (then the catalog read saw it).
        if (request.Existing is not null) session.Execute(request.Dialect.DropViewIfExists(target));
        session.Execute(request.Dialect.CreateOrReplaceView(target, request.Sql));
        var outcome = new MaterializeOutcome("build", null, request.RunAudits(target));
        if (outcome.Blocked) TryDrop(request, target, table: false);
        else request.Complete?.Invoke(session, false);
        return outcome;
    }
}

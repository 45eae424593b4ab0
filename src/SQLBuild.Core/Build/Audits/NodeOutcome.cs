using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Strategies;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Audits;

/// <summary>
/// The one place a node's outcome becomes an <see cref="SqbNodeResult"/>: a materialization with its audit
/// results (an error-severity audit that failed or could not run fails the node), a crash, a skip.
/// Direct and virtual builds both report through here.
/// </summary>
internal static class NodeOutcome
{
    public static string AuditFailedCode => SqbNodeError.AuditFailed.ErrorId;
    public static string TestFailedCode => SqbNodeError.TestFailed.ErrorId;
    public static string NodeFailedCode => SqbNodeError.NodeFailed.ErrorId;

    public static string TypeName(NodeKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The node after its materialization ran: failed on a blocking audit (with <paramref name="blockedNote"/>
    /// saying what was kept), warned when a warn audit found rows, succeeded otherwise.</summary>
    public static SqbNodeResult Materialized(string name, NodeKind kind, string? materialized, RelationName relation, MaterializeOutcome outcome,
        TimeSpan duration, string blockedNote)
    {
        var blocking = AuditRunner.FirstBlocking(outcome.Audits);
        return new SqbNodeResult
        {
            Name = name, NodeType = TypeName(kind), Materialized = materialized, Relation = relation.ToString(), Duration = duration,
            Rows = outcome.Rows, Audits = outcome.Audits, Action = outcome.Action,
            Status = blocking is not null ? SqbNodeStatus.Failed
                : outcome.Audits.Any(a => a.Status != "passed") ? SqbNodeStatus.Warned : SqbNodeStatus.Succeeded,
            Error = blocking is null ? null : blocking.Message + blockedNote,
            ErrorCode = blocking is null ? null : AuditFailedCode,
        };
    }

    /// <summary>A node that needed no work: its version is unchanged or reused from another environment.</summary>
    public static SqbNodeResult Kept(string name, string nodeType, string? materialized, RelationName relation, string action) => new()
    {
        Name = name, NodeType = nodeType, Materialized = materialized, Status = SqbNodeStatus.Succeeded, Relation = relation.ToString(), Action = action,
    };

    public static SqbNodeResult Failure(string name, NodeKind kind, string? materialized, Exception ex, TimeSpan duration,
        RelationName? relation = null, IReadOnlyList<SqbAuditResult>? audits = null) => new()
    {
        Name = name, NodeType = TypeName(kind), Materialized = materialized, Status = SqbNodeStatus.Failed,
        Relation = relation?.ToString(), Duration = duration, Audits = audits ?? Array.Empty<SqbAuditResult>(),
        Error = ex is SqbException ? ex.Message : Redaction.Redact(ex.Message),
        ErrorCode = (ex as SqbException)?.ErrorId ?? NodeFailedCode,
    };

    /// <summary>A node that did not run: an upstream failed (<paramref name="because"/>), or the build was stopped (null).</summary>
    public static SqbNodeResult Skipped(string name, string nodeType, string? materialized, string? because) => new()
    {
        Name = name, NodeType = nodeType, Materialized = materialized, Status = SqbNodeStatus.Skipped, SkippedBecause = because,
        Error = because is null ? "build was stopped before this node ran" : $"upstream '{because}' did not succeed",
    };

    /// <summary>A node whose own build succeeded but whose ref stays where it was, because a data test failed on it or on an upstream.</summary>
    public static SqbNodeResult BlockedByTest(SqbNodeResult ok, string test, bool readByTest) => new()
    {
        Name = ok.Name, NodeType = ok.NodeType, Materialized = ok.Materialized, Relation = ok.Relation, Rows = ok.Rows,
        Duration = ok.Duration, Audits = ok.Audits, Action = ok.Action, Status = SqbNodeStatus.Failed,
        Error = readByTest
            ? $"data test '{test}' failed; the ref of '{ok.Name}' was not moved"
            : $"data test '{test}' failed on an upstream of '{ok.Name}'; the ref of '{ok.Name}' was not moved",
        ErrorCode = TestFailedCode,
    };
}

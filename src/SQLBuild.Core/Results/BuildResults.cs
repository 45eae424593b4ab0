using SQLBuild.Core.Errors;

namespace SQLBuild;

/// <summary>Outcome of one node (seed, model or data test) in a build.</summary>
public enum SqbNodeStatus { Succeeded, Failed, Skipped, Warned }

/// <summary>One audit's result on one model.</summary>
public sealed class SqbAuditResult
{
    public required string Model { get; init; }
    public required string Name { get; init; }           // unique(order_id)
    public required string Severity { get; init; }       // error | warn
    public required string Status { get; init; }         // passed | failed | warned | error
    public long FailingRows { get; init; }
    public string? Message { get; init; }
    public override string ToString() => $"{Name}: {Status}";
}

/// <summary>One seed, model or data test of a build.</summary>
public sealed class SqbNodeResult
{
    public required string Name { get; init; }
    public required string NodeType { get; init; }        // model | seed | test
    public string? Materialized { get; init; }            // view | table | incremental (models)
    public required SqbNodeStatus Status { get; init; }
    public string? Relation { get; init; }                // schema.name written or checked
    public TimeSpan Duration { get; init; }
    public long? Rows { get; init; }
    public IReadOnlyList<SqbAuditResult> Audits { get; init; } = Array.Empty<SqbAuditResult>();
    public string? Error { get; init; }
    public string? ErrorCode { get; init; }
    /// <summary>For a skipped node: the failed upstream that caused the skip.</summary>
    public string? SkippedBecause { get; init; }
    /// <summary>What the build did: create | replace | incremental | full_refresh | load | test.</summary>
    public string? Action { get; init; }

    /// <summary>
    /// The error a failed node reports (non-terminating, so the rest of the build's output still flows): its
    /// <see cref="SqbNodeError"/>, this node as the target, and what to run once the cause is fixed.
    /// </summary>
    public SqbException Failure()
    {
        var error = SqbNodeError.FromErrorId(ErrorCode);
        return new SqbException(error.Code, error.ErrorName, $"{NodeType} '{Name}' failed: {Error}", error.Kind, this,
            NodeType == "test"
                ? $"Fix the data or the test, then run Invoke-SqbBuild -Select {Name}."
                : $"Fix the model, then run Invoke-SqbBuild -Select {Name}+ to rebuild it and what it skipped.");
    }
}

/// <summary>The result of <c>Invoke-SqbBuild</c>.</summary>
public sealed class SqbBuildResult
{
    public required string Project { get; init; }
    public required string Target { get; init; }
    /// <summary>Direct mode: the target schema. Virtual mode: the VDE name.</summary>
    public required string Environment { get; init; }
    public required string Mode { get; init; }            // direct | virtual
    public required string Status { get; init; }          // succeeded | failed
    public required IReadOnlyList<SqbNodeResult> Nodes { get; init; }
    public TimeSpan Duration { get; init; }
    /// <summary>Virtual mode: the VDE's status after the build (finalized | active).</summary>
    public string? EnvironmentStatus { get; init; }
    /// <summary>Virtual mode: the checkpoint written when the VDE reached finalized.</summary>
    public string? CheckpointId { get; init; }
    public string? OperationId { get; init; }
    public int Passed => Nodes.Count(n => n.Status is SqbNodeStatus.Succeeded or SqbNodeStatus.Warned);
    public int Failed => Nodes.Count(n => n.Status == SqbNodeStatus.Failed);
    public int Skipped => Nodes.Count(n => n.Status == SqbNodeStatus.Skipped);
}

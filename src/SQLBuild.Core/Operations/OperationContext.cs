using SQLBuild.Core.State;

namespace SQLBuild.Core.Operations;

/// <summary>What the body of a journaled operation sees of its run (<see cref="EnvironmentOperation.RunJournaled{T}"/>).</summary>
public sealed class OperationContext
{
    private readonly OperationJournal _journal;

    internal OperationContext(OperationJournal journal, LockLease lease, CancellationToken cancellation)
    {
        _journal = journal;
        Lease = lease;
        Cancellation = cancellation;
    }

    /// <summary>The operation id: the journal row's, the lock owner's and the one ref events carry.</summary>
    public string Id => _journal.Id;

    /// <summary>The lock the run holds: every transaction that moves refs or views fences with it first.</summary>
    public LockLease Lease { get; }

    /// <summary>Cancelled when the run is stopped or its lease is lost.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Stops here if the run was stopped; otherwise journals a step (<c>&lt;step&gt;: &lt;message&gt;</c>) and honours
    /// the test kill point named <paramref name="step"/>. Steps are where promote, rollback, adopt, detach and the
    /// janitor stop between their parts.</summary>
    public void Step(string step, string message)
    {
        Cancellation.ThrowIfCancellationRequested();
        _journal.Step(step, message);
    }
}

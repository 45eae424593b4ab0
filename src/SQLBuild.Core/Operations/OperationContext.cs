using SQLBuild.Core.State;

namespace SQLBuild.Core.Operations;

/// <summary>What the body of a journaled operation sees of its run (<see cref="EnvironmentOperation.RunJournaled{T}"/>).</summary>
public sealed class OperationContext
{
    private readonly OperationJournal _journal;

    internal OperationContext(OperationJournal journal) => _journal = journal;

    /// <summary>The operation id: the journal row's, the lock owner's and the one ref events carry.</summary>
    public string Id => _journal.Id;

    /// <summary>Journals a step (<c>&lt;step&gt;: &lt;message&gt;</c>), then honours the test kill point named <paramref name="step"/>.</summary>
    public void Step(string step, string message) => _journal.Step(step, message);
}

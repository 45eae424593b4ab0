using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Faults;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.Operations;

/// <summary>
/// The one way a transaction that moves refs or views runs (build switch, promote, rollback, adopt and detach steps,
/// repair, attach):
/// <list type="bullet">
/// <item>it proves, inside itself and first, that the run still holds its lease (<see cref="State.LockLease.Fence"/>);
/// otherwise it rolls back with L001 and nothing moves;</item>
/// <item>its statements wait at most <see cref="LockTimeoutMilliseconds"/> for a lock (a reader's long query on a view
/// it replaces), so readers never queue behind it for long; it is retried a few times, and a last failure names the
/// sessions in the way (L002);</item>
/// <item>the privileges on what it touches survive it (SPEC §10.1): they are read before its body, and what a relation
/// dropped and created at the same name, or moved, lost is granted again before the commit (<see cref="KeptPrivileges"/>);</item>
/// <item>it does not commit after a stop: the run's cancellation is checked just before the commit.</item>
/// </list>
/// </summary>
public static class SwitchTransaction
{
    public const int LockTimeoutMilliseconds = 2000;
    public const int Attempts = 4;

    /// <param name="session">Where the transaction runs.</param>
    /// <param name="fence">Whether the state tables are on <paramref name="session"/> (prove the lease there); with a separate
    /// state store only the state side fences.</param>
    /// <param name="step">The kill-point step of the transaction (its <c>:before-commit</c> boundary).</param>
    /// <param name="relations">Every relation the transaction's body touches on <paramref name="session"/> (drops, creates,
    /// replaces, moves, or reads through a view it writes): their privileges are kept, and when a wait for a lock runs out
    /// the sessions that hold one on them are named. Empty for a transaction that touches only the state tables.</param>
    /// <param name="kept">The relations among <paramref name="relations"/> whose privileges the body may lose (it drops and
    /// creates them again, or moves them); default: all of them. A caller that knows the rest keep their catalog objects
    /// (a view replaced in place with CREATE OR REPLACE / CREATE OR ALTER, a relation only read) names just these, and
    /// no privileges are read when there are none.</param>
    public static T Run<T>(IWarehouseSession session, OperationContext run, bool fence, string step, IReadOnlyList<RelationName> relations,
        Func<IWarehouseSession> probe, ISqbLog log, Func<T> body, IReadOnlyList<RelationName>? kept = null) =>
        Bounded(session, run.Cancellation, step, kept ?? relations, log, body,
            fence: fence ? () => run.Lease.Fence(session) : null,
            beforeCommit: () => KillPoints.At(step + KillPoints.BeforeCommit),
            blocked: e => Blocked(step, relations, probe, e));

    /// <summary>
    /// The transaction shape every switch shares, without a lease: statements wait at most <see cref="LockTimeoutMilliseconds"/>
    /// for a lock and the whole is tried <see cref="Attempts"/> times (a stop ends the wait between tries), the privileges on
    /// <paramref name="kept"/> are read before <paramref name="body"/> and what they lost is granted again before the
    /// commit, and nothing commits after a stop. <paramref name="blocked"/> makes the last lock timeout's error (L002).
    /// Also a direct build's table swap (<c>TableStrategy</c>), which has no lease and no kill point of its own.
    /// </summary>
    internal static T Bounded<T>(IWarehouseSession session, CancellationToken cancellation, string step, IReadOnlyList<RelationName> kept,
        ISqbLog log, Func<T> body, Action? fence, Action? beforeCommit, Func<SqbException, SqbException> blocked)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var tx = session.BeginTransaction();
                if (session.Dialect.SetLockTimeout(LockTimeoutMilliseconds) is { } timeout) session.Execute(timeout);
                fence?.Invoke();
                var privileges = KeptPrivileges.Capture(session, kept);
                var result = body();
                privileges?.Restore(session, log);
                cancellation.ThrowIfCancellationRequested();
                beforeCommit?.Invoke();
                tx.Commit();
                return result;
            }
            catch (SqbException e) when (WarehouseErrors.Classify(e) == WarehouseErrorClass.LockTimeout)
            {
                if (attempt >= Attempts) throw blocked(e);
                log.Verbose($"{step}: a lock was not granted within {LockTimeoutMilliseconds} ms; retrying ({attempt}/{Attempts - 1})");
                cancellation.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(250 * attempt));
                cancellation.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>L002, naming the sessions that hold locks on what the switch needs (read on a session of its own).</summary>
    private static SqbException Blocked(string step, IReadOnlyList<RelationName> relations, Func<IWarehouseSession> probe, SqbException cause)
    {
        try
        {
            using var session = probe();
            return Blocked(step, relations, session, cause);
        }
        catch (SqbException e)
        {
            return Blocked(step, Array.Empty<string>(), e, cause);
        }
    }

    /// <summary>L002, naming the sessions that hold locks on <paramref name="relations"/>, read on <paramref name="session"/>
    /// (one with no transaction open: the failed one was rolled back).</summary>
    internal static SqbException Blocked(string step, IReadOnlyList<RelationName> relations, IWarehouseSession session, SqbException cause)
    {
        var holders = new List<string>();
        try
        {
            if (relations.Count > 0 && session.Dialect.SessionsLocking(relations) is { } query)
                foreach (var row in session.Query(query))
                    holders.Add($"session {row[0]} ({row[2]}, user {row[1]}, {row[3]}{(row[4] is DateTime since ? $" since {since:u}" : "")}): {Redaction.Redact(Convert.ToString(row[5]) ?? "")}");
        }
        catch (SqbException e)
        {
            return Blocked(step, holders, e, cause);
        }
        return Blocked(step, holders, null, cause);
    }

    private static SqbException Blocked(string step, IReadOnlyList<string> holders, SqbException? unread, SqbException cause)
    {
        var named = unread is null ? holders : holders.Append($"(could not read who holds the locks: {unread.Message})").ToList();
        var who = named.Count == 0 ? "another session" : string.Join("; ", named);
        return new SqbException(ErrorCodes.SwitchBlocked, "SwitchBlocked",
            $"{step} could not take its locks within {Attempts} tries of {LockTimeoutMilliseconds} ms; held by {who}",
            SqbErrorKind.ResourceBusy, step,
            "Nothing was switched. Wait for those sessions to finish (or end them), then run the command again.", cause);
    }
}

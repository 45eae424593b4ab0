using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Faults;

namespace SQLBuild.Core.State;

/// <summary>
/// The operation journal (SPEC §9): a <c>state_operations</c> row (running -> succeeded / failed / cancelled) and
/// one <c>state_operation_events</c> row per step, each committed at once through the journal's own
/// session, outside the operation's transaction, so an interrupted run stays visible. The journal's session is
/// never cancelled: a stopped run still records that it was stopped.
/// </summary>
public sealed class OperationJournal : IDisposable
{
    private readonly StateStore _store;
    private IWarehouseSession _session;
    private readonly object _gate = new();
    private readonly ISqbLog _log;
    private bool _finished;

    private OperationJournal(StateStore store, IWarehouseSession session, string id, string type, string? environment, ISqbLog log)
    {
        _store = store;
        _session = session;
        Id = id;
        Type = type;
        Environment = environment;
        _log = log;
    }

    public string Id { get; }
    public string Type { get; }
    public string? Environment { get; }

    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Starts (or, for a reused id, restarts) an operation.</summary>
    public static OperationJournal Start(StateStore store, string type, string? environment, string message, ISqbLog log, string? operationId = null)
    {
        var session = store.OpenBookkeepingSession(dedicated: false);
        var journal = new OperationJournal(store, session, operationId ?? Ids.NewOperationId(type), type, environment, log);
        try
        {
            journal.Upsert("running");
            journal.Event("start", "running", message);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return journal;
    }

    /// <summary>Records a step, then honours a test kill point of the same name.</summary>
    public void Step(string step, string message)
    {
        Event("step", "running", $"{step}: {message}");
        KillPoints.Hit(step);
    }

    /// <summary>
    /// Writes this operation's <c>running</c> row and a step event through <paramref name="session"/>, inside
    /// the caller's transaction: for <c>Restore-SqbState</c>, which replaces the journal tables with a
    /// backup's, so the operation stays journaled in the restored tables.
    /// </summary>
    public void RecordIn(IWarehouseSession session, string message)
    {
        var sql = _store.Sql;
        session.Execute(sql.Delete(StateSchema.Operations, Where.Equal("operation_id", Id)));
        session.Execute(sql.Insert(StateSchema.Operations, new (string, object?)[]
        {
            ("operation_id", Id), ("operation_type", Type), ("status", "running"), ("virtual_environment_name", Environment),
        }, "created_at", "updated_at"));
        session.Execute(sql.Insert(StateSchema.OperationEvents, new (string, object?)[]
        {
            ("event_id", Ids.NewEventId()), ("operation_id", Id), ("action", "step"), ("status", "running"), ("message", message),
        }, "created_at"));
    }

    public void Succeed(string message)
    {
        Upsert("succeeded");
        Event("finish", "succeeded", message);
        _finished = true;
    }

    public void Fail(string message) => End(Failed, "fail", message);

    /// <summary>The run failed before it changed anything, provably (a switch blocked by a reader and rolled back, L002):
    /// failed, with the end event <see cref="RefusedAction"/>, so it leaves nothing unfinished (<see cref="OperationQueries.Unfinished"/>).</summary>
    public void Refuse(string message) => End(Failed, RefusedAction, message);

    /// <summary>The end event of a run that failed having changed nothing.</summary>
    public const string RefusedAction = "refused";

    /// <summary>The run reached its end, but failed in part (a build whose nodes failed: what succeeded was switched):
    /// failed, with the end event <see cref="FinishAction"/> of a run that finished, so it leaves nothing unfinished.</summary>
    public void FinishFailed(string message) => End(Failed, FinishAction, message);

    /// <summary>The end event of a run that reached its end (succeeded, or failed in part).</summary>
    public const string FinishAction = "finish";

    /// <summary>The run was stopped (Ctrl+C): nothing was switched after the stop.</summary>
    public void Cancel(string message) => End(Cancelled, "cancel", message);

    private void End(string status, string action, string message)
    {
        try
        {
            Upsert(status);
            Event(action, status, Errors.Redaction.Redact(message));
        }
        catch (Exception ex) when (WarehouseErrors.Classify(ex) == WarehouseErrorClass.Connection && Reopen())
        {
            // The server ended the journal's session (Clear-SqbLock -Force ends a holder's sessions): the end is recorded
            // through a fresh one, so the row does not stay running.
            try
            {
                Upsert(status);
                Event(action, status, Errors.Redaction.Redact(message));
            }
            catch (Exception again)
            {
                _log.Warning($"could not record the end ({status}) of operation {Id}: {Errors.Redaction.Redact(again.Message)}");
            }
        }
        catch (Exception ex)
        {
            _log.Warning($"could not record the end ({status}) of operation {Id}: {Errors.Redaction.Redact(ex.Message)}");
        }
        _finished = true;
    }

    /// <summary>Replaces the journal's ended session with a fresh one; false when none can be opened.</summary>
    private bool Reopen()
    {
        lock (_gate)
        {
            try
            {
                var fresh = _store.OpenBookkeepingSession(dedicated: false);
                _session.Dispose();
                _session = fresh;
                return true;
            }
            catch (Exception ex)
            {
                _log.Warning($"could not reopen the journal of operation {Id}: {Errors.Redaction.Redact(ex.Message)}");
                return false;
            }
        }
    }

    private void Upsert(string status)
    {
        var sql = _store.Sql;
        var operation = Where.Equal("operation_id", Id);
        lock (_gate)
        {
            var exists = _session.Query(sql.Select(StateSchema.Operations, new[] { "operation_id" }, operation)).Count > 0;
            if (exists)
                _session.Execute(sql.Update(StateSchema.Operations, new[] { Set.To("status", status), Set.ToNow("updated_at") }, operation));
            else
                _session.Execute(sql.Insert(StateSchema.Operations, new (string, object?)[]
                {
                    ("operation_id", Id), ("operation_type", Type), ("status", status), ("virtual_environment_name", Environment),
                }, "created_at", "updated_at"));
        }
    }

    private void Event(string action, string status, string message)
    {
        lock (_gate)
            _session.Execute(_store.Sql.Insert(StateSchema.OperationEvents, new (string, object?)[]
            {
                ("event_id", Ids.NewEventId()), ("operation_id", Id), ("action", action), ("status", status), ("message", message),
            }, "created_at"));
    }

    public void Dispose()
    {
        if (!_finished) Fail("operation ended without recording its outcome");
        _session.Dispose();
    }
}

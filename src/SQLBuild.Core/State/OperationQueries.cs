namespace SQLBuild.Core.State;

/// <summary>
/// Reads the journal (SPEC §9). A row still <c>running</c> that no live lock backs (its lock row is
/// gone, expired or orphaned) is reported <c>failed</c> with reason <c>interrupted</c>.
/// </summary>
public sealed class OperationQueries
{
    private readonly StateStore _store;
    private readonly Logging.ISqbLog _log;

    public OperationQueries(StateStore store, Logging.ISqbLog log)
    {
        _store = store;
        _log = log;
    }

    public IReadOnlyList<SqbOperation> List(string? id = null, string? type = null, string? status = null, string? environment = null)
    {
        using var session = _store.OpenStateSession();
        _store.RequireInitialized(session);
        var sql = _store.Sql;
        var ops = session.Query(sql.Select(StateSchema.Operations,
            new[] { "operation_id", "operation_type", "status", "virtual_environment_name", "created_at", "updated_at" },
            orderBy: new[] { Order.Asc("created_at"), Order.Asc("operation_id") }));
        var events = session.Query(sql.Select(StateSchema.OperationEvents, new[] { "operation_id", "action", "status", "message", "created_at" },
                orderBy: new[] { Order.Asc("created_at"), Order.Asc("event_id") }))
            .GroupBy(r => StateRepository.Str(r[0])!)
            .ToDictionary(g => g.Key, g => g.Select(r => new SqbOperationEvent
            {
                Action = StateRepository.Str(r[1])!, Status = StateRepository.Str(r[2])!, Message = StateRepository.Str(r[3]),
                CreatedAt = StateRepository.Dt(r[4]) ?? default,
            }).ToList());
        var anyRunning = ops.Any(r => StateRepository.Str(r[2]) == "running");
        var live = anyRunning
            ? new LockManager(_store, _log).List().Where(l => !l.IsExpired && !l.IsOrphaned).Select(l => l.OperationId).ToHashSet()
            : new HashSet<string?>();
        var result = new List<SqbOperation>();
        foreach (var r in ops)
        {
            var opId = StateRepository.Str(r[0])!;
            var recorded = StateRepository.Str(r[2])!;
            var interrupted = recorded == "running" && !live.Contains(opId);
            var op = new SqbOperation
            {
                Id = opId, Type = StateRepository.Str(r[1])!, RecordedStatus = recorded, Status = interrupted ? "failed" : recorded,
                Reason = interrupted ? "interrupted" : null, Environment = StateRepository.Str(r[3]),
                CreatedAt = StateRepository.Dt(r[4]) ?? default, UpdatedAt = StateRepository.Dt(r[5]) ?? default,
                Events = events.GetValueOrDefault(opId) ?? new List<SqbOperationEvent>(),
            };
            if (id is not null && op.Id != id) continue;
            if (type is not null && !string.Equals(op.Type, type, StringComparison.OrdinalIgnoreCase)) continue;
            if (status is not null && !string.Equals(op.Status, status, StringComparison.OrdinalIgnoreCase)) continue;
            if (environment is not null && op.Environment != environment) continue;
            result.Add(op);
        }
        return result;
    }
}

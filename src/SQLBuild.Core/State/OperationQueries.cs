namespace SQLBuild.Core.State;

/// <summary>What <see cref="OperationQueries.List(OperationQuery)"/> returns: every part narrows it; all null = the whole journal.</summary>
public sealed record OperationQuery
{
    public string? Id { get; init; }
    /// <summary>The operation type (<c>build</c>, <c>promote</c>, ...), any case.</summary>
    public string? Type { get; init; }
    /// <summary>Statuses as reported (<see cref="SqbOperation.Status"/>): running, succeeded, failed, cancelled, any case.</summary>
    public IReadOnlyCollection<string>? Status { get; init; }
    public string? Environment { get; init; }
    /// <summary>Only operations started at or after this instant (a local or unspecified time is converted to UTC).</summary>
    public DateTime? Since { get; init; }
    /// <summary>At most this many, newest first.</summary>
    public int? First { get; init; }
}

/// <summary>
/// Reads the journal (SPEC §9), newest first. A row still <c>running</c> that no live lock backs (its lock row is
/// gone, expired or orphaned) is reported <c>failed</c> with reason <c>interrupted</c>. Filters go to the database
/// (one query for the operations, one per 500 of them for their events), so a page costs what it returns.
/// <para>
/// <see cref="Unfinished"/> is the one rule of what an operation left undone, shared by <c>Get-SqbReconcile</c>
/// (FailedOperation) and the janitor's refusal: a run that failed (or was interrupted), or a stopped run of an
/// operation that commits step by step (<see cref="StopsPartway"/>), with no later run of the same type on the same
/// environment that succeeded.
/// </para>
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

    private static readonly string[] OperationColumns = { "operation_id", "operation_type", "status", "virtual_environment_name", "created_at", "updated_at" };

    /// <summary>The journal, newest first, filtered as <see cref="List(OperationQuery)"/>.</summary>
    public IReadOnlyList<SqbOperation> List(string? id = null, string? type = null, string? status = null, string? environment = null) =>
        List(new OperationQuery { Id = id, Type = type, Status = status is null ? null : new[] { status }, Environment = environment });

    public IReadOnlyList<SqbOperation> List(OperationQuery query)
    {
        if (query.First is < 0) throw new ArgumentOutOfRangeException(nameof(query), query.First, "First must be 0 or more");
        var statuses = query.Status?.Select(s => s.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        using var session = _store.OpenStateSession();
        _store.RequireInitialized(session);
        var where = new List<Where>();
        if (query.Id is not null) where.Add(Where.Equal("operation_id", query.Id));
        if (query.Type is not null) where.Add(Where.Equal("operation_type", query.Type.ToLowerInvariant()));
        if (query.Environment is not null) where.Add(Where.Equal("virtual_environment_name", query.Environment));
        if (query.Since is { } since) where.Add(Where.AtLeast("created_at", StateValue.Time(since)));
        // A reported "failed" may be a recorded "running" (interrupted): the live locks decide after the read.
        if (statuses is not null)
            where.Add(Where.In("status", statuses.SelectMany(s => s == OperationJournal.Failed ? new[] { s, OperationJournal.Running } : new[] { s }).Distinct()));
        var ops = Read(session, where).Where(o => statuses is null || statuses.Contains(o.Status));
        var page = (query.First is { } first ? ops.Take(first) : ops).ToList();
        return WithEvents(session, page);
    }

    /// <summary>Operation types whose steps commit one at a time (adopt and detach move relation after relation; the janitor
    /// drops object after object): a stopped run left part of its work done, exactly like a failed one. Every other type
    /// switches in one transaction, so a stopped run switched nothing.</summary>
    public static bool StopsPartway(string type) => type is "adopt" or "detach" or "janitor";

    /// <summary>
    /// Operations that did not finish and that no later run finished for them, newest first: <c>failed</c> (an interrupted
    /// run included), <c>cancelled</c> when the type <see cref="StopsPartway"/>, and with <paramref name="includeRunning"/>
    /// the ones still running under a live lock. A later <c>succeeded</c> run of the same type on the same environment
    /// retries (and so clears) every earlier one.
    /// </summary>
    public IReadOnlyList<SqbOperation> Unfinished(IReadOnlyCollection<string>? types = null, bool includeRunning = false)
    {
        using var session = _store.OpenStateSession();
        _store.RequireInitialized(session);
        var typeFilter = types is null ? null : Where.In("operation_type", types.Cast<object?>());
        var open = Read(session, new[] { Where.In("status", new object?[] { OperationJournal.Running, OperationJournal.Failed, OperationJournal.Cancelled }) }
                .Concat(typeFilter is null ? Array.Empty<Where>() : new[] { typeFilter }).ToList())
            .Where(o => o.Status == OperationJournal.Failed || (o.Status == OperationJournal.Cancelled && StopsPartway(o.Type)) ||
                        (includeRunning && o.Status == OperationJournal.Running))
            .ToList();
        if (open.Count == 0) return open;
        var oldest = open.Min(o => o.CreatedAt);
        var succeeded = Read(session, new[]
        {
            Where.Equal("status", OperationJournal.Succeeded), Where.In("operation_type", open.Select(o => (object?)o.Type).Distinct()),
            Where.AtLeast("created_at", StateValue.Time(oldest)),
        });
        var unfinished = open.Where(op => !succeeded.Any(s => s.Type == op.Type && s.Environment == op.Environment &&
                                                              (s.CreatedAt > op.CreatedAt || (s.CreatedAt == op.CreatedAt && string.CompareOrdinal(s.Id, op.Id) > 0))))
            .ToList();
        // A run that failed having provably changed nothing (refused by a blocked switch), or that reached its end and
        // failed in part (a build whose nodes failed), leaves nothing to finish.
        return WithEvents(session, unfinished)
            .Where(op => op.Events.LastOrDefault()?.Action is not (OperationJournal.RefusedAction or OperationJournal.FinishAction)).ToList();
    }

    /// <summary>Operation rows (no events yet), newest first, with the reported status.</summary>
    private List<SqbOperation> Read(Adapters.IWarehouseSession session, IReadOnlyList<Where> where)
    {
        var sql = _store.Sql;
        var rows = session.Query(sql.Select(StateSchema.Operations, OperationColumns, where.Count == 0 ? null : where.Aggregate((a, b) => a & b),
            orderBy: new[] { Order.Desc("created_at"), Order.Desc("operation_id") }));
        var anyRunning = rows.Any(r => StateRepository.Str(r[2]) == OperationJournal.Running);
        var live = anyRunning
            ? new LockManager(_store, _log).List().Where(l => !l.IsExpired && !l.IsOrphaned).Select(l => l.OperationId).ToHashSet()
            : new HashSet<string?>();
        return rows.Select(r =>
        {
            var opId = StateRepository.Str(r[0])!;
            var recorded = StateRepository.Str(r[2])!;
            var interrupted = recorded == OperationJournal.Running && !live.Contains(opId);
            return new SqbOperation
            {
                Id = opId, Type = StateRepository.Str(r[1])!, RecordedStatus = recorded, Status = interrupted ? OperationJournal.Failed : recorded,
                Reason = interrupted ? "interrupted" : null, Environment = StateRepository.Str(r[3]),
                CreatedAt = StateRepository.Dt(r[4]) ?? default, UpdatedAt = StateRepository.Dt(r[5]) ?? default,
            };
        }).ToList();
    }

    /// <summary>The same operations with their events (oldest first), read 500 operations per statement.</summary>
    private List<SqbOperation> WithEvents(Adapters.IWarehouseSession session, IReadOnlyList<SqbOperation> ops)
    {
        var events = new Dictionary<string, List<SqbOperationEvent>>(StringComparer.Ordinal);
        foreach (var chunk in ops.Select(o => o.Id).Chunk(500))
            foreach (var r in session.Query(_store.Sql.Select(StateSchema.OperationEvents, new[] { "operation_id", "action", "status", "message", "created_at" },
                         Where.In("operation_id", chunk), orderBy: new[] { Order.Asc("created_at"), Order.Asc("event_id") })))
            {
                var opId = StateRepository.Str(r[0])!;
                if (!events.TryGetValue(opId, out var list)) events[opId] = list = new List<SqbOperationEvent>();
                list.Add(new SqbOperationEvent
                {
                    Action = StateRepository.Str(r[1])!, Status = StateRepository.Str(r[2])!, Message = StateRepository.Str(r[3]),
                    CreatedAt = StateRepository.Dt(r[4]) ?? default,
                });
            }
        return ops.Select(o => new SqbOperation
        {
            Id = o.Id, Type = o.Type, RecordedStatus = o.RecordedStatus, Status = o.Status, Reason = o.Reason, Environment = o.Environment,
            CreatedAt = o.CreatedAt, UpdatedAt = o.UpdatedAt, Events = events.GetValueOrDefault(o.Id) ?? new List<SqbOperationEvent>(),
        }).ToList();
    }
}

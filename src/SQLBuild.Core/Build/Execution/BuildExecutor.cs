using System.Collections.Concurrent;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Build.Audits;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Execution;

/// <summary>One unit of a build's work: a seed, model or data test, after what it depends on.</summary>
/// <param name="Key">Unique among the steps (a data test's key is <c>test:&lt;name&gt;</c>).</param>
/// <param name="Run">Does the work on a session of the executor's; must report failures in its result, not throw.</param>
/// <param name="InWave">Whether the step may run in a wave with others (<see cref="BuildExecutor.Run"/>'s <c>runWave</c>).</param>
internal sealed record BuildStep(string Key, string Name, NodeKind Kind, string? Materialized, IReadOnlyList<string> DependsOn,
    Func<IWarehouseSession, SqbNodeResult> Run, bool InWave = false);

/// <summary>
/// Runs build steps in dependency order with at most N at once (<see cref="DagScheduler"/>), each on a
/// warehouse session taken from a small pool: a session is reused by the next step only when its step
/// succeeded (one that saw a failure may be broken or mid-transaction). Reports progress, warns on each
/// failure, and skips everything downstream of a failed step. Direct and virtual builds both run here.
/// </summary>
internal sealed class BuildExecutor
{
    private readonly Func<IWarehouseSession> _openSession;
    private readonly ISqbLog _log;

    /// <param name="openSession">Opens a worker's session (named for the operation, cancelled with it).</param>
    public BuildExecutor(Func<IWarehouseSession> openSession, ISqbLog log)
    {
        _openSession = openSession;
        _log = log;
    }

    /// <param name="activity">The progress bar's title.</param>
    /// <param name="runWave">Runs a wave of steps marked <see cref="BuildStep.InWave"/> together on one session (set-based DDL and state
    /// writes), returning each step's result; must report failures in the results, not throw. Null: every step runs alone.</param>
    public Dictionary<string, SqbNodeResult> Run(IReadOnlyList<BuildStep> steps, int concurrency, string activity, CancellationToken cancel,
        Func<IWarehouseSession, IReadOnlyList<BuildStep>, IReadOnlyDictionary<string, SqbNodeResult>>? runWave = null)
    {
        var results = new ConcurrentDictionary<string, SqbNodeResult>(StringComparer.Ordinal);
        var byKey = steps.ToDictionary(s => s.Key, StringComparer.Ordinal);
        var sessions = new ConcurrentBag<IWarehouseSession>();
        var total = steps.Count;
        var finished = 0;
        try
        {
            void Finish(BuildStep step, SqbNodeResult result)
            {
                results[step.Key] = result;
                var done = Interlocked.Increment(ref finished);
                _log.Progress(activity, $"{step.Name}: {result.Status.ToString().ToLowerInvariant()} ({done}/{total})", done, total);
                if (result.Status == SqbNodeStatus.Failed) _log.Failure($"{result.NodeType} '{step.Name}' failed: {result.Error}");
            }
            // A session goes back to the pool only when all its work succeeded (one that saw a failure may be broken).
            void GiveBack(IWarehouseSession? session, bool ok)
            {
                if (session is null) return;
                if (ok) sessions.Add(session);
                else session.Dispose();
            }

            DagScheduler.Run(steps.Select(s => s.Key).ToList(), steps.ToDictionary(s => s.Key, s => s.DependsOn, StringComparer.Ordinal),
                concurrency,
                key =>
                {
                    var step = byKey[key];
                    SqbNodeResult result;
                    IWarehouseSession? session = null;
                    try
                    {
                        if (!sessions.TryTake(out session)) session = _openSession();
                        result = step.Run(session);
                    }
                    catch (Exception ex)
                    {
                        result = NodeOutcome.Failure(step.Name, step.Kind, step.Materialized, ex, TimeSpan.Zero);
                    }
                    GiveBack(session, result.Status != SqbNodeStatus.Failed);
                    Finish(step, result);
                    return result.Status != SqbNodeStatus.Failed;
                },
                (key, because) =>
                {
                    var step = byKey[key];
                    results[key] = NodeOutcome.Skipped(step.Name, NodeOutcome.TypeName(step.Kind), step.Materialized, because);
                    Interlocked.Increment(ref finished);
                },
                cancel,
                runWave is null ? null : key => byKey[key].InWave,
                runWave is null ? null : keys =>
                {
                    var wave = keys.Select(k => byKey[k]).ToList();
                    IReadOnlyDictionary<string, SqbNodeResult> waveResults;
                    IWarehouseSession? session = null;
                    try
                    {
                        if (!sessions.TryTake(out session)) session = _openSession();
                        waveResults = runWave(session, wave);
                    }
                    catch (Exception ex)
                    {
                        waveResults = wave.ToDictionary(s => s.Key, s => NodeOutcome.Failure(s.Name, s.Kind, s.Materialized, ex, TimeSpan.Zero));
                    }
                    var outcome = new Dictionary<string, bool>(StringComparer.Ordinal);
                    foreach (var step in wave)
                    {
                        var result = waveResults.TryGetValue(step.Key, out var r) ? r
                            : NodeOutcome.Failure(step.Name, step.Kind, step.Materialized, new InvalidOperationException($"the wave did not report '{step.Name}'"), TimeSpan.Zero);
                        Finish(step, result);
                        outcome[step.Key] = result.Status != SqbNodeStatus.Failed;
                    }
                    GiveBack(session, outcome.Values.All(ok => ok));
                    return outcome;
                });
        }
        finally
        {
            foreach (var session in sessions) session.Dispose();
            _log.Progress(activity, "done", total, total);
        }
        return new Dictionary<string, SqbNodeResult>(results, StringComparer.Ordinal);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using SQLBuild.Core.State;

namespace SQLBuild.PowerShell.Completion;

/// <summary>
/// Runs a state-store lookup for a completer on a worker task and waits at most <see cref="Timeout"/>
/// for it; a slow or unreachable warehouse yields no completions instead of a frozen prompt. The
/// abandoned task finishes (or times out in its driver) on its own. While a lookup for the same
/// question is still running, a new Tab press does not start another one: it waits only for what is
/// left of the first one's time, so repeated presses against a dead host answer at once. A finished
/// answer is reused for <see cref="Fresh"/>. Never throws.
/// </summary>
internal static class StateQuery
{
    private sealed record Entry(Task<IReadOnlyList<StateName>> Task, Stopwatch Age);

    private static readonly ConcurrentDictionary<string, Entry> Entries = new(StringComparer.Ordinal);

    /// <summary>How long a Tab press waits for the state store: 2 s, or SQB_COMPLETION_TIMEOUT_MS.</summary>
    public static TimeSpan Timeout =>
        int.TryParse(Environment.GetEnvironmentVariable("SQB_COMPLETION_TIMEOUT_MS"), out var ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.FromSeconds(2);

    /// <summary>How long a finished answer is reused.</summary>
    public static readonly TimeSpan Fresh = TimeSpan.FromSeconds(3);

    public static IReadOnlyList<StateName> Get(CompletionContext context, string question, Func<StateLookup, IReadOnlyList<StateName>> query)
    {
        try
        {
            if (!context.IsProject) return Array.Empty<StateName>();
            var dir = context.ProjectDirectory;
            var target = context.Target;
            var credential = context.Credential;
            var key = $"{question}\u001f{dir}\u001f{target}\u001f{credential?.UserName}";
            var entry = Entries.AddOrUpdate(key,
                _ => Start(dir, target, credential, query),
                (_, old) => !old.Task.IsCompleted || (old.Task.IsCompletedSuccessfully && old.Age.Elapsed < Fresh) ? old : Start(dir, target, credential, query));

            var left = Timeout - entry.Age.Elapsed;
            if (!entry.Task.IsCompleted && (left <= TimeSpan.Zero || !entry.Task.Wait(left))) return Array.Empty<StateName>();
            return entry.Task.IsCompletedSuccessfully ? entry.Task.Result : Array.Empty<StateName>();
        }
        catch (Exception)
        {
            return Array.Empty<StateName>();   // a completer never throws
        }
    }

    private static Entry Start(string dir, string? target, System.Net.NetworkCredential? credential, Func<StateLookup, IReadOnlyList<StateName>> query)
    {
        var age = Stopwatch.StartNew();
        var task = Task.Run(() =>
        {
            var lookup = StateLookup.Open(dir, target, credential);
            return lookup is null ? Array.Empty<StateName>() : query(lookup);
        });
        // Observe a failure of an abandoned task so it is never reported as unobserved.
        task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        return new Entry(task, age);
    }
}

using System.Collections.Concurrent;

namespace SQLBuild.Core.Build.Execution;

/// <summary>
/// Runs the nodes of a DAG with at most N at once: a node starts when all its dependencies succeeded;
/// when one fails, everything downstream of it is skipped (with the failed node as the reason).
/// Independent branches run in parallel. Nodes start in the given order when several are ready.
/// <para>
/// Batchable nodes (optional) run per wave: every batchable node that is ready goes into ONE batch task (one worker
/// slot), at most one batch at a time; the nodes that became ready while it ran form the next wave. Each member of a
/// batch succeeds or fails on its own, as if it had run alone.
/// </para>
/// </summary>
internal static class DagScheduler
{
    /// <param name="order">Every node, dependencies first.</param>
    /// <param name="dependencies">Dependencies of each node, restricted to nodes in <paramref name="order"/>.</param>
    /// <param name="execute">Runs one node on a worker thread; returns true on success. Must not throw.</param>
    /// <param name="skip">Called (on the caller's thread) for each node that will not run, with the reason node (null when cancelled).</param>
    /// <param name="batchable">Which nodes run in waves through <paramref name="executeBatch"/> (null: none).</param>
    /// <param name="executeBatch">Runs one wave of batchable nodes on a worker thread; returns each member's success. Must not throw.</param>
    public static void Run(IReadOnlyList<string> order, IReadOnlyDictionary<string, IReadOnlyList<string>> dependencies,
        int concurrency, Func<string, bool> execute, Action<string, string?> skip, CancellationToken cancel,
        Func<string, bool>? batchable = null, Func<IReadOnlyList<string>, IReadOnlyDictionary<string, bool>>? executeBatch = null)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < order.Count; i++) index[order[i]] = i;
        var waitingOn = new Dictionary<string, int>(StringComparer.Ordinal);
        var dependents = order.ToDictionary(n => n, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var node in order)
        {
            var deps = dependencies.TryGetValue(node, out var d) ? d.Where(index.ContainsKey).Distinct().ToList() : new List<string>();
            waitingOn[node] = deps.Count;
            foreach (var dep in deps) dependents[dep].Add(node);
        }
        var inWaves = executeBatch is null || batchable is null ? (Func<string, bool>)(_ => false) : batchable;

        // Ready nodes by their place in the order, those that run in waves apart from those that run alone: each pass takes
        // what it starts from the front of its set, never scanning (or copying) every ready node, which at 10,000 models
        // cost the scheduler seconds.
        var readyWave = new SortedSet<int>();
        var readyAlone = new SortedSet<int>();
        void MakeReady(string node) => (inWaves(node) ? readyWave : readyAlone).Add(index[node]);
        foreach (var n in order)
            if (waitingOn[n] == 0) MakeReady(n);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var running = new Dictionary<Task<IReadOnlyDictionary<string, bool>>, IReadOnlyList<string>>();
        Task? wave = null;

        void SkipDownstream(string failed)
        {
            var stack = new Stack<string>(dependents[failed]);
            while (stack.Count > 0)
            {
                var n = stack.Pop();
                if (!done.Add(n)) continue;
                skip(n, failed);
                foreach (var c in dependents[n]) stack.Push(c);
            }
        }

        var slots = Math.Max(1, concurrency);
        using var workers = new Workers(slots);
        while (readyWave.Count > 0 || readyAlone.Count > 0 || running.Count > 0)
        {
            if (wave is null && running.Count < slots && readyWave.Count > 0 && !cancel.IsCancellationRequested)
            {
                var members = readyWave.Select(i => order[i]).Where(n => !done.Contains(n)).ToList();
                readyWave.Clear();
                if (members.Count > 0)
                {
                    var task = workers.Run(() => executeBatch!(members));
                    running[task] = members;
                    wave = task;
                }
            }
            while (running.Count < slots && readyAlone.Count > 0 && !cancel.IsCancellationRequested)
            {
                var i = readyAlone.Min;
                readyAlone.Remove(i);
                var next = order[i];
                if (done.Contains(next)) continue;
                running[workers.Run(() => (IReadOnlyDictionary<string, bool>)new Dictionary<string, bool>(StringComparer.Ordinal) { [next] = execute(next) })] =
                    new[] { next };
            }
            if (running.Count == 0) break;
            var finished = Task.WhenAny(running.Keys).GetAwaiter().GetResult();
            var names = running[finished];
            running.Remove(finished);
            if (ReferenceEquals(finished, wave)) wave = null;
            foreach (var name in names)
            {
                done.Add(name);
                var ok = finished.IsCompletedSuccessfully && finished.Result.TryGetValue(name, out var success) && success;
                if (!ok) { SkipDownstream(name); continue; }
                foreach (var c in dependents[name])
                    if (--waitingOn[c] == 0 && !done.Contains(c)) MakeReady(c);
            }
        }
        foreach (var n in order)
            if (done.Add(n)) skip(n, null);
    }

    /// <summary>
    /// The threads nodes run on: threads of their own, not the thread pool's. A node blocks for as long as its statements
    /// run, and the pool adds threads for blocked work only about twice a second, so pool workers made the first build of a
    /// process wait seconds for threads (and left the lease's heartbeat timer, which needs a pool thread, waiting with
    /// them). At most as many threads as the concurrency, started as work needs them and kept for the run (a thread per
    /// node cost more to start than a small node takes to build).
    /// </summary>
    private sealed class Workers : IDisposable
    {
        private readonly BlockingCollection<Action> _work = new();
        private readonly int _max;
        private int _threads;
        private int _outstanding;

        public Workers(int max) => _max = max;

        /// <summary>Queues <paramref name="work"/>; called from the scheduler's thread only.</summary>
        public Task<T> Run<T>(Func<T> work)
        {
            var done = new TaskCompletionSource<T>();
            // With no more outstanding items than threads, a thread is free (or about to be) for this one.
            if (Interlocked.Increment(ref _outstanding) > _threads && _threads < _max)
            {
                _threads++;
                new Thread(Loop) { IsBackground = true, Name = "sqlbuild-node" }.Start();
            }
            _work.Add(() =>
            {
                // Counted out before completing: completing wakes the scheduler, which may queue the next item at once.
                T result;
                try { result = work(); }
                catch (Exception e)
                {
                    Interlocked.Decrement(ref _outstanding);
                    done.SetException(e);
                    return;
                }
                Interlocked.Decrement(ref _outstanding);
                done.SetResult(result);
            });
            return done.Task;
        }

        private void Loop()
        {
            foreach (var item in _work.GetConsumingEnumerable()) item();
        }

        public void Dispose() => _work.CompleteAdding();
    }
}

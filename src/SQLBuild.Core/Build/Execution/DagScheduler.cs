namespace SQLBuild.Core.Build.Execution;

/// <summary>
/// Runs the nodes of a DAG with at most N at once: a node starts when all its dependencies succeeded;
/// when one fails, everything downstream of it is skipped (with the failed node as the reason).
/// Independent branches run in parallel. Nodes start in the given order when several are ready.
/// </summary>
internal static class DagScheduler
{
    /// <param name="order">Every node, dependencies first.</param>
    /// <param name="dependencies">Dependencies of each node, restricted to nodes in <paramref name="order"/>.</param>
    /// <param name="execute">Runs one node on a worker thread; returns true on success. Must not throw.</param>
    /// <param name="skip">Called (on the caller's thread) for each node that will not run, with the reason node (null when cancelled).</param>
    public static void Run(IReadOnlyList<string> order, IReadOnlyDictionary<string, IReadOnlyList<string>> dependencies,
        int concurrency, Func<string, bool> execute, Action<string, string?> skip, CancellationToken cancel)
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

        var ready = new SortedSet<int>(order.Where(n => waitingOn[n] == 0).Select(n => index[n]));
        var done = new HashSet<string>(StringComparer.Ordinal);
        var running = new Dictionary<Task<bool>, string>();

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

        while (ready.Count > 0 || running.Count > 0)
        {
            while (running.Count < Math.Max(1, concurrency) && ready.Count > 0 && !cancel.IsCancellationRequested)
            {
                var next = order[ready.Min];
                ready.Remove(ready.Min);
                if (done.Contains(next)) continue;
                running[Task.Run(() => execute(next))] = next;
            }
            if (running.Count == 0) break;
            var finished = Task.WhenAny(running.Keys).GetAwaiter().GetResult();
            var name = running[finished];
            running.Remove(finished);
            done.Add(name);
            var ok = finished.IsCompletedSuccessfully && finished.Result;
            if (!ok) { SkipDownstream(name); continue; }
            foreach (var c in dependents[name])
                if (--waitingOn[c] == 0 && !done.Contains(c)) ready.Add(index[c]);
        }
        foreach (var n in order)
            if (done.Add(n)) skip(n, null);
    }
}

using System.Collections.Concurrent;
using SQLBuild.Core.Build.Execution;
using Xunit;

namespace SQLBuild.Core.Tests.Build;

/// <summary>The scheduler's threads: nodes block on their statements, so they must not run on (and starve) the thread pool.</summary>
public sealed class DagSchedulerTests
{
    [Fact]
    public void Nodes_and_waves_run_on_threads_of_their_own_not_the_thread_pool()
    {
        // a, b, c independent; w1 and w2 (batchable) wait on a and b; d on w1.
        var order = new[] { "a", "b", "c", "w1", "w2", "d" };
        var deps = new Dictionary<string, IReadOnlyList<string>>
        {
            ["w1"] = new[] { "a" }, ["w2"] = new[] { "b" }, ["d"] = new[] { "w1" },
        };
        var onPool = new ConcurrentDictionary<string, bool>();
        var waves = new ConcurrentBag<IReadOnlyList<string>>();
        var skipped = new List<string>();
        DagScheduler.Run(order, deps, concurrency: 4,
            execute: n => { onPool[n] = Thread.CurrentThread.IsThreadPoolThread; return true; },
            skip: (n, _) => skipped.Add(n), CancellationToken.None,
            batchable: n => n.StartsWith('w'),
            executeBatch: members =>
            {
                waves.Add(members);
                foreach (var m in members) onPool[m] = Thread.CurrentThread.IsThreadPoolThread;
                return members.ToDictionary(m => m, _ => true);
            });

        Assert.Empty(skipped);
        Assert.Equal(order.OrderBy(n => n), onPool.Keys.OrderBy(n => n));
        Assert.All(onPool, p => Assert.False(p.Value, $"{p.Key} ran on a thread-pool thread"));
        Assert.Equal(new[] { "w1", "w2" }, waves.SelectMany(w => w).OrderBy(n => n));
    }

    [Fact]
    public void As_many_blocked_nodes_as_the_concurrency_run_at_once()
    {
        // Eight nodes that each wait until all eight have started: they finish only if all eight run at once.
        const int count = 8;
        var order = Enumerable.Range(0, count).Select(i => $"n{i}").ToArray();
        using var started = new CountdownEvent(count);
        var all = new ConcurrentBag<bool>();
        DagScheduler.Run(order, new Dictionary<string, IReadOnlyList<string>>(), concurrency: count,
            execute: _ => { started.Signal(); var ok = started.Wait(TimeSpan.FromSeconds(30)); all.Add(ok); return ok; },
            skip: (_, _) => { }, CancellationToken.None);
        Assert.Equal(count, all.Count);
        Assert.All(all, Assert.True);
    }

    [Fact]
    public void Ready_nodes_start_in_the_given_order_and_a_failure_skips_only_what_is_downstream_of_it()
    {
        // e, d, c, b, a in that order, all independent except b -> d; with one slot they run one at a time in order.
        var order = new[] { "e", "d", "c", "b", "a" };
        var deps = new Dictionary<string, IReadOnlyList<string>> { ["b"] = new[] { "d" } };
        var ran = new List<string>();
        var skipped = new List<(string Node, string? Because)>();
        DagScheduler.Run(order, deps, concurrency: 1,
            execute: n => { lock (ran) ran.Add(n); return n != "d"; },
            skip: (n, because) => skipped.Add((n, because)), CancellationToken.None);
        Assert.Equal(new[] { "e", "d", "c", "a" }, ran);
        Assert.Equal(new[] { ("b", (string?)"d") }, skipped);
    }

    [Fact]
    public void A_cancelled_run_starts_nothing_more_and_skips_the_rest_without_a_reason()
    {
        using var cancel = new CancellationTokenSource();
        var order = new[] { "a", "b", "c" };
        var ran = new List<string>();
        var skipped = new List<(string Node, string? Because)>();
        DagScheduler.Run(order, new Dictionary<string, IReadOnlyList<string>> { ["b"] = new[] { "a" }, ["c"] = new[] { "b" } }, concurrency: 2,
            execute: n => { lock (ran) ran.Add(n); cancel.Cancel(); return true; },
            skip: (n, because) => skipped.Add((n, because)), cancel.Token);
        Assert.Equal(new[] { "a" }, ran);
        Assert.Equal(new[] { ("b", (string?)null), ("c", (string?)null) }, skipped);
    }
}

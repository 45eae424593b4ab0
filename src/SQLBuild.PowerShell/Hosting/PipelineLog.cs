using System.Collections.Concurrent;
using System.Management.Automation;
using SQLBuild.Core.Logging;

namespace SQLBuild.PowerShell.Hosting;

/// <summary>
/// The core's log callback, marshalled onto the pipeline thread: workers enqueue, the cmdlet's own
/// thread drains (a cmdlet may call Write* only from the thread that runs it). The pipeline thread sleeps until
/// something is queued and then writes everything queued, so a build's thousands of verbose lines wake it once per
/// burst, not once per line (a blocking collection woke it, and spun it, for each).
/// </summary>
internal sealed class PipelineLog : ISqbLog
{
    private readonly ConcurrentQueue<Action<SqbCmdlet>> _queue = new();
    private readonly AutoResetEvent _posted = new(false);
    /// <summary>1 while a wake-up is pending (set by a post, cleared by the pump before it drains).</summary>
    private int _signalled;
    private volatile bool _completed;
    private readonly int _activityId;
    private readonly bool _azureDevOps;

    public PipelineLog(int activityId, bool azureDevOps)
    {
        _activityId = activityId;
        _azureDevOps = azureDevOps;
    }

    public void Verbose(string message) => Post(c => c.WriteVerbose(message));
    public void Warning(string message) => Post(c => c.WriteSqbWarning(message));
    /// <summary>To the warning stream only: the error record written for the same failure is its one logissue.</summary>
    public void Failure(string message) => Post(c => c.WriteWarning(message));

    public void Progress(string activity, string status, int done, int total) => Post(c =>
    {
        var record = new ProgressRecord(_activityId, activity, status)
        {
            PercentComplete = total <= 0 ? -1 : Math.Min(100, done * 100 / total),
            RecordType = done >= total && total > 0 ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        c.WriteProgress(record);
    });

    public void Section(string name) => Post(c =>
    {
        if (_azureDevOps) c.WriteAzureDevOps(AzureDevOps.Section(name));
        c.WriteVerbose(name);
    });

    private void Post(Action<SqbCmdlet> action)
    {
        if (_completed) return; // the cmdlet has finished
        _queue.Enqueue(action);
        Wake();
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _posted.Set();
    }

    public void Complete()
    {
        _completed = true;
        Interlocked.Exchange(ref _signalled, 1);
        _posted.Set();
    }

    /// <summary>
    /// Runs queued writes on the calling (pipeline) thread until <see cref="Complete"/>. Once the pipeline is being
    /// stopped, writing throws; the rest of the queue is then drained without writing, so the caller still waits for
    /// the work to finish (a stopped build releases its lock and journals the stop before the cmdlet returns).
    /// </summary>
    public void Pump(SqbCmdlet cmdlet)
    {
        var stopped = false;
        while (true)
        {
            _posted.WaitOne();
            // Cleared before draining: whatever is posted from here on wakes the next round. A full fence, not a volatile
            // write: x86 lets a plain store pass the drain's reads, so a post could still see 1 (no wake) while the drain
            // had already found the queue empty, and its line would wait for the next post.
            Interlocked.Exchange(ref _signalled, 0);
            var completed = _completed;
            while (_queue.TryDequeue(out var action))
            {
                if (stopped) continue;
                try
                {
                    cmdlet.AnnounceSecrets();
                    action(cmdlet);
                }
                catch (PipelineStoppedException) { stopped = true; }
            }
            // Completed before that drain: nothing can be posted after it (posts end with the work).
            if (completed) break;
        }
        // The event is not disposed: a post racing the end (a late heartbeat) may still set it, and must not throw.
    }
}

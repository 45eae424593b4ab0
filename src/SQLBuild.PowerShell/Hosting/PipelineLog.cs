using System.Collections.Concurrent;
using System.Management.Automation;
using SQLBuild.Core.Logging;

namespace SQLBuild.PowerShell.Hosting;

/// <summary>
/// The core's log callback, marshalled onto the pipeline thread: workers enqueue, the cmdlet's own
/// thread drains (a cmdlet may call Write* only from the thread that runs it).
/// </summary>
internal sealed class PipelineLog : ISqbLog
{
    private readonly BlockingCollection<Action<SqbCmdlet>> _queue = new();
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
        try { _queue.Add(action); }
        catch (InvalidOperationException) { /* completed: the cmdlet has finished */ }
    }

    public void Complete() => _queue.CompleteAdding();

    /// <summary>
    /// Runs queued writes on the calling (pipeline) thread until <see cref="Complete"/>. Once the pipeline is being
    /// stopped, writing throws; the rest of the queue is then drained without writing, so the caller still waits for
    /// the work to finish (a stopped build releases its lock and journals the stop before the cmdlet returns).
    /// </summary>
    public void Pump(SqbCmdlet cmdlet)
    {
        var stopped = false;
        foreach (var action in _queue.GetConsumingEnumerable())
        {
            if (stopped) continue;
            try
            {
                cmdlet.AnnounceSecrets();
                action(cmdlet);
            }
            catch (PipelineStoppedException) { stopped = true; }
        }
    }
}

using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Logging;
using SQLBuild.Core.Project;
using SQLBuild.PowerShell.Hosting;

namespace SQLBuild.PowerShell;

/// <summary>
/// Base of every SQLBuild cmdlet: the common parameters (-Path, -Target, -Credential), project
/// compilation, running core work off the pipeline thread with its log marshalled back, error
/// conversion, and Azure DevOps logging commands under TF_BUILD.
/// </summary>
public abstract class SqbCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stop = new();
    private static int _nextActivity = 7400;

    /// <summary>The project folder (default: the current location).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The target of sqlbuild_project.toml to use (default: local `target`, then `default_target`).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetCompleter))]
    public string? Target { get; set; }

    /// <summary>User and password for the warehouse connection, overriding the project files.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    protected CancellationToken StopToken => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>The project folder as a file-system path.</summary>
    protected string ProjectDirectory =>
        Path is null ? SessionState.Path.CurrentFileSystemLocation.ProviderPath : GetUnresolvedProviderPathFromPSPath(Path);

    private (string Dir, string? Target, CompiledProject Project)? _compiled;

    /// <summary>
    /// True for a cmdlet that builds, plans or loads seeds (or shows their columns): every seed is read and checked when
    /// the project compiles, so a seed that is not UTF-8 CSV is P015 before anything runs. Other cmdlets read a seed only
    /// if they come to need its content (a version hash), so a bad data file cannot stop lock, journal, environment and
    /// state commands (issue 12).
    /// </summary>
    protected virtual bool ReadsSeeds => false;

    /// <summary>Compiles the project once per (folder, target) for the whole pipeline, not once per input object.</summary>
    protected CompiledProject CompileProject()
    {
        var dir = ProjectDirectory;
        if (_compiled is { } c && c.Dir == dir && c.Target == Target) return c.Project;
        var readSeeds = ReadsSeeds;
        var project = Run(_ => ProjectCompiler.Compile(dir, Target, Credential?.GetNetworkCredential(), readSeeds));
        AnnounceSecrets();
        foreach (var warning in project.Warnings) WriteSqbWarning(warning.Message, warning.ErrorId);
        _compiled = (dir, Target, project);
        return project;
    }

    /// <summary>True when the user asked for -WhatIf.</summary>
    protected bool WhatIfRequested =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true };

    /// <summary>-WhatIf, given or through $WhatIfPreference: for cmdlets that list their own "What if:" lines.</summary>
    protected bool WhatIfMode =>
        WhatIfRequested || GetVariableValue("WhatIfPreference") is true or SwitchParameter { IsPresent: true };

    /// <summary>ShouldProcess, except that -Force skips the confirmation prompt (but still honours -WhatIf).</summary>
    protected bool ShouldProcessUnlessForced(bool force, string target, string action) =>
        force && !WhatIfRequested || ShouldProcess(target, action);

    /// <summary>
    /// Runs <paramref name="work"/> on a worker thread while this thread writes its verbose, warning and
    /// progress messages. Exceptions are rethrown here, on the pipeline thread. When the pipeline is stopped
    /// (Ctrl+C), <see cref="StopToken"/> cancels the work's statements; this waits for the work to wind down
    /// (release its lock, journal the stop), then ends the pipeline.
    /// </summary>
    protected T Run<T>(Func<ISqbLog, T> work)
    {
        var log = new PipelineLog(Interlocked.Increment(ref _nextActivity), AzureDevOps.IsAgent);
        // A thread of its own (not the pool's): the work blocks on its statements for as long as they run, and blocked pool
        // threads starve the timers (the lease's heartbeat) and the build's own workers until the pool grows.
        var task = Task.Factory.StartNew(() =>
        {
            try { return work(log); }
            finally { log.Complete(); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        log.Pump(this);
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    protected override void ProcessRecord() => Guarded(ProcessSqbRecord);

    /// <summary>Runs after the last input object, with the same error conversion as <see cref="ProcessSqbRecord"/>:
    /// cmdlets that batch their pipeline input (one lock, one transaction) do the work here.</summary>
    protected override void EndProcessing() => Guarded(EndSqbProcessing);

    protected virtual void EndSqbProcessing() { }

    private void Guarded(Action body)
    {
        try
        {
            body();
        }
        catch (SqbException ex)
        {
            ThrowSqbError(ex);
        }
        catch (PipelineStoppedException) { throw; }
        catch (Exception ex) when (ex is not ActionPreferenceStopException)
        {
            var record = ErrorMapping.Unexpected(ex, null);
            WriteAzureDevOpsIssue("error", record.FullyQualifiedErrorId, record.ErrorDetails.Message);
            ThrowTerminatingError(record);
        }
    }

    protected abstract void ProcessSqbRecord();

    /// <summary>Terminating: the command cannot go on (bad input, guard, lock, connection).</summary>
    protected void ThrowSqbError(SqbException ex)
    {
        WriteAzureDevOpsIssue("error", ex.ErrorId, ex.Message);
        ThrowTerminatingError(ErrorMapping.ToRecord(ex));
    }

    /// <summary>Non-terminating: one item failed, the rest of the pipeline goes on.</summary>
    protected void WriteSqbError(SqbException ex)
    {
        WriteAzureDevOpsIssue("error", ex.ErrorId, ex.Message);
        WriteError(ErrorMapping.ToRecord(ex));
    }

    /// <summary>
    /// Several non-terminating errors of one command (every failed node of a build): under Azure DevOps every logissue
    /// line is written first, then the errors, each with <paramref name="before"/> (its output object) first. Under
    /// -ErrorAction Stop the first WriteError ends the command, and every failure must still get its one logissue.
    /// </summary>
    protected void WriteSqbErrors<T>(IReadOnlyList<(T Item, SqbException? Error)> items, Action<T> before)
    {
        foreach (var (_, ex) in items)
            if (ex is not null) WriteAzureDevOpsIssue("error", ex.ErrorId, ex.Message);
        foreach (var (item, ex) in items)
        {
            before(item);
            if (ex is not null) WriteError(ErrorMapping.ToRecord(ex));
        }
    }

    /// <summary>A warning, and under Azure DevOps its logissue (coded when <paramref name="code"/> is given).</summary>
    internal void WriteSqbWarning(string message, string? code = null)
    {
        WriteAzureDevOpsIssue("warning", code, message);
        WriteWarning(message);
    }

    internal void WriteAzureDevOps(string line)
    {
        if (!AzureDevOps.IsAgent) return;
        AnnounceSecrets();
        Host.UI.WriteLine(line);
    }

    private void WriteAzureDevOpsIssue(string type, string? code, string message) => WriteAzureDevOps(AzureDevOps.Issue(type, code, message));

    /// <summary>Under Azure DevOps, a <c>task.setsecret</c> line for every secret value the project gave (passwords,
    /// connection-string secrets) not announced yet, before anything else reaches the job log.</summary>
    internal void AnnounceSecrets()
    {
        if (!AzureDevOps.IsAgent) return;
        foreach (var line in AzureDevOps.NewSecretLines()) Host.UI.WriteLine(line);
    }
}

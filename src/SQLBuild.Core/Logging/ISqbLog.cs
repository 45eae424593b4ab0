namespace SQLBuild.Core.Logging;

/// <summary>
/// The one way the core talks to whoever runs it. The PowerShell layer implements it with
/// WriteVerbose / WriteWarning / WriteProgress; tests use <see cref="NullLog"/> or a recorder.
/// Implementations must be thread-safe: parallel build workers call them.
/// Nothing passed here may contain a password: callers pass statement kinds and targets, not
/// connection strings.
/// </summary>
public interface ISqbLog
{
    void Verbose(string message);
    void Warning(string message);
    /// <summary>A failure the caller also reports as an error once the work ends (a failed node of a build): shown
    /// now, as a warning, but it must not make a second pipeline annotation beside the error.</summary>
    void Failure(string message) => Warning(message);
    /// <summary>Long work: <paramref name="done"/> of <paramref name="total"/> items.</summary>
    void Progress(string activity, string status, int done, int total);
    /// <summary>A phase of the work starts (seeds, models, tests); shown as a section header in pipelines.</summary>
    void Section(string name);
}

public sealed class NullLog : ISqbLog
{
    public static readonly NullLog Instance = new();
    public void Verbose(string message) { }
    public void Warning(string message) { }
    public void Progress(string activity, string status, int done, int total) { }
    public void Section(string name) { }
}

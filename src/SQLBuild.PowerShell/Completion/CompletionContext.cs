using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;

namespace SQLBuild.PowerShell.Completion;

/// <summary>
/// What a completer knows about the command line being completed: the project folder (-Path, else the
/// current location), the target (-Target), other bound values, and the word typed so far. Builds the
/// <see cref="CompletionResult"/>s, quoting values when needed and keeping the user's quote style.
/// </summary>
internal sealed class CompletionContext
{
    private readonly IDictionary _bound;

    public CompletionContext(string wordToComplete, IDictionary? fakeBoundParameters)
    {
        _bound = fakeBoundParameters ?? new Hashtable();
        Quote = wordToComplete.Length > 0 && wordToComplete[0] is '\'' or '"' ? wordToComplete[0] : null;
        Word = Quote is null ? wordToComplete : wordToComplete.Trim(Quote.Value);
        ProjectDirectory = ResolveProjectDirectory(Bound("Path"));
        Target = Bound("Target");
        var credential = _bound.Contains("Credential") ? _bound["Credential"] : null;
        if (credential is PSObject wrapped) credential = wrapped.BaseObject;
        Credential = (credential as PSCredential)?.GetNetworkCredential();
    }

    /// <summary>The word typed so far, without its quotes.</summary>
    public string Word { get; }
    public char? Quote { get; }
    public string ProjectDirectory { get; }
    public string? Target { get; }
    /// <summary>-Credential when the command line already binds one (a variable, say).</summary>
    public System.Net.NetworkCredential? Credential { get; }

    /// <summary>True when the folder holds a project file.</summary>
    public bool IsProject => File.Exists(System.IO.Path.Combine(ProjectDirectory, "sqlbuild_project.toml"));

    /// <summary>A bound parameter's value as text (the first element of an array), or null.</summary>
    public string? Bound(string name)
    {
        if (!_bound.Contains(name)) return null;
        var value = _bound[name];
        if (value is PSObject pso) value = pso.BaseObject;
        if (value is IEnumerable e and not string) value = e.Cast<object?>().FirstOrDefault();
        if (value is PSObject inner) value = inner.BaseObject;
        var text = value?.ToString();
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    /// <summary>Results for the candidates that start with the typed word (case-insensitive), in the given order.</summary>
    public IEnumerable<CompletionResult> Results(IEnumerable<(string Value, string? Tooltip)> candidates, string? prefix = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (value, tooltip) in candidates)
        {
            var full = (prefix ?? string.Empty) + value;
            if (!full.StartsWith(Word, StringComparison.OrdinalIgnoreCase) || !seen.Add(full)) continue;
            yield return new CompletionResult(QuoteIfNeeded(full), full, CompletionResultType.ParameterValue,
                string.IsNullOrEmpty(tooltip) ? full : tooltip);
        }
    }

    private string QuoteIfNeeded(string value)
    {
        if (Quote is { } q) return q == '\'' ? $"'{value.Replace("'", "''")}'" : $"\"{value.Replace("\"", "`\"")}\"";
        return NeedsQuotes(value) ? $"'{value.Replace("'", "''")}'" : value;
    }

    private static bool NeedsQuotes(string value)
    {
        if (value.Length == 0) return true;
        foreach (var c in value)
            if (char.IsWhiteSpace(c) || c is '\'' or '"' or '`' or '$' or ',' or ';' or '(' or ')' or '{' or '}' or '|' or '&' or '<' or '>' or '@' or '#')
                return true;
        return false;
    }

    private static string ResolveProjectDirectory(string? path)
    {
        var current = CurrentLocation();
        if (path is null) return current;
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            path = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "");
        try
        {
            return System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(current, path));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return current;
        }
    }

    /// <summary>
    /// The session's current file-system location. Completers run on the pipeline thread while the
    /// runspace is busy, so SessionStateProxy is not available; a nested pipeline on this thread is.
    /// </summary>
    private static string CurrentLocation()
    {
        try
        {
            using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            var result = ps.AddCommand("Microsoft.PowerShell.Management\\Get-Location")
                .AddParameter("PSProvider", "FileSystem").Invoke();
            if (result.Count > 0 && result[0]?.BaseObject is PathInfo info && !string.IsNullOrEmpty(info.ProviderPath)) return info.ProviderPath;
        }
        catch (Exception)
        {
            // no usable runspace (a completer called from elsewhere): the process directory
        }
        return Environment.CurrentDirectory;
    }
}

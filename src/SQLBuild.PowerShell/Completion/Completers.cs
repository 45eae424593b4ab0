using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace SQLBuild.PowerShell.Completion;

/// <summary>Base of the SQLBuild completers: builds the context and never lets an exception reach the prompt.</summary>
public abstract class SqbCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var context = new CompletionContext(wordToComplete ?? string.Empty, fakeBoundParameters);
            return Complete(context).ToList();
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    internal abstract IEnumerable<CompletionResult> Complete(CompletionContext context);
}

/// <summary>-Target: the targets of sqlbuild_project.toml and sqlbuild_local.toml.</summary>
public sealed class TargetCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c) =>
        c.Results(ProjectFiles.Targets(c.ProjectDirectory).Select(t => (t.Name, t.Description)));
}

/// <summary>-Model: model names (file stems under models/).</summary>
public sealed class ModelCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c) =>
        c.Results(ProjectFiles.Models(c.ProjectDirectory).Select(m => (m.Name, (string?)m.Path)));
}

/// <summary>-Name of Get-SqbModel: models, seeds and data tests.</summary>
public sealed class NodeNameCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c) =>
        c.Results(ProjectFiles.Models(c.ProjectDirectory)
            .Concat(ProjectFiles.Seeds(c.ProjectDirectory))
            .Concat(ProjectFiles.Tests(c.ProjectDirectory))
            .Select(m => (m.Name, (string?)m.Path)));
}

/// <summary>
/// -Select / -Exclude: model and seed names, <c>tag:x</c>, <c>path:models/x</c>, <c>seed:x</c>; a leading
/// <c>+</c> (with ancestors) is kept, and after <c>a,</c> inside one quoted value the next part completes.
/// </summary>
public sealed class SelectorCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c)
    {
        var dir = c.ProjectDirectory;
        var word = c.Word;
        var comma = word.LastIndexOf(',');
        var head = comma >= 0 ? word[..(comma + 1)] : string.Empty;
        var part = word[head.Length..];
        var plus = part.StartsWith('+') ? "+" : string.Empty;
        var prefix = head + plus;

        var candidates = new List<(string, string?)>();
        var models = ProjectFiles.Models(dir);
        var seeds = ProjectFiles.Seeds(dir);
        if (part.Length - plus.Length == 0 || !part.Contains(':'))
        {
            candidates.AddRange(models.Select(m => (m.Name, (string?)m.Path)));
            candidates.AddRange(seeds.Select(s => (s.Name, (string?)s.Path)));
        }
        candidates.AddRange(ProjectFiles.ModelTags(dir).Select(t => ("tag:" + t, (string?)$"models tagged {t}")));
        candidates.AddRange(ProjectFiles.ModelPaths(dir).Select(p => ("path:" + p, (string?)$"models under {p}")));
        candidates.AddRange(seeds.Select(s => ("seed:" + s.Name, (string?)s.Path)));
        return c.Results(candidates, prefix);
    }
}

/// <summary>-Environment (and environment-valued parameters): virtual environments from the state store.</summary>
public sealed class EnvironmentCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c) =>
        c.Results(StateQuery.Get(c, "environments", l => l.Environments()).Select(n => (n.Value, (string?)$"{n.Value}: {n.Description}")));
}

/// <summary>-CheckpointId: checkpoints, newest first, of -Environment when it is given.</summary>
public sealed class CheckpointCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c)
    {
        var environment = c.Bound("Environment") ?? c.Bound("VirtualEnv");
        return c.Results(StateQuery.Get(c, "checkpoints:" + environment, l => l.Checkpoints(environment))
            .Select(n => (n.Value, (string?)$"{n.Value} ({n.Description})")));
    }
}

/// <summary>-Key: lock keys.</summary>
public sealed class LockKeyCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c) =>
        c.Results(StateQuery.Get(c, "locks", l => l.Locks()).Select(n => (n.Value, (string?)$"{n.Value} {n.Description}")));
}

/// <summary>-BackupId: state backups, newest first.</summary>
public sealed class BackupIdCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext c) =>
        c.Results(StateQuery.Get(c, "backups", l => l.Backups()).Select(n => (n.Value, (string?)n.Description)));
}

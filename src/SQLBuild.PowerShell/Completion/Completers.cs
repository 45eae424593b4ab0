using System.Management.Automation;

namespace SQLBuild.PowerShell.Completion;

/// <summary>-Target: the targets of sqlbuild_project.toml and sqlbuild_local.toml.</summary>
public sealed class TargetCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context) =>
        context.Results(ProjectFiles.Targets(context.ProjectDirectory).Select(t => (t.Name, t.Description)));
}

/// <summary>-Model: model names (file stems under models/).</summary>
public sealed class ModelCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context) =>
        context.Results(ProjectFiles.Models(context.ProjectDirectory).Select(m => (m.Name, (string?)m.Path)));
}

/// <summary>-Name of Get-SqbModel: models, seeds and data tests.</summary>
public sealed class NodeNameCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context) =>
        context.Results(ProjectFiles.Models(context.ProjectDirectory)
            .Concat(ProjectFiles.Seeds(context.ProjectDirectory))
            .Concat(ProjectFiles.Tests(context.ProjectDirectory))
            .Select(m => (m.Name, (string?)m.Path)));
}

/// <summary>
/// -Select / -Exclude: model and seed names, <c>tag:x</c>, <c>path:models/x</c>, <c>seed:x</c>; a leading
/// <c>+</c> (with ancestors) is kept, and after <c>a,</c> inside one quoted value the next part completes.
/// </summary>
public sealed class SelectorCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context)
    {
        var dir = context.ProjectDirectory;
        var word = context.Word;
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
        return context.Results(candidates, prefix);
    }
}

/// <summary>-Environment (and environment-valued parameters): virtual environments from the state store.</summary>
public sealed class EnvironmentCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context) =>
        context.Results(StateQuery.Get(context, "environments", lookup => lookup.Environments())
            .Select(name => (name.Value, (string?)$"{name.Value}: {name.Description}")));
}

/// <summary>-CheckpointId: checkpoints, newest first, of -Environment when it is given.</summary>
public sealed class CheckpointCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context)
    {
        var environment = context.Bound("Environment") ?? context.Bound("VirtualEnv");
        return context.Results(StateQuery.Get(context, "checkpoints:" + environment, lookup => lookup.Checkpoints(environment))
            .Select(name => (name.Value, (string?)$"{name.Value} ({name.Description})")));
    }
}

/// <summary>-Key: lock keys.</summary>
public sealed class LockKeyCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context) =>
        context.Results(StateQuery.Get(context, "locks", lookup => lookup.Locks())
            .Select(name => (name.Value, (string?)$"{name.Value} {name.Description}")));
}

/// <summary>-BackupId: state backups, newest first.</summary>
public sealed class BackupIdCompleter : SqbCompleter
{
    internal override IEnumerable<CompletionResult> Complete(CompletionContext context) =>
        context.Results(StateQuery.Get(context, "backups", lookup => lookup.Backups())
            .Select(name => (name.Value, (string?)name.Description)));
}

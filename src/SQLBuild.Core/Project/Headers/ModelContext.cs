namespace SQLBuild.Core.Project;

/// <summary>
/// What a MODEL header is read against: the project's config layers, variables, default audit severity, generic
/// audits, reusable column schemas and named SQL hooks; and where the warnings of all models are gathered, one per
/// ignored key (naming every place it was set).
/// </summary>
internal sealed class ModelContext
{
    private readonly Dictionary<string, (string Message, List<string> Origins)> _ignored = new(StringComparer.Ordinal);

    public required IReadOnlySet<string> GenericAudits { get; init; }
    public AuditSeverity DefaultSeverity { get; init; } = AuditSeverity.Error;
    public ModelLayers Layers { get; init; } = ModelLayers.None;
    public required ProjectVariables Variables { get; init; }
    public IReadOnlyDictionary<string, ColumnSchema> Schemas { get; init; } = new Dictionary<string, ColumnSchema>();
    public IReadOnlyDictionary<string, NamedHook> Hooks { get; init; } = new Dictionary<string, NamedHook>();

    /// <summary>Notes an accepted thing SQLBuild does not implement; <paramref name="subject"/> groups the places into one warning.</summary>
    public void Ignore(string subject, string origin, string message)
    {
        if (!_ignored.TryGetValue(subject, out var ignored)) _ignored[subject] = ignored = (message, new List<string>());
        if (!ignored.Origins.Contains(origin)) ignored.Origins.Add(origin);
    }

    /// <summary>A context for reading one model on its own thread: the same project, with its own ignored-key notes,
    /// which <see cref="Merge"/> adds to this one's in the models' order.</summary>
    public ModelContext ForOneModel() => new()
    {
        GenericAudits = GenericAudits,
        DefaultSeverity = DefaultSeverity,
        Layers = Layers,
        Variables = Variables,
        Schemas = Schemas,
        Hooks = Hooks,
    };

    /// <summary>Adds the notes of a context from <see cref="ForOneModel"/>, as if its model had been read here.</summary>
    public void Merge(ModelContext one)
    {
        foreach (var (subject, (message, origins)) in one._ignored)
            foreach (var origin in origins)
                Ignore(subject, origin, message);
    }

    /// <summary>One P030 warning per ignored subject, in the order first seen.</summary>
    public IEnumerable<ProjectWarning> Warnings() => _ignored.Values.Select(i =>
        new ProjectWarning(Errors.ErrorCodes.UpstreamKeyIgnored, "UpstreamKeyIgnored",
            $"{(i.Origins.Count == 1 ? i.Origins[0] : $"{i.Origins[0]} and {i.Origins.Count - 1} more")}: {i.Message}"));
}

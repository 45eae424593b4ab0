using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Direct;

/// <summary>
/// Where each node lives in direct mode: selected models and seeds in the target schema; with
/// <c>-DeferTo</c>, unselected ones in the deferred target's schema (through the same connection);
/// sources at their declared schema and table. Renders SQL with those names, quoted by the dialect.
/// </summary>
internal sealed class DirectRelations
{
    private readonly CompiledProject _project;
    private readonly IReadOnlySet<string> _selected;
    private readonly string _schema;
    private readonly string? _deferSchema;
    private readonly SqlDialect _dialect;

    public DirectRelations(CompiledProject project, IReadOnlySet<string> selected, string? deferTo, SqlDialect dialect)
    {
        _project = project;
        _selected = selected;
        _dialect = dialect;
        _schema = project.Config.ActiveTarget.Schema;
        if (deferTo is not null)
        {
            if (!project.Config.Targets.TryGetValue(deferTo, out var target))
                throw new SqbException(ErrorCodes.UnknownTarget, "UnknownTarget",
                    $"unknown target '{deferTo}' for -DeferTo; known targets: {string.Join(", ", project.Config.Targets.Keys.OrderBy(k => k))}",
                    SqbErrorKind.ObjectNotFound, deferTo);
            _deferSchema = target.Schema;
        }
    }

    public string Schema => _schema;
    public string? DeferSchema => _deferSchema;

    /// <summary>The relation a model or seed is written to.</summary>
    public RelationName Own(string name) => new(_schema, name);

    /// <summary>The relation a reference to a model or seed reads.</summary>
    public RelationName Read(string name) =>
        _deferSchema is not null && !_selected.Contains(name) ? new(_deferSchema, name) : new(_schema, name);

    public string Render(string sql, IReadOnlyList<Reference> references) =>
        ReferenceResolution.Render(_project, _dialect, sql, references, Read);
}

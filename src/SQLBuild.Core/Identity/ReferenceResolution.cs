using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Identity;

/// <summary>
/// The one way SQL text with <c>__ref</c>/<c>__seed</c>/<c>__source</c> references becomes warehouse SQL:
/// sources go to their declared schema and table, models and seeds to the relation the caller's mode
/// gives them (direct: the target schema; virtual: a physical version or a logical view), every name
/// quoted by the dialect.
/// </summary>
public static class ReferenceResolution
{
    /// <summary>The declared relation of a source (P011 when the project has no such source).</summary>
    public static RelationName Source(CompiledProject project, string name) =>
        project.Sources.TryGetValue(name, out var source)
            ? new RelationName(source.Schema, source.Table)
            : throw new SqbException(ErrorCodes.UnknownReference, "UnknownSource", $"unknown source '{name}'", SqbErrorKind.ObjectNotFound, name);

    /// <summary>Renders <paramref name="sql"/> with every reference replaced by its quoted relation.</summary>
    public static string Render(CompiledProject project, SqlDialect dialect, string sql, IReadOnlyList<Reference> references,
        Func<string, RelationName> node) =>
        ReferenceRenderer.Render(sql, references, r => dialect.Qualify(r.Kind == ReferenceKind.Source ? Source(project, r.Name) : node(r.Name)));
}

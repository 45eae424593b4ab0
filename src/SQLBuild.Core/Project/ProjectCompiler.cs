using System.Net;

namespace SQLBuild.Core.Project;

/// <summary>Entry point: project folder -> <see cref="CompiledProject"/>.</summary>
public static class ProjectCompiler
{
    /// <summary>
    /// Reads and checks the whole project. Throws <see cref="Errors.SqbException"/> (P0xx / D016) naming
    /// the file and line (or TOML key) of the first problem; never touches a warehouse.
    /// </summary>
    public static CompiledProject Compile(string projectDirectory, string? target = null, NetworkCredential? credential = null)
        => throw new NotImplementedException();
}

/// <summary>Selectors of SPEC §2 (<c>name</c>, <c>tag:x</c>, <c>path:models/x</c>, <c>seed:x</c>, <c>+x</c>, <c>x+</c>, <c>+x+</c>,
/// several values = union, <c>a,b</c> = intersection), minus excludes.</summary>
public static class Selector
{
    /// <summary>Returns the selected model and seed names. Null or empty <paramref name="select"/> = every model and seed.
    /// Throws P020 for an unknown name, tag or path.</summary>
    public static IReadOnlySet<string> Resolve(CompiledProject project, IReadOnlyList<string>? select, IReadOnlyList<string>? exclude)
        => throw new NotImplementedException();
}

using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// Factories for the compiler's errors, so every code keeps one ErrorName and one message shape:
/// <c>file:line: what is wrong; what was expected</c>.
/// </summary>
internal static class ProjectErrors
{
    public static string At(string file, int line) => line > 0 ? $"{file}:{line}" : file;

    public static SqbException ConfigSyntax(string file, int line, int column, string parserMessage) =>
        new(ErrorCodes.ConfigSyntax, "ConfigSyntaxError",
            $"{file}:{line}:{column}: invalid TOML: {parserMessage}",
            SqbErrorKind.ParserError, new SourceLocation(file, line, column),
            $"Fix the TOML syntax in {file} at line {line}.");

    public static SqbException ConfigInvalid(string file, int line, string message, string? action = null) =>
        new(ErrorCodes.ConfigInvalid, "ConfigInvalid", $"{At(file, line)}: {message}",
            SqbErrorKind.InvalidData, new SourceLocation(file, Math.Max(line, 1)),
            action ?? $"Correct the value in {file}.");

    public static SqbException MissingEnvVar(string file, int line, string keyPath, string variable) =>
        new(ErrorCodes.MissingEnvVar, "MissingEnvironmentVariable",
            $"{At(file, line)}: {keyPath}: environment variable '{variable}' is not set",
            SqbErrorKind.InvalidData, variable,
            $"Set the environment variable {variable} or change {keyPath} in {file}.");

    public static SqbException UnknownTarget(string message, SqbErrorKind kind, string? name) =>
        new(ErrorCodes.UnknownTarget, "UnknownTarget", message, kind, name,
            "Pass -Target with one of the known targets, or set target in sqlbuild_local.toml or default_target in sqlbuild_project.toml.");

    public static SqbException ProjectNotFound(string message, string path) =>
        new(ErrorCodes.ProjectNotFound, "ProjectNotFound", message, SqbErrorKind.ObjectNotFound, path,
            "Run the command in a project folder (one holding sqlbuild_project.toml) or pass -Path.");

    /// <summary>P010 for a header key or value (or the SQL body) that parses but is wrong.</summary>
    public static SqbException ModelHeader(string file, int line, string message) =>
        ModelHeader(file, line, message, SqbErrorKind.InvalidData);

    /// <summary>P010 for header syntax: unterminated header or string, missing ';', unexpected character.</summary>
    public static SqbException ModelHeaderSyntax(string file, int line, string message) =>
        ModelHeader(file, line, message, SqbErrorKind.ParserError);

    private static SqbException ModelHeader(string file, int line, string message, SqbErrorKind kind) =>
        new(ErrorCodes.ModelHeader, "ModelHeaderInvalid", $"{At(file, line)}: {message}",
            kind, new SourceLocation(file, Math.Max(line, 1)),
            $"Fix the MODEL ( ... ); header or the query of {file}.");

    public static SqbException AuditInvalid(string file, int line, string message) =>
        AuditInvalid(file, line, message, SqbErrorKind.InvalidData);

    public static SqbException AuditSyntax(string file, int line, string message) =>
        AuditInvalid(file, line, message, SqbErrorKind.ParserError);

    private static SqbException AuditInvalid(string file, int line, string message, SqbErrorKind kind) =>
        new(ErrorCodes.AuditInvalid, "AuditInvalid", $"{At(file, line)}: {message}",
            kind, new SourceLocation(file, Math.Max(line, 1)),
            $"Fix the audit in {file}.");

    public static SqbException UnknownReference(string file, int line, string message, SqbErrorKind kind = SqbErrorKind.ObjectNotFound) =>
        new(ErrorCodes.UnknownReference, "UnknownReference", $"{At(file, line)}: {message}",
            kind, new SourceLocation(file, Math.Max(line, 1)),
            "Reference an existing model with __ref(\"name\"), a seed with __seed(\"name\") or a source with __source(\"name\").");

    public static SqbException DuplicateName(string message, string name) =>
        new(ErrorCodes.DuplicateName, "DuplicateName", message, SqbErrorKind.InvalidData, name,
            "Models, seeds and sources share one namespace: rename one of them.");

    public static SqbException Cycle(string file, int line, string cycleText, string firstName) =>
        new(ErrorCodes.Cycle, "ReferenceCycle", $"{At(file, line)}: cycle in model references: {cycleText}",
            SqbErrorKind.InvalidData, firstName,
            "Break the cycle: a model cannot read, directly or indirectly, from itself.");

    public static SqbException InvalidName(string file, int line, string name, string what) =>
        new(ErrorCodes.InvalidModelName, "InvalidResourceName",
            $"{At(file, line)}: invalid {what} name '{name}': expected lowercase snake_case (^[a-z][a-z0-9_]*$)",
            SqbErrorKind.InvalidData, name,
            "Rename the file (or entry) to lowercase letters, digits and underscores, starting with a letter.");

    public static SqbException SeedInvalid(string file, int line, string message, SqbErrorKind kind = SqbErrorKind.InvalidData) =>
        new(ErrorCodes.SeedInvalid, "SeedInvalid", $"{At(file, line)}: {message}",
            kind, new SourceLocation(file, Math.Max(line, 1)),
            $"Fix the CSV in {file}: a header row and the same number of fields on every row.");

    public static SqbException SourceInvalid(string file, int line, string message, SqbErrorKind kind = SqbErrorKind.InvalidData) =>
        new(ErrorCodes.SourceInvalid, "SourceInvalid", $"{At(file, line)}: {message}",
            kind, new SourceLocation(file, Math.Max(line, 1)),
            $"Fix {file}: sources: [{{ name: ..., schema: ..., table: ... }}].");

    public static SqbException Selector(string message, SqbErrorKind kind, string value) =>
        new(ErrorCodes.SelectorInvalid, "SelectorInvalid", message, kind, value,
            "Use a model or seed name, tag:x, path:models/x, seed:x or source:x, with optional + before or after, or a path a~b.");
}

namespace SQLBuild.Core.Errors;

/// <summary>
/// Codes this product adds to upstream's (upstream owns S0xx, C2xx, C9xx and D0xx; see UPSTREAM-NOTES).
/// P0xx: project files and configuration. W0xx: warehouse and connections. B0xx: build.
/// </summary>
public static class ErrorCodes
{
    // Project files
    public const string ConfigSyntax = "P001";        // sqlbuild_project.toml / sqlbuild_local.toml does not parse
    public const string ConfigInvalid = "P002";       // a key has a wrong type, an unknown value, or is missing
    public const string UnknownTarget = "P003";
    public const string MissingEnvVar = "P004";
    public const string ProjectNotFound = "P005";
    public const string ModelHeader = "P010";         // MODEL ( ... ); header key or value
    public const string UnknownReference = "P011";
    public const string DuplicateName = "P012";
    public const string Cycle = "P013";
    public const string InvalidModelName = "D016";    // upstream's code for an invalid resource identity
    public const string SeedInvalid = "P015";
    public const string SourceInvalid = "P016";
    public const string AuditInvalid = "P017";
    public const string SelectorInvalid = "P020";

    // Warehouse
    public const string ConnectionFailed = "W001";
    public const string IdentifierTooLong = "W002";
    public const string IdentifierInvalid = "W003";
    public const string DatabaseInUse = "W004";
    public const string SqlFailed = "W010";

    // State store lifecycle. Upstream renders these state-store errors with its fallback code E001
    // (UPSTREAM-NOTES 5.0, 5.4); E001/E002 are taken here (mode guard, not initialized), so each gets its own.
    public const string StateRequiresVirtualMode = "E001"; // also: target has no [targets.x.state]
    public const string StateNotInitialized = "E002";
    public const string InvalidStateSchema = "E030";  // "Cannot backup invalid state schema" (migrate)
    public const string NoStateBackup = "E031";       // "No state backup is available for rollback"
    public const string StateBackupNotFound = "E032"; // "State backup schema '<schema>__backup_<id>' does not exist"
    public const string StateResetDisabled = "E033";  // "state reset is disabled for this target. ..."
    public const string InvalidStateBackup = "E034";  // a backup schema lacks a state table or column, or has a wrong type

    // Build
    public const string BuildFailed = "B001";
    public const string ModeGuardDeferTo = "C242";
    public const string ModeGuardVirtualFlag = "C263";
}

namespace SQLBuild.Core.Errors;

/// <summary>
/// Codes this product adds to upstream's (upstream owns S0xx, C2xx, C9xx and D0xx; see UPSTREAM-NOTES).
/// P0xx: project files and configuration. W0xx: warehouse and connections. B0xx: build.
/// R0xx: reconcile findings that upstream has no code for.
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
    public const string AuditFailed = "B002";       // an error-severity audit failed: the relation or ref was not swapped in
    public const string TestFailed = "B003";        // a data test returned failing rows
    public const string ModeGuardDeferTo = "C242";
    public const string ModeGuardVirtualFlag = "C263";

    // Locks and the environment lifecycle (upstream's codes)
    public const string LockNotFound = "C271";          // Clear-SqbLock -Key: no such lock is held
    public const string NotTargetEnvironment = "C285";  // state detach names another environment than the target's own

    // Reconcile and repair (upstream's C250-C254, C262; R0xx are ours)
    public const string LogicalIsTable = "C250";        // logical target for 'm' is a table; repair-view will not overwrite it
    public const string MissingTrackedPhysical = "C251"; // missing tracked physical relation for 'm'
    public const string MissingPhysical = "C252";       // missing physical relation for 'm'
    public const string UntrackedRelation = "C253";     // physical relation '<rel>' is not a tracked relation for '<m>'
    public const string ReconcileModeGuard = "C254";    // reconcile requires virtual_environments = true
    public const string AttachCancelled = "C262";       // reconcile attach cancelled
    public const string MissingRef = "R001";            // missing ref for 'm' (repair-view cannot recreate a view without a ref)
    public const string UnexpectedView = "R002";        // a view in the logical schema for no ref: reviewed and dropped by hand
    public const string FailedOperation = "R003";       // a failed or interrupted operation: retried with its own cmdlet
    public const string ConfirmationRequired = "R010";  // typed confirmation needed but the session cannot prompt
}

namespace SQLBuild.Core.Errors;

/// <summary>
/// Every error code the product raises, each with the shape of its message. Upstream owns S0xx,
/// C2xx, C9xx and D0xx (see UPSTREAM-NOTES); this product adds P0xx (project files and
/// configuration), W0xx (warehouse and connections), E0xx (state store lifecycle), B0xx (build),
/// R0xx (reconcile findings that upstream has no code for), J0xx (janitor), L0xx (leases) and X0xx (an error nobody expected). Where upstream gives one code two
/// meanings (S028), there is one constant per meaning.
/// </summary>
public static class ErrorCodes
{
    // Project files
    public const string ConfigSyntax = "P001";        // sqlbuild_project.toml / sqlbuild_local.toml does not parse
    public const string ConfigInvalid = "P002";       // a key has a wrong type, an unknown value, or is missing; also
                                                      // "retention_days must be 0 or more" / "max_checkpoints must be at least 1";
                                                      // <file>:<line>: unknown key '<k>' in [<table>]; did you mean '<closest>'?
    public const string UnknownTarget = "P003";       // unknown target '<t>' (from <origin>); known targets: a, b
    public const string MissingEnvVar = "P004";       // <file>:<line>: <key>: environment variable '<name>' is not set
    public const string ProjectNotFound = "P005";     // no sqlbuild_project.toml in '<dir>' / project folder '<dir>' does not exist
    public const string ModelHeader = "P010";         // <file>:<line>: MODEL ( ... ); header key or value
    public const string UnknownReference = "P011";    // unknown model '<m>' / unknown source '<s>'
    public const string DuplicateName = "P012";       // two of the models, seeds and sources share a name
    public const string Cycle = "P013";               // <file>:<line>: cycle in model references: a -> b -> a
    public const string InvalidModelName = "D016";    // invalid <model|seed> name '<n>': expected lowercase snake_case (upstream's code)
    public const string SeedInvalid = "P015";         // <file>:<line>: <what is wrong with the CSV>
    public const string SourceInvalid = "P016";       // <file>:<line>: <what is wrong with the source>
    public const string AuditInvalid = "P017";        // <file>:<line>: <what is wrong with the audit>
    public const string VariableUndefined = "P018";   // <file>:<line>: undefined variable '@@<name>'; defined: a, b (or an unset @@ENV:NAME)
    public const string SelectorInvalid = "P020";     // a -Select / -Exclude term that names nothing or does not parse
    public const string UpstreamKeyIgnored = "P030";  // a warning, not an error: <where> '<key>' is an upstream key SQLBuild does not implement; ignored

    // Warehouse
    public const string ConnectionFailed = "W001";    // cannot connect to <description>: <reason>
    public const string IdentifierTooLong = "W002";   // <what> '<name>' is <n> <bytes|characters>; <engine> allows at most <limit>
    public const string IdentifierInvalid = "W003";   // <what> '<name>' is not a valid identifier: <reason>
    public const string DatabaseInUse = "W004";       // database file '<path>' is in use by another process
    public const string SqlFailed = "W010";           // <statement kind> <target> failed: <driver message>

    // State store lifecycle. Upstream renders these state-store errors with its fallback code E001
    // (UPSTREAM-NOTES 5.0, 5.4); E001/E002 are taken here (mode guard, not initialized), so each gets its own.
    public const string StateRequiresVirtualMode = "E001"; // <command> require virtual_environments = true;
                                                           // also: <command> require an active target with [targets.<t>.state]
    public const string StateNotInitialized = "E002";  // state store '<schema>' of target '<t>' is not initialized
    public const string StateSharedByTargets = "E003"; // state store '<schema>' already tracks physical relations of another target ('<schema>'); ...
    public const string InvalidStateSchema = "E030";  // "Cannot backup invalid state schema" (migrate)
    public const string NoStateBackup = "E031";       // "No state backup is available for rollback"
    public const string StateBackupNotFound = "E032"; // "State backup schema '<schema>__backup_<id>' does not exist"
    public const string StateResetDisabled = "E033";  // "state reset is disabled for this target. ..."
    public const string InvalidStateBackup = "E034";  // a backup schema lacks a state table or column, or has a wrong type

    // Locks (upstream)
    public const string EnvironmentLocked = "S014";   // virtual environment '<vde>' is locked by <owner> (host, pid, since, expires);
                                                      // state store is locked (state_migration) ...; janitor: ... janitor refuses while a virtual environment is locked
    public const string RollbackLocked = "S019";      // virtual environment '<vde>' is locked ... (the same lock, as rollback reports it)
    public const string LockNotFound = "C271";        // no lock '<key>' is held (Clear-SqbLock)

    // Build
    public const string BuildFailed = "B001";         // a node failed without a coded error: its ErrorCode reads B001.NodeFailed
    public const string AuditFailed = "B002";         // a node's blocking audit failed: B002.AuditFailed
    public const string TestFailed = "B003";          // a node's tests failed: B003.TestFailed
    public const string HookFailed = "B004";          // <pre_hooks|post_hooks>[<n>] of '<model>' failed: <driver message>
    public const string ContractViolated = "B005";    // contract of '<model>' not met: missing column 'c'; undeclared column 'd'; column 'e' is x, declared y
    public const string RefreshChangesShape = "B006"; // refreshing <version> would change its columns (a -> b); the version keeps its data
    public const string StaleUpstreams = "S010";      // selected virtual scope is missing stale required upstream models: a, b;
                                                      // also: '<node>' has no version in virtual environment '<vde>'
    public const string ModeGuardDeferTo = "C242";    // <plan|build> does not support -DeferTo when virtual_environments = true
    public const string ModeGuardPromote = "C243";    // promote requires virtual_environments = true
    public const string ModeGuardRollback = "C245";   // rollback requires virtual_environments = true
    public const string ModeGuardVirtualFlag = "C263"; // <command> does not support -<parameter> unless virtual_environments = true
    public const string ModeGuardAudits = "C264";     // <command> does not support -NoTests or -NoAudits / -FullRefresh when virtual_environments = true

    // Virtual environments: names, promote, checkpoint restore (upstream)
    public const string InvalidEnvironmentName = "C270";  // virtual environment name '<vde>' must match ^[a-z][a-z0-9_]*$
    public const string UnknownSourceEnvironment = "S011"; // unknown source virtual environment '<vde>'
    public const string MissingSourceRefs = "S015";   // source virtual environment is missing selected [seed ]refs: a, b
    public const string PromotionStaleUpstreams = "S016"; // selected promotion scope is missing stale required upstream models: a, b
    public const string PromotionLeavesWorking = "S017"; // promotion would leave target virtual environment working; remaining stale models: a, b
    public const string SourceNotFinalized = "S018";  // whole-VDE promotion requires a finalized source virtual environment
    public const string UnknownEnvironment = "S020";  // unknown virtual environment '<vde>'
    public const string NoPreviousCheckpoint = "S021"; // no previous finalized checkpoint is available for rollback
    public const string CheckpointMissingPhysical = "S022"; // checkpoint references missing physical relation for <model|seed> '<n>'
    public const string CheckpointUnknownModel = "S023"; // checkpoint references unknown model '<m>'
    public const string CheckpointMissingRelation = "S024"; // checkpoint references missing warehouse relation for <model|seed> '<n>'
    public const string CheckpointMissingRefs = "S025"; // checkpoint is missing selected [seed ]refs: a, b
    public const string UnknownCheckpoint = "S026";   // unknown checkpoint '<id>' (Restore-SqbCheckpoint -CheckpointId)
    public const string RollbackLeavesWorking = "S027"; // rollback would leave target virtual environment working; remaining stale models: a, b
    public const string EnvironmentDetached = "S028"; // [source |target ]virtual environment '<vde>' is detached
    public const string RollbackStaleUpstreams = "S028"; // selected rollback scope is missing stale required upstream models: a, b (upstream reuses S028)
    public const string CheckpointNotFound = "C905";  // unknown checkpoint '<id>' (Get-SqbCheckpoint, Compare-SqbCheckpoint)

    // Adopt and detach (upstream's C256-C261; C280-C285 are ours)
    public const string UnsuffixedEnvironmentRequired = "C256"; // state <adopt|detach> requires [targets.<t>.state] unsuffixed_virtual_env = '<t>'
    public const string LifecycleCancelled = "C258";  // state <adopt|detach> cancelled
    public const string EnvironmentNotFinalized = "C261"; // state detach requires a finalized virtual environment
    public const string AlreadyVirtual = "C280";      // virtual environment '<t>' is already virtual; adopt converts the relations of a direct-mode build
    public const string PhysicalRelationExists = "C281"; // physical relation '<rel>' already exists for '<n>'; adopt will not overwrite it
    public const string CopyRequired = "C284";        // state <adopt|detach> requires -AllowCopy: <why>; <n> table(s) would be copied (a, b)
    public const string NotTargetEnvironment = "C285"; // state detach works on the target's own virtual environment '<t>', not '<vde>'

    // Reconcile and repair (upstream's C249-C254, C262; R0xx are ours)
    public const string AttachArguments = "C249";       // reconcile attach requires -Model and -PhysicalRelation
    public const string LogicalIsTable = "C250";        // logical [seed ]target for 'm' is a table; <repair-view|promote|...> will not overwrite it
    public const string MissingTrackedPhysical = "C251"; // missing tracked physical relation for [seed ]'m'; also: no SQL is recorded for view model 'm'
    public const string MissingPhysical = "C252";       // missing physical relation for [seed ]'m'
    public const string UntrackedRelation = "C253";     // physical relation '<rel>' is not a tracked relation for '<m>'
    public const string ReconcileModeGuard = "C254";    // reconcile requires virtual_environments = true
    public const string AttachCancelled = "C262";       // reconcile attach cancelled
    public const string MissingRef = "R001";            // missing ref for 'm' (repair-view cannot recreate a view without a ref)
    // R002 and R003 are retired: Repair-SqbView passes over an UnexpectedView or FailedOperation finding with a warning (SPEC 7).
    public const string ConfirmationRequired = "R010";  // state <adopt|detach> needs a typed confirmation and this session cannot ask for one

    // Janitor (ours)
    public const string UnfinishedOperations = "J001"; // janitor refuses while an adopt, detach, promote or rollback is unfinished: <id> (<vde>, <failed|interrupted|cancelled|running>), ...

    // Leases and server-side work (ours). A lease is the lock row an operation holds while it runs.
    public const string LeaseLost = "L001";           // lost the lock '<key>' while <operation> ran (another process took it over, or it was cleared); nothing was switched
    public const string SwitchBlocked = "L002";       // could not switch <vde>: <relation> is in use by session <pid> (<application>, <user>, <state> since <t>): <query>
    public const string OrphanStillRunning = "L003";  // <key> was held by <owner>, whose statements still run on the server: <pids>

    // Unexpected: a failure no code describes (a bug, or an environment the product did not foresee). Never E001,
    // which is the state mode guard.
    public const string Unexpected = "X001";          // the exception's own message, redacted
}

using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build;

/// <summary>
/// SPEC §11: operations that do not apply to the project's mode fail before touching anything,
/// with a message naming the setting.
/// </summary>
public static class ModeGuards
{
    private const string Setting = "virtual_environments = true";

    /// <summary>Promote (C243), rollback (C245) and reconcile (C254) exist only in virtual mode.</summary>
    public static void RequireVirtual(ProjectConfig config, string command, string code)
    {
        if (config.Settings.VirtualEnvironments) return;
        throw new SqbException(code, "VirtualModeRequired", $"{command} requires {Setting}",
            SqbErrorKind.InvalidOperation, config.ActiveTarget.Name,
            $"Set [settings] {Setting} in sqlbuild_project.toml and configure [targets.{config.ActiveTarget.Name}.state] to use virtual data environments.");
    }

    public static void CheckPromote(ProjectConfig config) => RequireVirtual(config, "promote", ErrorCodes.ModeGuardPromote);

    public static void CheckRollback(ProjectConfig config) => RequireVirtual(config, "rollback", ErrorCodes.ModeGuardRollback);

    public static void CheckBuild(ProjectConfig config, BuildOptions options, string command = "build")
    {
        if (config.Settings.VirtualEnvironments)
        {
            if (options.DeferTo is not null)
                throw new SqbException(ErrorCodes.ModeGuardDeferTo, "DeferToNotSupported",
                    $"{command} does not support -DeferTo when {Setting}",
                    SqbErrorKind.InvalidOperation, "DeferTo",
                    "Remove -DeferTo: in virtual mode the environment's refs resolve unselected upstream models.");
            if (options.NoTests || options.NoAudits)
                throw new SqbException(ErrorCodes.ModeGuardAudits, "AuditsRequired",
                    $"{command} does not support -NoTests or -NoAudits when {Setting}",
                    SqbErrorKind.InvalidOperation, options.NoTests ? "NoTests" : "NoAudits",
                    "Run Invoke-SqbBuild without -NoTests/-NoAudits: audits and tests decide which versions reach readers.");
            // SPEC §3: -FullRefresh is a direct-mode flag. A physical version is immutable and may be shared by
            // several VDEs, so a virtual build never rewrites one; silently ignoring the flag would mislead.
            if (options.FullRefresh)
                throw new SqbException(ErrorCodes.ModeGuardAudits, "FullRefreshNotSupported",
                    $"{command} does not support -FullRefresh when {Setting}",
                    SqbErrorKind.InvalidOperation, "FullRefresh",
                    "Remove -FullRefresh: physical versions are immutable. Change the model to get a new version, or rebuild a missing physical relation with Invoke-SqbBuild -Select <model>.");
            return;
        }
        void Block(bool used, string parameter)
        {
            if (used)
                throw new SqbException(ErrorCodes.ModeGuardVirtualFlag, "VirtualOnlyParameter",
                    $"{command} does not support -{parameter} unless {Setting}",
                    SqbErrorKind.InvalidOperation, parameter,
                    $"Set [settings] {Setting} in sqlbuild_project.toml to use virtual data environments, or remove -{parameter}.");
        }
        Block(options.Environment is not null, "Environment");
        Block(options.ChangesOnly, "ChangesOnly");
        Block(options.IncludeStaleUpstreams, "IncludeStaleUpstreams");
    }
}

using System.Management.Automation;
using System.Management.Automation.Host;
using SQLBuild.Core.Errors;

namespace SQLBuild.PowerShell.Hosting;

/// <summary>
/// Typed confirmations (<c>attach &lt;model&gt;</c>, <c>adopt &lt;target&gt;</c>): the text comes from a
/// <c>-Confirmation</c> parameter in scripts, or is read from the host when the session can prompt.
/// A session that cannot prompt never waits for input: <see cref="Read"/> returns null and the caller
/// fails with a clear error instead of hanging a pipeline.
/// </summary>
internal static class TypedConfirmation
{
    /// <summary>
    /// The typed confirmation: <paramref name="given"/> (the cmdlet's -Confirmation) when set, else read from the host.
    /// A session that cannot ask is an R010 error with <paramref name="message"/> and <paramref name="recommendedAction"/>.
    /// </summary>
    public static string Require(PSCmdlet cmdlet, string? given, string expected, object? target, string message, string recommendedAction) =>
        given ?? Read(cmdlet, expected)
        ?? throw new SqbException(ErrorCodes.ConfirmationRequired, "ConfirmationRequired", message, SqbErrorKind.InvalidOperation,
            target, recommendedAction);

    /// <summary>Prompts <c>Type '&lt;expected&gt;' to confirm: </c> and reads one line; null when the session cannot prompt.</summary>
    public static string? Read(PSCmdlet cmdlet, string expected)
    {
        if (!CanPrompt(cmdlet)) return null;
        try
        {
            cmdlet.Host.UI.Write($"Type '{expected}' to confirm: ");
            return cmdlet.Host.UI.ReadLine();
        }
        catch (Exception e) when (e is PSInvalidOperationException or NotImplementedException or PSNotImplementedException
                                      or HostException or InvalidOperationException or IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// False for hosts without a UI, in Azure DevOps (<c>TF_BUILD</c>), and for the console host under
    /// <c>pwsh -NonInteractive</c> or with its input redirected (a CI agent's pipe could otherwise block
    /// forever). Other hosts are asked; one that cannot read a line throws, which counts as "cannot prompt".
    /// </summary>
    public static bool CanPrompt(PSCmdlet cmdlet)
    {
        if (cmdlet.Host?.UI is null) return false;
        if (AzureDevOps.IsAgent) return false;
        if (string.Equals(cmdlet.Host.Name, "ConsoleHost", StringComparison.Ordinal) && (NonInteractiveProcess() || Console.IsInputRedirected))
            return false;
        return true;
    }

    /// <summary>Whether pwsh was started with -NonInteractive (looked for among its own switches, before -Command/-File).</summary>
    private static bool NonInteractiveProcess()
    {
        foreach (var arg in Environment.GetCommandLineArgs().Skip(1))
        {
            if (arg.Length < 2 || (arg[0] != '-' && arg[0] != '/')) return false;
            var name = arg[1..].TrimStart('-').ToLowerInvariant();
            if (name is "c" or "command" or "f" or "file" or "e" or "ec" or "encodedcommand" or "commandwithargs" or "cwa") return false;
            if (IsNonInteractiveSwitch(arg)) return true;
        }
        return false;
    }

    // pwsh accepts any unambiguous prefix of -NonInteractive from -noni on, with - or /.
    private static bool IsNonInteractiveSwitch(string arg)
    {
        if (arg.Length < 5 || (arg[0] != '-' && arg[0] != '/')) return false;
        var name = arg[1..].TrimStart('-');
        return name.Length >= 4 && "noninteractive".StartsWith(name, StringComparison.OrdinalIgnoreCase);
    }
}

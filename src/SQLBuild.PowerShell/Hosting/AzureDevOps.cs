namespace SQLBuild.PowerShell.Hosting;

/// <summary>Azure DevOps logging commands (<c>##vso[...]</c>, <c>##[section]</c>), for a session on an agent (<c>TF_BUILD</c>).</summary>
internal static class AzureDevOps
{
    /// <summary>True when the session runs on an Azure DevOps agent.</summary>
    public static bool IsAgent => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TF_BUILD"));

    /// <summary>A collapsible section header in the job log.</summary>
    public static string Section(string name) => $"##[section]{name}";

    /// <summary>A <c>task.logissue</c> line, the message escaped so that it stays one command.</summary>
    public static string Issue(string type, string? code, string message)
    {
        var text = message.Replace("%", "%AZP25").Replace("\r", "%0D").Replace("\n", "%0A");
        return code is null
            ? $"##vso[task.logissue type={type}]{text}"
            : $"##vso[task.logissue type={type};code={code}]{text}";
    }
}

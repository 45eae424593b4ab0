using SQLBuild.Core.Errors;

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
        var text = Escape(message);
        return code is null
            ? $"##vso[task.logissue type={type}]{text}"
            : $"##vso[task.logissue type={type};code={code}]{text}";
    }

    /// <summary>A <c>task.setsecret</c> line: from then on the agent masks <paramref name="secret"/> in the job log.</summary>
    public static string SetSecret(string secret) => $"##vso[task.setsecret]{Escape(secret)}";

    private static string Escape(string text) => text.Replace("%", "%AZP25").Replace("\r", "%0D").Replace("\n", "%0A");

    private static readonly HashSet<string> Announced = new(StringComparer.Ordinal);

    /// <summary>The <c>task.setsecret</c> lines of the secrets this process knows and has not announced yet (each once).</summary>
    public static IReadOnlyList<string> NewSecretLines()
    {
        var lines = new List<string>();
        lock (Announced)
            foreach (var secret in Redaction.Secrets)
                if (Announced.Add(secret)) lines.Add(SetSecret(secret));
        return lines;
    }
}

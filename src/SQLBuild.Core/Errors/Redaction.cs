using System.Text.RegularExpressions;

namespace SQLBuild.Core.Errors;

/// <summary>
/// Removes secrets from any text that may reach a user: connection strings embedded in driver
/// messages, and any password value the process knows about.
/// </summary>
public static class Redaction
{
    private static readonly Regex PasswordPair = new(
        @"(?i)\b(password|pwd)\s*=\s*(""[^""]*""|'[^']*'|[^;]*)",
        RegexOptions.Compiled);

    private static readonly HashSet<string> KnownSecrets = new(StringComparer.Ordinal);
    private static readonly object Gate = new();

    /// <summary>Registers a secret value so that <see cref="Redact"/> masks it wherever it appears.</summary>
    public static void RegisterSecret(string? secret)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length < 3) return;
        lock (Gate) KnownSecrets.Add(secret);
    }

    /// <summary>Every secret registered so far (for a host that must announce them, such as an Azure DevOps agent).</summary>
    public static IReadOnlyList<string> Secrets
    {
        get { lock (Gate) return KnownSecrets.ToArray(); }
    }

    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text ?? string.Empty;
        var result = PasswordPair.Replace(text, m => m.Groups[1].Value + "=***");
        string[] secrets;
        lock (Gate) secrets = KnownSecrets.ToArray();
        foreach (var s in secrets)
            result = result.Replace(s, "***", StringComparison.Ordinal);
        return result;
    }
}

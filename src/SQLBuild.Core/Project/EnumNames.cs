namespace SQLBuild.Core.Project;

/// <summary>How enum values are spelled in files, state and output: <c>DeleteInsert</c> -> <c>delete_insert</c>.</summary>
public static class EnumNames
{
    public static string Snake<T>(T value) where T : struct, Enum => Snake(value.ToString());

    public static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}

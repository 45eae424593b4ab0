using System.Management.Automation;
using SQLBuild.Core.Project;
using SQLBuild.Core.Templates;

namespace SQLBuild.PowerShell;

/// <summary>Creates a new SQLBuild project from a template (upstream <c>sqb init</c>).</summary>
[Cmdlet(VerbsCommon.New, "SqbProject", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(System.IO.FileInfo))]
public sealed class NewSqbProjectCommand : SqbCmdlet
{
    /// <summary>Project name; default: the folder name in snake_case.</summary>
    [Parameter]
    [ValidatePattern("^[a-z][a-z0-9_]*$")]
    public string? Name { get; set; }

    [Parameter]
    [ValidateSet("direct", "virtual", IgnoreCase = true)]
    public string Template { get; set; } = "direct";

    [Parameter]
    [ValidateSet("duckdb", "postgres", "sqlserver", IgnoreCase = true)]
    public string Adapter { get; set; } = "duckdb";

    /// <summary>Overwrite the template files in a folder that already holds a project.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessSqbRecord()
    {
        var dir = ProjectDirectory;
        var name = Name ?? ProjectTemplates.NameFromFolder(new System.IO.DirectoryInfo(dir).Name);
        var template = Template.Equals("virtual", StringComparison.OrdinalIgnoreCase) ? ProjectTemplateKind.Virtual : ProjectTemplateKind.Direct;
        var adapter = Adapter.ToLowerInvariant() switch
        {
            "postgres" => AdapterKind.Postgres,
            "sqlserver" => AdapterKind.SqlServer,
            _ => AdapterKind.DuckDb,
        };
        // Validate (name rule, existing project) before asking.
        ProjectTemplates.Files(name, template, adapter);
        if (!ShouldProcess(dir, $"Create {Template} {Adapter} project '{name}'")) return;
        foreach (var file in ProjectTemplates.Write(dir, name, template, adapter, Force))
            WriteObject(new System.IO.FileInfo(file));
    }
}

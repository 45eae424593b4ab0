using System.Management.Automation;
using SQLBuild.PowerShell.Completion;
using SQLBuild.Core.Adapters;
using SQLBuild.Core.Identity;
using SQLBuild.Core.Project;

namespace SQLBuild.PowerShell;

/// <summary>Compiles the project and emits its models, seeds and data tests (upstream <c>sqb compile</c>).</summary>
[Cmdlet(VerbsCommon.Get, "SqbModel")]
[OutputType(typeof(SqbModel))]
public sealed class GetSqbModelCommand : SqbCmdlet
{
    /// <summary>True: shows every node's version hash, which a seed's content decides.</summary>
    protected override bool ReadsSeeds => true;

    /// <summary>Names to show; wildcards allowed.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Model")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Selectors (name, tag:x, path:models/x, seed:x, +x, x+); several values are a union.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(SelectorCompleter))]
    public string[]? Select { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(SelectorCompleter))]
    public string[]? Exclude { get; set; }

    [Parameter]
    [ValidateSet("model", "seed", "test", IgnoreCase = true)]
    public string[]? NodeType { get; set; }

    protected override void ProcessSqbRecord()
    {
        var project = CompileProject();
        var identities = IdentityCalculator.Compute(project);
        var selected = Select is null && Exclude is null ? null : Selector.Resolve(project, Select, Exclude);
        var dialect = WarehouseFactory.Dialect(project.Config.ActiveTarget.Connection);
        var schema = project.Config.ActiveTarget.Schema;
        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        bool Wanted(string name, string type) =>
            (patterns is null || patterns.Any(p => p.IsMatch(name))) &&
            (NodeType is null || NodeType.Contains(type, StringComparer.OrdinalIgnoreCase)) &&
            (selected is null || type != "test" && selected.Contains(name));
        // A data test is listed as a build runs it: every test when no -Select narrows the build, otherwise only a test
        // that reads a selected model or seed.
        var allTests = Select is not { Length: > 0 };
        bool TestWanted(DataTestNode test) =>
            (patterns is null || patterns.Any(p => p.IsMatch(test.Name))) &&
            (NodeType is null || NodeType.Contains("test", StringComparer.OrdinalIgnoreCase)) &&
            (allTests || test.References.Any(r => r.Kind != ReferenceKind.Source && selected!.Contains(r.Name)));

        string Render(string sql, IReadOnlyList<Reference> refs) =>
            ReferenceResolution.Render(project, dialect, sql, refs, name => new RelationName(schema, name));

        foreach (var name in project.TopologicalOrder)
        {
            var id = identities[name];
            if (project.Models.TryGetValue(name, out var model))
            {
                if (!Wanted(name, "model")) continue;
                WriteObject(new SqbModel
                {
                    Name = name, NodeType = "model", Materialized = model.Config.Materialized.ToString().ToLowerInvariant(),
                    Tags = model.Config.Tags, DependsOn = project.Parents[name],
                    Sources = model.References.Where(r => r.Kind == ReferenceKind.Source).Select(r => r.Name).Distinct().ToList(),
                    Audits = model.Config.Audits.Select(audit => audit.Display).ToList(), Path = model.RelativePath,
                    LocalHash = id.LocalHash, VersionHash = id.VersionHash, Relation = $"{schema}.{name}",
                    CompiledSql = Render(model.Sql, model.References),
                    Description = model.Config.Description,
                    Columns = model.Config.Columns.Select(c => c.Type is null ? c.Name : $"{c.Name} {c.Type}").ToList(),
                    Contract = model.Config.Contract == ContractMode.Unspecified ? null : EnumNames.Snake(model.Config.Contract),
                });
            }
            else if (project.Seeds.TryGetValue(name, out var seed) && Wanted(name, "seed"))
            {
                WriteObject(new SqbModel
                {
                    Name = name, NodeType = "seed", Path = seed.RelativePath, LocalHash = id.LocalHash,
                    VersionHash = id.VersionHash, Relation = $"{schema}.{name}",
                });
            }
        }
        foreach (var test in project.Tests.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (!TestWanted(test)) continue;
            WriteObject(new SqbModel
            {
                Name = test.Name, NodeType = "test", Path = test.RelativePath,
                DependsOn = test.References.Where(r => r.Kind != ReferenceKind.Source).Select(r => r.Name).Distinct().ToList(),
                LocalHash = IdentityCalculator.DataTestHash(test),
                CompiledSql = Render(test.Sql, test.References),
            });
        }
    }
}

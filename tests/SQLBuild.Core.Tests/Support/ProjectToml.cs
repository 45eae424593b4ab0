using System.Text;

namespace SQLBuild.Core.Tests.Support;

/// <summary>
/// The <c>sqlbuild_project.toml</c> every engine fixture writes: project <c>shop</c> on one connection
/// <c>local</c> (<see cref="TestEngine.Connection"/>), target <c>dev</c> in <see cref="Schema"/>, and as
/// the fixture needs them dev's state block and a <c>prod</c> target.
/// </summary>
internal sealed record ProjectToml(string Engine, string Schema)
{
    public bool VirtualEnvironments { get; init; }
    public int Concurrency { get; init; } = 4;
    public StateToml? State { get; init; }
    public string? ProdSchema { get; init; }

    public override string ToString()
    {
        var toml = new StringBuilder($"""
            name = "shop"
            adapter = "{Engine}"
            default_target = "dev"

            [settings]
            virtual_environments = {(VirtualEnvironments ? "true" : "false")}
            concurrency = {Concurrency}

            [connections.local]
            {TestEngine.Connection(Engine)}

            [targets.dev]
            connection = "local"
            schema = "{Schema}"

            """);
        if (State is not null) toml.Append('\n').Append(State);
        if (ProdSchema is not null) toml.Append($"\n[targets.prod]\nconnection = \"local\"\nschema = \"{ProdSchema}\"\n");
        return toml.ToString();
    }
}

/// <summary>
/// <c>[targets.dev.state]</c>: the state store's backend and schema, <c>allow_reset</c> when given, the
/// unsuffixed VDE (dev unless null), and a separate DuckDB file for the store when <see cref="Database"/> is set.
/// </summary>
internal sealed record StateToml(string Backend, string Schema)
{
    public bool? AllowReset { get; init; }
    public string? Unsuffixed { get; init; } = "dev";
    public string? Database { get; init; }

    public override string ToString() =>
        $"[targets.dev.state]\nbackend = \"{Backend}\"\nschema = \"{Schema}\"\n" +
        (AllowReset is { } reset ? $"allow_reset = {(reset ? "true" : "false")}\n" : "") +
        (Unsuffixed is null ? "" : $"unsuffixed_virtual_env = \"{Unsuffixed}\"\n") +
        (Database is null ? "" : $"\n[targets.dev.state.connection]\ndatabase = \"{Database}\"\n");
}

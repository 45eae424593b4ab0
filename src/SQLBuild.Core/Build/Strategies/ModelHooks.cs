using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Strategies;

/// <summary>
/// Runs a model's <c>pre_hooks</c> and <c>post_hooks</c>, in written order, each as one statement with its
/// <c>@@CTX:</c> context filled in: <c>destination.qualified</c>, <c>destination.schema</c> and
/// <c>destination.table</c> name the relation the hook is run for, <c>model.name</c> the model. A failing hook fails
/// the node (B004).
/// </summary>
internal static class ModelHooks
{
    /// <summary>Before anything is materialized; <paramref name="destination"/> is where the model goes.</summary>
    public static void RunPre(MaterializeRequest request, RelationName destination)
    {
        if (request.Model is { } model) Run(request, model, model.Config.PreHooks, destination);
    }

    /// <summary>After the model is materialized (and audited) at <paramref name="relation"/>: a new virtual version's
    /// pending relation, before the version is published, or the replaced relation itself.</summary>
    public static void RunPost(MaterializeRequest request, RelationName relation)
    {
        if (request.Model is { } model) Run(request, model, model.Config.PostHooks, relation);
    }

    private static void Run(MaterializeRequest request, ModelNode model, IReadOnlyList<ModelHook> hooks, RelationName relation)
    {
        foreach (var hook in hooks)
        {
            var sql = Render(hook.Sql, request.Dialect, model, relation);
            try
            {
                request.Session.Execute(new SqlStatement("HOOK", $"{hook.Label} {relation}", sql));
            }
            catch (SqbException ex) when (ex.Code != ErrorCodes.HookFailed)
            {
                throw new SqbException(ErrorCodes.HookFailed, "HookFailed",
                    $"{hook.Label} of '{model.Name}' ({hook.Location}) failed: {ex.Message}",
                    SqbErrorKind.WriteError, model.Name, $"Fix the hook at {hook.Location}, then build '{model.Name}' again.", ex);
            }
        }
    }

    /// <summary>The hook's SQL with each <c>@@CTX:key</c> replaced (the longest key that matches wins).</summary>
    public static string Render(string sql, SqlDialect dialect, ModelNode model, RelationName relation)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["destination.qualified"] = dialect.Qualify(relation),
            ["destination.schema"] = relation.Schema,
            ["destination.table"] = relation.Name,
            ["model.name"] = model.Name,
        };
        foreach (var key in values.Keys.OrderByDescending(k => k.Length))
            sql = sql.Replace("@@CTX:" + key, values[key], StringComparison.Ordinal);
        return sql;
    }
}

using SQLBuild.Core.Adapters;
using SQLBuild.Core.Errors;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Build.Audits;

/// <summary>Runs a model's audits against a relation (the staging relation, before it reaches readers).</summary>
internal sealed class AuditRunner
{
    private readonly CompiledProject _project;
    private readonly Func<string, RelationName> _resolveModel;
    private readonly Func<string, IReadOnlyList<Reference>, string> _render;

    public AuditRunner(CompiledProject project, Func<string, RelationName> resolveModel,
        Func<string, IReadOnlyList<Reference>, string> render)
    {
        _project = project;
        _resolveModel = resolveModel;
        _render = render;
    }

    public IReadOnlyList<SqbAuditResult> Run(IWarehouseSession session, ModelNode model, RelationName relation)
    {
        var results = new List<SqbAuditResult>();
        foreach (var audit in model.Config.Audits)
        {
            var severity = audit.Severity == AuditSeverity.Error ? "error" : "warn";
            try
            {
                string? generic = null;
                if (_project.GenericAudits.TryGetValue(audit.Name, out var def))
                    generic = _render(def.Sql, Array.Empty<Reference>());
                var stmt = AuditQueries.FailingRowCount(session.Dialect, audit, relation, _resolveModel, generic);
                var failing = Convert.ToInt64(session.ExecuteScalar(stmt) ?? 0L);
                results.Add(new SqbAuditResult
                {
                    Model = model.Name, Name = audit.Display, Severity = severity, FailingRows = failing,
                    Status = failing == 0 ? "passed" : audit.Severity == AuditSeverity.Error ? "failed" : "warned",
                    Message = failing == 0 ? null : $"audit {audit.Display} on '{model.Name}' found {failing} failing row(s)",
                });
            }
            catch (SqbException ex)
            {
                results.Add(new SqbAuditResult
                {
                    Model = model.Name, Name = audit.Display, Severity = severity, Status = "error",
                    Message = $"audit {audit.Display} on '{model.Name}' could not run: {ex.Message}",
                });
            }
        }
        return results;
    }

    /// <summary>An error-severity audit that failed or could not run blocks the model.</summary>
    public static SqbAuditResult? FirstBlocking(IReadOnlyList<SqbAuditResult> results) =>
        results.FirstOrDefault(r => r.Severity == "error" && r.Status is "failed" or "error");
}

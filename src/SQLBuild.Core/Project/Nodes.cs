namespace SQLBuild.Core.Project;

public enum Materialization { View, Table, Incremental }
public enum IncrementalStrategy { Append, DeleteInsert, Merge }
public enum AuditSeverity { Error, Warn }
public enum ReferenceKind { Ref, Seed, Source }
public enum NodeKind { Model, Seed, Source, Test }

/// <summary>
/// One <c>__ref("x")</c> / <c>__seed("x")</c> / <c>__source("x")</c> call in a SQL body.
/// <see cref="Start"/> and <see cref="Length"/> index the whole call in the node's <c>Sql</c> text,
/// so a renderer can replace it by a quoted relation name.
/// </summary>
public sealed record Reference(ReferenceKind Kind, string Name, int Start, int Length, SourceLocation Location);

/// <summary>
/// An audit attached to a model. <see cref="Name"/> is a built-in (<c>not_null</c>, <c>unique</c>,
/// <c>accepted_values</c>, <c>relationships</c>, <c>expression_is_true</c>) or a generic audit from
/// <c>audits/NAME.sql</c>. Arguments keep their written order for display.
/// </summary>
public sealed record AuditSpec
{
    public required string Name { get; init; }
    public string? Column { get; init; }
    public IReadOnlyList<string> Values { get; init; } = Array.Empty<string>();   // accepted_values
    public string? ToModel { get; init; }                                         // relationships: to "model"
    public string? ToField { get; init; }                                         // relationships: field "col"
    public string? Expression { get; init; }                                      // expression_is_true("expr")
    /// <summary>Named arguments of a generic audit (<c>@name</c> placeholders), values as written.</summary>
    public IReadOnlyDictionary<string, string> Arguments { get; init; } = new Dictionary<string, string>();
    public AuditSeverity Severity { get; init; } = AuditSeverity.Error;
    public required SourceLocation Location { get; init; }

    /// <summary>Short text such as <c>unique(order_id)</c>, used in results.</summary>
    public string Display => Column is null ? Name : $"{Name}({Column})";
}

public sealed class ModelConfig
{
    public Materialization Materialized { get; init; } = Materialization.View;
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
    public IReadOnlyList<AuditSpec> Audits { get; init; } = Array.Empty<AuditSpec>();
    public IReadOnlyList<string> UniqueKey { get; init; } = Array.Empty<string>();
    public IncrementalStrategy IncrementalStrategy { get; init; } = IncrementalStrategy.Append;
    public string? Cursor { get; init; }
    public string? Description { get; init; }
}

/// <summary>A model: one file under <c>models/</c>. <see cref="Sql"/> is the query after the header,
/// with references as written (<c>__ref("x")</c>); <see cref="SqlStartLine"/> is its first line in the file.</summary>
public sealed class ModelNode
{
    public required string Name { get; init; }
    public required string RelativePath { get; init; }   // "models/marts/fct_orders.sql", '/' separators
    public required string FullPath { get; init; }
    public required ModelConfig Config { get; init; }
    public required string Sql { get; init; }
    public required int SqlStartLine { get; init; }
    public required IReadOnlyList<Reference> References { get; init; }
}

public enum SeedColumnType { Integer, Decimal, Boolean, Date, Timestamp, Text }

public sealed record SeedColumn(string Name, SeedColumnType Type);

/// <summary>A CSV under <c>seeds/</c>: its columns with their inferred types and its hash, from one streaming read at
/// compile time. The rows stay in the file until a load asks for them (<see cref="ReadRows"/>).</summary>
public sealed class SeedNode
{
    public required string Name { get; init; }
    public required string RelativePath { get; init; }
    public required string FullPath { get; init; }
    public required IReadOnlyList<SeedColumn> Columns { get; init; }
    /// <summary>The data rows (the header row not counted).</summary>
    public required long RowCount { get; init; }
    /// <summary>SHA-256 hex of the file bytes.</summary>
    public required string ContentHash { get; init; }

    /// <summary>Reads the rows from the file as they are consumed, each value parsed to the column's type (long,
    /// decimal, bool, DateOnly, DateTime, string) or null for an empty field.</summary>
    public IEnumerable<object?[]> ReadRows() => CsvSeedReader.ReadRows(this);
}

/// <summary>A raw relation declared in <c>sources/*.yml</c>.</summary>
public sealed class SourceNode
{
    public required string Name { get; init; }
    public required string Schema { get; init; }
    public required string Table { get; init; }
    public string? Database { get; init; }
    public required SourceLocation Location { get; init; }
}

/// <summary>A data test under <c>tests/</c>: a query that returns the failing rows.</summary>
public sealed class DataTestNode
{
    public required string Name { get; init; }
    public required string RelativePath { get; init; }
    public required string Sql { get; init; }
    public required int SqlStartLine { get; init; }
    public required IReadOnlyList<Reference> References { get; init; }
}

/// <summary>A generic audit under <c>audits/</c>: a query returning failing rows, with
/// <c>@relation</c>, <c>@column</c> and named <c>@param</c> placeholders.</summary>
public sealed class GenericAuditDefinition
{
    public required string Name { get; init; }
    public required string RelativePath { get; init; }
    public required string Sql { get; init; }
    public required int SqlStartLine { get; init; }
    /// <summary>Reference calls in <see cref="Sql"/> (checked by the compiler), for rendering with <see cref="ReferenceRenderer"/>.</summary>
    public IReadOnlyList<Reference> References { get; init; } = Array.Empty<Reference>();
}

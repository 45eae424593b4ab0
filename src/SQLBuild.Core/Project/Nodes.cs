namespace SQLBuild.Core.Project;

public enum Materialization { View, Table, Incremental }
public enum IncrementalStrategy { Append, DeleteInsert, Merge }
public enum AuditSeverity { Error, Warn }
/// <summary><c>contract</c>: unspecified (the default), <c>none</c>, or <c>enforced</c> (the built relation must have exactly
/// the declared columns and types).</summary>
public enum ContractMode { Unspecified, None, Enforced }
public enum CursorType { Timestamp, Integer }
public enum CursorGrain { Second, Minute, Hour, Day, Month, Year }
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

/// <summary>
/// A model's config: its <c>MODEL ( ... )</c> header over the matching <c>[path_defaults]</c> over <c>[defaults]</c>
/// (tags and row_diff_exclude_columns unioned, row_diff_tolerances merged).
/// </summary>
public sealed class ModelConfig
{
    public Materialization Materialized { get; init; } = Materialization.View;
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
    /// <summary>Model audits and column audits (a column audit has its column set), in written order.</summary>
    public IReadOnlyList<AuditSpec> Audits { get; init; } = Array.Empty<AuditSpec>();
    public IReadOnlyList<string> UniqueKey { get; init; } = Array.Empty<string>();
    public IncrementalStrategy IncrementalStrategy { get; init; } = IncrementalStrategy.Append;
    public string? Cursor { get; init; }
    public CursorType? CursorType { get; init; }
    /// <summary>delete_insert and merge rebuild the cursor's last grain (from its start) on every run.</summary>
    public CursorGrain? CursorGrain { get; init; }
    public string? Description { get; init; }
    /// <summary>Declared columns: the model's <c>columns (...)</c>, after those of its <see cref="ModelSchema"/>.</summary>
    public IReadOnlyList<ModelColumn> Columns { get; init; } = Array.Empty<ModelColumn>();
    /// <summary>The reusable column schema (<c>schemas/*.sql</c>) the model binds, by name.</summary>
    public string? ModelSchema { get; init; }
    public ContractMode Contract { get; init; }
    /// <summary>Incremental models: true always rebuilds whole, false never (not even with -FullRefresh); null follows the command.</summary>
    public bool? FullRefresh { get; init; }
    public IReadOnlyList<ModelHook> PreHooks { get; init; } = Array.Empty<ModelHook>();
    public IReadOnlyList<ModelHook> PostHooks { get; init; } = Array.Empty<ModelHook>();
    /// <summary>Tables: refresh even when unchanged, always or once the last refresh is older than an age.</summary>
    public RunDespiteUnchanged? RunDespiteUnchanged { get; init; }
    /// <summary>Numeric tolerances of a row-level comparison, by column (values as written; nested blocks as dictionaries).</summary>
    public IReadOnlyDictionary<string, object> RowDiffTolerances { get; init; } = new Dictionary<string, object>();
    public IReadOnlyList<string> RowDiffExcludeColumns { get; init; } = Array.Empty<string>();
    /// <summary>False (<c>enabled false</c>): the model is left out of the project.</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Upstream keys the model sets that SQLBuild accepts without implementing (each warned about once).</summary>
    public IReadOnlyList<string> IgnoredKeys { get; init; } = Array.Empty<string>();
}

/// <summary>A declared column: <c>name (type INTEGER, nullable false, description "...", audits [not_null])</c>.</summary>
public sealed record ModelColumn(string Name, string? Type, bool? Nullable, string? Description)
{
    /// <summary>The reusable schema the column comes from (null: the model's own).</summary>
    public string? FromSchema { get; init; }
}

/// <summary>
/// One entry of <c>pre_hooks</c> / <c>post_hooks</c>: SQL run before the model is materialized, or after (and, for a
/// new virtual version, before it is published). <see cref="Sql"/> has the project variables and a named hook's
/// arguments substituted; <c>@@CTX:...</c> stays for the run to fill in.
/// </summary>
public sealed record ModelHook(string Label, string Sql, SourceLocation Location);

/// <summary><c>run_despite_unchanged</c>: <c>"always"</c>, or <c>"&lt;N&gt;h"</c> / <c>"&lt;N&gt;d"</c> as a maximum age.</summary>
public sealed record RunDespiteUnchanged
{
    private RunDespiteUnchanged(TimeSpan? maxAge, string text)
    {
        MaxAge = maxAge;
        Text = text;
    }

    public static readonly RunDespiteUnchanged Always = new(null, "always");

    /// <summary>Null: always. Otherwise the age after which an unchanged table is refreshed anyway.</summary>
    public TimeSpan? MaxAge { get; }
    public bool IsAlways => MaxAge is null;
    /// <summary>As written: <c>always</c>, <c>24h</c>, <c>7d</c>.</summary>
    public string Text { get; }

    /// <summary>Parses <c>always</c>, <c>&lt;N&gt;h</c> or <c>&lt;N&gt;d</c> (N a whole number from 1); null for anything else.</summary>
    public static RunDespiteUnchanged? Parse(string text)
    {
        var t = text.Trim();
        if (t.Equals("always", StringComparison.OrdinalIgnoreCase)) return Always;
        if (t.Length < 2 || !int.TryParse(t[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
            return null;
        return char.ToLowerInvariant(t[^1]) switch
        {
            'h' => new RunDespiteUnchanged(TimeSpan.FromHours(n), $"{n}h"),
            'd' => new RunDespiteUnchanged(TimeSpan.FromDays(n), $"{n}d"),
            _ => null,
        };
    }

    public override string ToString() => Text;
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

    /// <summary>The model's local hash and metadata text, worked out once (a model is immutable, and the compile cache
    /// hands the same model to the next compile of an unchanged file).</summary>
    internal Identity.LocalIdentity? LocalIdentity;
    /// <summary>The model's audit signature, worked out once.</summary>
    internal string? AuditSignature;
    /// <summary>The last version hash worked out for this model, and the text it hashed (its local hash and its parents'
    /// version hashes): the same text gives the same hash without hashing again.</summary>
    internal Identity.VersionMemo? VersionMemo;
}

public enum SeedColumnType { Integer, Decimal, Boolean, Date, Timestamp, Text }

public sealed record SeedColumn(string Name, SeedColumnType Type);

/// <summary>A CSV under <c>seeds/</c>: its columns with their inferred types and its hash, from one streaming read.
/// The read happens at compile time for a command that builds, plans or loads seeds (<c>ProjectCompiler.Compile(..., readSeeds: true)</c>),
/// otherwise on the first use of <see cref="Columns"/>, <see cref="RowCount"/> or <see cref="ContentHash"/>: a command
/// that never looks at a seed's content (locks, journal, environments, state) never reads the file, so a seed that is
/// not UTF-8 or not CSV cannot stop it. The rows stay in the file until a load asks for them (<see cref="ReadRows"/>).</summary>
public sealed class SeedNode
{
    private readonly Lazy<SeedContent> _content;

    internal SeedNode(string name, string relativePath, string fullPath)
    {
        Name = name;
        RelativePath = relativePath;
        FullPath = fullPath;
        _content = new Lazy<SeedContent>(() => CsvSeedReader.Read(fullPath, relativePath), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Name { get; }
    public string RelativePath { get; }
    public string FullPath { get; }
    /// <summary>The columns with their inferred types (reads the file on first use; P015 when it is not UTF-8 CSV).</summary>
    public IReadOnlyList<SeedColumn> Columns => _content.Value.Columns;
    /// <summary>The data rows (the header row not counted).</summary>
    public long RowCount => _content.Value.RowCount;
    /// <summary>SHA-256 hex of the file bytes.</summary>
    public string ContentHash => _content.Value.ContentHash;

    /// <summary>Reads and checks the file now (P015 naming the file and line), if it has not been read yet.</summary>
    public void EnsureRead() => _ = _content.Value;

    /// <summary>Reads the rows from the file as they are consumed, each value parsed to the column's type (long,
    /// decimal, bool, DateOnly, DateTime, string) or null for an empty field.</summary>
    public IEnumerable<object?[]> ReadRows() => CsvSeedReader.ReadRows(this);
}

internal sealed record SeedContent(IReadOnlyList<SeedColumn> Columns, long RowCount, string ContentHash);

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

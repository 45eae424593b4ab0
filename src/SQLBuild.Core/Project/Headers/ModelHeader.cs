using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// What a <c>MODEL ( ... );</c> header means: its entries (read by <see cref="HeaderReader"/>) become a
/// <see cref="ModelConfig"/>, one Read method per key, each checking its value and how it combines with the keys read
/// before it. A new key is a name in <see cref="Keys"/>, a method here and a <see cref="ModelConfig"/> property.
/// </summary>
internal sealed class ModelHeader
{
    /// <summary>The MODEL keys, in the order an unknown-key error lists them.</summary>
    public static readonly string[] Keys = { "materialized", "tags", "audits", "unique_key", "incremental_strategy", "cursor", "description", "run_despite_unchanged" };

    private readonly string _file;
    private readonly HeaderEntries _entries;

    private ModelHeader(string file, HeaderEntries entries)
    {
        _file = file;
        _entries = entries;
    }

    /// <summary>Parses the header of a model file. Returns the config (defaults when there is no header)
    /// and the offset where the SQL body starts.</summary>
    public static (ModelConfig Config, int BodyStart) Parse(string text, string file, IReadOnlySet<string> genericAudits)
    {
        var header = HeaderReader.Read(text, file, "MODEL", ProjectErrors.ModelHeaderSyntax);
        if (header is null) return (new ModelConfig(), 0);

        var model = new ModelHeader(file, new HeaderEntries(header, "MODEL", Keys, (line, message) => ProjectErrors.ModelHeader(file, line, message)));
        var materialized = model.ReadMaterialized();
        var strategy = model.ReadIncrementalStrategy(materialized);
        var cursor = model.ReadCursor(materialized);
        var uniqueKey = model.ReadUniqueKey(materialized, strategy);
        var tags = model.ReadTags();
        var description = model.ReadDescription();
        var audits = model.ReadAudits(text, genericAudits);
        var runDespiteUnchanged = model.ReadRunDespiteUnchanged(materialized);
        var config = new ModelConfig
        {
            RunDespiteUnchanged = runDespiteUnchanged,
            Materialized = materialized,
            Tags = tags,
            Audits = audits,
            UniqueKey = uniqueKey,
            IncrementalStrategy = strategy,
            Cursor = cursor,
            Description = description,
        };
        return (config, header.BodyStart);
    }

    private Materialization ReadMaterialized()
    {
        if (!_entries.TryGet("materialized", out var entry)) return Materialization.View;
        return entry.Value.AsWord()?.ToLowerInvariant() switch
        {
            "view" => Materialization.View,
            "table" => Materialization.Table,
            "incremental" => Materialization.Incremental,
            _ => throw Invalid(entry.Value.Line, $"materialized: expected view, table or incremental, got {entry.Value.Describe()}"),
        };
    }

    private IncrementalStrategy ReadIncrementalStrategy(Materialization materialized)
    {
        if (!_entries.TryGet("incremental_strategy", out var entry)) return IncrementalStrategy.Append;
        var strategy = entry.Value.AsWord()?.ToLowerInvariant() switch
        {
            "append" => IncrementalStrategy.Append,
            "delete_insert" => IncrementalStrategy.DeleteInsert,
            "merge" => IncrementalStrategy.Merge,
            _ => throw Invalid(entry.Value.Line,
                $"incremental_strategy: expected append, delete_insert or merge, got {entry.Value.Describe()}"),
        };
        if (materialized != Materialization.Incremental)
            throw Invalid(entry.Line, "incremental_strategy only applies to materialized incremental");
        return strategy;
    }

    private string? ReadCursor(Materialization materialized)
    {
        if (!_entries.TryGet("cursor", out var entry)) return null;
        var cursor = entry.Value.AsWord() ?? throw Invalid(entry.Value.Line, $"cursor: expected a column name, got {entry.Value.Describe()}");
        if (materialized != Materialization.Incremental)
            throw Invalid(entry.Line, "cursor only applies to materialized incremental");
        return cursor;
    }

    private IReadOnlyList<string> ReadUniqueKey(Materialization materialized, IncrementalStrategy strategy)
    {
        IReadOnlyList<string> uniqueKey = Array.Empty<string>();
        if (_entries.TryGet("unique_key", out var entry))
        {
            uniqueKey = NameList(entry, "a column name or a list [a, b] of column names");
            if (uniqueKey.Count == 0) throw Invalid(entry.Value.Line, "unique_key: expected at least one column");
        }
        if (materialized == Materialization.Incremental && strategy != IncrementalStrategy.Append && uniqueKey.Count == 0)
        {
            _entries.TryGet("incremental_strategy", out var strategyEntry);
            throw Invalid(strategyEntry!.Line, $"incremental_strategy {EnumNames.Snake(strategy)} needs unique_key (a column or [a, b])");
        }
        return uniqueKey;
    }

    private IReadOnlyList<string> ReadTags() =>
        _entries.TryGet("tags", out var entry)
            ? NameList(entry, "a list of tags [a, b]").Distinct(StringComparer.Ordinal).ToArray()
            : Array.Empty<string>();

    private string? ReadDescription()
    {
        if (!_entries.TryGet("description", out var entry)) return null;
        return entry.Value is HeaderString text ? text.Text
            : throw Invalid(entry.Value.Line, $"description: expected a quoted string 'text', got {entry.Value.Describe()}");
    }

    /// <summary><c>run_despite_unchanged "always" | "&lt;N&gt;h" | "&lt;N&gt;d"</c>: tables only (upstream).</summary>
    private TimeSpan? ReadRunDespiteUnchanged(Materialization materialized)
    {
        if (!_entries.TryGet("run_despite_unchanged", out var entry)) return null;
        var text = entry.Value is HeaderString quoted ? quoted.Text : entry.Value.AsWord();
        if (materialized != Materialization.Table)
            throw Invalid(entry.Value.Line, "run_despite_unchanged applies to table models only");
        if (string.Equals(text, "always", StringComparison.Ordinal)) return TimeSpan.Zero;
        if (text is { Length: > 1 } && (text[^1] is 'h' or 'd') &&
            int.TryParse(text[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0)
            return text[^1] == 'h' ? TimeSpan.FromHours(n) : TimeSpan.FromDays(n);
        throw Invalid(entry.Value.Line, $"run_despite_unchanged: expected \"always\", \"<N>h\" or \"<N>d\", got {entry.Value.Describe()}");
    }

    private IReadOnlyList<AuditSpec> ReadAudits(string text, IReadOnlySet<string> genericAudits)
    {
        if (!_entries.TryGet("audits", out var entry)) return new List<AuditSpec>();
        if (entry.Value is not HeaderList list)
            throw ProjectErrors.AuditInvalid(_file, entry.Value.Line, $"audits: expected a list [not_null(col), ...], got {entry.Value.Describe()}");
        return list.Items.Select(item => AuditSpecReader.Read(item, text, _file, genericAudits)).ToList();
    }

    /// <summary>A word, a string or a list of them.</summary>
    private IReadOnlyList<string> NameList(HeaderEntry entry, string expected)
    {
        if (entry.Value.AsWord() is { } single) return new[] { single };
        if (entry.Value is not HeaderList list)
            throw Invalid(entry.Value.Line, $"{entry.Key}: expected {expected}, got {entry.Value.Describe()}");
        return list.Items
            .Select(item => item.AsWord() ?? throw Invalid(item.Line, $"{entry.Key}: expected {expected}, got {item.Describe()}"))
            .ToList();
    }

    private SqbException Invalid(int line, string message) => ProjectErrors.ModelHeader(_file, line, message);
}

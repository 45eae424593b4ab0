using System.Globalization;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>
/// What a model's config means: its <c>MODEL ( ... );</c> header (read by <see cref="HeaderReader"/>) over the project's
/// layers (<see cref="ModelLayers"/>) becomes a <see cref="ModelConfig"/>, one Read method per key, each checking its value
/// and how it combines with the keys read before it. A key of the model's own header that does not apply to its
/// materialization is an error; one inherited from a layer is simply not used. A new key is a name in
/// <see cref="ModelKeys.Implemented"/>, a method here and a <see cref="ModelConfig"/> property.
/// </summary>
internal sealed class ModelHeader
{
    private readonly string _file;
    private readonly ModelContext _context;
    private readonly HeaderEntries _own;
    /// <summary>The layers, highest precedence first: the header, then the nearest path default, then [defaults].</summary>
    private readonly IReadOnlyList<HeaderEntries> _layers;

    private ModelHeader(string file, ModelContext context, HeaderEntries own, IReadOnlyList<HeaderEntries> layers)
    {
        _file = file;
        _context = context;
        _own = own;
        _layers = layers;
    }

    /// <summary>Parses the header of a model file over the project's layers. Returns the config and the offset where
    /// the SQL body starts.</summary>
    public static (ModelConfig Config, int BodyStart) Parse(string text, string file, ModelContext context)
    {
        var header = HeaderReader.Read(text, file, "MODEL", ProjectErrors.ModelHeaderSyntax);
        var ignored = new List<string>();
        var own = new HeaderEntries(header?.Entries ?? Array.Empty<HeaderEntry>(), "MODEL key", null, ModelKeys.Implemented, ModelKeys.Upstream,
            (entry, message) => ProjectErrors.ModelHeader(file, entry.Line, message),
            entry =>
            {
                ignored.Add(entry.Key);
                context.Ignore($"MODEL key '{entry.Key}'", $"{file}:{entry.Line}",
                    $"MODEL key '{entry.Key}' is an upstream key SQLBuild does not implement; it is ignored{ModelKeys.IgnoredNote(entry.Key)}");
            });
        var inherited = context.Layers.For(file);
        var layers = new List<HeaderEntries>(1 + inherited.Count) { own };
        layers.AddRange(inherited);

        var model = new ModelHeader(file, context, own, layers);
        var config = model.Read(ignored);
        return (config, header?.BodyStart ?? 0);
    }

    private ModelConfig Read(IReadOnlyList<string> ignored)
    {
        var materialized = ReadMaterialized();
        var incremental = materialized == Materialization.Incremental;
        var strategy = ReadIncrementalStrategy(incremental);
        var cursor = ReadCursor(incremental);
        var cursorType = ReadCursorType(cursor);
        var cursorGrain = ReadCursorGrain(cursor, cursorType);
        var uniqueKey = ReadUniqueKey(incremental, strategy);
        var (columns, columnAudits, schemaDescription, modelSchema) = ReadColumns();
        var contract = ReadContract(columns);
        // Every list is read-only: a model outlives its compile (the compile cache hands it to the next one), so a list a
        // caller could change (an output object's Tags at the prompt) would change later compiles and version hashes.
        return new ModelConfig
        {
            Materialized = materialized,
            Tags = Frozen(Union("tags", "a list of tags [a, b]")),
            Audits = Frozen(columnAudits.Concat(ReadAudits())),
            UniqueKey = Frozen(uniqueKey),
            IncrementalStrategy = strategy,
            Cursor = cursor,
            CursorType = cursorType,
            CursorGrain = cursorGrain,
            Description = ReadDescription() ?? schemaDescription,
            Columns = Frozen(columns),
            ModelSchema = modelSchema,
            Contract = contract,
            FullRefresh = ReadFullRefresh(),
            PreHooks = Frozen(ReadHooks("pre_hooks")),
            PostHooks = Frozen(ReadHooks("post_hooks")),
            RunDespiteUnchanged = ReadRunDespiteUnchanged(materialized),
            RowDiffTolerances = new System.Collections.ObjectModel.ReadOnlyDictionary<string, object>(ReadRowDiffTolerances().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal)),
            RowDiffExcludeColumns = Frozen(Union("row_diff_exclude_columns", "a list of column names [a, b]")),
            IgnoredKeys = Frozen(ignored),
            Enabled = ReadEnabled(),
        };
    }

    private static IReadOnlyList<T> Frozen<T>(IEnumerable<T> items) => Array.AsReadOnly(items.ToArray());

    // ---- keys ----------------------------------------------------------------------------------

    private Materialization ReadMaterialized()
    {
        if (!TryGet("materialized", out var entry)) return Materialization.View;
        return entry.Value.AsWord()?.ToLowerInvariant() switch
        {
            "view" => Materialization.View,
            "table" => Materialization.Table,
            "incremental" => Materialization.Incremental,
            _ => throw Invalid(entry, entry.Value.Line, $"materialized: expected view, table or incremental, got {entry.Value.Describe()}"),
        };
    }

    private IncrementalStrategy ReadIncrementalStrategy(bool incremental)
    {
        if (!TryGet("incremental_strategy", out var entry)) return IncrementalStrategy.Append;
        var strategy = entry.Value.AsWord()?.ToLowerInvariant() switch
        {
            "append" => IncrementalStrategy.Append,
            "delete_insert" => IncrementalStrategy.DeleteInsert,
            "merge" => IncrementalStrategy.Merge,
            _ => throw Invalid(entry, entry.Value.Line, $"incremental_strategy: expected append, delete_insert or merge, got {entry.Value.Describe()}"),
        };
        return Applies(entry, incremental, "incremental_strategy only applies to materialized incremental") ? strategy : IncrementalStrategy.Append;
    }

    private string? ReadCursor(bool incremental)
    {
        if (!TryGet("cursor", out var entry)) return null;
        var cursor = entry.Value.AsWord() ?? throw Invalid(entry, entry.Value.Line, $"cursor: expected a column name, got {entry.Value.Describe()}");
        return Applies(entry, incremental, "cursor only applies to materialized incremental") ? cursor : null;
    }

    private CursorType? ReadCursorType(string? cursor)
    {
        if (!TryGet("cursor_type", out var entry)) return null;
        var type = entry.Value.AsWord()?.ToLowerInvariant() switch
        {
            "timestamp" => CursorType.Timestamp,
            "integer" => CursorType.Integer,
            _ => throw Invalid(entry, entry.Value.Line, $"cursor_type: expected timestamp or integer, got {entry.Value.Describe()}"),
        };
        return Applies(entry, cursor is not null, "cursor_type needs a cursor column (cursor NAME)") ? type : null;
    }

    private CursorGrain? ReadCursorGrain(string? cursor, CursorType? cursorType)
    {
        if (!TryGet("cursor_grain", out var entry)) return null;
        var grain = entry.Value.AsWord()?.ToLowerInvariant() switch
        {
            "second" => CursorGrain.Second,
            "minute" => CursorGrain.Minute,
            "hour" => CursorGrain.Hour,
            "day" => CursorGrain.Day,
            "month" => CursorGrain.Month,
            "year" => CursorGrain.Year,
            _ => throw Invalid(entry, entry.Value.Line, $"cursor_grain: expected second, minute, hour, day, month or year, got {entry.Value.Describe()}"),
        };
        if (!Applies(entry, cursor is not null, "cursor_grain needs a cursor column (cursor NAME)")) return null;
        if (cursorType == CursorType.Integer)
            throw Invalid(entry, entry.Line, "cursor_grain applies to a timestamp cursor, not cursor_type integer");
        return grain;
    }

    private IReadOnlyList<string> ReadUniqueKey(bool incremental, IncrementalStrategy strategy)
    {
        IReadOnlyList<string> uniqueKey = Array.Empty<string>();
        if (TryGet("unique_key", out var entry))
        {
            uniqueKey = NameList(entry, "a column name or a list [a, b] of column names");
            if (uniqueKey.Count == 0) throw Invalid(entry, entry.Value.Line, "unique_key: expected at least one column");
        }
        if (incremental && strategy != IncrementalStrategy.Append && uniqueKey.Count == 0)
        {
            TryGet("incremental_strategy", out var strategyEntry);
            var from = strategyEntry!.Inherited ? $" (from {strategyEntry.Origin})" : "";
            throw ProjectErrors.ModelHeader(_file, strategyEntry.Inherited ? 0 : strategyEntry.Line,
                $"incremental_strategy {EnumNames.Snake(strategy)}{from} needs unique_key (a column or [a, b])");
        }
        return uniqueKey;
    }

    private string? ReadDescription()
    {
        if (!TryGet("description", out var entry)) return null;
        return entry.Value is HeaderString text ? text.Text
            : throw Invalid(entry, entry.Value.Line, $"description: expected a quoted string 'text', got {entry.Value.Describe()}");
    }

    private IReadOnlyList<AuditSpec> ReadAudits()
    {
        if (!TryGet("audits", out var entry)) return Array.Empty<AuditSpec>();
        if (entry.Value is not HeaderList list)
            throw ProjectErrors.AuditInvalid(entry.File, entry.Value.Line, $"audits: expected a list [not_null(col), ...], got {entry.Value.Describe()}");
        return list.Items.Select(item => AuditSpecReader.Read(item, entry.Text, entry.File, _context.GenericAudits, _context.DefaultSeverity)).ToList();
    }

    /// <summary>
    /// The declared columns: those of the bound <c>model_schema</c> first, then the model's own. A model may add audits to
    /// a schema's column (<c>order_id (audits [unique])</c>) but not change its type, nullability or description.
    /// </summary>
    private (IReadOnlyList<ModelColumn> Columns, IReadOnlyList<AuditSpec> Audits, string? Description, string? Schema) ReadColumns()
    {
        var declarations = new List<ColumnDeclaration>();
        string? schemaName = null;
        string? description = null;
        if (TryGet("model_schema", out var schemaEntry))
        {
            schemaName = schemaEntry.Value.AsWord() ?? throw Invalid(schemaEntry, schemaEntry.Value.Line,
                $"model_schema: expected a schema name, got {schemaEntry.Value.Describe()}");
            var schema = _context.Schemas.GetValueOrDefault(schemaName) ?? throw Invalid(schemaEntry, schemaEntry.Value.Line,
                $"model_schema: unknown schema '{schemaName}'" + (_context.Schemas.Count == 0
                    ? "; declare it with SCHEMA (name ..., columns (...)); in a file under schemas/"
                    : $"; schemas: {string.Join(", ", _context.Schemas.Keys.Order(StringComparer.Ordinal))}"));
            declarations.AddRange(schema.Columns);
            description = schema.Description;
        }
        if (TryGet("columns", out var columnsEntry))
        {
            foreach (var own in ColumnReader.Read(columnsEntry, _context.GenericAudits, _context.DefaultSeverity,
                         e => _context.Ignore($"column key '{e.Key}'", $"{e.File}:{e.Line}",
                             $"column key '{e.Key}' is an upstream key SQLBuild does not implement; it is ignored")))
            {
                var index = declarations.FindIndex(d => string.Equals(d.Column.Name, own.Column.Name, StringComparison.OrdinalIgnoreCase));
                if (index < 0)
                {
                    declarations.Add(own);
                    continue;
                }
                if (own.HasMetadata)
                    throw Invalid(columnsEntry, own.Line,
                        $"column '{own.Column.Name}' comes from model_schema '{schemaName}': the model may only add audits to it");
                declarations[index] = declarations[index] with { Audits = declarations[index].Audits.Concat(own.Audits).ToList() };
            }
        }
        return (declarations.Select(d => d.Column).ToList(), declarations.SelectMany(d => d.Audits).ToList(), description, schemaName);
    }

    private ContractMode ReadContract(IReadOnlyList<ModelColumn> columns)
    {
        if (!TryGet("contract", out var entry)) return ContractMode.Unspecified;
        var contract = entry.Value.AsWord()?.ToLowerInvariant() switch
        {
            "enforced" => ContractMode.Enforced,
            "none" => ContractMode.None,
            _ => throw Invalid(entry, entry.Value.Line, $"contract: expected enforced or none, got {entry.Value.Describe()}"),
        };
        if (contract == ContractMode.Enforced && columns.Count == 0)
            throw ProjectErrors.ModelHeader(_file, entry.Inherited ? 0 : entry.Line,
                $"contract enforced{(entry.Inherited ? $" (from {entry.Origin})" : "")} needs the output's columns: columns (name (type ...), ...) or model_schema NAME");
        return contract;
    }

    private bool ReadEnabled()
    {
        if (!TryGet("enabled", out var entry)) return true;
        return ColumnReader.Bool(entry.Value) ?? throw Invalid(entry, entry.Value.Line, $"enabled: expected true or false, got {entry.Value.Describe()}");
    }

    private bool? ReadFullRefresh()
    {
        if (!TryGet("full_refresh", out var entry)) return null;
        return ColumnReader.Bool(entry.Value) ?? throw Invalid(entry, entry.Value.Line, $"full_refresh: expected true or false, got {entry.Value.Describe()}");
    }

    private IReadOnlyList<ModelHook> ReadHooks(string key) =>
        TryGet(key, out var entry) ? HookReader.Read(entry, _context) : Array.Empty<ModelHook>();

    private RunDespiteUnchanged? ReadRunDespiteUnchanged(Materialization materialized)
    {
        if (!TryGet("run_despite_unchanged", out var entry)) return null;
        var value = (entry.Value.AsWord() is { } text ? RunDespiteUnchanged.Parse(text) : null)
            ?? throw Invalid(entry, entry.Value.Line, $"run_despite_unchanged: expected \"always\", \"<N>h\" or \"<N>d\" (N from 1), got {entry.Value.Describe()}");
        return Applies(entry, materialized == Materialization.Table, "run_despite_unchanged only applies to materialized table") ? value : null;
    }

    /// <summary>Column tolerances (<c>amount 0.01</c> or a block such as <c>amount (absolute 0.01)</c>), deep-merged over the layers.</summary>
    private IReadOnlyDictionary<string, object> ReadRowDiffTolerances()
    {
        if (!TryGet("row_diff_tolerances", out _)) return NoTolerances;
        var merged = new Dictionary<string, object>(StringComparer.Ordinal);
        for (var i = _layers.Count - 1; i >= 0; i--)
        {
            if (!_layers[i].TryGet("row_diff_tolerances", out var entry)) continue;
            if (entry.Value is not HeaderCall { Name.Length: 0 } block)
                throw Invalid(entry, entry.Value.Line, $"row_diff_tolerances: expected a block (column 0.01, ...), got {entry.Value.Describe()}");
            MergeInto(merged, Tolerances(block, entry));
        }
        return merged;
    }

    private static readonly IReadOnlyDictionary<string, object> NoTolerances = new Dictionary<string, object>();

    private Dictionary<string, object> Tolerances(HeaderCall block, HeaderEntry entry)
    {
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var arg in block.Args)
        {
            var (name, value) = arg.Name is not null ? (arg.Name, arg.Value)
                : arg.Value is HeaderCall { Name.Length: > 0 } call ? (call.Name, (HeaderValue)(call with { Name = "" }))
                : throw Invalid(entry, arg.Line, $"row_diff_tolerances: expected column value, got {arg.Value.Describe()}");
            result[name] = value switch
            {
                HeaderNumber n when decimal.TryParse(n.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 => n.Text,
                HeaderCall { Name.Length: 0 } nested => Tolerances(nested, entry),
                _ => throw Invalid(entry, arg.Line, $"row_diff_tolerances: {name}: expected a number from 0 or a block, got {value.Describe()}"),
            };
        }
        return result;
    }

    private static void MergeInto(Dictionary<string, object> into, Dictionary<string, object> over)
    {
        foreach (var (key, value) in over)
        {
            if (value is Dictionary<string, object> nested && into.GetValueOrDefault(key) is Dictionary<string, object> existing)
                MergeInto(existing, nested);
            else into[key] = value;
        }
    }

    // ---- layers --------------------------------------------------------------------------------

    /// <summary>The entry of the highest layer that sets <paramref name="key"/>.</summary>
    private bool TryGet(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HeaderEntry? entry)
    {
        foreach (var layer in _layers)
            if (layer.TryGet(key, out entry)) return true;
        entry = null;
        return false;
    }

    /// <summary>A list key unioned over every layer ([defaults] first), without repeats.</summary>
    private IReadOnlyList<string> Union(string key, string expected)
    {
        List<string>? union = null;
        for (var i = _layers.Count - 1; i >= 0; i--)
        {
            if (!_layers[i].TryGet(key, out var entry)) continue;
            union ??= new List<string>();
            foreach (var name in NameList(entry, expected))
                if (!union.Contains(name, StringComparer.Ordinal)) union.Add(name);
        }
        return union is null ? Array.Empty<string>() : union.ToArray();
    }

    /// <summary>Whether a key is used: when it does not apply, the model's own header is wrong; a layer simply does not apply.</summary>
    private bool Applies(HeaderEntry entry, bool applies, string message)
    {
        if (applies) return true;
        if (!entry.Inherited) throw Invalid(entry, entry.Line, message);
        return false;
    }

    /// <summary>A word, a string or a list of them.</summary>
    private IReadOnlyList<string> NameList(HeaderEntry entry, string expected)
    {
        if (entry.Value.AsWord() is { } single) return new[] { single };
        if (entry.Value is not HeaderList list)
            throw Invalid(entry, entry.Value.Line, $"{entry.Key}: expected {expected}, got {entry.Value.Describe()}");
        return list.Items
            .Select(item => item.AsWord() ?? throw Invalid(entry, item.Line, $"{entry.Key}: expected {expected}, got {item.Describe()}"))
            .ToList();
    }

    /// <summary>P010 at the entry's file (a layer's error names its table: <c>[defaults] materialized: ...</c>).</summary>
    private static SqbException Invalid(HeaderEntry entry, int line, string message) =>
        ProjectErrors.ModelHeader(entry.File, line, entry.Layer is null ? message : $"{entry.Layer} {message}");
}

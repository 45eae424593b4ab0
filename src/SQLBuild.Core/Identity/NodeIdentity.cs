using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SQLBuild.Core.Project;

namespace SQLBuild.Core.Identity;

/// <summary>The identity of one model or seed: what decides whether a physical version can be reused.</summary>
public sealed record NodeIdentity(string Name, NodeKind Kind, string LocalHash, string VersionHash, string MetadataJson)
{
    /// <summary>First 8 hex characters of the version hash: the physical relation suffix (<c>__v_xxxxxxxx</c>).</summary>
    public string ShortHash => VersionHash[..8];
}

/// <summary>What a model's file alone decides of its identity: its local hash and the metadata text hashed into it.</summary>
internal sealed record LocalIdentity(string Hash, string Metadata);

/// <summary>A version hash and the text it is the hash of.</summary>
internal sealed record VersionMemo(string Input, string Hash);

/// <summary>
/// Local and version hashes (SPEC §4.1). Local hash = SHA-256 of the model SQL as written (references
/// kept as names) and its version-relevant config; version hash = SHA-256 of the local hash and the
/// version hashes of its upstream models and seeds in dependency order. Equal code with equal upstreams
/// gives an equal hash, and so the same physical relation.
/// </summary>
public static class IdentityCalculator
{
    public static IReadOnlyDictionary<string, NodeIdentity> Compute(CompiledProject project) => Compute(project, skipUnreadableSeeds: false);

    /// <summary>
    /// As <see cref="Compute(CompiledProject)"/>, except that a seed whose file cannot be read as UTF-8 CSV (P015) has
    /// no identity, nor has any model downstream of it: for a diagnosis (reconcile) that reports what it can instead of
    /// failing on a data file it only needs for an expected version.
    /// </summary>
    public static IReadOnlyDictionary<string, NodeIdentity> ComputeReadable(CompiledProject project) => Compute(project, skipUnreadableSeeds: true);

    private static IReadOnlyDictionary<string, NodeIdentity> Compute(CompiledProject project, bool skipUnreadableSeeds)
    {
        // A model's local hash needs only its own file: those a model does not carry yet (the compile cache hands an
        // unchanged file's model over with them) are computed in parallel. A version hash needs its parents' version
        // hashes: those follow in topological order, one short hash each, unless the model hashed the same text before.
        var order = project.TopologicalOrder;
        var models = project.Models.Values.Where(m => m.LocalIdentity is null).ToList();
        if (models.Count < 256 || Environment.ProcessorCount == 1)
            foreach (var model in models) _ = Local(model);
        else
            Parallel.ForEach(models, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, model => _ = Local(model));

        var result = new Dictionary<string, NodeIdentity>(order.Count, StringComparer.Ordinal);
        var sb = new StringBuilder();
        for (var i = 0; i < order.Count; i++)
        {
            var name = order[i];
            if (project.Seeds.TryGetValue(name, out var seed))
            {
                if (skipUnreadableSeeds)
                {
                    try { seed.EnsureRead(); }
                    catch (Errors.SqbException ex) when (ex.Code == Errors.ErrorCodes.SeedInvalid) { continue; }
                }
                var meta = SeedMetadata(seed);
                var local = Sha256(seed.ContentHash + "\n" + meta);
                result[name] = new NodeIdentity(name, NodeKind.Seed, local, Sha256(local), meta);
                continue;
            }
            var (localHash, metadata) = Local(project.Models[name]);
            var parents = project.Parents.TryGetValue(name, out var ps) ? ps : Array.Empty<string>();
            if (skipUnreadableSeeds && parents.Any(p => !result.ContainsKey(p))) continue;
            sb.Clear().Append(localHash);
            foreach (var parent in parents)
                sb.Append('\n').Append(result[parent].VersionHash);
            var model = project.Models[name];
            var input = sb.ToString();
            if (model.VersionMemo is not { } memo || !string.Equals(memo.Input, input, StringComparison.Ordinal))
                model.VersionMemo = memo = new VersionMemo(input, Sha256(input));
            result[name] = new NodeIdentity(name, NodeKind.Model, localHash, memo.Hash, metadata);
        }
        return result;
    }

    /// <summary>A model's local hash and metadata, worked out once per model object.</summary>
    private static LocalIdentity Local(ModelNode model)
    {
        if (model.LocalIdentity is { } known) return known;
        var metadata = ModelMetadata(model);
        return model.LocalIdentity = new LocalIdentity(Sha256(NormalizeSql(model.Sql) + "\n" + metadata), metadata);
    }

    /// <summary>
    /// The config that changes what a model's relation holds, and so its version:
    /// <list type="bullet">
    /// <item>the materialization and, for an incremental, how its rows accumulate: strategy, unique key, cursor,
    /// <c>cursor_type</c> and <c>cursor_grain</c> (which rows each run rewrites) and <c>full_refresh</c> (whether it
    /// accumulates at all);</item>
    /// <item>an enforced contract with its declared columns and types: a version is proof of that shape, so a changed
    /// declaration is a new version that is checked again;</item>
    /// <item>the hooks' SQL: a hook may write to the relation (a post-hook runs on a new version before it is published),
    /// and which ones do cannot be told from the text, so every hook is part of the version (as upstream).</item>
    /// </list>
    /// Not in it: tags, description, column descriptions and nullability (metadata), declared columns without an
    /// enforced contract (nothing checks or casts them), audits (they judge a version, they do not make it; a changed
    /// audit is "audits changed" in a plan), <c>run_despite_unchanged</c> (when to refresh, not what),
    /// <c>row_diff_*</c> (how to compare) and the upstream keys SQLBuild ignores. A key left unset adds nothing, so a
    /// model that sets none of the newer keys keeps the version it had.
    /// </summary>
    public static string ModelMetadata(ModelNode model)
    {
        // Written by hand, key by key in ordinal order, exactly as JsonSerializer wrote the sorted dictionaries this
        // replaces (same escaping: the default encoder), because the text is hashed into every version: a byte that
        // differs would rebuild every model of every project. IdentityTests holds the two side by side.
        var c = model.Config;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("config");
            if (c.Contract == ContractMode.Enforced)
            {
                json.WriteStartArray("columns");
                foreach (var col in c.Columns)
                {
                    json.WriteStartArray();
                    json.WriteStringValue(col.Name);
                    json.WriteStringValue(col.Type ?? "");
                    json.WriteEndArray();
                }
                json.WriteEndArray();
                json.WriteString("contract", "enforced");
            }
            var incremental = c.Materialized == Materialization.Incremental;
            if (incremental)
            {
                json.WriteString("cursor", c.Cursor);
                if (c.CursorGrain is { } grain) json.WriteString("cursor_grain", EnumNames.Snake(grain));
                if (c.CursorType is { } cursorType) json.WriteString("cursor_type", EnumNames.Snake(cursorType));
                if (c.FullRefresh is { } fullRefresh) json.WriteBoolean("full_refresh", fullRefresh);
                json.WriteString("incremental_strategy", EnumNames.Snake(c.IncrementalStrategy));
            }
            json.WriteString("materialized", MaterializedName(c.Materialized));
            if (c.PostHooks.Count > 0) WriteStrings(json, "post_hooks", c.PostHooks.Select(h => h.Sql));
            if (c.PreHooks.Count > 0) WriteStrings(json, "pre_hooks", c.PreHooks.Select(h => h.Sql));
            if (incremental) WriteStrings(json, "unique_key", c.UniqueKey);
            json.WriteEndObject();
            json.WriteString("model_name", model.Name);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }

    private static string MaterializedName(Materialization materialized) => materialized switch
    {
        Materialization.View => "view",
        Materialization.Table => "table",
        Materialization.Incremental => "incremental",
        _ => materialized.ToString().ToLowerInvariant(),
    };

    private static string SeedMetadata(SeedNode seed)
    {
        var doc = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["columns"] = seed.Columns.Select(c => new[] { c.Name, c.Type.ToString().ToLowerInvariant() }).ToArray(),
            ["seed_name"] = seed.Name,
        };
        return JsonSerializer.Serialize(doc);
    }

    /// <summary>
    /// What a model's audits are, as one short hash: each audit (name, column, arguments) and its severity, in order.
    /// Audits are not part of the version hash (they do not change what a relation holds); a ref records the
    /// signature its version passed, and a different one means "audits changed": run them on the bound version.
    /// </summary>
    public static string AuditSignature(ModelNode model) => model.AuditSignature ??= ComputeAuditSignature(model);

    private static string ComputeAuditSignature(ModelNode model)
    {
        var audits = model.Config.Audits.Select(a => new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["name"] = a.Name, ["column"] = a.Column, ["values"] = a.Values, ["to"] = a.ToModel, ["field"] = a.ToField,
            ["expression"] = a.Expression, ["arguments"] = new SortedDictionary<string, string>(a.Arguments.ToDictionary(x => x.Key, x => x.Value), StringComparer.Ordinal),
            ["severity"] = a.Severity.ToString().ToLowerInvariant(),
        }).ToArray();
        return Sha256(JsonSerializer.Serialize(audits))[..16];
    }

    /// <summary>Line endings and trailing whitespace do not change a model's identity.</summary>
    public static string NormalizeSql(string sql)
    {
        var sb = new StringBuilder(sql.Length);
        var start = 0;
        while (true)
        {
            var end = sql.IndexOf('\n', start);
            var line = sql.AsSpan(start, (end < 0 ? sql.Length : end) - start);
            if (line.EndsWith("\r")) line = line[..^1];                 // \r\n is \n
            if (start > 0) sb.Append('\n');
            sb.Append(line.TrimEnd());
            if (end < 0) break;
            start = end + 1;
        }
        return sb.ToString().Trim();
    }

    public static string Sha256(string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        var bytes = max <= 4096 ? stackalloc byte[max] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(text, bytes);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(bytes[..length], hash);
            return Convert.ToHexString(hash).ToLowerInvariant();
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A data test's local hash: its SQL as written, normalized like a model's.</summary>
    public static string DataTestHash(DataTestNode test) => Sha256(NormalizeSql(test.Sql));

}

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
        var result = new Dictionary<string, NodeIdentity>(StringComparer.Ordinal);
        foreach (var name in project.TopologicalOrder)
        {
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
            var model = project.Models[name];
            var metadata = ModelMetadata(model);
            var localHash = Sha256(NormalizeSql(model.Sql) + "\n" + metadata);
            var sb = new StringBuilder(localHash);
            var parents = project.Parents.TryGetValue(name, out var ps) ? ps : Array.Empty<string>();
            if (skipUnreadableSeeds && parents.Any(p => !result.ContainsKey(p))) continue;
            foreach (var parent in parents)
                sb.Append('\n').Append(result[parent].VersionHash);
            result[name] = new NodeIdentity(name, NodeKind.Model, localHash, Sha256(sb.ToString()), metadata);
        }
        return result;
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
        var c = model.Config;
        var config = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["materialized"] = c.Materialized.ToString().ToLowerInvariant(),
        };
        if (c.Materialized == Materialization.Incremental)
        {
            config["incremental_strategy"] = EnumNames.Snake(c.IncrementalStrategy);
            config["unique_key"] = c.UniqueKey;
            config["cursor"] = c.Cursor;
            if (c.CursorType is { } cursorType) config["cursor_type"] = EnumNames.Snake(cursorType);
            if (c.CursorGrain is { } grain) config["cursor_grain"] = EnumNames.Snake(grain);
            if (c.FullRefresh is { } fullRefresh) config["full_refresh"] = fullRefresh;
        }
        if (c.Contract == ContractMode.Enforced)
        {
            config["contract"] = "enforced";
            config["columns"] = c.Columns.Select(col => new[] { col.Name, col.Type ?? "" }).ToArray();
        }
        if (c.PreHooks.Count > 0) config["pre_hooks"] = c.PreHooks.Select(h => h.Sql).ToArray();
        if (c.PostHooks.Count > 0) config["post_hooks"] = c.PostHooks.Select(h => h.Sql).ToArray();
        var doc = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["config"] = config,
            ["model_name"] = model.Name,
        };
        return JsonSerializer.Serialize(doc);
    }

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
    public static string AuditSignature(ModelNode model)
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
    public static string NormalizeSql(string sql) =>
        string.Join("\n", sql.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd())).Trim();

    public static string Sha256(string text) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    /// <summary>A data test's local hash: its SQL as written, normalized like a model's.</summary>
    public static string DataTestHash(DataTestNode test) => Sha256(NormalizeSql(test.Sql));

}

namespace SQLBuild.Core.State;

public static class NodeTypes
{
    public const string Model = "model";
    public const string Seed = "seed";
}

public static class EnvironmentStatus
{
    public const string Finalized = "finalized";
    public const string Active = "active";
    public const string Detached = "detached";

    /// <summary>Upstream shows <c>active</c> as "working".</summary>
    public static string Display(string status) => status == Active ? "working" : status;
}

/// <summary>A ref key: (node_type, node_name).</summary>
public readonly record struct NodeKey(string NodeType, string NodeName)
{
    public static NodeKey Model(string name) => new(NodeTypes.Model, name);
    public static NodeKey Seed(string name) => new(NodeTypes.Seed, name);
    /// <summary>The key of a model or seed of <paramref name="project"/> (models and seeds share one namespace).</summary>
    public static NodeKey Of(Project.CompiledProject project, string name) => project.Seeds.ContainsKey(name) ? Seed(name) : Model(name);
    public override string ToString() => NodeType == NodeTypes.Model ? NodeName : $"{NodeType}:{NodeName}";
}

public sealed record EnvironmentRow(string Name, string Status, string? Baseline, DateTime CreatedAt, DateTime UpdatedAt, DateTime? FinalizedAt);

public sealed record ModelVersionRow(string ModelName, string VersionHash, string LocalHash, string CompiledSql, string MetadataJson, string Status);

public sealed record PhysicalRelationRow(string ArtifactType, string ArtifactName, string VersionHash, string? DatabaseName,
    string SchemaName, string RelationName, string RelationType)
{
    public NodeKey Key => new(ArtifactType, ArtifactName);
    public Adapters.RelationName Relation => new(SchemaName, RelationName);
}

/// <summary>A row of the locks table, with what can be proven about its holder.</summary>
public sealed record LockRow(string Key, string OwnerId, string? OwnerHost, long? OwnerPid, string? OperationId,
    DateTime CreatedAt, DateTime ExpiresAt, bool IsExpired, bool IsOrphaned)
{
    /// <summary>The holder's last renewal (or its acquire).</summary>
    public DateTime UpdatedAt { get; init; }
}

public sealed record CheckpointRow(string Id, string Environment, DateTime CreatedAt);

public sealed record RefChange(NodeKey Key, string? Previous, string? New);

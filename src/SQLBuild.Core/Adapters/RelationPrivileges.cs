using System.Globalization;

namespace SQLBuild.Core.Adapters;

/// <summary>
/// One privilege held on a relation, or on one of its columns, as the catalog reports it.
/// </summary>
/// <param name="Column">The column it is on; null: the whole relation.</param>
/// <param name="Grantee">The role (PostgreSQL) or database principal (SQL Server) that holds it; null: PUBLIC, every role.</param>
/// <param name="Privilege">Its keyword as the catalog spells it (<c>SELECT</c>, <c>VIEW DEFINITION</c>, ...).</param>
/// <param name="Grantable">Held WITH GRANT OPTION.</param>
/// <param name="Denied">A SQL Server DENY (it outranks any GRANT, so losing it widens access).</param>
public sealed record RelationPrivilege(string? Column, string? Grantee, string Privilege, bool Grantable, bool Denied = false)
{
    /// <summary>What identifies it, grant option aside: a grant with the option covers one without it.</summary>
    public (string? Column, string? Grantee, string Privilege, bool Denied) Key => (Column, Grantee, Privilege, Denied);

    public override string ToString() =>
        $"{(Denied ? "DENY " : "")}{Privilege}{(Column is null ? "" : $" ({Column})")} to {Grantee ?? "PUBLIC"}{(Grantable ? " with grant option" : "")}";
}

/// <summary>
/// A relation as a privilege read saw it: its catalog identity (PostgreSQL oid, SQL Server object_id: kept by a move or a
/// rename, new when it is dropped and created again), kind, owner, columns and privileges.
/// </summary>
public sealed record PrivilegedRelation(long Id, RelationName Relation, RelationKind Kind, string? Owner,
    IReadOnlyCollection<string> Columns, IReadOnlyList<RelationPrivilege> Privileges);

/// <summary>
/// What one set-based privilege read (<see cref="SqlDialect.RelationPrivileges"/>) saw. Its rows are
/// (object id, schema, relation, kind 'table'|'view', owner, column, grantee, is_public, privilege, grantable, denied,
/// current user): a row with a null privilege only says that the relation (column null) or the column exists; a row
/// with a column says that the column exists.
/// Names are compared as the engine's catalog compares them.
/// </summary>
public sealed class PrivilegeSnapshot
{
    private readonly Dictionary<RelationName, PrivilegedRelation> _byName;
    private readonly Dictionary<long, PrivilegedRelation> _byId;

    public PrivilegeSnapshot(IEnumerable<PrivilegedRelation> relations, StringComparer names, string? currentUser = null)
    {
        CurrentUser = currentUser;
        _byName = new Dictionary<RelationName, PrivilegedRelation>(new NameComparer(names));
        _byId = new Dictionary<long, PrivilegedRelation>();
        foreach (var r in relations)
        {
            _byName[r.Relation] = r;
            _byId[r.Id] = r;
        }
    }

    public IReadOnlyCollection<PrivilegedRelation> Relations => _byId.Values;

    /// <summary>The role (principal) of the session that read it; null when the read found no relation.</summary>
    public string? CurrentUser { get; }

    public PrivilegedRelation? Find(RelationName relation) => _byName.GetValueOrDefault(relation);
    public PrivilegedRelation? FindById(long id) => _byId.GetValueOrDefault(id);

    /// <summary>Builds the snapshot from the rows of <see cref="SqlDialect.RelationPrivileges"/>.</summary>
    public static PrivilegeSnapshot FromRows(IReadOnlyList<object?[]> rows, StringComparer names)
    {
        var relations = new Dictionary<long, (RelationName Name, RelationKind Kind, string? Owner, HashSet<string> Columns, List<RelationPrivilege> Privileges)>();
        string? currentUser = null;
        foreach (var row in rows)
        {
            currentUser ??= row[11] as string;
            var id = Convert.ToInt64(row[0], CultureInfo.InvariantCulture);
            if (!relations.TryGetValue(id, out var r))
                relations[id] = r = (new RelationName((string)row[1]!, (string)row[2]!),
                    string.Equals(row[3] as string, "view", StringComparison.Ordinal) ? RelationKind.View : RelationKind.Table,
                    row[4] as string, new HashSet<string>(names), new List<RelationPrivilege>());
            var column = row[5] as string;
            if (column is not null) r.Columns.Add(column);
            if (row[8] is not string privilege) continue;
            var isPublic = Flag(row[7]);
            r.Privileges.Add(new RelationPrivilege(column, isPublic ? null : (string)row[6]!, privilege, Flag(row[9]), Flag(row[10])));
        }
        return new PrivilegeSnapshot(relations.Select(p => new PrivilegedRelation(p.Key, p.Value.Name, p.Value.Kind, p.Value.Owner,
            p.Value.Columns, p.Value.Privileges)), names, currentUser);
    }

    private static bool Flag(object? value) => value switch
    {
        null or DBNull => false,
        bool b => b,
        _ => Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0,
    };

    private sealed class NameComparer : IEqualityComparer<RelationName>
    {
        private readonly StringComparer _names;
        public NameComparer(StringComparer names) => _names = names;
        public bool Equals(RelationName? x, RelationName? y) =>
            x is not null && y is not null && _names.Equals(x.Schema, y.Schema) && _names.Equals(x.Name, y.Name);
        public int GetHashCode(RelationName r) => HashCode.Combine(_names.GetHashCode(r.Schema), _names.GetHashCode(r.Name));
    }
}

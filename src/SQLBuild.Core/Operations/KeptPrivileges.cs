using SQLBuild.Core.Adapters;
using SQLBuild.Core.Logging;

namespace SQLBuild.Core.Operations;

/// <summary>
/// SPEC §10.1: the privileges on the relations a switch transaction touches survive it. <see cref="SwitchTransaction"/>
/// calls <see cref="Capture"/> inside the transaction before its body (one set-based read of every relation it touches)
/// and <see cref="Restore"/> after it, in the same transaction, so no caller can forget it and a crash in between
/// leaves the old relations with their privileges. Restore reads the same relations again (and, by catalog id, wherever
/// they went) and grants what was lost:
/// <list type="bullet">
/// <item>to a relation the body dropped and created at the same name (a logical view whose columns changed on
/// PostgreSQL, a table that became a view on adopt, a view that became a table on detach), what the old one had;</item>
/// <item>to a relation the body moved (the same catalog object under another schema or name: SQL Server drops every
/// permission on <c>ALTER SCHEMA .. TRANSFER</c>; PostgreSQL keeps them and nothing is granted), what it had before.</item>
/// </list>
/// Only what is missing is granted (a recreated relation may already hold default privileges), with the grant option
/// where the old one had it, and SQL Server DENYs as DENYs. Not carried over: the grantor (re-grants are made by the
/// role that runs SQLBuild, the new relation's owner); ownership and the owner's implicit rights (the new relation
/// belongs to the role that creates it: when the old one belonged to another, a warning names it); grants to the new
/// owner or to the role that runs SQLBuild (they hold everything already); a column privilege whose column the new
/// relation lacks and a privilege the new kind of relation cannot carry (each with a warning). DuckDB has no
/// privileges at all: nothing is read.
/// </summary>
internal sealed class KeptPrivileges
{
    private readonly IReadOnlyList<RelationName> _relations;
    private readonly PrivilegeSnapshot _before;

    private KeptPrivileges(IReadOnlyList<RelationName> relations, PrivilegeSnapshot before)
    {
        _relations = relations;
        _before = before;
    }

    /// <summary>Reads the privileges on <paramref name="relations"/>; null where there is nothing to keep (no relations, or an
    /// engine without privileges).</summary>
    public static KeptPrivileges? Capture(IWarehouseSession session, IReadOnlyList<RelationName> relations)
    {
        if (relations.Count == 0 || !session.Dialect.HasPrivileges) return null;
        var distinct = relations.Distinct().ToList();
        return new KeptPrivileges(distinct, session.ReadPrivileges(distinct, Array.Empty<long>()));
    }

    /// <summary>Grants, on <paramref name="session"/> (inside the transaction), what the relations lost since <see cref="Capture"/>.</summary>
    public void Restore(IWarehouseSession session, ISqbLog log)
    {
        // Which columns a relation has matters only to a column privilege: read them only when there is one.
        var allColumns = _before.Relations.Any(r => r.Privileges.Any(p => p.Column is not null));
        var after = session.ReadPrivileges(_relations, _before.Relations.Select(r => r.Id).ToList(), allColumns);
        session.ExecuteBatch(Grants(session.Dialect, _before, after, log));
    }

    /// <summary>The statements that give back what <paramref name="after"/> lacks of <paramref name="before"/>: for each relation
    /// created again at a name and each relation moved, DENYs after GRANTs so a deny still wins.</summary>
    public static IReadOnlyList<SqlStatement> Grants(SqlDialect dialect, PrivilegeSnapshot before, PrivilegeSnapshot after, ISqbLog log)
    {
        var names = dialect.CatalogNameComparer;
        var wanted = new Dictionary<long, (PrivilegedRelation Target, Dictionary<(string?, string?, string, bool), RelationPrivilege> Missing)>();
        foreach (var old in before.Relations.OrderBy(r => r.Relation.Schema, StringComparer.Ordinal).ThenBy(r => r.Relation.Name, StringComparer.Ordinal))
        {
            // Created again at the same name (a new catalog object), or moved (the same object elsewhere).
            var recreated = after.Find(old.Relation) is { } atName && atName.Id != old.Id ? atName : null;
            var moved = after.FindById(old.Id) is { } same && !SameName(names, same.Relation, old.Relation) ? same : null;
            foreach (var target in new[] { recreated, moved })
            {
                if (target is null) continue;
                var kept = old.Privileges;
                if (target == recreated && old.Owner is not null && target.Owner is not null && !names.Equals(old.Owner, target.Owner))
                {
                    // A DBA gave the old relation to another role: that role keeps what an owner may do with the rows, as grants
                    // (with the grant option, as an owner may grant), so it does not lose access to what it owned.
                    var rights = dialect.OwnerRights(target.Kind);
                    log.Warning($"{old.Relation} was owned by {old.Owner}; the {Kind(target)} created in its place is owned by {target.Owner}, " +
                                (rights.Count > 0 ? $"and {old.Owner} is granted {string.Join(", ", rights)} on it but not ownership" : $"and {old.Owner} no longer has an owner's rights on it") +
                                " (ALTER ... OWNER TO gives them back).");
                    if (!names.Equals(old.Owner, after.CurrentUser ?? ""))
                        kept = old.Privileges.Concat(rights.Select(p => new RelationPrivilege(null, old.Owner, p, true))).ToList();
                }
                foreach (var privilege in kept)
                {
                    if (Holds(target, privilege, names) || privilege.Grantee is { } g && (names.Equals(g, target.Owner ?? "") || names.Equals(g, after.CurrentUser ?? "")))
                        continue;
                    if (privilege.Column is { } column && !target.Columns.Contains(column, names))
                    {
                        log.Warning($"{target.Relation}: {privilege} is not granted again: the {Kind(target)} created in its place has no column {column}");
                        continue;
                    }
                    if (!dialect.CanGrant(privilege, target.Kind))
                    {
                        log.Warning($"{target.Relation}: {privilege} is not granted again: a {Kind(target)} cannot carry it");
                        continue;
                    }
                    if (!wanted.TryGetValue(target.Id, out var entry)) wanted[target.Id] = entry = (target, new());
                    entry.Missing[privilege.Key] = entry.Missing.TryGetValue(privilege.Key, out var had) && had.Grantable ? had : privilege;
                }
            }
        }

        var statements = new List<SqlStatement>();
        foreach (var (target, missing) in wanted.Values)
        {
            var privileges = missing.Values.ToList();
            log.Verbose($"{target.Relation}: granting again {string.Join("; ", privileges.Select(p => p.ToString()))}");
            statements.AddRange(dialect.Grant(target.Relation, privileges));
        }
        return statements;
    }

    /// <summary>Whether <paramref name="target"/> already holds <paramref name="privilege"/> (with the grant option when that is wanted).</summary>
    private static bool Holds(PrivilegedRelation target, RelationPrivilege privilege, StringComparer names) =>
        target.Privileges.Any(p => p.Privilege == privilege.Privilege && p.Denied == privilege.Denied && (p.Grantable || !privilege.Grantable) &&
                                   (p.Grantee is null ? privilege.Grantee is null : privilege.Grantee is not null && names.Equals(p.Grantee, privilege.Grantee)) &&
                                   (p.Column is null ? privilege.Column is null : privilege.Column is not null && names.Equals(p.Column, privilege.Column)));

    private static bool SameName(StringComparer names, RelationName a, RelationName b) => names.Equals(a.Schema, b.Schema) && names.Equals(a.Name, b.Name);

    private static string Kind(PrivilegedRelation r) => r.Kind == RelationKind.View ? "view" : "table";
}

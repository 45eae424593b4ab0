namespace SQLBuild.Core.Adapters;

/// <summary>
/// The engine-neutral type of a bookkeeping column (the state store's): whole numbers, text, or a UTC
/// timestamp. Each dialect names it (<see cref="SqlDialect.TypeName(ColumnFamily, bool)"/>).
/// </summary>
public enum ColumnFamily { Integer, Text, Timestamp }

/// <summary>
/// A column of a table created idempotently (<see cref="SqlDialect.CreateTableIfNotExists"/>):
/// <paramref name="Indexed"/> says a unique index covers it, which bounds a text column where the
/// engine caps the size of an index key (SQL Server: 900 bytes).
/// </summary>
public sealed record FamilyColumn(string Name, ColumnFamily Family, bool Indexed);

namespace SQLBuild.Core.State;

/// <summary>
/// A condition on the rows of one state table, built from column/value pairs (sqlmesh's state facade
/// uses expression objects the same way). Columns are names of <see cref="StateSchema"/> columns;
/// <see cref="StateSql"/> quotes them and binds every value as a parameter. Parts combine with
/// <c>&amp;</c> (AND): <c>Where.Equal("lock_key", key) &amp; Where.Equal("owner_id", owner)</c>.
/// </summary>
public abstract record Where
{
    private Where() { }

    /// <summary>The comparisons state predicates use.</summary>
    public enum Comparison
    {
        /// <summary><c>=</c></summary>
        Equal,
        /// <summary><c>&lt;=</c></summary>
        AtMost,
        /// <summary><c>&gt;</c></summary>
        After,
        /// <summary><c>&gt;=</c></summary>
        AtLeast,
    }

    /// <summary><c>column op value</c>.</summary>
    public sealed record ColumnCompare(string Column, Comparison Operator, StateValue Value) : Where;

    /// <summary><c>column IN (values)</c>; no values matches no row.</summary>
    public sealed record ColumnIn(string Column, IReadOnlyList<object?> Values) : Where;

    /// <summary>The column is none of the values (or NULL); no values matches every row.</summary>
    public sealed record ColumnNotIn(string Column, IReadOnlyList<object?> Values) : Where;

    /// <summary><c>column IS NULL</c>.</summary>
    public sealed record ColumnIsNull(string Column) : Where;

    /// <summary>Every part holds (AND).</summary>
    public sealed record AllOf(IReadOnlyList<Where> Parts) : Where;

    /// <summary><c>column = value</c>.</summary>
    public static Where Equal(string column, object? value) => new ColumnCompare(column, Comparison.Equal, StateValue.Of(value));

    /// <summary><c>column &lt;= value</c>, e.g. <c>expires_at &lt;= now</c>: <c>Where.AtMost("expires_at", StateValue.Now)</c>.</summary>
    public static Where AtMost(string column, StateValue value) => new ColumnCompare(column, Comparison.AtMost, value);

    /// <summary><c>column &gt; value</c>, e.g. a lease still unexpired: <c>Where.After("expires_at", StateValue.Now)</c>.</summary>
    public static Where After(string column, StateValue value) => new ColumnCompare(column, Comparison.After, value);

    /// <summary><c>column &gt;= value</c>, e.g. the operations started since a time.</summary>
    public static Where AtLeast(string column, StateValue value) => new ColumnCompare(column, Comparison.AtLeast, value);

    /// <summary><c>column IN (values)</c>.</summary>
    public static Where In(string column, IEnumerable<object?> values) => new ColumnIn(column, values.ToList());

    /// <summary>The column is none of <paramref name="values"/>, or NULL.</summary>
    public static Where NotIn(string column, IEnumerable<object?> values) => new ColumnNotIn(column, values.ToList());

    /// <summary><c>column IS NULL</c>.</summary>
    public static Where IsNull(string column) => new ColumnIsNull(column);

    public static Where operator &(Where left, Where right) =>
        new AllOf((left is AllOf l ? l.Parts : new[] { left }).Concat(right is AllOf r ? r.Parts : new[] { right }).ToList());
}

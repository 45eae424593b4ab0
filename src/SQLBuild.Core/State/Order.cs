namespace SQLBuild.Core.State;

/// <summary>One ORDER BY column of a state read, ascending or descending.</summary>
public sealed record Order(string Column, bool Descending)
{
    public static Order Asc(string column) => new(column, false);
    public static Order Desc(string column) => new(column, true);
}

namespace SQLBuild.Core.State;

/// <summary>
/// One column of an INSERT or UPDATE and what it takes: a value (a parameter) or the database clock.
/// <see cref="StateSql"/> renders it; no caller writes <c>SET</c> text.
/// </summary>
public sealed record Set(string Column, StateValue Value)
{
    /// <summary><c>column = value</c> (a parameter).</summary>
    public static Set To(string column, object? value) => new(column, StateValue.Of(value));

    /// <summary><c>column = the database's current UTC time</c>.</summary>
    public static Set ToNow(string column) => new(column, StateValue.Now);

    /// <summary><c>column = the database's current UTC time + seconds</c> (an expiry).</summary>
    public static Set ToNowPlus(string column, int seconds) => new(column, StateValue.NowPlus(seconds));
}

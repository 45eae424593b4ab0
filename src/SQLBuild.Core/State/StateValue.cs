namespace SQLBuild.Core.State;

/// <summary>
/// What a state column is compared with or set to: a value (sent as a parameter) or the database's UTC
/// clock, optionally moved by whole seconds. Only <see cref="StateSql"/> turns it into SQL text.
/// </summary>
public abstract record StateValue
{
    private StateValue() { }

    /// <summary>A value, bound as a positional parameter.</summary>
    public sealed record Parameter(object? Value) : StateValue;

    /// <summary>The database's UTC clock plus <paramref name="Seconds"/>.</summary>
    public sealed record Clock(int Seconds) : StateValue;

    public static StateValue Of(object? value) => new Parameter(value);

    /// <summary>A point in time, bound as the state stores time: UTC, without a kind (timestamp columns have no time zone,
    /// and a driver would read a UTC kind as "with time zone"). A local or unspecified time is taken as local.</summary>
    public static StateValue Time(DateTime time) =>
        new Parameter(DateTime.SpecifyKind(time.Kind == DateTimeKind.Utc ? time : time.ToUniversalTime(), DateTimeKind.Unspecified));

    /// <summary>The database's current UTC time.</summary>
    public static readonly StateValue Now = new Clock(0);

    /// <summary>The database's current UTC time plus <paramref name="seconds"/>.</summary>
    public static StateValue NowPlus(int seconds) => new Clock(seconds);
}

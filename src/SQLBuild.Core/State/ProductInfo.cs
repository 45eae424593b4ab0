namespace SQLBuild.Core.State;

public static class ProductInfo
{
    public static string Version { get; } =
        typeof(ProductInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}

using SQLBuild.Core.Errors;
using Xunit;

namespace SQLBuild.Core.Tests.Results;

public class NodeFailureTests
{
    private static SqbNodeResult Failed(string nodeType, string? errorCode) => new()
    {
        Name = "fct_orders", NodeType = nodeType, Status = SqbNodeStatus.Failed, Error = "boom", ErrorCode = errorCode,
    };

    [Theory]
    [InlineData("B002.AuditFailed", "B002", "AuditFailed", SqbErrorKind.InvalidData)]
    [InlineData("B003.TestFailed", "B003", "TestFailed", SqbErrorKind.InvalidData)]
    [InlineData("W010.SqlFailed", "W010", "SqlFailed", SqbErrorKind.WriteError)]
    [InlineData("W010", "W010", "NodeFailed", SqbErrorKind.WriteError)]
    [InlineData(null, "B001", "NodeFailed", SqbErrorKind.WriteError)]
    public void A_recorded_error_id_reads_back_as_code_name_and_kind(string? errorId, string code, string name, SqbErrorKind kind)
    {
        var error = SqbNodeError.FromErrorId(errorId);
        Assert.Equal((code, name, kind), (error.Code, error.ErrorName, error.Kind));
    }

    [Fact]
    public void A_failed_model_reports_its_error_with_itself_as_target_and_a_rebuild_of_what_it_skipped()
    {
        var node = Failed("model", SqbNodeError.AuditFailed.ErrorId);
        var ex = node.Failure();
        Assert.Equal("B002.AuditFailed", ex.ErrorId);
        Assert.Equal(SqbErrorKind.InvalidData, ex.Kind);
        Assert.Equal("model 'fct_orders' failed: boom", ex.Message);
        Assert.Same(node, ex.Target);
        Assert.Equal("Fix the model, then run Invoke-SqbBuild -Select fct_orders+ to rebuild it and what it skipped.", ex.RecommendedAction);
    }

    [Fact]
    public void A_failed_data_test_asks_to_fix_the_data_or_the_test()
    {
        var ex = Failed("test", SqbNodeError.TestFailed.ErrorId).Failure();
        Assert.Equal("B003.TestFailed", ex.ErrorId);
        Assert.Equal("Fix the data or the test, then run Invoke-SqbBuild -Select fct_orders.", ex.RecommendedAction);
    }
}

using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace SQLBuild.PowerShell.Completion;

/// <summary>Base of the SQLBuild completers: builds the context and never lets an exception reach the prompt.</summary>
public abstract class SqbCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var context = new CompletionContext(wordToComplete ?? string.Empty, fakeBoundParameters);
            return Complete(context).ToList();
        }
        catch (Exception)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    internal abstract IEnumerable<CompletionResult> Complete(CompletionContext context);
}

using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace SQLBuild.Core.Project;

/// <summary>
/// The models a process read last time from a project, so that compiling the same project again (the next command at a
/// prompt, the build after a plan) parses only the files that changed. Nothing is trusted but content: every model file
/// is read again each time, and a parsed model is reused only when its file's text is the same, character for character,
/// AND everything else a model is read against is the same (<see cref="ContextKey"/>: both TOML files, the environment
/// variables they name, the active target's variables, generic audit names, column schemas and SQL hooks). A file that
/// uses <c>@@ENV:</c> depends on the environment at compile time and is never reused. Reused models are immutable and carry
/// their identity texts (<see cref="ModelNode"/>), so a warm compile also skips their hashing.
/// </summary>
internal sealed class ModelCache
{
    /// <summary>At most this many projects are kept per process (the least recently compiled goes first).</summary>
    private const int Projects = 4;
    private static readonly LinkedList<(string Dir, ModelCache Cache)> Recent = new();
    /// <summary>The environment variables a text reads at compile time: <c>${ENV:NAME}</c> (TOML) and <c>@@ENV:NAME</c>
    /// (SQL, including hooks named in the TOML and the hook files). A name the pattern over-matches only adds a value
    /// to the key, never removes one.</summary>
    private static readonly Regex EnvReference = new(@"(?:\$\{ENV:|@@ENV:)([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant);

    private readonly string _contextKey;
    private readonly IReadOnlyDictionary<string, Entry> _previous;
    private IReadOnlyDictionary<string, Entry> _current = new Dictionary<string, Entry>();

    private ModelCache(string contextKey, IReadOnlyDictionary<string, Entry> previous)
    {
        _contextKey = contextKey;
        _previous = previous;
    }

    /// <summary>The graph of the last compile, and the models it was made of: reused when a compile takes every model
    /// from the cache and the seeds and sources are the same (their references were checked against the same names).</summary>
    private GraphMemo? _graph;

    /// <summary>A compile's graph, with the models and other names it was checked against.</summary>
    private sealed record GraphMemo(ModelNode[] Models, string Others, Dag.Graph Graph);

    /// <summary>One file's parse: its text, the model (null when disabled) and the notes its reading made.</summary>
    public sealed record Entry(string Text, ModelNode? Model, ModelContext Scope);

    /// <summary>The cache for one compile of <paramref name="dir"/> against <paramref name="contextKey"/>: it offers what the
    /// last compile of that folder parsed under the same key, and records this compile's parses for the next.</summary>
    public static ModelCache Begin(string dir, string contextKey)
    {
        lock (Recent)
        {
            var node = Recent.First;
            while (node is not null && node.Value.Dir != dir) node = node.Next;
            var last = node is not null && node.Value.Cache._contextKey == contextKey ? node.Value.Cache : null;
            if (node is not null) Recent.Remove(node);
            // Only the last compile's parses and graph are carried over, never the last cache itself: a chain of caches
            // would keep every compile of a long session alive.
            return new ModelCache(contextKey, last?._current ?? new Dictionary<string, Entry>()) { _lastGraph = last?._graph };
        }
    }

    /// <summary>
    /// The last compile's model graph, when every model of this one is the very object that compile had and the other
    /// names (seeds, sources, disabled models) are the same: its references then check out, and its graph comes out the
    /// same. Null otherwise.
    /// </summary>
    public Dag.Graph? LastGraph(IReadOnlyCollection<ModelNode> models, string otherNames)
    {
        if (_lastGraph is not { } last || last.Others != otherNames || last.Models.Length != models.Count) return null;
        var i = 0;
        foreach (var model in models)
            if (!ReferenceEquals(model, last.Models[i++])) return null;
        return last.Graph;
    }

    private GraphMemo? _lastGraph;

    /// <summary>Keeps this compile for the next compile of <paramref name="dir"/> (call once it succeeded): the parses by
    /// full path, and the graph of the models with the other names it was checked against.</summary>
    public void Commit(string dir, IReadOnlyDictionary<string, Entry> entries, IReadOnlyCollection<ModelNode> models, string otherNames,
        Dag.Graph graph)
    {
        _current = entries;
        _graph = new GraphMemo(models.ToArray(), otherNames, graph);
        lock (Recent)
        {
            var node = Recent.First;
            while (node is not null && node.Value.Dir != dir) node = node.Next;
            if (node is not null) Recent.Remove(node);
            Recent.AddFirst((dir, this));
            while (Recent.Count > Projects) Recent.RemoveLast();
        }
    }

    /// <summary>The parse of <paramref name="fullPath"/> whose text is <paramref name="text"/>: the last one if it read
    /// the same text, else a new one from <paramref name="parse"/>. Safe to call from several threads.</summary>
    public Entry Get(string fullPath, string text, Func<Entry> parse) =>
        _previous.TryGetValue(fullPath, out var last) && string.Equals(last.Text, text, StringComparison.Ordinal) ? last : parse();

    /// <summary>Whether an entry may serve the next compile: not when its text reads the environment (<c>@@ENV:</c>).</summary>
    public static bool Keeps(Entry entry) => !entry.Text.Contains("@@ENV:", StringComparison.Ordinal);

    /// <summary>
    /// What every model of the project is read against, as one hash: the TOML files as written and the values of the
    /// environment variables they name (defaults and path defaults come from them, hooks in them may read @@ENV:), the
    /// active target and its variables, the generic audit names, the text of every column schema and SQL hook file, and
    /// the values of the environment variables the hook files read.
    /// </summary>
    public static string ContextKey(string? target, ProjectConfig config, IEnumerable<string> genericAudits,
        IEnumerable<(string Relative, string Text)> schemaFiles, IEnumerable<(string Relative, string Text)> hookFiles)
    {
        var key = new StringBuilder();
        void Part(string name, string? value) => key.Append(name).Append('\u0001').Append(value ?? "\u0002").Append('\u0000');
        void EnvironmentRead(string text)
        {
            foreach (Match m in EnvReference.Matches(text))
                Part("env:" + m.Groups[1].Value, Environment.GetEnvironmentVariable(m.Groups[1].Value));
        }
        // The TOML as the config was read from it (not read again: it may have changed on disk since).
        foreach (var (file, text) in config.SourceTexts)
        {
            Part(file, text);
            if (text is not null) EnvironmentRead(text);
        }
        Part("target", target);
        Part("active", config.ActiveTarget.Name);
        Part("adapter", config.Adapter.ToString());
        foreach (var (name, value) in config.Vars.OrderBy(v => v.Key, StringComparer.Ordinal)) Part("var:" + name, value);
        foreach (var audit in genericAudits.Order(StringComparer.Ordinal)) Part("audit", audit);
        foreach (var (relative, text) in schemaFiles) Part("schema:" + relative, text);
        foreach (var (relative, text) in hookFiles)
        {
            Part("hook:" + relative, text);
            EnvironmentRead(text);
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())));
    }
}

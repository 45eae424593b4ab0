using System.Net;
using System.Text.RegularExpressions;
using SQLBuild.Core.Errors;

namespace SQLBuild.Core.Project;

/// <summary>Entry point: project folder -> <see cref="CompiledProject"/>.</summary>
public static class ProjectCompiler
{
    private static readonly Regex NameRule = new(@"^[a-z][a-z0-9_]*\z", RegexOptions.CultureInvariant);

    /// <summary>True when <paramref name="name"/> is a valid model, seed, source, test or audit name (lowercase snake_case).</summary>
    public static bool IsValidName(string? name) => name is not null && NameRule.IsMatch(name);

    /// <summary>
    /// Reads and checks the whole project. Throws <see cref="Errors.SqbException"/> (P0xx / D016) naming
    /// the file and line (or TOML key) of the first problem; never touches a warehouse and writes nothing.
    /// With <paramref name="readSeeds"/> every seed is read and checked here (UTF-8, CSV shape, column types, hash), for
    /// a command that builds, plans or loads seeds; without it a seed is read on the first use of its content, so a
    /// command that never needs it never reads it (issue 12).
    /// </summary>
    public static CompiledProject Compile(string projectDirectory, string? target = null, NetworkCredential? credential = null,
        bool readSeeds = true)
    {
        if (string.IsNullOrWhiteSpace(projectDirectory))
            throw ProjectErrors.ProjectNotFound("no project folder given", projectDirectory ?? "");
        var dir = Path.GetFullPath(projectDirectory);
        if (!Directory.Exists(dir))
            throw ProjectErrors.ProjectNotFound($"project folder '{dir}' does not exist", dir);
        if (!File.Exists(Path.Combine(dir, ConfigLoader.ProjectFileName)))
            throw ProjectErrors.ProjectNotFound($"no {ConfigLoader.ProjectFileName} in '{dir}'", dir);

        var config = ConfigLoader.Load(dir, target, credential);
        var variables = new ProjectVariables(config.Vars, config.Adapter);

        var audits = LoadAudits(dir, variables);
        var seeds = LoadSeeds(dir);
        if (readSeeds)
            foreach (var seed in seeds.Values) seed.EnsureRead();
        var sources = LoadSources(dir);
        var genericAudits = new HashSet<string>(audits.Keys, StringComparer.Ordinal);
        var schemaFiles = ReadAll(dir, "schemas");
        var hookFiles = ReadAll(dir, Path.Combine("hooks", "sql"));
        var context = new ModelContext
        {
            GenericAudits = genericAudits,
            DefaultSeverity = config.Settings.DefaultAuditSeverity,
            Layers = config.Layers,
            Variables = variables,
            Schemas = ColumnSchemas.Load(schemaFiles.Select(f => (f.Relative, f.Text)), genericAudits, config.Settings.DefaultAuditSeverity),
            Hooks = LoadHooks(hookFiles),
        };
        var cache = ModelCache.Begin(dir, ModelCache.ContextKey(target, config, genericAudits,
            schemaFiles.Select(f => (f.Relative, f.Text)), hookFiles.Select(f => (f.Relative, f.Text))));
        var (models, disabled, entries) = LoadModels(dir, context, cache);
        var tests = LoadTests(dir, variables);

        CheckNamespace(models, seeds, sources);

        // The models' references are checked, and their graph built, unless the last compile had these very models and
        // names (then both come out as they did).
        var others = string.Join("\u0000", seeds.Keys.Append("\u0001").Concat(sources.Keys).Append("\u0001")
            .Concat(disabled.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => d.Key + "=" + d.Value)));
        var lastGraph = cache.LastGraph(models.Values, others);
        if (lastGraph is null)
            foreach (var model in models.Values)
            {
                CheckReferences(model.RelativePath, model.Sql, model.References, models, seeds, sources, disabled);
                foreach (var audit in model.Config.Audits.Where(spec => spec.ToModel is not null))
                {
                    var to = audit.ToModel!;
                    if (!models.ContainsKey(to) && !seeds.ContainsKey(to) && !sources.ContainsKey(to))
                        throw ProjectErrors.AuditInvalid(audit.Location.File, audit.Location.Line,
                            $"relationships: unknown model '{to}' in to \"{to}\" (expected a model, seed or source)");
                }
            }
        foreach (var test in tests.Values)
            CheckReferences(test.RelativePath, test.Sql, test.References, models, seeds, sources, disabled);
        foreach (var audit in audits.Values)
            CheckReferences(audit.RelativePath, audit.Sql, audit.References, models, seeds, sources, disabled);

        var graph = lastGraph ?? Dag.Build(models, seeds);
        cache.Commit(dir, entries, models.Values, others, graph);

        return new CompiledProject
        {
            Config = config,
            Models = models,
            Seeds = seeds,
            Sources = sources,
            Tests = tests,
            GenericAudits = audits,
            TopologicalOrder = graph.TopologicalOrder,
            Parents = graph.Parents,
            Children = graph.Children,
            Warnings = config.Warnings.Concat(context.Warnings()).ToList(),
        };
    }

    // ---- files ---------------------------------------------------------------------------------

    private static string NameOf(string relative, string what)
    {
        var name = Path.GetFileNameWithoutExtension(relative);
        if (!IsValidName(name)) throw ProjectErrors.InvalidName(relative, 0, name, what);
        return name;
    }

    private static SortedDictionary<string, GenericAuditDefinition> LoadAudits(string dir, ProjectVariables variables)
    {
        var result = new SortedDictionary<string, GenericAuditDefinition>(StringComparer.Ordinal);
        foreach (var (full, rel) in ProjectFiles.Under(dir, "audits", false, ".sql"))
        {
            var name = NameOf(rel, "audit");
            if (AuditSpecReader.BuiltInAudits.Contains(name))
                throw ProjectErrors.AuditInvalid(rel, 0, $"'{name}' is a built-in audit: give the generic audit another name");
            var text = ProjectFiles.ReadText(full);
            var header = HeaderReader.Read(text, rel, "AUDIT", ProjectErrors.AuditSyntax);
            var body = Body.Extract(text, header?.BodyStart ?? 0, rel, "audit", ProjectErrors.AuditInvalid, variables);
            result[name] = new GenericAuditDefinition
            {
                Name = name,
                RelativePath = rel,
                Sql = body.Sql,
                SqlStartLine = body.StartLine,
                References = body.References,
            };
        }
        return result;
    }

    private static SortedDictionary<string, SeedNode> LoadSeeds(string dir)
    {
        var result = new SortedDictionary<string, SeedNode>(StringComparer.Ordinal);
        foreach (var (full, rel) in ProjectFiles.Under(dir, "seeds", false, ".csv"))
        {
            var name = NameOf(rel, "seed");
            result[name] = new SeedNode(name, rel, full);
        }
        return result;
    }

    private static SortedDictionary<string, SourceNode> LoadSources(string dir)
    {
        var result = new SortedDictionary<string, SourceNode>(StringComparer.Ordinal);
        foreach (var (full, rel) in ProjectFiles.Under(dir, "sources", false, ".yml", ".yaml"))
        {
            foreach (var source in SourceReader.Read(full, rel))
            {
                if (result.TryGetValue(source.Name, out var first))
                    throw ProjectErrors.SourceInvalid(rel, source.Location.Line,
                        $"duplicate source '{source.Name}' (first declared at {first.Location})");
                result[source.Name] = source;
            }
        }
        return result;
    }

    /// <summary>The models, and the files of those switched off with <c>enabled false</c> (by name).</summary>
    private static (SortedDictionary<string, ModelNode> Models, Dictionary<string, string> Disabled, Dictionary<string, ModelCache.Entry> Entries)
        LoadModels(string dir, ModelContext context, ModelCache cache)
    {
        var result = new SortedDictionary<string, ModelNode>(StringComparer.Ordinal);
        var disabled = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = ProjectFiles.Under(dir, "models", true, ".sql");
        // Read and parse in parallel (a file whose text the last compile parsed is taken from the cache); then check names
        // and take the results in file order, so the first broken file is the one reported and the warnings read as they
        // would one by one.
        var loaded = ProjectFiles.ReadAll(files, (full, rel) =>
        {
            var text = ProjectFiles.ReadText(full);
            return cache.Get(full, text, () => LoadModel(full, rel, text, context.ForOneModel()));
        });
        var entries = new Dictionary<string, ModelCache.Entry>(files.Count, StringComparer.Ordinal);
        for (var i = 0; i < files.Count; i++)
        {
            var rel = files[i].Relative;
            var name = NameOf(rel, "model");
            if (result.TryGetValue(name, out var other) || disabled.ContainsKey(name))
                throw ProjectErrors.DuplicateName($"duplicate name '{name}': {other?.RelativePath ?? disabled[name]} and {rel}", name);
            var entry = loaded[i].Get();
            context.Merge(entry.Scope);
            if (entry.Model is null) disabled[name] = rel;
            else result[name] = entry.Model;
            if (ModelCache.Keeps(entry)) entries[files[i].Full] = entry;
        }
        return (result, disabled, entries);
    }

    /// <summary>One model file, its model null when it sets <c>enabled false</c>.</summary>
    private static ModelCache.Entry LoadModel(string full, string rel, string text, ModelContext context)
    {
        var (config, bodyStart) = ModelHeader.Parse(text, rel, context);
        if (!config.Enabled) return new ModelCache.Entry(text, null, context);
        var body = Body.Extract(text, bodyStart, rel, "model", ProjectErrors.ModelHeader, context.Variables);
        return new ModelCache.Entry(text, new ModelNode
        {
            Name = Path.GetFileNameWithoutExtension(rel),
            RelativePath = rel,
            FullPath = full,
            Config = config,
            Sql = body.Sql,
            SqlStartLine = body.StartLine,
            References = body.References,
        }, context);
    }

    /// <summary>The text of every .sql file under a folder, sorted by relative path.</summary>
    private static List<(string Relative, string Text)> ReadAll(string dir, string folder) =>
        ProjectFiles.Under(dir, folder, true, ".sql").Select(f => (f.Relative, ProjectFiles.ReadText(f.Full))).ToList();

    /// <summary>The reusable SQL hooks under <c>hooks/sql/</c> (folders below it only organize them).</summary>
    private static Dictionary<string, NamedHook> LoadHooks(IReadOnlyList<(string Relative, string Text)> files)
    {
        var result = new Dictionary<string, NamedHook>(StringComparer.Ordinal);
        foreach (var (rel, text) in files)
        {
            var name = NameOf(rel, "hook");
            if (result.TryGetValue(name, out var other))
                throw ProjectErrors.DuplicateName($"duplicate SQL hook '{name}': {other.RelativePath} and {rel}", name);
            var start = SqlLexer.NextCode(text, 0);
            if (start < 0) throw ProjectErrors.ModelHeader(rel, 1, "hook has no SQL");
            var sql = text.Trim();
            result[name] = new NamedHook(name, sql, rel, new LineMap(text).LineOf(text.IndexOf(sql[0])));
        }
        return result;
    }

    private static SortedDictionary<string, DataTestNode> LoadTests(string dir, ProjectVariables variables)
    {
        var result = new SortedDictionary<string, DataTestNode>(StringComparer.Ordinal);
        foreach (var (full, rel) in ProjectFiles.Under(dir, "tests", false, ".sql"))
        {
            var name = NameOf(rel, "test");
            var text = ProjectFiles.ReadText(full);
            var body = Body.Extract(text, 0, rel, "test", ProjectErrors.ModelHeader, variables);
            result[name] = new DataTestNode
            {
                Name = name,
                RelativePath = rel,
                Sql = body.Sql,
                SqlStartLine = body.StartLine,
                References = body.References,
            };
        }
        return result;
    }

    // ---- checks --------------------------------------------------------------------------------

    private static void CheckNamespace(IReadOnlyDictionary<string, ModelNode> models, IReadOnlyDictionary<string, SeedNode> seeds,
        IReadOnlyDictionary<string, SourceNode> sources)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        void Claim(string name, string where)
        {
            if (owners.TryGetValue(name, out var first))
                throw ProjectErrors.DuplicateName(
                    $"duplicate name '{name}': {first} and {where} (models, seeds and sources share one namespace)", name);
            owners[name] = where;
        }
        foreach (var model in models.Values) Claim(model.Name, model.RelativePath);
        foreach (var seed in seeds.Values) Claim(seed.Name, seed.RelativePath);
        foreach (var source in sources.Values) Claim(source.Name, source.Location.ToString());
    }

    private static void CheckReferences(string file, string sql, IReadOnlyList<Reference> refs,
        IReadOnlyDictionary<string, ModelNode> models, IReadOnlyDictionary<string, SeedNode> seeds,
        IReadOnlyDictionary<string, SourceNode> sources, IReadOnlyDictionary<string, string> disabled)
    {
        foreach (var r in refs)
        {
            var (exists, what) = r.Kind switch
            {
                ReferenceKind.Ref => (models.ContainsKey(r.Name), "model"),
                ReferenceKind.Seed => (seeds.ContainsKey(r.Name), "seed"),
                _ => (sources.ContainsKey(r.Name), "source"),
            };
            if (exists) continue;
            var call = ReferenceScanner.CallText(sql, r);
            var hint =
                r.Kind != ReferenceKind.Ref && models.ContainsKey(r.Name) ? $": '{r.Name}' is a model, use __ref(\"{r.Name}\")" :
                r.Kind != ReferenceKind.Seed && seeds.ContainsKey(r.Name) ? $": '{r.Name}' is a seed, use __seed(\"{r.Name}\")" :
                r.Kind != ReferenceKind.Source && sources.ContainsKey(r.Name) ? $": '{r.Name}' is a source, use __source(\"{r.Name}\")" :
                r.Kind == ReferenceKind.Ref && disabled.TryGetValue(r.Name, out var off) ? $": {off} sets enabled false" :
                "";
            throw ProjectErrors.UnknownReference(file, r.Location.Line, $"unknown {what} '{r.Name}' in {call}{hint}");
        }
    }

    /// <summary>The SQL after a header: one query, one trailing ';' removed, whitespace trimmed; and its reference calls.</summary>
    private sealed record Body(string Sql, int StartLine, IReadOnlyList<Reference> References)
    {
        public static Body Extract(string text, int bodyStart, string file, string what, Func<string, int, string, SqbException> error,
            ProjectVariables variables)
        {
            var fileLines = new LineMap(text);
            var body = text[bodyStart..];
            var semicolons = SqlLexer.CodeSemicolons(body);
            if (semicolons.Count > 0)
            {
                var firstExtra = semicolons.FirstOrDefault(p => SqlLexer.NextCode(body, p + 1) >= 0, -1);
                if (firstExtra >= 0)
                    throw error(file, fileLines.LineOf(bodyStart + firstExtra),
                        $"a {what} holds one query: found ';' followed by more SQL");
                body = body.Remove(semicolons[^1], 1);
            }
            if (SqlLexer.NextCode(body, 0) < 0)
            {
                var where = what == "model" && bodyStart > 0 ? " after the MODEL header" : what == "audit" && bodyStart > 0 ? " after the AUDIT header" : "";
                throw error(file, fileLines.LineOf(Math.Min(bodyStart, Math.Max(0, text.Length - 1))), $"{what} has no SQL{where}");
            }
            var lead = 0;
            while (char.IsWhiteSpace(body[lead])) lead++;
            var offset = bodyStart + lead;
            var startLine = fileLines.LineOf(offset);
            var sql = body.Trim();
            sql = variables.Substitute(sql, file, new LineMap(sql, startLine, fileLines.ColumnOf(offset)));
            return new Body(sql, startLine, ReferenceScanner.Scan(sql, file, new LineMap(sql, startLine, fileLines.ColumnOf(offset))));
        }
    }
}


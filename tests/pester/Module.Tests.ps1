#Requires -Version 7.4
# The module as a whole: manifest, exports, load isolation of the drivers, module folder layout.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Pg = Get-SqbTestPostgres
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:ManifestPath = Get-SqbModuleManifestPath
    $script:ModuleDir = Split-Path -Parent $ManifestPath
    $script:Manifest = Import-PowerShellDataFile -LiteralPath $ManifestPath
    $script:Module = Import-SqbTestModule -PassThru
    $script:CmdletTypeNames = @($Module.ImplementingAssembly.GetTypes() |
            Where-Object { $_.IsPublic -and -not $_.IsAbstract } |
            ForEach-Object {
                $attribute = $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) | Select-Object -First 1
                if ($attribute) { '{0}-{1}' -f $attribute.VerbName, $attribute.NounName }
            })
}

Describe 'SQLBuild manifest' {
    It 'passes Test-ModuleManifest' {
        { Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop -WarningAction SilentlyContinue } | Should -Not -Throw
    }

    It 'is a Core-only binary module for PowerShell 7.4+' {
        $Manifest.RootModule | Should -Be 'SQLBuild.dll'
        $Manifest.CompatiblePSEditions | Should -Be @('Core')
        [version]$Manifest.PowerShellVersion | Should -Be ([version]'7.4')
        [version]$Manifest.ModuleVersion | Should -BeOfType [version]
    }

    It 'lists cmdlets explicitly and exports no functions, aliases or variables' {
        $Manifest.CmdletsToExport | Should -Not -Contain '*'
        @($Manifest.CmdletsToExport).Count | Should -BeGreaterThan 0
        @($Manifest.FunctionsToExport).Count | Should -Be 0
        @($Manifest.AliasesToExport).Count | Should -Be 0
        @($Manifest.VariablesToExport).Count | Should -Be 0
    }

    It 'names format files that exist in the module folder' {
        foreach ($file in @($Manifest.FormatsToProcess) + @($Manifest['TypesToProcess'] | Where-Object { $_ })) {
            Join-Path $ModuleDir $file | Should -Exist
        }
    }
}

Describe 'SQLBuild exports' {
    It 'imports with the manifest version' {
        $Module.Version | Should -Be ([version]$Manifest.ModuleVersion)
        $Module.ModuleType | Should -Be 'Binary'
    }

    It 'exports nothing the manifest does not list' {
        $exported = @(Get-Command -Module SQLBuild | ForEach-Object Name)
        @($exported | Where-Object { $_ -notin $Manifest.CmdletsToExport }) | Should -BeNullOrEmpty
    }

    It 'lists every cmdlet that SQLBuild.dll defines' {
        @($CmdletTypeNames | Where-Object { $_ -notin $Manifest.CmdletsToExport }) | Should -BeNullOrEmpty
    }

    It 'exports exactly the manifest''s CmdletsToExport' {
        # Before the cmdlets are merged SQLBuild.dll defines none; from then on this pins the list.
        if ($CmdletTypeNames.Count -eq 0) { Set-ItResult -Skipped -Because 'SQLBuild.dll defines no cmdlets yet' }
        @(Get-Command -Module SQLBuild -CommandType Cmdlet | ForEach-Object Name | Sort-Object) |
            Should -Be @($Manifest.CmdletsToExport | Sort-Object)
    }
}

Describe 'SQLBuild module folder' {
    It 'holds only SQLBuild.dll among the assemblies in its root' {
        @(Get-ChildItem -LiteralPath $ModuleDir -Filter *.dll -File).Name | Should -Be @('SQLBuild.dll')
    }

    It 'holds the engine, the drivers and DuckDB''s native library in dependencies/' {
        $deps = Join-Path $ModuleDir 'dependencies'
        foreach ($name in 'SQLBuild.Core.dll', 'Npgsql.dll', 'Microsoft.Data.SqlClient.dll', 'DuckDB.NET.Data.dll', 'DuckDB.NET.Bindings.dll') {
            Join-Path $deps $name | Should -Exist
        }
        $native = if ($IsWindows) { 'duckdb.dll' } elseif ($IsMacOS) { 'libduckdb.dylib' } else { 'libduckdb.so' }
        Join-Path $deps $native | Should -Exist
        Join-Path $deps 'runtimes' | Should -Not -Exist
    }
}

Describe 'SQLBuild load isolation' {
    BeforeAll {
        # A fresh process: other test files may already have used the drivers in this one.
        $script:AfterImport = Invoke-SqbChildPwsh -ArgumentList $ManifestPath -ScriptBlock {
            param($ManifestPath)
            $watch = [Diagnostics.Stopwatch]::StartNew()
            Import-Module -Name $ManifestPath
            $watch.Stop()
            [pscustomobject]@{
                ImportMs         = $watch.Elapsed.TotalMilliseconds
                DomainAssemblies = @([AppDomain]::CurrentDomain.GetAssemblies() | ForEach-Object { $_.GetName().Name })
                Contexts         = @(foreach ($context in [System.Runtime.Loader.AssemblyLoadContext]::All) {
                        foreach ($assembly in $context.Assemblies) {
                            [pscustomobject]@{ Name = $assembly.GetName().Name; Context = $context.Name; Location = $assembly.Location }
                        }
                    })
            }
        }
        $script:DriverPattern = '^(Npgsql|Microsoft\.Data\.SqlClient|DuckDB\.NET\..*|Microsoft\.SqlServer\.Server)$'
    }

    It 'loads no driver on Import-Module (AppDomain)' {
        @($AfterImport.DomainAssemblies | Where-Object { $_ -match $DriverPattern }) | Should -BeNullOrEmpty
    }

    It 'loads no driver on Import-Module (any AssemblyLoadContext)' {
        @($AfterImport.Contexts | Where-Object { $_.Name -match $DriverPattern }) | Should -BeNullOrEmpty
    }

    It 'loads SQLBuild.Core into the private "SQLBuild" context, not the default one' {
        $core = @($AfterImport.Contexts | Where-Object Name -EQ 'SQLBuild.Core')
        $core.Count | Should -Be 1
        $core[0].Context | Should -Be 'SQLBuild'
        $core[0].Location | Should -BeLike "*$([IO.Path]::DirectorySeparatorChar)dependencies$([IO.Path]::DirectorySeparatorChar)SQLBuild.Core.dll"
    }

    It 'sets up the private context from the nested module SQLBuild.Init, before SQLBuild.dll is analyzed' {
        $Manifest.NestedModules | Should -Be @('SQLBuild.Init.psm1')
        @($Module.NestedModules | ForEach-Object Name) | Should -Contain 'SQLBuild.Init'
    }

    It 'serves SQLBuild.Core''s types from the private context to this session' {
        $type = Get-SqbType 'SQLBuild.SqbBuildResult'
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($type.Assembly).Name | Should -Be 'SQLBuild'
    }

    It 'loads the cmdlet assembly SQLBuild.dll into the default context' {
        $cmdlets = @($AfterImport.Contexts | Where-Object Name -EQ 'SQLBuild')
        $cmdlets.Count | Should -Be 1
        $cmdlets[0].Context | Should -Be 'Default'
    }

    It 'imports in under 0.5 s' {
        $AfterImport.ImportMs | Should -BeLessThan 500
    }
}

Describe 'SQLBuild drivers in the private context' {
    BeforeAll {
        $script:Drivers = Invoke-SqbChildPwsh -ArgumentList $ManifestPath -ScriptBlock {
            param($ManifestPath)
            Import-Module -Name $ManifestPath
            $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild'
            $describe = { param($a) [pscustomobject]@{ Context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($a).Name; Location = $a.Location } }

            # The default context must not be handed this module's private copy.
            $defaultNpgsql = try {
                $null = [System.Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('Npgsql')); 'loaded'
            } catch { 'not found' }

            $npgsql = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('Npgsql'))
            $sqlClient = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('Microsoft.Data.SqlClient'))
            $sqlConnection = [Activator]::CreateInstance($sqlClient.GetType('Microsoft.Data.SqlClient.SqlConnection', $true))
            $sqlConnection.ConnectionString = 'Server=127.0.0.1;Database=x;Encrypt=false'

            $duckdb = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('DuckDB.NET.Data'))
            $duck = [Activator]::CreateInstance($duckdb.GetType('DuckDB.NET.Data.DuckDBConnection', $true), @('Data Source=:memory:'))
            $duck.Open()
            $command = $duck.CreateCommand()
            $command.CommandText = 'SELECT 40 + 2'
            $answer = $command.ExecuteScalar()
            $duck.Dispose()
            $nativeDuck = @([System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object ModuleName -Match 'duckdb' | ForEach-Object FileName)

            [pscustomobject]@{
                DefaultNpgsql = $defaultNpgsql
                Npgsql        = & $describe $npgsql
                SqlClient     = & $describe $sqlClient
                SqlDatabase   = $sqlConnection.Database
                DuckDB        = & $describe $duckdb
                DuckAnswer    = [long]$answer
                DuckNative    = $nativeDuck
            }
        }
        $script:Sep = [IO.Path]::DirectorySeparatorChar
    }

    It 'does not serve Npgsql to the default context' {
        $Drivers.DefaultNpgsql | Should -Be 'not found'
    }

    It 'loads Npgsql from dependencies/ into the "SQLBuild" context' {
        $Drivers.Npgsql.Context | Should -Be 'SQLBuild'
        $Drivers.Npgsql.Location | Should -BeLike "*${Sep}dependencies${Sep}Npgsql.dll"
    }

    It 'loads the platform build of Microsoft.Data.SqlClient (a usable SqlConnection)' {
        $Drivers.SqlClient.Context | Should -Be 'SQLBuild'
        $Drivers.SqlDatabase | Should -Be 'x'
    }

    It 'runs DuckDB with the native library from dependencies/' {
        $Drivers.DuckDB.Context | Should -Be 'SQLBuild'
        $Drivers.DuckAnswer | Should -Be 42
        @($Drivers.DuckNative).Count | Should -BeGreaterThan 0
        @($Drivers.DuckNative)[0] | Should -BeLike "*${Sep}dependencies${Sep}*duckdb*"
    }
}

Describe 'SQLBuild next to another module''s copy of a driver' {
    It 'keeps its own Npgsql when the session already has one in the default context' {
        $result = Invoke-SqbChildPwsh -ArgumentList $ManifestPath, (Join-Path $TestDrive 'other-module') -ScriptBlock {
            param($ManifestPath, $OtherModuleDir)
            # Another module (think dbatools) loaded its Npgsql first, from its own folder.
            $null = New-Item -ItemType Directory -Path $OtherModuleDir -Force
            $source = Join-Path (Split-Path -Parent $ManifestPath) 'dependencies' 'Npgsql.dll'
            Copy-Item -LiteralPath $source -Destination $OtherModuleDir
            $theirs = [System.Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyPath((Join-Path $OtherModuleDir 'Npgsql.dll'))

            Import-Module -Name $ManifestPath
            $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild'
            $ours = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('Npgsql'))
            [pscustomobject]@{
                Theirs   = $theirs.Location
                Ours     = $ours.Location
                Distinct = -not [object]::ReferenceEquals($theirs, $ours)
                Loaded   = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Npgsql' }).Count
            }
        }
        $result.Distinct | Should -BeTrue
        $result.Loaded | Should -Be 2
        $result.Ours | Should -BeLike "*$([IO.Path]::DirectorySeparatorChar)dependencies$([IO.Path]::DirectorySeparatorChar)Npgsql.dll"
        $result.Theirs | Should -BeLike '*other-module*'
    }
}

Describe 'SQLBuild in a session that already loaded another version of a driver' {
    BeforeAll {
        # What another module (an older dbatools, a SqlServer module, a tool of the DBA's own) would
        # have loaded first: a different version of one of SQLBuild's drivers, in the default load
        # context, built here as a stand-in whose connection class refuses to work.
        function Invoke-WithForeignDriver([string] $AssemblyName, [string] $TypeName, [string] $Script, [object[]] $ArgumentList) {
            $dir = Join-Path $TestDrive ("foreign_" + [Guid]::NewGuid().ToString('N').Substring(0, 8))
            $null = New-Item -ItemType Directory -Path $dir
            $namespace = $TypeName.Substring(0, $TypeName.LastIndexOf('.'))
            $class = $TypeName.Substring($TypeName.LastIndexOf('.') + 1)
            $source = @"
[assembly: System.Reflection.AssemblyVersion("0.9.0.0")]
namespace $namespace {
    public sealed class $class {
        public $class(string connectionString) { throw new System.NotSupportedException("foreign $AssemblyName 0.9"); }
    }
}
"@
            # Roslyn (shipped with PowerShell) rather than Add-Type, which gives its output a random assembly name.
            Add-Type -AssemblyName Microsoft.CodeAnalysis.CSharp
            $runtime = [IO.Path]::GetDirectoryName([object].Assembly.Location)
            $references = [Microsoft.CodeAnalysis.MetadataReference[]]@(
                [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile([object].Assembly.Location)
                [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile((Join-Path $runtime 'System.Runtime.dll')))
            $compilation = [Microsoft.CodeAnalysis.CSharp.CSharpCompilation]::Create($AssemblyName,
                [Microsoft.CodeAnalysis.SyntaxTree[]]@([Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree]::ParseText($source)), $references,
                [Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions]::new([Microsoft.CodeAnalysis.OutputKind]::DynamicallyLinkedLibrary))
            $emitted = [Microsoft.CodeAnalysis.FileSystemExtensions]::Emit($compilation, (Join-Path $dir "$AssemblyName.dll"))
            if (-not $emitted.Success) { throw "stand-in $AssemblyName did not compile: $($emitted.Diagnostics -join '; ')" }
            $prelude = @"
`$foreign = [System.Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyPath('$((Join-Path $dir "$AssemblyName.dll") -replace "'", "''")')
Import-Module -Name '$((Get-SqbModuleManifestPath) -replace "'", "''")'
"@
            $epilogue = @"
`$loaded = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq '$AssemblyName' } | ForEach-Object {
    '{0} {1} {2}' -f `$_.GetName().Version, [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).Name, `$_.Location })
'LOADED:' + (`$loaded -join '|')
'DEFAULT:' + [System.Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('$AssemblyName')).GetName().Version
"@
            Invoke-SqbChildScript -Script ($prelude + "`n" + $Script + "`n" + $epilogue)
        }
        function Get-Tagged([object] $Run, [string] $Tag) { @($Run.Lines | Where-Object { $_ -like "${Tag}:*" } | ForEach-Object { $_.Substring($Tag.Length + 1) }) }
    }

    It 'builds a DuckDB project next to a foreign DuckDB.NET.Data 0.9' {
        $project = Join-Path $TestDrive 'duck'
        $run = Invoke-WithForeignDriver 'DuckDB.NET.Data' 'DuckDB.NET.Data.DuckDBConnection' @"
`$null = New-SqbProject -Path '$project' -Confirm:`$false
`$result = Invoke-SqbBuild -Path '$project' -Confirm:`$false
'RESULT:' + `$result.Status + ' ' + `$result.Passed + ' ' + `$result.Failed
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Lines -join "`n")
        Get-Tagged $run 'RESULT' | Should -Be 'succeeded 10 0'
        $loaded = (Get-Tagged $run 'LOADED') -split '\|'
        $loaded.Count | Should -Be 2
        @($loaded | Where-Object { $_ -like '0.9.0.0 Default *' }).Count | Should -Be 1
        @($loaded | Where-Object { $_ -match '^1\.\S+ SQLBuild .*dependencies' }).Count | Should -Be 1
        Get-Tagged $run 'DEFAULT' | Should -Be '0.9.0.0' -Because 'the session keeps the other module''s version'
    }

    It 'builds a PostgreSQL project next to a foreign Npgsql 0.9' -Skip:(-not $Pg.Available) {
        $project = New-SqbTestTemplateProject -Engine postgres -Template direct
        try {
            $run = Invoke-WithForeignDriver 'Npgsql' 'Npgsql.NpgsqlConnection' @"
`$result = Invoke-SqbBuild -Path '$($project.Path -replace "'", "''")' -Confirm:`$false
'RESULT:' + `$result.Status + ' ' + `$result.Passed + ' ' + `$result.Failed
"@
        }
        finally { Remove-SqbTestProject $project }
        $run.ExitCode | Should -Be 0 -Because ($run.Lines -join "`n")
        Get-Tagged $run 'RESULT' | Should -Be 'succeeded 10 0'
        $loaded = (Get-Tagged $run 'LOADED') -split '\|'
        @($loaded | Where-Object { $_ -like '0.9.0.0 Default *' }).Count | Should -Be 1
        @($loaded | Where-Object { $_ -match '^10\.\S+ SQLBuild .*dependencies' }).Count | Should -Be 1
    }
}

Describe 'Test PostgreSQL (build.ps1 -Task Test)' {
    It 'accepts the SQB_TEST_POSTGRES connection through Npgsql in the private context' -Skip:(-not $Pg.Available) {
        $info = Get-SqbTestPostgres
        $result = Invoke-SqbChildPwsh -ArgumentList $ManifestPath, $info.ConnectionString, $info.Schema -ScriptBlock {
            param($ManifestPath, $ConnectionString, $Schema)
            Import-Module -Name $ManifestPath
            $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'SQLBuild'
            $npgsql = $context.LoadFromAssemblyName([System.Reflection.AssemblyName]::new('Npgsql'))
            $connection = [Activator]::CreateInstance($npgsql.GetType('Npgsql.NpgsqlConnection', $true), [object[]]@([string]$ConnectionString))
            try {
                $connection.Open()
                $command = $connection.CreateCommand()
                $command.CommandText = "CREATE SCHEMA $Schema; SELECT count(*) FROM information_schema.schemata WHERE schema_name = '$Schema'; "
                $created = [long]$command.ExecuteScalar()
                $command.CommandText = "DROP SCHEMA $Schema; SHOW server_version_num;"
                $version = [int]$command.ExecuteScalar()
                [pscustomobject]@{ Created = $created; ServerVersion = $version }
            }
            finally { $connection.Dispose() }
        }
        $result.Created | Should -Be 1
        $result.ServerVersion | Should -BeGreaterOrEqual 150000
    }
}

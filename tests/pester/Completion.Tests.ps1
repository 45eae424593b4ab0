#Requires -Version 7.4
# Argument completion through TabExpansion2, as a user presses Tab. Project-file completers
# (targets, models, selectors) and state-backed ones (environments, checkpoints, lock keys, backups)
# on a DuckDB virtual project; the time limit against a PostgreSQL "server" that never answers.
# Data-driven: every parameter of every exported cmdlet that carries a SQLBuild completer, or whose
# name follows the convention (CompleterRegistry), must complete in the fixture project.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $script:Pg = Get-SqbTestPostgres
    $registry = [SQLBuild.PowerShell.Completion.CompleterRegistry]
    $script:Cases = @(foreach ($command in Get-Command -Module SQLBuild -CommandType Cmdlet | Sort-Object Name) {
            foreach ($parameter in $command.Parameters.Values | Sort-Object Name) {
                $attribute = $parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] } | Select-Object -First 1
                $completer = if ($attribute) { $attribute.Type } else {
                    $names = @($parameter.Name) + @($parameter.Aliases)
                    $hit = $names | Where-Object { $registry::ByParameterName.ContainsKey($_) } | Select-Object -First 1
                    if ($hit) { $registry::ByParameterName[$hit] }
                }
                if ($completer) { @{ Command = $command.Name; Parameter = $parameter.Name; Completer = $completer.Name; Attributed = [bool]$attribute } }
            }
        })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $script:Fixture = New-SqbTestTemplateProject -AllowReset -WithHistory -WithBackup -WithOrphanedLock

    # What each completer must offer in the fixture project.
    $script:Expected = @{
        TargetCompleter      = 'prod'
        ModelCompleter       = 'fct_orders'
        NodeNameCompleter    = 'order_amounts_match_payments'
        SelectorCompleter    = 'tag:marts'
        EnvironmentCompleter = 'pr_1'
        CheckpointCompleter  = $Fixture.Checkpoints[0]
        LockKeyCompleter     = $Fixture.LockKey
        BackupIdCompleter    = $Fixture.BackupId
    }

    # The completion texts TabExpansion2 offers at the end of $Line.
    function Get-Completion([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText)
    }
}

Describe 'Completion of -<Parameter> of <Command>' -ForEach $Cases {
    It 'offers the <Completer> values in the current folder''s project' {
        Push-Location -LiteralPath $Fixture.Path
        try { $offered = Get-Completion "$Command -$Parameter " }
        finally { Pop-Location }
        $offered | Should -Contain $Expected[$Completer]
    }
}

Describe 'Completion coverage' {
    It 'covers -Environment, -Target, -Model, -Select, -CheckpointId and -Key on the cmdlets that have them' {
        foreach ($command in Get-Command -Module SQLBuild -CommandType Cmdlet) {
            foreach ($name in 'Environment', 'Target', 'Model', 'Select', 'Exclude', 'CheckpointId', 'Key', 'BackupId') {
                if (-not $command.Parameters.ContainsKey($name)) { continue }
                @($Cases | Where-Object { $_.Command -eq $command.Name -and $_.Parameter -eq $name }).Count |
                    Should -Be 1 -Because "$($command.Name) -$name must complete"
            }
        }
    }

    It 'carries every conventional completer as an attribute, so importing registers none' {
        $unattributed = [SQLBuild.PowerShell.Completion.CompleterRegistry]::Unattributed((Get-Command Invoke-SqbBuild).ImplementingType.Assembly)
        @($unattributed | ForEach-Object { "$($_.Command) -$($_.Parameter)" }) | Should -BeNullOrEmpty -Because 'add [ArgumentCompleter(typeof(<the convention''s completer>))] to these'
    }

    It 'registers the conventional completers for a cmdlet written without completer attributes' {
        # A stand-in for a cmdlet merged from another branch: parameters named by the convention, no attributes.
        $source = @'
using System.Management.Automation;
[Cmdlet(VerbsCommon.Get, "SqbStandIn")]
public sealed class GetSqbStandInCommand : PSCmdlet
{
    [Parameter] public string Environment { get; set; }
    [Parameter] [Alias("Model")] public string Name { get; set; }
    [Parameter] public string[] Select { get; set; }
    [Parameter] public string Key { get; set; }
    [Parameter] public string Path { get; set; }
}
'@
        Add-Type -AssemblyName Microsoft.CodeAnalysis.CSharp
        $runtime = [IO.Path]::GetDirectoryName([object].Assembly.Location)
        $references = [Microsoft.CodeAnalysis.MetadataReference[]]@(
            foreach ($file in [object].Assembly.Location, (Join-Path $runtime 'System.Runtime.dll'), [psobject].Assembly.Location) {
                [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile($file)
            })
        $dll = Join-Path $TestDrive 'SqbStandIn.dll'
        $compilation = [Microsoft.CodeAnalysis.CSharp.CSharpCompilation]::Create('SqbStandIn',
            [Microsoft.CodeAnalysis.SyntaxTree[]]@([Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree]::ParseText($source)), $references,
            [Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions]::new([Microsoft.CodeAnalysis.OutputKind]::DynamicallyLinkedLibrary))
        $emitted = [Microsoft.CodeAnalysis.FileSystemExtensions]::Emit($compilation, $dll)
        $emitted.Success | Should -BeTrue -Because ($emitted.Diagnostics -join '; ')
        $module = Import-Module -Name $dll -PassThru
        try {
            $registered = @([SQLBuild.PowerShell.Completion.CompleterRegistry]::Unattributed($module.ImplementingAssembly) | ForEach-Object { "$($_.Parameter)=$($_.Completer.Name)" } | Sort-Object)
            $registered | Should -Be @('Environment=EnvironmentCompleter', 'Key=LockKeyCompleter', 'Name=ModelCompleter', 'Select=SelectorCompleter')
            [SQLBuild.PowerShell.Completion.CompleterRegistry]::Register($module.ImplementingAssembly) | Should -Be 4

            Push-Location -LiteralPath $Fixture.Path
            try {
                Get-Completion 'Get-SqbStandIn -Environment ' | Should -Contain 'pr_1'
                Get-Completion 'Get-SqbStandIn -Model fct' | Should -Be @('fct_orders')
                Get-Completion 'Get-SqbStandIn -Select tag:m' | Should -Be @('tag:marts')
                Get-Completion 'Get-SqbStandIn -Key ' | Should -Be @($Fixture.LockKey)
            }
            finally { Pop-Location }
        }
        finally { Remove-Module -ModuleInfo $module }
    }
}

Describe 'Project-file completion' {
    BeforeAll { Push-Location -LiteralPath $Fixture.Path }
    AfterAll { Pop-Location }

    It 'completes targets from sqlbuild_project.toml' {
        Get-Completion 'Invoke-SqbBuild -Target ' | Should -Be @('dev', 'prod')
        Get-Completion 'Invoke-SqbBuild -Target p' | Should -Be @('prod')
    }

    It 'completes models, seeds and tests for Get-SqbModel -Name (alias -Model)' {
        $models = Get-Completion 'Get-SqbModel -Model '
        $models | Should -Contain 'stg_orders'
        $models | Should -Contain 'raw_orders'
        $models | Should -Contain 'order_amounts_match_payments'
        Get-Completion 'Get-SqbModel -Name stg_o' | Should -Be @('stg_orders')
    }

    It 'completes selectors: names, tag:, path:, seed:' {
        $all = Get-Completion 'Invoke-SqbBuild -Select '
        foreach ($value in 'fct_orders', 'raw_orders', 'tag:finance', 'tag:staging', 'path:models/marts', 'path:models/staging/stg_orders.sql', 'seed:raw_orders') {
            $all | Should -Contain $value
        }
        Get-Completion 'Invoke-SqbBuild -Select tag:' | Should -Be @('tag:finance', 'tag:marts', 'tag:staging')
        Get-Completion 'Invoke-SqbBuild -Select seed:raw_p' | Should -Be @('seed:raw_payments')
        Get-Completion 'Invoke-SqbBuild -Select path:models/s' | Should -Contain 'path:models/staging'
    }

    It 'keeps the graph operator and completes the part after a comma' {
        Get-Completion 'Invoke-SqbBuild -Select +fct_' | Should -Be @('+fct_orders')
        Get-Completion "Invoke-SqbBuild -Select 'tag:marts,fct" | Should -Be @("'tag:marts,fct_orders'")
    }

    It 'reads the project of -Path instead of the current folder' {
        Push-Location -LiteralPath ([IO.Path]::GetTempPath())
        try {
            Get-Completion "Get-SqbModel -Path '$($Fixture.Path)' -Name dim" | Should -Be @('dim_customers')
            Get-Completion 'Get-SqbModel -Name dim' | Should -BeNullOrEmpty
        }
        finally { Pop-Location }
    }

    It 'offers nothing, and does not fail, outside a project' {
        Push-Location -LiteralPath ([IO.Path]::GetTempPath())
        try {
            Get-Completion 'Invoke-SqbBuild -Select ' | Should -BeNullOrEmpty
            Get-Completion 'Invoke-SqbBuild -Environment ' | Should -BeNullOrEmpty
        }
        finally { Pop-Location }
    }
}

Describe 'State-store completion (DuckDB)' {
    BeforeAll { Push-Location -LiteralPath $Fixture.Path }
    AfterAll { Pop-Location }

    It 'completes environments with their status as tooltip' {
        $result = TabExpansion2 -inputScript 'Publish-SqbEnvironment -From ' -cursorColumn 'Publish-SqbEnvironment -From '.Length
        $texts = @($result.CompletionMatches | ForEach-Object CompletionText)
        $texts | Should -Contain 'dev'
        $texts | Should -Contain 'pr_1'
        ($result.CompletionMatches | Where-Object CompletionText -EQ 'pr_1').ToolTip | Should -Match 'finalized'
    }

    It 'completes the checkpoints of -Environment, newest first' {
        Get-Completion 'Restore-SqbCheckpoint -Environment dev -CheckpointId ' | Should -Be $Fixture.Checkpoints
        Get-Completion 'Restore-SqbCheckpoint -Environment pr_1 -CheckpointId ' | Should -Not -Contain $Fixture.Checkpoints[0]
    }

    It 'completes lock keys' {
        Get-Completion 'Clear-SqbLock -Key virtual_env:pr_' | Should -Be @($Fixture.LockKey)
    }

    It 'completes backup ids' {
        $completer = [SQLBuild.PowerShell.Completion.BackupIdCompleter]::new()
        $offered = @($completer.CompleteArgument('Restore-SqbState', 'BackupId', '', $null, @{ Path = $Fixture.Path }) | ForEach-Object CompletionText)
        $offered | Should -Be @($Fixture.BackupId)
    }

    It 'keeps the user''s quotes' {
        Get-Completion "Get-SqbEnvironment -Name 'pr" | Should -Contain "'pr_1'"
    }

    It 'creates no database for a project that was never built' {
        $fresh = Join-Path $TestDrive 'fresh'
        $null = New-SqbProject -Path $fresh -Template virtual -Name fresh -Confirm:$false
        Get-Completion "Get-SqbEnvironment -Path '$fresh' -Name " | Should -BeNullOrEmpty
        Join-Path $fresh 'fresh.duckdb' | Should -Not -Exist
    }

    It 'offers nothing in direct mode' {
        $direct = Join-Path $TestDrive 'direct'
        $null = New-SqbProject -Path $direct -Template direct -Name direct -Confirm:$false
        Get-Completion "Get-SqbEnvironment -Path '$direct' -Name " | Should -BeNullOrEmpty
    }
}

Describe 'State-store completion (PostgreSQL)' -Skip:(-not $Pg.Available) {
    BeforeAll {
        $pg = Get-SqbTestPostgres
        $state = New-SqbTestSchemaName 'st'
        # The password is not in the project: it comes from -Credential, which completion reads too.
        $script:PgProject = New-SqbTestProject @{
            'sqlbuild_project.toml' = @"
name = 'pgcomp'
adapter = 'postgres'
default_target = 'dev'
[settings]
virtual_environments = true
[connections.pg]
host = '$($pg.Host)'
port = $($pg.Port)
dbname = '$($pg.Database)'
[targets.dev]
connection = 'pg'
schema = '$($pg.Schema)'
[targets.dev.state]
backend = 'postgres'
schema = '$state'
unsuffixed_virtual_env = 'dev'
"@
            'models/one.sql'        = 'SELECT 1 AS id'
        }
        $script:Cred = [pscredential]::new($pg.User, (ConvertTo-SecureString $pg.Password -AsPlainText -Force))
        $null = Initialize-SqbState -Path $PgProject -Credential $Cred -Confirm:$false
        $null = Invoke-SqbBuild -Path $PgProject -Credential $Cred -Environment pr_7 -Confirm:$false
    }

    It 'completes environments and checkpoints from the PostgreSQL state store, with -Credential from a variable' {
        $line = "Get-SqbCheckpoint -Path '$PgProject' -Credential `$Cred -Environment "
        $result = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        @($result.CompletionMatches | ForEach-Object CompletionText) | Should -Contain 'pr_7'
        $checkpoints = @(Get-SqbCheckpoint -Path $PgProject -Credential $Cred -Environment pr_7 | ForEach-Object Id)
        $line = "Restore-SqbCheckpoint -Path '$PgProject' -Credential `$Cred -Environment pr_7 -CheckpointId "
        @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText) | Should -Be $checkpoints
    }

    It 'offers nothing without the password (and does not fail)' {
        $line = "Get-SqbEnvironment -Path '$PgProject' -Name "
        @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches) | Should -BeNullOrEmpty
    }
}

Describe 'State-store completion against an unreachable warehouse' {
    BeforeAll {
        # A "server" that accepts TCP connections and never says a word: the PostgreSQL client waits
        # for the startup reply, as it would for a warehouse behind a dead link.
        $script:Silent = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $Silent.Start(64)
        $silentPort = $Silent.LocalEndpoint.Port
        # A port nothing listens on: the connection is refused at once.
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $probe.Start(); $closedPort = $probe.LocalEndpoint.Port; $probe.Stop()

        function New-PgProject([int] $Port) {
            New-SqbTestProject @{
                'sqlbuild_project.toml' = @"
name = 'remote'
adapter = 'postgres'
default_target = 'dev'
[settings]
virtual_environments = true
[connections.pg]
host = '127.0.0.1'
port = $Port
user = 'nobody'
password = 'not-a-secret'
dbname = 'postgres'
connect_timeout = 30
[targets.dev]
connection = 'pg'
schema = 'dev'
[targets.dev.state]
backend = 'postgres'
schema = 'sqlbuild_state'
"@
                'models/one.sql'        = 'SELECT 1 AS id'
            }
        }
        $script:SilentProject = New-PgProject $silentPort
        $script:ClosedProject = New-PgProject $closedPort
    }
    AfterAll { $Silent.Stop() }

    It 'gives up after about 2 s and returns nothing, instead of freezing the prompt' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $offered = Get-Completion "Invoke-SqbBuild -Path '$SilentProject' -Environment "
        $watch.Stop()
        $offered | Should -BeNullOrEmpty
        $watch.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 1.5
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 4
    }

    It 'answers at once while the abandoned lookup is still hanging' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $offered = Get-Completion "Invoke-SqbBuild -Path '$SilentProject' -Environment "
        $watch.Stop()
        $offered | Should -BeNullOrEmpty
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 1
    }

    It 'still completes project files of the same project at once' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Get-Completion "Invoke-SqbBuild -Path '$SilentProject' -Select " | Should -Contain 'one'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 1
    }

    It 'returns nothing quickly when the port is closed' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Get-Completion "Clear-SqbLock -Path '$ClosedProject' -Key " | Should -BeNullOrEmpty
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 4
    }

    It 'honours SQB_COMPLETION_TIMEOUT_MS' {
        $saved = $env:SQB_COMPLETION_TIMEOUT_MS
        $env:SQB_COMPLETION_TIMEOUT_MS = '300'
        try {
            $watch = [Diagnostics.Stopwatch]::StartNew()
            Get-Completion "Get-SqbCheckpoint -Path '$SilentProject' -Id " | Should -BeNullOrEmpty
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 1.5
        }
        finally { $env:SQB_COMPLETION_TIMEOUT_MS = $saved }
    }
}

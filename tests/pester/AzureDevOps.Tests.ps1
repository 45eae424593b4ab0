#Requires -Version 7.4
# Under Azure DevOps (TF_BUILD set) errors and warnings also go to stdout as ##vso[task.logissue]
# logging commands with the ErrorId as code, and build phases as ##[section] lines. Each case runs
# the built module in a child pwsh with TF_BUILD set and reads what it wrote to stdout, as the agent
# would.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force

    $toml = "name = 'ado'`nadapter = 'duckdb'`ndefault_target = 'dev'`n[connections.local]`ndatabase = 'ado.duckdb'`n[targets.dev]`nconnection = 'local'`nschema = 'dev'`n"
    $script:Direct = New-SqbTestProject @{
        'sqlbuild_project.toml' = $toml
        'models/good.sql'       = 'SELECT 1 AS id'
        # A syntax error whose message spans lines and holds a '%': both must be escaped.
        'models/bad.sql'        = "SELECT id, 100% AS pct`nFROM nowhere"
        'models/after_bad.sql'  = 'SELECT * FROM __ref("bad")'
        'models/audited.sql'    = "MODEL (materialized table, audits [not_null(id)]);`nSELECT CAST(NULL AS INTEGER) AS id"
    }
    $script:Virtual = New-SqbTestProject @{
        'sqlbuild_project.toml' = $toml.Replace("default_target = 'dev'", "default_target = 'dev'`n[settings]`nvirtual_environments = true") +
            "[targets.dev.state]`nbackend = 'duckdb'`nschema = 'st'`nunsuffixed_virtual_env = 'dev'`n"
        'models/one.sql'        = 'SELECT 1 AS id'
    }

    # Runs $Body after importing the module, with TF_BUILD as given, and returns exit code and lines.
    function Invoke-UnderAgent([string] $Body, [string] $TfBuild = 'True') {
        Invoke-SqbChildScript -ImportModule -Script $Body -Environment @{ TF_BUILD = $TfBuild; NO_COLOR = '1' }
    }
    function Select-Logging([string[]] $Lines) { @($Lines | Where-Object { $_ -match '^##(vso\[|\[section\])' }) }
}

Describe 'A failing direct build under Azure DevOps' {
    BeforeAll {
        $script:Run = Invoke-UnderAgent @"
`$result = Invoke-SqbBuild -Path '$($Direct -replace "'", "''")' -Confirm:`$false -ErrorAction SilentlyContinue
'ERRORIDS:' + ((`$Error | ForEach-Object { `$_.FullyQualifiedErrorId.Split(',')[0] } | Sort-Object) -join ' ')
"@
        $script:Logging = Select-Logging $Run.Lines
    }

    It 'writes the build phase as a ##[section] line' {
        $Logging | Should -Contain "##[section]Building 4 node(s) of 'ado' into dev"
    }

    It 'writes one error logissue per failed node, coded with the ErrorRecord''s ErrorId' {
        $ids = (($Run.Lines | Where-Object { $_ -like 'ERRORIDS:*' }) -replace '^ERRORIDS:', '').Split(' ', [StringSplitOptions]::RemoveEmptyEntries)
        $ids | Should -Be @('B002.AuditFailed', 'W010.SqlFailed')
        $errors = @($Logging | Where-Object { $_ -like '##vso`[task.logissue type=error;*' })
        $errors.Count | Should -Be 2
        foreach ($id in $ids) { @($errors | Where-Object { $_ -like "##vso``[task.logissue type=error;code=$id]*" }).Count | Should -Be 1 }
        $errors | Should -Contain "##vso[task.logissue type=error;code=B002.AuditFailed]model 'audited' failed: audit not_null(id) on 'audited' found 1 failing row(s)"
    }

    It 'writes exactly one logissue per failure: the coded error, not also the in-flight warning' {
        foreach ($node in 'audited', 'bad') {
            @($Logging | Where-Object { $_ -like '##vso`[task.logissue *' -and $_ -like "*model '$node' failed*" }).Count | Should -Be 1 -Because $node
        }
        @($Logging | Where-Object { $_ -like '##vso`[task.logissue type=warning*' }) | Should -BeNullOrEmpty
        @($Run.Lines | Where-Object { $_ -like "WARNING: model 'audited' failed:*" }).Count | Should -Be 1 -Because 'the warning stream still shows it as the build goes'
    }

    It 'escapes %, CR and LF so that a multi-line message stays one logging command' {
        $line = @($Logging | Where-Object { $_ -like '*code=W010.SqlFailed*' })[0]
        $line | Should -Match '%0A'
        $line | Should -Match '100%AZP25 AS pct'
        $line | Should -Not -Match "`r|`n"
    }
}

Describe 'A failing direct build under Azure DevOps with -ErrorAction Stop (as about_SQLBuild_AzureDevOps runs it)' {
    BeforeAll {
        # The first WriteError ends the command under Stop: every failed node's logissue must come out before it.
        $script:Run = Invoke-UnderAgent "Invoke-SqbBuild -Path '$($Direct -replace "'", "''")' -Confirm:`$false -ErrorAction Stop | Out-Null"
        $script:Logging = Select-Logging $Run.Lines
    }

    It 'writes one error logissue per failed node, not only for the first' {
        $Run.ExitCode | Should -Not -Be 0 -Because 'the step fails'
        $errors = @($Logging | Where-Object { $_ -like '##vso`[task.logissue type=error;*' })
        $errors.Count | Should -Be 2 -Because "audited and bad both failed:`n$($Run.Output)"
        foreach ($id in 'B002.AuditFailed', 'W010.SqlFailed') {
            @($errors | Where-Object { $_ -like "##vso``[task.logissue type=error;code=$id]*" }).Count | Should -Be 1 -Because $id
        }
    }
}

Describe 'A terminating error under Azure DevOps' {
    It 'is a logissue with its code, and the step fails' {
        $run = Invoke-UnderAgent @"
`$ErrorActionPreference = 'Stop'
Get-SqbEnvironment -Path '$($Direct -replace "'", "''")'
"@
        $run.ExitCode | Should -Not -Be 0
        $errors = @(Select-Logging $run.Lines | Where-Object { $_ -like '##vso`[task.logissue type=error;*' })
        $errors.Count | Should -Be 1
        $errors[0] | Should -Match '^##vso\[task\.logissue type=error;code=E001\.StateRequiresVirtualMode\]State commands require virtual_environments = true$'
    }
}

Describe 'Error codes under Azure DevOps' {
    BeforeAll { Import-SqbTestModule }

    It 'gives an unexpected error its own code, X001, never the mode guard''s E001' {
        $mapping = (Get-Command Get-SqbModel).ImplementingType.Assembly.GetType('SQLBuild.PowerShell.Hosting.ErrorMapping', $true)
        $record = $mapping.GetMethod('Unexpected').Invoke($null, @([InvalidOperationException]::new('something nobody expected'), $null))
        $record.FullyQualifiedErrorId | Should -Be 'X001.UnexpectedError'
        $record.ErrorDetails.Message | Should -Be 'something nobody expected'
    }

    It 'codes a compiler warning: an upstream key SQLBuild ignores is P030' {
        $dir = New-SqbTestProject @{
            'sqlbuild_project.toml' = $toml + "[settings]`nsql_analysis = true`n"
            'models/one.sql'        = 'SELECT 1 AS id'
        }
        $run = Invoke-UnderAgent "`$null = Get-SqbModel -Path '$($dir -replace "'", "''")'"
        Select-Logging $run.Lines | Should -Be @(
            "##vso[task.logissue type=warning;code=P030.UpstreamKeyIgnored]sqlbuild_project.toml:10: [settings] 'sql_analysis' is an upstream key SQLBuild does not implement; it is ignored")
    }
}

Describe 'Secrets under Azure DevOps' {
    BeforeAll {
        $script:Secrets = New-SqbTestProject @{
            'sqlbuild_project.toml' = @'
name = "secrets"
adapter = "postgres"
default_target = "dev"

[settings]
sql_analysis = true

[connections.wh]
host = "db.invalid"
user = "app"
password = "${ENV:SQB_ADO_TEST_PW}"
dbname = "shop"

[connections.ops]
connection_string = "Host=ops.invalid;Username=ops;Password=cs-Secret-2"

[targets.dev]
connection = "wh"
schema = "dev"

[targets.prod]
connection = "ops"
schema = "prod"
'@
            'models/one.sql'        = 'SELECT 1 AS id'
        }
    }

    It 'announces every secret value with task.setsecret before it writes anything else' {
        $run = Invoke-SqbChildScript -ImportModule -Script "`$null = Get-SqbModel -Path '$($Secrets -replace "'", "''")'" `
            -Environment @{ TF_BUILD = 'True'; NO_COLOR = '1'; SQB_ADO_TEST_PW = 's3cret-Pw_1' }
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $lines = @($run.Lines | Where-Object { $_ -ne '' })
        @($lines[0..2] | Sort-Object) | Should -Be @(@(
                '##vso[task.setsecret]Host=ops.invalid;Username=ops;Password=cs-Secret-2'
                '##vso[task.setsecret]cs-Secret-2'
                '##vso[task.setsecret]s3cret-Pw_1'
            ) | Sort-Object)
        $lines[3] | Should -BeLike '##vso`[task.logissue type=warning;code=P030.UpstreamKeyIgnored]*'
        @($lines | Where-Object { $_ -like '*task.setsecret*' }).Count | Should -Be 3 -Because 'each secret is announced once'
    }

    It 'announces nothing outside Azure DevOps' {
        $run = Invoke-SqbChildScript -ImportModule -Script "`$null = Get-SqbModel -Path '$($Secrets -replace "'", "''")' -WarningAction SilentlyContinue" `
            -Environment @{ TF_BUILD = ''; SQB_ADO_TEST_PW = 's3cret-Pw_1' }
        $run.Output | Should -Not -Match 'setsecret'
    }
}

Describe 'A virtual build under Azure DevOps' {
    It 'writes its phase as a ##[section] line and no logissue when all is well' {
        $run = Invoke-UnderAgent @"
`$null = Initialize-SqbState -Path '$($Virtual -replace "'", "''")' -Confirm:`$false
`$null = Invoke-SqbBuild -Path '$($Virtual -replace "'", "''")' -Confirm:`$false
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Lines -join "`n")
        $logging = Select-Logging $run.Lines
        $logging | Should -Contain '##[section]Building 1 physical version(s) for dev'
        @($logging | Where-Object { $_ -like '##vso*' }) | Should -BeNullOrEmpty
    }
}

Describe 'Outside Azure DevOps' {
    It 'writes no logging commands' {
        $run = Invoke-UnderAgent -TfBuild '' @"
`$null = Invoke-SqbBuild -Path '$($Direct -replace "'", "''")' -Confirm:`$false -ErrorAction SilentlyContinue
"@
        Select-Logging $run.Lines | Should -BeNullOrEmpty
        @($run.Lines | Where-Object { $_ -like "WARNING: model 'bad' failed*" }).Count | Should -Be 1 -Because 'the warning itself still goes to the warning stream'
    }
}

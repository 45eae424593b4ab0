#Requires -Version 7.4
# Direct-mode cmdlets as users see them (issue 2): New-SqbProject, Get-SqbModel, Get-SqbPlan and
# Invoke-SqbBuild on embedded DuckDB and on the real PostgreSQL that build.ps1 -Task Test starts.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
}

Describe 'New-SqbProject' {
    It 'writes a realistic project and emits the files' {
        $dir = Join-Path (Get-PSDrive TestDrive).Root 'newproj'
        $files = @(New-SqbProject -Path $dir)
        $files | ForEach-Object { $_ | Should -BeOfType [System.IO.FileInfo] }
        $names = $files.Name
        $names | Should -Contain 'sqlbuild_project.toml'
        $names | Should -Contain 'fct_orders.sql'
        $names | Should -Contain 'raw_orders.csv'
        $names | Should -Contain 'order_amounts_match_payments.sql'
        Get-Content (Join-Path $dir 'sqlbuild_project.toml') -Raw | Should -Match 'name = "newproj"'
    }

    It 'refuses a folder that already holds a project, and -Force overwrites' {
        $dir = Join-Path (Get-PSDrive TestDrive).Root 'twice'
        New-SqbProject -Path $dir | Out-Null
        { New-SqbProject -Path $dir -ErrorAction Stop } | Should -Throw -ErrorId 'P002.ProjectExists,SQLBuild.PowerShell.NewSqbProjectCommand'
        @(New-SqbProject -Path $dir -Force).Count | Should -BeGreaterThan 10
    }

    It '-WhatIf creates nothing' {
        $dir = Join-Path (Get-PSDrive TestDrive).Root 'whatif'
        New-SqbProject -Path $dir -WhatIf
        Test-Path -LiteralPath $dir | Should -BeFalse
    }
}

Describe 'Get-SqbModel' {
    BeforeAll {
        $script:Dir = Join-Path $TestDrive 'shop'
        $null = New-SqbProject -Path $Dir -Name shop
    }

    It 'emits typed models, seeds and tests in dependency order' {
        $all = @(Get-SqbModel -Path $Dir)
        $all[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbModel'
        ($all | Where-Object NodeType -EQ 'seed').Count | Should -Be 3
        ($all | Where-Object NodeType -EQ 'model').Count | Should -Be 6
        ($all | Where-Object NodeType -EQ 'test').Count | Should -Be 1
        $fct = $all | Where-Object Name -EQ 'fct_orders'
        $fct.Materialized | Should -Be 'table'
        $fct.DependsOn | Should -Be @('stg_orders', 'stg_payments')
        $fct.VersionHash | Should -Match '^[0-9a-f]{64}$'
        $fct.CompiledSql | Should -Match '"dev"\."stg_orders"'
        [array]::IndexOf($all.Name, 'stg_orders') | Should -BeLessThan ([array]::IndexOf($all.Name, 'fct_orders'))
    }

    It 'filters by wildcard name, node type and selector' {
        (Get-SqbModel -Path $Dir -Name 'stg_*').Name | Should -Be @('stg_customers', 'stg_orders', 'stg_payments')
        (Get-SqbModel -Path $Dir -NodeType seed).Count | Should -Be 3
        (Get-SqbModel -Path $Dir -Select 'tag:finance' -NodeType model).Name | Should -Be @('fct_orders', 'payments_log')
        (Get-SqbModel -Path $Dir -Select '+fct_orders' -NodeType model).Name | Should -Be @('stg_orders', 'stg_payments', 'fct_orders')
    }

    It 'lists the data tests a build with the same -Select runs: only those that read a selected node' {
        # order_amounts_match_payments reads fct_orders and stg_payments.
        (Get-SqbModel -Path $Dir -NodeType test).Name | Should -Contain 'order_amounts_match_payments'
        @(Get-SqbModel -Path $Dir -Select stg_customers).Name | Should -Be @('stg_customers')
        @(Get-SqbModel -Path $Dir -Select stg_customers -NodeType test) | Should -BeNullOrEmpty
        (Get-SqbModel -Path $Dir -Select stg_payments -NodeType test).Name | Should -Be 'order_amounts_match_payments'
        (Get-SqbModel -Path $Dir -Exclude stg_payments -NodeType test).Name | Should -Contain 'order_amounts_match_payments' -Because 'a build without -Select runs every test'
        $plan = @(Get-SqbPlan -Path $Dir -Select stg_customers)
        @($plan.Name) | Should -Be @(Get-SqbModel -Path $Dir -Select stg_customers).Name
    }

    It 'names the file and line of an unknown reference (P011, ParserError or InvalidData), and the hash changes with the query' {
        $before = (Get-SqbModel -Path $Dir -Name fct_orders).VersionHash
        Add-Content -LiteralPath (Join-Path $Dir 'models/marts/fct_orders.sql') -Value '-- a comment'
        (Get-SqbModel -Path $Dir -Name fct_orders).VersionHash | Should -Not -Be $before
        Set-Content -LiteralPath (Join-Path $Dir 'models/marts/broken.sql') -Value "SELECT *`nFROM __ref(`"nope`")"
        $e = $null
        try { Get-SqbModel -Path $Dir -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'P011.*'
        $e.Exception.Message | Should -BeLike "models/marts/broken.sql:2*unknown model 'nope'*"
        Remove-Item -LiteralPath (Join-Path $Dir 'models/marts/broken.sql')
    }
}

Describe 'Invoke-SqbBuild on <Engine>' -ForEach $Engines {
    BeforeAll {
        if ($Skip) { return }
        $script:Project = New-SqbTestTemplateProject -Engine $Engine -Template direct
        $script:Dir = $Project.Path
    }
    AfterAll { Remove-SqbTestProject $script:Project }

    It 'builds every node and emits a typed result' -Skip:$Skip {
        $r = Invoke-SqbBuild -Path $Dir
        $r.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbBuildResult'
        $r.Status | Should -Be 'succeeded'
        $r.Mode | Should -Be 'direct'
        $r.Passed | Should -Be 10
        $r.Failed + $r.Skipped | Should -Be 0
        $r.Nodes[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbNodeResult'
        ($r.Nodes | Where-Object Name -EQ 'fct_orders').Rows | Should -Be 12
        ($r.Nodes | Where-Object Name -EQ 'dim_customers').Audits.Status | Should -Be @('passed', 'passed')
        # The result is pipeline-friendly.
        ($r.Nodes | Where-Object { $_.NodeType -eq 'model' -and $_.Materialized -eq 'table' }).Name | Should -Be @('fct_orders', 'dim_customers')
    }

    It 'plans replaces after the first build, without writing' -Skip:$Skip {
        $steps = @(Get-SqbPlan -Path $Dir)
        $steps[0].PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbPlanStep'
        ($steps | Where-Object Name -EQ 'fct_orders').Action | Should -Be 'replace'
        ($steps | Where-Object Name -EQ 'payments_log').Action | Should -Be 'incremental'
        ($steps | Where-Object Name -EQ 'fct_orders').Existing | Should -Be 'table'
    }

    It 'reports a failing audit as a non-terminating error per node and still emits the result' -Skip:$Skip {
        $model = Join-Path $Dir 'models/marts/fct_orders.sql'
        $original = Get-Content -LiteralPath $model -Raw
        try {
            $header = $original.Substring(0, $original.IndexOf(');') + 2)
            Set-Content -LiteralPath $model -Value ($header + "`nSELECT order_id, customer_id, order_date, status, -1.0 AS amount FROM __ref(`"stg_orders`")")
            $errs = $null
            $r = Invoke-SqbBuild -Path $Dir -ErrorVariable errs -ErrorAction SilentlyContinue
            $r.Status | Should -Be 'failed'
            ($r.Nodes | Where-Object Name -EQ 'fct_orders').Status | Should -Be 'Failed'
            ($r.Nodes | Where-Object Name -EQ 'dim_customers').Status | Should -Be 'Skipped'
            $errs.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -BeLike 'B002.AuditFailed,*'
            $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
            $errs[0].TargetObject.Name | Should -Be 'fct_orders'
            $errs[0].Exception.Message | Should -BeLike "model 'fct_orders' failed: audit expression_is_true on 'fct_orders' found 12 failing row(s)*"
            $errs[0].ErrorDetails.RecommendedAction | Should -BeLike '*Invoke-SqbBuild -Select fct_orders+*'
            { Invoke-SqbBuild -Path $Dir -ErrorAction Stop } | Should -Throw -ErrorId 'B002.AuditFailed,SQLBuild.PowerShell.InvokeSqbBuildCommand'
        }
        finally { Set-Content -LiteralPath $model -Value $original -NoNewline }
        (Invoke-SqbBuild -Path $Dir).Status | Should -Be 'succeeded'
    }

    It '-Verbose shows each statement kind and target and never the password' -Skip:$Skip {
        $all = @(Invoke-SqbBuild -Path $Dir -Select fct_orders -Verbose 4>&1 | ForEach-Object { "$_" })
        ($all | Where-Object { $_ -like 'CREATE TABLE *.fct_orders__sqb_staging' }).Count | Should -Be 1
        ($all | Where-Object { $_ -like 'AUDIT *.fct_orders__sqb_staging unique(order_id)' }).Count | Should -Be 1
        if ($Engine -eq 'postgres') {
            ($all -join "`n") | Should -Not -Match ([regex]::Escape($env:SQB_TEST_PG_PASSWORD))
        }
    }
}

Describe 'Bad input fails clearly and changes nothing' {
    BeforeAll {
        $script:Dir = Join-Path $TestDrive 'shop'
        $null = New-SqbProject -Path $Dir -Name shop
    }

    It 'an unknown target is P003 naming the known targets' {
        { Invoke-SqbBuild -Path $Dir -Target nope -ErrorAction Stop } | Should -Throw -ErrorId 'P003.*'
        try { Invoke-SqbBuild -Path $Dir -Target nope -ErrorAction Stop } catch { $_.Exception.Message | Should -BeLike "*'nope'*dev*prod*" }
        Test-Path (Join-Path $Dir 'shop.duckdb') | Should -BeFalse
    }

    It 'virtual-only parameters are blocked in direct mode (C263, InvalidOperation)' {
        foreach ($case in @(@{ Environment = 'pr_1' }, @{ ChangesOnly = $true }, @{ IncludeStaleUpstreams = $true })) {
            $e = $null
            try { Invoke-SqbBuild -Path $Dir @case -ErrorAction Stop } catch { $e = $_ }
            $e.FullyQualifiedErrorId | Should -BeLike 'C263.VirtualOnlyParameter,*'
            $e.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $e.Exception.Message | Should -Be "build does not support -$(@($case.Keys)[0]) unless virtual_environments = true"
        }
        Test-Path (Join-Path $Dir 'shop.duckdb') | Should -BeFalse
    }

    It 'a missing ${ENV:...} variable is P004 naming the key and the variable' {
        $toml = Join-Path $Dir 'sqlbuild_project.toml'
        $original = Get-Content -LiteralPath $toml -Raw
        try {
            Set-Content -LiteralPath $toml -Value ($original -replace 'database = "shop.duckdb"', 'database = "${ENV:SQB_NO_SUCH_VARIABLE}"')
            $e = $null
            try { Invoke-SqbBuild -Path $Dir -ErrorAction Stop } catch { $e = $_ }
            $e.FullyQualifiedErrorId | Should -BeLike 'P004.*'
            $e.Exception.Message | Should -BeLike '*connections.local.database*SQB_NO_SUCH_VARIABLE*'
        }
        finally { Set-Content -LiteralPath $toml -Value $original -NoNewline }
    }

    It 'a bad MODEL header names the file and line (P010)' {
        Set-Content -LiteralPath (Join-Path $Dir 'models/bad.sql') -Value "MODEL (`n  materialized sideways`n);`nSELECT 1 AS x"
        try {
            $e = $null
            try { Invoke-SqbBuild -Path $Dir -ErrorAction Stop } catch { $e = $_ }
            $e.FullyQualifiedErrorId | Should -BeLike 'P010.*'
            $e.Exception.Message | Should -BeLike 'models/bad.sql:2*'
            Test-Path (Join-Path $Dir 'shop.duckdb') | Should -BeFalse
        }
        finally { Remove-Item -LiteralPath (Join-Path $Dir 'models/bad.sql') }
    }

    It '-WhatIf builds nothing: not even the database file' {
        Invoke-SqbBuild -Path $Dir -WhatIf
        Test-Path (Join-Path $Dir 'shop.duckdb') | Should -BeFalse
    }
}

Describe 'Connection errors never show the password' -Skip:(-not (Get-SqbTestPostgres).Available) {
    It 'a wrong password is W001 without the password text' {
        $pg = Get-SqbTestPostgres
        $dir = (New-SqbTestTemplateProject -Engine postgres -Template direct).Path
        $secret = 'not-the-password-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        $cred = [pscredential]::new($pg.User, (ConvertTo-SecureString $secret -AsPlainText -Force))
        $e = $null
        $verbose = [System.Collections.Generic.List[string]]::new()
        try { Invoke-SqbBuild -Path $dir -Credential $cred -Verbose -ErrorAction Stop 4>&1 | ForEach-Object { $verbose.Add("$_") } }
        catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'W001.*'
        $e.CategoryInfo.Category | Should -Be 'ConnectionError'
        "$($e.Exception.Message) $($e.ErrorDetails.Message) $($verbose -join ' ')" | Should -Not -Match ([regex]::Escape($secret))
    }
}

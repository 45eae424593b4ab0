#Requires -Version 7.4
# Recovery page (seed/recovery.txt), row by row, for adopt and detach: "Interrupted operations" (adopt,
# detach: the process is killed for real at a named step), "Detached VDE guards", "Adopt guards",
# "Detach guards"; plus -WhatIf, the typed confirmation from the host, and Invoke-SqbJanitor.
# Every guard is checked to change nothing: the catalog and the state tables are read before and after.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $script:Nodes = @('raw_customers', 'raw_orders', 'raw_payments', 'stg_customers', 'stg_orders', 'stg_payments',
        'fct_orders', 'dim_customers', 'payments_log')
    $script:ViewModels = @('stg_customers', 'stg_orders', 'stg_payments')
    $script:TableNodes = @($Nodes | Where-Object { $_ -notin $ViewModels })

    # ------------------------------------------------------------------ warehouse reads (through the module's own engine)

    function New-Statement([string] $Sql) { (Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement')::new('TEST', 'pester', $Sql, $null) }
    function New-Relation([string] $Schema, [string] $Name) { (Get-SqbType 'SQLBuild.Core.Adapters.RelationName')::new($Schema, $Name) }

    function Format-Row($Row) {
        ($Row | ForEach-Object { if ($null -eq $_ -or $_ -is [DBNull]) { 'null' } else { [string]::Format([cultureinfo]::InvariantCulture, '{0}', $_) } }) -join '|'
    }

    function Get-ProjectSchemas($Session, $P) {
        $sql = if ($P.Engine -eq 'postgres') { 'SELECT nspname FROM pg_catalog.pg_namespace' }
        else { 'SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()' }
        @($Session.Query((New-Statement $sql)) | ForEach-Object { [string]$_[0] } |
            Where-Object { $_ -eq $P.Schema -or $_ -eq $P.StateSchema -or $_.StartsWith("$($P.Schema)__") -or $_.StartsWith("$($P.StateSchema)__") })
    }

    function Format-Qualified($P, [string] $Schema, [string] $Name) {
        $s = Open-SqbTestSession -Project $P
        try { $s.Dialect.Qualify((New-Relation $Schema $Name)) } finally { $s.Dispose() }
    }

    function Get-AllRows($P) {
        <# Every row of every node at its original name, as sorted text per node. #>
        $s = Open-SqbTestSession -Project $P
        try {
            $rows = [ordered]@{}
            foreach ($n in $Nodes) {
                $q = "SELECT * FROM $($s.Dialect.Qualify((New-Relation $P.Schema $n)))"
                $rows[$n] = (@($s.Query((New-Statement $q)) | ForEach-Object { Format-Row $_ }) | Sort-Object) -join "`n"
            }
            ($rows.GetEnumerator() | ForEach-Object { "== $($_.Key)`n$($_.Value)" }) -join "`n"
        }
        finally { $s.Dispose() }
    }

    function Get-TestSnapshot($P) {
        <# The catalog (kinds, view text, columns) and every row of every table, state included, of the project's schemas. #>
        $s = Open-SqbTestSession -Project $P
        try {
            $schemas = Get-ProjectSchemas $s $P
            $catalog = $s.ReadCatalog([string[]]$schemas, $true)
            $lines = [Collections.Generic.List[string]]::new()
            $lines.Add('schemas: ' + ((@($catalog.Schemas) | Sort-Object) -join ', '))
            foreach ($r in @($catalog.Relations | Sort-Object Schema, Name)) {
                $lines.Add("$($r.Schema).$($r.Name) $($r.Kind) $($r.ViewDefinition)")
                foreach ($c in $catalog.ColumnsOf($r.Relation)) { $lines.Add("  $($c.Name) $($c.DataType)") }
                if ("$($r.Kind)" -ne 'Table') { continue }
                foreach ($line in (@($s.Query((New-Statement "SELECT * FROM $($s.Dialect.Qualify($r.Relation))")) | ForEach-Object { Format-Row $_ }) | Sort-Object)) {
                    $lines.Add("  | $line")
                }
            }
            $lines -join "`n"
        }
        finally { $s.Dispose() }
    }

    function Get-PhysicalName($P, [string] $Node) {
        <# <node>__v_<hash8> of the node's current version, from Get-SqbModel / the seed identity. #>
        $project = (Get-SqbType 'SQLBuild.Core.Project.ProjectCompiler')::Compile($P.Path, [NullString]::Value, $null)
        $ids = (Get-SqbType 'SQLBuild.Core.Identity.IdentityCalculator')::Compute($project)
        "${Node}__v_$($ids[$Node].VersionHash.Substring(0, 8))"
    }

    function Invoke-Adopt($P, [string] $Confirmation = 'adopt dev') {
        ConvertTo-SqbVirtualEnvironment -Path $P.Path -AllowCopy:$P.AllowCopy -Confirmation $Confirmation
    }

    function Invoke-Detach($P, [string] $Confirmation = 'detach dev') {
        ConvertFrom-SqbVirtualEnvironment -Path $P.Path -AllowCopy:$P.AllowCopy -Confirmation $Confirmation
    }
}

Describe 'Interrupted operations on <Engine>' -ForEach $Engines {
    AfterEach { Remove-SqbTestProject $script:P }

    It 'Interrupted adopt: failed operation recorded, partial artifacts, diagnosed, retry completes' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $before = Get-AllRows $P

        $child = Invoke-SqbChildScript -ImportModule -Environment @{ SQB_TEST_KILL_AT = 'adopt:move:raw_orders' } `
            -Script "ConvertTo-SqbVirtualEnvironment -Path '$($P.Path)' -AllowCopy:`$$($P.AllowCopy) -Confirmation 'adopt dev'; 'ADOPT RETURNED'"

        $child.ExitCode | Should -Not -Be 0
        $child.Output | Should -Not -Match 'ADOPT RETURNED'
        # Failed operation recorded: the killed run left its row running with no live lock behind it.
        $op = Get-SqbOperation -Path $P.Path -Type adopt
        $op.Id | Should -BeLike 'adopt:*'
        $op.Status | Should -Be 'failed'
        $op.Reason | Should -Be 'interrupted'
        $op.RecordedStatus | Should -Be 'running'
        $op.Events[-1].Message | Should -BeLike 'adopt:move:raw_orders: *'
        (Get-SqbLock -Path $P.Path -Key 'virtual_env:dev').IsOrphaned | Should -BeTrue
        # Physical schema has partial artifacts: raw_customers went, raw_orders did not; no VDE yet.
        "$((Get-SqbTestRelation $P $P.Schema 'raw_customers').Kind)" | Should -Be 'View'
        Get-SqbTestRelation $P $P.PhysicalSchema (Get-PhysicalName $P 'raw_customers') | Should -Not -BeNullOrEmpty
        "$((Get-SqbTestRelation $P $P.Schema 'raw_orders').Kind)" | Should -Be 'Table'
        Get-SqbTestRelation $P $P.PhysicalSchema (Get-PhysicalName $P 'raw_orders') | Should -BeNullOrEmpty
        $env = Get-SqbEnvironment -Path $P.Path -Name dev
        $env.Status | Should -Be 'working'
        $env.ModelCount | Should -Be 0
        (Get-AllRows $P) | Should -BeExactly $before -Because 'readers see the same rows at every name'
        # Get-SqbReconcile diagnoses it: the interrupted operation, and the refs adoption has yet to write.
        $findings = @(Get-SqbReconcile -Path $P.Path -Environment dev)
        $failed = @($findings | Where-Object Kind -EQ 'FailedOperation')
        $failed.Count | Should -Be 1
        $failed[0].Name | Should -Be $op.Id
        $failed[0].Message | Should -Be "interrupted operation: $($op.Id)"
        $failed[0].Recovery | Should -Be 'ConvertTo-SqbVirtualEnvironment'
        @($findings | Where-Object Kind -EQ 'MissingRef').Count | Should -BeGreaterThan 0

        # Retry: continues where it stopped.
        $retry = Invoke-Adopt $P

        $retry.Status | Should -Be 'finalized'
        ($retry.Relations | Where-Object Name -EQ 'raw_customers').Action | Should -Be 'done'
        ($retry.Relations | Where-Object Name -EQ 'raw_orders').Action | Should -Be ($P.AllowCopy ? 'copy' : 'move')
        foreach ($n in $Nodes) { "$((Get-SqbTestRelation $P $P.Schema $n).Kind)" | Should -Be 'View' -Because "$n is adopted" }
        (Get-AllRows $P) | Should -BeExactly $before
        # The retry is a run of its own (its id, unique per run, is its lock owner); the killed run stays journaled.
        $succeeded = @(Get-SqbOperation -Path $P.Path -Type adopt -Status Succeeded)
        $succeeded.Count | Should -Be 1
        $succeeded[0].Id | Should -Not -Be $op.Id
        @(Get-SqbLock -Path $P.Path).Count | Should -Be 0
        (Get-SqbEnvironment -Path $P.Path -Name dev).Status | Should -Be 'finalized'
        @(Get-SqbReconcile -Path $P.Path -Environment dev) | Should -BeNullOrEmpty -Because 'the adopted VDE is healthy'
    }

    It 'Interrupted detach: failed operation recorded, VDE stays finalized, physical version preserved, retry detach' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $null = Invoke-Adopt $P
        $before = Get-AllRows $P

        $child = Invoke-SqbChildScript -ImportModule -Environment @{ SQB_TEST_KILL_AT = 'detach:move:raw_customers' } `
            -Script "ConvertFrom-SqbVirtualEnvironment -Path '$($P.Path)' -AllowCopy:`$$($P.AllowCopy) -Confirmation 'detach dev'; 'DETACH RETURNED'"

        $child.ExitCode | Should -Not -Be 0
        $child.Output | Should -Not -Match 'DETACH RETURNED'
        $op = Get-SqbOperation -Path $P.Path -Type detach
        $op.Status | Should -Be 'failed'
        $op.Reason | Should -Be 'interrupted'
        $op.Events[-1].Message | Should -BeLike 'detach:move:raw_customers: *'
        # VDE stays finalized, with every ref; every physical version is still there.
        $env = Get-SqbEnvironment -Path $P.Path -Name dev
        $env.Status | Should -Be 'finalized'
        $env.ModelCount | Should -Be 6
        $env.SeedCount | Should -Be 3
        foreach ($n in $TableNodes) { Get-SqbTestRelation $P $P.PhysicalSchema (Get-PhysicalName $P $n) | Should -Not -BeNullOrEmpty -Because "$n's physical version is preserved" }
        "$((Get-SqbTestRelation $P $P.Schema 'raw_customers').Kind)" | Should -Be 'View'
        (Get-AllRows $P) | Should -BeExactly $before
        $failed = @(Get-SqbReconcile -Path $P.Path -Environment dev | Where-Object Kind -EQ 'FailedOperation')
        $failed.Count | Should -Be 1
        $failed[0].Name | Should -Be $op.Id
        $failed[0].Recovery | Should -Be 'ConvertFrom-SqbVirtualEnvironment'

        $retry = Invoke-Detach $P

        $retry.Status | Should -Be 'detached'
        (Get-SqbEnvironment -Path $P.Path -Name dev).Status | Should -Be 'detached'
        foreach ($n in $Nodes) {
            "$((Get-SqbTestRelation $P $P.Schema $n).Kind)" | Should -Be ($n -in $ViewModels ? 'View' : 'Table') -Because "$n is plain again"
        }
        (Get-AllRows $P) | Should -BeExactly $before
        @(Get-SqbOperation -Path $P.Path -Type detach -Status Succeeded).Count | Should -Be 1
    }
}

Describe 'Detached VDE guards on <Engine>' -ForEach $Engines {
    BeforeAll {
        if ($Skip) { return }
        $script:D = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $null = Invoke-Adopt $D
        $script:DetachResult = Invoke-Detach $D
        # A second environment, for promoting into the detached one (built anew from dev's kept refs).
        $script:Pr1 = Invoke-SqbBuild -Path $D.Path -Environment pr_1
        $script:DetachedRows = Get-AllRows $D
    }
    AfterAll { Remove-SqbTestProject $script:D }

    It 'detach marked the VDE detached and kept its refs' -Skip:$Skip {
        $DetachResult.Status | Should -Be 'detached'
        $DetachResult.Message | Should -Be 'Detached 6 models from virtual environment dev.'
        $env = Get-SqbEnvironment -Path $D.Path -Name dev
        $env.Status | Should -Be 'detached'
        $env.ModelCount | Should -Be 6
        $Pr1.EnvironmentStatus | Should -Be 'finalized'
    }

    It 'Invoke-SqbBuild blocks: "virtual environment is detached"' -Skip:$Skip {
        $err = { Invoke-SqbBuild -Path $D.Path } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'S028.EnvironmentDetached*'
        $err.Exception.Message | Should -Be "virtual environment 'dev' is detached"
        "$($err.CategoryInfo.Category)" | Should -Be 'InvalidOperation'
        (Get-AllRows $D) | Should -BeExactly $DetachedRows
    }

    It 'Publish-SqbEnvironment -From <detached> blocks' -Skip:$Skip {
        $err = { Publish-SqbEnvironment -Path $D.Path -From dev -To qa } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'S028.EnvironmentDetached*'
        $err.Exception.Message | Should -Be "source virtual environment 'dev' is detached"
        @(Get-SqbEnvironment -Path $D.Path | Where-Object Name -EQ 'qa').Count | Should -Be 0
    }

    It 'Publish-SqbEnvironment -To <detached> blocks' -Skip:$Skip {
        $err = { Publish-SqbEnvironment -Path $D.Path -From pr_1 -To dev } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'S028.EnvironmentDetached*'
        $err.Exception.Message | Should -Be "target virtual environment 'dev' is detached"
        (Get-SqbEnvironment -Path $D.Path -Name dev).Status | Should -Be 'detached'
        (Get-AllRows $D) | Should -BeExactly $DetachedRows
    }

    It 'Restore-SqbCheckpoint (rollback) blocks' -Skip:$Skip {
        $err = { Restore-SqbCheckpoint -Path $D.Path -Environment dev } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'S028.EnvironmentDetached*'
        $err.Exception.Message | Should -Be "virtual environment 'dev' is detached"
        (Get-AllRows $D) | Should -BeExactly $DetachedRows
    }
}

Describe 'Adopt guards on <Engine>' -ForEach $Engines {
    AfterEach { Remove-SqbTestProject $script:P }

    It 'No unsuffixed_virtual_env configured: blocks with config guidance, no changes made' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt -NoUnsuffixed
        $snapshot = Get-TestSnapshot $P

        $err = { Invoke-Adopt $P } | Should -Throw -PassThru

        $err.FullyQualifiedErrorId | Should -BeLike 'C256.UnsuffixedEnvironmentRequired*'
        $err.Exception.Message | Should -Be "state adopt requires [targets.dev.state] unsuffixed_virtual_env = 'dev'"
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*unsuffixed_virtual_env = "dev"*'
        Get-TestSnapshot $P | Should -BeExactly $snapshot
    }

    It 'Copy fallback needed without -AllowCopy: "requires -AllowCopy", no changes made' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $snapshot = Get-TestSnapshot $P
        if ($Engine -eq 'duckdb') {
            $err = { ConvertTo-SqbVirtualEnvironment -Path $P.Path -Confirmation 'adopt dev' } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'C284.CopyRequired*'
            $err.Exception.Message | Should -BeLike '*requires -AllowCopy*'
            Get-TestSnapshot $P | Should -BeExactly $snapshot
        }
        else {
            # PostgreSQL moves tables natively (ALTER TABLE .. SET SCHEMA): no copy fallback, no -AllowCopy needed.
            $r = ConvertTo-SqbVirtualEnvironment -Path $P.Path -Confirmation 'adopt dev'
            $r.Status | Should -Be 'finalized'
            @($r.Relations | Where-Object Action -EQ 'copy').Count | Should -Be 0
            @($r.Relations | Where-Object Action -EQ 'move').Count | Should -Be 6
        }
    }

    It 'Wrong typed confirmation: cancelled, no changes made' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $snapshot = Get-TestSnapshot $P
        foreach ($wrong in 'adopt prod', 'Adopt dev', 'yes', '') {
            $err = { Invoke-Adopt $P -Confirmation $wrong } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'C258.Cancelled*'
            $err.Exception.Message | Should -Be 'state adopt cancelled'
        }
        Get-TestSnapshot $P | Should -BeExactly $snapshot
        # The same through the host prompt of an interactive session.
        $adopt = @{ Path = $P.Path; AllowCopy = $P.AllowCopy }
        $asked = Invoke-SqbTestWithAnswer -Answer 'adopt prod' -Command ConvertTo-SqbVirtualEnvironment -Parameters $adopt -Property Status
        $asked.Shown | Should -Be "Type 'adopt dev' to confirm: "
        $asked.Reads | Should -Be 1
        $asked.Result | Should -BeLike 'C258.Cancelled*'
        Get-TestSnapshot $P | Should -BeExactly $snapshot
    }

    It 'reads the typed confirmation from the host, and fails (no hang) when the session cannot ask' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $snapshot = Get-TestSnapshot $P
        $catch = "catch { 'ERRORID ' + `$_.FullyQualifiedErrorId; `$_.Exception.Message; `$_.ErrorDetails.RecommendedAction; exit 3 }"
        # pwsh -NonInteractive, and a console whose input is a pipe (a CI agent's): neither is asked, neither waits.
        $nonInteractive = Invoke-SqbChildScript -ImportModule -Script "try { ConvertTo-SqbVirtualEnvironment -Path '$($P.Path)' -AllowCopy } $catch"
        $piped = Invoke-SqbChildScript -ImportModule -Interactive -InputText 'adopt dev' -Script "try { ConvertTo-SqbVirtualEnvironment -Path '$($P.Path)' -AllowCopy } $catch"
        foreach ($child in $nonInteractive, $piped) {
            $child.ExitCode | Should -Be 3
            $child.Output | Should -Match 'ERRORID R010\.ConfirmationRequired'
            $child.Output | Should -Match 'state adopt needs a typed confirmation and this session cannot ask for one'
            $child.Output | Should -Match "Pass -Confirmation 'adopt dev'"
        }
        Get-TestSnapshot $P | Should -BeExactly $snapshot

        # An interactive host is asked, and the exact text goes ahead.
        $adopt = @{ Path = $P.Path; AllowCopy = $P.AllowCopy }
        $typed = Invoke-SqbTestWithAnswer -Answer 'adopt dev' -Command ConvertTo-SqbVirtualEnvironment -Parameters $adopt -Property Status
        $typed.Shown | Should -Be "Type 'adopt dev' to confirm: "
        $typed.Result | Should -Be 'finalized'
        (Get-SqbEnvironment -Path $P.Path -Name dev).Status | Should -Be 'finalized'
    }

    It '-WhatIf lists every move, one line per relation, and changes nothing' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $snapshot = Get-TestSnapshot $P
        $child = Invoke-SqbChildScript -ImportModule -Script "ConvertTo-SqbVirtualEnvironment -Path '$($P.Path)' -AllowCopy -WhatIf"
        $child.ExitCode | Should -Be 0
        $lines = @($child.Output -split "`n" | Where-Object { $_ -like 'What if:*' })
        $lines.Count | Should -Be 9
        foreach ($n in $Nodes) { @($lines | Where-Object { $_ -like "*'$n'*" }).Count | Should -Be 1 -Because "$n has one line" }
        $verb = $P.AllowCopy ? 'Copy' : 'Move'
        $lines | Should -Contain "What if: Performing the operation `"$verb table model 'fct_orders' to $($P.PhysicalSchema).$(Get-PhysicalName $P 'fct_orders')`" on target `"$($P.Schema).fct_orders`"."
        Get-TestSnapshot $P | Should -BeExactly $snapshot
    }
}

Describe 'Detach guards on <Engine>' -ForEach $Engines {
    AfterEach { Remove-SqbTestProject $script:P }

    It 'VDE not finalized: "requires a finalized virtual environment", no changes made' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        # A working VDE: adopt with one table missing.
        Invoke-SqbTestSql $P "DROP TABLE $(Format-Qualified $P $P.Schema 'payments_log')" -NonQuery
        $adopted = Invoke-Adopt $P
        $adopted.Status | Should -Be 'working'
        $snapshot = Get-TestSnapshot $P

        $err = { Invoke-Detach $P } | Should -Throw -PassThru

        $err.FullyQualifiedErrorId | Should -BeLike 'C261.EnvironmentNotFinalized*'
        $err.Exception.Message | Should -Be 'state detach requires a finalized virtual environment'
        Get-TestSnapshot $P | Should -BeExactly $snapshot
    }

    It 'Copy fallback needed without -AllowCopy: "requires -AllowCopy", no changes made' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $null = Invoke-Adopt $P
        # PostgreSQL moves unshared versions back natively; a version another VDE shares must be copied.
        if ($Engine -eq 'postgres') { $null = Invoke-SqbBuild -Path $P.Path -Environment pr_1 }
        $snapshot = Get-TestSnapshot $P

        $err = { ConvertFrom-SqbVirtualEnvironment -Path $P.Path -Confirmation 'detach dev' } | Should -Throw -PassThru

        $err.FullyQualifiedErrorId | Should -BeLike 'C284.CopyRequired*'
        $err.Exception.Message | Should -BeLike 'state detach requires -AllowCopy*'
        Get-TestSnapshot $P | Should -BeExactly $snapshot
    }

    It 'Wrong typed confirmation: cancelled, no changes made' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $null = Invoke-Adopt $P
        $snapshot = Get-TestSnapshot $P
        foreach ($wrong in 'detach prod', 'adopt dev', 'DETACH DEV', '') {
            $err = { Invoke-Detach $P -Confirmation $wrong } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -BeLike 'C258.Cancelled*'
            $err.Exception.Message | Should -Be 'state detach cancelled'
        }
        Get-TestSnapshot $P | Should -BeExactly $snapshot
        (Get-SqbEnvironment -Path $P.Path -Name dev).Status | Should -Be 'finalized'
    }
}

Describe 'Invoke-SqbJanitor on <Engine>' -ForEach $Engines {
    AfterEach { Remove-SqbTestProject $script:P }

    It 'previews with -WhatIf, then removes what nothing references and emits typed items' -Skip:$Skip {
        $script:P = New-SqbTestTemplateProject -Engine $Engine -ReadyToAdopt
        $null = Invoke-Adopt $P
        $old = Get-PhysicalName $P 'dim_customers'
        $file = Join-Path $P.Path 'models/marts/dim_customers.sql'
        (Get-Content -LiteralPath $file -Raw) -replace 'AS order_count,', 'AS order_count, -- v2' | Set-Content -LiteralPath $file
        $null = Invoke-SqbBuild -Path $P.Path
        $snapshot = Get-TestSnapshot $P

        $preview = Invoke-SqbChildScript -ImportModule -Script "Invoke-SqbJanitor -Path '$($P.Path)' -MaxCheckpoints 1 -WhatIf"
        @($preview.Output -split "`n" | Where-Object { $_ -like 'What if:*' }).Count | Should -Be 2
        $preview.Output | Should -Match ([regex]::Escape("$($P.PhysicalSchema).$old"))
        Get-TestSnapshot $P | Should -BeExactly $snapshot

        $items = @(Invoke-SqbJanitor -Path $P.Path -MaxCheckpoints 1 -Force)

        $items | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'SQLBuild.SqbJanitorItem' }
        ($items | Where-Object Kind -EQ 'PhysicalRelation').Name | Should -Be "$($P.PhysicalSchema).$old"
        @($items | Where-Object Kind -EQ 'Checkpoint').Count | Should -Be 1
        $items | ForEach-Object { $_.Result | Should -Be 'removed' }
        Get-SqbTestRelation $P $P.PhysicalSchema $old | Should -BeNullOrEmpty
        @(Get-SqbCheckpoint -Path $P.Path).Count | Should -Be 1
        (Get-SqbOperation -Path $P.Path -Type janitor | Select-Object -Last 1).Status | Should -Be 'succeeded'
    }
}

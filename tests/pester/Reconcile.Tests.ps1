#Requires -Version 7.4
# Reconcile and repair (SPEC §7) on DuckDB and PostgreSQL: the "Warehouse drift" rows of the recovery
# page, each damage caused for real and then recovered with the documented cmdlets; pipeline binding,
# non-terminating errors, -WhatIf, the VDE lock and the typed confirmation of Set-SqbModelRef.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Engines = Get-SqbTestEngine
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule

    function script:Get-TestCount($Project, [string] $Relation) {
        [long](Invoke-SqbTestSql $Project "SELECT COUNT(*) FROM $Relation" -Scalar)
    }

    function script:Get-TestRefs($Project) {
        @(Invoke-SqbTestSql $Project "SELECT node_type, node_name, version_hash FROM $($Project.StateSchema).virtual_environment_node_refs WHERE virtual_environment_name = 'dev' ORDER BY node_type, node_name" |
                ForEach-Object { '{0}:{1}={2}' -f $_[0], $_[1], $_[2] })
    }

    function script:Build-SecondVersion($Project) {
        <# A changed stg_customers (6 of 8 rows) built into pr_1: two tracked versions of it. Returns pr_1's relation. #>
        $file = Join-Path $Project.Path 'models/staging/stg_customers.sql'
        $sql = (Get-Content -LiteralPath $file -Raw) -replace 'FROM __seed\("raw_customers"\)', "FROM __seed(`"raw_customers`")`nWHERE id <= 6"
        [IO.File]::WriteAllText($file, $sql)
        # Changes only: a default build would also refresh fct_orders, whose relationships audit to the 6 customers fails.
        (Invoke-SqbBuild -Path $Project.Path -Environment pr_1 -ChangesOnly -Confirm:$false).Status | Should -Be 'succeeded'
        Get-SqbTestPhysical $Project 'stg_customers' 'pr_1'
    }
}

Describe 'Warehouse drift on <Engine> (recovery page)' -ForEach $Engines {
    BeforeEach { $script:P = if (-not $Skip) { New-SqbTestTemplateProject -Engine $Engine -Build } }
    AfterEach { Remove-SqbTestProject $P }

    It 'Missing logical VDE view: Get-SqbReconcile reports it, Get-SqbReconcile | Repair-SqbView repairs it' -Skip:$Skip {
        $rows = Get-TestCount $P "$($P.Schema).fct_orders"
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).fct_orders" -NonQuery

        $finding = @(Get-SqbReconcile -Path $P.Path)
        $finding.Count | Should -Be 1
        $finding[0].PSTypeNames | Should -Contain 'SQLBuild.SqbReconcileFinding'
        "$($finding[0].Kind)" | Should -Be 'MissingView'
        $finding[0].Message | Should -Be 'missing logical target: fct_orders'
        $finding[0].Recovery | Should -Be 'Repair-SqbView -Environment dev -Name fct_orders'

        $result = @(Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable errs)
        $errs | Should -BeNullOrEmpty
        $result.Count | Should -Be 1
        $result[0].PSTypeNames | Should -Contain 'SQLBuild.SqbRepairResult'
        $result[0].Result | Should -Be 'repaired'
        $result[0].Message | Should -Be 'repaired view for fct_orders'
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be $rows
    }

    It 'Missing physical relation: Get-SqbReconcile reports it, Repair-SqbView blocks, Invoke-SqbBuild -Select rebuilds it' -Skip:$Skip {
        $physical = Get-SqbTestPhysical $P 'fct_orders'
        $rows = Get-TestCount $P "$($P.Schema).fct_orders"
        # PostgreSQL binds the view to the table; it goes first (the damage is a lost table, never a CASCADE).
        if ($Engine -eq 'postgres') { Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).fct_orders" -NonQuery }
        Invoke-SqbTestSql $P "DROP TABLE $physical" -NonQuery

        $finding = @(Get-SqbReconcile -Path $P.Path)
        $finding.Count | Should -Be 1
        "$($finding[0].Kind)" | Should -Be 'MissingPhysical'
        $finding[0].Message | Should -Be 'missing physical relation: fct_orders'
        $finding[0].Expected | Should -Be $physical
        $finding[0].Recovery | Should -Be 'Invoke-SqbBuild -Environment dev -Select fct_orders'

        $result = @(Repair-SqbView -Path $P.Path -Name fct_orders -ErrorVariable errs -ErrorAction SilentlyContinue)
        $result.Count | Should -Be 1
        $result[0].Result | Should -Be 'blocked'
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'C252.MissingPhysical,*'
        $errs[0].Exception.Message | Should -Be "missing physical relation for 'fct_orders'"
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].ErrorDetails.RecommendedAction | Should -Be 'Invoke-SqbBuild -Environment dev -Select fct_orders'

        # The same refusal through the pipeline names the finding.
        $null = Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable piped -ErrorAction SilentlyContinue
        $piped.Count | Should -Be 1
        $piped[0].FullyQualifiedErrorId | Should -BeLike 'C252.MissingPhysical,*'
        $piped[0].TargetObject.PSTypeNames | Should -Contain 'SQLBuild.SqbReconcileFinding'

        $build = Invoke-SqbBuild -Path $P.Path -Select fct_orders -Confirm:$false
        $build.Status | Should -Be 'succeeded'
        ($build.Nodes | Where-Object Name -EQ 'fct_orders').Relation | Should -Be $physical
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be $rows
    }

    It 'Logical target is a table: Repair-SqbView and Set-SqbModelRef block; after dropping the table by hand Repair-SqbView works' -Skip:$Skip {
        $physical = Get-SqbTestPhysical $P 'fct_orders'
        $rows = Get-TestCount $P "$($P.Schema).fct_orders"
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).fct_orders" -NonQuery
        Invoke-SqbTestSql $P "CREATE TABLE $($P.Schema).fct_orders AS SELECT * FROM $physical WHERE order_id < 105" -NonQuery
        $refs = Get-TestRefs $P

        $finding = @(Get-SqbReconcile -Path $P.Path)
        "$($finding.Kind)" | Should -Be 'LogicalIsTable'
        $finding[0].Message | Should -Be 'logical target is table: fct_orders'

        $null = Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'C250.LogicalIsTable,*'
        $errs[0].Exception.Message | Should -Be "logical target for 'fct_orders' is a table; repair-view will not overwrite it"
        $errs[0].ErrorDetails.RecommendedAction | Should -Be $finding[0].Recovery

        { Set-SqbModelRef -Path $P.Path -Model fct_orders -PhysicalRelation $physical -Confirmation 'attach fct_orders' -ErrorAction Stop } |
            Should -Throw -ErrorId 'C250.LogicalIsTable*'
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be 4
        Get-TestRefs $P | Should -Be $refs

        Invoke-SqbTestSql $P "DROP TABLE $($P.Schema).fct_orders" -NonQuery
        (Repair-SqbView -Path $P.Path -Name fct_orders).Result | Should -Be 'repaired'
        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be $rows
        # Only the refused attach remains, until it is retried.
        $left = @(Get-SqbReconcile -Path $P.Path)
        "$($left.Kind)" | Should -Be 'FailedOperation'
        $left[0].Recovery | Should -Be "Set-SqbModelRef -Environment dev -Model fct_orders -PhysicalRelation $physical"
    }
}

Describe 'Repair-SqbView on <Engine>' -ForEach $Engines {
    BeforeEach { $script:P = if (-not $Skip) { New-SqbTestTemplateProject -Engine $Engine -Build } }
    AfterEach { Remove-SqbTestProject $P }

    It 'repairs what it can and passes every other finding through as a non-terminating error' -Skip:$Skip {
        $dim = Get-SqbTestPhysical $P 'dim_customers'
        $stg = Get-SqbTestPhysical $P 'stg_customers'
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).fct_orders" -NonQuery                              # MissingView
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).stg_orders" -NonQuery                              # MissingView
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).dim_customers" -NonQuery
        Invoke-SqbTestSql $P "DROP TABLE $dim" -NonQuery                                                # MissingPhysical
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).stg_customers" -NonQuery
        Invoke-SqbTestSql $P "CREATE TABLE $($P.Schema).stg_customers AS SELECT * FROM $stg" -NonQuery # LogicalIsTable
        Invoke-SqbTestSql $P "CREATE VIEW $($P.Schema).old_orders AS SELECT * FROM $(Get-SqbTestPhysical $P 'fct_orders')" -NonQuery # UnexpectedView
        try { Publish-SqbEnvironment -Path $P.Path -From pr_9 -To dev -Confirm:$false } catch { $_.FullyQualifiedErrorId | Should -BeLike 'S011.*' } # FailedOperation

        $findings = @(Get-SqbReconcile -Path $P.Path)
        @($findings | ForEach-Object { "$($_.Kind):$($_.Name)" } | Where-Object { $_ -notlike 'FailedOperation:*' }) |
            Should -Be @('MissingPhysical:dim_customers', 'MissingView:fct_orders', 'LogicalIsTable:stg_customers', 'MissingView:stg_orders', 'UnexpectedView:old_orders')
        @($findings | Where-Object { "$($_.Kind)" -eq 'FailedOperation' }).Count | Should -Be 1

        $results = @($findings | Repair-SqbView -Path $P.Path -ErrorVariable errs -ErrorAction SilentlyContinue -WarningVariable warns -WarningAction SilentlyContinue)
        @($results | ForEach-Object { "$($_.Name)=$($_.Result)" }) | Should -Be @('fct_orders=repaired', 'stg_orders=repaired')
        ($results.OperationId | Select-Object -Unique).Count | Should -Be 1
        # Views it cannot write are errors with their own recovery; findings that are not views it writes are warnings.
        @($errs | ForEach-Object { $_.FullyQualifiedErrorId.Split(',')[0] }) | Should -Be @('C252.MissingPhysical', 'C250.LogicalIsTable')
        foreach ($e in $errs) {
            $e.TargetObject.PSTypeNames | Should -Contain 'SQLBuild.SqbReconcileFinding'
            $e.ErrorDetails.RecommendedAction | Should -Be $e.TargetObject.Recovery
        }
        @($warns).Count | Should -Be 2
        @($warns | Where-Object { "$_" -like '*repair-view does not drop views*' }).Count | Should -Be 1
        @($warns | Where-Object { "$_" -like '*repair-view does not retry operations; retry it with Publish-SqbEnvironment -From pr_9 -To dev' }).Count | Should -Be 1

        Get-TestCount $P "$($P.Schema).fct_orders" | Should -Be 12
        Get-TestCount $P "$($P.Schema).stg_orders" | Should -Be 12
        @(Get-SqbReconcile -Path $P.Path | ForEach-Object { "$($_.Kind)" } | Where-Object { $_ -in 'MissingView', 'WrongViewTarget' }) |
            Should -BeNullOrEmpty
        # Unhandled findings are never "fixed" behind the user's back.
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 8
        @(Invoke-SqbTestSql $P "SELECT COUNT(*) FROM $($P.Schema).old_orders")[0][0] | Should -Be 12
    }

    It '-WhatIf lists each view and changes nothing' -Skip:$Skip {
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).fct_orders" -NonQuery
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).dim_customers" -NonQuery
        $transcript = Join-Path $P.Path 'whatif.txt'
        $null = Start-Transcript -LiteralPath $transcript
        try { $out = @(Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -WhatIf) }
        finally { $null = Stop-Transcript }
        $out | Should -BeNullOrEmpty
        $text = Get-Content -LiteralPath $transcript -Raw
        $text | Should -Match ([regex]::Escape("view $($P.Schema).fct_orders of virtual environment 'dev'"))
        $text | Should -Match ([regex]::Escape("view $($P.Schema).dim_customers of virtual environment 'dev'"))
        @(Get-SqbReconcile -Path $P.Path | ForEach-Object { "$($_.Kind)" }) | Should -Be @('MissingView', 'MissingView')
        @(Get-SqbOperation -Path $P.Path -Type repair) | Should -BeNullOrEmpty
    }

    It 'fails with S014 at once while the environment is locked' -Skip:$Skip {
        Invoke-SqbTestSql $P "DROP VIEW $($P.Schema).fct_orders" -NonQuery
        $lease = Enter-SqbTestLock -Project $P -Owner 'test:holder'
        try {
            { Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorAction Stop } | Should -Throw -ErrorId 'S014.EnvironmentLocked*'
            # The report takes no lock.
            @(Get-SqbReconcile -Path $P.Path).Count | Should -Be 1
        }
        finally { $lease.Dispose() }
        (Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path).Result | Should -Be 'repaired'
    }

    It 'does nothing, silently, when the environment is healthy' -Skip:$Skip {
        @(Get-SqbReconcile -Path $P.Path | Repair-SqbView -Path $P.Path -ErrorVariable errs) | Should -BeNullOrEmpty
        $errs | Should -BeNullOrEmpty
        (Repair-SqbView -Path $P.Path -Name fct_orders, raw_orders | ForEach-Object Result) | Should -Be @('unchanged', 'unchanged')
    }
}

Describe 'Set-SqbModelRef on <Engine>' -ForEach $Engines {
    BeforeEach { $script:P = if (-not $Skip) { New-SqbTestTemplateProject -Engine $Engine -Build } }
    AfterEach { Remove-SqbTestProject $P }

    It 'rebinds one ref after the typed confirmation, and a wrong confirmation or -WhatIf changes nothing' -Skip:$Skip {
        $pr = Build-SecondVersion $P
        $refs = Get-TestRefs $P

        { Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'attach stg_orders' -ErrorAction Stop } |
            Should -Throw -ErrorId 'C262.AttachCancelled*'
        try { Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'yes' -ErrorAction Stop } catch { $cancel = $_ }
        $cancel.Exception.Message | Should -Be 'reconcile attach cancelled'
        $null = Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -WhatIf
        Get-TestRefs $P | Should -Be $refs
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 8

        { Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation "$($P.PhysicalSchema).stg_orders__v_00000000" -Confirmation 'attach stg_customers' -ErrorAction Stop } |
            Should -Throw -ErrorId 'C253.UntrackedRelation*'

        $result = Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'attach stg_customers'
        $result.PSTypeNames | Should -Contain 'SQLBuild.SqbRepairResult'
        $result.Result | Should -Be 'attached'
        $result.Message | Should -Be "attached stg_customers to $pr"
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 6
        $changed = @(Compare-Object (Get-TestRefs $P) $refs | Where-Object SideIndicator -EQ '<=' | ForEach-Object InputObject)
        $changed.Count | Should -Be 1
        $changed[0] | Should -BeLike 'model:stg_customers=*'
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
    }

    It 'asks an interactive host for the typed confirmation: a wrong answer cancels, the right one attaches' -Skip:$Skip {
        $pr = Build-SecondVersion $P
        $refs = Get-TestRefs $P
        $attach = @{ Path = $P.Path; Model = 'stg_customers'; PhysicalRelation = $pr }
        $wrong = Invoke-SqbTestWithAnswer -Answer 'attach stg_orders' -Command Set-SqbModelRef -Parameters $attach -Property Result
        $wrong.Shown | Should -Be "Type 'attach stg_customers' to confirm: "
        $wrong.Reads | Should -Be 1
        $wrong.Result | Should -BeLike 'C262.AttachCancelled*'
        Get-TestRefs $P | Should -Be $refs
        (Invoke-SqbTestWithAnswer -Answer 'attach stg_customers' -Command Set-SqbModelRef -Parameters $attach -Property Result).Result | Should -Be 'attached'
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 6
    }

    It 'an attach killed before its commit changes nothing, is reported interrupted, and a plain retry works' -Skip:$Skip {
        $pr = Build-SecondVersion $P
        $refs = Get-TestRefs $P
        $env:SQB_TEST_KILL_AT = 'attach:switch:before-commit'
        try {
            { Invoke-SqbChildPwsh -ArgumentList (Get-SqbModuleManifestPath), $P.Path, $pr -ScriptBlock {
                    param($Manifest, $Path, $Relation)
                    Import-Module $Manifest
                    Set-SqbModelRef -Path $Path -Model stg_customers -PhysicalRelation $Relation -Confirmation 'attach stg_customers'
                } } | Should -Throw '*child pwsh exited*'
        }
        finally { Remove-Item Env:SQB_TEST_KILL_AT }

        Get-TestRefs $P | Should -Be $refs
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 8
        $finding = @(Get-SqbReconcile -Path $P.Path)
        $finding.Count | Should -Be 1
        "$($finding[0].Kind)" | Should -Be 'FailedOperation'
        $finding[0].Message | Should -BeLike 'interrupted operation: attach:*'
        $finding[0].Recovery | Should -Be "Set-SqbModelRef -Environment dev -Model stg_customers -PhysicalRelation $pr"
        (Get-SqbOperation -Path $P.Path -Id $finding[0].Name).Reason | Should -Be 'interrupted'

        # The dead holder's lock is taken over; the retry is the recovery.
        (Set-SqbModelRef -Path $P.Path -Model stg_customers -PhysicalRelation $pr -Confirmation 'attach stg_customers').Result | Should -Be 'attached'
        Get-TestCount $P "$($P.Schema).stg_customers" | Should -Be 6
        @(Get-SqbReconcile -Path $P.Path) | Should -BeNullOrEmpty
    }

    It 'fails instead of waiting when the session cannot prompt and no -Confirmation is given' -Skip:$Skip {
        $out = Invoke-SqbChildPwsh -ArgumentList (Get-SqbModuleManifestPath), $P.Path -ScriptBlock {
            param($Manifest, $Path)
            Import-Module $Manifest
            try { Set-SqbModelRef -Path $Path -Model stg_customers -PhysicalRelation x -ErrorAction Stop; 'no error' }
            catch { [pscustomobject]@{ Id = $_.FullyQualifiedErrorId; Message = $_.Exception.Message } }
        }
        $out.Id | Should -BeLike 'R010.ConfirmationRequired*'
        $out.Message | Should -BeLike "*'attach stg_customers'*"
    }
}

Describe 'Reconcile guards and binding' {
    It 'blocks Get-SqbReconcile, Repair-SqbView and Set-SqbModelRef in direct mode with C254' {
        $path = Join-Path ([IO.Path]::GetTempPath()) ('sqb-rec-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
        try {
            $null = New-SqbProject -Path $path -Template direct -Confirm:$false
            foreach ($command in { Get-SqbReconcile -Path $path -ErrorAction Stop },
                { Repair-SqbView -Path $path -Name fct_orders -ErrorAction Stop },
                { Set-SqbModelRef -Path $path -Model fct_orders -PhysicalRelation x -Confirmation 'attach fct_orders' -ErrorAction Stop }) {
                try { & $command; throw 'expected C254' }
                catch {
                    $_.FullyQualifiedErrorId | Should -BeLike 'C254.ReconcileRequiresVirtualMode*'
                    $_.Exception.Message | Should -Be 'reconcile requires virtual_environments = true'
                    $_.CategoryInfo.Category | Should -Be 'InvalidOperation'
                }
            }
            Join-Path $path 'shop.duckdb' | Should -Not -Exist
        }
        finally { Remove-Item -LiteralPath $path -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'declares its output types, ShouldProcess and ConfirmImpact' {
        (Get-Command Get-SqbReconcile).OutputType.Name | Should -Be 'SQLBuild.SqbReconcileFinding'
        (Get-Command Repair-SqbView).OutputType.Name | Should -Be 'SQLBuild.SqbRepairResult'
        (Get-Command Set-SqbModelRef).OutputType.Name | Should -Be 'SQLBuild.SqbRepairResult'
        foreach ($c in @{ Name = 'Repair-SqbView'; Impact = 'Low' }, @{ Name = 'Set-SqbModelRef'; Impact = 'High' }) {
            $type = (Get-Command $c.Name).ImplementingType
            $attr = $type.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attr.SupportsShouldProcess | Should -BeTrue
            "$($attr.ConfirmImpact)" | Should -Be $c.Impact
        }
        $p = (Get-Command Repair-SqbView).Parameters
        foreach ($name in 'Environment', 'Name', 'NodeType') { $p[$name].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Contain $true }
        $p['Name'].Aliases | Should -Contain 'Model'
        (Get-Command Get-SqbReconcile).Parameters['Environment'].Aliases | Should -Contain 'VirtualEnv'
    }

    It 'takes environments from Get-SqbEnvironment by property name' {
        $p = New-SqbTestTemplateProject -Build
        try {
            $null = Invoke-SqbBuild -Path $p.Path -Environment pr_1 -Confirm:$false
            Invoke-SqbTestSql $p "CREATE VIEW $($p.Schema)__pr_1.scratch AS SELECT 1 AS x" -NonQuery
            $findings = @(Get-SqbEnvironment -Path $p.Path | Get-SqbReconcile -Path $p.Path)
            @($findings | ForEach-Object { "$($_.Environment):$($_.Kind):$($_.Name)" }) | Should -Be @('pr_1:UnexpectedView:scratch')
        }
        finally { Remove-SqbTestProject $p }
    }
}

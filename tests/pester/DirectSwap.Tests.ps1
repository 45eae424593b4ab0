#Requires -Version 7.4
# A direct build that must drop a table whose columns changed and rename the new one in its place (PostgreSQL), killed
# (SIGKILL, no cleanup) while its swap waits for a reader's lock: the old table stays with its rows and the grants a DBA
# made, and the next build replaces it, grants kept, over whatever the killed one left.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Pg = Get-SqbTestPostgres
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $ProgressPreference = 'SilentlyContinue'
}

Describe 'A direct swap killed mid-way on postgres' -Skip:(-not $Pg) {
    BeforeEach {
        $script:p = New-SqbTestTemplateProject -Engine postgres -Template direct
        Push-Location -LiteralPath $p.Path
        $script:role = 'sqbt Swap"Reader_' + [Guid]::NewGuid().ToString('N').Substring(0, 12)
        $script:quotedRole = '"' + ($role -replace '"', '""') + '"'
        Invoke-SqbTestSql -Project $p -NonQuery -Sql "CREATE ROLE $quotedRole NOLOGIN"
        $script:children = @()
    }

    AfterEach {
        foreach ($c in $script:children) { Stop-SqbTestChild -Child $c }
        Pop-Location -ErrorAction SilentlyContinue
        try { Invoke-SqbTestSql -Project $p -NonQuery -Sql "DROP OWNED BY $quotedRole" } catch { }
        try { Invoke-SqbTestSql -Project $p -NonQuery -Sql "DROP ROLE IF EXISTS $quotedRole" } catch { }
        Remove-SqbTestProject -Project $script:p
    }

    It 'leaves the old table with its grants, and the next build replaces it keeping them' {
        Set-SqbTestModel -Project $p -Name 'report' -Sql "MODEL (materialized table);`nSELECT 1 AS id, 'x' AS name"
        (Invoke-SqbBuild -Select report).Status | Should -Be 'succeeded'
        $table = "`"$($p.Schema)`".report"
        Invoke-SqbTestSql -Project $p -NonQuery -Sql "GRANT USAGE ON SCHEMA `"$($p.Schema)`" TO $quotedRole"
        Invoke-SqbTestSql -Project $p -NonQuery -Sql "GRANT SELECT ON $table TO $quotedRole WITH GRANT OPTION"
        Set-SqbTestModel -Project $p -Name 'report' -Sql "MODEL (materialized table);`nSELECT 1 AS id, 'x' AS name, 2 AS amount"

        # A reader holds the table: the child's swap waits for its lock inside the swap's transaction.
        $holder = Open-SqbTestSession -Project $p
        $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
        $tx = $holder.BeginTransaction()
        try {
            $null = $holder.ExecuteScalar($stmt::new('TEST', 'hold', "SELECT COUNT(*) FROM $table", $null))
            $child = Start-SqbTestChild -Project $p -Name 'killed-swap' -Body 'Invoke-SqbBuild -Select report | Out-Null'
            $script:children = @($child)
            $null = Wait-SqbTestCondition -Child $child -TimeoutSeconds 90 -Because 'the swap to wait for the reader' -Condition {
                if ($child.Process.HasExited) { throw "child exited early`n$(Get-SqbTestChildOutput -Child $child)" }
                [long](Invoke-SqbTestSql -Project $p -Scalar -Sql "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name LIKE 'sqlbuild/%'") -gt 0
            }
            Stop-SqbTestChild -Child $child
        }
        finally { $tx.Rollback(); $tx.Dispose(); $holder.Dispose() }

        # The killed client's statement ends on the server at its lock timeout; its transaction never committed.
        $null = Wait-SqbTestCondition -TimeoutSeconds 30 -Because 'the killed build''s session to end' -Condition {
            [long](Invoke-SqbTestSql -Project $p -Scalar -Sql "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name LIKE 'sqlbuild/%'") -eq 0
        }
        @(Invoke-SqbTestSql -Project $p -Sql "SELECT attname::text FROM pg_attribute WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum" |
            ForEach-Object { $_[0] }) | Should -Be @('id', 'name')
        Invoke-SqbTestSql -Project $p -Scalar -Sql "SELECT has_table_privilege(`$1, `$2, 'SELECT WITH GRANT OPTION')" -Parameters $role, $table | Should -BeTrue

        $r = Invoke-SqbBuild -Select report
        $r.Status | Should -Be 'succeeded' -Because ($r.Nodes.Error -join '; ')
        @(Invoke-SqbTestSql -Project $p -Sql "SELECT attname::text FROM pg_attribute WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum" |
            ForEach-Object { $_[0] }) | Should -Be @('id', 'name', 'amount')
        Invoke-SqbTestSql -Project $p -Scalar -Sql "SELECT has_table_privilege(`$1, `$2, 'SELECT WITH GRANT OPTION')" -Parameters $role, $table | Should -BeTrue
        [long](Invoke-SqbTestSql -Project $p -Scalar -Sql "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = `$1 AND c.relname LIKE '%sqb_staging%'" -Parameters $p.Schema) | Should -Be 0
    }
}

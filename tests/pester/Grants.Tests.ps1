#Requires -Version 7.4
# Issue 9, case 6 (SPEC 10.1) end to end through the cmdlets on PostgreSQL, with a real role: GRANT SELECT on
# dev's fct_orders to a reader, add a column, build pr_1, promote, Restore-SqbCheckpoint. The restore drops the
# view and creates it again (PostgreSQL cannot drop a column from a view in place); the reader keeps SELECT,
# as the server decides it (has_table_privilege) and as the reader sees it (SET ROLE, then a real SELECT).
# DuckDB has no GRANT, so there is nothing to keep there.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    $script:Pg = Get-SqbTestPostgres
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'SQLBuild.TestHelpers.psm1') -Force
    Import-SqbTestModule
    $ProgressPreference = 'SilentlyContinue'

    function Test-GrantPrivilege($P, [string] $Role, [string] $Relation, [string] $Privilege = 'SELECT') {
        <# has_table_privilege as the server decides it for the role. #>
        [bool](Invoke-SqbTestSql -Project $P -Scalar -Sql 'SELECT has_table_privilege($1, $2, $3)' -Parameters $Role, $Relation, $Privilege)
    }

    function Invoke-GrantAsRole($P, [string] $Role, [string] $Sql) {
        <# One value of $Sql run as the role (SET LOCAL ROLE in a transaction that is rolled back). #>
        $session = Open-SqbTestSession -Project $P
        try {
            $stmt = Get-SqbType 'SQLBuild.Core.Adapters.SqlStatement'
            $tx = $session.BeginTransaction()
            try {
                $null = $session.Execute($stmt::new('TEST', 'role', "SET LOCAL ROLE $($session.Dialect.QuoteIdentifier($Role))", $null))
                $session.ExecuteScalar($stmt::new('TEST', 'as role', $Sql, $null))
            }
            finally { $tx.Rollback(); $tx.Dispose() }
        }
        finally { $session.Dispose() }
    }

    function Get-GrantOid($P, [string] $Relation) {
        Invoke-SqbTestSql -Project $P -Scalar -Sql 'SELECT $1::regclass::oid::bigint' -Parameters $Relation
    }
}

Describe 'Grants on a logical view (issue 9, case 6) on postgres' {
    BeforeEach {
        $script:p = New-SqbTestTemplateProject -Engine postgres -Build
        Push-Location -LiteralPath $p.Path
        # Roles belong to the whole cluster: a name of this test's own.
        $script:role = 'sqbt_bi_reader_' + [Guid]::NewGuid().ToString('N').Substring(0, 12)
        Invoke-SqbTestSql -Project $p -NonQuery -Sql "CREATE ROLE `"$role`" NOLOGIN"
    }

    AfterEach {
        Pop-Location -ErrorAction SilentlyContinue
        if ($script:role) {
            try { Invoke-SqbTestSql -Project $p -NonQuery -Sql "DROP OWNED BY `"$role`"" } catch { }
            try { Invoke-SqbTestSql -Project $p -NonQuery -Sql "DROP ROLE IF EXISTS `"$role`"" } catch { }
        }
        Remove-SqbTestProject -Project $script:p
        $script:p = $null
        $script:role = $null
    }

    It 'GRANT SELECT, add a column, build pr_1, promote, Restore-SqbCheckpoint: the reader still has SELECT' -Skip:(-not $Pg.Available) {
        $orders = "`"$($p.Schema)`".`"fct_orders`""
        Invoke-SqbTestSql -Project $p -NonQuery -Sql "GRANT USAGE ON SCHEMA `"$($p.Schema)`" TO `"$role`""
        Invoke-SqbTestSql -Project $p -NonQuery -Sql "GRANT SELECT ON $orders TO `"$role`""
        Test-GrantPrivilege $p $role $orders | Should -BeTrue
        $rows = Invoke-GrantAsRole $p $role "SELECT COUNT(*) FROM $orders"
        $rows | Should -BeGreaterThan 0

        # Add a column to fct_orders and build pr_1.
        $file = Join-Path $p.Path 'models/marts/fct_orders.sql'
        $sql = [IO.File]::ReadAllText($file)
        $changed = $sql.Replace('COALESCE(SUM(p.amount), 0) AS amount', "COALESCE(SUM(p.amount), 0) AS amount,`n  12 AS order_year")
        $changed | Should -Not -Be $sql
        [IO.File]::WriteAllText($file, $changed, [Text.UTF8Encoding]::new($false))
        (Invoke-SqbBuild -Environment pr_1).Status | Should -Be 'succeeded'

        # Promote: dev's view gains order_year.
        (Publish-SqbEnvironment -From pr_1 -To dev -Confirm:$false).Status | Should -Be 'finalized'
        Test-GrantPrivilege $p $role $orders | Should -BeTrue
        Invoke-GrantAsRole $p $role "SELECT MAX(order_year) FROM $orders" | Should -Be 12

        # Restore-SqbCheckpoint: order_year goes again, so the view is dropped and created (a new oid).
        $oid = Get-GrantOid $p $orders
        $restored = Restore-SqbCheckpoint -Confirm:$false
        $restored.Status | Should -Be 'finalized'
        Get-GrantOid $p $orders | Should -Not -Be $oid
        Test-GrantPrivilege $p $role $orders | Should -BeTrue -Because 'the grant is re-applied in the restore''s own transaction'
        Invoke-GrantAsRole $p $role "SELECT COUNT(*) FROM $orders" | Should -Be $rows
        @(Get-SqbReconcile) | Should -BeNullOrEmpty
    }
}

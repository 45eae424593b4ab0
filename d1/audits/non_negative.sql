-- Generic audit: rows whose @column is negative.
SELECT * FROM @relation WHERE @column < 0

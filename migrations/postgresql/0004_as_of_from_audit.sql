-- On SQLite this dropped the data version's triggers and two audit indexes;
-- here 0002 and 0003 never made them.
SELECT 1;

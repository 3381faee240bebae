-- err runs a statement and shows its SQLSTATE and message instead of failing
-- (test/helpers/err.sql, included by pg_regress tests with \i: make installcheck
-- runs psql from the repository root with the test on standard input)
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

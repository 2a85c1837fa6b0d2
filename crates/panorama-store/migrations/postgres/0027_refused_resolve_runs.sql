-- A resolution the guard checks refused is recorded too (mode 'refused', its
-- report saying why), so stewards see why the customers did not change.

ALTER TABLE resolve_run DROP CONSTRAINT resolve_run_mode_check;
ALTER TABLE resolve_run ADD CONSTRAINT resolve_run_mode_check
    CHECK (mode IN ('full', 'incremental', 'refused'));

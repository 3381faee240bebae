#!/usr/bin/env bash
# test/shell/gdpr_dump_restore.sh -- subject table registrations and GDPR requests
# survive pg_dump + pg_restore; builtin registrations (made again by CREATE
# EXTENSION) are not dumped; erase_subject works on the restored database.
# Needs PGHOST/PGPORT/PGUSER of a running server.  Exits non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/../helpers/dump_restore.sh" gdpr

psql -Xq -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE TABLE public.members (organization_id uuid NOT NULL, user_id uuid NOT NULL, name text,
                             PRIMARY KEY (organization_id, user_id));
CREATE TABLE public.tokens (organization_id uuid NOT NULL, user_id uuid NOT NULL, token text);
SELECT tenantcore.isolate('public.members');
SELECT tenantcore.isolate('public.tokens');
INSERT INTO public.members VALUES ('0d000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Sam'),
                                  ('0e000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'Sam B');
INSERT INTO public.tokens VALUES ('0d000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 't');
SELECT tenantcore.register_subject_table('public.members', 'user_id', 'anonymize', '{"name": "Deleted User"}');
SELECT tenantcore.register_subject_table('public.tokens', 'user_id', 'delete');
SELECT tenantcore.export_subject('11111111-1111-4111-8111-111111111111');
-- as the install script of a core table would mark its own registration
UPDATE tenantcore.subject_tables SET builtin = true WHERE rel = 'public.tokens'::regclass;
SQL

dump_restore

check "registrations restored, builtin ones left to CREATE EXTENSION" \
    "SELECT count(*) = 1 AND bool_and(rel = 'public.members'::regclass AND on_erase = 'anonymize' AND anonymize = '{\"name\": \"Deleted User\"}' AND NOT builtin) FROM tenantcore.subject_tables WHERE rel::text NOT LIKE 'tenantcore.%'"
check "gdpr requests restored" \
    "SELECT count(*) = 1 FROM tenantcore.gdpr_requests WHERE kind = 'export' AND subject = '11111111-1111-4111-8111-111111111111'"
check "the request sequence continues after the restored rows" \
    "SELECT (tenantcore.erase_subject('11111111-1111-4111-8111-111111111111') ->> 'request_id')::bigint > (SELECT min(id) FROM tenantcore.gdpr_requests)"
check "erasure works after restore" \
    "SELECT array_agg(name ORDER BY organization_id) = '{Deleted User,Deleted User}' FROM public.members"
exit $fail

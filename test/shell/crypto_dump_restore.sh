#!/usr/bin/env bash
# test/shell/crypto_dump_restore.sh -- a database with protected columns survives
# pg_dump + pg_restore into another database of the same server (same master
# key): no value is encrypted twice, every value decrypts, the blind index
# still finds rows, the trigger still encrypts new rows, and the wrapped keys
# came along.  Needs PGHOST/PGPORT/PGUSER of a running server with a master
# key (scripts/lib.sh clusters have one).  Exits non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/../helpers/dump_restore.sh" crypto

psql -Xq -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE TABLE public.clients (id int, organization_id uuid NOT NULL, email text, tax_id varchar(20),
                             PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('public.clients');
INSERT INTO public.clients
SELECT g, CASE WHEN g % 2 = 0 THEN '0d000000-0000-4000-8000-000000000001'::uuid
               ELSE '0e000000-0000-4000-8000-000000000002'::uuid END,
       'client' || g || '@example.com', 'TAX' || g
  FROM generate_series(1, 100) g;
SELECT tenantcore.protect('public.clients', 'email', true);
SELECT tenantcore.protect('public.clients', 'tax_id');
SELECT tenantcore.rotate_tenant_key('0d000000-0000-4000-8000-000000000001');
SQL

dump_restore

# compare the ciphertext of both databases through a digest of each
src_digest=$(psql -XAtq -d "$src" -c "SELECT md5(string_agg(email_encrypted::text || tax_id_encrypted::text, ',' ORDER BY id)) FROM public.clients")
dst_digest=$(psql -XAtq -d "$dst" -c "SELECT md5(string_agg(email_encrypted::text || tax_id_encrypted::text, ',' ORDER BY id)) FROM public.clients")
if [ "$src_digest" = "$dst_digest" ]; then echo "ok - ciphertext identical after restore (no double encryption)"; else echo "not ok - ciphertext changed by restore"; fail=1; fi
check "no plaintext after restore" "SELECT count(*) = 0 FROM public.clients WHERE email IS NOT NULL OR tax_id IS NOT NULL"
check "wrapped keys restored" "SELECT count(*) = 3 FROM tenantcore.tenant_keys WHERE organization_id IN ('0d000000-0000-4000-8000-000000000001', '0e000000-0000-4000-8000-000000000002')"
check "registry restored" "SELECT count(*) = 2 FROM tenantcore.protected_columns WHERE rel = 'public.clients'::regclass"
check "every value decrypts" \
    "SELECT count(*) = 100 FROM public.clients WHERE tenantcore.decrypt_pii(email_encrypted, organization_id) = 'client' || id || '@example.com' AND tenantcore.decrypt_pii(tax_id_encrypted, organization_id) = 'TAX' || id"
got=$(psql -XAtq -d "$dst" <<'SQL'
BEGIN;
SELECT tenantcore.set_tenant('0d000000-0000-4000-8000-000000000001') IS NULL;
SELECT id FROM public.clients WHERE email_bidx = tenantcore.blind_index('client42@example.com');
INSERT INTO public.clients (id, email) VALUES (500, 'new@example.com');
SELECT email IS NULL AND tenantcore.key_version(email_encrypted) = 2 FROM public.clients WHERE id = 500;
SELECT email FROM public.clients_decrypted WHERE id = 500;
ROLLBACK;
SQL
)
if [ "$got" = $'f\n42\nt\nnew@example.com' ]; then echo "ok - blind index, trigger and view work after restore"; else echo "not ok - after restore: $got"; fail=1; fi
exit $fail

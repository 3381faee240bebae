-- bench/crypto/setup.sql: 100,000 e-mail addresses, the seed's plpgsql
-- encrypt_pii/decrypt_pii (seed 004), and two 100,000-row tables for the
-- lookup benchmark: one with a plaintext e-mail index, one protected by
-- tenantcore.protect(searchable) with a blind index.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS seed CASCADE;
DROP TABLE IF EXISTS emails, plain_people, enc_people CASCADE;
DELETE FROM tenantcore.tenant_keys WHERE organization_id = '00000000-0000-4000-8000-0000000000b1';

CREATE TABLE emails (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO emails
SELECT g AS id, 'user' || g || '.' || substr(md5(g::text), 1, 6) || '@example.com' AS email
  FROM generate_series(1, :rows) g;

-- the seed's functions, as written in seed 004 (passphrase from a GUC, default S2K)
CREATE SCHEMA seed;
CREATE FUNCTION seed.encrypt_pii(plaintext TEXT) RETURNS TEXT AS $$
BEGIN
    IF plaintext IS NULL OR plaintext = '' THEN
        RETURN NULL;
    END IF;
    RETURN encode(
        pgp_sym_encrypt(
            plaintext,
            current_setting('app.encryption_key'),
            'compress-algo=1, cipher-algo=aes256'
        ),
        'base64'
    );
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp;
CREATE FUNCTION seed.decrypt_pii(ciphertext TEXT) RETURNS TEXT AS $$
BEGIN
    IF ciphertext IS NULL OR ciphertext = '' THEN
        RETURN NULL;
    END IF;
    RETURN pgp_sym_decrypt(
        decode(ciphertext, 'base64'),
        current_setting('app.encryption_key')
    );
END;
$$ LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp;

-- lookup tables: same rows, same tenant
CREATE TABLE plain_people (id int, organization_id uuid NOT NULL, email text, PRIMARY KEY (organization_id, id));
INSERT INTO plain_people SELECT id, '00000000-0000-4000-8000-0000000000b1', email FROM emails;
CREATE INDEX ON plain_people (organization_id, email);
CREATE TABLE enc_people (LIKE plain_people INCLUDING ALL);
INSERT INTO enc_people SELECT * FROM plain_people;
SELECT tenantcore.protect('enc_people', 'email', searchable => true);
VACUUM ANALYZE emails, plain_people, enc_people;

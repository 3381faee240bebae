-- tenantcore 0.6.0 -> 0.7.0: security hardening and the signed tenant context
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.7.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: C entry points checked (protect trigger column types, relation 0,
-- internal trigger functions kept from PUBLIC)
-- ===========================================================================

-- (end of part 1)


-- ===========================================================================
-- Part 2: restore detection, invitations, role and database settings, lint
-- ===========================================================================

-- (end of part 2)


-- ===========================================================================
-- Part 3: signed tenant context (verified JWTs)
-- ===========================================================================

-- tenantcore.context_mode = 'signed' (a superuser sets it, usually with
-- ALTER ROLE app SET tenantcore.context_mode = 'signed') lets only this
-- function set the tenant and the actor: it verifies a signed JSON web token
-- with the keys of tenantcore.jwt_keys_file and sets both for the current
-- transaction (doc/security.md).  Harmless for everyone, so not revoked.
CREATE FUNCTION @extschema@.set_context_token(token text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_set_context_token'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_context_token(text) IS
    'verify a signed token (JWT: HS256, RS256, ES256, EdDSA) and set its tenant and actor for the transaction; returns the tenant';

-- (end of part 3)


-- ===========================================================================
-- Part 4: holes found by the adversarial suite
-- ===========================================================================

-- (end of part 4)


-- ===========================================================================
-- Part 5: first hour (seed_demo, schedule_retention, history, audit partitions)
-- ===========================================================================

-- (end of part 5)

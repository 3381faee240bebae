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

-- (end of part 3)


-- ===========================================================================
-- Part 4: holes found by the adversarial suite
-- ===========================================================================

-- (end of part 4)


-- ===========================================================================
-- Part 5: first hour (seed_demo, schedule_retention, history, audit partitions)
-- ===========================================================================

-- (end of part 5)

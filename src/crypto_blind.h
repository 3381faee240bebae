/*-------------------------------------------------------------------------
 *
 * crypto_blind.h
 *		Blind indexes of encrypted values: HMAC-SHA256 of the normalized
 *		value under a per-tenant, per-purpose key.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_BLIND_H
#define TC_CRYPTO_BLIND_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/uuid.h"

extern bytea *tc_blind_index(const pg_uuid_t *tenant, text *value, const char *purpose);

/* SQL-callable */
extern Datum tenantcore_blind_index(PG_FUNCTION_ARGS);

#endif							/* TC_CRYPTO_BLIND_H */

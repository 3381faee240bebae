/*-------------------------------------------------------------------------
 *
 * crypto_rotation.h
 *		Key rotation and crypto-shredding of the tenants' data keys, and
 *		rewrapping them with a new master key.  Only SQL-callable functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_ROTATION_H
#define TC_CRYPTO_ROTATION_H

#include "postgres.h"

#include "fmgr.h"

extern Datum tenantcore_rotate_tenant_key(PG_FUNCTION_ARGS);
extern Datum tenantcore_shred_tenant(PG_FUNCTION_ARGS);
extern Datum tenantcore_rewrap_tenant_keys(PG_FUNCTION_ARGS);
extern Datum tenantcore_master_key_id(PG_FUNCTION_ARGS);
extern Datum tenantcore_tenant_keys_changed(PG_FUNCTION_ARGS);

#endif							/* TC_CRYPTO_ROTATION_H */

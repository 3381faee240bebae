/*-------------------------------------------------------------------------
 *
 * crypto_protect.h
 *		Protected columns: the protect trigger and the helpers of
 *		tenantcore.protect() and tenantcore.reencrypt().  Only SQL-callable
 *		functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_PROTECT_H
#define TC_CRYPTO_PROTECT_H

#include "postgres.h"

#include "fmgr.h"

extern Datum tenantcore_protect_trigger(PG_FUNCTION_ARGS);
extern Datum tenantcore_protect_encrypt(PG_FUNCTION_ARGS);
extern Datum tenantcore_protect_blind_index(PG_FUNCTION_ARGS);
extern Datum tenantcore_reencrypt_value(PG_FUNCTION_ARGS);
extern Datum tenantcore_needs_reencrypt(PG_FUNCTION_ARGS);
extern Datum tenantcore_protect_install_trigger(PG_FUNCTION_ARGS);

#endif							/* TC_CRYPTO_PROTECT_H */

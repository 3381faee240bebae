/*-------------------------------------------------------------------------
 *
 * crypto_keystore.h
 *		The tenants' data keys in tenantcore.tenant_keys: read and created
 *		through SPI as the extension owner, wrapped and unwrapped with the
 *		master key, cached in the key cache.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_KEYSTORE_H
#define TC_CRYPTO_KEYSTORE_H

#include "postgres.h"

#include "utils/uuid.h"

#include "crypto_keycache.h"
#include "util.h"

/* SPI on tenant_keys as the extension owner (pinned search_path) */
extern void tc_keystore_begin(TcOwnerSpi *access);
extern void tc_keystore_end(TcOwnerSpi *access);
extern void tc_keystore_query(const char *sql, const pg_uuid_t *tenant, int32 version,
							  int nargs, int expected);

/* data keys */
extern bytea *tc_keystore_wrap(const pg_uuid_t *tenant, int32 version, const uint8 *key);
extern void tc_keystore_unwrap(const pg_uuid_t *tenant, int32 version, bytea *wrapped,
							   const char *wrapped_by, uint8 *key);
extern bool tc_keystore_insert_key(const pg_uuid_t *tenant, int32 version, uint8 *key);
extern void tc_keystore_report_shredded(const pg_uuid_t *tenant, int32 version) pg_attribute_noreturn();
extern KeyEntry *tc_keystore_fetch_extended(const pg_uuid_t *tenant, int32 version,
											bool create, bool missing_ok);
extern KeyEntry *tc_keystore_fetch(const pg_uuid_t *tenant, int32 version, bool create);

#endif							/* TC_CRYPTO_KEYSTORE_H */

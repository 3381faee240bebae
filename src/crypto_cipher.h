/*-------------------------------------------------------------------------
 *
 * crypto_cipher.h
 *		PII encryption and decryption with the tenants' data keys: the
 *		ciphertext format (a header naming key version and tenant, then an
 *		OpenPGP message) and encrypt_pii(), decrypt_pii(); decryptions are
 *		counted for tenantcore.audit_reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_CIPHER_H
#define TC_CRYPTO_CIPHER_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/uuid.h"

/* checks of the tenant a crypto function works for */
extern const pg_uuid_t *tc_crypto_require_tenant(const char *function);
extern const pg_uuid_t *tc_crypto_require_tenant_argument(FunctionCallInfo fcinfo, int argno,
														  const char *function);

extern bytea *tc_cipher_encrypt(const pg_uuid_t *tenant, text *plaintext);
extern text *tc_cipher_decrypt(const pg_uuid_t *tenant, bytea *ciphertext);
extern int32 tc_cipher_key_version(bytea *ciphertext, pg_uuid_t *tenant);

/* SQL-callable */
extern Datum tenantcore_encrypt_pii(PG_FUNCTION_ARGS);
extern Datum tenantcore_decrypt_pii(PG_FUNCTION_ARGS);
extern Datum tenantcore_encrypt_pii_for(PG_FUNCTION_ARGS);
extern Datum tenantcore_decrypt_pii_for(PG_FUNCTION_ARGS);
extern Datum tenantcore_decrypt_column(PG_FUNCTION_ARGS);
extern Datum tenantcore_key_version(PG_FUNCTION_ARGS);

#endif							/* TC_CRYPTO_CIPHER_H */

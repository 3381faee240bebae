/*-------------------------------------------------------------------------
 *
 * crypto_pgcrypto.h
 *		The pgcrypto functions that PII encryption calls, looked up by OID in
 *		the schema of the pgcrypto extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_PGCRYPTO_H
#define TC_CRYPTO_PGCRYPTO_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/uuid.h"

/* pgcrypto functions, looked up by OID once per backend */
typedef struct PgcryptoFuncs
{
	bool		valid;
	FmgrInfo	encrypt;		/* pgp_sym_encrypt(text, text, text) */
	FmgrInfo	decrypt;		/* pgp_sym_decrypt(bytea, text) */
	FmgrInfo	encrypt_bytea;	/* pgp_sym_encrypt_bytea(bytea, text, text) */
	FmgrInfo	decrypt_bytea;	/* pgp_sym_decrypt_bytea(bytea, text) */
}			PgcryptoFuncs;

extern PgcryptoFuncs tc_pgcrypto;

extern void tc_pgcrypto_init(void);
extern void tc_pgcrypto_resolve(void);
extern Datum tc_pgcrypto_call(FmgrInfo *flinfo, int nargs, Datum a, Datum b, Datum c,
							  const char *what, const pg_uuid_t *tenant);

#endif							/* TC_CRYPTO_PGCRYPTO_H */

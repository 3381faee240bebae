/*-------------------------------------------------------------------------
 *
 * crypto_cipher.c
 *		PII encryption and decryption with the tenants' data keys:
 *		encrypt_pii(), decrypt_pii() and their administrative variants.
 *
 * Ciphertext = header || OpenPGP message from pgcrypto's pgp_sym_encrypt()
 * (aes256, passphrase = data key in hexadecimal, salted S2K).  The header is
 * "TC" 0x01, the key version (4 bytes, big endian) and the tenant (16 bytes),
 * so old ciphertext still decrypts after rotation and ciphertext of another
 * tenant is recognised before any decryption is attempted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "port.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "audit_reads.h"
#include "context.h"
#include "crypto_cipher.h"
#include "crypto_keystore.h"
#include "crypto_pgcrypto.h"
#include "util.h"

#define HEADER_LEN		(3 + 4 + UUID_LEN)

/* options of every pgp_sym_encrypt() call: the keys are random, no stretching */
#define DATA_PGP_OPTIONS	"cipher-algo=aes256, compress-algo=0, s2k-mode=1"

PG_FUNCTION_INFO_V1(tenantcore_encrypt_pii);
PG_FUNCTION_INFO_V1(tenantcore_decrypt_pii);
PG_FUNCTION_INFO_V1(tenantcore_encrypt_pii_for);
PG_FUNCTION_INFO_V1(tenantcore_decrypt_pii_for);
PG_FUNCTION_INFO_V1(tenantcore_decrypt_column);
PG_FUNCTION_INFO_V1(tenantcore_key_version);

/*
 * tc_crypto_require_tenant returns the current tenant or raises an error.
 */
const pg_uuid_t *
tc_crypto_require_tenant(const char *function)
{
	const pg_uuid_t *tenant = tc_current_tenant();

	if (tenant == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s() needs a current tenant", function),
				 errhint("Call tenantcore.set_tenant() first.")));
	return tenant;
}

/*
 * tc_cipher_encrypt encrypts a text with the active key of a tenant and
 * prepends the header.
 */
bytea *
tc_cipher_encrypt(const pg_uuid_t *tenant, text *plaintext)
{
	KeyEntry   *entry = tc_keystore_fetch(tenant, 0, true);
	bytea	   *pgp;
	bytea	   *result;
	size_t		pgp_len;
	uint8	   *p;
	uint32		be;
	static text *options = NULL;

	if (options == NULL)
	{
		options = (text *) MemoryContextAlloc(TopMemoryContext, VARHDRSZ + strlen(DATA_PGP_OPTIONS));
		SET_VARSIZE(options, VARHDRSZ + strlen(DATA_PGP_OPTIONS));
		memcpy(VARDATA(options), DATA_PGP_OPTIONS, strlen(DATA_PGP_OPTIONS));
	}

	pgp = DatumGetByteaPP(FunctionCall3(&tc_pgcrypto.encrypt, PointerGetDatum(plaintext),
										PointerGetDatum(entry->passphrase),
										PointerGetDatum(options)));
	pgp_len = VARSIZE_ANY_EXHDR(pgp);
	result = (bytea *) palloc(VARHDRSZ + HEADER_LEN + pgp_len);
	SET_VARSIZE(result, VARHDRSZ + HEADER_LEN + pgp_len);
	p = (uint8 *) VARDATA(result);
	p[0] = 'T';
	p[1] = 'C';
	p[2] = 1;
	be = pg_hton32((uint32) entry->version);
	memcpy(p + 3, &be, 4);
	memcpy(p + 7, tenant->data, UUID_LEN);
	memcpy(p + HEADER_LEN, VARDATA_ANY(pgp), pgp_len);
	pfree(pgp);
	return result;
}

/*
 * tc_cipher_key_version checks the header of a ciphertext and returns its key
 * version and tenant; a value that is not tenantcore ciphertext is an error.
 */
int32
tc_cipher_key_version(bytea *ciphertext, pg_uuid_t *tenant)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(ciphertext);
	uint32		be;
	int32		version;

	if (VARSIZE_ANY_EXHDR(ciphertext) <= HEADER_LEN || p[0] != 'T' || p[1] != 'C' || p[2] != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value is not tenantcore ciphertext"),
				 errdetail("Ciphertext starts with a tenantcore header; this value does not.")));
	memcpy(&be, p + 3, 4);
	version = (int32) pg_ntoh32(be);
	if (version <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ciphertext is corrupt"),
				 errdetail("Its header names key version %d.", version)));
	if (tenant != NULL)
		memcpy(tenant->data, p + 7, UUID_LEN);
	return version;
}

/*
 * tc_cipher_decrypt decrypts ciphertext that must belong to the tenant.
 */
text *
tc_cipher_decrypt(const pg_uuid_t *tenant, bytea *ciphertext)
{
	pg_uuid_t	owner;
	int32		version = tc_cipher_key_version(ciphertext, &owner);
	KeyEntry   *entry;
	bytea	   *body;
	size_t		body_len;

	if (memcmp(owner.data, tenant->data, UUID_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("ciphertext belongs to another tenant"),
				 errdetail("It was not encrypted for tenant %s.", tc_uuid_cstring(tenant))));

	entry = tc_keystore_fetch(tenant, version, false);
	body_len = VARSIZE_ANY_EXHDR(ciphertext) - HEADER_LEN;
	body = (bytea *) palloc(VARHDRSZ + body_len);
	SET_VARSIZE(body, VARHDRSZ + body_len);
	memcpy(VARDATA(body), (const char *) VARDATA_ANY(ciphertext) + HEADER_LEN, body_len);
	return DatumGetTextPP(tc_pgcrypto_call(&tc_pgcrypto.decrypt, 2, PointerGetDatum(body),
									   PointerGetDatum(entry->passphrase), (Datum) 0,
									   "ciphertext is corrupt or was not encrypted with this tenant's key",
									   tenant));
}

/*
 * tenantcore_encrypt_pii(text) encrypts for the current tenant.
 */
Datum
tenantcore_encrypt_pii(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_crypto_require_tenant("encrypt_pii");

	PG_RETURN_BYTEA_P(tc_cipher_encrypt(tenant, PG_GETARG_TEXT_PP(0)));
}

/*
 * tenantcore_decrypt_pii(bytea) decrypts ciphertext of the current tenant.
 */
Datum
tenantcore_decrypt_pii(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_crypto_require_tenant("decrypt_pii");
	text	   *plaintext = tc_cipher_decrypt(tenant, PG_GETARG_BYTEA_PP(0));

	tc_audit_reads_count(tenant, InvalidOid, InvalidAttrNumber);
	PG_RETURN_TEXT_P(plaintext);
}

/*
 * tenantcore_decrypt_column(bytea, regclass, smallint) decrypts ciphertext
 * of the current tenant read from a protected column (the table and the
 * column's number): what the <table>_decrypted views call, so that
 * tenantcore.audit_reads records the table and column.
 */
Datum
tenantcore_decrypt_column(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant;
	text	   *plaintext;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tenant = tc_crypto_require_tenant("decrypt_pii");
	plaintext = tc_cipher_decrypt(tenant, PG_GETARG_BYTEA_PP(0));
	tc_audit_reads_count(tenant, PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1),
						 PG_ARGISNULL(2) ? InvalidAttrNumber : PG_GETARG_INT16(2));
	PG_RETURN_TEXT_P(plaintext);
}

/*
 * tc_crypto_require_tenant_argument returns argument argno, a tenant that must
 * not be NULL.
 */
const pg_uuid_t *
tc_crypto_require_tenant_argument(FunctionCallInfo fcinfo, int argno, const char *function)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s() requires a non-null tenant", function)));
	return PG_GETARG_UUID_P(argno);
}

/*
 * tenantcore_encrypt_pii_for(text, uuid) encrypts for a given tenant
 * (administrative; not granted to PUBLIC).
 */
Datum
tenantcore_encrypt_pii_for(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_crypto_require_tenant_argument(fcinfo, 1, "encrypt_pii");

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(tc_cipher_encrypt(tenant, PG_GETARG_TEXT_PP(0)));
}

/*
 * tenantcore_decrypt_pii_for(bytea, uuid) decrypts ciphertext of a given
 * tenant (administrative; not granted to PUBLIC).
 */
Datum
tenantcore_decrypt_pii_for(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_crypto_require_tenant_argument(fcinfo, 1, "decrypt_pii");
	text	   *plaintext;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	plaintext = tc_cipher_decrypt(tenant, PG_GETARG_BYTEA_PP(0));
	tc_audit_reads_count(tenant, InvalidOid, InvalidAttrNumber);
	PG_RETURN_TEXT_P(plaintext);
}

/*
 * tenantcore_key_version(bytea) returns the key version named by the header
 * of a ciphertext.
 */
Datum
tenantcore_key_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(tc_cipher_key_version(PG_GETARG_BYTEA_PP(0), NULL));
}

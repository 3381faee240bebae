/*-------------------------------------------------------------------------
 *
 * crypto_blind.c
 *		Blind indexes of encrypted values: blind_index(value, purpose).
 *
 * A blind index is HMAC-SHA256 of the normalized value (NFC, trimmed, lower
 * case) under a key derived per tenant and purpose from the tenant's first
 * data key, so it is stable across key rotations and equal values of one
 * tenant can be found with an index without decrypting anything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "crypto_blind.h"
#include "crypto_cipher.h"
#include "crypto_keycache.h"
#include "crypto_keystore.h"
#include "util.h"

PG_FUNCTION_INFO_V1(tenantcore_blind_index);

/*
 * Hmac256 computes HMAC-SHA256(key, data || data2) into out.
 */
static void
Hmac256(const uint8 *key, size_t key_len, const uint8 *data, size_t len,
		const uint8 *data2, size_t len2, uint8 *out)
{
	TcBytes		parts[2] = {{data, len}, {data2, len2}};

	if (!tc_hmac_sha256(key, key_len, parts, data2 != NULL ? 2 : 1, out))
		elog(ERROR, "could not compute HMAC-SHA256");
}

/*
 * BlindKey returns the blind index key of a tenant for a purpose: HMAC of
 * the tenant's first data key (stable across rotations) over a label.
 */
static const uint8 *
BlindKey(const pg_uuid_t *tenant, const char *purpose)
{
	static const char label[] = "tenantcore blind index\n";
	const uint8 *cached = tc_keycache_blind_key(tenant, purpose);
	KeyEntry   *entry;
	uint8		key[TC_SHA256_LEN];

	if (cached != NULL)
		return cached;

	/* make sure a first key exists, then use version 1 */
	if (tc_keycache_lookup(tenant, 1) == NULL && tc_keycache_lookup(tenant, 0) == NULL)
		(void) tc_keystore_fetch(tenant, 0, true);
	entry = tc_keystore_fetch(tenant, 1, false);

	Hmac256(entry->key, KEY_LEN, (const uint8 *) label, strlen(label),
			(const uint8 *) purpose, strlen(purpose), key);
	cached = tc_keycache_set_blind_key(tenant, purpose, key);
	explicit_bzero(key, sizeof(key));
	return cached;
}

/*
 * IsAscii tells whether len bytes are all ASCII.
 */
static bool
IsAscii(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
		if (IS_HIGHBIT_SET(s[i]))
			return false;
	return true;
}

/*
 * NormalizeForIndex returns NFC(value) (UTF8 databases), trimmed of
 * leading and trailing white space, in lower case (default collation).
 */
static text *
NormalizeForIndex(text *value)
{
	Datum		d = PointerGetDatum(value);
	char	   *s;
	size_t		len;
	size_t		start = 0;

	/* ASCII is NFC already: skip the (costly) normalization for it */
	if (GetDatabaseEncoding() == PG_UTF8 &&
		!IsAscii(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)))
		d = DirectFunctionCall2(unicode_normalize_func, d, CStringGetTextDatum("NFC"));
	s = VARDATA_ANY(DatumGetTextPP(d));
	len = VARSIZE_ANY_EXHDR(DatumGetTextPP(d));
	while (start < len && isspace((unsigned char) s[start]))
		start++;
	while (len > start && isspace((unsigned char) s[len - 1]))
		len--;
	d = PointerGetDatum(cstring_to_text_with_len(s + start, len - start));
	return DatumGetTextPP(DirectFunctionCall1Coll(lower, DEFAULT_COLLATION_OID, d));
}

/*
 * tc_blind_index computes the blind index of a value for a tenant.
 */
bytea *
tc_blind_index(const pg_uuid_t *tenant, text *value, const char *purpose)
{
	const uint8 *key = BlindKey(tenant, purpose);
	text	   *norm = NormalizeForIndex(value);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + TC_SHA256_LEN);

	SET_VARSIZE(result, VARHDRSZ + TC_SHA256_LEN);
	Hmac256(key, TC_SHA256_LEN, (const uint8 *) VARDATA_ANY(norm),
			VARSIZE_ANY_EXHDR(norm), NULL, 0, (uint8 *) VARDATA(result));
	return result;
}

/*
 * tenantcore_blind_index(text, purpose text) returns the blind index of a
 * value for the current tenant.
 */
Datum
tenantcore_blind_index(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_crypto_require_tenant("blind_index");

	PG_RETURN_BYTEA_P(tc_blind_index(tenant, PG_GETARG_TEXT_PP(0),
										  text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

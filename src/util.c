/*-------------------------------------------------------------------------
 *
 * util.c
 *		Small helpers shared by the parts of tenantcore (see util.h).
 *
 * SHA-256 goes through OpenSSL with the digest fetched and the context made
 * once per backend (an implicit fetch on every call costs more than hashing
 * a short input); HMAC-SHA256 goes through PostgreSQL's pg_hmac, which with
 * an OpenSSL build needs a resource owner, so only a transaction may use it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "common/hmac.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "util.h"

/* ------------------------------------------------------------------------
 * uuids
 * ------------------------------------------------------------------------
 */

/*
 * tc_hex_value returns the value of a hexadecimal digit, or -1.
 */
int
tc_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * tc_parse_uuid parses a uuid in any of the forms the uuid type accepts (32
 * hex digits, optionally in braces, with a hyphen allowed after any group of
 * four digits) without raising an error.  Returns false if str is not a uuid.
 */
bool
tc_parse_uuid(const char *str, pg_uuid_t *uuid)
{
	const char *p = str;
	bool		braces = false;
	int			i;

	if (*p == '{')
	{
		braces = true;
		p++;
	}

	for (i = 0; i < UUID_LEN; i++)
	{
		int			hi = tc_hex_value(p[0]);
		int			lo = (hi < 0) ? -1 : tc_hex_value(p[1]);

		if (hi < 0 || lo < 0)
			return false;
		uuid->data[i] = (unsigned char) (hi * 16 + lo);
		p += 2;
		if (*p == '-' && i % 2 == 1 && i < UUID_LEN - 1)
			p++;
	}

	if (braces)
	{
		if (*p != '}')
			return false;
		p++;
	}
	return *p == '\0';
}

/*
 * tc_uuid_datum returns a palloc'd copy of a uuid as a Datum.
 */
Datum
tc_uuid_datum(const pg_uuid_t *uuid)
{
	pg_uuid_t  *copy = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));

	*copy = *uuid;
	return UUIDPGetDatum(copy);
}

/*
 * tc_uuid_is_nil tells whether a uuid is the nil uuid (all zeros), which is
 * never a tenant: on a Citus cluster the audit entries without a tenant are
 * kept under it.
 */
bool
tc_uuid_is_nil(const pg_uuid_t *uuid)
{
	for (int i = 0; i < UUID_LEN; i++)
		if (uuid->data[i] != 0)
			return false;
	return true;
}

/*
 * tc_uuid_cstring formats a uuid as the uuid type prints it (for messages
 * and settings).
 */
char *
tc_uuid_cstring(const pg_uuid_t *uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, tc_uuid_datum(uuid)));
}

/* ------------------------------------------------------------------------
 * Catalog
 * ------------------------------------------------------------------------
 */

/*
 * tc_extension_schema_and_owner returns the schema and owner of an installed
 * extension, or false if it is not installed.
 */
bool
tc_extension_schema_and_owner(const char *extname, Oid *schema, Oid *owner)
{
	Oid			extoid = get_extension_oid(extname, true);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(extoid))
		return false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_extension form = (Form_pg_extension) GETSTRUCT(tuple);

		*schema = form->extnamespace;
		*owner = form->extowner;
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * tc_tenantcore_schema_and_owner returns the schema and owner of tenantcore
 * in this database; an error if it is not installed.
 */
void
tc_tenantcore_schema_and_owner(Oid *schema, Oid *owner)
{
	if (!tc_extension_schema_and_owner("tenantcore", schema, owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"tenantcore\" is not installed in this database")));
}

/*
 * tc_qualified_relation_name returns "schema"."table" quoted like
 * format('%I.%I').
 */
char *
tc_qualified_relation_name(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));

	if (relname == NULL || nspname == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(nspname, relname);
}

/* ------------------------------------------------------------------------
 * SPI as the extension owner
 * ------------------------------------------------------------------------
 */

/*
 * tc_spi_begin_as_owner connects SPI and switches to owner (the extension
 * owner) with search_path = pg_catalog, pg_temp, like a SECURITY DEFINER
 * function: the caller needs no privileges on the extension's tables.
 */
void
tc_spi_begin_as_owner(Oid owner, TcOwnerSpi *save)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&save->save_userid, &save->save_sec_context);
	SetUserIdAndSecContext(owner,
						   save->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/*
 * tc_spi_end_as_owner undoes tc_spi_begin_as_owner.
 */
void
tc_spi_end_as_owner(TcOwnerSpi *save)
{
	AtEOXact_GUC(true, save->save_nestlevel);
	SetUserIdAndSecContext(save->save_userid, save->save_sec_context);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/* ------------------------------------------------------------------------
 * Digests
 * ------------------------------------------------------------------------
 */

/* SHA-256, fetched once: an implicit fetch by EVP_sha256() costs more than the hash */
static EVP_MD *sha256_md = NULL;
static EVP_MD_CTX *sha256_ctx = NULL;

/*
 * tc_sha256_begin starts a SHA-256 digest, tc_sha256_update adds data to
 * it and tc_sha256_end writes it (TC_SHA256_LEN bytes).  One digest at a
 * time; each returns false if OpenSSL fails.
 */
bool
tc_sha256_begin(void)
{
	if (sha256_md == NULL)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_ctx == NULL)
		sha256_ctx = EVP_MD_CTX_new();
	return sha256_md != NULL && sha256_ctx != NULL &&
		EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) == 1;
}

bool
tc_sha256_update(const void *data, size_t len)
{
	return EVP_DigestUpdate(sha256_ctx, data, len) == 1;
}

bool
tc_sha256_end(uint8 *digest)
{
	unsigned int len = 0;

	return EVP_DigestFinal_ex(sha256_ctx, digest, &len) == 1 && len == TC_SHA256_LEN;
}

/*
 * tc_sha256 computes the SHA-256 digest of the parts, one after the other,
 * into digest (TC_SHA256_LEN bytes).  Returns false if OpenSSL fails.
 */
bool
tc_sha256(const TcBytes *parts, int nparts, uint8 *digest)
{
	bool		ok = tc_sha256_begin();

	for (int i = 0; ok && i < nparts; i++)
		ok = tc_sha256_update(parts[i].data, parts[i].len);
	return ok && tc_sha256_end(digest);
}

/*
 * tc_hmac_sha256 computes HMAC-SHA256(key, parts) into mac (TC_SHA256_LEN
 * bytes).  Returns false on failure.
 */
bool
tc_hmac_sha256(const uint8 *key, size_t key_len, const TcBytes *parts, int nparts,
			   uint8 *mac)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	bool		ok;

	if (ctx == NULL)
		return false;
	ok = pg_hmac_init(ctx, key, key_len) >= 0;
	for (int i = 0; ok && i < nparts; i++)
		ok = pg_hmac_update(ctx, (const uint8 *) parts[i].data, parts[i].len) >= 0;
	ok = ok && pg_hmac_final(ctx, mac, TC_SHA256_LEN) >= 0;
	pg_hmac_free(ctx);
	return ok;
}

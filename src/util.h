/*-------------------------------------------------------------------------
 *
 * util.h
 *		Small helpers shared by the parts of tenantcore: version
 *		compatibility, uuids, catalog lookups of an extension, SPI as the
 *		extension owner, SHA-256 and HMAC-SHA256.  Depends on no other part.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_UTIL_H
#define TC_UTIL_H

#include "postgres.h"

#include "utils/uuid.h"

/* MarkGUCPrefixReserved() appeared in PostgreSQL 15 */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(x) EmitWarningsOnPlaceholders(x)
#endif

/* GUC "extra" data must come from guc_malloc() since PostgreSQL 16 */
#if PG_VERSION_NUM >= 160000
#define TcGucMalloc(size) guc_malloc(LOG, (size))
#else
#define TcGucMalloc(size) malloc(size)
#endif

/* the local transaction id moved into MyProc->vxid in PostgreSQL 17 (storage/proc.h) */
#if PG_VERSION_NUM >= 170000
#define TcMyLocalTransactionId() (MyProc->vxid.lxid)
#else
#define TcMyLocalTransactionId() (MyProc->lxid)
#endif

#define TC_SHA256_LEN	32

/* one piece of the data a digest or MAC is computed over */
typedef struct TcBytes
{
	const void *data;
	size_t		len;
} TcBytes;

/* what tc_spi_begin_as_owner() saved, for tc_spi_end_as_owner() */
typedef struct TcOwnerSpi
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} TcOwnerSpi;

/* uuids */
extern int	tc_hex_value(char c);
extern bool tc_parse_uuid(const char *str, pg_uuid_t *uuid);
extern Datum tc_uuid_datum(const pg_uuid_t *uuid);
extern bool tc_uuid_is_nil(const pg_uuid_t *uuid);
extern char *tc_uuid_cstring(const pg_uuid_t *uuid);

/* catalog */
extern bool tc_extension_schema_and_owner(const char *extname, Oid *schema, Oid *owner);
extern void tc_tenantcore_schema_and_owner(Oid *schema, Oid *owner);
extern char *tc_qualified_relation_name(Oid relid);

/* SPI as the extension owner with a pinned search_path */
extern void tc_spi_begin_as_owner(Oid owner, TcOwnerSpi *save);
extern void tc_spi_end_as_owner(TcOwnerSpi *save);

/* digests: false on failure, the caller reports it */
extern bool tc_sha256(const TcBytes *parts, int nparts, uint8 *digest);
extern bool tc_sha256_begin(void);
extern bool tc_sha256_update(const void *data, size_t len);
extern bool tc_sha256_end(uint8 *digest);
extern bool tc_hmac_sha256(const uint8 *key, size_t key_len,
						   const TcBytes *parts, int nparts, uint8 *mac);

#endif							/* TC_UTIL_H */

/*-------------------------------------------------------------------------
 *
 * crypto_keycache.h
 *		The per-backend cache of unwrapped tenant data keys (and of the last
 *		blind index key), wiped whenever the keys or the master key change.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_KEYCACHE_H
#define TC_CRYPTO_KEYCACHE_H

#include "postgres.h"

#include "utils/uuid.h"

#include "util.h"

#define KEY_LEN			32		/* data keys: 256 bits */
#define KEY_HEX_LEN		(2 * KEY_LEN)

/* cached unwrapped keys */
typedef struct KeyTag
{
	pg_uuid_t	tenant;
	int32		version;		/* 0: the entry of the active version */
}			KeyTag;

typedef struct KeyEntry
{
	KeyTag		tag;			/* hash key, must be first */
	int32		version;		/* the real version (for tag.version 0) */
	uint8		key[KEY_LEN];
	text	   *passphrase;		/* key in hexadecimal, as a text datum */
}			KeyEntry;

/*
 * Catalog facts about tenantcore that the cached keys were read with,
 * resolved once per backend by crypto_keystore.c and forgotten with the
 * cache (has_key_id is false until ALTER EXTENSION UPDATE to 0.5.0).
 */
typedef struct TcKeyCatalog
{
	Oid			tenant_keys_relid;
	Oid			extension_owner;
	bool		has_key_id;
}			TcKeyCatalog;

extern TcKeyCatalog tc_key_catalog;

extern void tc_keycache_init(void);
extern void tc_keycache_wipe(void);
extern void tc_keycache_key_created(void);
extern KeyEntry *tc_keycache_store(const pg_uuid_t *tenant, int32 tag_version,
								   int32 version, uint8 *key);
extern KeyEntry *tc_keycache_lookup(const pg_uuid_t *tenant, int32 tag_version);
extern const uint8 *tc_keycache_blind_key(const pg_uuid_t *tenant, const char *purpose);
extern const uint8 *tc_keycache_set_blind_key(const pg_uuid_t *tenant, const char *purpose,
											  const uint8 *key);

#endif							/* TC_CRYPTO_KEYCACHE_H */

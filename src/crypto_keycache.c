/*-------------------------------------------------------------------------
 *
 * crypto_keycache.c
 *		The per-backend cache of unwrapped tenant data keys.
 *
 * Unwrapped keys are cached per backend in a child of TopMemoryContext and
 * wiped when the cache is dropped: after any UPDATE, DELETE or TRUNCATE of
 * tenantcore.tenant_keys (a statement trigger sends a relcache
 * invalidation), after a (sub)transaction that created a key aborts, and
 * when the master key settings change.  The cache also keeps the blind index
 * key of the last (tenant, purpose) used and the catalog facts the keys were
 * read with (filled in by crypto_keystore.c), which go with it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "crypto_keycache.h"

TcKeyCatalog tc_key_catalog = {InvalidOid, InvalidOid, false};

static MemoryContext KeyCacheContext = NULL;
static HTAB *key_cache = NULL;
static bool key_created_in_xact = false;

/* blind index key of the last (tenant, purpose) used */
static bool blind_valid = false;
static pg_uuid_t blind_tenant;
static char *blind_purpose = NULL;
static uint8 blind_key[TC_SHA256_LEN];

/*
 * tc_keycache_wipe overwrites every cached key and drops the cache, together
 * with the catalog facts it was built from (crypto_masterkey.c calls it when
 * a master key setting changes).
 */
void
tc_keycache_wipe(void)
{
	if (key_cache != NULL)
	{
		HASH_SEQ_STATUS status;
		KeyEntry   *entry;

		hash_seq_init(&status, key_cache);
		while ((entry = (KeyEntry *) hash_seq_search(&status)) != NULL)
		{
			explicit_bzero(entry->key, KEY_LEN);
			if (entry->passphrase != NULL)
				explicit_bzero(entry->passphrase, VARSIZE(entry->passphrase));
		}
		key_cache = NULL;
	}
	if (KeyCacheContext != NULL)
		MemoryContextReset(KeyCacheContext);
	explicit_bzero(blind_key, sizeof(blind_key));
	blind_valid = false;
	blind_purpose = NULL;
	tc_key_catalog.tenant_keys_relid = InvalidOid;
	tc_key_catalog.extension_owner = InvalidOid;
}

/*
 * KeyCacheRelcacheCallback drops the cache when tenant_keys changes (or all
 * relcache entries are reset).
 */
static void
KeyCacheRelcacheCallback(Datum arg, Oid relid)
{
	if (key_cache == NULL && tc_key_catalog.tenant_keys_relid == InvalidOid)
		return;
	if (relid == InvalidOid || relid == tc_key_catalog.tenant_keys_relid)
		tc_keycache_wipe();
}

/*
 * KeyCacheXactCallback drops the cache when a transaction that created a key
 * aborts (the key row is gone) or is prepared (it may still abort).
 */
static void
KeyCacheXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			if (key_created_in_xact)
				tc_keycache_wipe();
			key_created_in_xact = false;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			key_created_in_xact = false;
			break;
		default:
			break;
	}
}

/*
 * KeyCacheSubXactCallback drops the cache when a subtransaction aborts in a
 * transaction that created a key: the key may have been created inside it.
 */
static void
KeyCacheSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && key_created_in_xact)
		tc_keycache_wipe();
}

/*
 * tc_keycache_init registers the cache callbacks.
 */
void
tc_keycache_init(void)
{
	CacheRegisterRelcacheCallback(KeyCacheRelcacheCallback, (Datum) 0);
	RegisterXactCallback(KeyCacheXactCallback, NULL);
	RegisterSubXactCallback(KeyCacheSubXactCallback, NULL);
}

/*
 * tc_keycache_key_created notes that this transaction created a data key, so
 * the cache is dropped if it aborts.
 */
void
tc_keycache_key_created(void)
{
	key_created_in_xact = true;
}

/*
 * tc_keycache_store stores an unwrapped key under (tenant, tag_version).
 */
KeyEntry *
tc_keycache_store(const pg_uuid_t *tenant, int32 tag_version, int32 version, uint8 *key)
{
	KeyTag		tag;
	KeyEntry   *entry;
	bool		found;

	if (KeyCacheContext == NULL)
		KeyCacheContext = AllocSetContextCreate(TopMemoryContext,
												"tenantcore key cache",
												ALLOCSET_SMALL_SIZES);
	if (key_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(KeyTag);
		ctl.entrysize = sizeof(KeyEntry);
		ctl.hcxt = KeyCacheContext;
		key_cache = hash_create("tenantcore keys", 64, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	memset(&tag, 0, sizeof(tag));
	tag.tenant = *tenant;
	tag.version = tag_version;
	entry = (KeyEntry *) hash_search(key_cache, &tag, HASH_ENTER, &found);
	if (found && entry->passphrase != NULL)
	{
		explicit_bzero(entry->passphrase, VARSIZE(entry->passphrase));
		pfree(entry->passphrase);
	}
	entry->version = version;
	memcpy(entry->key, key, KEY_LEN);
	entry->passphrase = (text *) MemoryContextAlloc(KeyCacheContext, VARHDRSZ + KEY_HEX_LEN);
	SET_VARSIZE(entry->passphrase, VARHDRSZ + KEY_HEX_LEN);
	hex_encode((const char *) entry->key, KEY_LEN, VARDATA(entry->passphrase));
	return entry;
}

/*
 * tc_keycache_lookup returns the cached entry of (tenant, tag_version) or
 * NULL.
 */
KeyEntry *
tc_keycache_lookup(const pg_uuid_t *tenant, int32 tag_version)
{
	KeyTag		tag;

	if (key_cache == NULL)
		return NULL;
	memset(&tag, 0, sizeof(tag));
	tag.tenant = *tenant;
	tag.version = tag_version;
	return (KeyEntry *) hash_search(key_cache, &tag, HASH_FIND, NULL);
}

/*
 * tc_keycache_blind_key returns the cached blind index key of (tenant,
 * purpose), or NULL.
 */
const uint8 *
tc_keycache_blind_key(const pg_uuid_t *tenant, const char *purpose)
{
	if (blind_valid && memcmp(blind_tenant.data, tenant->data, UUID_LEN) == 0 &&
		strcmp(blind_purpose, purpose) == 0)
		return blind_key;
	return NULL;
}

/*
 * tc_keycache_set_blind_key caches the blind index key of (tenant, purpose)
 * and returns the cached copy.
 */
const uint8 *
tc_keycache_set_blind_key(const pg_uuid_t *tenant, const char *purpose, const uint8 *key)
{
	blind_valid = false;
	if (KeyCacheContext == NULL)
		KeyCacheContext = AllocSetContextCreate(TopMemoryContext,
												"tenantcore key cache",
												ALLOCSET_SMALL_SIZES);
	memcpy(blind_key, key, TC_SHA256_LEN);
	blind_tenant = *tenant;
	blind_purpose = MemoryContextStrdup(KeyCacheContext, purpose);
	blind_valid = true;
	return blind_key;
}

/*-------------------------------------------------------------------------
 *
 * crypto.c
 *		PII encryption: master key, per-tenant data keys, OpenPGP ciphertext,
 *		blind indexes, rotation and crypto-shredding.
 *
 * Key hierarchy
 *   - The master key (256 bits) comes from server configuration that only
 *     superusers control (masterkey.c).
 *   - Every tenant has random 256-bit data keys, numbered by version, stored
 *     in tenantcore.tenant_keys wrapped by the master key (an OpenPGP message
 *     whose passphrase is the master key in hexadecimal) together with the id
 *     of the master key that wrapped it; during a master key rotation, keys
 *     wrapped by the previous master key are unwrapped with it until
 *     tenantcore.rewrap_tenant_keys() wraps them with the current one.  The first key is
 *     created on first use.  Application roles have no access to the table:
 *     it is read through SPI as the extension owner with a pinned search_path.
 *   - Unwrapped keys are cached per backend in a child of TopMemoryContext
 *     and wiped when the cache is dropped: after any UPDATE, DELETE or
 *     TRUNCATE of tenant_keys (a statement trigger sends a relcache
 *     invalidation), after a (sub)transaction that created a key aborts, and
 *     when the master key settings change.
 *
 * Ciphertext = header || OpenPGP message from pgcrypto's pgp_sym_encrypt()
 * (aes256, passphrase = data key in hexadecimal, salted S2K).  The header is
 * "TC" 0x01, the key version (4 bytes, big endian) and the tenant (16 bytes),
 * so old ciphertext still decrypts after rotation and ciphertext of another
 * tenant is recognised before any decryption is attempted.
 *
 * pgcrypto's functions are resolved by OID in the schema of the pgcrypto
 * extension, never through the caller's search_path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "port.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "tenantcore.h"

/* pg_class_ownercheck() became object_ownercheck() in PostgreSQL 16 */
#if PG_VERSION_NUM >= 160000
#define TcRelOwnerCheck(relid, roleid) object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define TcRelOwnerCheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

#define KEY_LEN			32		/* data keys: 256 bits */
#define KEY_HEX_LEN		(2 * KEY_LEN)
#define HEADER_LEN		(3 + 4 + UUID_LEN)
#define WRAP_MAGIC		"tcdk"
#define WRAP_LEN		(4 + UUID_LEN + 4 + KEY_LEN)

/* options of every pgp_sym_encrypt() call: the keys are random, no stretching */
#define DATA_PGP_OPTIONS	"cipher-algo=aes256, compress-algo=0, s2k-mode=1"
#define WRAP_PGP_OPTIONS	"cipher-algo=aes256, compress-algo=0, s2k-mode=1"

/* pgcrypto functions, looked up by OID once per backend */
typedef struct PgcryptoFuncs
{
	bool		valid;
	FmgrInfo	encrypt;		/* pgp_sym_encrypt(text, text, text) */
	FmgrInfo	decrypt;		/* pgp_sym_decrypt(bytea, text) */
	FmgrInfo	encrypt_bytea;	/* pgp_sym_encrypt_bytea(bytea, text, text) */
	FmgrInfo	decrypt_bytea;	/* pgp_sym_decrypt_bytea(bytea, text) */
}			PgcryptoFuncs;

static PgcryptoFuncs pgcrypto;
static MemoryContext PgcryptoContext = NULL;

/* catalog facts about tenantcore, resolved once per backend */
static Oid	tenant_keys_relid = InvalidOid;
static Oid	extension_owner = InvalidOid;
static bool tenant_keys_has_key_id = false; /* false until ALTER EXTENSION UPDATE to 0.5.0 */

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

static MemoryContext KeyCacheContext = NULL;
static HTAB *key_cache = NULL;
static bool key_created_in_xact = false;

/* blind index key of the last (tenant, purpose) used */
static bool blind_valid = false;
static pg_uuid_t blind_tenant;
static char *blind_purpose = NULL;
static uint8 blind_key[PG_SHA256_DIGEST_LENGTH];

PG_FUNCTION_INFO_V1(tenantcore_encrypt_pii);
PG_FUNCTION_INFO_V1(tenantcore_decrypt_pii);
PG_FUNCTION_INFO_V1(tenantcore_encrypt_pii_for);
PG_FUNCTION_INFO_V1(tenantcore_decrypt_pii_for);
PG_FUNCTION_INFO_V1(tenantcore_decrypt_column);
PG_FUNCTION_INFO_V1(tenantcore_blind_index);
PG_FUNCTION_INFO_V1(tenantcore_key_version);
PG_FUNCTION_INFO_V1(tenantcore_rotate_tenant_key);
PG_FUNCTION_INFO_V1(tenantcore_shred_tenant);
PG_FUNCTION_INFO_V1(tenantcore_rewrap_tenant_keys);
PG_FUNCTION_INFO_V1(tenantcore_master_key_id);
PG_FUNCTION_INFO_V1(tenantcore_tenant_keys_changed);
PG_FUNCTION_INFO_V1(tenantcore_protect_trigger);
PG_FUNCTION_INFO_V1(tenantcore_protect_encrypt);
PG_FUNCTION_INFO_V1(tenantcore_protect_blind_index);
PG_FUNCTION_INFO_V1(tenantcore_reencrypt_value);
PG_FUNCTION_INFO_V1(tenantcore_needs_reencrypt);
PG_FUNCTION_INFO_V1(tenantcore_protect_install_trigger);

/*
 * WipeText overwrites and frees a text or bytea that held key material.
 */
static void
WipeText(text *t)
{
	explicit_bzero(t, VARSIZE(t));
	pfree(t);
}

/* ------------------------------------------------------------------------
 * Key cache
 * ------------------------------------------------------------------------
 */

/*
 * WipeKeyCache overwrites every cached key and drops the cache, together with
 * the catalog facts it was built from.
 */
static void
WipeKeyCache(void)
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
	tenant_keys_relid = InvalidOid;
	extension_owner = InvalidOid;
}

/*
 * KeyCacheRelcacheCallback drops the cache when tenant_keys changes (or all
 * relcache entries are reset).
 */
static void
KeyCacheRelcacheCallback(Datum arg, Oid relid)
{
	if (key_cache == NULL && tenant_keys_relid == InvalidOid)
		return;
	if (relid == InvalidOid || relid == tenant_keys_relid)
		WipeKeyCache();
}

/*
 * PgcryptoSyscacheCallback forgets the pgcrypto functions when pg_proc
 * changes (pgcrypto dropped and created again gets new OIDs).
 */
static void
PgcryptoSyscacheCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	pgcrypto.valid = false;
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
				WipeKeyCache();
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
		WipeKeyCache();
}

/*
 * CryptoForgetKeys wipes every cached data key (masterkey.c calls it when a
 * master key setting changes).
 */
void
CryptoForgetKeys(void)
{
	WipeKeyCache();
}

/*
 * CryptoInit registers the cache callbacks.
 */
void
CryptoInit(void)
{
	CacheRegisterRelcacheCallback(KeyCacheRelcacheCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, PgcryptoSyscacheCallback, (Datum) 0);
	RegisterXactCallback(KeyCacheXactCallback, NULL);
	RegisterSubXactCallback(KeyCacheSubXactCallback, NULL);
}

/* ------------------------------------------------------------------------
 * Catalog lookups
 * ------------------------------------------------------------------------
 */

/*
 * ExtensionSchemaAndOwner returns the schema and owner of an installed
 * extension, or false if it is not installed.
 */
static bool
ExtensionSchemaAndOwner(const char *extname, Oid *schema, Oid *owner)
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
 * LookupPgcryptoFunc finds schema.name(argtypes) and fills flinfo.
 */
static void
LookupPgcryptoFunc(const char *schema, const char *name, int nargs,
				   Oid *argtypes, FmgrInfo *flinfo)
{
	List	   *qualified = list_make2(makeString(pstrdup(schema)), makeString(pstrdup(name)));
	Oid			funcoid = LookupFuncName(qualified, nargs, argtypes, true);

	if (!OidIsValid(funcoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %s.%s of pgcrypto does not exist", schema, name),
				 errhint("Reinstall pgcrypto: ALTER EXTENSION pgcrypto UPDATE.")));
	fmgr_info_cxt(funcoid, flinfo, PgcryptoContext);
}

/*
 * ResolvePgcrypto looks up the pgcrypto functions through the schema of the
 * pgcrypto extension.
 */
static void
ResolvePgcrypto(void)
{
	Oid			schema;
	Oid			owner;
	char	   *nspname;
	Oid			enc_args[3] = {TEXTOID, TEXTOID, TEXTOID};
	Oid			dec_args[2] = {BYTEAOID, TEXTOID};
	Oid			encb_args[3] = {BYTEAOID, TEXTOID, TEXTOID};

	if (pgcrypto.valid)
		return;

	if (!ExtensionSchemaAndOwner("pgcrypto", &schema, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pgcrypto\" is not installed"),
				 errhint("Run CREATE EXTENSION pgcrypto.")));
	nspname = get_namespace_name(schema);

	if (PgcryptoContext == NULL)
		PgcryptoContext = AllocSetContextCreate(TopMemoryContext,
												"tenantcore pgcrypto functions",
												ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(PgcryptoContext);

	LookupPgcryptoFunc(nspname, "pgp_sym_encrypt", 3, enc_args, &pgcrypto.encrypt);
	LookupPgcryptoFunc(nspname, "pgp_sym_decrypt", 2, dec_args, &pgcrypto.decrypt);
	LookupPgcryptoFunc(nspname, "pgp_sym_encrypt_bytea", 3, encb_args, &pgcrypto.encrypt_bytea);
	LookupPgcryptoFunc(nspname, "pgp_sym_decrypt_bytea", 2, dec_args, &pgcrypto.decrypt_bytea);
	pgcrypto.valid = true;
}

/*
 * ResolveTenantcore finds tenantcore.tenant_keys and the extension owner.
 */
static void
ResolveTenantcore(void)
{
	Oid			schema;
	Oid			owner;

	if (OidIsValid(tenant_keys_relid))
		return;
	if (!ExtensionSchemaAndOwner("tenantcore", &schema, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"tenantcore\" is not installed in this database")));
	tenant_keys_relid = get_relname_relid("tenant_keys", schema);
	if (!OidIsValid(tenant_keys_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table tenantcore.tenant_keys does not exist"),
				 errhint("Update the extension: ALTER EXTENSION tenantcore UPDATE.")));
	tenant_keys_has_key_id = get_attnum(tenant_keys_relid, "master_key_id") != InvalidAttrNumber;
	extension_owner = owner;
}

/*
 * KeyIdColumn is the master key id column of tenant_keys in a select list:
 * NULL while the installed extension is older than the library (0.4.0).
 */
static const char *
KeyIdColumn(void)
{
	return tenant_keys_has_key_id ? "master_key_id" : "NULL::text";
}

/* ------------------------------------------------------------------------
 * Key table access (SPI, as the extension owner, pinned search_path)
 * ------------------------------------------------------------------------
 */

typedef struct KeyTableAccess
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
}			KeyTableAccess;

/*
 * BeginKeyTableAccess connects SPI and switches to the extension owner with
 * search_path = pg_catalog, pg_temp, like a SECURITY DEFINER function.
 */
static void
BeginKeyTableAccess(KeyTableAccess *access)
{
	ResolveTenantcore();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&access->save_userid, &access->save_sec_context);
	SetUserIdAndSecContext(extension_owner,
						   access->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	access->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/*
 * EndKeyTableAccess undoes BeginKeyTableAccess.
 */
static void
EndKeyTableAccess(KeyTableAccess *access)
{
	AtEOXact_GUC(true, access->save_nestlevel);
	SetUserIdAndSecContext(access->save_userid, access->save_sec_context);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * ExecuteKeyQuery runs a statement on tenant_keys with a tenant (and
 * optionally a version) as parameters and checks the result code.
 */
static void
ExecuteKeyQuery(const char *sql, const pg_uuid_t *tenant, int32 version,
				int nargs, int expected)
{
	Oid			types[2] = {UUIDOID, INT4OID};
	Datum		values[2];
	pg_uuid_t  *tenant_copy = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	int			rc;

	*tenant_copy = *tenant;
	values[0] = UUIDPGetDatum(tenant_copy);
	values[1] = Int32GetDatum(version);
	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (rc != expected)
		elog(ERROR, "tenant key query failed: %s", SPI_result_code_string(rc));
}

/*
 * TenantText formats a tenant id for messages.
 */
static char *
TenantText(const pg_uuid_t *tenant)
{
	pg_uuid_t  *copy = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));

	*copy = *tenant;
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(copy)));
}

/*
 * CallPgcrypto calls a pgcrypto function and turns its errors (wrong key,
 * corrupt data) into a clear error of our own that names no key material.
 */
static Datum
CallPgcrypto(FmgrInfo *flinfo, int nargs, Datum a, Datum b, Datum c,
			 const char *what, const pg_uuid_t *tenant)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	PG_TRY();
	{
		if (nargs == 3)
			result = FunctionCall3(flinfo, a, b, c);
		else
			result = FunctionCall2(flinfo, a, b);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", what),
				 tenant ? errdetail("pgcrypto reported \"%s\" for tenant %s.", edata->message, TenantText(tenant))
				 : errdetail("pgcrypto reported \"%s\".", edata->message)));
	}
	PG_END_TRY();
	return result;
}

/*
 * WrapKey encrypts a data key with the current master key, binding it to its
 * tenant and version.
 */
static bytea *
WrapKey(const pg_uuid_t *tenant, int32 version, const uint8 *key)
{
	bytea	   *payload = (bytea *) palloc(VARHDRSZ + WRAP_LEN);
	uint8	   *p = (uint8 *) VARDATA(payload);
	uint32		be = pg_hton32((uint32) version);
	text	   *pass;
	bytea	   *wrapped;

	SET_VARSIZE(payload, VARHDRSZ + WRAP_LEN);
	memcpy(p, WRAP_MAGIC, 4);
	memcpy(p + 4, tenant->data, UUID_LEN);
	memcpy(p + 4 + UUID_LEN, &be, 4);
	memcpy(p + 8 + UUID_LEN, key, KEY_LEN);

	pass = MasterKeyPassphrase(MASTER_KEY_CURRENT);
	wrapped = DatumGetByteaPP(CallPgcrypto(&pgcrypto.encrypt_bytea, 3,
										   PointerGetDatum(payload), PointerGetDatum(pass),
										   CStringGetTextDatum(WRAP_PGP_OPTIONS),
										   "could not wrap a tenant data key", tenant));
	WipeText(pass);
	WipeText(payload);
	return wrapped;
}

/*
 * WrappingMasterKey returns the master key that wrapped a data key, by the
 * master key id stored with it; false when the id is NULL (a key wrapped
 * before 0.5.0, by whatever master key was configured then).
 */
static bool
WrappingMasterKey(const pg_uuid_t *tenant, int32 version, const char *wrapped_by,
				  MasterKeySlot *slot)
{
	MasterKeyLoad(MASTER_KEY_CURRENT, ERROR);
	if (wrapped_by == NULL)
		return false;
	if (strcmp(wrapped_by, MasterKeyId(MASTER_KEY_CURRENT)) == 0)
	{
		*slot = MASTER_KEY_CURRENT;
		return true;
	}
	if (MasterKeyConfigured(MASTER_KEY_PREVIOUS) &&
		MasterKeyLoad(MASTER_KEY_PREVIOUS, ERROR) &&
		strcmp(wrapped_by, MasterKeyId(MASTER_KEY_PREVIOUS)) == 0)
	{
		*slot = MASTER_KEY_PREVIOUS;
		return true;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("data key version %d of tenant %s is wrapped by a master key that is not configured",
					version, TenantText(tenant)),
			 errdetail("The data key was wrapped by master key %s; the current master key is %s.",
					   wrapped_by, MasterKeyId(MASTER_KEY_CURRENT)),
			 errhint("During a master key rotation, set tenantcore.previous_master_key_file to the replaced key, reload, and run tenantcore.rewrap_tenant_keys().")));
	pg_unreachable();
}

/*
 * UnwrapWith decrypts a wrapped data key with one master key and checks that
 * it was wrapped for this tenant and version; the key goes into key[].
 */
static void
UnwrapWith(MasterKeySlot slot, const pg_uuid_t *tenant, int32 version, bytea *wrapped,
		   uint8 *key)
{
	text	   *pass = MasterKeyPassphrase(slot);
	bytea	   *payload;
	uint8	   *p;
	uint32		be = pg_hton32((uint32) version);

	payload = DatumGetByteaPP(CallPgcrypto(&pgcrypto.decrypt_bytea, 2,
										   PointerGetDatum(wrapped), PointerGetDatum(pass), (Datum) 0,
										   slot == MASTER_KEY_CURRENT
										   ? "could not unwrap a tenant data key with the configured master key"
										   : "could not unwrap a tenant data key with the previous master key",
										   tenant));
	WipeText(pass);
	p = (uint8 *) VARDATA_ANY(payload);
	if (VARSIZE_ANY_EXHDR(payload) != WRAP_LEN ||
		memcmp(p, WRAP_MAGIC, 4) != 0 ||
		memcmp(p + 4, tenant->data, UUID_LEN) != 0 ||
		memcmp(p + 4 + UUID_LEN, &be, 4) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("wrapped key version %d of tenant %s does not belong to that tenant and version",
						version, TenantText(tenant)),
				 errdetail("The row of tenantcore.tenant_keys was altered or copied from another tenant.")));
	memcpy(key, p + 8 + UUID_LEN, KEY_LEN);
	explicit_bzero(payload, VARSIZE_ANY(payload));
}

/*
 * TryUnwrapWith is UnwrapWith() that returns false instead of raising an
 * error; it runs in a subtransaction, like a plpgsql exception block.
 */
static bool
TryUnwrapWith(MasterKeySlot slot, const pg_uuid_t *tenant, int32 version, bytea *wrapped,
			  uint8 *key)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		UnwrapWith(slot, tenant, version, wrapped, key);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	return ok;
}

/*
 * UnwrapKey decrypts a wrapped data key with the master key that wrapped it.
 * A key without a recorded master key id is tried with the current key, and
 * during a rotation with the previous one after that.
 */
static void
UnwrapKey(const pg_uuid_t *tenant, int32 version, bytea *wrapped, const char *wrapped_by,
		  uint8 *key)
{
	MasterKeySlot slot;

	if (WrappingMasterKey(tenant, version, wrapped_by, &slot))
		UnwrapWith(slot, tenant, version, wrapped, key);
	else if (!MasterKeyConfigured(MASTER_KEY_PREVIOUS))
		UnwrapWith(MASTER_KEY_CURRENT, tenant, version, wrapped, key);
	else if (!TryUnwrapWith(MASTER_KEY_CURRENT, tenant, version, wrapped, key))
	{
		MasterKeyLoad(MASTER_KEY_PREVIOUS, ERROR);
		UnwrapWith(MASTER_KEY_PREVIOUS, tenant, version, wrapped, key);
	}
}

/*
 * CacheKey stores an unwrapped key under (tenant, tag_version).
 */
static KeyEntry *
CacheKey(const pg_uuid_t *tenant, int32 tag_version, int32 version, uint8 *key)
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
 * LookupCachedKey returns the cached entry of (tenant, tag_version) or NULL.
 */
static KeyEntry *
LookupCachedKey(const pg_uuid_t *tenant, int32 tag_version)
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
 * ReportShredded raises the error for a tenant whose keys were destroyed.
 */
static void
ReportShredded(const pg_uuid_t *tenant, int32 version)
{
	if (version > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("key version %d of tenant %s was destroyed", version, TenantText(tenant)),
				 errdetail("The tenant was shredded with tenantcore.shred_tenant(); its encrypted data cannot be recovered.")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("tenant %s was shredded", TenantText(tenant)),
			 errdetail("Its keys were destroyed with tenantcore.shred_tenant(), so nothing can be encrypted or decrypted for it."),
			 errhint("To give the tenant new keys, a superuser deletes its rows from tenantcore.tenant_keys.")));
}

/*
 * InsertDataKey creates a random data key (into key[]) and stores it wrapped
 * as the given version, unless another session did so first; returns false
 * if a concurrent insert won.
 */
static bool
InsertDataKey(const pg_uuid_t *tenant, int32 version, uint8 *key)
{
	bytea	   *wrapped;
	Oid			types[4] = {UUIDOID, INT4OID, BYTEAOID, TEXTOID};
	Datum		values[4];
	pg_uuid_t  *tenant_copy = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	int			rc;

	if (!pg_strong_random(key, KEY_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random data key")));
	wrapped = WrapKey(tenant, version, key);
	*tenant_copy = *tenant;
	values[0] = UUIDPGetDatum(tenant_copy);
	values[1] = Int32GetDatum(version);
	values[2] = PointerGetDatum(wrapped);
	values[3] = CStringGetTextDatum(MasterKeyId(MASTER_KEY_CURRENT));
	if (tenant_keys_has_key_id)
		rc = SPI_execute_with_args("INSERT INTO tenantcore.tenant_keys (organization_id, version, wrapped_key, status, master_key_id) "
								   "VALUES ($1, $2, $3, 'active', $4) ON CONFLICT DO NOTHING",
								   4, types, values, NULL, false, 0);
	else
		rc = SPI_execute_with_args("INSERT INTO tenantcore.tenant_keys (organization_id, version, wrapped_key, status) "
								   "VALUES ($1, $2, $3, 'active') ON CONFLICT DO NOTHING",
								   3, types, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not store a tenant data key: %s", SPI_result_code_string(rc));
	key_created_in_xact = true;
	return SPI_processed == 1;
}

/*
 * FetchKeyExtended returns the cached key of a tenant: its active version
 * when version is 0 (created on first use when create is set), else that
 * version.  With missing_ok, a tenant without keys or with destroyed keys
 * gives NULL instead of an error.
 */
static KeyEntry *
FetchKeyExtended(const pg_uuid_t *tenant, int32 version, bool create, bool missing_ok)
{
	KeyEntry   *entry = LookupCachedKey(tenant, version);
	KeyTableAccess access;
	uint8		key[KEY_LEN];
	int			attempt;

	if (entry != NULL)
		return entry;

	ResolvePgcrypto();
	MasterKeyLoad(MASTER_KEY_CURRENT, ERROR);
	BeginKeyTableAccess(&access);

	for (attempt = 0; attempt < 2; attempt++)
	{
		int32		found_version = 0;
		bool		isnull;
		Datum		d;
		char	   *status;

		if (version == 0)
			ExecuteKeyQuery(psprintf("SELECT version, status, wrapped_key, %s FROM tenantcore.tenant_keys "
									 "WHERE organization_id = $1 ORDER BY status = 'active' DESC, version DESC LIMIT 1",
									 KeyIdColumn()),
							tenant, 0, 1, SPI_OK_SELECT);
		else
			ExecuteKeyQuery(psprintf("SELECT version, status, wrapped_key, %s FROM tenantcore.tenant_keys "
									 "WHERE organization_id = $1 AND version = $2",
									 KeyIdColumn()),
							tenant, version, 2, SPI_OK_SELECT);

		if (SPI_processed == 0)
		{
			if (version != 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("key version %d of tenant %s does not exist", version, TenantText(tenant)),
						 errdetail("The ciphertext was made in another database or its key row was deleted.")));
			if (missing_ok)
				break;
			if (!create)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("tenant %s has no data key", TenantText(tenant)),
						 errdetail("Nothing was ever encrypted for this tenant in this database.")));
			if (InsertDataKey(tenant, 1, key))
			{
				(void) CacheKey(tenant, 1, 1, key);
				entry = CacheKey(tenant, 0, 1, key);
				explicit_bzero(key, KEY_LEN);
				break;
			}
			explicit_bzero(key, KEY_LEN);
			continue;			/* a concurrent session created it: read it */
		}

		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		found_version = DatumGetInt32(d);
		status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		if (strcmp(status, "destroyed") == 0 || isnull)
		{
			if (missing_ok)
				break;
			ReportShredded(tenant, version);
		}
		if (version == 0 && strcmp(status, "active") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("tenant %s has no active data key", TenantText(tenant)),
					 errhint("Run tenantcore.rotate_tenant_key() to create one.")));
		UnwrapKey(tenant, found_version, DatumGetByteaPP(d),
				  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4), key);
		if (version == 0)
			(void) CacheKey(tenant, found_version, found_version, key);
		entry = CacheKey(tenant, version, found_version, key);
		explicit_bzero(key, KEY_LEN);
		break;
	}
	if (entry == NULL && !missing_ok)
		elog(ERROR, "could not create or read the data key of tenant %s", TenantText(tenant));

	EndKeyTableAccess(&access);
	return entry;
}

/*
 * FetchKey is FetchKeyExtended() for keys that must exist.
 */
static KeyEntry *
FetchKey(const pg_uuid_t *tenant, int32 version, bool create)
{
	return FetchKeyExtended(tenant, version, create, false);
}

/* ------------------------------------------------------------------------
 * Encryption and decryption
 * ------------------------------------------------------------------------
 */

/*
 * RequireTenant returns the current tenant or raises an error.
 */
static const pg_uuid_t *
RequireTenant(const char *function)
{
	const pg_uuid_t *tenant = CurrentTenant();

	if (tenant == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s() needs a current tenant", function),
				 errhint("Call tenantcore.set_tenant() first.")));
	return tenant;
}

/*
 * EncryptForTenant encrypts a text with the active key of a tenant and
 * prepends the header.
 */
static bytea *
EncryptForTenant(const pg_uuid_t *tenant, text *plaintext)
{
	KeyEntry   *entry = FetchKey(tenant, 0, true);
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

	pgp = DatumGetByteaPP(FunctionCall3(&pgcrypto.encrypt, PointerGetDatum(plaintext),
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
 * ParseHeader checks the header of a ciphertext and returns its key version
 * and tenant; a value that is not tenantcore ciphertext is an error.
 */
static int32
ParseHeader(bytea *ciphertext, pg_uuid_t *tenant)
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
 * DecryptForTenant decrypts ciphertext that must belong to the tenant.
 */
static text *
DecryptForTenant(const pg_uuid_t *tenant, bytea *ciphertext)
{
	pg_uuid_t	owner;
	int32		version = ParseHeader(ciphertext, &owner);
	KeyEntry   *entry;
	bytea	   *body;
	size_t		body_len;

	if (memcmp(owner.data, tenant->data, UUID_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("ciphertext belongs to another tenant"),
				 errdetail("It was not encrypted for tenant %s.", TenantText(tenant))));

	entry = FetchKey(tenant, version, false);
	body_len = VARSIZE_ANY_EXHDR(ciphertext) - HEADER_LEN;
	body = (bytea *) palloc(VARHDRSZ + body_len);
	SET_VARSIZE(body, VARHDRSZ + body_len);
	memcpy(VARDATA(body), (const char *) VARDATA_ANY(ciphertext) + HEADER_LEN, body_len);
	return DatumGetTextPP(CallPgcrypto(&pgcrypto.decrypt, 2, PointerGetDatum(body),
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
	const pg_uuid_t *tenant = RequireTenant("encrypt_pii");

	PG_RETURN_BYTEA_P(EncryptForTenant(tenant, PG_GETARG_TEXT_PP(0)));
}

/*
 * tenantcore_decrypt_pii(bytea) decrypts ciphertext of the current tenant.
 */
Datum
tenantcore_decrypt_pii(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = RequireTenant("decrypt_pii");
	text	   *plaintext = DecryptForTenant(tenant, PG_GETARG_BYTEA_PP(0));

	AuditReadsCount(tenant, InvalidOid, InvalidAttrNumber);
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
	tenant = RequireTenant("decrypt_pii");
	plaintext = DecryptForTenant(tenant, PG_GETARG_BYTEA_PP(0));
	AuditReadsCount(tenant, PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1),
					PG_ARGISNULL(2) ? InvalidAttrNumber : PG_GETARG_INT16(2));
	PG_RETURN_TEXT_P(plaintext);
}

/*
 * RequireTenantArgument returns argument argno, a tenant that must not be NULL.
 */
static const pg_uuid_t *
RequireTenantArgument(FunctionCallInfo fcinfo, int argno, const char *function)
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
	const pg_uuid_t *tenant = RequireTenantArgument(fcinfo, 1, "encrypt_pii");

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(EncryptForTenant(tenant, PG_GETARG_TEXT_PP(0)));
}

/*
 * tenantcore_decrypt_pii_for(bytea, uuid) decrypts ciphertext of a given
 * tenant (administrative; not granted to PUBLIC).
 */
Datum
tenantcore_decrypt_pii_for(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = RequireTenantArgument(fcinfo, 1, "decrypt_pii");
	text	   *plaintext;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	plaintext = DecryptForTenant(tenant, PG_GETARG_BYTEA_PP(0));
	AuditReadsCount(tenant, InvalidOid, InvalidAttrNumber);
	PG_RETURN_TEXT_P(plaintext);
}

/*
 * tenantcore_key_version(bytea) returns the key version named by the header
 * of a ciphertext.
 */
Datum
tenantcore_key_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ParseHeader(PG_GETARG_BYTEA_PP(0), NULL));
}

/* ------------------------------------------------------------------------
 * Blind index
 * ------------------------------------------------------------------------
 */

/*
 * Hmac256 computes HMAC-SHA256(key, data) into out.
 */
static void
Hmac256(const uint8 *key, size_t key_len, const uint8 *data, size_t len,
		const uint8 *data2, size_t len2, uint8 *out)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (ctx == NULL)
		elog(ERROR, "out of memory");
	if (pg_hmac_init(ctx, key, key_len) < 0 ||
		pg_hmac_update(ctx, data, len) < 0 ||
		(data2 != NULL && pg_hmac_update(ctx, data2, len2) < 0) ||
		pg_hmac_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		pg_hmac_free(ctx);
		elog(ERROR, "could not compute HMAC-SHA256");
	}
	pg_hmac_free(ctx);
}

/*
 * BlindKey returns the blind index key of a tenant for a purpose: HMAC of
 * the tenant's first data key (stable across rotations) over a label.
 */
static const uint8 *
BlindKey(const pg_uuid_t *tenant, const char *purpose)
{
	static const char label[] = "tenantcore blind index\n";
	KeyEntry   *entry;

	if (blind_valid && memcmp(blind_tenant.data, tenant->data, UUID_LEN) == 0 &&
		strcmp(blind_purpose, purpose) == 0)
		return blind_key;

	/* make sure a first key exists, then use version 1 */
	if (LookupCachedKey(tenant, 1) == NULL && LookupCachedKey(tenant, 0) == NULL)
		(void) FetchKey(tenant, 0, true);
	entry = FetchKey(tenant, 1, false);

	blind_valid = false;
	Hmac256(entry->key, KEY_LEN, (const uint8 *) label, strlen(label),
			(const uint8 *) purpose, strlen(purpose), blind_key);
	blind_tenant = *tenant;
	blind_purpose = MemoryContextStrdup(KeyCacheContext, purpose);
	blind_valid = true;
	return blind_key;
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
 * BlindIndexForTenant computes the blind index of a value for a tenant.
 */
static bytea *
BlindIndexForTenant(const pg_uuid_t *tenant, text *value, const char *purpose)
{
	const uint8 *key = BlindKey(tenant, purpose);
	text	   *norm = NormalizeForIndex(value);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	Hmac256(key, PG_SHA256_DIGEST_LENGTH, (const uint8 *) VARDATA_ANY(norm),
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
	const pg_uuid_t *tenant = RequireTenant("blind_index");

	PG_RETURN_BYTEA_P(BlindIndexForTenant(tenant, PG_GETARG_TEXT_PP(0),
										  text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

/* ------------------------------------------------------------------------
 * Rotation and shredding
 * ------------------------------------------------------------------------
 */

/*
 * tenantcore_rotate_tenant_key(uuid) retires the active key of a tenant and
 * creates the next version; returns the new version.
 */
Datum
tenantcore_rotate_tenant_key(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = RequireTenantArgument(fcinfo, 0, "rotate_tenant_key");
	KeyTableAccess access;
	uint8		key[KEY_LEN];
	int32		next = 1;
	bool		isnull;

	ResolvePgcrypto();
	MasterKeyLoad(MASTER_KEY_CURRENT, ERROR);
	BeginKeyTableAccess(&access);

	/* serialize rotations of one tenant */
	ExecuteKeyQuery("SELECT pg_advisory_xact_lock(hashtext('tenantcore.tenant_keys'), hashtext($1::text))",
					tenant, 0, 1, SPI_OK_SELECT);
	ExecuteKeyQuery("SELECT coalesce(max(version), 0) + 1, bool_or(status = 'destroyed') "
					"FROM tenantcore.tenant_keys WHERE organization_id = $1",
					tenant, 0, 1, SPI_OK_SELECT);
	next = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) && !isnull)
		ReportShredded(tenant, 0);

	ExecuteKeyQuery("UPDATE tenantcore.tenant_keys SET status = 'retired', retired_at = now() "
					"WHERE organization_id = $1 AND status = 'active'",
					tenant, 0, 1, SPI_OK_UPDATE);
	if (!InsertDataKey(tenant, next, key))
		elog(ERROR, "key version %d of tenant %s exists already", next, TenantText(tenant));
	explicit_bzero(key, KEY_LEN);

	EndKeyTableAccess(&access);
	PG_RETURN_INT32(next);
}

/*
 * tenantcore_shred_tenant(uuid) destroys every key version of a tenant and
 * returns how many versions were destroyed.
 */
Datum
tenantcore_shred_tenant(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = RequireTenantArgument(fcinfo, 0, "shred_tenant");
	KeyTableAccess access;
	uint64		destroyed;

	BeginKeyTableAccess(&access);
	ExecuteKeyQuery("UPDATE tenantcore.tenant_keys SET status = 'destroyed', wrapped_key = NULL, "
					"destroyed_at = now() WHERE organization_id = $1 AND status <> 'destroyed'",
					tenant, 0, 1, SPI_OK_UPDATE);
	destroyed = SPI_processed;
	if (destroyed == 0)
	{
		/* a tombstone, so the tenant cannot silently get new keys */
		ExecuteKeyQuery("INSERT INTO tenantcore.tenant_keys (organization_id, version, wrapped_key, status, destroyed_at) "
						"SELECT $1, 1, NULL, 'destroyed', now() "
						"WHERE NOT EXISTS (SELECT FROM tenantcore.tenant_keys WHERE organization_id = $1)",
						tenant, 0, 1, SPI_OK_INSERT);
	}
	EndKeyTableAccess(&access);
	WipeKeyCache();
	PG_RETURN_INT32((int32) destroyed);
}

/*
 * RewrapKeys wraps every data key that is not wrapped by the current master
 * key with it; returns how many were rewrapped.  The rows are locked first,
 * so concurrent rewraps or rotations wait instead of racing.
 */
static int64
RewrapKeys(void)
{
	KeyTableAccess access;
	const char *current_id;
	Oid			types[4] = {UUIDOID, INT4OID, BYTEAOID, TEXTOID};
	SPITupleTable *rows;
	uint64		nrows;
	uint64		i;
	int			rc;

	ResolvePgcrypto();
	MasterKeyLoad(MASTER_KEY_CURRENT, ERROR);
	current_id = MasterKeyId(MASTER_KEY_CURRENT);
	BeginKeyTableAccess(&access);

	{
		Datum		arg = CStringGetTextDatum(current_id);

		rc = SPI_execute_with_args("SELECT organization_id, version, wrapped_key, master_key_id "
								   "FROM tenantcore.tenant_keys "
								   "WHERE wrapped_key IS NOT NULL AND master_key_id IS DISTINCT FROM $1 "
								   "ORDER BY organization_id, version FOR UPDATE",
								   1, &types[3], &arg, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "tenant key query failed: %s", SPI_result_code_string(rc));
	}
	rows = SPI_tuptable;
	nrows = SPI_processed;

	for (i = 0; i < nrows; i++)
	{
		HeapTuple	row = rows->vals[i];
		bool		isnull;
		Datum		values[4];
		pg_uuid_t  *tenant;
		int32		version;
		uint8		key[KEY_LEN];
		bytea	   *wrapped;

		values[0] = SPI_getbinval(row, rows->tupdesc, 1, &isnull);
		tenant = DatumGetUUIDP(values[0]);
		version = DatumGetInt32(SPI_getbinval(row, rows->tupdesc, 2, &isnull));
		UnwrapKey(tenant, version,
				  DatumGetByteaPP(SPI_getbinval(row, rows->tupdesc, 3, &isnull)),
				  SPI_getvalue(row, rows->tupdesc, 4), key);
		wrapped = WrapKey(tenant, version, key);
		explicit_bzero(key, KEY_LEN);

		values[1] = Int32GetDatum(version);
		values[2] = PointerGetDatum(wrapped);
		values[3] = CStringGetTextDatum(current_id);
		rc = SPI_execute_with_args("UPDATE tenantcore.tenant_keys SET wrapped_key = $3, master_key_id = $4 "
								   "WHERE organization_id = $1 AND version = $2",
								   4, types, values, NULL, false, 0);
		if (rc != SPI_OK_UPDATE || SPI_processed != 1)
			elog(ERROR, "could not store the rewrapped key version %d of tenant %s",
				 version, TenantText(tenant));
	}
	EndKeyTableAccess(&access);
	WipeKeyCache();
	return (int64) nrows;
}

/*
 * tenantcore_rewrap_tenant_keys() wraps every tenant data key with the
 * current master key (the last step of a master key rotation); returns how
 * many keys were rewrapped.
 */
Datum
tenantcore_rewrap_tenant_keys(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(RewrapKeys());
}

/*
 * tenantcore_master_key_id(previous boolean) returns the id of the current
 * (or the previous) master key, NULL when the previous one is not configured.
 */
Datum
tenantcore_master_key_id(PG_FUNCTION_ARGS)
{
	MasterKeySlot slot = PG_GETARG_BOOL(0) ? MASTER_KEY_PREVIOUS : MASTER_KEY_CURRENT;

	if (slot == MASTER_KEY_PREVIOUS && !MasterKeyConfigured(slot))
		PG_RETURN_NULL();
	MasterKeyLoad(slot, ERROR);
	PG_RETURN_TEXT_P(cstring_to_text(MasterKeyId(slot)));
}

/*
 * tenantcore_tenant_keys_changed is the statement trigger of tenant_keys: it
 * makes every backend drop its key cache when the transaction commits.
 */
Datum
tenantcore_tenant_keys_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenant_keys_changed() must be called as a trigger")));
	/* a row trigger returning NULL would silently skip rows */
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on table \"%s\" must be fired AFTER ... FOR EACH STATEMENT",
						trigdata->tg_trigger->tgname, RelationGetRelationName(trigdata->tg_relation)),
				 errhint("tenant_keys_changed() is the statement trigger of tenantcore.tenant_keys.")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * Protected columns
 * ------------------------------------------------------------------------
 */


/*
 * CheckRowTenant allows encryption for a row's tenant only when it is the
 * current tenant, or no tenant is set.  In signed context mode only a
 * superuser or the extension owner may act without a tenant (for every
 * tenant): anyone else would get any tenant's ciphertext and blind index
 * without a token of that tenant.
 */
static void
CheckRowTenant(const pg_uuid_t *row_tenant)
{
	const pg_uuid_t *current = CurrentTenant();

	if (current == NULL && context_mode == CONTEXT_MODE_SIGNED && !superuser())
	{
		Oid			schema;
		Oid			owner;

		if (!ExtensionSchemaAndOwner("tenantcore", &schema, &owner) || owner != GetUserId())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("no tenant is set"),
					 errdetail("tenantcore.context_mode is \"signed\": protected columns are encrypted only for the current tenant."),
					 errhint("Call tenantcore.set_context_token() with a token of the row's tenant.")));
	}
	if (current != NULL && memcmp(current->data, row_tenant->data, UUID_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row belongs to tenant %s, not to the current tenant %s",
						TenantText(row_tenant), TenantText(current)),
				 errdetail("Protected columns are encrypted with the key of the row's tenant.")));
}

/*
 * What the protect trigger checked about its table, kept in fn_extra (which
 * lives as long as the executor state of one statement): the columns it works
 * on and their types, so each row only confirms that the attributes still
 * have the types they were checked with.
 */
typedef struct ProtectTriggerInfo
{
	Oid			tgoid;			/* InvalidOid: not checked yet */
	Oid			relid;
	int			natts;
	AttrNumber	plain_att;
	AttrNumber	enc_att;
	AttrNumber	bidx_att;		/* 0: no blind index */
	AttrNumber	tenant_att;
	Oid			plain_type;
	char	   *purpose;		/* in fn_mcxt */
}			ProtectTriggerInfo;

/*
 * ProtectTriggerError reports a trigger that protect() did not create the way
 * protect_trigger() needs it.
 */
#define ProtectTriggerError(code, ...) \
	ereport(ERROR, \
			(errcode(code), \
			 errmsg(__VA_ARGS__), \
			 errdetail("protect_trigger() is a BEFORE INSERT OR UPDATE row trigger of a table with five arguments: " \
					   "plaintext column (text or varchar), ciphertext column (bytea), blind index column (bytea, or '' for none), " \
					   "tenant column (uuid), blind index purpose."), \
			 errhint("Protect columns with tenantcore.protect() instead of creating the trigger by hand.")))

/*
 * ProtectTriggerColumn returns the attribute number of the column an argument
 * of the protect trigger names, after checking that it is a live user column
 * of one of the types given (the second InvalidOid when only one is allowed).
 */
static AttrNumber
ProtectTriggerColumn(Trigger *trigger, Relation rel, const char *role, const char *column,
					 Oid type1, Oid type2)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			attno = SPI_fnumber(desc, column);
	Form_pg_attribute att;

	if (attno == SPI_ERROR_NOATTRIBUTE || attno <= 0)
		ProtectTriggerError(ERRCODE_UNDEFINED_COLUMN,
							"%s column \"%s\" of trigger \"%s\" on table \"%s\" does not exist",
							role, column, trigger->tgname, RelationGetRelationName(rel));
	att = TupleDescAttr(desc, attno - 1);
	if (att->atttypid != type1 && (type2 == InvalidOid || att->atttypid != type2))
		ProtectTriggerError(ERRCODE_DATATYPE_MISMATCH,
							"%s column \"%s\" of trigger \"%s\" on table \"%s\" is of type %s, not %s%s%s",
							role, column, trigger->tgname, RelationGetRelationName(rel), format_type_be(att->atttypid),
							format_type_be(type1), type2 != InvalidOid ? " or " : "",
							type2 != InvalidOid ? format_type_be(type2) : "");
	if (att->attgenerated != '\0')
		ProtectTriggerError(ERRCODE_INVALID_COLUMN_DEFINITION,
							"%s column \"%s\" of trigger \"%s\" on table \"%s\" is a generated column",
							role, column, trigger->tgname, RelationGetRelationName(rel));
	return (AttrNumber) attno;
}

/*
 * CheckProtectTrigger checks how the protect trigger is fired and that the
 * columns its arguments name exist with the types it reads and writes:
 * plaintext text or varchar (what protect() accepts), ciphertext and blind
 * index bytea, tenant uuid.  Done once per statement; the result goes to info.
 */
static void
CheckProtectTrigger(TriggerData *trigdata, ProtectTriggerInfo *info, MemoryContext cxt)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	rel = trigdata->tg_relation;
	char	  **args = trigger->tgargs;
	char		relkind = rel->rd_rel->relkind;
	AttrNumber	plain_att,
				enc_att,
				bidx_att = 0,
				tenant_att;

	info->tgoid = InvalidOid;
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ProtectTriggerError(ERRCODE_WRONG_OBJECT_TYPE,
							"trigger \"%s\" is on \"%s\", which is not a table",
							trigger->tgname, RelationGetRelationName(rel));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ProtectTriggerError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
							"trigger \"%s\" on table \"%s\" must be fired BEFORE INSERT OR UPDATE FOR EACH ROW",
							trigger->tgname, RelationGetRelationName(rel));
	if (trigger->tgnargs != 5)
		ProtectTriggerError(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
							"trigger \"%s\" on table \"%s\" has %d arguments, protect_trigger() needs 5",
							trigger->tgname, RelationGetRelationName(rel), trigger->tgnargs);

	plain_att = ProtectTriggerColumn(trigger, rel, "plaintext", args[0], TEXTOID, VARCHAROID);
	enc_att = ProtectTriggerColumn(trigger, rel, "ciphertext", args[1], BYTEAOID, InvalidOid);
	if (args[2][0] != '\0')
	{
		bidx_att = ProtectTriggerColumn(trigger, rel, "blind index", args[2], BYTEAOID, InvalidOid);
		if (bidx_att == enc_att)
			ProtectTriggerError(ERRCODE_INVALID_PARAMETER_VALUE,
								"trigger \"%s\" on table \"%s\" names column \"%s\" for both the ciphertext and the blind index",
								trigger->tgname, RelationGetRelationName(rel), args[2]);
	}
	tenant_att = ProtectTriggerColumn(trigger, rel, "tenant", args[3], UUIDOID, InvalidOid);

	info->relid = RelationGetRelid(rel);
	info->natts = RelationGetDescr(rel)->natts;
	info->plain_att = plain_att;
	info->enc_att = enc_att;
	info->bidx_att = bidx_att;
	info->tenant_att = tenant_att;
	info->plain_type = TupleDescAttr(RelationGetDescr(rel), plain_att - 1)->atttypid;
	if (info->purpose != NULL)
		pfree(info->purpose);
	info->purpose = MemoryContextStrdup(cxt, args[4]);
	info->tgoid = trigger->tgoid;
}

/*
 * AttributeIs tells whether attribute attno of desc is still a live column of
 * the given type.
 */
static inline bool
AttributeIs(TupleDesc desc, AttrNumber attno, Oid type)
{
	Form_pg_attribute att;

	if (attno < 1 || attno > desc->natts)
		return false;
	att = TupleDescAttr(desc, attno - 1);
	return !att->attisdropped && att->atttypid == type;
}

/*
 * ProtectTriggerChecked returns what CheckProtectTrigger found for this
 * trigger, checking again when it has not been checked in this statement or
 * the table's columns changed since (only the types matter for what the
 * trigger reads and writes, and those are compared on every row).
 */
static ProtectTriggerInfo *
ProtectTriggerChecked(FunctionCallInfo fcinfo, TriggerData *trigdata)
{
	ProtectTriggerInfo *info = (ProtectTriggerInfo *) fcinfo->flinfo->fn_extra;
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);

	if (info == NULL)
	{
		info = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ProtectTriggerInfo));
		fcinfo->flinfo->fn_extra = info;
	}
	if (!OidIsValid(info->tgoid) ||
		info->tgoid != trigdata->tg_trigger->tgoid ||
		info->relid != RelationGetRelid(rel) ||
		info->natts != desc->natts ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ||
		!AttributeIs(desc, info->plain_att, info->plain_type) ||
		!AttributeIs(desc, info->enc_att, BYTEAOID) ||
		(info->bidx_att != 0 && !AttributeIs(desc, info->bidx_att, BYTEAOID)) ||
		!AttributeIs(desc, info->tenant_att, UUIDOID))
		CheckProtectTrigger(trigdata, info, fcinfo->flinfo->fn_mcxt);
	return info;
}

/*
 * tenantcore_protect_trigger is the BEFORE INSERT OR UPDATE row trigger of a
 * protected column.  Arguments: plaintext column, encrypted column, blind
 * index column ('' for none), tenant column, blind index purpose.  A non-null
 * plaintext is encrypted with the key of the row's tenant into the encrypted
 * column (and its blind index computed) and replaced by NULL; a NULL
 * plaintext leaves the encrypted column as it is, so restoring a dump (which
 * holds only ciphertext) never encrypts twice.  The trigger refuses to run
 * unless fired and configured as tenantcore.protect() creates it.
 */
Datum
tenantcore_protect_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	ProtectTriggerInfo *info;
	Relation	rel;
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		plain;
	Datum		tenant_datum;
	int			cols[3];
	Datum		values[3];
	bool		nulls[3];
	int			ncols = 0;
	const pg_uuid_t *tenant;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("protect_trigger() must be called as a trigger"),
				 errhint("Protect columns with tenantcore.protect().")));
	info = ProtectTriggerChecked(fcinfo, trigdata);

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;

	plain = heap_getattr(tuple, info->plain_att, desc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);

	tenant_datum = heap_getattr(tuple, info->tenant_att, desc, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("row of protected table \"%s\" has no tenant", RelationGetRelationName(rel)),
				 errdetail("Column \"%s\" must hold the tenant whose key encrypts \"%s\".",
						   NameStr(TupleDescAttr(desc, info->tenant_att - 1)->attname),
						   NameStr(TupleDescAttr(desc, info->plain_att - 1)->attname))));
	tenant = DatumGetUUIDP(tenant_datum);
	CheckRowTenant(tenant);

	cols[ncols] = info->plain_att;
	values[ncols] = (Datum) 0;
	nulls[ncols++] = true;
	cols[ncols] = info->enc_att;
	values[ncols] = PointerGetDatum(EncryptForTenant(tenant, DatumGetTextPP(plain)));
	nulls[ncols++] = false;
	if (info->bidx_att > 0)
	{
		cols[ncols] = info->bidx_att;
		values[ncols] = PointerGetDatum(BlindIndexForTenant(tenant, DatumGetTextPP(plain), info->purpose));
		nulls[ncols++] = false;
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, ncols, cols, values, nulls));
}

/*
 * The last relation a protect helper was allowed for at one call site
 * (fn_extra), with the user, statement and command it was checked in: an
 * FmgrInfo can outlive a statement, and a relation OID 0 must never match.
 */
typedef struct ProtectCallerCache
{
	Oid			relid;			/* InvalidOid: nothing checked */
	Oid			userid;
	TimestampTz statement_start;
	CommandId	command_id;
}			ProtectCallerCache;

/*
 * RelationIsProtected tells whether tenantcore.protected_columns registers a
 * column of the relation (tenantcore.protect() registers the column before it
 * converts the existing rows).
 */
static bool
RelationIsProtected(Oid relid)
{
	Oid			schema;
	Oid			owner;
	Oid			registry;
	AttrNumber	relattno;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	bool		found;

	if (!ExtensionSchemaAndOwner("tenantcore", &schema, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"tenantcore\" is not installed in this database")));
	registry = get_relname_relid("protected_columns", schema);
	if (!OidIsValid(registry))
		elog(ERROR, "table tenantcore.protected_columns does not exist");
	relattno = get_attnum(registry, "rel");
	if (relattno == InvalidAttrNumber)
		elog(ERROR, "column rel of tenantcore.protected_columns does not exist");

	rel = table_open(registry, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, relattno, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * RefuseTemporaryTable refuses protected columns on a temporary table: its
 * owner is any role with TEMP rights, and a protected table lets its owner
 * encrypt and index values for tenants (CheckRowTenant).
 */
static void
RefuseTemporaryTable(Oid relid)
{
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary table %s cannot have protected columns", get_rel_name(relid))));
}

/*
 * CheckProtectCaller allows the protect helpers only for a protected table
 * the caller owns (they run inside ALTER TABLE and the re-encryption
 * procedure), and only for the current tenant when one is set.  The answer
 * for a relation is kept for the rest of the statement.
 */
static void
CheckProtectCaller(FunctionCallInfo fcinfo, const char *function)
{
	ProtectCallerCache *cache = (ProtectCallerCache *) fcinfo->flinfo->fn_extra;
	Oid			relid;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s() requires a table", function)));
	relid = PG_GETARG_OID(0);
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ProtectCallerCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (!OidIsValid(relid) || cache->relid != relid || cache->userid != GetUserId() ||
		cache->statement_start != GetCurrentStatementStartTimestamp() ||
		cache->command_id != GetCurrentCommandId(false))
	{
		cache->relid = InvalidOid;
		if (!OidIsValid(relid) || !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", relid),
					 errdetail("%s() is used by tenantcore.protect() and tenantcore.reencrypt().", function)));
		if (!TcRelOwnerCheck(relid, GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of table %s", get_rel_name(relid)),
					 errdetail("%s() is used by tenantcore.protect() and tenantcore.reencrypt().", function)));
		RefuseTemporaryTable(relid);
		if (!RelationIsProtected(relid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table %s has no protected columns", get_rel_name(relid)),
					 errdetail("%s() is used by tenantcore.protect() and tenantcore.reencrypt().", function),
					 errhint("Use tenantcore.protect() first.")));
		cache->userid = GetUserId();
		cache->statement_start = GetCurrentStatementStartTimestamp();
		cache->command_id = GetCurrentCommandId(false);
		cache->relid = relid;
	}
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("row of protected table \"%s\" has no tenant", get_rel_name(relid))));
	CheckRowTenant(PG_GETARG_UUID_P(1));
}

/*
 * tenantcore_protect_encrypt(rel, tenant, plaintext) encrypts an existing
 * value while tenantcore.protect() rewrites the table.
 */
Datum
tenantcore_protect_encrypt(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	CheckProtectCaller(fcinfo, "_protect_encrypt");
	PG_RETURN_BYTEA_P(EncryptForTenant(PG_GETARG_UUID_P(1), PG_GETARG_TEXT_PP(2)));
}

/*
 * tenantcore_protect_blind_index(rel, tenant, plaintext, purpose) computes
 * the blind index of an existing value while protect() rewrites the table.
 */
Datum
tenantcore_protect_blind_index(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	CheckProtectCaller(fcinfo, "_protect_blind_index");
	PG_RETURN_BYTEA_P(BlindIndexForTenant(PG_GETARG_UUID_P(1), PG_GETARG_TEXT_PP(2),
										  text_to_cstring(PG_GETARG_TEXT_PP(3))));
}

/*
 * tenantcore_needs_reencrypt(rel, tenant, ciphertext) tells whether the
 * ciphertext was made with an older key than the tenant's active one (never
 * for a shredded tenant).
 */
Datum
tenantcore_needs_reencrypt(PG_FUNCTION_ARGS)
{
	KeyEntry   *entry;

	if (PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);
	CheckProtectCaller(fcinfo, "_needs_reencrypt");
	/* rows of shredded tenants cannot be re-encrypted: skip them */
	entry = FetchKeyExtended(PG_GETARG_UUID_P(1), 0, false, true);
	if (entry == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(ParseHeader(PG_GETARG_BYTEA_PP(2), NULL) < entry->version);
}

/*
 * tenantcore_reencrypt_value(rel, tenant, ciphertext) decrypts with the old
 * key and encrypts with the tenant's active key.
 */
Datum
tenantcore_reencrypt_value(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant;
	text	   *plain;
	bytea	   *result;

	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	CheckProtectCaller(fcinfo, "_reencrypt_value");
	tenant = PG_GETARG_UUID_P(1);
	plain = DecryptForTenant(tenant, PG_GETARG_BYTEA_PP(2));
	result = EncryptForTenant(tenant, plain);
	explicit_bzero(VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain));
	PG_RETURN_BYTEA_P(result);
}

/*
 * tenantcore_protect_install_trigger(rel, column) creates the protect trigger
 * of a column that tenantcore.protect() registered, as the extension owner:
 * EXECUTE on protect_trigger() is not granted to PUBLIC (CREATE TRIGGER needs
 * it, firing the trigger does not), so a table owner cannot attach it by hand
 * with arguments of their choosing.  The caller must own the table; the
 * arguments come from the registry row.
 */
Datum
tenantcore_protect_install_trigger(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Name		column;
	KeyTableAccess access;
	Oid			types[2] = {OIDOID, NAMEOID};
	Datum		values[2];
	char	   *sql;
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("_protect_install_trigger() requires a table and a column")));
	relid = PG_GETARG_OID(0);
	column = PG_GETARG_NAME(1);
	if (!OidIsValid(relid) || !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!TcRelOwnerCheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid)),
				 errdetail("_protect_install_trigger() is used by tenantcore.protect().")));
	RefuseTemporaryTable(relid);

	values[0] = ObjectIdGetDatum(relid);
	values[1] = NameGetDatum(column);
	BeginKeyTableAccess(&access);
	rc = SPI_execute_with_args("SELECT pg_catalog.format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW "
							   "EXECUTE FUNCTION tenantcore.protect_trigger(%L, %L, %L, %L, %L)', "
							   "pg_catalog.left('tenantcore_protect_' OPERATOR(pg_catalog.||) p.column_name, 63), p.rel, "
							   "p.column_name, p.encrypted_column, COALESCE(p.blind_index_column::pg_catalog.text, ''), "
							   "p.tenant_column, COALESCE(p.blind_index_purpose, 'default')) "
							   "FROM tenantcore.protected_columns p "
							   "WHERE p.rel OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
							   "AND p.column_name OPERATOR(pg_catalog.=) $2",
							   2, types, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "protected column query failed: %s", SPI_result_code_string(rc));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("column \"%s\" of table %s is not registered as protected",
						NameStr(*column), get_rel_name(relid)),
				 errhint("Use tenantcore.protect().")));
	sql = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	rc = SPI_execute(sql, false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "could not create the protect trigger: %s", SPI_result_code_string(rc));
	EndKeyTableAccess(&access);
	PG_RETURN_VOID();
}

/*-------------------------------------------------------------------------
 *
 * crypto_keystore.c
 *		The tenants' data keys in tenantcore.tenant_keys: reading, creating,
 *		wrapping and unwrapping them with the master key.
 *
 * Every tenant has random 256-bit data keys, numbered by version, stored in
 * tenantcore.tenant_keys wrapped by the master key (an OpenPGP message whose
 * passphrase is the master key in hexadecimal) together with the id of the
 * master key that wrapped it; during a master key rotation, keys wrapped by
 * the previous master key are unwrapped with it until
 * tenantcore.rewrap_tenant_keys() wraps them with the current one.  The first
 * key is created on first use.  Application roles have no access to the
 * table: it is read through SPI as the extension owner with a pinned
 * search_path.  Unwrapped keys go to the key cache (crypto_keycache.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "port.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "citus_meta.h"
#include "crypto_keycache.h"
#include "crypto_keystore.h"
#include "crypto_masterkey.h"
#include "crypto_pgcrypto.h"
#include "util.h"

#define WRAP_MAGIC		"tcdk"
#define WRAP_LEN		(4 + UUID_LEN + 4 + KEY_LEN)

/* options of the pgp_sym_encrypt() call that wraps: the keys are random, no stretching */
#define WRAP_PGP_OPTIONS	"cipher-algo=aes256, compress-algo=0, s2k-mode=1"

/*
 * WipeText overwrites and frees a text or bytea that held key material.
 */
static void
WipeText(text *t)
{
	explicit_bzero(t, VARSIZE(t));
	pfree(t);
}

/*
 * ResolveTenantcore finds tenantcore.tenant_keys and the extension owner.
 */
static void
ResolveTenantcore(void)
{
	Oid			schema;
	Oid			owner;

	if (OidIsValid(tc_key_catalog.tenant_keys_relid))
		return;
	tc_tenantcore_schema_and_owner(&schema, &owner);
	tc_key_catalog.tenant_keys_relid = get_relname_relid("tenant_keys", schema);
	if (!OidIsValid(tc_key_catalog.tenant_keys_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table tenantcore.tenant_keys does not exist"),
				 errhint("Update the extension: ALTER EXTENSION tenantcore UPDATE.")));
	tc_key_catalog.has_key_id = get_attnum(tc_key_catalog.tenant_keys_relid, "master_key_id") != InvalidAttrNumber;
	tc_key_catalog.extension_owner = owner;
}

/*
 * KeyIdColumn is the master key id column of tenant_keys in a select list:
 * NULL while the installed extension is older than the library (0.4.0).
 */
static const char *
KeyIdColumn(void)
{
	return tc_key_catalog.has_key_id ? "master_key_id" : "NULL::text";
}

/*
 * KeyTable names, for SQL, the table that holds a tenant's keys:
 * tenantcore.tenant_keys, or, on a Citus worker where tenant_keys is
 * distributed with the tenants (distribute_tenant_keys()), the tenant's shard
 * of it when this node holds it.  A key is read or made on a worker inside a
 * query on a shard (the encrypting trigger, a decrypting view pushed down to
 * the worker), where a query of the distributed table would be a nested
 * distributed query, which Citus refuses; the shard is a plain table.  A
 * worker without the tenant's shard has none of its rows either: a query
 * that needs the tenant's key there (a blind index computed on every shard)
 * is refused with a hint to route it.
 */
static const char *
KeyTable(const pg_uuid_t *tenant)
{
	Oid			shard;

	if (tc_citus_local_group() <= 0)
		return "tenantcore.tenant_keys";
	/* a worker's own tenant_keys is an empty shell, or keys no node shares */
	if (tc_citus_table_method(tc_key_catalog.tenant_keys_relid) != 'h')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenantcore.tenant_keys is not distributed with the tenants"),
				 errdetail("Protected values of distributed tables are encrypted on the workers, with keys that live with the tenant's rows."),
				 errhint("Distribute the keys on the coordinator: SELECT tenantcore.distribute_tenant_keys('<a distributed tenant table>');")));
	shard = tc_citus_tenant_shard(tc_key_catalog.tenant_keys_relid, tenant);
	if (!OidIsValid(shard))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the data keys of tenant %s are not on this node", tc_uuid_cstring(tenant)),
				 errdetail("Keys are read on the worker that holds the tenant's rows; this query ran on the shards of another worker too."),
				 errhint("Filter the query on the tenant column with the tenant's id as a value (organization_id = $1), so that Citus routes it to the tenant's worker.")));
	return quote_qualified_identifier("tenantcore", get_rel_name(shard));
}

/*
 * tc_keystore_begin connects SPI and switches to the extension owner with
 * search_path = pg_catalog, pg_temp, like a SECURITY DEFINER function.
 */
void
tc_keystore_begin(TcOwnerSpi *access)
{
	ResolveTenantcore();
	tc_spi_begin_as_owner(tc_key_catalog.extension_owner, access);
}

/*
 * tc_keystore_end undoes tc_keystore_begin.
 */
void
tc_keystore_end(TcOwnerSpi *access)
{
	tc_spi_end_as_owner(access);
}

/*
 * tc_keystore_query runs a statement on tenant_keys with a tenant (and
 * optionally a version) as parameters and checks the result code.
 */
void
tc_keystore_query(const char *sql, const pg_uuid_t *tenant, int32 version,
				int nargs, int expected)
{
	Oid			types[2] = {UUIDOID, INT4OID};
	Datum		values[2];
	int			rc;

	values[0] = tc_uuid_datum(tenant);
	values[1] = Int32GetDatum(version);
	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (rc != expected)
		elog(ERROR, "tenant key query failed: %s", SPI_result_code_string(rc));
}

/*
 * tc_keystore_wrap encrypts a data key with the current master key, binding it
 * to its tenant and version.
 */
bytea *
tc_keystore_wrap(const pg_uuid_t *tenant, int32 version, const uint8 *key)
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

	pass = tc_masterkey_passphrase(MASTER_KEY_CURRENT);
	wrapped = DatumGetByteaPP(tc_pgcrypto_call(&tc_pgcrypto.encrypt_bytea, 3,
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
	tc_masterkey_load(MASTER_KEY_CURRENT, ERROR);
	if (wrapped_by == NULL)
		return false;
	if (strcmp(wrapped_by, tc_masterkey_id(MASTER_KEY_CURRENT)) == 0)
	{
		*slot = MASTER_KEY_CURRENT;
		return true;
	}
	if (tc_masterkey_configured(MASTER_KEY_PREVIOUS) &&
		tc_masterkey_load(MASTER_KEY_PREVIOUS, ERROR) &&
		strcmp(wrapped_by, tc_masterkey_id(MASTER_KEY_PREVIOUS)) == 0)
	{
		*slot = MASTER_KEY_PREVIOUS;
		return true;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("data key version %d of tenant %s is wrapped by a master key that is not configured",
					version, tc_uuid_cstring(tenant)),
			 errdetail("The data key was wrapped by master key %s; the current master key is %s.",
					   wrapped_by, tc_masterkey_id(MASTER_KEY_CURRENT)),
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
	text	   *pass = tc_masterkey_passphrase(slot);
	bytea	   *payload;
	uint8	   *p;
	uint32		be = pg_hton32((uint32) version);

	payload = DatumGetByteaPP(tc_pgcrypto_call(&tc_pgcrypto.decrypt_bytea, 2,
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
						version, tc_uuid_cstring(tenant)),
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
 * tc_keystore_unwrap decrypts a wrapped data key with the master key that
 * wrapped it.  A key without a recorded master key id is tried with the
 * current key, and during a rotation with the previous one after that.
 */
void
tc_keystore_unwrap(const pg_uuid_t *tenant, int32 version, bytea *wrapped, const char *wrapped_by,
		  uint8 *key)
{
	MasterKeySlot slot;

	if (WrappingMasterKey(tenant, version, wrapped_by, &slot))
		UnwrapWith(slot, tenant, version, wrapped, key);
	else if (!tc_masterkey_configured(MASTER_KEY_PREVIOUS))
		UnwrapWith(MASTER_KEY_CURRENT, tenant, version, wrapped, key);
	else if (!TryUnwrapWith(MASTER_KEY_CURRENT, tenant, version, wrapped, key))
	{
		tc_masterkey_load(MASTER_KEY_PREVIOUS, ERROR);
		UnwrapWith(MASTER_KEY_PREVIOUS, tenant, version, wrapped, key);
	}
}

/*
 * tc_keystore_report_shredded raises the error for a tenant whose keys were
 * destroyed.
 */
void
tc_keystore_report_shredded(const pg_uuid_t *tenant, int32 version)
{
	if (version > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("key version %d of tenant %s was destroyed", version, tc_uuid_cstring(tenant)),
				 errdetail("The tenant was shredded with tenantcore.shred_tenant(); its encrypted data cannot be recovered.")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("tenant %s was shredded", tc_uuid_cstring(tenant)),
			 errdetail("Its keys were destroyed with tenantcore.shred_tenant(), so nothing can be encrypted or decrypted for it."),
			 errhint("To give the tenant new keys, a superuser deletes its rows from tenantcore.tenant_keys.")));
}

/*
 * tc_keystore_insert_key creates a random data key (into key[]) and stores it
 * wrapped as the given version, unless another session did so first; returns
 * false if a concurrent insert won.
 */
bool
tc_keystore_insert_key(const pg_uuid_t *tenant, int32 version, uint8 *key)
{
	bytea	   *wrapped;
	Oid			types[4] = {UUIDOID, INT4OID, BYTEAOID, TEXTOID};
	Datum		values[4];
	int			rc;

	if (!pg_strong_random(key, KEY_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random data key")));
	wrapped = tc_keystore_wrap(tenant, version, key);
	values[0] = tc_uuid_datum(tenant);
	values[1] = Int32GetDatum(version);
	values[2] = PointerGetDatum(wrapped);
	values[3] = CStringGetTextDatum(tc_masterkey_id(MASTER_KEY_CURRENT));
	if (tc_key_catalog.has_key_id)
		rc = SPI_execute_with_args(psprintf("INSERT INTO %s (organization_id, version, wrapped_key, status, master_key_id) "
											"VALUES ($1, $2, $3, 'active', $4) ON CONFLICT DO NOTHING",
											KeyTable(tenant)),
								   4, types, values, NULL, false, 0);
	else
		rc = SPI_execute_with_args(psprintf("INSERT INTO %s (organization_id, version, wrapped_key, status) "
											"VALUES ($1, $2, $3, 'active') ON CONFLICT DO NOTHING",
											KeyTable(tenant)),
								   3, types, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not store a tenant data key: %s", SPI_result_code_string(rc));
	tc_keycache_key_created();
	return SPI_processed == 1;
}

/*
 * tc_keystore_fetch_extended returns the cached key of a tenant: its active
 * version when version is 0 (created on first use when create is set), else
 * that version.  With missing_ok, a tenant without keys or with destroyed keys
 * gives NULL instead of an error.
 */
KeyEntry *
tc_keystore_fetch_extended(const pg_uuid_t *tenant, int32 version, bool create, bool missing_ok)
{
	KeyEntry   *entry = tc_keycache_lookup(tenant, version);
	TcOwnerSpi access;
	uint8		key[KEY_LEN];
	int			attempt;

	if (entry != NULL)
		return entry;

	tc_pgcrypto_resolve();
	tc_masterkey_load(MASTER_KEY_CURRENT, ERROR);
	tc_keystore_begin(&access);

	for (attempt = 0; attempt < 2; attempt++)
	{
		int32		found_version = 0;
		bool		isnull;
		Datum		d;
		char	   *status;

		if (version == 0)
			tc_keystore_query(psprintf("SELECT version, status, wrapped_key, %s FROM %s "
									 "WHERE organization_id = $1 ORDER BY status = 'active' DESC, version DESC LIMIT 1",
									 KeyIdColumn(), KeyTable(tenant)),
							tenant, 0, 1, SPI_OK_SELECT);
		else
			tc_keystore_query(psprintf("SELECT version, status, wrapped_key, %s FROM %s "
									 "WHERE organization_id = $1 AND version = $2",
									 KeyIdColumn(), KeyTable(tenant)),
							tenant, version, 2, SPI_OK_SELECT);

		if (SPI_processed == 0)
		{
			if (version != 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("key version %d of tenant %s does not exist", version, tc_uuid_cstring(tenant)),
						 errdetail("The ciphertext was made in another database or its key row was deleted.")));
			if (missing_ok)
				break;
			if (!create)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("tenant %s has no data key", tc_uuid_cstring(tenant)),
						 errdetail("Nothing was ever encrypted for this tenant in this database.")));
			if (tc_keystore_insert_key(tenant, 1, key))
			{
				(void) tc_keycache_store(tenant, 1, 1, key);
				entry = tc_keycache_store(tenant, 0, 1, key);
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
			tc_keystore_report_shredded(tenant, version);
		}
		if (version == 0 && strcmp(status, "active") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("tenant %s has no active data key", tc_uuid_cstring(tenant)),
					 errhint("Run tenantcore.rotate_tenant_key() to create one.")));
		tc_keystore_unwrap(tenant, found_version, DatumGetByteaPP(d),
				  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4), key);
		if (version == 0)
			(void) tc_keycache_store(tenant, found_version, found_version, key);
		entry = tc_keycache_store(tenant, version, found_version, key);
		explicit_bzero(key, KEY_LEN);
		break;
	}
	if (entry == NULL && !missing_ok)
		elog(ERROR, "could not create or read the data key of tenant %s", tc_uuid_cstring(tenant));

	tc_keystore_end(&access);
	return entry;
}

/*
 * tc_keystore_fetch is tc_keystore_fetch_extended() for keys that must exist.
 */
KeyEntry *
tc_keystore_fetch(const pg_uuid_t *tenant, int32 version, bool create)
{
	return tc_keystore_fetch_extended(tenant, version, create, false);
}

/*-------------------------------------------------------------------------
 *
 * crypto_rotation.c
 *		Key rotation and crypto-shredding: rotate_tenant_key(),
 *		shred_tenant(), rewrap_tenant_keys() (the last step of a master key
 *		rotation), master_key_id(), and the statement trigger of
 *		tenantcore.tenant_keys that makes every backend drop its key cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "citus_meta.h"
#include "crypto_cipher.h"
#include "crypto_keycache.h"
#include "crypto_keystore.h"
#include "crypto_masterkey.h"
#include "crypto_pgcrypto.h"
#include "crypto_rotation.h"
#include "util.h"

PG_FUNCTION_INFO_V1(tenantcore_rotate_tenant_key);
PG_FUNCTION_INFO_V1(tenantcore_shred_tenant);
PG_FUNCTION_INFO_V1(tenantcore_rewrap_tenant_keys);
PG_FUNCTION_INFO_V1(tenantcore_master_key_id);
PG_FUNCTION_INFO_V1(tenantcore_tenant_keys_changed);

/*
 * tenantcore_rotate_tenant_key(uuid) retires the active key of a tenant and
 * creates the next version; returns the new version.
 */
Datum
tenantcore_rotate_tenant_key(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_crypto_require_tenant_argument(fcinfo, 0, "rotate_tenant_key");
	TcOwnerSpi access;
	uint8		key[KEY_LEN];
	int32		next = 1;
	bool		isnull;

	tc_pgcrypto_resolve();
	tc_masterkey_load(MASTER_KEY_CURRENT, ERROR);
	tc_keystore_begin(&access);

	/* serialize rotations of one tenant */
	tc_keystore_query("SELECT pg_advisory_xact_lock(hashtext('tenantcore.tenant_keys'), hashtext($1::text))",
					tenant, 0, 1, SPI_OK_SELECT);
	tc_keystore_query("SELECT coalesce(max(version), 0) + 1, bool_or(status = 'destroyed') "
					"FROM tenantcore.tenant_keys WHERE organization_id = $1",
					tenant, 0, 1, SPI_OK_SELECT);
	next = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) && !isnull)
		tc_keystore_report_shredded(tenant, 0);

	tc_keystore_query("UPDATE tenantcore.tenant_keys SET status = 'retired', retired_at = now() "
					"WHERE organization_id = $1 AND status = 'active'",
					tenant, 0, 1, SPI_OK_UPDATE);
	if (!tc_keystore_insert_key(tenant, next, key))
		elog(ERROR, "key version %d of tenant %s exists already", next, tc_uuid_cstring(tenant));
	explicit_bzero(key, KEY_LEN);

	tc_keystore_end(&access);
	PG_RETURN_INT32(next);
}

/*
 * tenantcore_shred_tenant(uuid) destroys every key version of a tenant and
 * returns how many versions were destroyed.
 */
Datum
tenantcore_shred_tenant(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_crypto_require_tenant_argument(fcinfo, 0, "shred_tenant");
	TcOwnerSpi access;
	uint64		destroyed;

	tc_keystore_begin(&access);
	tc_keystore_query("UPDATE tenantcore.tenant_keys SET status = 'destroyed', wrapped_key = NULL, "
					"destroyed_at = now() WHERE organization_id = $1 AND status <> 'destroyed'",
					tenant, 0, 1, SPI_OK_UPDATE);
	destroyed = SPI_processed;
	if (destroyed == 0)
	{
		/* a tombstone, so the tenant cannot silently get new keys */
		tc_keystore_query("INSERT INTO tenantcore.tenant_keys (organization_id, version, wrapped_key, status, destroyed_at) "
						"SELECT $1, 1, NULL, 'destroyed', now() "
						"WHERE NOT EXISTS (SELECT FROM tenantcore.tenant_keys WHERE organization_id = $1)",
						tenant, 0, 1, SPI_OK_INSERT);
	}
	tc_keystore_end(&access);
	tc_keycache_wipe();
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
	TcOwnerSpi access;
	const char *current_id;
	Oid			types[4] = {UUIDOID, INT4OID, BYTEAOID, TEXTOID};
	SPITupleTable *rows;
	uint64		nrows;
	uint64		i;
	int			rc;

	tc_pgcrypto_resolve();
	tc_masterkey_load(MASTER_KEY_CURRENT, ERROR);
	current_id = tc_masterkey_id(MASTER_KEY_CURRENT);
	tc_keystore_begin(&access);

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
		tc_keystore_unwrap(tenant, version,
				  DatumGetByteaPP(SPI_getbinval(row, rows->tupdesc, 3, &isnull)),
				  SPI_getvalue(row, rows->tupdesc, 4), key);
		wrapped = tc_keystore_wrap(tenant, version, key);
		explicit_bzero(key, KEY_LEN);

		values[1] = Int32GetDatum(version);
		values[2] = PointerGetDatum(wrapped);
		values[3] = CStringGetTextDatum(current_id);
		rc = SPI_execute_with_args("UPDATE tenantcore.tenant_keys SET wrapped_key = $3, master_key_id = $4 "
								   "WHERE organization_id = $1 AND version = $2",
								   4, types, values, NULL, false, 0);
		if (rc != SPI_OK_UPDATE || SPI_processed != 1)
			elog(ERROR, "could not store the rewrapped key version %d of tenant %s",
				 version, tc_uuid_cstring(tenant));
	}
	tc_keystore_end(&access);
	tc_keycache_wipe();
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

	if (slot == MASTER_KEY_PREVIOUS && !tc_masterkey_configured(slot))
		PG_RETURN_NULL();
	tc_masterkey_load(slot, ERROR);
	PG_RETURN_TEXT_P(cstring_to_text(tc_masterkey_id(slot)));
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
	/* a shard of tenant_keys on a Citus worker: the caches know the table */
	{
		Oid			logical;
		int64		shardid;

		if (tc_citus_shard_of(RelationGetRelid(trigdata->tg_relation), &logical, &shardid))
			CacheInvalidateRelcacheByRelid(logical);
	}
	return PointerGetDatum(NULL);
}

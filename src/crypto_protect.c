/*-------------------------------------------------------------------------
 *
 * crypto_protect.c
 *		Protected columns: the trigger that encrypts a plaintext column into
 *		its ciphertext (and blind index) column, and the helpers that
 *		tenantcore.protect() and tenantcore.reencrypt() call on existing rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "citus_meta.h"
#include "context.h"
#include "crypto_blind.h"
#include "crypto_cipher.h"
#include "crypto_keystore.h"
#include "crypto_protect.h"
#include "util.h"

/* pg_class_ownercheck() became object_ownercheck() in PostgreSQL 16 */
#if PG_VERSION_NUM >= 160000
#define TcRelOwnerCheck(relid, roleid) object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define TcRelOwnerCheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

PG_FUNCTION_INFO_V1(tenantcore_protect_trigger);
PG_FUNCTION_INFO_V1(tenantcore_protect_encrypt);
PG_FUNCTION_INFO_V1(tenantcore_protect_blind_index);
PG_FUNCTION_INFO_V1(tenantcore_reencrypt_value);
PG_FUNCTION_INFO_V1(tenantcore_needs_reencrypt);
PG_FUNCTION_INFO_V1(tenantcore_protect_install_trigger);

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
	const pg_uuid_t *current = tc_current_tenant();

	if (current == NULL && tc_context_signed() && !superuser())
	{
		Oid			schema;
		Oid			owner;

		if (!tc_extension_schema_and_owner("tenantcore", &schema, &owner) || owner != GetUserId())
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
						tc_uuid_cstring(row_tenant), tc_uuid_cstring(current)),
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
	values[ncols] = PointerGetDatum(tc_cipher_encrypt(tenant, DatumGetTextPP(plain)));
	nulls[ncols++] = false;
	if (info->bidx_att > 0)
	{
		cols[ncols] = info->bidx_att;
		values[ncols] = PointerGetDatum(tc_blind_index(tenant, DatumGetTextPP(plain), info->purpose));
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
 * RegistryHasName tells whether the registry placement reg has a row whose
 * rel_name is name (the registry is small: every row is looked at).
 */
static bool
RegistryHasName(Oid reg, const char *name)
{
	AttrNumber	att = get_attnum(reg, "rel_name");
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	Snapshot	snapshot;
	bool		found = false;

	if (att == InvalidAttrNumber)
		return false;
	rel = table_open(reg, AccessShareLock);
	/* the latest snapshot, as RelationIsProtected: protect() registers first */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (!found && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, att, RelationGetDescr(rel), &isnull);

		found = !isnull && strcmp(TextDatumGetCString(value), name) == 0;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

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

	tc_tenantcore_schema_and_owner(&schema, &owner);
	registry = get_relname_relid("protected_columns", schema);
	if (!OidIsValid(registry))
		elog(ERROR, "table tenantcore.protected_columns does not exist");
	/*
	 * A reference table on a Citus cluster: its rows are in the placement,
	 * and rel holds another node's oids on a node added later (Citus copies
	 * them as they are): look the table up by name there.
	 */
	if (tc_citus_table_method(registry) == 'n')
		return RegistryHasName(tc_citus_local_placement(registry), tc_qualified_relation_name(relid));
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
	PG_RETURN_BYTEA_P(tc_cipher_encrypt(PG_GETARG_UUID_P(1), PG_GETARG_TEXT_PP(2)));
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
	PG_RETURN_BYTEA_P(tc_blind_index(PG_GETARG_UUID_P(1), PG_GETARG_TEXT_PP(2),
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
	entry = tc_keystore_fetch_extended(PG_GETARG_UUID_P(1), 0, false, true);
	if (entry == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(tc_cipher_key_version(PG_GETARG_BYTEA_PP(2), NULL) < entry->version);
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
	plain = tc_cipher_decrypt(tenant, PG_GETARG_BYTEA_PP(2));
	result = tc_cipher_encrypt(tenant, plain);
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
	TcOwnerSpi access;
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
	tc_keystore_begin(&access);
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
	tc_keystore_end(&access);
	PG_RETURN_VOID();
}

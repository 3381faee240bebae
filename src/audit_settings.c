/*-------------------------------------------------------------------------
 *
 * audit_settings.c
 *		The settings of each audit trigger, resolved against its table and
 *		cached per backend.
 *
 * The trigger arguments carry the settings of the table (see
 * audit_trigger.c), so the trigger needs no table lookup per row, and a
 * change of the settings (which recreates the trigger) reaches every backend
 * as a relcache invalidation.  The settings are resolved against the table
 * once and cached per trigger in a hash below CacheMemoryContext,
 * invalidated by relcache callbacks.  A trigger call pins the settings it
 * uses: user code that runs while a row becomes JSONB (a cast to json or an
 * output function of a user type) can invalidate them and fire audit
 * triggers itself, so stale settings are only detached from the hash then,
 * and freed when the last call using them ends (also when it ends with an
 * error).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "nodes/bitmapset.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/varlena.h"

#include "audit_json.h"
#include "audit_settings.h"
#include "citus_meta.h"
#include "util.h"

/* entry of the hash of audit triggers */
typedef struct AuditTriggerEntry
{
	Oid			tgoid;			/* hash key */
	AuditTrigger *trig;			/* current settings, or NULL */
}			AuditTriggerEntry;

/* per-trigger settings */
static HTAB *audit_triggers = NULL;
static MemoryContext audit_cache_cxt = NULL;
static uint64 audit_inval_count = 0;

/*
 * tc_audit_settings_invalidate marks the settings of triggers on a changed
 * table as stale (every table: relid InvalidOid).  It only sets flags: it
 * may run in the middle of a trigger call, while the settings are in use.
 */
void
tc_audit_settings_invalidate(Oid relid)
{
	audit_inval_count++;

	if (audit_triggers != NULL)
	{
		HASH_SEQ_STATUS status;
		AuditTriggerEntry *entry;

		hash_seq_init(&status, audit_triggers);
		while ((entry = (AuditTriggerEntry *) hash_seq_search(&status)) != NULL)
		{
			AuditTrigger *trig = entry->trig;

			if (trig != NULL &&
				(!OidIsValid(relid) || trig->relid == relid || trig->rootid == relid))
				trig->valid = false;
		}
	}
}

/*
 * TriggerRootRelation returns the table that carries the original of a
 * trigger cloned onto partitions (the table itself for an original trigger).
 */
static Oid
TriggerRootRelation(Oid tgoid)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	Oid			relid = InvalidOid;

	while (OidIsValid(tgoid))
	{
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;
		Form_pg_trigger trigger;

		ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(tgoid));
		scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &key);
		tuple = systable_getnext(scan);
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "could not find trigger %u", tgoid);
		trigger = (Form_pg_trigger) GETSTRUCT(tuple);
		relid = trigger->tgrelid;
		tgoid = trigger->tgparentid;
		systable_endscan(scan);
	}
	table_close(tgrel, AccessShareLock);
	return relid;
}

/*
 * ColumnNamed returns the attribute of a table called name, or NULL.
 */
static Form_pg_attribute
ColumnNamed(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att;
	}
	return NULL;
}

/*
 * MissingColumnError reports a setting that names a column the table no
 * longer has.  Writing on would leak what the setting hides, so refuse.
 */
static void
MissingColumnError(Relation rel, const char *setting, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("audit setting \"%s\" of table %s names column \"%s\", which does not exist",
					setting, RelationGetRelationName(rel), name),
			 errhint("Call tenantcore.audit() again with the current column names.")));
}

/*
 * RegistryRelation returns the relation that holds the registry of audited
 * tables on this node (in the schema of the trigger function funcid): the
 * table, or its local placement where it is a Citus reference table.
 */
static Oid
RegistryRelation(Oid funcid)
{
	Oid			regid = get_relname_relid("audited_tables", get_func_namespace(funcid));

	return OidIsValid(regid) ? tc_citus_local_placement(regid) : InvalidOid;
}

/*
 * RegistryByName tells whether this node's registry must be searched by
 * table name rather than oid: on a Citus cluster it is a reference table,
 * and the copy that Citus makes for a node added later holds the
 * coordinator's oids in rel (it copies the values as they are), which on
 * that node name no table, or another one.
 */
static bool
RegistryByName(Oid funcid)
{
	Oid			regid = get_relname_relid("audited_tables", get_func_namespace(funcid));

	return OidIsValid(regid) && tc_citus_table_method(regid) == 'n';
}

/*
 * RegistryLookup reads one row of the registry of audited tables (in the
 * schema of the trigger function funcid) directly, without the privileges of
 * the user: the row whose column keycol equals key (compared with eqproc),
 * or, when name is given, whose text column keycol is name; and in it column
 * col, copied into the caller's memory context; false when there is no such
 * row or value.
 */
static bool
RegistryLookup(Oid funcid, const char *keycol, RegProcedure eqproc, Datum key,
			   const char *name, const char *col, Datum *out)
{
	Oid			regid = RegistryRelation(funcid);
	AttrNumber	keyatt;
	AttrNumber	att;
	Relation	reg;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(regid))
		return false;
	keyatt = get_attnum(regid, keycol);
	att = get_attnum(regid, col);
	if (keyatt == InvalidAttrNumber || att == InvalidAttrNumber)
		return false;

	reg = table_open(regid, AccessShareLock);
	if (name == NULL)
		ScanKeyInit(&skey, keyatt, BTEqualStrategyNumber, eqproc, key);
	scan = systable_beginscan(reg, InvalidOid, false, NULL, name == NULL ? 1 : 0, &skey);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)) && name != NULL)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, keyatt, RelationGetDescr(reg), &isnull);

		/* the registries are small: the names are compared here */
		if (!isnull && strcmp(TextDatumGetCString(value), name) == 0)
			break;
	}
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, att, RelationGetDescr(reg), &isnull);

		if (!isnull)
		{
			Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(reg), att - 1);

			*out = datumCopy(value, attr->attbyval, attr->attlen);
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(reg, AccessShareLock);
	return found;
}

/*
 * RegisteredTableId sets *out to the identity of relid in the registry of
 * audited tables (audited_tables.table_id); false when relid is not audited.
 * By oid, or by name on a Citus node (RegistryByName).
 */
static bool
RegisteredTableId(Oid funcid, Oid relid, pg_uuid_t *out)
{
	Datum		id;

	if (RegistryByName(funcid)
		? !RegistryLookup(funcid, "rel_name", InvalidOid, (Datum) 0, tc_qualified_relation_name(relid), "table_id", &id)
		: !RegistryLookup(funcid, "rel", F_OIDEQ, ObjectIdGetDatum(relid), NULL, "table_id", &id))
		return false;
	*out = *DatumGetUUIDP(id);
	return true;
}

/*
 * RegisteredTable returns the audited table whose identity is table_id in
 * the registry, or InvalidOid; on a Citus node the table its name names.
 */
static Oid
RegisteredTable(Oid funcid, const pg_uuid_t *table_id)
{
	Datum		rel;

	if (RegistryByName(funcid))
	{
		if (!RegistryLookup(funcid, "table_id", F_UUID_EQ, UUIDPGetDatum(table_id), NULL, "rel_name", &rel))
			return InvalidOid;
		return RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(DatumGetTextPP(rel))),
								NoLock, true);
	}
	if (!RegistryLookup(funcid, "table_id", F_UUID_EQ, UUIDPGetDatum(table_id), NULL, "rel", &rel))
		return InvalidOid;
	return DatumGetObjectId(rel);
}

/*
 * tenantcore_audit_registered_table(table_id uuid) returns the audited
 * table of an identity (NULL if none), read from this node's registry
 * without SQL: the log's row-level security policy calls it, also on the
 * shards of a distributed log on a Citus worker, where a query of the
 * registry (a reference table there) would be a distributed query nested in
 * the shard's query, which Citus refuses.
 */
PG_FUNCTION_INFO_V1(tenantcore_audit_registered_table);
Datum
tenantcore_audit_registered_table(PG_FUNCTION_ARGS)
{
	Oid			rel = RegisteredTable(fcinfo->flinfo->fn_oid, PG_GETARG_UUID_P(0));

	if (!OidIsValid(rel))
		PG_RETURN_NULL();
	PG_RETURN_OID(rel);
}

/*
 * tc_audit_log_target returns where the entries of table *relid (rel, or the
 * audited ancestor of partition rel) go: InvalidOid for tenantcore.audit_log
 * itself, or, where the log is a distributed table of a Citus cluster and
 * *relid the local shard of a co-located distributed table, the log's shard
 * that holds the same tenants, on this node; *relid then becomes the
 * distributed table (its name and identity are the entries').  A row
 * trigger (by_tenant not NULL) may also fire on the local placement of a
 * reference table, on every node that has one: *by_tenant is then the
 * distributed log, and each entry goes to its tenant's shard of it on the
 * one node that holds that shard (tc_audit_tenant_log_shard).  Entries of
 * any other table cannot reach the distributed log (they would stay in the
 * log's empty shell on this node, unseen): refused.
 */
Oid
tc_audit_log_target(Oid funcid, Relation rel, Oid *relid, Oid *by_tenant)
{
	Oid			logid = get_relname_relid("audit_log", get_func_namespace(funcid));
	Oid			logical;
	int64		shardid;
	Oid			target;
	char		method;

	if (by_tenant != NULL)
		*by_tenant = InvalidOid;
	if (!OidIsValid(logid))
		return InvalidOid;
	if (tc_citus_table_method(logid) != 'h')
	{
		/* a shard on a worker would write into the log's empty local shell */
		if (tc_citus_shard_of(*relid, &logical, &shardid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table %s is distributed, but tenantcore.audit_log is not",
							tc_qualified_relation_name(logical)),
					 errhint("Distribute the log with its tenants on the coordinator: SELECT tenantcore.distribute_audit_log('%s');",
							 tc_qualified_relation_name(logical))));
		return InvalidOid;
	}
	/*
	 * The coordinator's table of a distributed or reference table: only its
	 * TRUNCATE trigger fires there (Citus runs statement triggers of TRUNCATE
	 * on the coordinator, not on the shards), and its entry, which has no
	 * tenant, has no place in the distributed log: refused rather than lost.
	 */
	method = tc_citus_table_method(*relid);
	if (method == 'h' || method == 'n')
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("TRUNCATE of the audited %s table %s cannot be logged",
						method == 'h' ? "distributed" : "reference",
						tc_qualified_relation_name(*relid)),
				 errdetail("The audit log is distributed by tenant, and a TRUNCATE entry has none."),
				 errhint("DELETE the rows (each is logged), or stop auditing the table with tenantcore.unaudit() first.")));
	if (!tc_citus_shard_of(*relid, &logical, &shardid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s is audited, but it is not a distributed table co-located with tenantcore.audit_log",
						tc_qualified_relation_name(*relid)),
				 errdetail("The audit log is distributed by tenant: it holds the entries of distributed tables co-located with it."),
				 errhint("Distribute the table by its tenant column with colocate_with => 'tenantcore.audit_log', or stop auditing it with tenantcore.unaudit().")));
	if (tc_citus_is_reference(logical))
	{
		if (by_tenant == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("TRUNCATE of the audited reference table %s cannot be logged",
							tc_qualified_relation_name(logical)),
					 errdetail("The audit log is distributed by tenant, and a TRUNCATE entry has none."),
					 errhint("DELETE the rows (each is logged), or stop auditing the table with tenantcore.unaudit() first.")));
		*relid = logical;
		*by_tenant = logid;
		return InvalidOid;
	}
	target = tc_citus_colocated(logical, logid) ? tc_citus_colocated_shard(shardid, logid) : InvalidOid;
	if (!OidIsValid(target))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s is not co-located with tenantcore.audit_log",
						tc_qualified_relation_name(logical)),
				 errdetail("Shard " INT64_FORMAT " of the table has no shard of the audit log on this node.", shardid),
				 errhint("Distribute the table by its tenant column with colocate_with => 'tenantcore.audit_log'.")));
	*relid = logical;
	return target;
}

/*
 * tc_audit_tenant_log_shard returns the shard of the distributed log that
 * takes the entry of a row of a reference table (trig->log_by_tenant) whose
 * tenant is *tenant: the local relation of that tenant's shard where this
 * node holds it, else InvalidOid (the node that holds it writes the entry:
 * each node's copy of the row fires the trigger).  An entry without a
 * tenant (*isnull) gets the nil uuid, which is never a tenant: the
 * distributed log needs a value to place it by, and no tenant reads it.
 */
Oid
tc_audit_tenant_log_shard(AuditTrigger *trig, Datum *tenant, bool *isnull)
{
	if (*isnull)
	{
		*tenant = UUIDPGetDatum(palloc0(sizeof(pg_uuid_t)));
		*isnull = false;
	}
	return tc_citus_tenant_shard(trig->log_by_tenant, DatumGetUUIDP(*tenant));
}

/*
 * tc_audit_check_table_identity refuses a 'table:<uuid>' argument (arg) of an
 * audit trigger that is not the registered identity of the audited table
 * relid: entries written under another table's identity would show in that
 * table's history().  The identity is public (audited_tables is readable,
 * derived from the name), so a trigger attached by hand could name any.
 */
void
tc_audit_check_table_identity(Trigger *trigger, Relation rel, Oid relid, const char *arg,
							  const pg_uuid_t *table_id)
{
	pg_uuid_t	registered;

	if (!RegisteredTableId(trigger->tgfoid, relid, &registered) ||
		memcmp(registered.data, table_id->data, UUID_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("argument \"%s\" of trigger \"%s\" on table %s is not the identity of the audited table",
						arg, trigger->tgname, RelationGetRelationName(rel)),
				 errdetail("Table %s has another table_id in tenantcore.audited_tables, or is not audited.",
						   tc_qualified_relation_name(relid)),
				 errhint("Install the audit trigger with tenantcore.audit().")));
}

/*
 * ResolveTrigger resolves the settings of an audit trigger (its arguments)
 * against the table, in a new memory context below the cache, and makes
 * them the current settings of the hash entry (not valid yet).
 */
static AuditTrigger *
ResolveTrigger(AuditTriggerEntry *hentry, Trigger *trigger, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	AuditTrigger *entry;
	MemoryContext cxt;
	MemoryContext old;
	bool	   *excluded;
	bool	   *redacted;
	bool	   *pkey;
	Bitmapset  *pkattrs;
	int			n = 0;
	const char *table_arg;

	cxt = AllocSetContextCreate(audit_cache_cxt, "tenantcore audit trigger",
								ALLOCSET_SMALL_SIZES);
	/* owned by the hash entry at once, so an error below leaks nothing */
	entry = MemoryContextAllocZero(cxt, sizeof(AuditTrigger));
	entry->cxt = cxt;
	entry->tgoid = trigger->tgoid;
	hentry->trig = entry;
	old = MemoryContextSwitchTo(cxt);

	excluded = palloc0(sizeof(bool) * (desc->natts + 1));
	redacted = palloc0(sizeof(bool) * (desc->natts + 1));
	pkey = palloc0(sizeof(bool) * (desc->natts + 1));

	entry->relid = RelationGetRelid(rel);
	entry->natts = desc->natts;
	entry->changed_only = true;
	entry->tenant_attnum = 0;
	table_arg = NULL;

	for (int i = 0; i < trigger->tgnargs; i++)
	{
		const char *arg = trigger->tgargs[i];
		Form_pg_attribute att;

		if (strcmp(arg, "changed_only") == 0)
			entry->changed_only = true;
		else if (strcmp(arg, "full_rows") == 0)
			entry->changed_only = false;
		else if (strncmp(arg, "tenant:", 7) == 0)
		{
			att = ColumnNamed(desc, arg + 7);
			/* a tenant column that vanished: fall back to the current tenant */
			if (att != NULL && att->atttypid == UUIDOID)
				entry->tenant_attnum = att->attnum;
		}
		else if (strncmp(arg, "table:", 6) == 0)
		{
			if (!tc_parse_uuid(arg + 6, &entry->table_id))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid argument \"%s\" of trigger \"%s\" on table %s",
								arg, trigger->tgname, RelationGetRelationName(rel)),
						 errhint("Install the audit trigger with tenantcore.audit().")));
			entry->has_table_id = true;
			table_arg = arg;
		}
		else if (strncmp(arg, "exclude:", 8) == 0)
		{
			att = ColumnNamed(desc, arg + 8);
			if (att == NULL)
				MissingColumnError(rel, "exclude", arg + 8);
			excluded[att->attnum] = true;
		}
		else if (strncmp(arg, "redact:", 7) == 0)
		{
			att = ColumnNamed(desc, arg + 7);
			if (att == NULL)
				MissingColumnError(rel, "redact", arg + 7);
			redacted[att->attnum] = true;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid argument \"%s\" of trigger \"%s\" on table %s",
							arg, trigger->tgname, RelationGetRelationName(rel)),
					 errhint("Install the audit trigger with tenantcore.audit().")));
	}

	pkattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	if (bms_is_empty(pkattrs))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audited table %s has no primary key", RelationGetRelationName(rel)),
				 errdetail("The audit log identifies each row by its primary key."),
				 errhint("Add a primary key to the table.")));
	for (int i = 1; i <= desc->natts; i++)
		pkey[i] = bms_is_member(i - FirstLowInvalidHeapAttributeNumber, pkattrs);

	entry->columns = palloc0(sizeof(AuditColumn) * desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || excluded[att->attnum])
			continue;
		tc_audit_column_init(&entry->columns[n], att);
		entry->columns[n].redact = redacted[att->attnum] && !pkey[att->attnum];
		entry->columns[n].pkey = pkey[att->attnum];
		n++;
	}
	entry->ncolumns = n;
	/* JSONB sorts an object's keys: push them sorted, the sort is then a check */
	entry->keyorder = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
		entry->keyorder[i] = i;
	tc_audit_sort_keys(entry->keyorder, n, entry->columns);

	entry->rootid = TriggerRootRelation(trigger->tgoid);
	entry->log_target = tc_audit_log_target(trigger->tgfoid, rel, &entry->rootid, &entry->log_by_tenant);
	entry->table_name = tc_qualified_relation_name(entry->rootid);
	/* the identity must be the audited table's own, as the registry has it */
	if (entry->has_table_id)
		tc_audit_check_table_identity(trigger, rel, entry->rootid, table_arg, &entry->table_id);
	entry->table_name_text = cstring_to_text(entry->table_name);
	/* per-row work done once: the key columns, the names as text */
	entry->pkonly = palloc(sizeof(bool) * Max(n, 1));
	entry->name_texts = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		entry->pkonly[i] = entry->columns[i].pkey;
		entry->name_texts[i] = PointerGetDatum(cstring_to_text_with_len(entry->columns[i].name,
																		entry->columns[i].namelen));
	}

	MemoryContextSwitchTo(old);
	return entry;
}

/*
 * DetachTrigger drops settings that the hash no longer points to: at once if
 * no trigger call uses them, else when the last one releases them.
 */
static void
DetachTrigger(AuditTrigger *trig)
{
	if (trig->pins > 0)
		trig->detached = true;
	else
		MemoryContextDelete(trig->cxt);
}

/*
 * tc_audit_release_trigger ends the use of settings pinned by
 * tc_audit_lookup_trigger.
 */
void
tc_audit_release_trigger(AuditTrigger *trig)
{
	Assert(trig->pins > 0);
	if (--trig->pins == 0 && trig->detached)
		MemoryContextDelete(trig->cxt);
}

/*
 * ForgetStaleTriggers frees the settings of invalidated triggers other than
 * the one being resolved: audit() recreates the trigger (a new OID) on every
 * call, so the entries of dropped triggers would otherwise stay forever.  A
 * live trigger forgotten here is simply resolved again when it fires;
 * settings still in use by a call further up the stack are only detached.
 */
static void
ForgetStaleTriggers(Oid keep)
{
	HASH_SEQ_STATUS status;
	AuditTriggerEntry *entry;

	hash_seq_init(&status, audit_triggers);
	while ((entry = (AuditTriggerEntry *) hash_seq_search(&status)) != NULL)
	{
		if ((entry->trig != NULL && entry->trig->valid) || entry->tgoid == keep)
			continue;
		if (entry->trig != NULL)
			DetachTrigger(entry->trig);
		entry->trig = NULL;
		(void) hash_search(audit_triggers, &entry->tgoid, HASH_REMOVE, NULL);
	}
}

/*
 * tc_audit_lookup_trigger returns the resolved settings of the audit trigger
 * firing now, resolving them when missing or stale, pinned: the caller must
 * tc_audit_release_trigger() them, also on error.
 */
AuditTrigger *
tc_audit_lookup_trigger(Trigger *trigger, Relation rel)
{
	AuditTriggerEntry *entry;
	AuditTrigger *trig;
	bool		found;
	uint64		inval_count;

	if (audit_triggers == NULL)
	{
		HASHCTL		ctl;

		audit_cache_cxt = AllocSetContextCreate(CacheMemoryContext, "tenantcore audit cache",
												ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AuditTriggerEntry);
		ctl.hcxt = audit_cache_cxt;
		audit_triggers = hash_create("tenantcore audit triggers", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	entry = (AuditTriggerEntry *) hash_search(audit_triggers, &trigger->tgoid, HASH_ENTER, &found);
	if (!found)
		entry->trig = NULL;
	trig = entry->trig;
	if (trig != NULL && trig->valid && trig->natts == RelationGetDescr(rel)->natts)
	{
		trig->pins++;
		return trig;
	}

	if (trig != NULL)
	{
		entry->trig = NULL;
		DetachTrigger(trig);
	}
	ForgetStaleTriggers(trigger->tgoid);
	inval_count = audit_inval_count;
	trig = ResolveTrigger(entry, trigger, rel);
	/* an invalidation that arrived while resolving makes the next call resolve again */
	trig->valid = (inval_count == audit_inval_count);
	trig->pins++;
	return trig;
}

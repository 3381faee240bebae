/*-------------------------------------------------------------------------
 *
 * audit.c
 *		The audit trigger: every change of an audited table as JSONB in
 *		tenantcore.audit_log.
 *
 * tenantcore.audit() installs tenantcore.audit_trigger() as an AFTER row
 * trigger (INSERT, UPDATE, DELETE) and an AFTER TRUNCATE statement trigger.
 * The trigger arguments carry the settings of the table:
 *
 *		'changed_only' or 'full_rows'	UPDATE entries hold changed keys only
 *		'tenant:<column>'				column holding the tenant of a row
 *		'exclude:<column>'				column left out of the entry
 *		'redact:<column>'				column kept, value replaced by a marker
 *		'table:<uuid>'					stable identity of the audited table
 *										(audited_tables.table_id; checked
 *										against the registry once, when
 *										the settings are resolved)
 *
 * Every entry of a row carries its record id: a uuid (version 8, RFC 9562)
 * made of the first 16 bytes of SHA-256 over the table identity and the
 * text of the row's primary key as JSONB.  It stays the same across updates
 * that keep the key and across a rename of the table, and history() finds a
 * row's entries by it (uuid equality is leakproof, so its index serves
 * queries under the log's row-level security).  tenantcore._audit_record_id()
 * computes the same value in SQL.
 *
 * so the trigger needs no table lookup per row, and a change of the settings (which
 * recreates the trigger) reaches every backend as a relcache invalidation.
 * The settings are resolved against the table once and cached per trigger in
 * a hash below CacheMemoryContext, invalidated by relcache callbacks.  A
 * trigger call pins the settings it uses: user code that runs while a row
 * becomes JSONB (a cast to json or an output function of a user type) can
 * invalidate them and fire audit triggers itself, so stale settings are only
 * detached from the hash then, and freed when the last call using them ends
 * (also when it ends with an error).
 *
 * Rows are converted to JSONB here, column by column, with the same result
 * as to_jsonb(): numbers as numbers, booleans, json and jsonb embedded,
 * date and time values in ISO 8601, arrays and composites as JSON.  Common
 * scalar types take a fast path; everything else goes through to_jsonb().
 *
 * The log entry is written straight into the partition of audit_log that
 * holds the transaction's timestamp (one transaction writes one partition,
 * so the partition is looked up once per transaction), without SQL and
 * without the privileges of the user: application roles cannot write to the
 * log themselves.  What the write needs besides the relations (a slot, the
 * IndexInfo of the partition's indexes) is built once per transaction and
 * partition and rebuilt after any relcache invalidation of the partition (a
 * new index, say); the relations are opened per entry and closed again, so
 * nothing stays open between trigger calls and DDL on the log in the same
 * transaction is not hindered.  Each entry is written when its row fires the
 * trigger, in the (sub)transaction of the change: a rolled-back savepoint
 * takes its entries with it, and anything that reads the log afterwards, in
 * the same transaction or not, sees every entry written before.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/tupconvert.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/jsonapi.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include <openssl/evp.h>

#include "tenantcore.h"

PG_FUNCTION_INFO_V1(tenantcore_audit_trigger);
PG_FUNCTION_INFO_V1(tenantcore_creating_extension);
PG_FUNCTION_INFO_V1(tenantcore_audit_record_id);
PG_FUNCTION_INFO_V1(tenantcore_audit_jsonb_hash);

#define REDACTED_MARKER "[redacted]"

/* the local transaction id moved into MyProc->vxid in PostgreSQL 17 */
#if PG_VERSION_NUM >= 170000
#define MyLocalTransactionId() (MyProc->vxid.lxid)
#else
#define MyLocalTransactionId() (MyProc->lxid)
#endif

/* how a column's values become JSONB */
typedef enum JsonKind
{
	JK_BOOL,
	JK_INT2,
	JK_INT4,
	JK_INT8,
	JK_FLOAT,					/* number unless NaN or infinite */
	JK_NUMERIC,					/* number unless NaN or infinite */
	JK_TEXT,					/* text, varchar: the string itself */
	JK_JSONB,					/* embedded */
	JK_DATETIME,				/* date, timestamp, timestamptz: ISO 8601 */
	JK_OUTPUT,					/* other built-in scalars: output function */
	JK_GENERIC					/* arrays, composites, json, user types: to_jsonb() */
}			JsonKind;

typedef struct AuditColumn
{
	AttrNumber	attnum;
	char	   *name;
	int			namelen;
	bool		redact;
	bool		pkey;
	JsonKind	kind;
	Oid			basetype;
	bool		typbyval;
	int16		typlen;
	FmgrInfo	func;			/* output function, or to_jsonb() */
}			AuditColumn;

/* settings of one audit trigger, resolved against its table */
typedef struct AuditTrigger
{
	Oid			tgoid;
	bool		valid;
	int			pins;			/* trigger calls using these settings now */
	bool		detached;		/* no longer in the hash: free when unpinned */
	MemoryContext cxt;			/* holds this struct and everything below */
	Oid			relid;			/* table the trigger is on */
	Oid			rootid;			/* audited table (a partition's ancestor) */
	char	   *table_name;		/* qualified name of the audited table */
	int			natts;			/* of the table when resolved */
	bool		changed_only;
	AttrNumber	tenant_attnum;	/* 0: the current tenant */
	bool		has_table_id;	/* a 'table:<uuid>' argument was given */
	pg_uuid_t	table_id;		/* stable identity of the audited table */
	int			ncolumns;
	AuditColumn *columns;		/* logged columns in attnum order */
	int		   *keyorder;		/* the same in JSONB key order */
	text	   *table_name_text;
	bool	   *pkonly;			/* columns[i] is a primary key column */
	Datum	   *name_texts;		/* columns[i]'s name as text */
}			AuditTrigger;

/* entry of the hash of audit triggers */
typedef struct AuditTriggerEntry
{
	Oid			tgoid;			/* hash key */
	AuditTrigger *trig;			/* current settings, or NULL */
}			AuditTriggerEntry;

/* columns of audit_log, by position in the values array */
enum
{
	LOG_ID,
	LOG_ORGANIZATION_ID,
	LOG_OCCURRED_AT,
	LOG_TXID,
	LOG_RELID,
	LOG_TABLE_NAME,
	LOG_OPERATION,
	LOG_PK,
	LOG_OLD_ROW,
	LOG_NEW_ROW,
	LOG_CHANGED_COLUMNS,
	LOG_ACTOR_ID,
	LOG_DB_USER,
	LOG_APPLICATION_NAME,
	LOG_CLIENT_ADDR,
	LOG_TABLE_ID,				/* optional: absent before 0.7.0 */
	LOG_RECORD_ID,				/* optional: absent before 0.7.0 */
	LOG_NCOLUMNS
};

/* the first column that a log made by an older version may lack */
#define LOG_FIRST_OPTIONAL LOG_TABLE_ID

static const char *const log_column_names[LOG_NCOLUMNS] = {
	"id", "organization_id", "occurred_at", "txid", "relid", "table_name",
	"operation", "pk", "old_row", "new_row", "changed_columns", "actor_id",
	"db_user", "application_name", "client_addr", "table_id", "record_id"
};

/* per-trigger settings */
static HTAB *audit_triggers = NULL;
static MemoryContext audit_cache_cxt = NULL;
static uint64 audit_inval_count = 0;

/* the log table, resolved once per backend (until invalidated) */
static bool log_valid = false;
static Oid	log_relid = InvalidOid;
static Oid	log_seqid = InvalidOid;
static AttrNumber log_attnums[LOG_NCOLUMNS];

/* the partition of the current transaction */
static bool part_valid = false;
static LocalTransactionId part_lxid = InvalidLocalTransactionId;
static TimestampTz part_ts = 0;
static Oid	part_relid = InvalidOid;
static bool part_same_layout = false;	/* partition has the parent's columns */

/* what writing into the partition needs, per transaction (OpenLogWriter) */
static MemoryContext writer_cxt = NULL;
static bool writer_valid = false;
static Oid	writer_partid = InvalidOid;
static EState *writer_estate = NULL;
static TupleTableSlot *writer_slot = NULL;
static ResultRelInfo *writer_rri = NULL;
static Oid *writer_index_oids = NULL;

/* name of the session user, computed when it changes */
static Oid	db_user_id = InvalidOid;
static text *db_user_text = NULL;

/* application_name of the session as text, computed when it changes */
static char *app_name_cstr = NULL;
static text *app_name_text = NULL;

/* client address of the session, computed once */
static bool client_addr_done = false;
static Datum client_addr_value = (Datum) 0;

/* tenantcore.audit_internal: lets the extension's maintenance move entries */
static bool audit_internal = false;

/* tenantcore.audit_seal_in_maintain: audit_maintain() seals (read in SQL) */
static bool audit_seal_in_maintain = false;

/*
 * AuditRelcacheCallback marks the settings of triggers on a changed table,
 * and the log's partition lookup, as stale.  It only sets flags: it may run
 * in the middle of a trigger call, while the cached data is in use.
 */
static void
AuditRelcacheCallback(Datum arg, Oid relid)
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

	if (!OidIsValid(relid) || relid == log_relid || relid == log_seqid)
		log_valid = false;
	if (!OidIsValid(relid) || relid == log_relid || relid == part_relid)
		part_valid = false;
	if (!OidIsValid(relid) || relid == writer_partid)
		writer_valid = false;
}

/*
 * AuditXactCallback forgets the per-transaction state; its memory lived in
 * TopTransactionContext and is gone with it.
 */
static void
AuditXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			writer_cxt = NULL;
			writer_valid = false;
			part_valid = false;
			break;
		default:
			break;
	}
}

/*
 * AuditInit registers the invalidation and transaction callbacks and the
 * setting that the maintenance code uses.
 */
void
AuditInit(void)
{
	DefineCustomBoolVariable("tenantcore.audit_internal",
							 gettext_noop("Set by tenantcore's own maintenance code to move audit entries between partitions."),
							 NULL,
							 &audit_internal,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("tenantcore.audit_seal_in_maintain",
							 gettext_noop("Makes tenantcore.audit_maintain() seal the audit log (tenantcore.audit_seal())."),
							 NULL,
							 &audit_seal_in_maintain,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	CacheRegisterRelcacheCallback(AuditRelcacheCallback, (Datum) 0);
	RegisterXactCallback(AuditXactCallback, NULL);
}

/*
 * tenantcore_creating_extension tells SQL code whether an extension script
 * is running (objects created now become extension members).
 */
Datum
tenantcore_creating_extension(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(creating_extension);
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
 * QualifiedRelationName returns "schema"."table" quoted like format('%I.%I').
 */
static char *
QualifiedRelationName(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));

	if (relname == NULL || nspname == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(nspname, relname);
}

/*
 * ColumnKind chooses how values of a type become JSONB, as to_jsonb() does.
 */
static JsonKind
ColumnKind(Oid basetype)
{
	if (basetype >= FirstNormalObjectId || type_is_array(basetype) ||
		type_is_rowtype(basetype))
		return JK_GENERIC;

	switch (basetype)
	{
		case BOOLOID:
			return JK_BOOL;
		case INT2OID:
			return JK_INT2;
		case INT4OID:
			return JK_INT4;
		case INT8OID:
			return JK_INT8;
		case FLOAT4OID:
		case FLOAT8OID:
			return JK_FLOAT;
		case NUMERICOID:
			return JK_NUMERIC;
		case TEXTOID:
		case VARCHAROID:
			return JK_TEXT;
		case JSONBOID:
			return JK_JSONB;
		case JSONOID:
			return JK_GENERIC;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return JK_DATETIME;
		default:
			return JK_OUTPUT;
	}
}

/*
 * InitColumn fills in how to convert the values of one column.
 */
static void
InitColumn(AuditColumn *col, Form_pg_attribute att)
{
	col->attnum = att->attnum;
	col->name = pstrdup(NameStr(att->attname));
	col->namelen = strlen(col->name);
	col->basetype = getBaseType(att->atttypid);
	col->kind = ColumnKind(col->basetype);
	col->typbyval = att->attbyval;
	col->typlen = att->attlen;

	if (col->kind == JK_GENERIC)
	{
		FuncExpr   *expr;

		/* to_jsonb(anyelement) learns the argument type from its call expression */
		fmgr_info_cxt(F_TO_JSONB, &col->func, CurrentMemoryContext);
		expr = makeFuncExpr(F_TO_JSONB, JSONBOID,
							list_make1(makeNullConst(att->atttypid, att->atttypmod, att->attcollation)),
							InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		fmgr_info_set_expr((Node *) expr, &col->func);
	}
	else if (col->kind == JK_FLOAT || col->kind == JK_NUMERIC || col->kind == JK_OUTPUT)
	{
		Oid			outfunc;
		bool		isvarlena;

		getTypeOutputInfo(col->basetype, &outfunc, &isvarlena);
		fmgr_info_cxt(outfunc, &col->func, CurrentMemoryContext);
	}
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
 * CompareKeys orders columns as JSONB orders object keys: shorter first,
 * then bytewise.
 */
static int
CompareKeys(const void *a, const void *b, void *arg)
{
	AuditColumn *columns = (AuditColumn *) arg;
	AuditColumn *ca = &columns[*(const int *) a];
	AuditColumn *cb = &columns[*(const int *) b];

	if (ca->namelen != cb->namelen)
		return (ca->namelen > cb->namelen) ? 1 : -1;
	return memcmp(ca->name, cb->name, ca->namelen);
}

/*
 * RegisteredTableId sets *out to the identity of relid in the registry of
 * audited tables (audited_tables.table_id, in the schema of the trigger
 * function funcid), read directly, without the privileges of the user;
 * false when relid is not audited.
 */
static bool
RegisteredTableId(Oid funcid, Oid relid, pg_uuid_t *out)
{
	Oid			regid = get_relname_relid("audited_tables", get_func_namespace(funcid));
	AttrNumber	relatt;
	AttrNumber	idatt;
	Relation	reg;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(regid))
		return false;
	relatt = get_attnum(regid, "rel");
	idatt = get_attnum(regid, "table_id");
	if (relatt == InvalidAttrNumber || idatt == InvalidAttrNumber)
		return false;

	reg = table_open(regid, AccessShareLock);
	ScanKeyInit(&key, relatt, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(reg, InvalidOid, false, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		id = heap_getattr(tuple, idatt, RelationGetDescr(reg), &isnull);

		if (!isnull)
		{
			*out = *DatumGetUUIDP(id);
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(reg, AccessShareLock);
	return found;
}

/*
 * CheckTableIdentity refuses a 'table:<uuid>' argument (arg) of an audit
 * trigger that is not the registered identity of the audited table relid:
 * entries written under another table's identity would show in that
 * table's history().  The identity is public (audited_tables is readable,
 * derived from the name), so a trigger attached by hand could name any.
 */
static void
CheckTableIdentity(Trigger *trigger, Relation rel, Oid relid, const char *arg,
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
						   QualifiedRelationName(relid)),
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
			if (!ParseUuid(arg + 6, &entry->table_id))
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
		InitColumn(&entry->columns[n], att);
		entry->columns[n].redact = redacted[att->attnum] && !pkey[att->attnum];
		entry->columns[n].pkey = pkey[att->attnum];
		n++;
	}
	entry->ncolumns = n;
	/* JSONB sorts an object's keys: push them sorted, the sort is then a check */
	entry->keyorder = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
		entry->keyorder[i] = i;
	qsort_arg(entry->keyorder, n, sizeof(int), CompareKeys, entry->columns);

	entry->rootid = TriggerRootRelation(trigger->tgoid);
	entry->table_name = QualifiedRelationName(entry->rootid);
	/* the identity must be the audited table's own, as the registry has it */
	if (entry->has_table_id)
		CheckTableIdentity(trigger, rel, entry->rootid, table_arg, &entry->table_id);
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
 * ReleaseTrigger ends the use of settings pinned by LookupTrigger.
 */
static void
ReleaseTrigger(AuditTrigger *trig)
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
 * LookupTrigger returns the resolved settings of the audit trigger firing
 * now, resolving them when missing or stale, pinned: the caller must
 * ReleaseTrigger() them, also on error.
 */
static AuditTrigger *
LookupTrigger(Trigger *trigger, Relation rel)
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

/*
 * ResolveLog finds audit_log, its sequence and its columns in the schema of
 * the trigger function.
 */
static void
ResolveLog(Oid funcid)
{
	Oid			nspid = get_func_namespace(funcid);
	uint64		inval_count = audit_inval_count;

	log_relid = get_relname_relid("audit_log", nspid);
	log_seqid = get_relname_relid("audit_log_id_seq", nspid);
	if (!OidIsValid(log_relid) || !OidIsValid(log_seqid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s.audit_log does not exist", get_namespace_name(nspid)),
				 errhint("Reinstall the tenantcore extension.")));
	for (int i = 0; i < LOG_NCOLUMNS; i++)
	{
		log_attnums[i] = get_attnum(log_relid, log_column_names[i]);
		if (log_attnums[i] == InvalidAttrNumber && i < LOG_FIRST_OPTIONAL)
			elog(ERROR, "column \"%s\" of audit_log does not exist", log_column_names[i]);
	}
	log_valid = (inval_count == audit_inval_count);
}

/*
 * PartitionFor returns the partition of the log that holds ts: a monthly
 * partition, or the default partition.
 */
static Oid
PartitionFor(Relation parent, TimestampTz ts)
{
	PartitionKey key = RelationGetPartitionKey(parent);
	PartitionDesc partdesc = RelationGetPartitionDesc(parent, true);
	PartitionBoundInfo bounds = partdesc->boundinfo;
	int			index = -1;

	if (bounds != NULL && bounds->ndatums > 0)
	{
		Datum		value = TimestampTzGetDatum(ts);
		bool		equal;
		int			offset;

		offset = partition_range_datum_bsearch(key->partsupfunc, key->partcollation,
											   bounds, 1, &value, &equal);
		index = bounds->indexes[offset + 1];
	}
	if (index < 0 && bounds != NULL && partition_bound_has_default(bounds))
		index = bounds->default_index;
	if (index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("no partition of tenantcore.audit_log holds %s", timestamptz_to_str(ts)),
				 errhint("Restore the default partition tenantcore.audit_log_default.")));
	return partdesc->oids[index];
}

/*
 * OpenLogWriter prepares, once per transaction and partition, what writing
 * entries into the partition needs: a slot of its row type and its indexes'
 * IndexInfo (built once instead of for every entry).  Everything lives in a
 * memory context below TopTransactionContext; the relations themselves are
 * opened for each entry (their locks are kept to the end of the transaction
 * anyway), so nothing stays open between trigger calls.
 */
static void
OpenLogWriter(Relation part)
{
	MemoryContext old;
	ResultRelInfo *rri;

	if (writer_cxt != NULL)
		MemoryContextDelete(writer_cxt);
	writer_cxt = AllocSetContextCreate(TopTransactionContext, "tenantcore audit writer",
									   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(writer_cxt);

	writer_estate = CreateExecutorState();
	writer_slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(part)),
										   &TTSOpsHeapTuple);
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, part, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	writer_index_oids = palloc(sizeof(Oid) * Max(rri->ri_NumIndices, 1));
	for (int i = 0; i < rri->ri_NumIndices; i++)
		writer_index_oids[i] = RelationGetRelid(rri->ri_IndexRelationDescs[i]);
	/* the IndexInfos stay; the index relations are opened again per entry */
	ExecCloseIndices(rri);
	writer_rri = rri;
	writer_partid = RelationGetRelid(part);
	writer_valid = true;

	MemoryContextSwitchTo(old);
}

/*
 * InsertLogEntry writes one entry into the partition of the log that holds
 * the transaction timestamp, maintaining its indexes.  No privilege check:
 * the entry comes from the trigger, never from the user.
 */
static void
InsertLogEntry(Oid funcid, Datum *values, bool *nulls)
{
	Datum		logvalues[MaxTupleAttributeNumber];
	bool		lognulls[MaxTupleAttributeNumber];
	TimestampTz ts = GetCurrentTransactionStartTimestamp();
	Relation	parent;
	Relation	part;
	TupleDesc	parentdesc;
	TupleConversionMap *map;
	HeapTuple	tuple;
	ResultRelInfo *rri;

	if (!log_valid)
		ResolveLog(funcid);

	parent = table_open(log_relid, RowExclusiveLock);
	for (;;)
	{
		if (!part_valid || part_lxid != MyLocalTransactionId() || part_ts != ts)
		{
			uint64		inval_count = audit_inval_count;

			part_relid = PartitionFor(parent, ts);
			part_lxid = MyLocalTransactionId();
			part_ts = ts;
			part_valid = (inval_count == audit_inval_count);
			writer_valid = false;
			part = table_open(part_relid, RowExclusiveLock);
			map = convert_tuples_by_name(RelationGetDescr(parent), RelationGetDescr(part));
			part_same_layout = (map == NULL);
			if (map != NULL)
				free_conversion_map(map);
		}
		else
			part = table_open(part_relid, RowExclusiveLock);
		/* locking may have brought news of a new or detached partition */
		if (part_valid)
			break;
		table_close(part, RowExclusiveLock);
	}
	if (!writer_valid || writer_partid != part_relid)
		OpenLogWriter(part);

	parentdesc = RelationGetDescr(parent);
	for (int i = 0; i < parentdesc->natts; i++)
	{
		logvalues[i] = (Datum) 0;
		lognulls[i] = true;
	}
	values[LOG_ID] = Int64GetDatum(nextval_internal(log_seqid, false));
	nulls[LOG_ID] = false;
	values[LOG_OCCURRED_AT] = TimestampTzGetDatum(ts);
	nulls[LOG_OCCURRED_AT] = false;
	for (int i = 0; i < LOG_NCOLUMNS; i++)
	{
		if (log_attnums[i] == InvalidAttrNumber)
			continue;
		logvalues[log_attnums[i] - 1] = values[i];
		lognulls[log_attnums[i] - 1] = nulls[i];
	}
	tuple = heap_form_tuple(parentdesc, logvalues, lognulls);
	if (!part_same_layout)
	{
		/* e.g. a partition attached with its columns in another order */
		map = convert_tuples_by_name(parentdesc, RelationGetDescr(part));
		if (map != NULL)
			tuple = execute_attr_map_tuple(tuple, map);
	}
	ExecStoreHeapTuple(tuple, writer_slot, false);

	rri = writer_rri;
	rri->ri_RelationDesc = part;
	for (int i = 0; i < rri->ri_NumIndices; i++)
		rri->ri_IndexRelationDescs[i] = index_open(writer_index_oids[i], RowExclusiveLock);

	table_tuple_insert(part, writer_slot, GetCurrentCommandId(true), 0, NULL);
	if (rri->ri_NumIndices > 0)
	{
#if PG_VERSION_NUM >= 160000
		list_free(ExecInsertIndexTuples(rri, writer_slot, writer_estate, false, false, NULL, NIL, false));
#else
		list_free(ExecInsertIndexTuples(rri, writer_slot, writer_estate, false, false, NULL, NIL));
#endif
	}
	ResetPerTupleExprContext(writer_estate);
	ExecClearTuple(writer_slot);

	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
#if PG_VERSION_NUM >= 170000
		/* BRIN keeps buffers pinned between inserts from 17 on */
		index_insert_cleanup(rri->ri_IndexRelationDescs[i], rri->ri_IndexRelationInfo[i]);
#endif
		index_close(rri->ri_IndexRelationDescs[i], NoLock);
		rri->ri_IndexRelationDescs[i] = NULL;
	}
	rri->ri_RelationDesc = NULL;
	table_close(part, NoLock);
	table_close(parent, NoLock);
}

/*
 * PushValue appends the JSONB form of one column value (as to_jsonb()
 * would build it) to the object being built.
 */
static void
PushValue(JsonbParseState **state, AuditColumn *col, Datum value, bool isnull)
{
	JsonbValue	v;
	char	   *str;

	if (isnull)
	{
		v.type = jbvNull;
		pushJsonbValue(state, WJB_VALUE, &v);
		return;
	}
	if (col->redact)
	{
		v.type = jbvString;
		v.val.string.val = REDACTED_MARKER;
		v.val.string.len = sizeof(REDACTED_MARKER) - 1;
		pushJsonbValue(state, WJB_VALUE, &v);
		return;
	}

	switch (col->kind)
	{
		case JK_BOOL:
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(value);
			break;
		case JK_INT2:
			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(DatumGetInt16(value));
			break;
		case JK_INT4:
			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(DatumGetInt32(value));
			break;
		case JK_INT8:
			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(DatumGetInt64(value));
			break;
		case JK_NUMERIC:
			{
				Numeric		num = DatumGetNumeric(value);

				if (!numeric_is_nan(num) && !numeric_is_inf(num))
				{
					v.type = jbvNumeric;
					v.val.numeric = num;
					break;
				}
				str = OutputFunctionCall(&col->func, value);
				v.type = jbvString;
				v.val.string.val = str;
				v.val.string.len = strlen(str);
				break;
			}
		case JK_FLOAT:
			str = OutputFunctionCall(&col->func, value);
			if (IsValidJsonNumber(str, strlen(str)))
			{
				v.type = jbvNumeric;
				v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(str),
																	ObjectIdGetDatum(InvalidOid),
																	Int32GetDatum(-1)));
			}
			else
			{
				v.type = jbvString;
				v.val.string.val = str;
				v.val.string.len = strlen(str);
			}
			break;
		case JK_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				v.type = jbvString;
				v.val.string.val = VARDATA_ANY(t);
				v.val.string.len = VARSIZE_ANY_EXHDR(t);
				break;
			}
		case JK_DATETIME:
			str = JsonEncodeDateTime(NULL, value, col->basetype, NULL);
			v.type = jbvString;
			v.val.string.val = str;
			v.val.string.len = strlen(str);
			break;
		case JK_OUTPUT:
			str = OutputFunctionCall(&col->func, value);
			v.type = jbvString;
			v.val.string.val = str;
			v.val.string.len = strlen(str);
			break;
		case JK_JSONB:
		case JK_GENERIC:
			{
				Jsonb	   *jb;

				if (col->kind == JK_JSONB)
					jb = DatumGetJsonbP(value);
				else
					jb = DatumGetJsonbP(FunctionCall1(&col->func, value));
				v.type = jbvBinary;
				v.val.binary.data = &jb->root;
				v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
				break;
			}
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * RowToJsonb builds the JSONB object of a row: every logged column, or, when
 * only is given, the columns marked in it.
 */
static Datum
RowToJsonb(AuditTrigger *trig, Datum *values, bool *nulls, bool *only)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int k = 0; k < trig->ncolumns; k++)
	{
		int			i = trig->keyorder[k];
		AuditColumn *col = &trig->columns[i];
		JsonbValue	key;

		if (only != NULL && !only[i])
			continue;
		key.type = jbvString;
		key.val.string.val = col->name;
		key.val.string.len = col->namelen;
		pushJsonbValue(&state, WJB_KEY, &key);
		PushValue(&state, col, values[col->attnum - 1], nulls[col->attnum - 1]);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(result));
}

/*
 * ValuesDiffer tells whether a column has a different value in two rows.
 */
static bool
ValuesDiffer(AuditColumn *col, Datum a, bool anull, Datum b, bool bnull)
{
	if (anull || bnull)
		return anull != bnull;
	/* the same bytes (an unchanged TOAST pointer, say) need no detoasting */
	if (datumIsEqual(a, b, col->typbyval, col->typlen))
		return false;
	if (col->typlen == -1)
	{
		/* compare the values, not how they happen to be stored */
		struct varlena *va = PG_DETOAST_DATUM_PACKED(a);
		struct varlena *vb = PG_DETOAST_DATUM_PACKED(b);

		return VARSIZE_ANY_EXHDR(va) != VARSIZE_ANY_EXHDR(vb) ||
			memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) != 0;
	}
	return !datumIsEqual(a, b, col->typbyval, col->typlen);
}

/*
 * SetContextValues fills in the columns of an entry that describe the
 * transaction and the session: transaction id, actor, user, application and
 * client address.
 */
static void
SetContextValues(Datum *values, bool *nulls)
{
	const pg_uuid_t *actor = CurrentActor();

	values[LOG_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	nulls[LOG_TXID] = false;

	if (actor != NULL)
	{
		pg_uuid_t  *copy = palloc(sizeof(pg_uuid_t));

		*copy = *actor;
		values[LOG_ACTOR_ID] = UUIDPGetDatum(copy);
		nulls[LOG_ACTOR_ID] = false;
	}

	if (db_user_text == NULL || db_user_id != GetSessionUserId())
	{
		char	   *name = GetUserNameFromId(GetSessionUserId(), false);

		if (db_user_text != NULL)
			pfree(db_user_text);
		db_user_text = MemoryContextAlloc(TopMemoryContext, VARHDRSZ + strlen(name));
		SET_VARSIZE(db_user_text, VARHDRSZ + strlen(name));
		memcpy(VARDATA(db_user_text), name, strlen(name));
		db_user_id = GetSessionUserId();
	}
	values[LOG_DB_USER] = PointerGetDatum(db_user_text);
	nulls[LOG_DB_USER] = false;

	if (application_name != NULL && application_name[0] != '\0')
	{
		/* kept as text until the setting changes */
		if (app_name_text == NULL || strcmp(app_name_cstr, application_name) != 0)
		{
			if (app_name_text != NULL)
			{
				pfree(app_name_text);
				pfree(app_name_cstr);
			}
			app_name_cstr = MemoryContextStrdup(TopMemoryContext, application_name);
			app_name_text = MemoryContextAlloc(TopMemoryContext, VARHDRSZ + strlen(app_name_cstr));
			SET_VARSIZE(app_name_text, VARHDRSZ + strlen(app_name_cstr));
			memcpy(VARDATA(app_name_text), app_name_cstr, strlen(app_name_cstr));
		}
		values[LOG_APPLICATION_NAME] = PointerGetDatum(app_name_text);
		nulls[LOG_APPLICATION_NAME] = false;
	}

	if (!client_addr_done)
	{
		LOCAL_FCINFO(fcinfo, 0);
		Datum		addr;

		InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
		addr = inet_client_addr(fcinfo);
		if (!fcinfo->isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			client_addr_value = datumCopy(addr, false, -1);
			MemoryContextSwitchTo(old);
		}
		client_addr_done = true;
	}
	if (client_addr_value != (Datum) 0)
	{
		values[LOG_CLIENT_ADDR] = client_addr_value;
		nulls[LOG_CLIENT_ADDR] = false;
	}
}

/*
 * SetTenant sets the tenant of an entry: the row's tenant column, else the
 * current tenant.
 */
static void
SetTenant(AuditTrigger *trig, Datum *rowvalues, bool *rownulls, Datum *values, bool *nulls)
{
	if (trig != NULL && trig->tenant_attnum > 0 && !rownulls[trig->tenant_attnum - 1])
	{
		values[LOG_ORGANIZATION_ID] = rowvalues[trig->tenant_attnum - 1];
		nulls[LOG_ORGANIZATION_ID] = false;
	}
	else
	{
		const pg_uuid_t *tenant = CurrentTenant();

		if (tenant != NULL)
		{
			pg_uuid_t  *copy = palloc(sizeof(pg_uuid_t));

			*copy = *tenant;
			values[LOG_ORGANIZATION_ID] = UUIDPGetDatum(copy);
			nulls[LOG_ORGANIZATION_ID] = false;
		}
	}
}

/*
 * OperationText returns INSERT (0), UPDATE (1) or DELETE (2) as text, made
 * once per backend.
 */
static Datum
OperationText(int op)
{
	static text *texts[3] = {NULL, NULL, NULL};
	static const char *const names[3] = {"INSERT", "UPDATE", "DELETE"};

	if (texts[op] == NULL)
	{
		text	   *t = MemoryContextAlloc(TopMemoryContext, VARHDRSZ + 6);

		SET_VARSIZE(t, VARHDRSZ + 6);
		memcpy(VARDATA(t), names[op], 6);
		texts[op] = t;
	}
	return PointerGetDatum(texts[op]);
}

/*
 * ComputeRecordId sets *out to the record id of a row: SHA-256 over the 16
 * bytes of the table identity and the text of the row's primary key as
 * JSONB (keys sorted, as JSONB keeps them), cut to 16 bytes and marked as a
 * version 8 (custom) uuid of the RFC 9562 variant.
 */
static void
ComputeRecordId(const pg_uuid_t *table_id, Jsonb *pk, pg_uuid_t *out)
{
	static EVP_MD *sha256 = NULL;
	static EVP_MD_CTX *ctx = NULL;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char	   *pktext;

	if (sha256 == NULL)
	{
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (sha256 == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not load SHA-256 from OpenSSL")));
	}
	if (ctx == NULL)
	{
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
	}
	pktext = JsonbToCString(NULL, &pk->root, VARSIZE(pk));
	if (EVP_DigestInit_ex2(ctx, sha256, NULL) != 1 ||
		EVP_DigestUpdate(ctx, table_id->data, UUID_LEN) != 1 ||
		EVP_DigestUpdate(ctx, pktext, strlen(pktext)) != 1 ||
		EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len < UUID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the record id of an audit entry")));
	pfree(pktext);
	memcpy(out->data, digest, UUID_LEN);
	out->data[6] = (out->data[6] & 0x0f) | 0x80;	/* version 8 */
	out->data[8] = (out->data[8] & 0x3f) | 0x80;	/* RFC 9562 variant */
}

/*
 * SetIdentity fills in the table identity and the record id of an entry
 * whose primary key is pk (NULL for a TRUNCATE: its record id is the table
 * identity itself).
 */
static void
SetIdentity(const pg_uuid_t *table_id, Datum pk, Datum *values, bool *nulls)
{
	pg_uuid_t  *tid;
	pg_uuid_t  *rid;

	if (table_id == NULL)
		return;
	tid = palloc(sizeof(pg_uuid_t));
	*tid = *table_id;
	values[LOG_TABLE_ID] = UUIDPGetDatum(tid);
	nulls[LOG_TABLE_ID] = false;
	if (pk == (Datum) 0)
		rid = tid;
	else
	{
		rid = palloc(sizeof(pg_uuid_t));
		ComputeRecordId(table_id, DatumGetJsonbP(pk), rid);
	}
	values[LOG_RECORD_ID] = UUIDPGetDatum(rid);
	nulls[LOG_RECORD_ID] = false;
}

/*
 * AuditRowWith writes the entry of one inserted, updated or deleted row with
 * the (pinned) settings of its trigger.
 */
static void
AuditRowWith(TriggerData *trigdata, AuditTrigger *trig, Oid funcid)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerEvent event = trigdata->tg_event;
	Datum		values[LOG_NCOLUMNS];
	bool		nulls[LOG_NCOLUMNS];
	Datum	   *oldvalues = NULL;
	bool	   *oldnulls = NULL;
	Datum	   *newvalues = NULL;
	bool	   *newnulls = NULL;
	bool	   *pkonly = trig->pkonly;
	Datum		operation;

	for (int i = 0; i < LOG_NCOLUMNS; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}

	if (TRIGGER_FIRED_BY_INSERT(event) || TRIGGER_FIRED_BY_UPDATE(event))
	{
		HeapTuple	tuple = TRIGGER_FIRED_BY_INSERT(event) ? trigdata->tg_trigtuple : trigdata->tg_newtuple;

		newvalues = palloc(sizeof(Datum) * desc->natts);
		newnulls = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(tuple, desc, newvalues, newnulls);
	}
	if (TRIGGER_FIRED_BY_DELETE(event) || TRIGGER_FIRED_BY_UPDATE(event))
	{
		oldvalues = palloc(sizeof(Datum) * desc->natts);
		oldnulls = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(trigdata->tg_trigtuple, desc, oldvalues, oldnulls);
	}

	if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		bool	   *keys = palloc(sizeof(bool) * trig->ncolumns);
		Datum	   *changed = palloc(sizeof(Datum) * trig->ncolumns);
		int			nchanged = 0;

		for (int i = 0; i < trig->ncolumns; i++)
		{
			AuditColumn *col = &trig->columns[i];
			int			j = col->attnum - 1;

			keys[i] = col->pkey;
			if (ValuesDiffer(col, oldvalues[j], oldnulls[j], newvalues[j], newnulls[j]))
			{
				keys[i] = true;
				changed[nchanged++] = trig->name_texts[i];
			}
		}
		/* an UPDATE that changes no logged column leaves no entry */
		if (nchanged == 0)
			return;

		operation = OperationText(1);
		values[LOG_OLD_ROW] = RowToJsonb(trig, oldvalues, oldnulls, trig->changed_only ? keys : NULL);
		values[LOG_NEW_ROW] = RowToJsonb(trig, newvalues, newnulls, trig->changed_only ? keys : NULL);
		nulls[LOG_OLD_ROW] = nulls[LOG_NEW_ROW] = false;
		values[LOG_CHANGED_COLUMNS] = PointerGetDatum(construct_array(changed, nchanged, TEXTOID, -1, false, TYPALIGN_INT));
		nulls[LOG_CHANGED_COLUMNS] = false;
		values[LOG_PK] = RowToJsonb(trig, newvalues, newnulls, pkonly);
		SetTenant(trig, newvalues, newnulls, values, nulls);
	}
	else if (TRIGGER_FIRED_BY_INSERT(event))
	{
		operation = OperationText(0);
		values[LOG_NEW_ROW] = RowToJsonb(trig, newvalues, newnulls, NULL);
		nulls[LOG_NEW_ROW] = false;
		values[LOG_PK] = RowToJsonb(trig, newvalues, newnulls, pkonly);
		SetTenant(trig, newvalues, newnulls, values, nulls);
	}
	else
	{
		operation = OperationText(2);
		values[LOG_OLD_ROW] = RowToJsonb(trig, oldvalues, oldnulls, NULL);
		nulls[LOG_OLD_ROW] = false;
		values[LOG_PK] = RowToJsonb(trig, oldvalues, oldnulls, pkonly);
		SetTenant(trig, oldvalues, oldnulls, values, nulls);
	}
	nulls[LOG_PK] = false;

	SetIdentity(trig->has_table_id ? &trig->table_id : NULL, values[LOG_PK], values, nulls);
	values[LOG_RELID] = ObjectIdGetDatum(trig->rootid);
	nulls[LOG_RELID] = false;
	values[LOG_TABLE_NAME] = PointerGetDatum(trig->table_name_text);
	nulls[LOG_TABLE_NAME] = false;
	values[LOG_OPERATION] = operation;
	nulls[LOG_OPERATION] = false;
	SetContextValues(values, nulls);

	InsertLogEntry(funcid, values, nulls);
}

/*
 * AuditRow writes the entry of one row, with the settings of its trigger
 * pinned while user code may run (converting values to JSONB).
 */
static void
AuditRow(TriggerData *trigdata, Oid funcid)
{
	AuditTrigger *volatile trig = LookupTrigger(trigdata->tg_trigger, trigdata->tg_relation);

	PG_TRY();
	{
		AuditRowWith(trigdata, trig, funcid);
	}
	PG_FINALLY();
	{
		ReleaseTrigger(trig);
	}
	PG_END_TRY();
}

/*
 * AuditTruncate writes the entry of a TRUNCATE.  Each truncated table with
 * rows of its own gets one; a partitioned table has none (its partitions'
 * triggers write theirs).
 */
static void
AuditTruncate(TriggerData *trigdata, Oid funcid)
{
	Relation	rel = trigdata->tg_relation;
	Datum		values[LOG_NCOLUMNS];
	bool		nulls[LOG_NCOLUMNS];

	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		return;

	for (int i = 0; i < LOG_NCOLUMNS; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
	SetTenant(NULL, NULL, NULL, values, nulls);
	/* the TRUNCATE trigger of the audited table itself names its identity */
	for (int i = 0; i < trigdata->tg_trigger->tgnargs; i++)
	{
		const char *arg = trigdata->tg_trigger->tgargs[i];
		pg_uuid_t	table_id;

		if (strncmp(arg, "table:", 6) == 0 && ParseUuid(arg + 6, &table_id))
		{
			CheckTableIdentity(trigdata->tg_trigger, rel, RelationGetRelid(rel), arg, &table_id);
			SetIdentity(&table_id, (Datum) 0, values, nulls);
		}
	}
	values[LOG_RELID] = ObjectIdGetDatum(RelationGetRelid(rel));
	nulls[LOG_RELID] = false;
	values[LOG_TABLE_NAME] = CStringGetTextDatum(QualifiedRelationName(RelationGetRelid(rel)));
	nulls[LOG_TABLE_NAME] = false;
	values[LOG_OPERATION] = CStringGetTextDatum("TRUNCATE");
	nulls[LOG_OPERATION] = false;
	SetContextValues(values, nulls);

	InsertLogEntry(funcid, values, nulls);
}

/*
 * tenantcore_audit_trigger is the audit trigger: AFTER INSERT, UPDATE or
 * DELETE FOR EACH ROW, or AFTER TRUNCATE FOR EACH STATEMENT.
 */
Datum
tenantcore_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenantcore.audit_trigger() must be called as a trigger")));
	event = trigdata->tg_event;
	if (!TRIGGER_FIRED_AFTER(event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenantcore.audit_trigger() must be fired AFTER the change"),
				 errhint("Install it with tenantcore.audit().")));

	if (TRIGGER_FIRED_BY_TRUNCATE(event))
		AuditTruncate(trigdata, fcinfo->flinfo->fn_oid);
	else if (TRIGGER_FIRED_FOR_ROW(event))
		AuditRow(trigdata, fcinfo->flinfo->fn_oid);
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenantcore.audit_trigger() must be fired FOR EACH ROW for INSERT, UPDATE and DELETE"),
				 errhint("Install it with tenantcore.audit().")));

	return PointerGetDatum(NULL);
}

/*
 * tenantcore_audit_record_id(table_id uuid, pk jsonb) returns the record id
 * that the audit trigger gives the entries of the row with that key (see
 * ComputeRecordId); history() and row_as_of() look entries up by it.
 */
Datum
tenantcore_audit_record_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *table_id = PG_GETARG_UUID_P(0);
	Jsonb	   *pk = PG_GETARG_JSONB_P(1);
	pg_uuid_t  *result = palloc(sizeof(pg_uuid_t));

	if (!JB_ROOT_IS_OBJECT(pk) || JB_ROOT_IS_SCALAR(pk))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the key of a record id must be a JSON object"),
				 errhint("Pass the primary key columns of the row, e.g. '{\"id\": 42}'.")));
	ComputeRecordId(table_id, pk, result);
	PG_RETURN_UUID_P(result);
}

/*
 * DigestItem feeds one item of a JSONB value to the digest: a tag byte, and
 * for strings, keys and numbers (withdata) the length (4 bytes, big-endian)
 * and the bytes.  Returns false when OpenSSL fails.
 */
static bool
DigestItem(EVP_MD_CTX *ctx, char tag, bool withdata, const char *data, uint32 len)
{
	unsigned char head[5];

	head[0] = (unsigned char) tag;
	if (!withdata)
		return EVP_DigestUpdate(ctx, head, 1) == 1;
	head[1] = (len >> 24) & 0xff;
	head[2] = (len >> 16) & 0xff;
	head[3] = (len >> 8) & 0xff;
	head[4] = len & 0xff;
	return EVP_DigestUpdate(ctx, head, 5) == 1 && (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1);
}

/*
 * HashJsonb sets digest (32 bytes) to the SHA-256 of a JSONB value walked
 * item by item in its own order (object keys sorted as JSONB keeps them):
 * each container's start and end, each key, each scalar with its type, a
 * string as its bytes, a number as its text.  The value is never rendered
 * as JSON text, so the work and memory are bounded by the value's size: a
 * string of control characters, which JSON text writes six bytes per
 * character, could not be rendered beyond 1 GB.
 */
static void
HashJsonb(Jsonb *jb, unsigned char *digest)
{
	static EVP_MD *sha256 = NULL;
	static EVP_MD_CTX *ctx = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	unsigned int len = 0;
	bool		ok;

	if (sha256 == NULL)
	{
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (sha256 == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not load SHA-256 from OpenSSL")));
	}
	if (ctx == NULL)
	{
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
	}

	ok = EVP_DigestInit_ex2(ctx, sha256, NULL) == 1;
	it = JsonbIteratorInit(&jb->root);
	while (ok && (tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				CHECK_FOR_INTERRUPTS();
				ok = DigestItem(ctx, v.val.array.rawScalar ? 'r' : '[', false, NULL, 0);
				break;
			case WJB_END_ARRAY:
				ok = DigestItem(ctx, ']', false, NULL, 0);
				break;
			case WJB_BEGIN_OBJECT:
				CHECK_FOR_INTERRUPTS();
				ok = DigestItem(ctx, '{', false, NULL, 0);
				break;
			case WJB_END_OBJECT:
				ok = DigestItem(ctx, '}', false, NULL, 0);
				break;
			case WJB_KEY:
				ok = DigestItem(ctx, 'k', true, v.val.string.val, v.val.string.len);
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				switch (v.type)
				{
					case jbvNull:
						ok = DigestItem(ctx, 'n', false, NULL, 0);
						break;
					case jbvBool:
						ok = DigestItem(ctx, v.val.boolean ? 't' : 'f', false, NULL, 0);
						break;
					case jbvString:
						ok = DigestItem(ctx, 's', true, v.val.string.val, v.val.string.len);
						break;
					case jbvNumeric:
						{
							char	   *num = DatumGetCString(DirectFunctionCall1(numeric_out,
																				  NumericGetDatum(v.val.numeric)));

							ok = DigestItem(ctx, 'd', true, num, strlen(num));
							pfree(num);
						}
						break;
					default:
						elog(ERROR, "unexpected jsonb value type %d", (int) v.type);
				}
				break;
			default:
				elog(ERROR, "unexpected jsonb iterator token %d", (int) tok);
		}
	}
	if (!ok || EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the hash of an audit entry")));
}

/*
 * tenantcore_audit_jsonb_hash(value jsonb) returns the SHA-256 of a JSONB
 * value (see HashJsonb); _audit_entry_hash() hashes the rows of an entry
 * with it.
 */
Datum
tenantcore_audit_jsonb_hash(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	bytea	   *result = palloc(VARHDRSZ + 32);

	SET_VARSIZE(result, VARHDRSZ + 32);
	HashJsonb(jb, (unsigned char *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

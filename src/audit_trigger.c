/*-------------------------------------------------------------------------
 *
 * audit_trigger.c
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
 * The settings are resolved and cached per trigger by audit_settings.c, the
 * rows become JSONB in audit_json.c and the entry is written by
 * audit_log.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "audit_ids.h"
#include "audit_json.h"
#include "audit_log.h"
#include "audit_settings.h"
#include "audit_trigger.h"
#include "context.h"
#include "util.h"

PG_FUNCTION_INFO_V1(tenantcore_audit_trigger);
PG_FUNCTION_INFO_V1(tenantcore_creating_extension);
PG_FUNCTION_INFO_V1(tenantcore_audit_record_id);

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
	tc_audit_settings_invalidate(relid);
	tc_audit_log_invalidate(relid);
}

/*
 * tc_audit_init registers the invalidation and transaction callbacks and the
 * setting that the maintenance code uses.
 */
void
tc_audit_init(void)
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
	tc_audit_log_init();
	tc_audit_ids_init();
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
 * RowToJsonb builds the JSONB object of a row with the settings of its
 * trigger: every logged column, or, when only is given, the columns marked
 * in it.
 */
static inline Datum
RowToJsonb(AuditTrigger *trig, Datum *values, bool *nulls, bool *only)
{
	return tc_audit_row_to_jsonb(trig->columns, trig->keyorder, trig->ncolumns,
								 values, nulls, only);
}

/*
 * SessionText returns len bytes of s as a text in TopMemoryContext, for the
 * values an entry takes from the session and keeps until they change.
 */
static text *
SessionText(const char *s, size_t len)
{
	text	   *t = MemoryContextAlloc(TopMemoryContext, VARHDRSZ + len);

	SET_VARSIZE(t, VARHDRSZ + len);
	memcpy(VARDATA(t), s, len);
	return t;
}

/*
 * SetContextValues fills in the columns of an entry that describe the
 * transaction and the session: transaction id, actor, user, application and
 * client address.
 */
static void
SetContextValues(Datum *values, bool *nulls)
{
	const pg_uuid_t *actor = tc_current_actor();

	values[LOG_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	nulls[LOG_TXID] = false;

	if (actor != NULL)
	{
		values[LOG_ACTOR_ID] = tc_uuid_datum(actor);
		nulls[LOG_ACTOR_ID] = false;
	}

	if (db_user_text == NULL || db_user_id != GetSessionUserId())
	{
		char	   *name = GetUserNameFromId(GetSessionUserId(), false);

		if (db_user_text != NULL)
			pfree(db_user_text);
		db_user_text = SessionText(name, strlen(name));
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
			app_name_text = SessionText(app_name_cstr, strlen(app_name_cstr));
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
		const pg_uuid_t *tenant = tc_current_tenant();

		if (tenant != NULL)
		{
			values[LOG_ORGANIZATION_ID] = tc_uuid_datum(tenant);
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
		texts[op] = SessionText(names[op], 6);
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
	TcBytes		parts[2];
	uint8		digest[TC_SHA256_LEN];
	char	   *pktext;

	pktext = JsonbToCString(NULL, &pk->root, VARSIZE(pk));
	parts[0].data = table_id->data;
	parts[0].len = UUID_LEN;
	parts[1].data = pktext;
	parts[1].len = strlen(pktext);
	if (!tc_sha256(parts, 2, digest))
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
	pg_uuid_t  *rid;

	if (table_id == NULL)
		return;
	values[LOG_TABLE_ID] = tc_uuid_datum(table_id);
	nulls[LOG_TABLE_ID] = false;
	if (pk == (Datum) 0)
		values[LOG_RECORD_ID] = values[LOG_TABLE_ID];
	else
	{
		rid = palloc(sizeof(pg_uuid_t));
		ComputeRecordId(table_id, DatumGetJsonbP(pk), rid);
		values[LOG_RECORD_ID] = UUIDPGetDatum(rid);
	}
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
	Oid			target;

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

	target = trig->log_target;
	if (OidIsValid(trig->log_by_tenant))
	{
		/* a reference table's row: written by the node of its tenant's shard */
		target = tc_audit_tenant_log_shard(trig, &values[LOG_ORGANIZATION_ID], &nulls[LOG_ORGANIZATION_ID]);
		if (!OidIsValid(target))
			return;
	}
	tc_audit_log_insert(funcid, target, values, nulls);
}

/*
 * AuditRow writes the entry of one row, with the settings of its trigger
 * pinned while user code may run (converting values to JSONB).
 */
static void
AuditRow(TriggerData *trigdata, Oid funcid)
{
	AuditTrigger *volatile trig = tc_audit_lookup_trigger(trigdata->tg_trigger, trigdata->tg_relation);

	PG_TRY();
	{
		AuditRowWith(trigdata, trig, funcid);
	}
	PG_FINALLY();
	{
		tc_audit_release_trigger(trig);
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
	Oid			relid = RelationGetRelid(rel);
	Oid			target;
	Datum		values[LOG_NCOLUMNS];
	bool		nulls[LOG_NCOLUMNS];

	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		return;
	/* a shard's TRUNCATE: an entry per shard, in the log's co-located shard */
	target = tc_audit_log_target(funcid, rel, &relid, NULL);

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

		if (strncmp(arg, "table:", 6) == 0 && tc_parse_uuid(arg + 6, &table_id))
		{
			tc_audit_check_table_identity(trigdata->tg_trigger, rel, relid, arg, &table_id);
			SetIdentity(&table_id, (Datum) 0, values, nulls);
		}
	}
	values[LOG_RELID] = ObjectIdGetDatum(relid);
	nulls[LOG_RELID] = false;
	values[LOG_TABLE_NAME] = CStringGetTextDatum(tc_qualified_relation_name(relid));
	nulls[LOG_TABLE_NAME] = false;
	values[LOG_OPERATION] = CStringGetTextDatum("TRUNCATE");
	nulls[LOG_OPERATION] = false;
	SetContextValues(values, nulls);

	tc_audit_log_insert(funcid, target, values, nulls);
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

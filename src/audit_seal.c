/*-------------------------------------------------------------------------
 *
 * audit_seal.c
 *		The hash of one audit entry, which the seals of the log chain
 *		(tenantcore._audit_entry_hash()).
 *
 * An entry's hash is the SHA-256 of the UTF-8 text of a JSON array of its
 * columns, exactly the text that
 *
 *	jsonb_build_array(l.id, l.organization_id, l.occurred_at, l.txid::text,
 *		l.relid::bigint, l.table_name, l.operation,
 *		encode(_audit_jsonb_hash(l.pk), 'hex'),
 *		encode(_audit_jsonb_hash(l.old_row), 'hex'),
 *		encode(_audit_jsonb_hash(l.new_row), 'hex'), l.changed_columns,
 *		l.actor_id, l.db_user, l.application_name, l.client_addr::text,
 *		l.table_id, l.record_id)::text
 *
 * gives with TimeZone UTC (the callers pin it): numbers in decimal, strings
 * quoted and escaped as JSON, timestamps in ISO 8601, ", " between items,
 * null for NULL.  That expression was the function's SQL body until 0.8.0
 * and stays its definition (doc/audit.md, "Seals"; test/pgtap/
 * audit_entry_hash.sql compares the two); written here, the text is built
 * without looking up the JSON category and output function of each of the
 * 17 values of every entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "audit_json.h"
#include "audit_log.h"
#include "audit_seal.h"
#include "util.h"

PG_FUNCTION_INFO_V1(tenantcore_audit_entry_hash);

/*
 * The columns of an entry in the order of the hashed array (the hash's
 * definition: it never changes, whatever columns the log gains) and their
 * types; their names are the log writer's (audit_log.c).
 */
static const struct
{
	int			column;			/* LOG_* */
	Oid			type;
}			hashed[] =
{
	{LOG_ID, INT8OID},
	{LOG_ORGANIZATION_ID, UUIDOID},
	{LOG_OCCURRED_AT, TIMESTAMPTZOID},
	{LOG_TXID, XID8OID},
	{LOG_RELID, OIDOID},
	{LOG_TABLE_NAME, TEXTOID},
	{LOG_OPERATION, TEXTOID},
	{LOG_PK, JSONBOID},
	{LOG_OLD_ROW, JSONBOID},
	{LOG_NEW_ROW, JSONBOID},
	{LOG_CHANGED_COLUMNS, TEXTARRAYOID},
	{LOG_ACTOR_ID, UUIDOID},
	{LOG_DB_USER, TEXTOID},
	{LOG_APPLICATION_NAME, TEXTOID},
	{LOG_CLIENT_ADDR, INETOID},
	{LOG_TABLE_ID, UUIDOID},
	{LOG_RECORD_ID, UUIDOID},
};

#define NHASHED lengthof(hashed)

/* where each column is in the row type, kept in fn_extra per call site */
typedef struct EntryLayout
{
	Oid			typid;
	int32		typmod;
	int			index[NHASHED];	/* 0-based attribute index */
}			EntryLayout;

/*
 * Layout finds the entry's columns in its row type (desc), once per call
 * site and row type.
 */
static EntryLayout *
Layout(FunctionCallInfo fcinfo, TupleDesc desc, Oid typid, int32 typmod)
{
	EntryLayout *layout = (EntryLayout *) fcinfo->flinfo->fn_extra;

	if (layout != NULL && layout->typid == typid && layout->typmod == typmod)
		return layout;
	if (layout == NULL)
		layout = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(EntryLayout));
	layout->typid = InvalidOid;

	for (int c = 0; c < NHASHED; c++)
	{
		const char *name = tc_audit_log_column_names[hashed[c].column];

		layout->index[c] = -1;
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			{
				if (att->atttypid != hashed[c].type)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("column \"%s\" of an audit entry is of type %s, not %s",
									name, format_type_be(att->atttypid),
									format_type_be(hashed[c].type))));
				layout->index[c] = i;
				break;
			}
		}
		if (layout->index[c] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("an audit entry has no column \"%s\"", name)));
	}
	layout->typid = typid;
	layout->typmod = typmod;
	fcinfo->flinfo->fn_extra = layout;
	return layout;
}

/*
 * AppendString appends a string as a JSON string, and adds its length to
 * *total.  A string longer than a JSONB string can be fails as the SQL
 * definition fails.
 */
static void
AppendString(StringInfo out, const char *str, uint64 *total)
{
	size_t		len = strlen(str);

	if (len > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string too long to represent as jsonb string"),
				 errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
						   JENTRY_OFFLENMASK)));
	*total += len;
	escape_json(out, str);
}

/*
 * AppendArrayAsJsonb appends an array as to_jsonb() renders it, by the
 * element type the value itself names: the way for a changed_columns value
 * that is not a text[] inside (only a crafted value can be).
 */
static void
AppendArrayAsJsonb(StringInfo out, Datum value)
{
	FmgrInfo	flinfo;
	Jsonb	   *jb;

	/* the array path of to_jsonb() reads the element type from the value */
	tc_to_jsonb_info(TEXTARRAYOID, -1, InvalidOid, &flinfo);
	jb = DatumGetJsonbP(FunctionCall1(&flinfo, value));
	appendStringInfoString(out, JsonbToCString(NULL, &jb->root, VARSIZE(jb)));
}

/*
 * AppendTextArrayDim appends dimension dim of a text array as a JSON array,
 * as to_jsonb() renders it (nested arrays for more dimensions).
 */
static void
AppendTextArrayDim(StringInfo out, int dim, int ndim, const int *dims,
				   const Datum *elems, const bool *nulls, int *next, uint64 *total)
{
	appendStringInfoChar(out, '[');
	for (int i = 0; i < dims[dim]; i++)
	{
		if (i > 0)
			appendBinaryStringInfo(out, ", ", 2);
		if (dim + 1 < ndim)
			AppendTextArrayDim(out, dim + 1, ndim, dims, elems, nulls, next, total);
		else
		{
			if (nulls[*next])
				appendStringInfoString(out, "null");
			else
				AppendString(out, TextDatumGetCString(elems[*next]), total);
			(*next)++;
		}
	}
	appendStringInfoChar(out, ']');
}

/*
 * AppendValue appends one column of the entry as an item of the JSON array,
 * adding the length of its strings to *total.
 */
static void
AppendValue(StringInfo out, int column, Datum value, uint64 *total)
{
	switch (column)
	{
		case LOG_ID:
			appendStringInfo(out, INT64_FORMAT, DatumGetInt64(value));
			break;
		case LOG_RELID:
			appendStringInfo(out, INT64_FORMAT, (int64) DatumGetObjectId(value));
			break;
		case LOG_TXID:
			appendStringInfo(out, "\"" UINT64_FORMAT "\"",
							 U64FromFullTransactionId(DatumGetFullTransactionId(value)));
			break;
		case LOG_OCCURRED_AT:
			escape_json(out, JsonEncodeDateTime(NULL, value, TIMESTAMPTZOID, NULL));
			break;
		case LOG_ORGANIZATION_ID:
		case LOG_ACTOR_ID:
		case LOG_TABLE_ID:
		case LOG_RECORD_ID:
			escape_json(out, DatumGetCString(DirectFunctionCall1(uuid_out, value)));
			break;
		case LOG_TABLE_NAME:
		case LOG_OPERATION:
		case LOG_DB_USER:
		case LOG_APPLICATION_NAME:
			AppendString(out, TextDatumGetCString(value), total);
			break;
		case LOG_CLIENT_ADDR:
			/* inet::text: the address with its mask length, always */
			escape_json(out, TextDatumGetCString(DirectFunctionCall1(network_show, value)));
			break;
		case LOG_PK:
		case LOG_OLD_ROW:
		case LOG_NEW_ROW:
			{
				unsigned char digest[TC_SHA256_LEN];
				char		hex[2 * TC_SHA256_LEN + 1];

				tc_audit_jsonb_hash(DatumGetJsonbP(value), digest);
				hex_encode((const char *) digest, TC_SHA256_LEN, hex);
				hex[2 * TC_SHA256_LEN] = '\0';
				appendStringInfo(out, "\"%s\"", hex);
				break;
			}
		case LOG_CHANGED_COLUMNS:
			{
				ArrayType  *arr = DatumGetArrayTypeP(value);
				Datum	   *elems;
				bool	   *nulls;
				int			n;
				int			next = 0;

				if (ARR_ELEMTYPE(arr) != TEXTOID)
				{
					AppendArrayAsJsonb(out, PointerGetDatum(arr));
					break;
				}
				deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
				if (n == 0)
					appendStringInfoString(out, "[]");
				else
					AppendTextArrayDim(out, 0, ARR_NDIM(arr), ARR_DIMS(arr), elems, nulls, &next, total);
				break;
			}
		default:
			elog(ERROR, "audit entry column %d is not hashed", column);
	}
}

/*
 * EntryHash sets digest to the hash of the entry whose column values are
 * values/nulls (in the order of hashed[]).
 */
static void
EntryHash(const Datum *values, const bool *nulls, uint8 *digest)
{
	StringInfoData out;
	char	   *utf8;
	TcBytes		part;
	uint64		total = 0;

	initStringInfo(&out);
	appendStringInfoChar(&out, '[');
	for (int c = 0; c < NHASHED; c++)
	{
		if (c > 0)
			appendBinaryStringInfo(&out, ", ", 2);
		if (nulls[c])
			appendStringInfoString(&out, "null");
		else
			AppendValue(&out, hashed[c].column, values[c], &total);
	}
	appendStringInfoChar(&out, ']');
	/* the strings alone: the SQL definition's array would hold a little more */
	if (total > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("total size of jsonb array elements exceeds the maximum of %d bytes",
						JENTRY_OFFLENMASK)));

	utf8 = pg_server_to_any(out.data, out.len, PG_UTF8);
	part.data = utf8;
	part.len = strlen(utf8);
	if (!tc_sha256(&part, 1, digest))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the hash of an audit entry")));
	if (utf8 != out.data)
		pfree(utf8);
	pfree(out.data);
}

/*
 * tenantcore_audit_entry_hash(l tenantcore.audit_log) returns the hash of
 * one entry (see the top of this file); a NULL entry hashes as one whose
 * columns are all NULL, as the SQL expression does.
 */
Datum
tenantcore_audit_entry_hash(PG_FUNCTION_ARGS)
{
	Datum		values[NHASHED];
	bool		nulls[NHASHED];
	bytea	   *result = palloc(VARHDRSZ + TC_SHA256_LEN);

	for (int c = 0; c < NHASHED; c++)
	{
		values[c] = (Datum) 0;
		nulls[c] = true;
	}
	if (!PG_ARGISNULL(0))
	{
		HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(0);
		Oid			typid = HeapTupleHeaderGetTypeId(rec);
		int32		typmod = HeapTupleHeaderGetTypMod(rec);
		TupleDesc	desc = lookup_rowtype_tupdesc(typid, typmod);
		EntryLayout *layout;
		HeapTupleData tuple;
		Datum	   *rowvalues = palloc(sizeof(Datum) * desc->natts);
		bool	   *rownulls = palloc(sizeof(bool) * desc->natts);

		/* on an error the resource owner releases desc */
		layout = Layout(fcinfo, desc, typid, typmod);
		tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
		ItemPointerSetInvalid(&tuple.t_self);
		tuple.t_tableOid = InvalidOid;
		tuple.t_data = rec;
		heap_deform_tuple(&tuple, desc, rowvalues, rownulls);
		ReleaseTupleDesc(desc);
		for (int c = 0; c < NHASHED; c++)
		{
			values[c] = rowvalues[layout->index[c]];
			nulls[c] = rownulls[layout->index[c]];
		}
	}
	EntryHash(values, nulls, (uint8 *) VARDATA(result));
	SET_VARSIZE(result, VARHDRSZ + TC_SHA256_LEN);
	PG_RETURN_BYTEA_P(result);
}

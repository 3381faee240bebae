/*-------------------------------------------------------------------------
 *
 * audit_json.c
 *		Rows of audited tables as JSONB, for the audit log.
 *
 * Rows are converted to JSONB here, column by column, with the same result
 * as to_jsonb(): numbers as numbers, booleans, json and jsonb embedded,
 * date and time values in ISO 8601, arrays and composites as JSON.  Common
 * scalar types take a fast path; everything else goes through to_jsonb().
 * Redacted columns keep their key with a marker as the value.  The seals of
 * the log hash JSONB values item by item (tenantcore._audit_jsonb_hash()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "audit_json.h"
#include "util.h"

#define REDACTED_MARKER "[redacted]"

PG_FUNCTION_INFO_V1(tenantcore_audit_jsonb_hash);

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
 * tc_to_jsonb_info sets finfo (in CurrentMemoryContext) to call to_jsonb()
 * on values of the given type: to_jsonb(anyelement) learns the argument type
 * from its call expression.
 */
void
tc_to_jsonb_info(Oid type, int32 typmod, Oid collation, FmgrInfo *finfo)
{
	FuncExpr   *expr;

	fmgr_info(F_TO_JSONB, finfo);
	expr = makeFuncExpr(F_TO_JSONB, JSONBOID, list_make1(makeNullConst(type, typmod, collation)),
						InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	fmgr_info_set_expr((Node *) expr, finfo);
}

/*
 * tc_audit_column_init fills in how to convert the values of one column.
 */
void
tc_audit_column_init(AuditColumn *col, Form_pg_attribute att)
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
		tc_to_jsonb_info(att->atttypid, att->atttypmod, att->attcollation, &col->func);
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
 * tc_audit_sort_keys sorts keyorder (indexes into columns) into the order in
 * which JSONB keeps the keys of an object.
 */
void
tc_audit_sort_keys(int *keyorder, int n, AuditColumn *columns)
{
	qsort_arg(keyorder, n, sizeof(int), CompareKeys, columns);
}

/*
 * JsonbItem is one value of the object being written: a JEntry type and,
 * for strings, numbers and containers, the bytes to copy.
 */
typedef struct JsonbItem
{
	const AuditColumn *col;		/* its key */
	uint32		type;			/* JENTRY_IS* */
	const char *data;
	uint32		len;
} JsonbItem;

/*
 * ItemOfScalar fills in the item of a scalar JsonbValue.
 */
static void
ItemOfScalar(JsonbValue *v, JsonbItem *item)
{
	switch (v->type)
	{
		case jbvNull:
			item->type = JENTRY_ISNULL;
			break;
		case jbvBool:
			item->type = v->val.boolean ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
			break;
		case jbvString:
			item->type = JENTRY_ISSTRING;
			item->data = v->val.string.val;
			item->len = v->val.string.len;
			break;
		case jbvNumeric:
			item->type = JENTRY_ISNUMERIC;
			item->data = (const char *) v->val.numeric;
			item->len = VARSIZE_ANY(v->val.numeric);
			break;
		default:
			elog(ERROR, "unexpected jsonb scalar type %d", (int) v->type);
	}
}

/*
 * SetString makes item the string str.
 */
static inline void
SetString(JsonbItem *item, const char *str, size_t len)
{
	item->type = JENTRY_ISSTRING;
	item->data = str;
	item->len = len;
}

/*
 * SetNumeric makes item the number num, its bytes copied as they are (as
 * PostgreSQL's own JSONB code copies them; a detoasted numeric has a 4-byte
 * header).
 */
static inline void
SetNumeric(JsonbItem *item, Numeric num)
{
	item->type = JENTRY_ISNUMERIC;
	item->data = (const char *) num;
	item->len = VARSIZE_ANY(num);
}

/*
 * ItemOf sets item to the JSONB form of one column value, as to_jsonb()
 * would build it.
 */
static void
ItemOf(AuditColumn *col, Datum value, bool isnull, JsonbItem *item)
{
	char	   *str;

	item->data = NULL;
	item->len = 0;
	if (isnull)
	{
		item->type = JENTRY_ISNULL;
		return;
	}
	if (col->redact)
	{
		SetString(item, REDACTED_MARKER, sizeof(REDACTED_MARKER) - 1);
		return;
	}

	switch (col->kind)
	{
		case JK_BOOL:
			item->type = DatumGetBool(value) ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
			break;
		case JK_INT2:
			SetNumeric(item, int64_to_numeric(DatumGetInt16(value)));
			break;
		case JK_INT4:
			SetNumeric(item, int64_to_numeric(DatumGetInt32(value)));
			break;
		case JK_INT8:
			SetNumeric(item, int64_to_numeric(DatumGetInt64(value)));
			break;
		case JK_NUMERIC:
			{
				/* detoasted: a stored numeric may have a 1-byte header */
				Numeric		num = DatumGetNumeric(value);

				if (!numeric_is_nan(num) && !numeric_is_inf(num))
					SetNumeric(item, num);
				else
				{
					str = OutputFunctionCall(&col->func, value);
					SetString(item, str, strlen(str));
				}
				break;
			}
		case JK_FLOAT:
			str = OutputFunctionCall(&col->func, value);
			if (IsValidJsonNumber(str, strlen(str)))
				SetNumeric(item, DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(str),
																	 ObjectIdGetDatum(InvalidOid),
																	 Int32GetDatum(-1))));
			else
				SetString(item, str, strlen(str));
			break;
		case JK_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				SetString(item, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				break;
			}
		case JK_DATETIME:
			str = JsonEncodeDateTime(NULL, value, col->basetype, NULL);
			SetString(item, str, strlen(str));
			break;
		case JK_OUTPUT:
			str = OutputFunctionCall(&col->func, value);
			SetString(item, str, strlen(str));
			break;
		case JK_JSONB:
		case JK_GENERIC:
			{
				Jsonb	   *jb;

				if (col->kind == JK_JSONB)
					jb = DatumGetJsonbP(value);
				else
					jb = DatumGetJsonbP(FunctionCall1(&col->func, value));
				if (JB_ROOT_IS_SCALAR(jb))
				{
					/* a scalar is kept as a one-element array: embed the scalar */
					JsonbValue	v;

					if (!JsonbExtractScalar(&jb->root, &v))
						elog(ERROR, "could not read a scalar jsonb value");
					ItemOfScalar(&v, item);
				}
				else
				{
					/* an array or object: its container, as it is */
					item->type = JENTRY_ISCONTAINER;
					item->data = (const char *) &jb->root;
					item->len = VARSIZE(jb) - VARHDRSZ;
				}
				break;
			}
	}
}

/*
 * CheckObjectSize raises the error that PostgreSQL raises for an object whose
 * keys and values exceed what a JSONB object can hold.
 */
static inline void
CheckObjectSize(uint64 totallen)
{
	if (totallen > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("total size of jsonb object elements exceeds the maximum of %d bytes",
						JENTRY_OFFLENMASK)));
}

/*
 * tc_audit_row_to_jsonb builds the JSONB object of a row: every logged column,
 * or, when only is given, the columns marked in it.
 *
 * The object is written directly in JSONB's binary form (format 1, the one
 * utils/jsonb.h describes and pg_upgrade keeps), byte for byte what
 * to_jsonb() of the row would store: a header with the number of pairs, a
 * JEntry per key then per value (every JB_OFFSET_STRIDE'th holding the end
 * offset instead of the length), the keys' bytes in JSONB's key order
 * (computed once per trigger), then the values, numbers and containers
 * aligned to 4 bytes with the padding counted in their length.  A JSONB or
 * to_jsonb() value that is an array or object is copied as it is; its
 * offsets are relative to its own start, which is aligned.  Building the
 * same object with pushJsonbValue() and JsonbValueToJsonb() copied every
 * key and value twice, sorted the keys again and unpacked embedded JSONB
 * values item by item (doc/audit.md, "Cost").
 */
Datum
tc_audit_row_to_jsonb(AuditColumn *columns, const int *keyorder, int ncolumns,
					  Datum *values, bool *nulls, bool *only)
{
	JsonbItem  *items = palloc(sizeof(JsonbItem) * Max(ncolumns, 1));
	int			n = 0;
	uint64		datalen = 0;
	char	   *buf;
	JEntry	   *entries;
	uint32		header;
	Size		pos;
	uint32		totallen = 0;

	for (int k = 0; k < ncolumns; k++)
	{
		int			i = keyorder[k];
		AuditColumn *col = &columns[i];

		if (only != NULL && !only[i])
			continue;
		ItemOf(col, values[col->attnum - 1], nulls[col->attnum - 1], &items[n]);
		items[n].col = col;
		datalen += col->namelen + items[n].len;
		n++;
	}
	CheckObjectSize(datalen);

	/* room for the header, the JEntries, the data and its alignment padding */
	buf = palloc(VARHDRSZ + sizeof(uint32) + 2 * n * sizeof(JEntry) + datalen + 3 * n);
	pos = VARHDRSZ;
	header = n | JB_FOBJECT;
	memcpy(buf + pos, &header, sizeof(uint32));
	pos += sizeof(uint32);
	entries = (JEntry *) (buf + pos);
	pos += 2 * n * sizeof(JEntry);

	for (int i = 0; i < n; i++)
	{
		const AuditColumn *col = items[i].col;
		JEntry		meta = col->namelen;

		memcpy(buf + pos, col->name, col->namelen);
		pos += col->namelen;
		totallen += col->namelen;
		if (i % JB_OFFSET_STRIDE == 0)
			meta = totallen | JENTRY_HAS_OFF;
		entries[i] = meta;
	}
	for (int i = 0; i < n; i++)
	{
		JsonbItem  *item = &items[i];
		uint32		len = item->len;
		JEntry		meta;

		if (item->type == JENTRY_ISNUMERIC || item->type == JENTRY_ISCONTAINER)
		{
			Size		padlen = INTALIGN(pos) - pos;

			memset(buf + pos, 0, padlen);
			pos += padlen;
			len += padlen;
		}
		if (item->len > 0)
			memcpy(buf + pos, item->data, item->len);
		pos += item->len;
		totallen += len;
		CheckObjectSize(totallen);
		meta = item->type | len;
		if ((i + n) % JB_OFFSET_STRIDE == 0)
			meta = item->type | totallen | JENTRY_HAS_OFF;
		entries[n + i] = meta;
	}
	SET_VARSIZE(buf, pos);
	pfree(items);
	return PointerGetDatum(buf);
}

/*
 * DigestItem feeds one item of a JSONB value to the digest: a tag byte, and
 * for strings, keys and numbers (withdata) the length (4 bytes, big-endian)
 * and the bytes.  Returns false when OpenSSL fails.
 */
static bool
DigestItem(char tag, bool withdata, const char *data, uint32 len)
{
	unsigned char head[5];

	head[0] = (unsigned char) tag;
	if (!withdata)
		return tc_sha256_update(head, 1);
	head[1] = (len >> 24) & 0xff;
	head[2] = (len >> 16) & 0xff;
	head[3] = (len >> 8) & 0xff;
	head[4] = len & 0xff;
	return tc_sha256_update(head, 5) && (len == 0 || tc_sha256_update(data, len));
}

/*
 * tc_audit_jsonb_hash sets digest (TC_SHA256_LEN bytes) to the SHA-256 of a JSONB value
 * walked item by item in its own order (object keys sorted as JSONB keeps
 * them): each container's start and end, each key, each scalar with its type,
 * a string as its bytes, a number as its text.  The value is never rendered as
 * JSON text, so the work and memory are bounded by the value's size: a string
 * of control characters, which JSON text writes six bytes per character, could
 * not be rendered beyond 1 GB.
 */
void
tc_audit_jsonb_hash(Jsonb *jb, unsigned char *digest)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		ok;

	ok = tc_sha256_begin();
	it = JsonbIteratorInit(&jb->root);
	while (ok && (tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				CHECK_FOR_INTERRUPTS();
				ok = DigestItem(v.val.array.rawScalar ? 'r' : '[', false, NULL, 0);
				break;
			case WJB_END_ARRAY:
				ok = DigestItem(']', false, NULL, 0);
				break;
			case WJB_BEGIN_OBJECT:
				CHECK_FOR_INTERRUPTS();
				ok = DigestItem('{', false, NULL, 0);
				break;
			case WJB_END_OBJECT:
				ok = DigestItem('}', false, NULL, 0);
				break;
			case WJB_KEY:
				ok = DigestItem('k', true, v.val.string.val, v.val.string.len);
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				switch (v.type)
				{
					case jbvNull:
						ok = DigestItem('n', false, NULL, 0);
						break;
					case jbvBool:
						ok = DigestItem(v.val.boolean ? 't' : 'f', false, NULL, 0);
						break;
					case jbvString:
						ok = DigestItem('s', true, v.val.string.val, v.val.string.len);
						break;
					case jbvNumeric:
						{
							char	   *num = DatumGetCString(DirectFunctionCall1(numeric_out,
																				  NumericGetDatum(v.val.numeric)));

							ok = DigestItem('d', true, num, strlen(num));
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
	if (!ok || !tc_sha256_end(digest))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the hash of an audit entry")));
}

/*
 * tenantcore_audit_jsonb_hash(value jsonb) returns the SHA-256 of a JSONB
 * value (see tc_audit_jsonb_hash); _audit_entry_hash() hashes the rows of an entry
 * with it.
 */
Datum
tenantcore_audit_jsonb_hash(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	bytea	   *result = palloc(VARHDRSZ + TC_SHA256_LEN);

	SET_VARSIZE(result, VARHDRSZ + TC_SHA256_LEN);
	tc_audit_jsonb_hash(jb, (unsigned char *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

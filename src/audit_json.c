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
 * tc_audit_row_to_jsonb builds the JSONB object of a row: every logged column,
 * or, when only is given, the columns marked in it.
 */
Datum
tc_audit_row_to_jsonb(AuditColumn *columns, const int *keyorder, int ncolumns,
					  Datum *values, bool *nulls, bool *only)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int k = 0; k < ncolumns; k++)
	{
		int			i = keyorder[k];
		AuditColumn *col = &columns[i];
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
 * HashJsonb sets digest (TC_SHA256_LEN bytes) to the SHA-256 of a JSONB value
 * walked item by item in its own order (object keys sorted as JSONB keeps
 * them): each container's start and end, each key, each scalar with its type,
 * a string as its bytes, a number as its text.  The value is never rendered as
 * JSON text, so the work and memory are bounded by the value's size: a string
 * of control characters, which JSON text writes six bytes per character, could
 * not be rendered beyond 1 GB.
 */
static void
HashJsonb(Jsonb *jb, unsigned char *digest)
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
 * value (see HashJsonb); _audit_entry_hash() hashes the rows of an entry
 * with it.
 */
Datum
tenantcore_audit_jsonb_hash(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	bytea	   *result = palloc(VARHDRSZ + TC_SHA256_LEN);

	SET_VARSIZE(result, VARHDRSZ + TC_SHA256_LEN);
	HashJsonb(jb, (unsigned char *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

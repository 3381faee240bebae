/*-------------------------------------------------------------------------
 *
 * audit_json.h
 *		Rows of audited tables as JSONB (the same result as to_jsonb(), with
 *		fast paths for common types), column by column.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_JSON_H
#define TC_AUDIT_JSON_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/jsonb.h"

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

extern void tc_to_jsonb_info(Oid type, int32 typmod, Oid collation, FmgrInfo *finfo);
extern void tc_audit_column_init(AuditColumn *col, Form_pg_attribute att);
extern void tc_audit_sort_keys(int *keyorder, int n, AuditColumn *columns);
extern Datum tc_audit_row_to_jsonb(AuditColumn *columns, const int *keyorder, int ncolumns,
								   Datum *values, bool *nulls, bool *only);
extern void tc_audit_jsonb_hash(Jsonb *jb, unsigned char *digest);

/* SQL-callable */
extern Datum tenantcore_audit_jsonb_hash(PG_FUNCTION_ARGS);

#endif							/* TC_AUDIT_JSON_H */

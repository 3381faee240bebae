/*-------------------------------------------------------------------------
 *
 * audit_log.h
 *		Writing entries into the partition of tenantcore.audit_log that
 *		holds the transaction's timestamp, without SQL and without the
 *		privileges of the user.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_LOG_H
#define TC_AUDIT_LOG_H

#include "postgres.h"

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

extern const char *const tc_audit_log_column_names[LOG_NCOLUMNS];

/* the first column that a log made by an older version may lack */
#define LOG_FIRST_OPTIONAL LOG_TABLE_ID

extern void tc_audit_log_init(void);
extern void tc_audit_log_invalidate(Oid relid);
extern void tc_audit_log_insert(Oid funcid, Oid target, Datum *values, bool *nulls);

#endif							/* TC_AUDIT_LOG_H */

/*-------------------------------------------------------------------------
 *
 * audit_trigger.h
 *		The audit trigger: every change of an audited table as an entry of
 *		tenantcore.audit_log, with its record id and session context.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_TRIGGER_H
#define TC_AUDIT_TRIGGER_H

#include "postgres.h"

#include "fmgr.h"

extern void tc_audit_init(void);

/* SQL-callable */
extern Datum tenantcore_audit_trigger(PG_FUNCTION_ARGS);
extern Datum tenantcore_creating_extension(PG_FUNCTION_ARGS);
extern Datum tenantcore_audit_record_id(PG_FUNCTION_ARGS);

#endif							/* TC_AUDIT_TRIGGER_H */

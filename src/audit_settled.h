/*-------------------------------------------------------------------------
 *
 * audit_settled.h
 *		Which audit entries are settled: the first id of every transaction
 *		that writes entries, in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_SETTLED_H
#define TC_AUDIT_SETTLED_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern void tc_audit_settled_init(void);
extern bool tc_audit_settled_published(void);
extern void tc_audit_settled_begin(void);
extern void tc_audit_settled_publish(int64 id);
extern int64 tc_audit_settled_before(int64 bound, TimestampTz *started_at);

#endif							/* TC_AUDIT_SETTLED_H */

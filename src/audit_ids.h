/*-------------------------------------------------------------------------
 *
 * audit_ids.h
 *		Audit entry ids in shared memory: a Citus node's counter, and the
 *		first id of every transaction that writes entries (settled ids).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_IDS_H
#define TC_AUDIT_IDS_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern void tc_audit_ids_init(void);
extern int64 tc_audit_node_id(int32 group);
extern int64 tc_audit_node_bound(void);
extern bool tc_audit_settled_published(void);
extern void tc_audit_settled_begin(void);
extern void tc_audit_settled_publish(int64 id);
extern int64 tc_audit_settled_before(int64 bound, TimestampTz *started_at);

#endif							/* TC_AUDIT_IDS_H */

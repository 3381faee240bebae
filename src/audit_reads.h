/*-------------------------------------------------------------------------
 *
 * audit_reads.h
 *		Reads of protected data, counted per statement, tenant, actor, role,
 *		table and column, and recorded in tenantcore.audit_reads at commit
 *		(tenantcore.audit_reads on).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_READS_H
#define TC_AUDIT_READS_H

#include "postgres.h"

#include "access/attnum.h"
#include "utils/uuid.h"

extern void tc_audit_reads_init(void);
extern void tc_audit_reads_count(const pg_uuid_t *tenant, Oid relid, AttrNumber attnum);

#endif							/* TC_AUDIT_READS_H */

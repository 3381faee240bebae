/*-------------------------------------------------------------------------
 *
 * audit_seal.h
 *		The hash of one audit entry, which the seals of the log chain.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_SEAL_H
#define TC_AUDIT_SEAL_H

#include "postgres.h"

#include "fmgr.h"

/* SQL-callable */
extern Datum tenantcore_audit_entry_hash(PG_FUNCTION_ARGS);

#endif							/* TC_AUDIT_SEAL_H */

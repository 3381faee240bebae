/*-------------------------------------------------------------------------
 *
 * core.h
 *		The C parts of the core schema: session and API key token secrets
 *		has_permission() and _member_visible().  Only SQL-callable functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CORE_H
#define TC_CORE_H

#include "postgres.h"

#include "fmgr.h"

extern Datum tenantcore_token_secret(PG_FUNCTION_ARGS);
extern Datum tenantcore_token_hash(PG_FUNCTION_ARGS);
extern Datum tenantcore_token_matches(PG_FUNCTION_ARGS);
extern Datum tenantcore_has_permission(PG_FUNCTION_ARGS);
extern Datum tenantcore_has_permission_support(PG_FUNCTION_ARGS);
extern Datum tenantcore_member_visible(PG_FUNCTION_ARGS);

#endif							/* TC_CORE_H */

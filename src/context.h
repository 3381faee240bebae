/*-------------------------------------------------------------------------
 *
 * context.h
 *		The tenant and actor context of a transaction: the settings
 *		tenantcore.tenant_id and tenantcore.actor_id, current_tenant(),
 *		set_tenant(), set_context_token() and their kin.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CONTEXT_H
#define TC_CONTEXT_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/uuid.h"

extern void tc_context_init(void);
extern const pg_uuid_t *tc_current_tenant(void);
extern const pg_uuid_t *tc_current_actor(void);
extern bool tc_context_signed(void);

/* SQL-callable */
extern Datum tenantcore_current_tenant(PG_FUNCTION_ARGS);
extern Datum tenantcore_current_actor(PG_FUNCTION_ARGS);
extern Datum tenantcore_set_tenant(PG_FUNCTION_ARGS);
extern Datum tenantcore_set_actor(PG_FUNCTION_ARGS);
extern Datum tenantcore_clear_tenant(PG_FUNCTION_ARGS);
extern Datum tenantcore_set_context_token(PG_FUNCTION_ARGS);

#endif							/* TC_CONTEXT_H */

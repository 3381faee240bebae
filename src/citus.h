/*-------------------------------------------------------------------------
 *
 * citus.h
 *		The tenant context on every node of a Citus cluster: settings
 *		propagated with SET LOCAL, and the verified token of
 *		tenantcore.context_token on the workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CITUS_H
#define TC_CITUS_H

#include "postgres.h"

#include "utils/uuid.h"

extern void tc_citus_init(void);
extern bool tc_citus_active(void);
extern void tc_citus_set_local(const char *name, const char *value);
extern void tc_citus_propagate_token(const char *token);
extern bool tc_citus_token_context(const pg_uuid_t **tenant, const pg_uuid_t **actor);

#endif							/* TC_CITUS_H */

/*-------------------------------------------------------------------------
 *
 * jwt.h
 *		Verification of the signed tokens of set_context_token(): signature,
 *		claims, the per-backend cache of verified tokens, and the claim
 *		settings (also read by the request.jwt.claims fallback of context.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_JWT_H
#define TC_JWT_H

#include "postgres.h"

#include "utils/uuid.h"

#define TC_JWT_MAX_TOKEN_LEN	8192	/* bytes of a whole token */

#define TC_ERRCODE_TOKEN		ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION

/* tenantcore.jwt_tenant_claim and tenantcore.jwt_actor_claim, as set */
extern char *tc_jwt_tenant_claim;
extern char *tc_jwt_actor_claim;

extern void tc_jwt_init(void);
extern void tc_jwt_verify_context_token(const char *token, int len, pg_uuid_t *tenant,
										pg_uuid_t *actor, bool *has_actor);
extern void tc_jwt_read_context_token(const char *token, int len, pg_uuid_t *tenant,
									  pg_uuid_t *actor, bool *has_actor);

#endif							/* TC_JWT_H */

/*-------------------------------------------------------------------------
 *
 * context.c
 *		The tenant and actor context of a transaction.
 *
 * The current tenant lives in the setting tenantcore.tenant_id and the
 * current actor (the application user) in tenantcore.actor_id.  Both are
 * parsed once, in the GUC check hook, and the assign hook keeps a pointer to
 * the parsed uuid, so current_tenant() costs no parsing per call and can be
 * used by the planner as an index condition in row level security policies.
 *
 * When no tenant is set, tenantcore.missing_tenant decides: "deny" makes
 * current_tenant() return NULL, so a policy "col = current_tenant()" matches
 * no row; "error" raises an error instead.  Optionally a claim of PostgREST's
 * request.jwt.claims provides the tenant or actor when none is set (the
 * claim names are settings of jwt.c).
 *
 * Neither setting may be stored for a role, a database, a function or the
 * server (ALTER ROLE/DATABASE ... SET, CREATE FUNCTION ... SET,
 * postgresql.conf, ALTER SYSTEM): a stored tenant would pin every later
 * session to it.  The check hook refuses such values and ignores, with a
 * warning, entries stored before this check existed.
 *
 * tenantcore.context_mode = signed (set by a superuser, usually per role)
 * makes the context trustworthy against SQL injection: then only
 * tenantcore.set_context_token(), which verifies a signed token (jwt.c), can
 * set the tenant and the actor.  It does so through ContextSetVerified(),
 * which raises context_token_setting around its own set_config_option()
 * calls; the check hook refuses every other non-empty value and marks the
 * values it accepts as verified or not, so a value that got in before the
 * mode applied (a startup option) is not taken for a verified one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "citus.h"
#include "context.h"
#include "jwt.h"
#include "util.h"

typedef enum MissingTenantMode
{
	MISSING_TENANT_DENY,
	MISSING_TENANT_ERROR
}			MissingTenantMode;

typedef enum ContextMode
{
	CONTEXT_MODE_OPEN,
	CONTEXT_MODE_SIGNED
}			ContextMode;

static const struct config_enum_entry missing_tenant_options[] = {
	{"deny", MISSING_TENANT_DENY, false},
	{"error", MISSING_TENANT_ERROR, false},
	{NULL, 0, false}
};

static const struct config_enum_entry context_mode_options[] = {
	{"open", CONTEXT_MODE_OPEN, false},
	{"signed", CONTEXT_MODE_SIGNED, false},
	{NULL, 0, false}
};

/* raw setting values, owned by the GUC machinery */
static char *tenant_id_string = NULL;
static char *actor_id_string = NULL;
static int	missing_tenant_mode = MISSING_TENANT_DENY;
static int	context_mode = CONTEXT_MODE_OPEN;

/*
 * The GUC "extra" of tenant_id and actor_id: the parsed uuid, and whether the
 * value was set by set_context_token() (verified).  The GUC machinery keeps
 * the extra with the value it belongs to, also when it restores an older
 * value at rollback.
 */
typedef struct UuidSetting
{
	pg_uuid_t	uuid;
	bool		verified;
}			UuidSetting;

/* parsed values: point into the GUC "extra" of the active setting, or NULL */
static const UuidSetting *tenant_value = NULL;
static const UuidSetting *actor_value = NULL;

/* true only while ContextSetVerified() sets the settings */
static bool context_token_setting = false;

/*
 * A claim read from request.jwt.claims, cached by the claims text and the
 * claim name, so a statement that calls current_tenant() for every row parses
 * the JSON once.
 */
typedef struct JwtClaimCache
{
	char	   *claims;			/* claims text the value was read from */
	char	   *claim;			/* claim name */
	bool		found;			/* claim present and a valid uuid */
	pg_uuid_t	value;
}			JwtClaimCache;

static JwtClaimCache tenant_claim_cache;
static JwtClaimCache actor_claim_cache;

PG_FUNCTION_INFO_V1(tenantcore_current_tenant);
PG_FUNCTION_INFO_V1(tenantcore_current_actor);
PG_FUNCTION_INFO_V1(tenantcore_set_tenant);
PG_FUNCTION_INFO_V1(tenantcore_set_actor);
PG_FUNCTION_INFO_V1(tenantcore_clear_tenant);
PG_FUNCTION_INFO_V1(tenantcore_set_context_token);

/*
 * RefuseStoredSetting reports why a non-empty tenant or actor cannot come
 * from a source that stores it beyond one session: ALTER ROLE/DATABASE SET
 * and function SET clauses (validated with PGC_S_TEST, an error), entries of
 * those applied at login (a warning: the value is ignored and the session
 * starts with none), and the server configuration.  Returns false if the
 * value is refused.
 */
static bool
RefuseStoredSetting(const char *name, const char *setter, GucSource source)
{
	switch (source)
	{
		case PGC_S_TEST:
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errmsg("%s cannot be stored as a role, database or function setting", name);
			GUC_check_errdetail("Every later session of the role or database, or every call of the function, would run inside that value.");
			GUC_check_errhint("Set it per transaction with tenantcore.%s() (tenantcore.set_context_token() in signed context mode).", setter);
			return false;
		case PGC_S_GLOBAL:
		case PGC_S_DATABASE:
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errmsg("ignoring %s stored as a role or database setting", name);
			GUC_check_errdetail("A stored value would pin every session to it; this session starts without one.");
			GUC_check_errhint("Remove it with ALTER ROLE ... RESET %s or ALTER DATABASE ... RESET %s.", name, name);
			return false;
		case PGC_S_ENV_VAR:
		case PGC_S_FILE:
		case PGC_S_ARGV:
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errmsg("%s cannot be set in the server configuration", name);
			GUC_check_errdetail("Every session would run inside that value.");
			GUC_check_errhint("Set it per transaction with tenantcore.%s().", setter);
			return false;
		default:
			return true;
	}
}

/*
 * CheckUuidSetting is the check hook of tenant_id and actor_id: the value
 * must be empty or a uuid, not stored for a role, database, function or the
 * server, and in signed context mode set by set_context_token().  The parsed
 * uuid is handed to the assign hook.
 */
static bool
CheckUuidSetting(const char *name, const char *setter,
				 char **newval, void **extra, GucSource source)
{
	pg_uuid_t	parsed;
	UuidSetting *copy;
	bool		verified;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;

	if (!tc_parse_uuid(*newval, &parsed))
	{
		GUC_check_errcode(ERRCODE_INVALID_TEXT_REPRESENTATION);
		GUC_check_errdetail("The value must be a uuid or an empty string.");
		return false;
	}
	if (strcmp(name, "tenantcore.tenant_id") == 0 && tc_uuid_is_nil(&parsed))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("the nil uuid is not a tenant");
		GUC_check_errdetail("On a Citus cluster the audit entries of changes without a tenant are kept under it.");
		return false;
	}

	if (!RefuseStoredSetting(name, setter, source))
		return false;

	/*
	 * A parallel worker restores the leader's values: they passed this hook
	 * in the leader.  One from a startup option may have got in before the
	 * context mode was known, so it is never taken for a verified one.
	 */
	if (InitializingParallelWorker)
		verified = (source != PGC_S_CLIENT);
	else
		verified = context_token_setting;

	if (!verified && context_mode == CONTEXT_MODE_SIGNED && !InitializingParallelWorker)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("%s cannot be set in signed context mode", name);
		GUC_check_errdetail("tenantcore.context_mode is \"signed\": only a verified token sets the tenant and the actor.");
		GUC_check_errhint("Call tenantcore.set_context_token() with the signed token of the request.");
		return false;
	}

	copy = (UuidSetting *) TcGucMalloc(sizeof(UuidSetting));
	if (copy == NULL)
		return false;
	copy->uuid = parsed;
	copy->verified = verified;
	*extra = copy;
	return true;
}

static bool
CheckTenantId(char **newval, void **extra, GucSource source)
{
	return CheckUuidSetting("tenantcore.tenant_id", "set_tenant", newval, extra, source);
}

static bool
CheckActorId(char **newval, void **extra, GucSource source)
{
	return CheckUuidSetting("tenantcore.actor_id", "set_actor", newval, extra, source);
}

static void
AssignTenantId(const char *newval, void *extra)
{
	tenant_value = (const UuidSetting *) extra;
}

static void
AssignActorId(const char *newval, void *extra)
{
	actor_value = (const UuidSetting *) extra;
}

/*
 * tc_context_init defines the settings of the tenant context.
 */
void
tc_context_init(void)
{
	/* before tenant_id and actor_id: their check hook reads it */
	DefineCustomEnumVariable("tenantcore.context_mode",
							 gettext_noop("Who may set the tenant and the actor: open (anyone) or signed (only a verified token)."),
							 gettext_noop("signed: only tenantcore.set_context_token() sets them; set it per role with ALTER ROLE ... SET."),
							 &context_mode,
							 CONTEXT_MODE_OPEN,
							 context_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("tenantcore.tenant_id",
							   gettext_noop("Current tenant (organization) id, a uuid or empty."),
							   gettext_noop("Set it per transaction with tenantcore.set_tenant()."),
							   &tenant_id_string,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE,
							   CheckTenantId, AssignTenantId, NULL);

	DefineCustomStringVariable("tenantcore.actor_id",
							   gettext_noop("Current actor (application user) id, a uuid or empty."),
							   gettext_noop("Recorded in the audit trail; set it with tenantcore.set_actor()."),
							   &actor_id_string,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE,
							   CheckActorId, AssignActorId, NULL);

	DefineCustomEnumVariable("tenantcore.missing_tenant",
							 gettext_noop("What tenant policies do when no tenant is set."),
							 gettext_noop("deny: policies match no row; error: raise an error."),
							 &missing_tenant_mode,
							 MISSING_TENANT_DENY,
							 missing_tenant_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

}

/*
 * JsonFieldText returns the text of a top-level field of a JSON object, or
 * NULL if the field is missing, null or the JSON is not an object.
 */
static char *
JsonFieldText(const char *json, const char *field)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = CStringGetTextDatum(json);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = CStringGetTextDatum(field);
	fcinfo->args[1].isnull = false;

	result = json_object_field_text(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return TextDatumGetCString(result);
}

/*
 * ClaimFromJwt returns the uuid held by the claim of request.jwt.claims, or
 * NULL when there are no claims or the claim is absent.  A claim that is not
 * a uuid is an error: it means the token was issued for something else.
 */
static const pg_uuid_t *
ClaimFromJwt(const char *claim, JwtClaimCache *cache)
{
	const char *claims;
	char	   *text;

	if (claim == NULL || claim[0] == '\0')
		return NULL;

	claims = GetConfigOption("request.jwt.claims", true, false);
	if (claims == NULL || claims[0] == '\0')
		return NULL;

	if (cache->claims != NULL &&
		strcmp(cache->claims, claims) == 0 &&
		strcmp(cache->claim, claim) == 0)
		return cache->found ? &cache->value : NULL;

	/* forget the old entry before parsing, in case parsing fails */
	if (cache->claims != NULL)
	{
		pfree(cache->claims);
		pfree(cache->claim);
		cache->claims = NULL;
		cache->claim = NULL;
	}

	text = JsonFieldText(claims, claim);
	cache->found = false;
	if (text != NULL)
	{
		if (!tc_parse_uuid(text, &cache->value))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("claim \"%s\" of request.jwt.claims is not a uuid", claim),
					 errhint("Issue tokens whose \"%s\" claim is a uuid, or change tenantcore.jwt_tenant_claim and tenantcore.jwt_actor_claim.",
							 claim)));
		cache->found = true;
	}

	cache->claims = MemoryContextStrdup(TopMemoryContext, claims);
	cache->claim = MemoryContextStrdup(TopMemoryContext, claim);
	return cache->found ? &cache->value : NULL;
}

/*
 * RefuseUnverifiedClaims raises an error when, in signed context mode, the
 * request.jwt.claims fallback would provide a value: anyone can set that
 * setting, so it is not a verified source.
 */
static void
RefuseUnverifiedClaims(const char *claim, JwtClaimCache *cache)
{
	if (ClaimFromJwt(claim, cache) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("request.jwt.claims is not trusted in signed context mode"),
				 errdetail("tenantcore.context_mode is \"signed\": only a verified token sets the tenant and the actor."),
				 errhint("Call tenantcore.set_context_token() with the signed token of the request.")));
}

/*
 * ContextValue returns the uuid of a tenant or actor setting, or NULL when
 * none is set (or, in signed context mode, none was set by a verified token).
 */
static const pg_uuid_t *
ContextValue(const UuidSetting *value, bool token_set, const pg_uuid_t *token,
			 const char *claim, JwtClaimCache *cache)
{
	if (value != NULL && (value->verified || context_mode == CONTEXT_MODE_OPEN))
		return &value->uuid;
	/* on a Citus worker: the verified token the coordinator passed on */
	if (token_set)
		return token;
	if (context_mode == CONTEXT_MODE_SIGNED)
	{
		RefuseUnverifiedClaims(claim, cache);
		return NULL;
	}
	if (value != NULL)
		return &value->uuid;
	return ClaimFromJwt(claim, cache);
}

/*
 * tc_context_signed tells whether tenantcore.context_mode is "signed".
 */
bool
tc_context_signed(void)
{
	return context_mode == CONTEXT_MODE_SIGNED;
}

/*
 * tc_current_tenant returns the current tenant, or NULL when none is set.
 */
const pg_uuid_t *
tc_current_tenant(void)
{
	const pg_uuid_t *tenant = NULL;
	const pg_uuid_t *actor = NULL;
	bool		token_set = tc_citus_token_context(&tenant, &actor);

	tenant = ContextValue(tenant_value, token_set, tenant, tc_jwt_tenant_claim, &tenant_claim_cache);
	/* a token's or a claim's nil tenant too (the setting refuses it) */
	if (tenant != NULL && tc_uuid_is_nil(tenant))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the nil uuid is not a tenant"),
				 errdetail("On a Citus cluster the audit entries of changes without a tenant are kept under it.")));
	return tenant;
}

/*
 * tc_current_actor returns the current actor, or NULL when none is set.
 * The actor of a tenantcore.context_token only goes with its tenant: when
 * the tenant comes from tenantcore.tenant_id (set_context_token() of a token
 * without an actor), the token setting never supplies the actor.
 */
const pg_uuid_t *
tc_current_actor(void)
{
	const pg_uuid_t *tenant = NULL;
	const pg_uuid_t *actor = NULL;
	bool		token_set = tc_citus_token_context(&tenant, &actor);

	if (token_set && tenant_value != NULL &&
		(tenant_value->verified || context_mode == CONTEXT_MODE_OPEN))
		token_set = false;
	return ContextValue(actor_value, token_set, actor, tc_jwt_actor_claim, &actor_claim_cache);
}

/*
 * SetUuidSetting sets a uuid setting for the transaction (is_local) or for
 * the session.  Outside a transaction block a transaction-scoped value would
 * vanish at the end of the statement, so say so.
 */
static void
SetUuidSetting(const char *name, const char *function, pg_uuid_t *uuid, bool is_local)
{
	char	   *value = tc_uuid_cstring(uuid);

	if (is_local && !IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s() outside a transaction block only lasts until the end of the statement", function),
				 errhint("Call it after BEGIN, or pass is_local => false to set it for the session.")));

	(void) set_config_option(name, value,
							 PGC_USERSET, PGC_S_SESSION,
							 is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET,
							 true, 0, false);

	/*
	 * On a Citus coordinator the value must reach the workers of the
	 * transaction (citus.c); a session value stays on the coordinator, so
	 * worker queries see no tenant (fail closed, see doc/citus.md).
	 */
	if (is_local && tc_citus_active())
		tc_citus_set_local(name, value);
}

/*
 * ContextSetVerified sets the tenant and the actor (NULL: none) of a verified
 * token for the current transaction.  Only here may the check hook accept a
 * value in signed context mode; the flag is lowered again on any error.
 */
static void
ContextSetVerified(const pg_uuid_t *tenant, const pg_uuid_t *actor)
{
	char	   *tenant_text = tc_uuid_cstring(tenant);
	char	   *actor_text = "";

	if (actor != NULL)
		actor_text = tc_uuid_cstring(actor);

	if (!IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("set_context_token() outside a transaction block only lasts until the end of the statement"),
				 errhint("Call it after BEGIN.")));

	PG_TRY();
	{
		context_token_setting = true;
		(void) set_config_option("tenantcore.tenant_id", tenant_text,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);
		(void) set_config_option("tenantcore.actor_id", actor_text,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);
	}
	PG_FINALLY();
	{
		context_token_setting = false;
	}
	PG_END_TRY();
}

/*
 * CheckSetArguments rejects NULL arguments of set_tenant() and set_actor(),
 * and both functions in signed context mode.
 */
static void
CheckSetArguments(FunctionCallInfo fcinfo, const char *function, const char *clear_hint)
{
	if (context_mode == CONTEXT_MODE_SIGNED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s() is not allowed in signed context mode", function),
				 errdetail("tenantcore.context_mode is \"signed\": only a verified token sets the tenant and the actor."),
				 errhint("Call tenantcore.set_context_token() with the signed token of the request.")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s() requires a non-null id", function),
				 errhint("%s", clear_hint)));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("is_local must not be null")));
}

/*
 * tenantcore_current_tenant returns the current tenant, NULL if none is set
 * (missing_tenant = deny), or raises an error (missing_tenant = error).
 */
Datum
tenantcore_current_tenant(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *tenant = tc_current_tenant();

	if (tenant != NULL)
		PG_RETURN_DATUM(tc_uuid_datum(tenant));

	if (missing_tenant_mode == MISSING_TENANT_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no tenant is set"),
				 errdetail("tenantcore.missing_tenant is \"error\", so tenant-isolated tables cannot be used without a tenant."),
				 context_mode == CONTEXT_MODE_SIGNED ?
				 errhint("Call tenantcore.set_context_token() at the start of the transaction.") :
				 errhint("Call tenantcore.set_tenant() at the start of the transaction.")));
	PG_RETURN_NULL();
}

/*
 * tenantcore_current_actor returns the current actor or NULL.
 */
Datum
tenantcore_current_actor(PG_FUNCTION_ARGS)
{
	const pg_uuid_t *actor = tc_current_actor();

	if (actor == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(tc_uuid_datum(actor));
}

/*
 * tenantcore_set_tenant(tenant uuid, is_local boolean) sets the tenant for
 * the transaction (default) or the session and returns it.
 */
Datum
tenantcore_set_tenant(PG_FUNCTION_ARGS)
{
	CheckSetArguments(fcinfo, "set_tenant",
					  "Use tenantcore.clear_tenant() to remove the tenant.");
	SetUuidSetting("tenantcore.tenant_id", "set_tenant",
				   PG_GETARG_UUID_P(0), PG_GETARG_BOOL(1));
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

/*
 * tenantcore_set_actor(actor uuid, is_local boolean) sets the actor for the
 * transaction (default) or the session and returns it.
 */
Datum
tenantcore_set_actor(PG_FUNCTION_ARGS)
{
	CheckSetArguments(fcinfo, "set_actor",
					  "Use tenantcore.clear_tenant() to remove the tenant and the actor.");
	SetUuidSetting("tenantcore.actor_id", "set_actor",
				   PG_GETARG_UUID_P(0), PG_GETARG_BOOL(1));
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

/*
 * tenantcore_clear_tenant removes the tenant and the actor for the rest of
 * the session (like RESET, undone if the transaction rolls back).
 */
Datum
tenantcore_clear_tenant(PG_FUNCTION_ARGS)
{
	(void) set_config_option("tenantcore.tenant_id", "",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
							 true, 0, false);
	(void) set_config_option("tenantcore.actor_id", "",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
							 true, 0, false);
	(void) set_config_option("tenantcore.context_token", "",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
							 true, 0, false);
	/* and on the workers of the transaction of a Citus coordinator */
	if (tc_citus_active())
	{
		tc_citus_set_local("tenantcore.tenant_id", "");
		tc_citus_set_local("tenantcore.actor_id", "");
		tc_citus_set_local("tenantcore.context_token", "");
	}
	PG_RETURN_VOID();
}

/*
 * tenantcore_set_context_token(token text) verifies a signed token and sets
 * its tenant and actor for the current transaction; returns the tenant.  On
 * a Citus coordinator the token itself goes to the workers, which verify it
 * again (citus.c).
 */
Datum
tenantcore_set_context_token(PG_FUNCTION_ARGS)
{
	text	   *arg;
	char	   *token;
	int			len;
	pg_uuid_t	tenant;
	pg_uuid_t	actor;
	bool		has_actor;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("set_context_token() requires a non-null token")));
	arg = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(arg);
	if (len > TC_JWT_MAX_TOKEN_LEN)
		ereport(ERROR,
				(errcode(TC_ERRCODE_TOKEN),
				 errmsg("token is too long"),
				 errdetail("Tokens of at most %d bytes are accepted.", TC_JWT_MAX_TOKEN_LEN)));
	token = text_to_cstring(arg);

	tc_jwt_verify_context_token(token, len, &tenant, &actor, &has_actor);
	ContextSetVerified(&tenant, has_actor ? &actor : NULL);
	tc_citus_propagate_token(token);

	PG_RETURN_DATUM(tc_uuid_datum(&tenant));
}

/*-------------------------------------------------------------------------
 *
 * citus.c
 *		The tenant context on every node of a Citus cluster.
 *
 * set_tenant(), set_actor() and clear_tenant() set their settings with
 * set_config_option(), which Citus never sees: the workers would run the
 * coordinator's queries without a tenant.  When Citus is loaded and installed
 * in the database, tc_citus_set_local() also runs "SET LOCAL name = 'value'"
 * through the utility hooks with citus.propagate_set_commands raised to "local" for that
 * one statement.  Citus's utility hook then sends the statement to every
 * remote transaction the coordinator has open and remembers it for those it
 * opens later in the same transaction (SET LOCAL: a pooled worker connection
 * never keeps a tenant beyond the transaction).
 *
 * Signed context mode: a worker refuses a propagated tenantcore.tenant_id
 * for a role in signed mode (its check hook only accepts values of a
 * verified token).  So set_context_token() propagates the token itself, as
 * the setting tenantcore.context_token, whose check hook verifies the token
 * on the worker with that node's key file.  Whoever controls SQL on the
 * coordinator still needs a validly signed token to choose a tenant on a
 * worker.  The setting is hidden (superuser only, not in SHOW ALL) and can
 * only be set by a SET LOCAL statement on a node of a Citus cluster (what
 * tc_citus_propagate_token runs and Citus sends to the workers), never for the
 * session, by set_config() or stored; a value counts only in the transaction
 * whose SET LOCAL verified it.  A parallel worker takes the leader's value,
 * verified in the leader, without verifying it again (its key file setting
 * is restored after the token).  No error raised while a token is set names
 * the statement, which holds the token.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "tcop/dest.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "citus.h"
#include "citus_meta.h"
#include "jwt.h"
#include "util.h"

/*
 * The GUC "extra" of tenantcore.context_token: what the token says, and the
 * local transaction whose SET LOCAL verified it (InvalidLocalTransactionId
 * in a parallel worker, which reads the claims of the leader's value when
 * first asked: pending).
 */
typedef struct TokenSetting
{
	pg_uuid_t	tenant;
	pg_uuid_t	actor;
	bool		has_actor;
	bool		pending;
	LocalTransactionId lxid;
}			TokenSetting;

static char *context_token_string = NULL;
static const TokenSetting *token_value = NULL;

/* true only while a SET LOCAL tenantcore.context_token statement runs */
static bool token_set_local = false;
static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * HideStatement is an error context callback: the error is reported without
 * the statement, whose text holds the token.
 */
static void
HideStatement(void *arg)
{
	errhidestmt(true);
}

/*
 * RefuseContextToken raises the error of a token set where it may not be.
 */
static void
RefuseContextToken(const char *message)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", message),
			 errdetail("It carries the signed token of set_context_token() to the nodes of a Citus cluster."),
			 errhint("Call tenantcore.set_context_token() with the signed token of the request."),
			 errhidestmt(true)));
}

/*
 * CheckContextToken verifies a non-empty token.  Only a SET LOCAL statement
 * on a node of a Citus cluster (what Citus sends, and what
 * tc_citus_propagate_token runs) may set one; a parallel worker takes its
 * leader's.
 */
static bool
CheckContextToken(char **newval, void **extra, GucSource source)
{
	TokenSetting parsed;
	TokenSetting *copy;
	ErrorContextCallback callback;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;

	if (source != PGC_S_SESSION)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("tenantcore.context_token can only be set for a transaction");
		GUC_check_errdetail("It carries the signed token of set_context_token() to the nodes of a Citus cluster.");
		GUC_check_errhint("Call tenantcore.set_context_token() with the signed token of the request.");
		return false;
	}

	memset(&parsed, 0, sizeof(parsed));
	if (InitializingParallelWorker)
	{
		/*
		 * The leader verified it in its transaction (a value is only ever
		 * set by SET LOCAL); the settings the claims are read with are
		 * restored after this one, so read them when first asked.
		 */
		parsed.pending = true;
		parsed.lxid = InvalidLocalTransactionId;
	}
	else
	{
		/* a plain SET, set_config() or a function's SET clause */
		if (!token_set_local)
			RefuseContextToken("tenantcore.context_token can only be set for a transaction");
		if (!tc_citus_active())
			RefuseContextToken("tenantcore.context_token is only used on the nodes of a Citus cluster");

		/* any flaw of the token raises its error here, before anything is set */
		callback.callback = HideStatement;
		callback.arg = NULL;
		callback.previous = error_context_stack;
		error_context_stack = &callback;
		tc_jwt_verify_context_token(*newval, (int) strlen(*newval),
									&parsed.tenant, &parsed.actor, &parsed.has_actor);
		error_context_stack = callback.previous;
		parsed.lxid = TcMyLocalTransactionId();
	}

	copy = (TokenSetting *) TcGucMalloc(sizeof(TokenSetting));
	if (copy == NULL)
	{
		/* never the default message, which quotes the value */
		GUC_check_errmsg("out of memory");
		return false;
	}
	*copy = parsed;
	*extra = copy;
	return true;
}

/*
 * ContextTokenUtility tells the check hook of tenantcore.context_token
 * whether the statement that sets it is a SET LOCAL.
 */
static void
ContextTokenUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					ProcessUtilityContext context, ParamListInfo params,
					QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		set_local = false;

	if (IsA(stmt, VariableSetStmt))
	{
		VariableSetStmt *set = (VariableSetStmt *) stmt;

		set_local = set->kind == VAR_SET_VALUE && set->is_local && set->name != NULL &&
			pg_strcasecmp(set->name, "tenantcore.context_token") == 0;
	}

	if (!set_local)
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}

	PG_TRY();
	{
		token_set_local = true;
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		token_set_local = false;
	}
	PG_END_TRY();
}

static void
AssignContextToken(const char *newval, void *extra)
{
	token_value = (const TokenSetting *) extra;
}

/*
 * tc_citus_init defines tenantcore.context_token and installs the utility hook
 * that tells its check hook a SET LOCAL.
 */
void
tc_citus_init(void)
{
	DefineCustomStringVariable("tenantcore.context_token",
							   gettext_noop("Signed token of set_context_token(), verified on every node of a Citus cluster."),
							   gettext_noop("Set by tenantcore.set_context_token(); not for direct use."),
							   &context_token_string,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL | GUC_SUPERUSER_ONLY |
							   GUC_DISALLOW_IN_FILE | GUC_DISALLOW_IN_AUTO_FILE,
							   CheckContextToken, AssignContextToken, NULL);

	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = ContextTokenUtility;
}

/*
 * tc_citus_token_context returns the tenant and actor (NULL: none) of a
 * verified token set through tenantcore.context_token; false if none is set.
 */
bool
tc_citus_token_context(const pg_uuid_t **tenant, const pg_uuid_t **actor)
{
	if (token_value == NULL)
		return false;
	/* verified in another transaction: absent (a leftover never counts) */
	if (token_value->lxid != InvalidLocalTransactionId && token_value->lxid != TcMyLocalTransactionId())
		return false;
	if (token_value->pending)
	{
		/* a parallel worker: the leader's value, read once */
		TokenSetting *value = (TokenSetting *) token_value;

		tc_jwt_read_context_token(context_token_string, (int) strlen(context_token_string),
								  &value->tenant, &value->actor, &value->has_actor);
		value->pending = false;
	}
	*tenant = &token_value->tenant;
	*actor = token_value->has_actor ? &token_value->actor : NULL;
	return true;
}

/*
 * tc_citus_active is true when Citus is loaded in this server and installed in
 * this database, that is, when settings have to reach worker nodes.  Both
 * tests are hash lookups: set_tenant() pays them in every transaction.
 */
bool
tc_citus_active(void)
{
	if (GetConfigOption("citus.propagate_set_commands", true, false) == NULL)
		return false;
	if (!IsTransactionState())
		return false;
	return tc_citus_installed();
}

/*
 * tc_citus_set_local runs SET LOCAL name = 'value' through the utility hooks
 * (Citus's among them), with citus.propagate_set_commands = local for that
 * statement only, so the value reaches every node of the transaction.  The
 * statement is built, not parsed: Citus sends its text to the workers and
 * keeps it for the connections the transaction opens later.  name is one of
 * our setting names (a constant); the value is quoted.
 */
void
tc_citus_set_local(const char *name, const char *value)
{
	StringInfoData sql;
	A_Const    *arg = makeNode(A_Const);
	VariableSetStmt *set = makeNode(VariableSetStmt);
	PlannedStmt *pstmt = makeNode(PlannedStmt);
	int			nest;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SET LOCAL %s = %s", name, quote_literal_cstr(value));

#if PG_VERSION_NUM >= 150000
	arg->val.sval.type = T_String;
	arg->val.sval.sval = pstrdup(value);
#else
	arg->val.type = T_String;
	arg->val.val.str = pstrdup(value);
#endif
	arg->location = -1;
	set->kind = VAR_SET_VALUE;
	set->name = pstrdup(name);
	set->args = list_make1(arg);
	set->is_local = true;
	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = false;
	pstmt->utilityStmt = (Node *) set;
	pstmt->stmt_location = 0;
	pstmt->stmt_len = sql.len;

	nest = NewGUCNestLevel();
	(void) set_config_option("citus.propagate_set_commands", "local",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	ProcessUtility(pstmt, sql.data, false, PROCESS_UTILITY_QUERY, NULL, NULL,
				   None_Receiver, NULL);
	/* drops the propagation setting, keeps the SET LOCAL */
	AtEOXact_GUC(true, nest);
	pfree(sql.data);
}

/*
 * tc_citus_propagate_token hands a verified token to the workers of the
 * transaction, which verify it again.
 */
void
tc_citus_propagate_token(const char *token)
{
	if (tc_citus_active())
		tc_citus_set_local("tenantcore.context_token", token);
}

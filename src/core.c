/*-------------------------------------------------------------------------
 *
 * core.c
 *		The C parts of the core schema: session and API key token secrets
 *		(random, hashed, compared in constant time) and has_permission().
 *
 * A token is "<prefix>_<organization id>_<row id>_<secret>" (hex).  Only the
 * SHA-256 of the 32 random bytes of the secret is stored; a 256-bit random
 * secret needs no salt and no stretching.  The token itself never reaches an
 * error message or a log line from this file.
 *
 * has_permission(permission) answers for the current actor in the current
 * tenant.  The answer is cached at the call site for the rest of the
 * statement, until the next change of data (what STABLE allows), so a row
 * level security policy that calls it costs one lookup per query and a few
 * comparisons per row.  _member_visible(user) (the policies "visible" of
 * users and user_profiles) caches the current tenant's members the same way.
 *
 * On a Citus cluster both queries run on the coordinator as distributed
 * queries; on a worker (inside a shard query, where Citus refuses another
 * distributed query) they read the tenant's local shards and the local
 * placements of reference tables instead (tc_citus_tenant_relation()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/supportnodes.h"
#include "port.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "citus_meta.h"
#include "context.h"
#include "core.h"
#include "util.h"

#define TOKEN_SECRET_BYTES 32

PG_FUNCTION_INFO_V1(tenantcore_token_secret);
PG_FUNCTION_INFO_V1(tenantcore_token_hash);
PG_FUNCTION_INFO_V1(tenantcore_token_matches);
PG_FUNCTION_INFO_V1(tenantcore_has_permission);
PG_FUNCTION_INFO_V1(tenantcore_has_permission_support);
PG_FUNCTION_INFO_V1(tenantcore_member_visible);

/*
 * Sha256 writes the SHA-256 digest of data into digest.
 */
static void
Sha256(const uint8 *data, size_t len, uint8 *digest)
{
	TcBytes		part = {data, len};

	if (!tc_sha256(&part, 1, digest))
		elog(ERROR, "could not compute SHA-256 digest");
}

/*
 * ConstantTimeEqual compares two buffers of the same length without an
 * early exit, so the time taken does not tell how many bytes matched.
 */
static bool
ConstantTimeEqual(const uint8 *a, const uint8 *b, size_t len)
{
	volatile uint8 diff = 0;
	size_t		i;

	for (i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/*
 * tenantcore_token_secret returns 32 bytes from the server's strong random
 * source (the source of pgcrypto's gen_random_bytes()).
 */
Datum
tenantcore_token_secret(PG_FUNCTION_ARGS)
{
	bytea	   *result = (bytea *) palloc(VARHDRSZ + TOKEN_SECRET_BYTES);

	SET_VARSIZE(result, VARHDRSZ + TOKEN_SECRET_BYTES);
	if (!pg_strong_random(VARDATA(result), TOKEN_SECRET_BYTES))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random token secret")));
	PG_RETURN_BYTEA_P(result);
}

/*
 * tenantcore_token_hash returns the SHA-256 digest of a token secret.
 */
Datum
tenantcore_token_hash(PG_FUNCTION_ARGS)
{
	bytea	   *secret = PG_GETARG_BYTEA_PP(0);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + TC_SHA256_LEN);

	SET_VARSIZE(result, VARHDRSZ + TC_SHA256_LEN);
	Sha256((uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret), (uint8 *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

/*
 * tenantcore_token_matches tells whether the SHA-256 digest of a secret is
 * the stored hash, comparing the digests in constant time.
 */
Datum
tenantcore_token_matches(PG_FUNCTION_ARGS)
{
	bytea	   *secret = PG_GETARG_BYTEA_PP(0);
	bytea	   *stored = PG_GETARG_BYTEA_PP(1);
	uint8		digest[TC_SHA256_LEN];

	Sha256((uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret), digest);
	if (VARSIZE_ANY_EXHDR(stored) != TC_SHA256_LEN)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(ConstantTimeEqual(digest, (uint8 *) VARDATA_ANY(stored),
									 TC_SHA256_LEN));
}

/* ------------------------------------------------------------------------
 * has_permission
 * ------------------------------------------------------------------------
 */

/*
 * The answer of the last call at one call site (FmgrInfo).  An FmgrInfo can
 * outlive a statement (plpgsql keeps the state of simple expressions for the
 * whole transaction), so the answer is only reused within the same statement
 * and command: any change to the role tables in between (which advances the
 * command counter) makes the next call look again.
 */
typedef struct PermissionCache
{
	bool		valid;
	TimestampTz statement_start;
	CommandId	command_id;
	pg_uuid_t	tenant;
	pg_uuid_t	actor;
	text	   *permission;		/* in fn_mcxt */
	bool		result;
} PermissionCache;

static Oid	FunctionOwner(Oid fn_oid);

/* the permission query, prepared once per backend */
static SPIPlanPtr permission_plan = NULL;

static const char *permission_sql =
"SELECT EXISTS ("
"  SELECT 1 FROM tenantcore.organization_members m"
"    JOIN tenantcore.users u ON u.id = m.user_id AND u.status = 'active' AND u.deleted_at IS NULL"
"    JOIN tenantcore.organizations o ON o.id = m.organization_id AND o.deleted_at IS NULL"
"   WHERE m.organization_id = $1 AND m.user_id = $2 AND m.status = 'active' AND m.deleted_at IS NULL"
"     AND ((m.role = 'owner' AND EXISTS (SELECT 1 FROM tenantcore.permissions p WHERE p.key = $3))"
"          OR EXISTS (SELECT 1 FROM tenantcore.roles r"
"                       JOIN tenantcore.role_permissions rp ON rp.organization_id = r.organization_id AND rp.role_id = r.id"
"                      WHERE r.organization_id = m.organization_id AND r.key = m.role AND rp.permission = $3)"
"          OR EXISTS (SELECT 1 FROM tenantcore.user_roles ur"
"                       JOIN tenantcore.role_permissions rp ON rp.organization_id = ur.organization_id AND rp.role_id = ur.role_id"
"                      WHERE ur.organization_id = m.organization_id AND ur.user_id = m.user_id AND rp.permission = $3)))";

/*
 * TenantQuery returns the text of query tmpl to run on this node for
 * tenant: each "tenantcore.<table>" in it names the relation that
 * tc_citus_tenant_relation() gives for the table of the extension's schema
 * nsp.  NULL when each names the table itself (on a server without Citus,
 * and on a coordinator): the caller's prepared plan applies.  *absent is set
 * when the tenant's shard of a table is not on this worker: the query would
 * find nothing of the tenant here.
 */
static char *
TenantQuery(const char *tmpl, Oid nsp, const pg_uuid_t *tenant, bool *absent)
{
	static const char prefix[] = "tenantcore.";
	StringInfoData buf;
	const char *p = tmpl;
	const char *hit;
	bool		changed = false;

	initStringInfo(&buf);
	while ((hit = strstr(p, prefix)) != NULL)
	{
		const char *name = hit + strlen(prefix);
		size_t		len = strspn(name, "abcdefghijklmnopqrstuvwxyz_");
		char	   *relname = pnstrdup(name, len);
		Oid			relid = get_relname_relid(relname, nsp);
		Oid			target = OidIsValid(relid) ? tc_citus_tenant_relation(relid, tenant) : InvalidOid;

		if (OidIsValid(relid) && !OidIsValid(target))
			*absent = true;
		appendBinaryStringInfo(&buf, p, hit - p);
		if (OidIsValid(target) && target != relid)
		{
			appendStringInfoString(&buf,
								   quote_qualified_identifier(get_namespace_name(get_rel_namespace(target)),
															  get_rel_name(target)));
			changed = true;
		}
		else
			appendBinaryStringInfo(&buf, hit, strlen(prefix) + len);
		p = name + len;
	}
	appendStringInfoString(&buf, p);
	return changed ? buf.data : NULL;
}

/*
 * RunTenantQuery runs query sql (its plan kept in *plan) with the given
 * arguments for tenant, as the owner of the calling function (the extension
 * owner), with a pinned search_path, like a SECURITY DEFINER function: the
 * caller needs no privileges on the core tables.  On a Citus worker the
 * query reads the tenant's shards (TenantQuery); where they are not, it is
 * not run and false is returned (nothing of the tenant is on this node).
 * Otherwise the caller reads SPI_tuptable.  Either way it ends with
 * tc_spi_end_as_owner(save).
 */
static bool
RunTenantQuery(const char *sql, SPIPlanPtr *plan, int nargs, Oid *types, Datum *values,
			   Oid fn_oid, const pg_uuid_t *tenant, long limit, TcOwnerSpi *save)
{
	char	   *local;
	bool		absent = false;
	int			rc;

	tc_spi_begin_as_owner(FunctionOwner(fn_oid), save);
	local = TenantQuery(sql, get_func_namespace(fn_oid), tenant, &absent);
	if (absent)
		return false;
	/*
	 * On a Citus coordinator the query is planned with its values bound, so
	 * that Citus routes it to the one node of the tenant (a kept generic
	 * plan would run on every shard, in parallel, which a later change of
	 * a reference table in the transaction cannot follow)
	 */
	if (local == NULL && tc_citus_installed())
		local = pstrdup(sql);
	if (local != NULL)
		rc = SPI_execute_with_args(local, nargs, types, values, NULL, true, limit);
	else
	{
		if (*plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

			if (p == NULL)
				elog(ERROR, "could not prepare a query of tenantcore: %s",
					 SPI_result_code_string(SPI_result));
			if (SPI_keepplan(p) != 0)
				elog(ERROR, "SPI_keepplan failed");
			*plan = p;
		}
		rc = SPI_execute_plan(*plan, values, NULL, true, limit);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "a query of tenantcore failed: %s", SPI_result_code_string(rc));
	return true;
}

/*
 * LookUpPermission runs the permission query as the owner of the function
 * (the extension owner), with a pinned search_path, like a SECURITY DEFINER
 * function: the caller needs no privileges on the core tables.
 */
static bool
LookUpPermission(Oid fn_oid, const pg_uuid_t *tenant, const pg_uuid_t *actor, text *permission)
{
	TcOwnerSpi	save;
	Oid			types[3] = {UUIDOID, UUIDOID, TEXTOID};
	Datum		values[3];
	bool		isnull = true;
	bool		result = false;

	values[0] = UUIDPGetDatum(tenant);
	values[1] = UUIDPGetDatum(actor);
	values[2] = PointerGetDatum(permission);

	if (RunTenantQuery(permission_sql, &permission_plan, 3, types, values, fn_oid, tenant, 1, &save) &&
		SPI_processed == 1)
		result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	tc_spi_end_as_owner(&save);
	return !isnull && result;
}

/*
 * FunctionOwner returns the owner of the function being called.
 */
static Oid
FunctionOwner(Oid fn_oid)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", fn_oid);
	owner = ((Form_pg_proc) GETSTRUCT(tuple))->proowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * tenantcore_has_permission tells whether the current actor holds a
 * permission in the current tenant: an active owner holds every permission
 * of the catalogue, other members those of their organization role and of
 * their granted roles.  No tenant or no actor, a soft-deleted organization
 * or person, a member not active: false.
 */
Datum
tenantcore_has_permission(PG_FUNCTION_ARGS)
{
	text	   *permission = PG_GETARG_TEXT_PP(0);
	const pg_uuid_t *tenant = tc_current_tenant();
	const pg_uuid_t *actor = tc_current_actor();
	PermissionCache *cache = (PermissionCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (tenant == NULL || actor == NULL)
		PG_RETURN_BOOL(false);

	if (cache != NULL && cache->valid &&
		cache->command_id == GetCurrentCommandId(false) &&
		cache->statement_start == GetCurrentStatementStartTimestamp() &&
		memcmp(&cache->tenant, tenant, sizeof(pg_uuid_t)) == 0 &&
		memcmp(&cache->actor, actor, sizeof(pg_uuid_t)) == 0 &&
		VARSIZE_ANY_EXHDR(cache->permission) == VARSIZE_ANY_EXHDR(permission) &&
		memcmp(VARDATA_ANY(cache->permission), VARDATA_ANY(permission),
			   VARSIZE_ANY_EXHDR(permission)) == 0)
		PG_RETURN_BOOL(cache->result);

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(PermissionCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	cache->valid = false;
	if (cache->permission != NULL)
		pfree(cache->permission);
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	cache->permission = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(permission));
	MemoryContextSwitchTo(old);
	cache->tenant = *tenant;
	cache->actor = *actor;
	cache->statement_start = GetCurrentStatementStartTimestamp();
	cache->command_id = GetCurrentCommandId(false);
	cache->result = LookUpPermission(fcinfo->flinfo->fn_oid, tenant, actor, cache->permission);
	cache->valid = true;
	PG_RETURN_BOOL(cache->result);
}

/*
 * tenantcore_has_permission_support tells the planner that has_permission()
 * keeps every row: within one query its answer is the same for all rows, so
 * the plan to choose is the one for "true" (without this, the default
 * estimate of a third of the rows turns index scans into bitmap scans and
 * sorts).
 */
Datum
tenantcore_has_permission_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		req->selectivity = 1.0;
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}

/* ------------------------------------------------------------------------
 * _member_visible
 * ------------------------------------------------------------------------
 */

/*
 * The members of the current tenant whom its members may see, as one call
 * site last loaded them (sorted), reused within the same statement and
 * command like PermissionCache.
 */
typedef struct MembersCache
{
	bool		valid;
	TimestampTz statement_start;
	CommandId	command_id;
	pg_uuid_t	tenant;
	int			probes;			/* single lookups made in this statement */
	bool		loaded;			/* members holds all the tenant's members */
	int			nmembers;
	pg_uuid_t  *members;		/* in fn_mcxt */
} MembersCache;

/*
 * On a server without Citus the first calls of a statement look the person
 * up alone (an index probe: a query of one person costs one), and from the
 * next call on the tenant's members are loaded at once (a query of many
 * persons costs one scan of the tenant's memberships).  On a Citus cluster
 * each lookup would be a query routed to another node: loaded at once.
 */
#define MEMBER_PROBES 8

static SPIPlanPtr members_plan = NULL;
static SPIPlanPtr member_plan = NULL;

static const char *member_sql =
"SELECT 1 FROM tenantcore.organization_members m"
" WHERE m.organization_id = $1 AND m.user_id = $2 AND m.status <> 'invited'";

/* invitations are not memberships: an invited person is not visible */
static const char *members_sql =
"SELECT array_agg(m.user_id) FROM tenantcore.organization_members m"
" WHERE m.organization_id = $1 AND m.status <> 'invited'";

static int
CompareUuids(const void *a, const void *b)
{
	return memcmp(a, b, UUID_LEN);
}

/*
 * LoadMembers fills cache->members with the visible members of tenant.
 */
static void
LoadMembers(MembersCache *cache, MemoryContext mcxt, Oid fn_oid, const pg_uuid_t *tenant)
{
	TcOwnerSpi	save;
	Oid			types[1] = {UUIDOID};
	Datum		values[1];
	int			n = 0;

	values[0] = UUIDPGetDatum(tenant);
	if (cache->members != NULL)
		pfree(cache->members);
	cache->members = NULL;
	/* one row: the ids as one array (user_id is NOT NULL: no null in it) */
	if (RunTenantQuery(members_sql, &members_plan, 1, types, values, fn_oid, tenant, 1, &save) &&
		SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			ArrayType  *ids = DatumGetArrayTypeP(d);

			n = ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids));
			if (ARR_HASNULL(ids) || ARR_ELEMTYPE(ids) != UUIDOID)
				elog(ERROR, "the members of the tenant came back malformed");
			cache->members = MemoryContextAlloc(mcxt, sizeof(pg_uuid_t) * Max(n, 1));
			memcpy(cache->members, ARR_DATA_PTR(ids), sizeof(pg_uuid_t) * n);
		}
	}
	tc_spi_end_as_owner(&save);
	if (cache->members == NULL)
		cache->members = MemoryContextAlloc(mcxt, sizeof(pg_uuid_t));
	qsort(cache->members, n, sizeof(pg_uuid_t), CompareUuids);
	cache->nmembers = n;
}

/*
 * ProbeMember looks one person up among the visible members of tenant.
 */
static bool
ProbeMember(Oid fn_oid, const pg_uuid_t *tenant, pg_uuid_t *user)
{
	TcOwnerSpi	save;
	Oid			types[2] = {UUIDOID, UUIDOID};
	Datum		values[2];
	bool		found;

	values[0] = UUIDPGetDatum(tenant);
	values[1] = UUIDPGetDatum(user);
	found = RunTenantQuery(member_sql, &member_plan, 2, types, values, fn_oid, tenant, 1, &save) &&
		SPI_processed > 0;
	tc_spi_end_as_owner(&save);
	return found;
}

/*
 * tenantcore_member_visible(user uuid) tells whether a person is a member
 * of the current tenant whom its members may see (any status but invited);
 * false without a tenant.  The policies "visible" of users and
 * user_profiles call it instead of a subquery of organization_members,
 * which Citus refuses in the policies of its tables.
 */
Datum
tenantcore_member_visible(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *user = PG_GETARG_UUID_P(0);
	const pg_uuid_t *tenant = tc_current_tenant();
	MembersCache *cache = (MembersCache *) fcinfo->flinfo->fn_extra;

	if (tenant == NULL)
		PG_RETURN_BOOL(false);
	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(MembersCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (!cache->valid ||
		cache->command_id != GetCurrentCommandId(false) ||
		cache->statement_start != GetCurrentStatementStartTimestamp() ||
		memcmp(&cache->tenant, tenant, sizeof(pg_uuid_t)) != 0)
	{
		cache->tenant = *tenant;
		cache->statement_start = GetCurrentStatementStartTimestamp();
		cache->command_id = GetCurrentCommandId(false);
		cache->probes = 0;
		cache->loaded = false;
		cache->valid = true;
	}
	if (!cache->loaded && cache->probes < MEMBER_PROBES && !tc_citus_installed())
	{
		cache->probes++;
		PG_RETURN_BOOL(ProbeMember(fcinfo->flinfo->fn_oid, tenant, user));
	}
	if (!cache->loaded)
	{
		LoadMembers(cache, fcinfo->flinfo->fn_mcxt, fcinfo->flinfo->fn_oid, tenant);
		cache->loaded = true;
	}
	PG_RETURN_BOOL(bsearch(user, cache->members, cache->nmembers, sizeof(pg_uuid_t), CompareUuids) != NULL);
}

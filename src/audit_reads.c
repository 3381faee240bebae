/*-------------------------------------------------------------------------
 *
 * audit_reads.c
 *		Reads of protected data, counted and recorded.
 *
 * With tenantcore.audit_reads on (a superuser setting: per role, database
 * or server), every decryption by decrypt_pii() or by a <table>_decrypted
 * view is counted in backend memory, per statement, tenant, actor, role,
 * table and column.  When the transaction commits, each count becomes one
 * row of tenantcore.audit_reads, written as the extension owner: one row per
 * statement and column read, not one per row decrypted, so reading 10,000
 * rows costs one counter increment per row and one insert per column.
 *
 * On a Citus cluster where audit_reads is distributed with the tenants
 * (distribute_tenant_keys()), a worker writes the counts of its decryptions
 * into the tenant's shard of audit_reads on that worker (by SQL on the shard
 * itself: Citus is committing the worker's transaction then), with ids from
 * the node's clock-based counter like the audit log's (tc_audit_node_id:
 * rising on the node, the Citus group in the low 10 bits); the
 * coordinator inserts through Citus, which routes each row to its tenant's
 * shard (this callback runs before Citus's own: tenantcore is preloaded after
 * citus).
 *
 * The counts live in TopTransactionContext and are gone at the end of the
 * transaction.  A read counts even when its subtransaction rolls back (the
 * data was seen).  When the whole transaction aborts, or cannot write
 * (read-only transaction, hot standby), the counts go to the server log
 * instead, one LOG line each, so a read is never silently forgotten.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "audit_ids.h"
#include "audit_reads.h"
#include "citus_meta.h"
#include "context.h"
#include "util.h"

/* tenantcore.audit_reads: record reads of protected data */
static bool audit_reads = false;

/* what one count is about; zeroed before filling, compared as bytes */
typedef struct ReadKey
{
	TimestampTz statement_start;
	pg_uuid_t	tenant;
	pg_uuid_t	actor;
	bool		has_actor;
	Oid			role;
	Oid			relid;			/* InvalidOid: a direct decrypt_pii() call */
	AttrNumber	attnum;
}			ReadKey;

typedef struct ReadCount
{
	ReadKey		key;
	int64		query_id;
	int64		reads;
	/* names resolved at the first read: no catalog access after an abort */
	NameData	role_name;
	char	   *table_name;		/* schema-qualified; NULL for none */
	char	   *column_name;	/* NULL for none */
}			ReadCount;

/* the counts of the current transaction, and the last one used */
static HTAB *read_counts = NULL;
static ReadCount *last_count = NULL;

/*
 * Where the counts go, looked up once per backend and checked at every
 * flush: the owner and schema of the extension, the table, and the insert
 * prepared for it (plancache replans it after DDL on the table).
 */
static Oid	target_relid = InvalidOid;
static Oid	target_owner = InvalidOid;
static SPIPlanPtr target_plan = NULL;

static const char *insert_sql =
"INSERT INTO %s.audit_reads (statement_started_at, backend_pid, query_id, organization_id, "
"actor_id, role_name, table_name, column_name, reads) "
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/* the same into a tenant's shard on a Citus worker (%s: the shard) */
static const char *shard_insert_sql =
"INSERT INTO %s (id, statement_started_at, backend_pid, query_id, organization_id, "
"actor_id, role_name, table_name, column_name, reads) "
"VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9)";

/*
 * FillKey describes a read by the current statement, user and actor.
 */
static void
FillKey(ReadKey *key, const pg_uuid_t *tenant, Oid relid, AttrNumber attnum)
{
	const pg_uuid_t *actor = tc_current_actor();

	memset(key, 0, sizeof(ReadKey));
	key->statement_start = GetCurrentStatementStartTimestamp();
	memcpy(&key->tenant, tenant, sizeof(pg_uuid_t));
	if (actor != NULL)
	{
		memcpy(&key->actor, actor, sizeof(pg_uuid_t));
		key->has_actor = true;
	}
	key->role = GetUserId();
	key->relid = relid;
	key->attnum = attnum;
}

/*
 * TableName is the schema-qualified name of a relation, or its OID when it
 * no longer exists (dropped in the same transaction), or NULL for none.
 */
static char *
TableName(Oid relid)
{
	if (!OidIsValid(relid))
		return NULL;
	if (get_rel_name(relid) == NULL)
		return psprintf("%u", relid);
	return tc_qualified_relation_name(relid);
}

/*
 * tc_audit_reads_count counts one decryption of a value of tenant's, from
 * column attnum of relid (InvalidOid and InvalidAttrNumber for a direct
 * decrypt_pii() call).  It does nothing unless tenantcore.audit_reads is on.
 */
void
tc_audit_reads_count(const pg_uuid_t *tenant, Oid relid, AttrNumber attnum)
{
	ReadKey		key;
	bool		found;

	if (!audit_reads)
		return;
	FillKey(&key, tenant, relid, attnum);
	/* the rows of one statement all hit the same count */
	if (last_count != NULL && memcmp(&last_count->key, &key, sizeof(ReadKey)) == 0)
	{
		last_count->reads++;
		return;
	}
	if (read_counts == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ReadKey);
		ctl.entrysize = sizeof(ReadCount);
		ctl.hcxt = TopTransactionContext;
		read_counts = hash_create("tenantcore reads of protected data", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	last_count = hash_search(read_counts, &key, HASH_ENTER, &found);
	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
		char	   *role = GetUserNameFromId(key.role, true);

		last_count->query_id = (int64) pgstat_get_my_query_id();
		last_count->reads = 0;
		namestrcpy(&last_count->role_name, role ? role : "?");
		last_count->table_name = TableName(relid);
		last_count->column_name = (OidIsValid(relid) && attnum > 0) ? get_attname(relid, attnum, true) : NULL;
		if (last_count->column_name == NULL && attnum != InvalidAttrNumber)
			last_count->column_name = psprintf("%d", attnum);
		MemoryContextSwitchTo(old);
	}
	last_count->reads++;
}

/*
 * LogCounts writes every count to the server log, saying why.
 */
static void
LogCounts(HTAB *counts, const char *why)
{
	HASH_SEQ_STATUS seq;
	ReadCount  *c;

	hash_seq_init(&seq, counts);
	while ((c = hash_seq_search(&seq)) != NULL)
	{
		ereport(LOG,
				(errmsg("tenantcore: reads of protected data not recorded in tenantcore.audit_reads (%s): "
						"tenant %s, actor %s, role %s, table %s, column %s, %lld reads, statement started at %s",
						why,
						tc_uuid_cstring(&c->key.tenant),
						c->key.has_actor ? tc_uuid_cstring(&c->key.actor) : "none",
						NameStr(c->role_name),
						c->table_name ? c->table_name : "none (decrypt_pii)",
						c->column_name ? c->column_name : "none",
						(long long) c->reads,
						timestamptz_to_str(c->key.statement_start)),
				 errhidestmt(true)));
	}
}

/*
 * LookUpTarget finds the extension's audit_reads table (and its owner);
 * false when this database has none.
 */
static bool
LookUpTarget(void)
{
	Oid			nsp;
	char	   *relname;

	/* the cached table is still there under its name: nothing to do */
	relname = OidIsValid(target_relid) ? get_rel_name(target_relid) : NULL;
	if (relname != NULL && strcmp(relname, "audit_reads") == 0)
		return true;
	if (target_plan != NULL)
	{
		SPI_freeplan(target_plan);
		target_plan = NULL;
	}
	target_relid = InvalidOid;
	if (!tc_extension_schema_and_owner("tenantcore", &nsp, &target_owner))
		return false;
	target_relid = get_relname_relid("audit_reads", nsp);
	return OidIsValid(target_relid);
}

/*
 * WriteCounts inserts every count into tenantcore.audit_reads, as the
 * extension owner with a pinned search_path (tc_spi_begin_as_owner); the
 * caller needs no privilege on the table.
 */
static void
WriteCounts(HTAB *counts)
{
	HASH_SEQ_STATUS seq;
	ReadCount  *c;
	TcOwnerSpi	spi;
	int32		group = tc_citus_local_group();
	bool		to_shards = group > 0 && tc_citus_table_method(target_relid) == 'h';

	tc_spi_begin_as_owner(target_owner, &spi);
	if (target_plan == NULL && !to_shards)
	{
		Oid			types[9] = {TIMESTAMPTZOID, INT4OID, INT8OID, UUIDOID, UUIDOID,
		NAMEOID, TEXTOID, TEXTOID, INT8OID};
		Oid			nsp = get_rel_namespace(target_relid);
		SPIPlanPtr	plan = SPI_prepare(psprintf(insert_sql, quote_identifier(get_namespace_name(nsp))),
									   9, types);

		if (plan == NULL)
			elog(ERROR, "could not prepare the insert into audit_reads: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		target_plan = plan;
	}

	hash_seq_init(&seq, counts);
	while ((c = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[10];
		char		nulls[10];

		memset(nulls, ' ', sizeof(nulls));
		values[0] = TimestampTzGetDatum(c->key.statement_start);
		values[1] = Int32GetDatum(MyProcPid);
		values[2] = Int64GetDatum(c->query_id);
		if (c->query_id == 0)
			nulls[2] = 'n';
		values[3] = UUIDPGetDatum(&c->key.tenant);
		values[4] = UUIDPGetDatum(&c->key.actor);
		if (!c->key.has_actor)
			nulls[4] = 'n';
		values[5] = NameGetDatum(&c->role_name);
		values[6] = c->table_name ? CStringGetTextDatum(c->table_name) : (Datum) 0;
		if (c->table_name == NULL)
			nulls[6] = 'n';
		values[7] = c->column_name ? CStringGetTextDatum(c->column_name) : (Datum) 0;
		if (c->column_name == NULL)
			nulls[7] = 'n';
		values[8] = Int64GetDatum(c->reads);
		if (to_shards)
		{
			Oid			types[10] = {TIMESTAMPTZOID, INT4OID, INT8OID, UUIDOID, UUIDOID,
			NAMEOID, TEXTOID, TEXTOID, INT8OID, INT8OID};
			Oid			shard = tc_citus_tenant_shard(target_relid, &c->key.tenant);

			if (!OidIsValid(shard))
			{
				/* decrypted here, but the tenant's rows are not: keep it in the log */
				ereport(LOG,
						(errmsg("tenantcore: reads of protected data not recorded in tenantcore.audit_reads (the tenant's shard is not on this node): "
								"tenant %s, role %s, table %s, column %s, %lld reads",
								tc_uuid_cstring(&c->key.tenant), NameStr(c->role_name),
								c->table_name ? c->table_name : "none (decrypt_pii)",
								c->column_name ? c->column_name : "none", (long long) c->reads),
						 errhidestmt(true)));
				continue;
			}
			values[9] = Int64GetDatum(tc_audit_node_id(group));
			nulls[9] = ' ';
			if (SPI_execute_with_args(psprintf(shard_insert_sql,
											   quote_qualified_identifier(get_namespace_name(get_rel_namespace(shard)),
																		  get_rel_name(shard))),
									  10, types, values, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not record reads of protected data in audit_reads");
		}
		else if (SPI_execute_plan(target_plan, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record reads of protected data in audit_reads");
	}
	tc_spi_end_as_owner(&spi);
}

/*
 * FlushCounts records the counts of the committing transaction.
 */
static void
FlushCounts(void)
{
	HTAB	   *counts = read_counts;

	/* no counting while writing: the insert decrypts nothing, but be sure */
	read_counts = NULL;
	last_count = NULL;
	if (hash_get_num_entries(counts) == 0)
		return;
	if (RecoveryInProgress() || XactReadOnly)
	{
		LogCounts(counts, "read-only transaction");
		return;
	}
	if (!LookUpTarget())
	{
		/* not installed in this database, or older than the library */
		LogCounts(counts, "this database has no tenantcore.audit_reads table (CREATE or ALTER EXTENSION tenantcore UPDATE)");
		return;
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	WriteCounts(counts);
	PopActiveSnapshot();
}

/*
 * AuditReadsXactCallback writes the counts before commit, logs them on
 * abort, and forgets them at the end of every transaction.
 */
static void
AuditReadsXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (read_counts != NULL)
				FlushCounts();
			break;
		case XACT_EVENT_ABORT:
			if (read_counts != NULL)
				LogCounts(read_counts, "the transaction rolled back");
			read_counts = NULL;
			last_count = NULL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			read_counts = NULL;
			last_count = NULL;
			break;
		default:
			break;
	}
}

/*
 * tc_audit_reads_init defines tenantcore.audit_reads and registers the
 * callback.
 */
void
tc_audit_reads_init(void)
{
	DefineCustomBoolVariable("tenantcore.audit_reads",
							 gettext_noop("Records every decryption of protected data in tenantcore.audit_reads, counted per statement and column."),
							 gettext_noop("A superuser setting: set it per application role (ALTER ROLE ... SET), database or server."),
							 &audit_reads,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	RegisterXactCallback(AuditReadsXactCallback, NULL);
}

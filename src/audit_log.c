/*-------------------------------------------------------------------------
 *
 * audit_log.c
 *		Writing entries into tenantcore.audit_log.
 *
 * The log entry is written straight into the partition of audit_log that
 * holds the transaction's timestamp (one transaction writes one partition,
 * so the partition is looked up once per transaction), without SQL and
 * without the privileges of the user: application roles cannot write to the
 * log themselves.  What the write needs besides the relations (a slot, the
 * IndexInfo of the partition's indexes) is built once per transaction and
 * partition and rebuilt after any relcache invalidation of the partition (a
 * new index, say); the relations are opened per entry and closed again, so
 * nothing stays open between trigger calls and DDL on the log in the same
 * transaction is not hindered.  Each entry is written when its row fires the
 * trigger, in the (sub)transaction of the change: a rolled-back savepoint
 * takes its entries with it, and anything that reads the log afterwards, in
 * the same transaction or not, sees every entry written before.
 *
 * Ids.  On a single server (and on a Citus coordinator) an entry's id is the
 * next value of the log's sequence.  A node of a Citus cluster that writes
 * into its shards of a distributed log cannot use it: the ids must be unique
 * across the nodes, and must keep the order of a tenant's changes when the
 * tenant's shards move to another node (history() and row_as_of() replay a
 * row's entries, audit_export() resumes, in id order).  There an id is
 *     ((milliseconds since 2020-01-01 UTC << 12) + n) << 10 | (group % 1024)
 * from a counter in shared memory that each node's entries take in turn and
 * that never goes back (audit_ids.c): each value is the greater of the
 * clock's and the last one plus one (n counts the entries of one
 * millisecond; past 4,096 it runs ahead of the clock until the clock catches
 * up).  So a node's ids
 * rise in the order its entries are written, the ids of different nodes
 * differ in their low 10 bits (the Citus group), and an entry written after
 * a shard move (which takes seconds) gets a greater id than the entries
 * written before it on the old node, as long as the nodes' clocks agree to
 * within that time.  These ids are above every value the sequence gives.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/tupconvert.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/partition.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "audit_ids.h"
#include "audit_log.h"
#include "citus_meta.h"
#include "util.h"

PG_FUNCTION_INFO_V1(tenantcore_audit_settled_before);

/* the names of the columns, by LOG_* position (also the entry hash's, audit_seal.c) */
const char *const tc_audit_log_column_names[LOG_NCOLUMNS] = {
	"id", "organization_id", "occurred_at", "txid", "relid", "table_name",
	"operation", "pk", "old_row", "new_row", "changed_columns", "actor_id",
	"db_user", "application_name", "client_addr", "table_id", "record_id"
};

/* the log table, resolved once per backend (until invalidated) */
static bool log_valid = false;
static Oid	log_relid = InvalidOid;
static Oid	log_seqid = InvalidOid;
static AttrNumber log_attnums[LOG_NCOLUMNS];

/* the partition of the current transaction (of the log or of its shard) */
static bool part_valid = false;
static LocalTransactionId part_lxid = InvalidLocalTransactionId;
static TimestampTz part_ts = 0;
static Oid	part_parent = InvalidOid;
static Oid	part_relid = InvalidOid;
static bool part_same_layout = false;	/* partition has the parent's columns */

/* what writing into the partition needs, per transaction (OpenLogWriter) */
static MemoryContext writer_cxt = NULL;
static bool writer_valid = false;
static Oid	writer_partid = InvalidOid;
static EState *writer_estate = NULL;
static TupleTableSlot *writer_slot = NULL;
static ResultRelInfo *writer_rri = NULL;
static Oid *writer_index_oids = NULL;

/* relcache invalidations seen so far */
static uint64 audit_inval_count = 0;

/*
 * tc_audit_log_invalidate marks the log's lookups as stale when the log, its
 * sequence or the partition in use changed (every relation: relid
 * InvalidOid).  It only sets flags.
 */
void
tc_audit_log_invalidate(Oid relid)
{
	audit_inval_count++;

	if (!OidIsValid(relid) || relid == log_relid || relid == log_seqid)
		log_valid = false;
	if (!OidIsValid(relid) || relid == log_relid || relid == part_relid || relid == part_parent)
		part_valid = false;
	if (!OidIsValid(relid) || relid == writer_partid)
		writer_valid = false;
}

/*
 * AuditXactCallback forgets the per-transaction state; its memory lived in
 * TopTransactionContext and is gone with it.
 */
static void
AuditXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			writer_cxt = NULL;
			writer_valid = false;
			part_valid = false;
			break;
		default:
			break;
	}
}

/* the Citus group of this node, looked up with the partition */
static int32 part_group = 0;

/*
 * tc_audit_log_init registers the transaction callback.
 */
void
tc_audit_log_init(void)
{
	RegisterXactCallback(AuditXactCallback, NULL);
}

/*
 * ResolveLog finds audit_log, its sequence and its columns in the schema of
 * the trigger function.
 */
static void
ResolveLog(Oid funcid)
{
	Oid			nspid = get_func_namespace(funcid);
	uint64		inval_count = audit_inval_count;

	log_relid = get_relname_relid("audit_log", nspid);
	log_seqid = get_relname_relid("audit_log_id_seq", nspid);
	if (!OidIsValid(log_relid) || !OidIsValid(log_seqid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s.audit_log does not exist", get_namespace_name(nspid)),
				 errhint("Reinstall the tenantcore extension.")));
	for (int i = 0; i < LOG_NCOLUMNS; i++)
	{
		log_attnums[i] = get_attnum(log_relid, tc_audit_log_column_names[i]);
		if (log_attnums[i] == InvalidAttrNumber && i < LOG_FIRST_OPTIONAL)
			elog(ERROR, "column \"%s\" of audit_log does not exist", tc_audit_log_column_names[i]);
	}
	log_valid = (inval_count == audit_inval_count);
}

/*
 * IdBound returns the lowest id that an entry written on this node from now
 * on can get: from the node's counter where the log is distributed (Citus),
 * above the log's sequence otherwise.  Reading it orders this call after every id taken before (the
 * counter's atomic, the sequence's buffer lock).  The sequence is read with
 * the privileges of the current user; it must hand out its values one at a
 * time (CACHE 1): a backend's cached values would be taken without the lock.
 */
static int64
IdBound(Oid funcid)
{
	LOCAL_FCINFO(seqinfo, 1);
	HeapTuple	seqtuple;
	int64		cache;
	Datum		last;

	if (!log_valid)
		ResolveLog(funcid);
	if (tc_citus_table_method(log_relid) == 'h')
		return tc_audit_node_bound();

	seqtuple = SearchSysCache1(SEQRELID, ObjectIdGetDatum(log_seqid));
	if (!HeapTupleIsValid(seqtuple))
		elog(ERROR, "cache lookup failed for sequence %u", log_seqid);
	cache = ((Form_pg_sequence) GETSTRUCT(seqtuple))->seqcache;
	ReleaseSysCache(seqtuple);
	if (cache != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sequence %s caches " INT64_FORMAT " values per backend",
						tc_qualified_relation_name(log_seqid), cache),
				 errdetail("A backend's cached ids are taken without the sequence's lock, so the audit entries that running transactions may still commit cannot be told."),
				 errhint("ALTER SEQUENCE %s CACHE 1;", tc_qualified_relation_name(log_seqid))));

	InitFunctionCallInfoData(*seqinfo, NULL, 1, InvalidOid, NULL, NULL);
	seqinfo->args[0].value = ObjectIdGetDatum(log_seqid);
	seqinfo->args[0].isnull = false;
	last = pg_sequence_last_value(seqinfo);
	/* NULL: no id was ever taken */
	return seqinfo->isnull ? 1 : DatumGetInt64(last) + 1;
}

/*
 * PreparedBefore tells whether a transaction of this database prepared
 * before ts (before the server's shared memory was set up) is still there.
 */
static bool
PreparedBefore(TimestampTz ts)
{
	Oid			argtypes[2] = {OIDOID, TIMESTAMPTZOID};
	Datum		args[2] = {ObjectIdGetDatum(MyDatabaseId), TimestampTzGetDatum(ts)};
	bool		found;

	SPI_connect();
	if (SPI_execute_with_args("SELECT FROM pg_catalog.pg_prepared_xact() p WHERE p.dbid = $1 AND p.prepared < $2 LIMIT 1",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the prepared transactions");
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/*
 * tenantcore__audit_settled_before() returns the id below which no running
 * or prepared transaction can still commit an audit entry on this node
 * (audit_ids.c); 0 while a transaction prepared before the server (re)set
 * its shared memory is left, whose entries could be anywhere.
 */
Datum
tenantcore_audit_settled_before(PG_FUNCTION_ARGS)
{
	TimestampTz started_at;
	int64		before;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("audit entries cannot be exported from a standby"),
				 errdetail("A standby cannot tell which entries the primary's running transactions may still commit below the last id it shows."),
				 errhint("Run tenantcore.audit_export() on the primary.")));
	before = tc_audit_settled_before(IdBound(fcinfo->flinfo->fn_oid), &started_at);
	/* the SPI query only where transactions can be prepared at all */
	if (max_prepared_xacts > 0 && PreparedBefore(started_at))
		before = 0;
	PG_RETURN_INT64(before);
}

/*
 * PartitionFor returns the partition of the log that holds ts: a monthly
 * partition, or the default partition.
 */
static Oid
PartitionFor(Relation parent, TimestampTz ts)
{
	PartitionKey key = RelationGetPartitionKey(parent);
	PartitionDesc partdesc = RelationGetPartitionDesc(parent, true);
	PartitionBoundInfo bounds = partdesc->boundinfo;
	int			index = -1;

	if (bounds != NULL && bounds->ndatums > 0)
	{
		Datum		value = TimestampTzGetDatum(ts);
		bool		equal;
		int			offset;

		offset = partition_range_datum_bsearch(key->partsupfunc, key->partcollation,
											   bounds, 1, &value, &equal);
		index = bounds->indexes[offset + 1];
	}
	if (index < 0 && bounds != NULL && partition_bound_has_default(bounds))
		index = bounds->default_index;
	if (index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("no partition of tenantcore.audit_log holds %s", timestamptz_to_str(ts)),
				 errhint("Restore the default partition tenantcore.audit_log_default.")));
	return partdesc->oids[index];
}

/*
 * OpenLogWriter prepares, once per transaction and partition, what writing
 * entries into the partition needs: a slot of its row type and its indexes'
 * IndexInfo (built once instead of for every entry).  Everything lives in a
 * memory context below TopTransactionContext; the relations themselves are
 * opened for each entry (their locks are kept to the end of the transaction
 * anyway), so nothing stays open between trigger calls.
 */
static void
OpenLogWriter(Relation part)
{
	MemoryContext old;
	ResultRelInfo *rri;

	if (writer_cxt != NULL)
		MemoryContextDelete(writer_cxt);
	writer_cxt = AllocSetContextCreate(TopTransactionContext, "tenantcore audit writer",
									   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(writer_cxt);

	writer_estate = CreateExecutorState();
	writer_slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(part)),
										   &TTSOpsHeapTuple);
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, part, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	writer_index_oids = palloc(sizeof(Oid) * Max(rri->ri_NumIndices, 1));
	for (int i = 0; i < rri->ri_NumIndices; i++)
		writer_index_oids[i] = RelationGetRelid(rri->ri_IndexRelationDescs[i]);
	/* the IndexInfos stay; the index relations are opened again per entry */
	ExecCloseIndices(rri);
	writer_rri = rri;
	writer_partid = RelationGetRelid(part);
	writer_valid = true;

	MemoryContextSwitchTo(old);
}

/*
 * tc_audit_log_insert writes one entry into the partition of the log that
 * holds the transaction timestamp, maintaining its indexes.  No privilege
 * check: the entry comes from the trigger, never from the user.  target is
 * InvalidOid for the log itself, or the shard of a distributed log to write
 * (tc_audit_log_target): the entry's id then comes from the node's counter
 * (tc_audit_node_id), unique across the nodes and rising across shard moves.
 */
void
tc_audit_log_insert(Oid funcid, Oid target, Datum *values, bool *nulls)
{
	Datum		logvalues[MaxTupleAttributeNumber];
	bool		lognulls[MaxTupleAttributeNumber];
	TimestampTz ts = GetCurrentTransactionStartTimestamp();
	Relation	parent;
	Relation	part;
	TupleDesc	parentdesc;
	TupleConversionMap *map;
	HeapTuple	tuple;
	ResultRelInfo *rri;
	bool		first;

	if (!log_valid)
		ResolveLog(funcid);

	if (!OidIsValid(target))
		target = log_relid;
	parent = table_open(target, RowExclusiveLock);
	for (;;)
	{
		if (!part_valid || part_lxid != TcMyLocalTransactionId() || part_ts != ts ||
			part_parent != target)
		{
			uint64		inval_count = audit_inval_count;

			part_parent = target;
			part_group = target == log_relid ? 0 : tc_citus_local_group();
			part_relid = PartitionFor(parent, ts);
			part_lxid = TcMyLocalTransactionId();
			part_ts = ts;
			part_valid = (inval_count == audit_inval_count);
			writer_valid = false;
			part = table_open(part_relid, RowExclusiveLock);
			map = convert_tuples_by_name(RelationGetDescr(parent), RelationGetDescr(part));
			part_same_layout = (map == NULL);
			if (map != NULL)
				free_conversion_map(map);
		}
		else
			part = table_open(part_relid, RowExclusiveLock);
		/* locking may have brought news of a new or detached partition */
		if (part_valid)
			break;
		table_close(part, RowExclusiveLock);
	}
	parentdesc = RelationGetDescr(parent);
	for (int i = 0; i < parentdesc->natts; i++)
	{
		logvalues[i] = (Datum) 0;
		lognulls[i] = true;
	}
	/*
	 * the transaction's first id is published while it runs
	 * (audit_ids.c); the sequence's lock first, so that the slot is never
	 * pending while this waits for it
	 */
	first = !tc_audit_settled_published();
	if (first)
	{
		if (target == log_relid)
			LockRelationOid(log_seqid, RowExclusiveLock);
		tc_audit_settled_begin();
	}
	values[LOG_ID] = Int64GetDatum(target == log_relid ? nextval_internal(log_seqid, false)
								   : tc_audit_node_id(part_group));
	nulls[LOG_ID] = false;
	if (first)
		tc_audit_settled_publish(DatumGetInt64(values[LOG_ID]));
	values[LOG_OCCURRED_AT] = TimestampTzGetDatum(ts);
	nulls[LOG_OCCURRED_AT] = false;
	for (int i = 0; i < LOG_NCOLUMNS; i++)
	{
		if (log_attnums[i] == InvalidAttrNumber)
			continue;
		logvalues[log_attnums[i] - 1] = values[i];
		lognulls[log_attnums[i] - 1] = nulls[i];
	}
	tuple = heap_form_tuple(parentdesc, logvalues, lognulls);
	if (!part_same_layout)
	{
		/* e.g. a partition attached with its columns in another order */
		map = convert_tuples_by_name(parentdesc, RelationGetDescr(part));
		if (map != NULL)
			tuple = execute_attr_map_tuple(tuple, map);
	}

	/*
	 * The writer is checked after the last lock this takes (the sequence's,
	 * the indexes'): taking a lock can process invalidations that free the
	 * relcache entries of the indexes, into which the writer's IndexInfos
	 * point while the indexes are closed (BRIN keeps its descriptor there).
	 */
	for (;;)
	{
		if (!writer_valid || writer_partid != part_relid)
			OpenLogWriter(part);
		rri = writer_rri;
		for (int i = 0; i < rri->ri_NumIndices; i++)
			rri->ri_IndexRelationDescs[i] = index_open(writer_index_oids[i], RowExclusiveLock);
		if (writer_valid)
			break;
		for (int i = 0; i < rri->ri_NumIndices; i++)
		{
			index_close(rri->ri_IndexRelationDescs[i], NoLock);
			rri->ri_IndexRelationDescs[i] = NULL;
		}
	}
	rri->ri_RelationDesc = part;
	ExecStoreHeapTuple(tuple, writer_slot, false);

	table_tuple_insert(part, writer_slot, GetCurrentCommandId(true), 0, NULL);
	if (rri->ri_NumIndices > 0)
	{
#if PG_VERSION_NUM >= 160000
		list_free(ExecInsertIndexTuples(rri, writer_slot, writer_estate, false, false, NULL, NIL, false));
#else
		list_free(ExecInsertIndexTuples(rri, writer_slot, writer_estate, false, false, NULL, NIL));
#endif
	}
	ResetPerTupleExprContext(writer_estate);
	ExecClearTuple(writer_slot);

	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
#if PG_VERSION_NUM >= 170000
		/* BRIN keeps buffers pinned between inserts from 17 on */
		index_insert_cleanup(rri->ri_IndexRelationDescs[i], rri->ri_IndexRelationInfo[i]);
#endif
		index_close(rri->ri_IndexRelationDescs[i], NoLock);
		rri->ri_IndexRelationDescs[i] = NULL;
	}
	rri->ri_RelationDesc = NULL;
	table_close(part, NoLock);
	table_close(parent, NoLock);
}

/*-------------------------------------------------------------------------
 *
 * citus_meta.c
 *		What tenantcore needs to know of a Citus cluster's metadata: the
 *		shards of distributed tables, the local placement of a reference
 *		table, this node's group.
 *
 * On a worker, an audit trigger fires on a shard (billing.invoices_102008),
 * not on the distributed table, and the extension's own tables are shells
 * whose rows live in shards or placements of their own.  The trigger writes
 * its entry straight into the shard of tenantcore.audit_log that is
 * co-located with the row's shard (on this node, with the row, in the same
 * transaction), and reads the registry of audited tables (a reference table
 * on a Citus cluster) from its local placement.
 *
 * The metadata is read from Citus's catalog tables (pg_dist_partition,
 * pg_dist_shard, pg_dist_local_group) directly, through their indexes,
 * found by name in pg_catalog: no Citus symbol is linked, no SQL runs inside
 * the trigger, and a server without Citus pays a syscache lookup of the
 * table name, once per cached answer.  A shard's relation has the name
 * Citus's shard_name() gives it (<table>_<shardid> in the table's schema, a
 * long name shortened with a hash); a name that merely looks like one is not
 * taken for a shard unless pg_dist_shard and shard_name() say so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"
#include "utils/varlena.h"

#include "citus_meta.h"
#include "util.h"

/*
 * CatalogTable returns Citus's catalog table (or index) called name, or
 * InvalidOid when Citus is not installed in this database.
 */
static Oid
CatalogTable(const char *name)
{
	return get_relname_relid(name, PG_CATALOG_NAMESPACE);
}

/*
 * ScanByKey returns a copy of the first tuple of catalog table tabname whose
 * column colname equals value (an oid or a bigint), through index idxname;
 * NULL if none.  *tabrel is left open (AccessShareLock) for the caller to
 * read the tuple's attributes, and must be closed by it.
 */
static HeapTuple
ScanByKey(const char *tabname, const char *idxname, const char *colname,
		  bool is_int8, Datum value, Relation *tabrel)
{
	Oid			tabid = CatalogTable(tabname);
	Oid			idxid = CatalogTable(idxname);
	AttrNumber	att;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	HeapTuple	result = NULL;

	*tabrel = NULL;
	if (!OidIsValid(tabid))
		return NULL;
	att = get_attnum(tabid, colname);
	if (att == InvalidAttrNumber)
		return NULL;
	*tabrel = table_open(tabid, AccessShareLock);
	ScanKeyInit(&key, att, BTEqualStrategyNumber, is_int8 ? F_INT8EQ : F_OIDEQ, value);
	scan = systable_beginscan(*tabrel, idxid, OidIsValid(idxid), NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		result = heap_copytuple(tuple);
	systable_endscan(scan);
	return result;
}

/* the value of column colname of a tuple of rel (NULL: *isnull) */
static Datum
Column(Relation rel, HeapTuple tuple, const char *colname, bool *isnull)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), colname);

	if (att == InvalidAttrNumber)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return heap_getattr(tuple, att, RelationGetDescr(rel), isnull);
}

/*
 * tc_citus_installed tells whether Citus is installed in this database.
 */
bool
tc_citus_installed(void)
{
	return OidIsValid(CatalogTable("pg_dist_partition"));
}

/*
 * tc_citus_table_method returns the distribution method of a Citus table
 * ('h' hash, 'n' reference or Citus local table, ...), or '\0' when relid is
 * not a Citus table (or Citus is not installed).
 */
char
tc_citus_table_method(Oid relid)
{
	Relation	rel;
	HeapTuple	tuple = ScanByKey("pg_dist_partition", "pg_dist_partition_logical_relid_index",
								  "logicalrelid", false, ObjectIdGetDatum(relid), &rel);
	char		method = '\0';

	if (tuple != NULL)
	{
		bool		isnull;
		Datum		d = Column(rel, tuple, "partmethod", &isnull);

		if (!isnull)
			method = DatumGetChar(d);
	}
	if (rel != NULL)
		table_close(rel, AccessShareLock);
	return method;
}

/*
 * ShardRelation returns the local relation of shard shardid of table
 * logicalid, or InvalidOid when this node has no placement of it.  Its name
 * is Citus's: shard_name(), resolved by oid in pg_catalog (a long table name
 * is shortened with a hash there); <table>_<shardid> in the table's schema
 * without it.
 */
static Oid
ShardRelation(Oid logicalid, int64 shardid)
{
	Oid			argtypes[3] = {REGCLASSOID, INT8OID, BOOLOID};
	Oid			fn = LookupFuncName(list_make2(makeString("pg_catalog"), makeString("shard_name")),
									3, argtypes, true);
	char	   *relname = get_rel_name(logicalid);
	char		name[NAMEDATALEN * 2];

	if (relname == NULL)
		return InvalidOid;
	if (OidIsValid(fn))
	{
		/* shard_name(table, shard, skip_qualify_public => false) */
		text	   *qualified = DatumGetTextPP(OidFunctionCall3(fn, ObjectIdGetDatum(logicalid),
																Int64GetDatum(shardid),
																BoolGetDatum(false)));
		List	   *names = textToQualifiedNameList(qualified);

		if (list_length(names) == 1)
			return get_relname_relid(strVal(linitial(names)), get_rel_namespace(logicalid));
		return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
	}
	snprintf(name, sizeof(name), "%s_" INT64_FORMAT, relname, shardid);
	if (strlen(name) >= NAMEDATALEN)
		return InvalidOid;
	return get_relname_relid(name, get_rel_namespace(logicalid));
}

/*
 * tc_citus_shard_of tells whether relid is the local placement of a shard of
 * a distributed table; if so, *logicalid is the table (its shell on this
 * node) and *shardid the shard.
 */
bool
tc_citus_shard_of(Oid relid, Oid *logicalid, int64 *shardid)
{
	char	   *relname = get_rel_name(relid);
	const char *digits;
	int64		id;
	Relation	rel;
	HeapTuple	tuple;
	bool		found = false;

	if (relname == NULL || !OidIsValid(CatalogTable("pg_dist_shard")))
		return false;
	digits = strrchr(relname, '_');
	if (digits == NULL || digits[1] == '\0' || strspn(digits + 1, "0123456789") != strlen(digits + 1) ||
		strlen(digits + 1) > 18)
		return false;
	id = strtoi64(digits + 1, NULL, 10);

	tuple = ScanByKey("pg_dist_shard", "pg_dist_shard_shardid_index", "shardid", true,
					  Int64GetDatum(id), &rel);
	if (tuple != NULL)
	{
		bool		isnull;
		Datum		d = Column(rel, tuple, "logicalrelid", &isnull);

		/* the name must be this shard's name in the table's schema */
		if (!isnull && ShardRelation(DatumGetObjectId(d), id) == relid)
		{
			*logicalid = DatumGetObjectId(d);
			*shardid = id;
			found = true;
		}
	}
	if (rel != NULL)
		table_close(rel, AccessShareLock);
	return found;
}

/* the shardminvalue of shard shardid as text (palloc'd), or NULL */
static char *
ShardMinValue(int64 shardid)
{
	Relation	rel;
	HeapTuple	tuple = ScanByKey("pg_dist_shard", "pg_dist_shard_shardid_index", "shardid", true,
								  Int64GetDatum(shardid), &rel);
	char	   *result = NULL;

	if (tuple != NULL)
	{
		bool		isnull;
		Datum		d = Column(rel, tuple, "shardminvalue", &isnull);

		if (!isnull)
			result = TextDatumGetCString(d);
	}
	if (rel != NULL)
		table_close(rel, AccessShareLock);
	return result;
}

/*
 * tc_citus_colocated_shard returns the local relation of the shard of
 * table targetid that covers the same hash range as shard shardid (of a
 * table co-located with targetid), or InvalidOid when there is none on this
 * node.  The caller checks co-location (tc_citus_colocated).
 */
Oid
tc_citus_colocated_shard(int64 shardid, Oid targetid)
{
	char	   *minvalue = ShardMinValue(shardid);
	Oid			tabid = CatalogTable("pg_dist_shard");
	Oid			idxid = CatalogTable("pg_dist_shard_logical_relid_index");
	AttrNumber	relatt;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Relation	rel;
	Oid			result = InvalidOid;

	if (minvalue == NULL || !OidIsValid(tabid))
		return InvalidOid;
	relatt = get_attnum(tabid, "logicalrelid");
	rel = table_open(tabid, AccessShareLock);
	ScanKeyInit(&key, relatt, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(targetid));
	scan = systable_beginscan(rel, idxid, OidIsValid(idxid), NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		min = Column(rel, tuple, "shardminvalue", &isnull);

		if (!isnull && strcmp(TextDatumGetCString(min), minvalue) == 0)
		{
			Datum		id = Column(rel, tuple, "shardid", &isnull);

			result = ShardRelation(targetid, DatumGetInt64(id));
			break;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* the co-location group of a Citus table, or 0 */
static uint32
ColocationId(Oid relid)
{
	Relation	rel;
	HeapTuple	tuple = ScanByKey("pg_dist_partition", "pg_dist_partition_logical_relid_index",
								  "logicalrelid", false, ObjectIdGetDatum(relid), &rel);
	uint32		result = 0;

	if (tuple != NULL)
	{
		bool		isnull;
		Datum		d = Column(rel, tuple, "colocationid", &isnull);

		if (!isnull)
			result = DatumGetUInt32(d);
	}
	if (rel != NULL)
		table_close(rel, AccessShareLock);
	return result;
}

/* tc_citus_colocated: a and b are distributed tables of one co-location group */
bool
tc_citus_colocated(Oid a, Oid b)
{
	uint32		ca = ColocationId(a);

	return ca != 0 && ca == ColocationId(b);
}

/*
 * ShardPlacedHere tells whether this node holds a placement of shard
 * shardid in pg_dist_placement: after a shard move, the copy on the old node
 * keeps its name until Citus drops it, but is no longer the shard.
 */
static bool
ShardPlacedHere(int64 shardid)
{
	Oid			tabid = CatalogTable("pg_dist_placement");
	Oid			idxid = CatalogTable("pg_dist_placement_shardid_index");
	int32		group = tc_citus_local_group();
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Relation	rel;
	bool		found = false;

	if (!OidIsValid(tabid))
		return false;
	rel = table_open(tabid, AccessShareLock);
	ScanKeyInit(&key, get_attnum(tabid, "shardid"), BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(shardid));
	scan = systable_beginscan(rel, idxid, OidIsValid(idxid), NULL, 1, &key);
	while (!found && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = Column(rel, tuple, "groupid", &isnull);

		found = !isnull && DatumGetInt32(d) == group;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * tc_citus_tenant_shard returns the local relation of the shard of table
 * logicalid (distributed by hash on a uuid column) that holds tenant, or
 * InvalidOid when that shard is not placed on this node.  The hash is the
 * uuid type's standard hash function, as Citus hashes a distribution column.
 */
Oid
tc_citus_tenant_shard(Oid logicalid, const pg_uuid_t *tenant)
{
	TypeCacheEntry *tce = lookup_type_cache(UUIDOID, TYPECACHE_HASH_PROC_FINFO);
	int32		hash;
	Oid			tabid = CatalogTable("pg_dist_shard");
	Oid			idxid = CatalogTable("pg_dist_shard_logical_relid_index");
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Relation	rel;
	Oid			result = InvalidOid;

	if (!OidIsValid(tabid) || !OidIsValid(tce->hash_proc_finfo.fn_oid))
		return InvalidOid;
	hash = DatumGetInt32(FunctionCall1Coll(&tce->hash_proc_finfo, InvalidOid, UUIDPGetDatum(tenant)));
	rel = table_open(tabid, AccessShareLock);
	ScanKeyInit(&key, get_attnum(tabid, "logicalrelid"), BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(logicalid));
	scan = systable_beginscan(rel, idxid, OidIsValid(idxid), NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		minnull;
		bool		maxnull;
		bool		idnull;
		Datum		min = Column(rel, tuple, "shardminvalue", &minnull);
		Datum		max = Column(rel, tuple, "shardmaxvalue", &maxnull);
		Datum		id = Column(rel, tuple, "shardid", &idnull);

		if (minnull || maxnull || idnull)
			continue;
		if (pg_strtoint32(TextDatumGetCString(min)) <= hash &&
			hash <= pg_strtoint32(TextDatumGetCString(max)))
		{
			/* a copy left behind by a shard move is not the shard */
			if (ShardPlacedHere(DatumGetInt64(id)))
				result = ShardRelation(logicalid, DatumGetInt64(id));
			break;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * tc_citus_local_placement returns the relation that holds the rows of
 * relid on this node: the local placement of a reference table, or relid
 * itself for any other table (and on a server without Citus).
 */
Oid
tc_citus_local_placement(Oid relid)
{
	Relation	rel;
	HeapTuple	tuple;
	Oid			result = relid;

	if (tc_citus_table_method(relid) != 'n')
		return relid;
	tuple = ScanByKey("pg_dist_shard", "pg_dist_shard_logical_relid_index", "logicalrelid", false,
					  ObjectIdGetDatum(relid), &rel);
	if (tuple != NULL)
	{
		bool		isnull;
		Datum		id = Column(rel, tuple, "shardid", &isnull);
		Oid			placement = isnull ? InvalidOid : ShardRelation(relid, DatumGetInt64(id));

		if (OidIsValid(placement))
			result = placement;
	}
	if (rel != NULL)
		table_close(rel, AccessShareLock);
	return result;
}

/*
 * tc_citus_tenant_relation returns the relation that a query run on this
 * node for tenant reads in place of relid: relid itself on a server without
 * Citus, for a table that is not on the cluster, and on the coordinator
 * (where Citus plans the query over the cluster); on a worker, the local
 * placement of a reference table, and the local shard of a table
 * distributed by hash that holds tenant.  Such a query runs inside a shard
 * query there (a policy or a trigger), where Citus refuses another
 * distributed query.  InvalidOid when the tenant's shard is not on this
 * worker: then no row of the tenant is here either (its rows are in the
 * co-located shards, on its node), and the caller answers "none".
 */
Oid
tc_citus_tenant_relation(Oid relid, const pg_uuid_t *tenant)
{
	char		method = tc_citus_table_method(relid);

	if (method == '\0' || tc_citus_local_group() == 0)
		return relid;
	if (method == 'h')
		return tc_citus_tenant_shard(relid, tenant);
	return tc_citus_is_reference(relid) ? tc_citus_local_placement(relid) : relid;
}

/*
 * tc_citus_local_group returns this node's group in the Citus cluster (0 on
 * the coordinator and on a server without Citus).
 */
int32
tc_citus_local_group(void)
{
	Oid			tabid = CatalogTable("pg_dist_local_group");
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	int32		group = 0;

	if (!OidIsValid(tabid))
		return 0;
	rel = table_open(tabid, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	tuple = heap_getnext(scan, ForwardScanDirection);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = Column(rel, tuple, "groupid", &isnull);

		if (!isnull)
			group = DatumGetInt32(d);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return group;
}

/*
 * tc_citus_transaction_stamp sets *stamp to the timestamp of the current
 * distributed transaction of a Citus cluster (transaction_stamp of
 * get_current_transaction_id(), resolved by oid in pg_catalog): the
 * coordinator sets it when the transaction first reaches another node and
 * sends it to every node the transaction reaches, so that each node sees
 * the same value.  False without Citus or outside a distributed transaction.
 */
bool
tc_citus_transaction_stamp(TimestampTz *stamp)
{
	/* once known, the stamp holds for the rest of the transaction */
	static LocalTransactionId cached_for = InvalidLocalTransactionId;
	static TimestampTz cached = 0;
	Oid			fn;
	HeapTupleHeader rec;
	HeapTupleData tuple;
	TupleDesc	desc;
	AttrNumber	numberatt = InvalidAttrNumber;
	AttrNumber	stampatt = InvalidAttrNumber;
	bool		isnull;
	bool		found = false;

	if (cached_for != InvalidLocalTransactionId && cached_for == TcMyLocalTransactionId())
	{
		*stamp = cached;
		return true;
	}
	if (!OidIsValid(CatalogTable("pg_dist_partition")))
		return false;
	fn = LookupFuncName(list_make2(makeString("pg_catalog"), makeString("get_current_transaction_id")),
						0, NULL, true);
	if (!OidIsValid(fn) || get_func_rettype(fn) != RECORDOID)
		return false;
	rec = DatumGetHeapTupleHeader(OidFunctionCall0(fn));
	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec), HeapTupleHeaderGetTypMod(rec));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (strcmp(NameStr(att->attname), "transaction_number") == 0 && att->atttypid == INT8OID)
			numberatt = att->attnum;
		else if (strcmp(NameStr(att->attname), "transaction_stamp") == 0 && att->atttypid == TIMESTAMPTZOID)
			stampatt = att->attnum;
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	if (numberatt != InvalidAttrNumber && stampatt != InvalidAttrNumber)
	{
		Datum		number = heap_getattr(&tuple, numberatt, desc, &isnull);

		if (!isnull && DatumGetInt64(number) != 0)
		{
			Datum		d = heap_getattr(&tuple, stampatt, desc, &isnull);

			if (!isnull)
			{
				*stamp = cached = DatumGetTimestampTz(d);
				cached_for = TcMyLocalTransactionId();
				found = true;
			}
		}
	}
	ReleaseTupleDesc(desc);
	return found;
}

/*
 * tc_citus_is_reference tells whether relid is a Citus reference table (a
 * copy on every node): partition method 'n' with replication model 't'
 * (a Citus local table, on the coordinator alone, has 's').
 */
bool
tc_citus_is_reference(Oid relid)
{
	Relation	rel;
	HeapTuple	tuple = ScanByKey("pg_dist_partition", "pg_dist_partition_logical_relid_index",
								  "logicalrelid", false, ObjectIdGetDatum(relid), &rel);
	bool		result = false;

	if (tuple != NULL)
	{
		bool		methodnull;
		bool		modelnull;
		Datum		method = Column(rel, tuple, "partmethod", &methodnull);
		Datum		model = Column(rel, tuple, "repmodel", &modelnull);

		result = !methodnull && !modelnull && DatumGetChar(method) == 'n' && DatumGetChar(model) == 't';
	}
	if (rel != NULL)
		table_close(rel, AccessShareLock);
	return result;
}

/*
 * tenantcore_citus_table_method(rel regclass) returns the distribution method
 * of a Citus table ('h' distributed by hash, 'n' reference table or Citus
 * local table), NULL for any other table and on a server without Citus.
 */
PG_FUNCTION_INFO_V1(tenantcore_citus_table_method);
Datum
tenantcore_citus_table_method(PG_FUNCTION_ARGS)
{
	char		method = tc_citus_table_method(PG_GETARG_OID(0));

	if (method == '\0')
		PG_RETURN_NULL();
	PG_RETURN_CHAR(method);
}

/*
 * tenantcore_citus_worker() is true on a worker node of a Citus cluster
 * (group > 0), where DDL arrives from the coordinator for shards and shell
 * tables: the extension's event triggers leave the bookkeeping to the
 * coordinator there.
 */
PG_FUNCTION_INFO_V1(tenantcore_citus_worker);
Datum
tenantcore_citus_worker(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(tc_citus_local_group() > 0);
}

/*
 * tenantcore_citus_reference(rel regclass) tells whether rel is a Citus
 * reference table (false on a server without Citus).
 */
PG_FUNCTION_INFO_V1(tenantcore_citus_reference);
Datum
tenantcore_citus_reference(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(tc_citus_is_reference(PG_GETARG_OID(0)));
}

/*
 * tenantcore_citus_local_shard(rel regclass, tenant uuid) returns the local
 * shard of rel (distributed by hash) that holds tenant, NULL when this node
 * does not hold it (the coordinator holds none); rel itself when it is not
 * a Citus table.  A trigger on a reference table fires on every node's copy
 * of a row: with it, the node of the tenant's shard writes there, once.
 */
PG_FUNCTION_INFO_V1(tenantcore_citus_local_shard);
Datum
tenantcore_citus_local_shard(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char		method = tc_citus_table_method(relid);
	Oid			shard;

	if (method == '\0')
		PG_RETURN_OID(relid);
	if (method != 'h')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table %s is not distributed by hash", get_rel_name(relid))));
	shard = tc_citus_tenant_shard(relid, PG_GETARG_UUID_P(1));
	if (!OidIsValid(shard))
		PG_RETURN_NULL();
	PG_RETURN_OID(shard);
}

/*
 * tenantcore_citus_placement(rel regclass) returns the relation that holds
 * rel's rows on this node: the local placement of a reference table, rel
 * itself otherwise.
 */
PG_FUNCTION_INFO_V1(tenantcore_citus_placement);
Datum
tenantcore_citus_placement(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(tc_citus_local_placement(PG_GETARG_OID(0)));
}

/*-------------------------------------------------------------------------
 *
 * citus_meta.h
 *		Citus's metadata as tenantcore reads it: shards of distributed
 *		tables, the local placement of a reference table, the node's group.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CITUS_META_H
#define TC_CITUS_META_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/uuid.h"

extern bool tc_citus_installed(void);
extern char tc_citus_table_method(Oid relid);
extern bool tc_citus_is_reference(Oid relid);
extern bool tc_citus_shard_of(Oid relid, Oid *logicalid, int64 *shardid);
extern Oid	tc_citus_colocated_shard(int64 shardid, Oid targetid);
extern bool tc_citus_colocated(Oid a, Oid b);
extern Oid	tc_citus_local_placement(Oid relid);
extern Oid	tc_citus_tenant_shard(Oid logicalid, const pg_uuid_t *tenant);
extern Oid	tc_citus_tenant_relation(Oid relid, const pg_uuid_t *tenant);
extern int32 tc_citus_local_group(void);
extern bool tc_citus_transaction_stamp(TimestampTz *stamp);

#endif							/* TC_CITUS_META_H */

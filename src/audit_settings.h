/*-------------------------------------------------------------------------
 *
 * audit_settings.h
 *		The settings of each audit trigger (its arguments resolved against
 *		its table), cached per backend and pinned while a trigger call uses
 *		them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_AUDIT_SETTINGS_H
#define TC_AUDIT_SETTINGS_H

#include "postgres.h"

#include "commands/trigger.h"
#include "utils/relcache.h"
#include "utils/uuid.h"

#include "audit_json.h"

/* settings of one audit trigger, resolved against its table */
typedef struct AuditTrigger
{
	Oid			tgoid;
	bool		valid;
	int			pins;			/* trigger calls using these settings now */
	bool		detached;		/* no longer in the hash: free when unpinned */
	MemoryContext cxt;			/* holds this struct and everything below */
	Oid			relid;			/* table the trigger is on */
	Oid			rootid;			/* audited table (a partition's ancestor; a
								 * shard's distributed table) */
	Oid			log_target;		/* where entries go: InvalidOid for the log
								 * itself, or its co-located shard (Citus) */
	Oid			log_by_tenant;	/* Citus reference table: the distributed log,
								 * whose shard of each entry's tenant takes it
								 * on the node that holds that shard */
	char	   *table_name;		/* qualified name of the audited table */
	int			natts;			/* of the table when resolved */
	bool		changed_only;
	AttrNumber	tenant_attnum;	/* 0: the current tenant */
	bool		has_table_id;	/* a 'table:<uuid>' argument was given */
	pg_uuid_t	table_id;		/* stable identity of the audited table */
	int			ncolumns;
	AuditColumn *columns;		/* logged columns in attnum order */
	int		   *keyorder;		/* the same in JSONB key order */
	text	   *table_name_text;
	bool	   *pkonly;			/* columns[i] is a primary key column */
	Datum	   *name_texts;		/* columns[i]'s name as text */
}			AuditTrigger;

extern void tc_audit_settings_invalidate(Oid relid);
extern AuditTrigger *tc_audit_lookup_trigger(Trigger *trigger, Relation rel);
extern void tc_audit_release_trigger(AuditTrigger *trig);
extern Oid	tc_audit_log_target(Oid funcid, Relation rel, Oid *relid, Oid *by_tenant);
extern Oid	tc_audit_tenant_log_shard(AuditTrigger *trig, Datum *tenant, bool *isnull);
extern void tc_audit_check_table_identity(Trigger *trigger, Relation rel, Oid relid,
										  const char *arg, const pg_uuid_t *table_id);

#endif							/* TC_AUDIT_SETTINGS_H */

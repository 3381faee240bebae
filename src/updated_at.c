/*-------------------------------------------------------------------------
 *
 * updated_at.c
 *		tenantcore.updated_at_trigger(): keeps an "updated at" column current.
 *
 * tenantcore.track_updated_at(rel, column) installs this function as a
 * BEFORE UPDATE row trigger with the column's name as its argument.  It sets
 * the column to the transaction's start time (the value of now()), as the
 * seeds' update_updated_at_column() plpgsql triggers do, without starting the
 * plpgsql interpreter for every row.
 *
 * On a Citus cluster the trigger fires on the nodes: on a reference table,
 * on every node's copy of the row, each in its own local transaction.  The
 * value is then the distributed transaction's timestamp, which the
 * coordinator hands to every node the transaction reaches, so that the
 * copies stay identical and every row a transaction changes, on whatever
 * node, gets one time (as on a single server).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "citus_meta.h"
#include "updated_at.h"

PG_FUNCTION_INFO_V1(tenantcore_updated_at_trigger);

/*
 * Check that the function is fired as the row trigger track_updated_at()
 * creates, and return the column number of its argument.
 */
static int
UpdatedAtColumn(TriggerData *trigdata)
{
	Trigger    *trigger = trigdata->tg_trigger;
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	int			attnum;

	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenantcore.updated_at_trigger() must be fired BEFORE UPDATE FOR EACH ROW"),
				 errhint("Use tenantcore.track_updated_at() to install it.")));
	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenantcore.updated_at_trigger() needs the column name as its only argument"),
				 errhint("Use tenantcore.track_updated_at() to install it.")));

	attnum = SPI_fnumber(tupdesc, trigger->tgargs[0]);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						trigger->tgargs[0], RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Run tenantcore.track_updated_at() again after renaming the column.")));
	if (TupleDescAttr(tupdesc, attnum - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is not of type timestamp with time zone",
						trigger->tgargs[0], RelationGetRelationName(trigdata->tg_relation))));
	return attnum;
}

/*
 * UpdateTime: the transaction's start time (now()), or on a Citus cluster
 * the distributed transaction's timestamp, the same on every node.
 */
static TimestampTz
UpdateTime(void)
{
	TimestampTz stamp;

	if (tc_citus_transaction_stamp(&stamp))
		return stamp;
	return GetCurrentTransactionStartTimestamp();
}

/*
 * The trigger: returns the new row with the column set to UpdateTime().
 */
Datum
tenantcore_updated_at_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	int			attnum;
	Datum		value;
	bool		isnull = false;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenantcore.updated_at_trigger() can only be called as a trigger")));

	attnum = UpdatedAtColumn(trigdata);
	value = TimestampTzGetDatum(UpdateTime());

	return PointerGetDatum(heap_modify_tuple_by_cols(trigdata->tg_newtuple,
													 RelationGetDescr(trigdata->tg_relation),
													 1, &attnum, &value, &isnull));
}

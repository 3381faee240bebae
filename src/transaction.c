/*-------------------------------------------------------------------------
 *
 * transaction.c
 *		tenantcore._in_transaction_block(): whether the current statement
 *		runs inside an explicit or implicit transaction block.
 *
 * SQL cannot ask this, yet a procedure that commits (run_retention) can only
 * run outside a block: inside one PostgreSQL refuses its first COMMIT with
 * "invalid transaction termination", which does not say what to do.  The
 * runner asks first and explains.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"

#include "transaction.h"

PG_FUNCTION_INFO_V1(tenantcore_in_transaction_block);

/*
 * tenantcore_in_transaction_block returns true inside BEGIN ... COMMIT (or a
 * multi-statement query string), false in a single statement's own
 * transaction, also after a procedure's COMMIT.
 */
Datum
tenantcore_in_transaction_block(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IsTransactionBlock());
}

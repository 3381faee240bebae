/*-------------------------------------------------------------------------
 *
 * transaction.h
 *		tenantcore._in_transaction_block().  Only SQL-callable functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_TRANSACTION_H
#define TC_TRANSACTION_H

#include "postgres.h"

#include "fmgr.h"

extern Datum tenantcore_in_transaction_block(PG_FUNCTION_ARGS);

#endif							/* TC_TRANSACTION_H */

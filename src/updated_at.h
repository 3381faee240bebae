/*-------------------------------------------------------------------------
 *
 * updated_at.h
 *		tenantcore.updated_at_trigger(), which keeps an "updated at" column
 *		current.  Only SQL-callable functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_UPDATED_AT_H
#define TC_UPDATED_AT_H

#include "postgres.h"

#include "fmgr.h"

extern Datum tenantcore_updated_at_trigger(PG_FUNCTION_ARGS);

#endif							/* TC_UPDATED_AT_H */

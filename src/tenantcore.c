/*-------------------------------------------------------------------------
 *
 * tenantcore.c
 *		Module entry point: each part of the extension registers itself here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "tenantcore.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init registers the settings of every part.  It runs when the library
 * is loaded, either from shared_preload_libraries or on first use.
 */
void
_PG_init(void)
{
	ContextInit();
	JwtInit();
	MasterKeyInit();
	CryptoInit();
	AuditInit();

	/* after every part defined its settings, so none is taken for a typo */
	MarkGUCPrefixReserved("tenantcore");
}

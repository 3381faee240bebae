/*-------------------------------------------------------------------------
 *
 * tenantcore.c
 *		Module entry point: each part of the extension registers itself here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "audit_reads.h"
#include "audit_trigger.h"
#include "citus.h"
#include "context.h"
#include "crypto_keycache.h"
#include "crypto_masterkey.h"
#include "crypto_pgcrypto.h"
#include "jwt.h"
#include "util.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * RequirePreload refuses to load the library anywhere but from
 * shared_preload_libraries.  Loaded later, in one backend, the secret
 * settings (tenantcore.master_key_command, ...) would be plain placeholders
 * that every role can SHOW until the library happens to load in that
 * session, and the postmaster would not have read the master key.
 *
 * Before refusing, the "tenantcore" prefix is reserved, which removes the
 * placeholders of this session, so a role cannot read a secret setting after
 * tenantcore was refused here either.  Nothing else is defined, so the next
 * attempt (every call of a tenantcore function loads the library again)
 * refuses in the same way.
 */
static void
RequirePreload(void)
{
	if (process_shared_preload_libraries_in_progress)
		return;

	MarkGUCPrefixReserved("tenantcore");
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("tenantcore must be loaded via shared_preload_libraries"),
			 errhint("Add tenantcore to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * _PG_init registers the settings of every part.  It runs once, in the
 * postmaster, from shared_preload_libraries; loading the library any other
 * way is refused.
 */
void
_PG_init(void)
{
	RequirePreload();

	tc_context_init();
	tc_jwt_init();
	tc_masterkey_init();
	tc_keycache_init();
	tc_pgcrypto_init();
	tc_audit_init();
	tc_audit_reads_init();
	tc_citus_init();

	/* after every part defined its settings, so none is taken for a typo */
	MarkGUCPrefixReserved("tenantcore");
}

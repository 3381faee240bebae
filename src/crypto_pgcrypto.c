/*-------------------------------------------------------------------------
 *
 * crypto_pgcrypto.c
 *		The functions of pgcrypto that PII encryption calls.
 *
 * pgcrypto's functions are resolved by OID in the schema of the pgcrypto
 * extension, never through the caller's search_path, once per backend and
 * again after pg_proc changes (pgcrypto dropped and created again gets new
 * OIDs).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "crypto_pgcrypto.h"
#include "util.h"

PgcryptoFuncs tc_pgcrypto;
static MemoryContext PgcryptoContext = NULL;

/*
 * PgcryptoSyscacheCallback forgets the pgcrypto functions when pg_proc
 * changes (pgcrypto dropped and created again gets new OIDs).
 */
static void
PgcryptoSyscacheCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	tc_pgcrypto.valid = false;
}

/*
 * tc_pgcrypto_init registers the invalidation callback.
 */
void
tc_pgcrypto_init(void)
{
	CacheRegisterSyscacheCallback(PROCOID, PgcryptoSyscacheCallback, (Datum) 0);
}

/*
 * LookupPgcryptoFunc finds schema.name(argtypes) and fills flinfo.
 */
static void
LookupPgcryptoFunc(const char *schema, const char *name, int nargs,
				   Oid *argtypes, FmgrInfo *flinfo)
{
	List	   *qualified = list_make2(makeString(pstrdup(schema)), makeString(pstrdup(name)));
	Oid			funcoid = LookupFuncName(qualified, nargs, argtypes, true);

	if (!OidIsValid(funcoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %s.%s of pgcrypto does not exist", schema, name),
				 errhint("Reinstall pgcrypto: ALTER EXTENSION pgcrypto UPDATE.")));
	fmgr_info_cxt(funcoid, flinfo, PgcryptoContext);
}

/*
 * tc_pgcrypto_resolve looks up the pgcrypto functions through the schema of
 * the pgcrypto extension.
 */
void
tc_pgcrypto_resolve(void)
{
	Oid			schema;
	Oid			owner;
	char	   *nspname;
	Oid			enc_args[3] = {TEXTOID, TEXTOID, TEXTOID};
	Oid			dec_args[2] = {BYTEAOID, TEXTOID};
	Oid			encb_args[3] = {BYTEAOID, TEXTOID, TEXTOID};

	if (tc_pgcrypto.valid)
		return;

	if (!tc_extension_schema_and_owner("pgcrypto", &schema, &owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pgcrypto\" is not installed"),
				 errhint("Run CREATE EXTENSION pgcrypto.")));
	nspname = get_namespace_name(schema);

	if (PgcryptoContext == NULL)
		PgcryptoContext = AllocSetContextCreate(TopMemoryContext,
												"tenantcore pgcrypto functions",
												ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(PgcryptoContext);

	LookupPgcryptoFunc(nspname, "pgp_sym_encrypt", 3, enc_args, &tc_pgcrypto.encrypt);
	LookupPgcryptoFunc(nspname, "pgp_sym_decrypt", 2, dec_args, &tc_pgcrypto.decrypt);
	LookupPgcryptoFunc(nspname, "pgp_sym_encrypt_bytea", 3, encb_args, &tc_pgcrypto.encrypt_bytea);
	LookupPgcryptoFunc(nspname, "pgp_sym_decrypt_bytea", 2, dec_args, &tc_pgcrypto.decrypt_bytea);
	tc_pgcrypto.valid = true;
}

/*
 * tc_pgcrypto_call calls a pgcrypto function and turns its errors (wrong key,
 * corrupt data) into a clear error of our own that names no key material.
 */
Datum
tc_pgcrypto_call(FmgrInfo *flinfo, int nargs, Datum a, Datum b, Datum c,
			 const char *what, const pg_uuid_t *tenant)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	PG_TRY();
	{
		if (nargs == 3)
			result = FunctionCall3(flinfo, a, b, c);
		else
			result = FunctionCall2(flinfo, a, b);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", what),
				 tenant ? errdetail("pgcrypto reported \"%s\" for tenant %s.", edata->message, tc_uuid_cstring(tenant))
				 : errdetail("pgcrypto reported \"%s\".", edata->message)));
	}
	PG_END_TRY();
	return result;
}

/*-------------------------------------------------------------------------
 *
 * tenantcore.h
 *		Declarations shared by the parts of the tenantcore extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANTCORE_H
#define TENANTCORE_H

#include "postgres.h"

#include "access/attnum.h"
#include "utils/uuid.h"

/* MarkGUCPrefixReserved() appeared in PostgreSQL 15 */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(x) EmitWarningsOnPlaceholders(x)
#endif

/* GUC "extra" data must come from guc_malloc() since PostgreSQL 16 */
#if PG_VERSION_NUM >= 160000
#define TcGucMalloc(size) guc_malloc(LOG, (size))
#else
#define TcGucMalloc(size) malloc(size)
#endif

/* context.c */
typedef enum ContextMode
{
	CONTEXT_MODE_OPEN,
	CONTEXT_MODE_SIGNED
}			ContextMode;
extern int	context_mode;
extern void ContextInit(void);
extern void ContextSetVerified(const pg_uuid_t *tenant, const pg_uuid_t *actor);
extern const char *ContextTenantClaim(void);
extern const char *ContextActorClaim(void);
extern int	HexValue(char c);
extern bool ParseUuid(const char *str, pg_uuid_t *uuid);
extern const pg_uuid_t *CurrentTenant(void);
extern const pg_uuid_t *CurrentActor(void);


/* jwt.c */
extern void JwtInit(void);
extern void JwtVerifyContextToken(const char *token, int len, pg_uuid_t *tenant,
								  pg_uuid_t *actor, bool *has_actor);
extern void JwtReadContextToken(const char *token, int len, pg_uuid_t *tenant,
								pg_uuid_t *actor, bool *has_actor);

/* citus.c */
extern void CitusInit(void);
extern bool CitusActive(void);
extern void CitusSetLocal(const char *name, const char *value);
extern void CitusPropagateToken(const char *token);
extern bool CitusTokenContext(const pg_uuid_t **tenant, const pg_uuid_t **actor);

/* masterkey.c */
#define MASTER_KEY_LEN	32		/* 256 bits */
typedef enum MasterKeySlot
{
	MASTER_KEY_CURRENT,
	MASTER_KEY_PREVIOUS
}			MasterKeySlot;
extern void MasterKeyInit(void);
extern bool MasterKeyConfigured(MasterKeySlot slot);
extern bool MasterKeyLoad(MasterKeySlot slot, int elevel);
extern text *MasterKeyPassphrase(MasterKeySlot slot);
extern const char *MasterKeyId(MasterKeySlot slot);

/* crypto.c */
extern void CryptoInit(void);
extern void CryptoForgetKeys(void);

/* audit.c */
extern void AuditInit(void);

/* audit_reads.c */
extern void AuditReadsInit(void);
extern void AuditReadsCount(const pg_uuid_t *tenant, Oid relid, AttrNumber attnum);

#endif							/* TENANTCORE_H */

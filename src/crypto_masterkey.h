/*-------------------------------------------------------------------------
 *
 * crypto_masterkey.h
 *		The master keys that wrap the tenants' data keys: the current one and,
 *		during a master key rotation, the previous one, read from a file or
 *		a command that only superusers configure.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_CRYPTO_MASTERKEY_H
#define TC_CRYPTO_MASTERKEY_H

#include "postgres.h"

#define MASTER_KEY_LEN	32		/* 256 bits */

typedef enum MasterKeySlot
{
	MASTER_KEY_CURRENT,
	MASTER_KEY_PREVIOUS
}			MasterKeySlot;

extern void tc_masterkey_init(void);
extern bool tc_masterkey_configured(MasterKeySlot slot);
extern bool tc_masterkey_load(MasterKeySlot slot, int elevel);
extern text *tc_masterkey_passphrase(MasterKeySlot slot);
extern const char *tc_masterkey_id(MasterKeySlot slot);

#endif							/* TC_CRYPTO_MASTERKEY_H */

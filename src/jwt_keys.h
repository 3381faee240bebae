/*-------------------------------------------------------------------------
 *
 * jwt_keys.h
 *		The verification keys of signed tokens (the JWKS file
 *		tenantcore.jwt_keys_file) and the decoding helpers shared with the
 *		token verification of jwt.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TC_JWT_KEYS_H
#define TC_JWT_KEYS_H

#include "postgres.h"

#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>

#include "utils/jsonb.h"

typedef enum JwtAlg
{
	JWT_ALG_HS256,
	JWT_ALG_RS256,
	JWT_ALG_ES256,
	JWT_ALG_EDDSA,
	JWT_ALG_COUNT
}			JwtAlg;

extern const char *const tc_jwt_alg_names[JWT_ALG_COUNT];

/* one verification key of the key file */
typedef struct JwtKey
{
	char	   *kid;			/* NULL when the key has none */
	JwtAlg		alg;			/* the one algorithm it verifies */
	EVP_PKEY   *pkey;			/* RS256, ES256, EdDSA */
	unsigned char *secret;		/* HS256 */
	int			secret_len;
}			JwtKey;

/* the parsed key file */
typedef struct JwtKeySet
{
	MemoryContext cxt;			/* holds this struct, the keys and the path */
	char	   *path;
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	struct timespec ctime;
	int			nkeys;
	JwtKey	   *keys;
}			JwtKeySet;

extern char *tc_jwt_keys_file;
extern uint64 tc_jwt_keys_generation;

extern void tc_jwt_keys_init(void);
extern JwtKeySet *tc_jwt_current_keys(void);

/* decoding untrusted input without raising errors that quote it */
extern bool tc_jwt_b64url_decode(const char *in, int len, unsigned char **out,
								 int *out_len, int max_out);
extern Jsonb *tc_jwt_json_object(char *bytes, int len);
extern JsonbValue *tc_jwt_json_member(JsonbContainer *obj, const char *name);
extern char *tc_jwt_json_string(JsonbContainer *obj, const char *name, bool *present);
extern char *tc_jwt_printable(const char *s);
extern int	tc_jwt_alg_by_name(const char *name);

#endif							/* TC_JWT_KEYS_H */

/*-------------------------------------------------------------------------
 *
 * jwt.c
 *		The signed tenant context: tenantcore.set_context_token(token).
 *
 * A token is a JSON web token (RFC 7519) in the compact JWS serialization,
 * signed with HS256, RS256, ES256 or EdDSA (Ed25519).  The verification keys
 * come from a JWKS file (tenantcore.jwt_keys_file, superuser only); a key is
 * chosen by the token's "kid", and a key verifies exactly one algorithm (the
 * one of its kty and curve, which its "alg" member must agree with), so an
 * RSA key never verifies an HS256 token.  The claims exp (required), nbf and
 * iat are checked with tenantcore.jwt_leeway, iss and aud against
 * tenantcore.jwt_issuer and tenantcore.jwt_audience when set; the tenant
 * claim must hold a uuid, the actor claim a uuid if present.  A verified
 * token sets tenant and actor for the current transaction (context.c).
 *
 * The key file is read when first needed and again whenever its path, inode,
 * size, modification or change time differ; the new key set is built in its
 * own memory context before the old one is freed.  Verified tokens are
 * cached per backend by the SHA-256 of the token and of the settings that
 * gate it, so a pooled connection that presents the same token again pays a
 * hash lookup; the time claims are checked again on every hit, and the cache
 * is emptied when the keys change.
 *
 * Neither a token nor a key ever appears in a message: errors say what was
 * wrong.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "tenantcore.h"

#define JWT_MAX_TOKEN_LEN	8192	/* bytes of a whole token */
#define JWT_MAX_KEYS_FILE	(1024 * 1024)
#define JWT_DIGEST_LEN		32		/* SHA-256 */
#define JWT_HMAC_MIN_KEY	32		/* RFC 7518 3.2: at least the hash size */
#define JWT_RSA_MIN_BITS	2048

#define ERRCODE_TOKEN		ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION

typedef enum JwtAlg
{
	JWT_ALG_HS256,
	JWT_ALG_RS256,
	JWT_ALG_ES256,
	JWT_ALG_EDDSA,
	JWT_ALG_COUNT
}			JwtAlg;

static const char *const jwt_alg_names[JWT_ALG_COUNT] = {"HS256", "RS256", "ES256", "EdDSA"};

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

/* a verified token, by the digest of the token and the gating settings */
typedef struct JwtCacheEntry
{
	unsigned char digest[JWT_DIGEST_LEN];	/* hash key */
	pg_uuid_t	tenant;
	pg_uuid_t	actor;
	bool		has_actor;
	bool		has_nbf;
	bool		has_iat;
	double		exp;
	double		nbf;
	double		iat;
}			JwtCacheEntry;

/* what a verified token says */
typedef struct JwtClaims
{
	pg_uuid_t	tenant;
	pg_uuid_t	actor;
	bool		has_actor;
	bool		has_nbf;
	bool		has_iat;
	double		exp;
	double		nbf;
	double		iat;
}			JwtClaims;

/* settings */
static char *jwt_keys_file = NULL;
static char *jwt_issuer = NULL;
static char *jwt_audience = NULL;
static int	jwt_leeway = 30;
static int	jwt_cache_size = 1024;

static JwtKeySet *key_set = NULL;
static HTAB *token_cache = NULL;

PG_FUNCTION_INFO_V1(tenantcore_set_context_token);

/*
 * JwtInit defines the settings of signed tenant context.
 */
void
JwtInit(void)
{
	DefineCustomStringVariable("tenantcore.jwt_keys_file",
							   gettext_noop("JWKS file holding the keys that verify the tokens of set_context_token()."),
							   gettext_noop("Read when first needed and again when the file changes; only superusers can see this setting."),
							   &jwt_keys_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("tenantcore.jwt_issuer",
							   gettext_noop("Issuer (iss claim) that tokens of set_context_token() must name; empty: not checked."),
							   NULL,
							   &jwt_issuer,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("tenantcore.jwt_audience",
							   gettext_noop("Audience (aud claim) that tokens of set_context_token() must name; empty: not checked."),
							   NULL,
							   &jwt_audience,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("tenantcore.jwt_leeway",
							gettext_noop("Clock skew allowed when checking the exp, nbf and iat claims."),
							NULL,
							&jwt_leeway,
							30, 0, 300,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("tenantcore.jwt_cache_size",
							gettext_noop("Verified tokens each session remembers; 0 verifies every token every time."),
							NULL,
							&jwt_cache_size,
							1024, 0, 65536,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------
 */

static int
B64UrlValue(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * B64UrlDecode decodes unpadded base64url (RFC 4648 section 5) of at most
 * max_out decoded bytes into a palloc'd buffer with a terminating zero byte.
 * Returns false on any character outside the alphabet, a length no encoding
 * has, non-zero unused trailing bits or a result larger than max_out.
 */
static bool
B64UrlDecode(const char *in, int len, unsigned char **out, int *out_len, int max_out)
{
	unsigned char *buf;
	uint32		acc = 0;
	int			bits = 0;
	int			n = 0;
	int			i;

	if (len < 0 || len % 4 == 1 || (int64) len * 3 / 4 > max_out)
		return false;
	buf = palloc(len * 3 / 4 + 1);
	for (i = 0; i < len; i++)
	{
		int			v = B64UrlValue((unsigned char) in[i]);

		if (v < 0)
		{
			pfree(buf);
			return false;
		}
		acc = (acc << 6) | (uint32) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			buf[n++] = (unsigned char) (acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	if (acc != 0)				/* a canonical encoding leaves zero bits */
	{
		pfree(buf);
		return false;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return true;
}

/*
 * JsonObjectFromBytes parses decoded bytes as a JSON object without raising
 * an error on bad input (whose error context would quote it): the bytes are
 * validated first with the non-throwing parser, then turned into jsonb.
 * Returns NULL if they are not a JSON object.
 */
static Jsonb *
JsonObjectFromBytes(char *bytes, int len)
{
	JsonLexContext *lex;
	Jsonb	   *jb;

	if (memchr(bytes, '\0', len) != NULL ||
		!pg_verify_mbstr(GetDatabaseEncoding(), bytes, len, true))
		return NULL;
	lex = makeJsonLexContextCstringLen(bytes, len, GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return NULL;
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(bytes)));
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		return NULL;
	return jb;
}

/*
 * JsonMember returns a member of a JSON object, or NULL if it is absent.
 */
static JsonbValue *
JsonMember(JsonbContainer *obj, const char *name)
{
	return getKeyJsonValueFromContainer(obj, name, strlen(name), NULL);
}

/*
 * JsonString returns a string member as a palloc'd C string.  *present says
 * whether the member exists; NULL with *present true means it is not a
 * string (or holds a zero byte).
 */
static char *
JsonString(JsonbContainer *obj, const char *name, bool *present)
{
	JsonbValue *v = JsonMember(obj, name);

	*present = (v != NULL);
	if (v == NULL || v->type != jbvString ||
		memchr(v->val.string.val, '\0', v->val.string.len) != NULL)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * Printable returns a copy of an untrusted string fit for a message: at
 * most 64 characters, anything but printable ASCII replaced by '?'.
 */
static char *
Printable(const char *s)
{
	int			len = Min((int) strlen(s), 64);
	char	   *p = palloc(len + 1);
	int			i;

	for (i = 0; i < len; i++)
		p[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	p[len] = '\0';
	return p;
}

static int
AlgByName(const char *name)
{
	int			i;

	for (i = 0; i < JWT_ALG_COUNT; i++)
		if (strcmp(name, jwt_alg_names[i]) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------------
 * The key file
 * ------------------------------------------------------------------------
 */

/*
 * JwkMember decodes a base64url member of a JWK of the expected length (0:
 * any length up to max_len).  Returns NULL, with *why set, if it is missing
 * or wrong.
 */
static unsigned char *
JwkMember(JsonbContainer *jwk, const char *name, int expected_len, int max_len,
		  int *len, const char **why)
{
	bool		present;
	char	   *text = JsonString(jwk, name, &present);
	unsigned char *bytes;

	if (text == NULL)
	{
		*why = psprintf("member \"%s\" is missing or not a string", name);
		return NULL;
	}
	if (!B64UrlDecode(text, strlen(text), &bytes, len, max_len) || *len == 0 ||
		(expected_len > 0 && *len != expected_len))
	{
		*why = psprintf("member \"%s\" is not base64url of the right length", name);
		return NULL;
	}
	return bytes;
}

/*
 * PkeyFromParams builds a public key of an OpenSSL key type from parameters.
 */
static EVP_PKEY *
PkeyFromParams(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY   *pkey = NULL;

	if (params != NULL)
		ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (ctx == NULL ||
		EVP_PKEY_fromdata_init(ctx) <= 0 ||
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *
RsaKey(JsonbContainer *jwk, const char **why)
{
	int			n_len,
				e_len;
	unsigned char *n = JwkMember(jwk, "n", 0, 2048, &n_len, why);
	unsigned char *e = n ? JwkMember(jwk, "e", 0, 16, &e_len, why) : NULL;
	BIGNUM	   *bn_n = NULL,
			   *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY   *pkey = NULL;

	if (e == NULL)
		return NULL;
	bn_n = BN_bin2bn(n, n_len, NULL);
	bn_e = BN_bin2bn(e, e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n && bn_e && bld &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		pkey = PkeyFromParams("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	if (pkey == NULL)
		*why = "not a valid RSA public key";
	else if (EVP_PKEY_get_bits(pkey) < JWT_RSA_MIN_BITS)
	{
		EVP_PKEY_free(pkey);
		pkey = NULL;
		*why = "RSA keys of fewer than 2048 bits are not accepted";
	}
	return pkey;
}

static EVP_PKEY *
EcKey(JsonbContainer *jwk, const char **why)
{
	int			x_len,
				y_len;
	unsigned char *x = JwkMember(jwk, "x", 32, 32, &x_len, why);
	unsigned char *y = x ? JwkMember(jwk, "y", 32, 32, &y_len, why) : NULL;
	unsigned char point[65];
	OSSL_PARAM_BLD *bld;
	EVP_PKEY   *pkey = NULL;
	EVP_PKEY_CTX *check;

	if (y == NULL)
		return NULL;
	point[0] = 0x04;			/* uncompressed */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (bld &&
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		pkey = PkeyFromParams("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	if (pkey != NULL)
	{
		/* the point must be on the curve */
		check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (check == NULL || EVP_PKEY_public_check(check) != 1)
		{
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		EVP_PKEY_CTX_free(check);
	}
	if (pkey == NULL)
		*why = "not a valid P-256 public key";
	return pkey;
}

static EVP_PKEY *
Ed25519Key(JsonbContainer *jwk, const char **why)
{
	int			x_len;
	unsigned char *x = JwkMember(jwk, "x", 32, 32, &x_len, why);
	EVP_PKEY   *pkey;

	if (x == NULL)
		return NULL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, x_len);
	if (pkey == NULL)
		*why = "not a valid Ed25519 public key";
	return pkey;
}

/*
 * ParseJwk fills key from one JWK, allocating in key_cxt.  Returns false, with
 * *why set, if the key cannot be used; *why stays NULL for keys that are
 * valid but not for signatures tenantcore verifies (other algorithms,
 * encryption keys), which are skipped quietly.
 */
static bool
ParseJwk(JsonbContainer *jwk, MemoryContext key_cxt, JwtKey *key, const char **why)
{
	bool		present;
	char	   *kty = JsonString(jwk, "kty", &present);
	char	   *kid = JsonString(jwk, "kid", &present);
	char	   *alg;
	char	   *use;
	char	   *crv;
	int			alg_from_key;

	*why = NULL;
	if (kid == NULL && present)
	{
		*why = "member \"kid\" is not a string";
		return false;
	}
	use = JsonString(jwk, "use", &present);
	if (present && (use == NULL || strcmp(use, "sig") != 0))
		return false;			/* an encryption key */
	if (kty == NULL)
	{
		*why = "member \"kty\" is missing or not a string";
		return false;
	}

	crv = JsonString(jwk, "crv", &present);
	if (strcmp(kty, "oct") == 0)
		alg_from_key = JWT_ALG_HS256;
	else if (strcmp(kty, "RSA") == 0)
		alg_from_key = JWT_ALG_RS256;
	else if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
		alg_from_key = JWT_ALG_ES256;
	else if (strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0)
		alg_from_key = JWT_ALG_EDDSA;
	else
		return false;			/* a key type or curve not supported */

	alg = JsonString(jwk, "alg", &present);
	if (present && (alg == NULL || AlgByName(alg) != alg_from_key))
		return false;			/* e.g. an RSA key for RS384 or PS256 */

	memset(key, 0, sizeof(*key));
	key->alg = (JwtAlg) alg_from_key;
	switch (key->alg)
	{
		case JWT_ALG_HS256:
			{
				int			len;
				unsigned char *k = JwkMember(jwk, "k", 0, 1024, &len, why);

				if (k == NULL)
					return false;
				if (len < JWT_HMAC_MIN_KEY)
				{
					explicit_bzero(k, len);
					*why = "HS256 keys of fewer than 32 bytes are not accepted";
					return false;
				}
				key->secret = MemoryContextAlloc(key_cxt, len);
				memcpy(key->secret, k, len);
				key->secret_len = len;
				explicit_bzero(k, len);
				break;
			}
		case JWT_ALG_RS256:
			key->pkey = RsaKey(jwk, why);
			break;
		case JWT_ALG_ES256:
			key->pkey = EcKey(jwk, why);
			break;
		case JWT_ALG_EDDSA:
			key->pkey = Ed25519Key(jwk, why);
			break;
		default:
			return false;
	}
	if (key->secret == NULL && key->pkey == NULL)
		return false;
	if (kid != NULL)
		key->kid = MemoryContextStrdup(key_cxt, kid);
	return true;
}

static void
FreeKeySet(JwtKeySet *set)
{
	int			i;

	for (i = 0; i < set->nkeys; i++)
	{
		if (set->keys[i].pkey != NULL)
			EVP_PKEY_free(set->keys[i].pkey);
		if (set->keys[i].secret != NULL)
			explicit_bzero(set->keys[i].secret, set->keys[i].secret_len);
	}
	MemoryContextDelete(set->cxt);
}

static void
KeyFileError(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("could not load the keys of tenantcore.jwt_keys_file"),
			 errdetail("%s", detail),
			 errhint("A superuser points tenantcore.jwt_keys_file at a JWKS file (a JSON object with a \"keys\" array) readable by the server.")));
}

/*
 * ReadKeyFile returns the contents of the key file (palloc'd) and fills st.
 * The path goes to the server log only.
 */
static char *
ReadKeyFile(const char *path, struct stat *st, int *len)
{
	FILE	   *f = AllocateFile(path, "r");
	char	   *buf;
	size_t		n;

	if (f == NULL || fstat(fileno(f), st) != 0)
	{
		int			save_errno = errno;

		if (f != NULL)
			FreeFile(f);
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not load the keys of tenantcore.jwt_keys_file"),
				 errdetail("The file cannot be read."),
				 errdetail_log("Could not read file \"%s\": %m.", path)));
	}
	if (!S_ISREG(st->st_mode) || st->st_size > JWT_MAX_KEYS_FILE)
	{
		FreeFile(f);
		KeyFileError("The file is not a regular file of at most 1 MB.");
	}
	buf = palloc(st->st_size + 1);
	n = fread(buf, 1, st->st_size + 1, f);
	FreeFile(f);
	if (n != (size_t) st->st_size)
		KeyFileError("The file changed while it was read.");
	buf[n] = '\0';
	*len = (int) n;
	return buf;
}

/*
 * LoadKeySet reads and parses the key file into a new key set.  Keys that
 * cannot be used are reported in the server log (by kid, never by their
 * contents) and skipped.
 */
static JwtKeySet *
LoadKeySet(const char *path)
{
	MemoryContext parse_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"tenantcore jwt key file",
													ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(parse_cxt);
	MemoryContext set_cxt;
	JwtKeySet  *volatile set;
	struct stat st;
	char	   *text;
	int			len;
	Jsonb	   *jb;
	JsonbValue *keys;
	int			count;

	text = ReadKeyFile(path, &st, &len);
	jb = JsonObjectFromBytes(text, len);
	explicit_bzero(text, len);
	if (jb == NULL)
		KeyFileError("The file is not a JSON object.");
	keys = JsonMember(&jb->root, "keys");
	if (keys == NULL || keys->type != jbvBinary || !JsonContainerIsArray(keys->val.binary.data))
		KeyFileError("The file has no \"keys\" array.");
	count = JsonContainerSize(keys->val.binary.data);

	set_cxt = AllocSetContextCreate(TopMemoryContext, "tenantcore jwt keys",
									ALLOCSET_SMALL_SIZES);
	set = MemoryContextAllocZero(set_cxt, sizeof(JwtKeySet));
	set->cxt = set_cxt;
	set->keys = MemoryContextAllocZero(set_cxt, sizeof(JwtKey) * Max(count, 1));

	PG_TRY();
	{
		int			i;

		for (i = 0; i < count; i++)
		{
			JsonbValue *jwk = getIthJsonbValueFromContainer(keys->val.binary.data, i);
			const char *why = "not a JSON object";
			bool		present;
			char	   *kid = NULL;

			if (jwk->type == jbvBinary && JsonContainerIsObject(jwk->val.binary.data))
			{
				kid = JsonString(jwk->val.binary.data, "kid", &present);
				if (ParseJwk(jwk->val.binary.data, set_cxt, &set->keys[set->nkeys], &why))
				{
					set->nkeys++;
					continue;
				}
			}
			if (why != NULL)
				ereport(LOG,
						(errmsg("tenantcore.jwt_keys_file: skipping key %d%s%s%s: %s",
								i + 1, kid ? " (kid \"" : "", kid ? Printable(kid) : "",
								kid ? "\")" : "", why)));
		}
		if (set->nkeys == 0)
			KeyFileError("The file holds no key that verifies HS256, RS256, ES256 or EdDSA signatures.");
		set->path = MemoryContextStrdup(set_cxt, path);
		set->dev = st.st_dev;
		set->ino = st.st_ino;
		set->size = st.st_size;
		set->mtime = st.st_mtim;
		set->ctime = st.st_ctim;
	}
	PG_CATCH();
	{
		FreeKeySet(set);
		PG_RE_THROW();
	}
	PG_END_TRY();

	MemoryContextSwitchTo(old);
	MemoryContextDelete(parse_cxt);
	return set;
}

static bool
SameTime(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * ForgetTokens empties the cache of verified tokens.
 */
static void
ForgetTokens(void)
{
	if (token_cache != NULL)
		hash_destroy(token_cache);
	token_cache = NULL;
}

/*
 * CurrentKeySet returns the keys of tenantcore.jwt_keys_file, reading the
 * file again if it changed.  A new key set replaces the old one only once it
 * is complete; the cache of verified tokens goes with the old keys.
 */
static JwtKeySet *
CurrentKeySet(void)
{
	struct stat st;
	JwtKeySet  *set;

	if (jwt_keys_file == NULL || jwt_keys_file[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenantcore.jwt_keys_file is not set"),
				 errhint("A superuser points tenantcore.jwt_keys_file at a JWKS file in postgresql.conf.")));

	if (key_set != NULL && strcmp(key_set->path, jwt_keys_file) == 0 &&
		stat(jwt_keys_file, &st) == 0 &&
		st.st_dev == key_set->dev && st.st_ino == key_set->ino &&
		st.st_size == key_set->size &&
		SameTime(&st.st_mtim, &key_set->mtime) && SameTime(&st.st_ctim, &key_set->ctime))
		return key_set;

	/* changed, gone or never read: forget the old keys first */
	ForgetTokens();
	if (key_set != NULL)
	{
		FreeKeySet(key_set);
		key_set = NULL;
	}
	set = LoadKeySet(jwt_keys_file);
	key_set = set;
	return set;
}

/* ------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------
 */

static void
TokenError(const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_TOKEN),
			 errmsg_internal("%s", msg),
			 detail ? errdetail_internal("%s", detail) : 0));
}

/*
 * FindKey returns the key that verifies the token: the one of its kid, which
 * must verify the token's algorithm, or without a kid the only key of that
 * algorithm.
 */
static const JwtKey *
FindKey(JwtKeySet *set, const char *kid, JwtAlg alg)
{
	const JwtKey *found = NULL;
	int			i;

	if (kid != NULL)
	{
		for (i = 0; i < set->nkeys; i++)
			if (set->keys[i].kid != NULL && strcmp(set->keys[i].kid, kid) == 0)
			{
				found = &set->keys[i];
				break;
			}
		if (found == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_TOKEN),
					 errmsg("unknown key id \"%s\"", Printable(kid)),
					 errhint("The key may have been rotated out of tenantcore.jwt_keys_file.")));
		if (found->alg != alg)
			ereport(ERROR,
					(errcode(ERRCODE_TOKEN),
					 errmsg("key \"%s\" does not verify %s tokens", Printable(kid), jwt_alg_names[alg]),
					 errdetail("It is a key for %s.", jwt_alg_names[found->alg])));
		return found;
	}

	for (i = 0; i < set->nkeys; i++)
		if (set->keys[i].alg == alg)
		{
			if (found != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_TOKEN),
						 errmsg("token has no key id and several keys verify %s tokens", jwt_alg_names[alg]),
						 errhint("Issue tokens with a \"kid\" header.")));
			found = &set->keys[i];
		}
	if (found == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("no key verifies %s tokens", jwt_alg_names[alg])));
	return found;
}

/*
 * DigestVerify verifies a signature with a public key (md NULL: EdDSA).
 */
static bool
DigestVerify(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *sig, size_t sig_len,
			 const unsigned char *data, size_t data_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool		ok;

	ok = ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, sig_len, data, data_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/*
 * Es256Verify verifies a JWS ES256 signature, raw r || s, by converting it to
 * the DER form OpenSSL verifies.
 */
static bool
Es256Verify(EVP_PKEY *pkey, const unsigned char *sig, int sig_len,
			const unsigned char *data, size_t data_len)
{
	ECDSA_SIG  *es;
	BIGNUM	   *r,
			   *s;
	unsigned char *der = NULL;
	int			der_len;
	bool		ok = false;

	if (sig_len != 64)
		return false;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
	{
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return false;
	}
	der_len = i2d_ECDSA_SIG(es, &der);
	if (der_len > 0)
		ok = DigestVerify(pkey, EVP_sha256(), der, der_len, data, data_len);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok;
}

static bool
VerifySignature(const JwtKey *key, const unsigned char *sig, int sig_len,
				const unsigned char *data, size_t data_len)
{
	switch (key->alg)
	{
		case JWT_ALG_HS256:
			{
				unsigned char mac[EVP_MAX_MD_SIZE];
				unsigned int mac_len = 0;
				bool		ok;

				if (HMAC(EVP_sha256(), key->secret, key->secret_len, data, data_len,
						 mac, &mac_len) == NULL)
					return false;
				ok = sig_len == (int) mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
				explicit_bzero(mac, sizeof(mac));
				return ok;
			}
		case JWT_ALG_RS256:
			return DigestVerify(key->pkey, EVP_sha256(), sig, sig_len, data, data_len);
		case JWT_ALG_ES256:
			return Es256Verify(key->pkey, sig, sig_len, data, data_len);
		case JWT_ALG_EDDSA:
			return sig_len == 64 &&
				DigestVerify(key->pkey, NULL, sig, sig_len, data, data_len);
		default:
			return false;
	}
}

/*
 * NumericClaim reads a NumericDate claim; returns false if absent.
 */
static bool
NumericClaim(JsonbContainer *claims, const char *name, double *value)
{
	JsonbValue *v = JsonMember(claims, name);

	if (v == NULL)
		return false;
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token claim \"%s\" is not a number", name)));
	*value = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												NumericGetDatum(v->val.numeric)));
	return true;
}

/*
 * ClaimByPath returns the claim a dotted path names ("a.b": member b of the
 * object a), or NULL.
 */
static JsonbValue *
ClaimByPath(JsonbContainer *claims, const char *path)
{
	char	   *copy = pstrdup(path);
	char	   *part = copy;
	JsonbContainer *obj = claims;

	for (;;)
	{
		char	   *dot = strchr(part, '.');
		JsonbValue *v;

		if (dot != NULL)
			*dot = '\0';
		v = getKeyJsonValueFromContainer(obj, part, strlen(part), NULL);
		if (dot == NULL || v == NULL)
			return v;
		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			return NULL;
		obj = v->val.binary.data;
		part = dot + 1;
	}
}

/*
 * UuidClaim reads a claim holding a uuid; returns false if absent.
 */
static bool
UuidClaim(JsonbContainer *claims, const char *path, pg_uuid_t *uuid)
{
	JsonbValue *v = ClaimByPath(claims, path);
	char	   *text;

	if (v == NULL || v->type == jbvNull)
		return false;
	text = (v->type == jbvString) ? pnstrdup(v->val.string.val, v->val.string.len) : NULL;
	if (text == NULL || !ParseUuid(text, uuid))
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token claim \"%s\" is not a uuid", Printable(path)),
				 errhint("Issue tokens whose \"%s\" claim is a uuid, or change tenantcore.jwt_tenant_claim and tenantcore.jwt_actor_claim.",
						 Printable(path))));
	return true;
}

/*
 * StringMatches tells whether a claim is the string wanted, or (arrays
 * allowed, for aud) an array holding it.
 */
static bool
StringMatches(JsonbValue *v, const char *wanted, bool array_allowed)
{
	size_t		len = strlen(wanted);

	if (v == NULL)
		return false;
	if (v->type == jbvString)
		return v->val.string.len == len && memcmp(v->val.string.val, wanted, len) == 0;
	if (array_allowed && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		int			n = JsonContainerSize(v->val.binary.data);
		int			i;

		for (i = 0; i < n; i++)
			if (StringMatches(getIthJsonbValueFromContainer(v->val.binary.data, i), wanted, false))
				return true;
	}
	return false;
}

/*
 * CheckTimes checks exp, nbf and iat against the clock with the leeway; also
 * on every hit of the token cache.
 */
static void
CheckTimes(double exp, bool has_nbf, double nbf, bool has_iat, double iat)
{
	double		now = (double) time(NULL);

	if (now > exp + jwt_leeway)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token expired"),
				 errdetail("Its \"exp\" claim lies %.0f seconds in the past.", now - exp)));
	if (has_nbf && now + jwt_leeway < nbf)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token is not valid yet"),
				 errdetail("Its \"nbf\" claim lies %.0f seconds in the future.", nbf - now)));
	if (has_iat && now + jwt_leeway < iat)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token was issued in the future"),
				 errdetail("Its \"iat\" claim lies %.0f seconds in the future.", iat - now)));
}

/*
 * VerifyToken checks a token completely and returns what it says.
 */
static void
VerifyToken(const char *token, int len, JwtClaims *out)
{
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (dot1 + 1 - token)) : NULL;
	const char *end = token + len;
	unsigned char *header_bytes,
			   *payload_bytes,
			   *sig;
	int			header_len,
				payload_len,
				sig_len;
	Jsonb	   *header,
			   *payload;
	bool		present;
	char	   *alg_name;
	char	   *kid;
	int			alg;
	JwtKeySet  *set;
	const JwtKey *key;
	JsonbValue *v;

	if (dot1 == NULL || dot2 == NULL || memchr(dot2 + 1, '.', end - (dot2 + 1)) != NULL)
		TokenError("token is not a compact JWS",
				   "A token has three base64url parts separated by dots.");
	if (!B64UrlDecode(token, dot1 - token, &header_bytes, &header_len, JWT_MAX_TOKEN_LEN) ||
		(header = JsonObjectFromBytes((char *) header_bytes, header_len)) == NULL)
		TokenError("token is not a compact JWS",
				   "Its header is not a base64url-encoded JSON object.");
	if (!B64UrlDecode(dot1 + 1, dot2 - (dot1 + 1), &payload_bytes, &payload_len, JWT_MAX_TOKEN_LEN) ||
		(payload = JsonObjectFromBytes((char *) payload_bytes, payload_len)) == NULL)
		TokenError("token is not a compact JWS",
				   "Its payload is not a base64url-encoded JSON object.");
	if (!B64UrlDecode(dot2 + 1, end - (dot2 + 1), &sig, &sig_len, JWT_MAX_TOKEN_LEN))
		TokenError("token is not a compact JWS",
				   "Its signature is not base64url-encoded.");

	/* the header: alg, kid, nothing critical we do not understand */
	alg_name = JsonString(&header->root, "alg", &present);
	if (alg_name == NULL)
		TokenError("token header has no \"alg\" string", NULL);
	if (pg_strcasecmp(alg_name, "none") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token algorithm \"none\" is not accepted"),
				 errdetail("Unsigned tokens prove nothing.")));
	alg = AlgByName(alg_name);
	if (alg < 0)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token algorithm \"%s\" is not supported", Printable(alg_name)),
				 errhint("Sign tokens with HS256, RS256, ES256 or EdDSA.")));
	if (JsonMember(&header->root, "crit") != NULL)
		TokenError("token header lists critical extensions, which are not supported", NULL);
	kid = JsonString(&header->root, "kid", &present);
	if (kid == NULL && present)
		TokenError("token header \"kid\" is not a string", NULL);

	/* the signature over header.payload */
	set = CurrentKeySet();
	key = FindKey(set, kid, (JwtAlg) alg);
	if (!VerifySignature(key, sig, sig_len, (const unsigned char *) token, dot2 - token))
		TokenError("token signature does not verify", NULL);

	/* the claims */
	if (!NumericClaim(&payload->root, "exp", &out->exp))
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token has no \"exp\" claim"),
				 errdetail("Tokens without an expiry time are not accepted.")));
	out->has_nbf = NumericClaim(&payload->root, "nbf", &out->nbf);
	out->has_iat = NumericClaim(&payload->root, "iat", &out->iat);
	CheckTimes(out->exp, out->has_nbf, out->nbf, out->has_iat, out->iat);

	if (jwt_issuer[0] != '\0')
	{
		v = JsonMember(&payload->root, "iss");
		if (!StringMatches(v, jwt_issuer, false))
			TokenError("token issuer does not match tenantcore.jwt_issuer",
					   v == NULL ? "The token has no \"iss\" claim." : NULL);
	}
	if (jwt_audience[0] != '\0')
	{
		v = JsonMember(&payload->root, "aud");
		if (!StringMatches(v, jwt_audience, true))
			TokenError("token audience does not match tenantcore.jwt_audience",
					   v == NULL ? "The token has no \"aud\" claim." : NULL);
	}

	if (!UuidClaim(&payload->root, ContextTenantClaim(), &out->tenant))
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token has no \"%s\" claim naming the tenant", Printable(ContextTenantClaim())),
				 errhint("Issue tokens with the claim, or change tenantcore.jwt_tenant_claim.")));
	out->has_actor = UuidClaim(&payload->root, ContextActorClaim(), &out->actor);
}

/* ------------------------------------------------------------------------
 * The cache of verified tokens
 * ------------------------------------------------------------------------
 */

/*
 * TokenDigest hashes the token with every setting that decides whether and
 * how it verifies, so a changed setting never hits an entry made under
 * another.
 */
static void
TokenDigest(const char *token, int len, unsigned char *digest)
{
	/* fetched once: an implicit fetch by EVP_sha256() costs more than the hash */
	static EVP_MD *sha256 = NULL;
	static EVP_MD_CTX *ctx = NULL;
	const char *parts[4] = {jwt_issuer, jwt_audience, ContextTenantClaim(), ContextActorClaim()};
	unsigned int out_len = 0;
	bool		ok;
	int			i;

	if (sha256 == NULL)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (ctx == NULL)
		ctx = EVP_MD_CTX_new();
	ok = sha256 != NULL && ctx != NULL &&
		EVP_DigestInit_ex(ctx, sha256, NULL) == 1 &&
		EVP_DigestUpdate(ctx, token, len) == 1;
	for (i = 0; ok && i < 4; i++)
		ok = EVP_DigestUpdate(ctx, "", 1) == 1 &&
			EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, digest, &out_len) == 1 && out_len == JWT_DIGEST_LEN;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not hash the token")));
}

static void
RememberToken(const unsigned char *digest, const JwtClaims *claims)
{
	JwtCacheEntry *entry;
	bool		found;

	if (jwt_cache_size <= 0)
		return;
	if (token_cache != NULL && hash_get_num_entries(token_cache) >= jwt_cache_size)
		ForgetTokens();			/* full: start over, simpler than LRU */
	if (token_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = JWT_DIGEST_LEN;
		ctl.entrysize = sizeof(JwtCacheEntry);
		ctl.hcxt = TopMemoryContext;
		token_cache = hash_create("tenantcore verified tokens", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(token_cache, digest, HASH_ENTER, &found);
	entry->tenant = claims->tenant;
	entry->actor = claims->actor;
	entry->has_actor = claims->has_actor;
	entry->has_nbf = claims->has_nbf;
	entry->has_iat = claims->has_iat;
	entry->exp = claims->exp;
	entry->nbf = claims->nbf;
	entry->iat = claims->iat;
}

/*
 * JwtVerifyContextToken verifies a signed token (through the cache of
 * verified tokens) and returns its tenant and actor; any flaw is an error.
 * set_context_token() and, on the nodes of a Citus cluster, the check hook
 * of tenantcore.context_token (citus.c) use it.
 */
void
JwtVerifyContextToken(const char *token, int len, pg_uuid_t *tenant,
					  pg_uuid_t *actor, bool *has_actor)
{
	unsigned char digest[JWT_DIGEST_LEN];
	bool		cached = false;
	JwtCacheEntry *hit = NULL;
	JwtClaims	claims;

	if (len > JWT_MAX_TOKEN_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token is too long"),
				 errdetail("Tokens of at most %d bytes are accepted.", JWT_MAX_TOKEN_LEN)));

	if (jwt_cache_size > 0 && jwt_keys_file[0] != '\0')
	{
		(void) CurrentKeySet();	/* empties the cache if the keys changed */
		TokenDigest(token, len, digest);
		cached = true;
		if (token_cache != NULL)
			hit = hash_search(token_cache, digest, HASH_FIND, NULL);
	}

	if (hit != NULL)
	{
		CheckTimes(hit->exp, hit->has_nbf, hit->nbf, hit->has_iat, hit->iat);
		claims.tenant = hit->tenant;
		claims.actor = hit->actor;
		claims.has_actor = hit->has_actor;
	}
	else
	{
		VerifyToken(token, len, &claims);
		if (cached)
			RememberToken(digest, &claims);
	}
	*tenant = claims.tenant;
	*actor = claims.actor;
	*has_actor = claims.has_actor;
}

/*
 * JwtReadContextToken returns the tenant and actor of a token that was
 * verified already, without verifying it again: a parallel worker restores
 * the leader's tenantcore.context_token (citus.c), whose check hook verified
 * it in the leader's transaction.  Only the payload is decoded.
 */
void
JwtReadContextToken(const char *token, int len, pg_uuid_t *tenant,
					pg_uuid_t *actor, bool *has_actor)
{
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (dot1 + 1 - token)) : NULL;
	unsigned char *payload_bytes;
	int			payload_len;
	Jsonb	   *payload = NULL;

	if (dot1 == NULL || dot2 == NULL ||
		!B64UrlDecode(dot1 + 1, dot2 - (dot1 + 1), &payload_bytes, &payload_len, JWT_MAX_TOKEN_LEN) ||
		(payload = JsonObjectFromBytes((char *) payload_bytes, payload_len)) == NULL ||
		!UuidClaim(&payload->root, ContextTenantClaim(), tenant))
		TokenError("token is not a compact JWS",
				   "Its payload is not a base64url-encoded JSON object naming the tenant.");
	*has_actor = UuidClaim(&payload->root, ContextActorClaim(), actor);
}

/*
 * tenantcore_set_context_token(token text) verifies a signed token and sets
 * its tenant and actor for the current transaction; returns the tenant.  On
 * a Citus coordinator the token itself goes to the workers, which verify it
 * again (citus.c).
 */
Datum
tenantcore_set_context_token(PG_FUNCTION_ARGS)
{
	text	   *arg;
	char	   *token;
	int			len;
	pg_uuid_t	tenant;
	pg_uuid_t	actor;
	bool		has_actor;
	pg_uuid_t  *result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("set_context_token() requires a non-null token")));
	arg = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(arg);
	if (len > JWT_MAX_TOKEN_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token is too long"),
				 errdetail("Tokens of at most %d bytes are accepted.", JWT_MAX_TOKEN_LEN)));
	token = text_to_cstring(arg);

	JwtVerifyContextToken(token, len, &tenant, &actor, &has_actor);
	ContextSetVerified(&tenant, has_actor ? &actor : NULL);
	CitusPropagateToken(token);

	result = palloc(sizeof(pg_uuid_t));
	*result = tenant;
	PG_RETURN_UUID_P(result);
}

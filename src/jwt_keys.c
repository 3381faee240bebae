/*-------------------------------------------------------------------------
 *
 * jwt_keys.c
 *		The verification keys of signed tokens: the JWKS file
 *		tenantcore.jwt_keys_file, and the decoding helpers (base64url, JSON
 *		objects) that reading keys and verifying tokens share.
 *
 * A key verifies exactly one algorithm (the one of its kty and curve, which
 * its "alg" member must agree with), so an RSA key never verifies an HS256
 * token.  The key file is read when first needed and again whenever its
 * path, inode, size, modification or change time differ; the new key set is
 * built in its own memory context before the old one is freed.
 *
 * Neither a key nor the file's contents ever appear in a message.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "jwt_keys.h"

#define JWT_MAX_KEYS_FILE	(1024 * 1024)
#define JWT_HMAC_MIN_KEY	32		/* RFC 7518 3.2: at least the hash size */
#define JWT_RSA_MIN_BITS	2048

const char *const tc_jwt_alg_names[JWT_ALG_COUNT] = {"HS256", "RS256", "ES256", "EdDSA"};

/* tenantcore.jwt_keys_file */
char	   *tc_jwt_keys_file = NULL;

/* key sets dropped so far (changed, gone or unreadable files) */
uint64		tc_jwt_keys_generation = 0;

static JwtKeySet *key_set = NULL;

/*
 * tc_jwt_keys_init defines tenantcore.jwt_keys_file.
 */
void
tc_jwt_keys_init(void)
{
	DefineCustomStringVariable("tenantcore.jwt_keys_file",
							   gettext_noop("JWKS file holding the keys that verify the tokens of set_context_token()."),
							   gettext_noop("Read when first needed and again when the file changes; only superusers can see this setting."),
							   &tc_jwt_keys_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
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
 * tc_jwt_b64url_decode decodes unpadded base64url (RFC 4648 section 5) of at
 * most max_out decoded bytes into a palloc'd buffer with a terminating zero
 * byte.  Returns false on any character outside the alphabet, a length no
 * encoding has, non-zero unused trailing bits or a result larger than max_out.
 */
bool
tc_jwt_b64url_decode(const char *in, int len, unsigned char **out, int *out_len, int max_out)
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
 * tc_jwt_json_object parses decoded bytes as a JSON object without raising
 * an error on bad input (whose error context would quote it): the bytes are
 * validated first with the non-throwing parser, then turned into jsonb.
 * Returns NULL if they are not a JSON object.
 */
Jsonb *
tc_jwt_json_object(char *bytes, int len)
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
 * tc_jwt_json_member returns a member of a JSON object, or NULL if it is
 * absent.
 */
JsonbValue *
tc_jwt_json_member(JsonbContainer *obj, const char *name)
{
	return getKeyJsonValueFromContainer(obj, name, strlen(name), NULL);
}

/*
 * tc_jwt_json_string returns a string member as a palloc'd C string.  *present
 * says whether the member exists; NULL with *present true means it is not a
 * string (or holds a zero byte).
 */
char *
tc_jwt_json_string(JsonbContainer *obj, const char *name, bool *present)
{
	JsonbValue *v = tc_jwt_json_member(obj, name);

	*present = (v != NULL);
	if (v == NULL || v->type != jbvString ||
		memchr(v->val.string.val, '\0', v->val.string.len) != NULL)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * tc_jwt_printable returns a copy of an untrusted string fit for a message: at
 * most 64 characters, anything but printable ASCII replaced by '?'.
 */
char *
tc_jwt_printable(const char *s)
{
	int			len = Min((int) strlen(s), 64);
	char	   *p = palloc(len + 1);
	int			i;

	for (i = 0; i < len; i++)
		p[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	p[len] = '\0';
	return p;
}

/*
 * tc_jwt_alg_by_name returns the algorithm of a JWS "alg" name, or -1.
 */
int
tc_jwt_alg_by_name(const char *name)
{
	int			i;

	for (i = 0; i < JWT_ALG_COUNT; i++)
		if (strcmp(name, tc_jwt_alg_names[i]) == 0)
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
	char	   *text = tc_jwt_json_string(jwk, name, &present);
	unsigned char *bytes;

	if (text == NULL)
	{
		*why = psprintf("member \"%s\" is missing or not a string", name);
		return NULL;
	}
	if (!tc_jwt_b64url_decode(text, strlen(text), &bytes, len, max_len) || *len == 0 ||
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
	char	   *kty = tc_jwt_json_string(jwk, "kty", &present);
	char	   *kid = tc_jwt_json_string(jwk, "kid", &present);
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
	use = tc_jwt_json_string(jwk, "use", &present);
	if (present && (use == NULL || strcmp(use, "sig") != 0))
		return false;			/* an encryption key */
	if (kty == NULL)
	{
		*why = "member \"kty\" is missing or not a string";
		return false;
	}

	crv = tc_jwt_json_string(jwk, "crv", &present);
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

	alg = tc_jwt_json_string(jwk, "alg", &present);
	if (present && (alg == NULL || tc_jwt_alg_by_name(alg) != alg_from_key))
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
	jb = tc_jwt_json_object(text, len);
	explicit_bzero(text, len);
	if (jb == NULL)
		KeyFileError("The file is not a JSON object.");
	keys = tc_jwt_json_member(&jb->root, "keys");
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
				kid = tc_jwt_json_string(jwk->val.binary.data, "kid", &present);
				if (ParseJwk(jwk->val.binary.data, set_cxt, &set->keys[set->nkeys], &why))
				{
					set->nkeys++;
					continue;
				}
			}
			if (why != NULL)
				ereport(LOG,
						(errmsg("tenantcore.jwt_keys_file: skipping key %d%s%s%s: %s",
								i + 1, kid ? " (kid \"" : "", kid ? tc_jwt_printable(kid) : "",
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
 * tc_jwt_current_keys returns the keys of tenantcore.jwt_keys_file, reading
 * the file again if it changed.  A new key set replaces the old one only once
 * it is complete; tc_jwt_keys_generation counts the key sets dropped, so the
 * cache of verified tokens (jwt.c) goes with the old keys.
 */
JwtKeySet *
tc_jwt_current_keys(void)
{
	struct stat st;
	JwtKeySet  *set;

	if (tc_jwt_keys_file == NULL || tc_jwt_keys_file[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenantcore.jwt_keys_file is not set"),
				 errhint("A superuser points tenantcore.jwt_keys_file at a JWKS file in postgresql.conf.")));

	if (key_set != NULL && strcmp(key_set->path, tc_jwt_keys_file) == 0 &&
		stat(tc_jwt_keys_file, &st) == 0 &&
		st.st_dev == key_set->dev && st.st_ino == key_set->ino &&
		st.st_size == key_set->size &&
		SameTime(&st.st_mtim, &key_set->mtime) && SameTime(&st.st_ctim, &key_set->ctime))
		return key_set;

	/* changed, gone or never read: forget the old keys first */
	tc_jwt_keys_generation++;
	if (key_set != NULL)
	{
		FreeKeySet(key_set);
		key_set = NULL;
	}
	set = LoadKeySet(tc_jwt_keys_file);
	key_set = set;
	return set;
}

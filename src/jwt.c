/*-------------------------------------------------------------------------
 *
 * jwt.c
 *		Verification of the signed tokens of tenantcore.set_context_token().
 *
 * A token is a JSON web token (RFC 7519) in the compact JWS serialization,
 * signed with HS256, RS256, ES256 or EdDSA (Ed25519).  The verification keys
 * come from a JWKS file (jwt_keys.c); a key is chosen by the token's "kid",
 * and a key verifies exactly one algorithm.  The claims exp (required), nbf
 * and iat are checked with tenantcore.jwt_leeway, iss and aud against
 * tenantcore.jwt_issuer and tenantcore.jwt_audience when set; the tenant
 * claim must hold a uuid, the actor claim a uuid if present.  A verified
 * token sets tenant and actor for the current transaction (context.c).
 *
 * Verified tokens are cached per backend by the SHA-256 of the token and of
 * the settings that gate it, so a pooled connection that presents the same
 * token again pays a hash lookup; the time claims are checked again on every
 * hit, and the cache is emptied when the keys change.
 *
 * Neither a token nor a key ever appears in a message: errors say what was
 * wrong.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "jwt.h"
#include "jwt_keys.h"
#include "util.h"

#define JWT_DIGEST_LEN		TC_SHA256_LEN

#define ERRCODE_TOKEN		TC_ERRCODE_TOKEN
#define JWT_MAX_TOKEN_LEN	TC_JWT_MAX_TOKEN_LEN

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
char	   *tc_jwt_tenant_claim = NULL;
char	   *tc_jwt_actor_claim = NULL;
static char *jwt_issuer = NULL;
static char *jwt_audience = NULL;
static int	jwt_leeway = 30;
static int	jwt_cache_size = 1024;

static HTAB *token_cache = NULL;
static uint64 token_cache_generation = 0;	/* of the keys the cache holds tokens of */

/*
 * tc_jwt_init defines the settings of signed tenant context.
 */
void
tc_jwt_init(void)
{
	DefineCustomStringVariable("tenantcore.jwt_tenant_claim",
							   gettext_noop("Claim naming the tenant: of request.jwt.claims when tenantcore.tenant_id is empty, and of the tokens of set_context_token()."),
							   gettext_noop("Empty disables the request.jwt.claims fallback; set_context_token() then reads \"tenant_id\". A dotted path names a nested claim."),
							   &tc_jwt_tenant_claim,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("tenantcore.jwt_actor_claim",
							   gettext_noop("Claim naming the actor: of request.jwt.claims when tenantcore.actor_id is empty, and of the tokens of set_context_token()."),
							   gettext_noop("Empty disables the request.jwt.claims fallback; set_context_token() then reads \"actor_id\". A dotted path names a nested claim."),
							   &tc_jwt_actor_claim,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	tc_jwt_keys_init();

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

/*
 * TenantClaim and ActorClaim return the claim names of the tokens of
 * set_context_token().
 */
static const char *
TenantClaim(void)
{
	return (tc_jwt_tenant_claim != NULL && tc_jwt_tenant_claim[0] != '\0') ? tc_jwt_tenant_claim : "tenant_id";
}

static const char *
ActorClaim(void)
{
	return (tc_jwt_actor_claim != NULL && tc_jwt_actor_claim[0] != '\0') ? tc_jwt_actor_claim : "actor_id";
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
 * CurrentKeys returns the keys of tenantcore.jwt_keys_file (jwt_keys.c) and
 * empties the cache of verified tokens when the keys changed since.
 */
static JwtKeySet *
CurrentKeys(void)
{
	JwtKeySet  *set = tc_jwt_current_keys();

	if (token_cache_generation != tc_jwt_keys_generation)
	{
		ForgetTokens();
		token_cache_generation = tc_jwt_keys_generation;
	}
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
					 errmsg("unknown key id \"%s\"", tc_jwt_printable(kid)),
					 errhint("The key may have been rotated out of tenantcore.jwt_keys_file.")));
		if (found->alg != alg)
			ereport(ERROR,
					(errcode(ERRCODE_TOKEN),
					 errmsg("key \"%s\" does not verify %s tokens", tc_jwt_printable(kid), tc_jwt_alg_names[alg]),
					 errdetail("It is a key for %s.", tc_jwt_alg_names[found->alg])));
		return found;
	}

	for (i = 0; i < set->nkeys; i++)
		if (set->keys[i].alg == alg)
		{
			if (found != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_TOKEN),
						 errmsg("token has no key id and several keys verify %s tokens", tc_jwt_alg_names[alg]),
						 errhint("Issue tokens with a \"kid\" header.")));
			found = &set->keys[i];
		}
	if (found == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("no key verifies %s tokens", tc_jwt_alg_names[alg])));
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
				uint8		mac[TC_SHA256_LEN];
				TcBytes		part = {data, data_len};
				bool		ok;

				if (!tc_hmac_sha256(key->secret, key->secret_len, &part, 1, mac))
					return false;
				ok = sig_len == TC_SHA256_LEN && CRYPTO_memcmp(mac, sig, TC_SHA256_LEN) == 0;
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
	JsonbValue *v = tc_jwt_json_member(claims, name);

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
	if (text == NULL || !tc_parse_uuid(text, uuid))
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token claim \"%s\" is not a uuid", tc_jwt_printable(path)),
				 errhint("Issue tokens whose \"%s\" claim is a uuid, or change tenantcore.jwt_tenant_claim and tenantcore.jwt_actor_claim.",
						 tc_jwt_printable(path))));
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
	if (!tc_jwt_b64url_decode(token, dot1 - token, &header_bytes, &header_len, JWT_MAX_TOKEN_LEN) ||
		(header = tc_jwt_json_object((char *) header_bytes, header_len)) == NULL)
		TokenError("token is not a compact JWS",
				   "Its header is not a base64url-encoded JSON object.");
	if (!tc_jwt_b64url_decode(dot1 + 1, dot2 - (dot1 + 1), &payload_bytes, &payload_len, JWT_MAX_TOKEN_LEN) ||
		(payload = tc_jwt_json_object((char *) payload_bytes, payload_len)) == NULL)
		TokenError("token is not a compact JWS",
				   "Its payload is not a base64url-encoded JSON object.");
	if (!tc_jwt_b64url_decode(dot2 + 1, end - (dot2 + 1), &sig, &sig_len, JWT_MAX_TOKEN_LEN))
		TokenError("token is not a compact JWS",
				   "Its signature is not base64url-encoded.");

	/* the header: alg, kid, nothing critical we do not understand */
	alg_name = tc_jwt_json_string(&header->root, "alg", &present);
	if (alg_name == NULL)
		TokenError("token header has no \"alg\" string", NULL);
	if (pg_strcasecmp(alg_name, "none") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token algorithm \"none\" is not accepted"),
				 errdetail("Unsigned tokens prove nothing.")));
	alg = tc_jwt_alg_by_name(alg_name);
	if (alg < 0)
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token algorithm \"%s\" is not supported", tc_jwt_printable(alg_name)),
				 errhint("Sign tokens with HS256, RS256, ES256 or EdDSA.")));
	if (tc_jwt_json_member(&header->root, "crit") != NULL)
		TokenError("token header lists critical extensions, which are not supported", NULL);
	kid = tc_jwt_json_string(&header->root, "kid", &present);
	if (kid == NULL && present)
		TokenError("token header \"kid\" is not a string", NULL);

	/* the signature over header.payload */
	set = CurrentKeys();
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
		v = tc_jwt_json_member(&payload->root, "iss");
		if (!StringMatches(v, jwt_issuer, false))
			TokenError("token issuer does not match tenantcore.jwt_issuer",
					   v == NULL ? "The token has no \"iss\" claim." : NULL);
	}
	if (jwt_audience[0] != '\0')
	{
		v = tc_jwt_json_member(&payload->root, "aud");
		if (!StringMatches(v, jwt_audience, true))
			TokenError("token audience does not match tenantcore.jwt_audience",
					   v == NULL ? "The token has no \"aud\" claim." : NULL);
	}

	if (!UuidClaim(&payload->root, TenantClaim(), &out->tenant))
		ereport(ERROR,
				(errcode(ERRCODE_TOKEN),
				 errmsg("token has no \"%s\" claim naming the tenant", tc_jwt_printable(TenantClaim())),
				 errhint("Issue tokens with the claim, or change tenantcore.jwt_tenant_claim.")));
	out->has_actor = UuidClaim(&payload->root, ActorClaim(), &out->actor);
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
	const char *settings[4] = {jwt_issuer, jwt_audience, TenantClaim(), ActorClaim()};
	TcBytes		parts[9];
	int			i;

	/* the token, then each setting after a zero byte */
	parts[0].data = token;
	parts[0].len = len;
	for (i = 0; i < 4; i++)
	{
		parts[1 + 2 * i].data = "";
		parts[1 + 2 * i].len = 1;
		parts[2 + 2 * i].data = settings[i];
		parts[2 + 2 * i].len = strlen(settings[i]);
	}
	if (!tc_sha256(parts, 9, digest))
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
 * tc_jwt_verify_context_token verifies a signed token (through the cache of
 * verified tokens) and returns its tenant and actor; any flaw is an error.
 * set_context_token() and, on the nodes of a Citus cluster, the check hook
 * of tenantcore.context_token (citus.c) use it.
 */
void
tc_jwt_verify_context_token(const char *token, int len, pg_uuid_t *tenant,
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

	if (jwt_cache_size > 0 && tc_jwt_keys_file[0] != '\0')
	{
		(void) CurrentKeys();	/* empties the cache if the keys changed */
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
 * tc_jwt_read_context_token returns the tenant and actor of a token that was
 * verified already, without verifying it again: a parallel worker restores
 * the leader's tenantcore.context_token (citus.c), whose check hook verified
 * it in the leader's transaction.  Only the payload is decoded.
 */
void
tc_jwt_read_context_token(const char *token, int len, pg_uuid_t *tenant,
						  pg_uuid_t *actor, bool *has_actor)
{
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (dot1 + 1 - token)) : NULL;
	unsigned char *payload_bytes;
	int			payload_len;
	Jsonb	   *payload = NULL;

	if (dot1 == NULL || dot2 == NULL ||
		!tc_jwt_b64url_decode(dot1 + 1, dot2 - (dot1 + 1), &payload_bytes, &payload_len, JWT_MAX_TOKEN_LEN) ||
		(payload = tc_jwt_json_object((char *) payload_bytes, payload_len)) == NULL ||
		!UuidClaim(&payload->root, TenantClaim(), tenant))
		TokenError("token is not a compact JWS",
				   "Its payload is not a base64url-encoded JSON object naming the tenant.");
	*has_actor = UuidClaim(&payload->root, ActorClaim(), actor);
}

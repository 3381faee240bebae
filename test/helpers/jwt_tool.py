#!/usr/bin/env python3
"""test/helpers/jwt_tool.py -- test-only keys and tokens for set_context_token().

Standard library only; the signatures come from the openssl command line tool.
Nothing here is for production use.

  jwt_tool.py keys DIR          generate rsa.pem, rsa2.pem, ec.pem, ed.pem, hs.key in DIR
  jwt_tool.py jwks KID:TYPE:FILE ...
                                print a JWKS of the public keys (TYPE rsa, ec, ed, oct)
  jwt_tool.py sign ALG FILE HEADER PAYLOAD
                                print a compact JWS; HEADER and PAYLOAD are JSON objects
                                ("alg" is added to HEADER unless present); a string
                                value "@+N" / "@-N" in PAYLOAD becomes now +/- N seconds
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def gen_keys(d):
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{d}/rsa.pem")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{d}/rsa2.pem")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{d}/ec.pem")
    openssl("genpkey", "-algorithm", "ED25519", "-out", f"{d}/ed.pem")
    with open(f"{d}/hs.key", "wb") as f:
        f.write(os.urandom(32))
    # the RSA public key in PEM, for the algorithm confusion test
    with open(f"{d}/rsa.pub.pem", "wb") as f:
        f.write(openssl("pkey", "-in", f"{d}/rsa.pem", "-pubout"))


def jwk(kid, kind, path):
    if kind == "oct":
        with open(path, "rb") as f:
            return {"kty": "oct", "kid": kid, "k": b64u(f.read())}
    der = openssl("pkey", "-in", path, "-pubout", "-outform", "DER")
    if kind == "rsa":
        mod = openssl("rsa", "-in", path, "-noout", "-modulus").decode().strip().split("=", 1)[1]
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64u(bytes.fromhex(mod)), "e": "AQAB"}
    if kind == "ec":
        point = der[-65:]
        return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64u(point[1:33]), "y": b64u(point[33:])}
    if kind == "ed":
        return {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64u(der[-32:])}
    raise SystemExit(f"unknown key type {kind}")


def der_to_raw(der):
    # SEQUENCE { INTEGER r, INTEGER s } -> r || s, 32 bytes each
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += v.rjust(32, b"\x00")
        i += 2 + n
    return out


def sign(alg, path, data):
    if alg == "HS256":
        with open(path, "rb") as f:
            return hmac.new(f.read(), data, hashlib.sha256).digest()
    if alg == "RS256":
        return openssl("dgst", "-sha256", "-sign", path, data=data)
    if alg == "ES256":
        return der_to_raw(openssl("dgst", "-sha256", "-sign", path, data=data))
    if alg == "EdDSA":
        with tempfile.NamedTemporaryFile() as t:
            t.write(data)
            t.flush()
            return openssl("pkeyutl", "-sign", "-inkey", path, "-rawin", "-in", t.name)
    if alg == "none":
        return b""
    raise SystemExit(f"unknown alg {alg}")


def resolve_times(obj, now):
    if isinstance(obj, dict):
        return {k: resolve_times(v, now) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve_times(v, now) for v in obj]
    if isinstance(obj, str) and obj[:2] in ("@+", "@-"):
        return now + int(obj[1:])
    return obj


def main(argv):
    if argv[1] == "keys":
        gen_keys(argv[2])
    elif argv[1] == "jwks":
        keys = [jwk(*spec.split(":", 2)) for spec in argv[2:]]
        print(json.dumps({"keys": keys}, indent=1))
    elif argv[1] == "sign":
        alg, path, header, payload = argv[2:6]
        header = json.loads(header)
        header.setdefault("alg", alg)
        payload = resolve_times(json.loads(payload), int(time.time()))
        signing_input = (b64u(json.dumps(header).encode()) + "." +
                         b64u(json.dumps(payload).encode())).encode()
        print(signing_input.decode() + "." + b64u(sign(alg, path, signing_input)))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

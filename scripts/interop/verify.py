#!/usr/bin/env python3
"""Verify an Authio access token with stock PyJWT, using only the published JWKS.

    verify.py [--expect-alg ALG] [--expect-sub SUB] [--tampered] TOKEN ISSUER AUDIENCE JWKS_URI

Without --tampered: fetch the signing key for the token's `kid` from JWKS_URI
(jwt.PyJWKClient), verify signature, `iss`, `aud` and `exp` (no leeway) and require
`exp`, `iat`, `sub`, `iss` and `aud`; print the header and claims; exit 0 when valid.

With --tampered: alter the last character of the token's signature so that the
signature bytes change, verify the result the same way, and exit 0 only when PyJWT
rejects it with InvalidSignatureError (any other outcome, including a rejection for
another reason, exits non-zero: it would not prove the signature is checked).

Part of scripts/interop-jwt; run with the venv it makes (target/interop-venv).
"""

import argparse
import json
import sys

import cryptography
import jwt

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ALGORITHMS = ["EdDSA", "ES256"]
REQUIRED = ["exp", "iat", "sub", "iss", "aud"]


def tamper(token: str) -> str:
    """Change the signature's last base64url character.

    The last character of an 86-character signature (64 bytes: Ed25519, or ES256's
    r||s) carries only its two high bits; the four low bits are padding that decoders
    ignore, so a careless change (A -> B) would leave the signature bytes as they were.
    Flipping the character's high bit (index XOR 32) always changes a real bit.
    """
    head, payload, sig = token.split(".")
    if not sig:
        raise SystemExit("the token has no signature")
    last = B64URL.index(sig[-1])
    return ".".join([head, payload, sig[:-1] + B64URL[last ^ 32]])


def verify(token, issuer, audience, jwks_uri):
    client = jwt.PyJWKClient(jwks_uri, cache_keys=False)
    signing_key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key,
        algorithms=ALGORITHMS,
        audience=audience,
        issuer=issuer,
        options={"require": REQUIRED},
    )
    return signing_key, claims


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--expect-alg", help="fail unless the token header's alg is this")
    ap.add_argument("--expect-sub", help="fail unless the sub claim is this")
    ap.add_argument("--tampered", action="store_true", help="verify a tampered copy; exit 0 only if rejected")
    ap.add_argument("token")
    ap.add_argument("issuer")
    ap.add_argument("audience")
    ap.add_argument("jwks_uri")
    a = ap.parse_args()
    lib = "PyJWT %s, cryptography %s" % (jwt.__version__, cryptography.__version__)

    header = jwt.get_unverified_header(a.token)
    if a.expect_alg and header.get("alg") != a.expect_alg:
        print("FAIL: header alg is %r, expected %r (header %s)" % (header.get("alg"), a.expect_alg, json.dumps(header)))
        return 1

    if a.tampered:
        bad = tamper(a.token)
        try:
            _, claims = verify(bad, a.issuer, a.audience, a.jwks_uri)
        except jwt.InvalidSignatureError as e:
            print("rejected the tampered %s token as expected (%s): InvalidSignatureError: %s" % (header.get("alg"), lib, e))
            return 0
        except Exception as e:  # noqa: BLE001 - any other reason proves nothing
            print("FAIL: the tampered token was rejected, but not for its signature (%s): %s: %s"
                  % (lib, type(e).__name__, e))
            return 1
        print("FAIL: PyJWT ACCEPTED a token with an altered signature (%s): %s" % (lib, json.dumps(claims)))
        return 1

    try:
        signing_key, claims = verify(a.token, a.issuer, a.audience, a.jwks_uri)
    except Exception as e:  # noqa: BLE001 - report any failure plainly
        print("FAIL: PyJWT rejected the token (%s): %s: %s" % (lib, type(e).__name__, e))
        print("header: %s" % json.dumps(header))
        return 1
    if a.expect_sub and claims.get("sub") != a.expect_sub:
        print("FAIL: sub is %r, expected %r" % (claims.get("sub"), a.expect_sub))
        return 1
    print("verified with %s; JWK kid=%s kty=%s alg=%s" % (lib, signing_key.key_id, signing_key.key_type,
                                                          signing_key.algorithm_name))
    print("header: %s" % json.dumps(header, sort_keys=True))
    print("claims: %s" % json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

// Verify an Authio ES256 access token with stock Node libraries (jsonwebtoken + jwks-rsa),
// using only the published JWKS.
//
//   node verify.mjs [--tampered] [--expect-sub SUB] TOKEN ISSUER AUDIENCE JWKS_URI
//
// Without --tampered: fetch the key for the token's `kid` (jwksClient.getSigningKey) and
// jwt.verify with algorithms ["ES256"], audience and issuer; print header and claims;
// exit 0 when valid. With --tampered: alter the signature's last character so that the
// signature bytes change and exit 0 only when jsonwebtoken rejects it as "invalid
// signature" (a rejection for any other reason proves nothing and exits 1).
//
// Only ES256: jsonwebtoken (9.x) does not support EdDSA at all (its algorithm list is
// HS*/RS*/PS*/ES* and "none"), so Authio's EdDSA tokens are checked with PyJWT only.
//
// Part of scripts/interop-jwt, which copies this file next to its node_modules in
// target/interop-node/ (ES modules resolve packages from the file's own folder).
import jwt from "jsonwebtoken";
import jwksClient from "jwks-rsa";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const lib = `jsonwebtoken ${require("jsonwebtoken/package.json").version}, jwks-rsa ${require("jwks-rsa/package.json").version}, node ${process.version}`;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The last character of an 86-character signature (64 bytes) holds only two real bits;
// the rest is padding a decoder ignores, so flip the character's high bit (index ^ 32),
// which always changes the signature bytes.
function tamper(token) {
  const [head, payload, sig] = token.split(".");
  if (!sig) throw new Error("the token has no signature");
  const last = B64URL.indexOf(sig.at(-1));
  return [head, payload, sig.slice(0, -1) + B64URL[last ^ 32]].join(".");
}

async function verify(token, issuer, audience, jwksUri) {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded) throw new Error("not a JWT");
  const client = jwksClient({ jwksUri, cache: false });
  const key = await client.getSigningKey(decoded.header.kid);
  const claims = jwt.verify(token, key.getPublicKey(), { algorithms: ["ES256"], audience, issuer });
  return { header: decoded.header, key, claims };
}

async function main() {
  const args = process.argv.slice(2);
  let tampered = false;
  let expectSub = null;
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--tampered") tampered = true;
    else if (args[i] === "--expect-sub") expectSub = args[++i];
    else pos.push(args[i]);
  }
  if (pos.length !== 4) {
    console.log("usage: node verify.mjs [--tampered] [--expect-sub SUB] TOKEN ISSUER AUDIENCE JWKS_URI");
    return 2;
  }
  const [token, issuer, audience, jwksUri] = pos;

  if (tampered) {
    let claims;
    try {
      ({ claims } = await verify(tamper(token), issuer, audience, jwksUri));
    } catch (e) {
      if (e instanceof jwt.JsonWebTokenError && e.message === "invalid signature") {
        console.log(`rejected the tampered ES256 token as expected (${lib}): ${e.name}: ${e.message}`);
        return 0;
      }
      console.log(`FAIL: the tampered token was rejected, but not for its signature (${lib}): ${e.name}: ${e.message}`);
      return 1;
    }
    console.log(`FAIL: jsonwebtoken ACCEPTED a token with an altered signature (${lib}): ${JSON.stringify(claims)}`);
    return 1;
  }

  let out;
  try {
    out = await verify(token, issuer, audience, jwksUri);
  } catch (e) {
    console.log(`FAIL: jsonwebtoken/jwks-rsa rejected the token (${lib}): ${e.name}: ${e.message}`);
    return 1;
  }
  const { header, key, claims } = out;
  for (const c of ["exp", "iat", "sub", "iss", "aud"]) {
    if (claims[c] === undefined) {
      console.log(`FAIL: claim ${c} is missing: ${JSON.stringify(claims)}`);
      return 1;
    }
  }
  if (expectSub !== null && claims.sub !== expectSub) {
    console.log(`FAIL: sub is ${JSON.stringify(claims.sub)}, expected ${JSON.stringify(expectSub)}`);
    return 1;
  }
  console.log(`verified with ${lib}; JWK kid=${key.kid} alg=${key.alg}`);
  console.log(`header: ${JSON.stringify(header)}`);
  console.log(`claims: ${JSON.stringify(claims)}`);
  return 0;
}

process.exitCode = await main().catch((e) => {
  console.log(`FAIL: ${e && e.stack ? e.stack : e}`);
  return 1;
});

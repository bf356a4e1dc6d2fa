#!/usr/bin/env python3
"""Authio's OpenID Connect provider checked with the stock Python client Authlib.

    authlib_client.py SETUP.json

A CONFIDENTIAL client: Authlib's requests OAuth2Session (PKCE S256 as well,
client_secret_basic, once client_secret_post), and Authlib's own OpenID Connect client
helper (OpenIDMixin: parse_id_token against the JWKS with claims options for iss, aud
and nonce, userinfo), plus the id_token validated once more with the older
authlib.jose.JsonWebToken. SETUP.json is written by scripts/oidc-conformance; the
user's part of the flow (the hosted pages' in a browser) is done with the same API
calls the pages make: a sign-in token, POST /v1/sessions/switch-org, then
POST /v1/oauth2/authorizations {request}.

Prints one `PASS <check>` or `FAIL <check> -- <why>` line per check on stdout; every
other line starts with two spaces. Exit 0 when every check passed, 1 when some failed;
anything else means the script itself broke.

Part of scripts/oidc-conformance; run with the venv it makes (target/oidc-venv).
"""

import base64
import json
import secrets
import sys
import urllib.parse
import warnings

import authlib
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.sync_openid import OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session

SETUP = json.load(open(sys.argv[1]))
ISSUER = SETUP["issuer"]
SCOPE = SETUP["scope"]
CONF = SETUP["clients"]["confidential"]
OTHER = SETUP["clients"]["other"]
HTTP = requests.Session()

passed = 0
failed = 0


def note(*lines):
    for text in lines:
        for line in str(text).split("\n"):
            print("  " + line, flush=True)


class NotRun(Exception):
    pass


def need(value, what):
    if value is None:
        raise NotRun("not run: " + what)
    return value


def describe(e):
    bits = ["%s: %s" % (type(e).__name__, e)]
    for k in ("error", "description"):
        v = getattr(e, k, None)
        if v is not None and str(v) not in bits[0]:
            bits.append("%s=%r" % (k, v))
    return " ".join(bits)


def check(name):
    def run(fn):
        global passed, failed
        try:
            fn()
            passed += 1
            print("PASS python: " + name, flush=True)
        except NotRun as e:
            failed += 1
            print("FAIL python: %s -- %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001 (every failure is reported, none stops the run)
            failed += 1
            print("FAIL python: %s -- %s" % (name, describe(e).replace("\n", " ")), flush=True)
        return fn

    return run


def refused(fn, what):
    """Run fn, which must raise; return the exception."""
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001
        note("refused as expected: " + describe(e))
        return e
    raise AssertionError("%s was ACCEPTED; answer: %s" % (what, str(result)[:500]))


def expect_oauth_error(e, code):
    assert isinstance(e, AuthlibBaseError) and e.error == code, "expected an OAuthError with error=%s, got %s" % (
        code,
        describe(e),
    )


# ------------------------------------------------------------------ plain HTTP (the hosted pages' calls)
def api(method, path, expected, token=None, pk=None, body=None):
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if pk:
        headers["Authio-Publishable-Key"] = pk
    r = HTTP.request(method, ISSUER + path, headers=headers, json=body, allow_redirects=False, timeout=30)
    if r.status_code != expected:
        raise AssertionError("%s %s answered %s, expected %s: %s" % (method, path, r.status_code, expected, r.text[:800]))
    return r.json() if r.content else None


def sign_in_to_org():
    """The user signs in (sign-in token) and enters the organization's context."""
    token = api("POST", "/v1/sign-in-tokens", 201, token=SETUP["secret_key"], body={"user_id": SETUP["user"]["id"]})["token"]
    session = api("POST", "/v1/auth/sign-in-tokens/verify", 200, pk=SETUP["publishable_key"], body={"token": token})
    org = api(
        "POST",
        "/v1/sessions/switch-org",
        200,
        token=session["access_token"],
        body={"organization_id": SETUP["organization"]["id"]},
    )
    return {"access_token": org["access_token"], "session_id": session["session_id"]}


# ------------------------------------------------------------------ Authlib: OAuth2Session + the OIDC helper
class Client(OpenIDMixin, OAuth2Session):
    """Authlib's OAuth2Session with Authlib's OpenID Connect client helper (OpenIDMixin,
    what its Flask/Django/Starlette clients use): parse_id_token, userinfo, the JWKS."""

    def __init__(self, metadata, **kwargs):
        super().__init__(**kwargs)
        self.server_metadata = metadata

    def load_server_metadata(self):
        return self.server_metadata

    def _get_session(self):
        return OAuth2Session()


def new_client(c, auth="client_secret_basic", client_id=None, secret=None):
    return Client(
        need(metadata, "no discovery metadata"),
        client_id=client_id or c["id"],
        client_secret=secret or c.get("secret"),
        token_endpoint_auth_method=auth,
        scope=SCOPE,
        redirect_uri=c["redirect_uri"],
        code_challenge_method="S256",
    )


def begin(sess, pkce=True, redirect_uri=None):
    """The authorization URL (state, nonce, PKCE) and the authorize endpoint's answer."""
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    kwargs = {"nonce": nonce}
    if redirect_uri:
        kwargs["redirect_uri"] = redirect_uri
    url, state = sess.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier if pkce else None, **kwargs
    )
    r = HTTP.get(url, allow_redirects=False, timeout=30)
    return {"url": url, "state": state, "nonce": nonce, "verifier": verifier, "answer": r}


def hosted_request(answer):
    # The contract says 302; 303 See Other is as good a redirect for a GET (RFC 9110).
    assert answer.status_code in (302, 303), "authorize answered %s, expected a 302/303 redirect to the hosted page: %s" % (
        answer.status_code,
        answer.text[:500],
    )
    loc = urllib.parse.urljoin(ISSUER, answer.headers.get("Location", ""))
    parts = urllib.parse.urlsplit(loc)
    want = ISSUER + "/hosted/sign-in"
    assert "%s://%s%s" % (parts.scheme, parts.netloc, parts.path) == want, "redirected to %s, expected %s?…" % (loc, want)
    q = dict(urllib.parse.parse_qsl(parts.query))
    assert q.get("authorization"), "no authorization parameter in " + loc
    assert q.get("pk") == SETUP["publishable_key"], "pk=%r, expected %r" % (q.get("pk"), SETUP["publishable_key"])
    return q["authorization"]


def through_user(sess, **kwargs):
    """Authorization as far as the callback URL (the code in its query)."""
    f = begin(sess, **kwargs)
    req = hosted_request(f["answer"])
    f["user"] = sign_in_to_org()
    f["callback"] = api(
        "POST", "/v1/oauth2/authorizations", 200, token=f["user"]["access_token"], body={"request": req}
    )["redirect_to"]
    f["params"] = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(f["callback"]).query))
    assert f["params"].get("state") == f["state"], "callback state %r, expected %r" % (f["params"].get("state"), f["state"])
    return f


def redeem(sess, f, **kwargs):
    return sess.fetch_token(
        metadata["token_endpoint"],
        authorization_response=f["callback"],
        state=f["state"],
        code_verifier=f["verifier"],
        **kwargs,
    )


def id_token_claims(sess, token, nonce, client_id=None, issuer=None):
    """Authlib's parse_id_token with claims options for iss, aud and nonce."""
    options = {
        "iss": {"essential": True, "value": issuer or ISSUER},
        "aud": {"essential": True, "value": client_id or sess.client_id},
    }
    if nonce:
        options["nonce"] = {"essential": True, "value": nonce}
    return sess.parse_id_token(token, nonce=nonce, claims_options=options)


def header_of(jwt):
    h = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))


note(
    "Authlib %s, requests %s, python %s; issuer %s, confidential client %s"
    % (authlib.__version__, requests.__version__, sys.version.split()[0], ISSUER, CONF["id"])
)

# ------------------------------------------------------------------ discovery
metadata = None


@check("discovery: /.well-known/openid-configuration names the issuer and the endpoints")
def _():
    global metadata
    r = HTTP.get(ISSUER + "/.well-known/openid-configuration", timeout=30)
    assert r.status_code == 200, "answered %s: %s" % (r.status_code, r.text[:300])
    md = r.json()
    note("metadata: " + json.dumps(md))
    assert md.get("issuer") == ISSUER, "issuer %r, expected %r" % (md.get("issuer"), ISSUER)
    missing = [
        k
        for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                  "revocation_endpoint", "introspection_endpoint")
        if not md.get(k)
    ]
    assert not missing, "no " + ", ".join(missing)
    metadata = md


# ------------------------------------------------------------------ the code flow (client_secret_basic)
flow = None
token = None


@check("authorize (confidential client, PKCE S256, state, nonce) redirects to the hosted sign-in page")
def _():
    global flow
    sess = new_client(CONF)
    f = begin(sess)
    note("GET " + f["url"], "-> %s %s" % (f["answer"].status_code, f["answer"].headers.get("Location", "")))
    hosted_request(f["answer"])
    flow = f


@check("fetch_token (client_secret_basic, code + code_verifier) after the user's POST /v1/oauth2/authorizations")
def _():
    global flow, token
    need(flow, "the authorize check failed")
    sess = new_client(CONF)
    f = through_user(sess)
    note("callback: " + f["callback"])
    sent = []
    sess.register_compliance_hook("access_token_response", lambda resp: sent.append(resp.request) or resp)
    t = redeem(sess, f)
    flow, token = f, t  # the checks below use them even when one of these assertions fails
    # Authlib does not read RFC 9207's iss itself (openid-client does, in the node checks).
    assert f["params"].get("iss") == ISSUER, "callback iss %r, expected %r (RFC 9207)" % (f["params"].get("iss"), ISSUER)
    req = sent[0]
    assert req.headers.get("Authorization", "").startswith("Basic "), "Authlib did not send HTTP Basic client auth"
    assert "client_secret" not in (req.body or ""), "the secret went in the body"
    note("token answer: " + json.dumps({k: ("…" if k.endswith("token") else v) for k, v in t.items()}))
    assert t.get("token_type", "").lower() == "bearer", "token_type %r" % t.get("token_type")
    assert t.get("id_token"), "no id_token"
    assert t.get("refresh_token"), "no refresh_token although offline_access was granted"
    note("id_token header: " + json.dumps(header_of(t["id_token"])))


claims = None


@check("parse_id_token (Authlib's OIDC helper, JWKS; iss, aud, nonce): sub, sid, org_id, org_role, email")
def _():
    global claims
    t = need(token, "no token")
    sess = new_client(CONF)
    c = id_token_claims(sess, t, flow["nonce"])
    note("claims: " + json.dumps(dict(c)))
    expect = {
        "sub": SETUP["user"]["id"],
        "sid": flow["user"]["session_id"],
        "org_id": SETUP["organization"]["id"],
        "org_role": SETUP["organization"]["role"],
        "email": SETUP["user"]["email"],
        "email_verified": True,
        "nonce": flow["nonce"],
    }
    problems = ["%s=%r, expected %r" % (k, c.get(k), v) for k, v in expect.items() if c.get(k) != v]
    if "name" not in c:
        note("note: no name claim (scope profile; the user's name is %r)" % SETUP["user"]["name"])
    elif c["name"] != SETUP["user"]["name"]:
        problems.append("name=%r, expected %r" % (c["name"], SETUP["user"]["name"]))
    assert not problems, "; ".join(problems)
    claims = c


@check("authlib.jose.JsonWebToken validates the id_token against the JWKS (claims options iss, aud, nonce)")
def _():
    t = need(token, "no token")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # authlib.jose is deprecated in favour of joserfc (what parse_id_token uses)
        from authlib.jose import JsonWebKey, JsonWebToken

        jwks = HTTP.get(metadata["jwks_uri"], timeout=30).json()
        c = JsonWebToken(["EdDSA", "ES256"]).decode(
            t["id_token"],
            JsonWebKey.import_key_set(jwks),
            claims_options={
                "iss": {"essential": True, "value": ISSUER},
                "aud": {"essential": True, "value": CONF["id"]},
                "nonce": {"essential": True, "value": flow["nonce"]},
                "sub": {"essential": True, "value": SETUP["user"]["id"]},
            },
        )
        c.validate()
    assert c.get("org_id") == SETUP["organization"]["id"], "org_id %r" % c.get("org_id")


refreshed = None


@check("refresh_token: a new id_token (parse_id_token) that keeps sub, sid, org_id, org_role")
def _():
    global refreshed
    t = need(token, "no token")
    sess = new_client(CONF)
    sess.token = t
    r = sess.refresh_token(metadata["token_endpoint"], refresh_token=t["refresh_token"])
    assert r.get("id_token") and r["id_token"] != t["id_token"], "no new id_token in the refresh answer"
    c = id_token_claims(sess, r, None)
    note("claims after refresh: " + json.dumps(dict(c)))
    problems = ["%s=%r, was %r" % (k, c.get(k), claims.get(k) if claims else None)
                for k in ("sub", "sid", "org_id", "org_role") if claims is None or c.get(k) != claims.get(k)]
    if "nonce" in c:
        problems.append("nonce %r in a refreshed id_token" % c["nonce"])
    if r.get("refresh_token") == t["refresh_token"]:
        problems.append("the refresh token was not rotated")
    assert not problems, "; ".join(problems)
    refreshed = dict(r)


@check("userinfo (Authlib's OIDC helper): sub, email, org_id, org_role")
def _():
    t = need(refreshed or token, "no token")
    sess = new_client(CONF)
    sess.token = t
    u = sess.userinfo()
    note("userinfo: " + json.dumps(dict(u)))
    expect = {
        "sub": SETUP["user"]["id"],
        "email": SETUP["user"]["email"],
        "org_id": SETUP["organization"]["id"],
        "org_role": SETUP["organization"]["role"],
    }
    problems = ["%s=%r, expected %r" % (k, u.get(k), v) for k, v in expect.items() if u.get(k) != v]
    assert not problems, "; ".join(problems)


@check("introspect_token (RFC 7662, client_secret_basic): active, sub, client_id")
def _():
    t = need(refreshed or token, "no token")
    sess = new_client(CONF)
    r = sess.introspect_token(metadata["introspection_endpoint"], token=t["access_token"], token_type_hint="access_token")
    assert r.status_code == 200, "answered %s: %s" % (r.status_code, r.text[:300])
    d = r.json()
    note("introspection: " + json.dumps(d))
    assert d.get("active") is True, "active=%r" % d.get("active")
    assert d.get("sub") == SETUP["user"]["id"], "sub=%r" % d.get("sub")
    assert d.get("client_id") == CONF["id"], "client_id=%r" % d.get("client_id")
    r = sess.introspect_token(metadata["introspection_endpoint"], token="not-a-token")
    assert r.status_code == 200 and r.json().get("active") is False, "a bad token: %s %s" % (r.status_code, r.text[:300])


@check("revoke_token (RFC 7009) of the refresh token: 200, then refreshing with it fails (invalid_grant)")
def _():
    t = need(refreshed, "no refreshed token")
    sess = new_client(CONF)
    r = sess.revoke_token(metadata["revocation_endpoint"], token=t["refresh_token"], token_type_hint="refresh_token")
    assert r.status_code == 200, "revoke answered %s: %s" % (r.status_code, r.text[:300])
    e = refused(lambda: sess.refresh_token(metadata["token_endpoint"], refresh_token=t["refresh_token"]),
                "a revoked refresh token")
    expect_oauth_error(e, "invalid_grant")
    r = sess.revoke_token(metadata["revocation_endpoint"], token="rt_unknown.token", token_type_hint="refresh_token")
    assert r.status_code == 200, "revoking an unknown token answered %s (RFC 7009 says 200): %s" % (r.status_code, r.text[:300])


@check("client_secret_post: the whole flow, the id_token parsed (iss, aud, nonce)")
def _():
    sess = new_client(CONF, auth="client_secret_post")
    f = through_user(sess)
    sent = []
    sess.register_compliance_hook("access_token_response", lambda resp: sent.append(resp.request) or resp)
    t = redeem(sess, f)
    body = dict(urllib.parse.parse_qsl(sent[0].body or ""))
    assert body.get("client_secret") and "Authorization" not in sent[0].headers, "Authlib did not use client_secret_post"
    c = id_token_claims(sess, t, f["nonce"])
    assert c.get("sub") == SETUP["user"]["id"] and c.get("org_id") == SETUP["organization"]["id"], "claims %s" % dict(c)


# ------------------------------------------------------------------ refusals
@check("authorize with an unregistered redirect_uri: a 400 page, no redirect")
def _():
    f = begin(new_client(CONF), redirect_uri=CONF["redirect_uri"] + "/elsewhere")
    r = f["answer"]
    note("-> %s %s Location: %s" % (r.status_code, r.headers.get("Content-Type"), r.headers.get("Location")))
    assert r.status_code == 400, "answered %s, expected 400" % r.status_code
    assert "Location" not in r.headers, "answered with Location: " + r.headers["Location"]
    assert "text/html" in r.headers.get("Content-Type", ""), "not an HTML page: " + r.headers.get("Content-Type", "")


@check("wrong client secret: invalid_client (401)")
def _():
    sess = new_client(CONF, secret="ocs_wrong")
    f = through_user(sess)
    sent = []
    sess.register_compliance_hook("access_token_response", lambda resp: sent.append(resp) or resp)
    expect_oauth_error(refused(lambda: redeem(sess, f), "a wrong secret"), "invalid_client")
    assert sent and sent[0].status_code == 401, "status %s, expected 401" % (sent[0].status_code if sent else "?")


@check("code redeemed twice: invalid_grant, and the first redemption's refresh token then fails")
def _():
    sess = new_client(CONF)
    f = through_user(sess)
    first = redeem(sess, f)
    rt = need(first.get("refresh_token"), "no refresh token from the first redemption")
    expect_oauth_error(refused(lambda: redeem(new_client(CONF), f), "the second redemption"), "invalid_grant")
    expect_oauth_error(
        refused(lambda: new_client(CONF).refresh_token(metadata["token_endpoint"], refresh_token=rt),
                "the first redemption's refresh token"),
        "invalid_grant",
    )


@check("code redeemed by another client (its own valid secret): invalid_grant")
def _():
    f = through_user(new_client(CONF))
    thief = new_client(OTHER)
    thief.redirect_uri = CONF["redirect_uri"]  # the code's own redirect_uri: only the client differs
    expect_oauth_error(refused(lambda: redeem(thief, f), "another client's redemption"), "invalid_grant")


@check("wrong code_verifier: invalid_grant")
def _():
    sess = new_client(CONF)
    f = through_user(sess)
    f["verifier"] = secrets.token_urlsafe(48)
    expect_oauth_error(refused(lambda: redeem(sess, f), "a wrong code_verifier"), "invalid_grant")


@check("code_verifier missing although the request had a challenge: invalid_grant")
def _():
    sess = new_client(CONF)
    f = through_user(sess)
    e = refused(
        lambda: sess.fetch_token(metadata["token_endpoint"], authorization_response=f["callback"], state=f["state"]),
        "a redemption without code_verifier",
    )
    assert isinstance(e, AuthlibBaseError) and e.error in ("invalid_grant", "invalid_request"), (
        "expected invalid_grant (or invalid_request), got " + describe(e)
    )


@check("tampered state: Authlib refuses the callback (MismatchingStateException)")
def _():
    sess = new_client(CONF)
    f = through_user(sess)
    bad = f["callback"].replace("state=" + urllib.parse.quote(f["state"], safe=""), "state=tampered")
    assert bad != f["callback"], "could not find the state in " + f["callback"]
    e = refused(
        lambda: sess.fetch_token(metadata["token_endpoint"], authorization_response=bad, state=f["state"],
                                 code_verifier=f["verifier"]),
        "a callback with another state",
    )
    assert "state" in describe(e).lower(), "refused, but not for the state: " + describe(e)
    # The refused callback did not spend the code: the untouched one still redeems.
    try:
        redeem(sess, f)
    except Exception as e:  # noqa: BLE001
        raise AssertionError("refused as it should be, but then the untouched callback did not redeem: " + describe(e))


@check("an id_token checked for another client's id: Authlib refuses its aud")
def _():
    t = need(token, "no token")
    e = refused(lambda: id_token_claims(new_client(CONF), t, flow["nonce"], client_id=OTHER["id"]),
                "an id_token for another audience")
    assert "aud" in describe(e), "refused, but not for the aud: " + describe(e)


@check("an id_token checked against another issuer: Authlib refuses its iss")
def _():
    t = need(token, "no token")
    e = refused(lambda: id_token_claims(new_client(CONF), t, flow["nonce"], issuer="https://attacker.example"),
                "an id_token from another issuer")
    assert "iss" in describe(e), "refused, but not for the iss: " + describe(e)


@check("an id_token checked with another nonce: Authlib refuses it")
def _():
    t = need(token, "no token")
    e = refused(lambda: id_token_claims(new_client(CONF), t, "another-nonce"), "an id_token with another nonce")
    assert "nonce" in describe(e), "refused, but not for the nonce: " + describe(e)


note("python: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""Authio's SAML 2.0 connections checked end to end against a real IdP, pysaml2 (idp.py).

    python saml_check.py SETUP.json              every check (needs the Authio server)
    python saml_check.py SETUP.json --idp-only   only the IdP self-tests (no Authio needed)

This script is the browser AND the application AND the organization's administrator:
requests with redirects never followed, one cookie jar (requests.Session) per sign-in,
the IdP's login form and its auto-submitting HTTP-POST form read from their HTML and
submitted as a browser would. The application's part is the PKCE pair for
/v1/auth/sso/start and the handoff exchange; the administrator's is claiming and
verifying domains (the TXT records go into the DNS stub through its control URL),
creating the connections from the IdP's metadata and giving the IdP Authio's SP metadata.

The IdP self-tests use pysaml2's own SP (saml2.client.Saml2Client, wanting signed
assertions) as the reference: the IdP's correct responses pass it, and each response
broken on purpose for a refusal check is refused by it for that reason (or, for SHA-1,
accepted: pysaml2 still takes SHA-1, so Authio's refusal is about the algorithm alone).

SETUP.json is written by scripts/saml-conformance: Authio's base URL, the project's keys,
the existing users, the app's redirect_url, the DNS stub and the IdP's ready file.

Prints one `PASS <check>` or `FAIL <check> -- <why>` line per check, `NOTE ...` lines
that are not counted, and details indented by two spaces. Exit 0 when every check
passed, 1 when some failed; anything else means the script itself broke.
"""

import base64
import hashlib
import json
import logging
import re
import secrets
import shutil
import sys
import traceback
import warnings
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlparse

warnings.filterwarnings("ignore", message=".*CFB has been moved.*")
warnings.filterwarnings("ignore", message=".*accepts unsigned SAML.*")
# pysaml2 logs every refused signature at ERROR (the reference SP's refusals are wanted here).
logging.getLogger("saml2").setLevel(logging.CRITICAL)

import requests  # noqa: E402
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.client import Saml2Client  # noqa: E402
from saml2.config import SPConfig  # noqa: E402
from saml2.attribute_converter import ac_factory  # noqa: E402
from saml2.mdstore import MetadataStore  # noqa: E402
from saml2.metadata import create_metadata_string  # noqa: E402
from saml2 import config as saml2_config  # noqa: E402

NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

setup = json.load(open(sys.argv[1]))
IDP_ONLY = "--idp-only" in sys.argv
idp = setup["idp"]
IDP_RSA = idp["idps"]["rsa"]
IDP_EC = idp["idps"]["ec"]

passed = 0
failed = 0
notes = 0


def note(*lines):
    for text in lines:
        for line in str(text).split("\n"):
            print("  %s" % line, flush=True)


class NotRun(Exception):
    pass


def need(value, what):
    if value is None or value == "":
        raise NotRun("not run: %s" % what)
    return value


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("PASS saml: %s" % name, flush=True)
    except Exception as e:  # noqa: BLE001 - a check reports everything
        failed += 1
        why = str(e) if isinstance(e, (NotRun, AssertionError)) else "%s: %s" % (type(e).__name__, e)
        if not isinstance(e, (NotRun, AssertionError)):
            note(traceback.format_exc())
        print("FAIL saml: %s -- %s" % (name, re.sub(r"\s*\n\s*", " | ", why)), flush=True)


def probe(name, fn):
    """Not a check (not counted, never fails the run): `NOTE <name>: ...`."""
    global notes
    notes += 1
    try:
        what = fn()
        print("NOTE saml: %s: %s" % (name, what or "works"), flush=True)
    except Exception as e:  # noqa: BLE001
        print("NOTE saml: %s: does NOT work -- %s" % (name, re.sub(r"\s*\n\s*", " | ", str(e))), flush=True)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce_pair():
    verifier = b64url(secrets.token_bytes(32))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def short(text, n=400):
    text = text if isinstance(text, str) else repr(text)
    return re.sub(r"\s+", " ", text)[:n]


class FormReader(HTMLParser):
    """The first form's action and method, and its inputs (name -> value)."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.method = None
        self.inputs = {}
        self._in_form = False
        self.script = {}
        self._script_id = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
            self.method = (a.get("method") or "get").lower()
            self._in_form = True
        elif tag == "input" and self._in_form and a.get("name"):
            self.inputs[a["name"]] = a.get("value") or ""
        elif tag == "script" and a.get("type") == "application/json":
            self._script_id = a.get("id")

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        if tag == "script":
            self._script_id = None

    def handle_data(self, data):
        if self._script_id:
            self.script[self._script_id] = self.script.get(self._script_id, "") + data


def read_form(html_text):
    r = FormReader()
    r.feed(html_text)
    return r


def inflate(b64):
    return zlib.decompress(base64.b64decode(b64), -15).decode()


# ------------------------------------------------------------------ the IdP's administrator
def idp_admin_load_sp(metadata_url=None, metadata_xml=None):
    body = {"metadata_url": metadata_url} if metadata_url else {"metadata_xml": metadata_xml}
    r = requests.post(idp["base"] + "/admin/sp", json=body, timeout=30)
    assert r.status_code == 200, "the IdP refused the SP metadata: %s %s" % (r.status_code, short(r.text, 800))
    return r.json()


def idp_metadata(which):
    r = requests.get(which["metadata_url"], timeout=10)
    assert r.status_code == 200, "IdP metadata: %s" % r.status_code
    return r.text


# ------------------------------------------------------------------ the browser at the IdP
def idp_login(session, sso_location, email, knobs=None, trail=None):
    """GET the IdP's SSO URL (the Location Authio or an SP sent us to), sign in as `email`
    with `knobs`; returns (the AuthnRequest as the IdP parsed it, the POST form: action,
    inputs)."""
    trail = trail if trail is not None else []
    r = session.get(sso_location, allow_redirects=False, timeout=30)
    trail.append("GET %s -> %s" % (short(sso_location, 160), r.status_code))
    assert r.status_code == 200, "the IdP answered %s to the AuthnRequest: %s" % (r.status_code, short(r.text, 600))
    page = read_form(r.text)
    summary = json.loads(page.script.get("authn-request") or "{}")
    assert page.action and "key" in page.inputs, "no login form at the IdP: %s" % short(r.text)
    form = {"key": page.inputs["key"], "email": email}
    form.update(knobs or {})
    url = requests.compat.urljoin(sso_location, page.action)
    trail.append("   (IdP login form: signing in as %s%s)" % (email, " with %s" % knobs if knobs else ""))
    r = session.post(url, data=form, allow_redirects=False, timeout=30)
    trail.append("POST %s -> %s" % (url, r.status_code))
    assert r.status_code == 200, "the IdP's login answered %s: %s" % (r.status_code, short(r.text, 600))
    post = read_form(r.text)
    assert post.action and "SAMLResponse" in post.inputs, "no SAMLResponse form from the IdP: %s" % short(r.text)
    trail.append("   (the IdP's auto-submitting form: POST %s, SAMLResponse %d bytes, RelayState %s)" % (
        post.action, len(post.inputs["SAMLResponse"]),
        "%d bytes" % len(post.inputs["RelayState"]) if "RelayState" in post.inputs else "none"))
    return summary, post


# ------------------------------------------------------------------ the reference SP (pysaml2's own)
class ReferenceSp:
    def __init__(self, idp_entry):
        self.acs = "http://127.0.0.1:9/reference-sp/acs"
        self.entity_id = "http://127.0.0.1:9/reference-sp/metadata"
        conf = SPConfig()
        conf.load({
            "entityid": self.entity_id,
            "service": {"sp": {
                "endpoints": {"assertion_consumer_service": [(self.acs, BINDING_HTTP_POST)]},
                "want_assertions_or_response_signed": True,
                "want_response_signed": False,
                "want_assertions_signed": False,
                "allow_unsolicited": False,
                "name_id_format_allow_create": True,
            }},
            "xmlsec_binary": shutil.which("xmlsec1"),
            "metadata": {"inline": [idp_metadata(idp_entry)]},
            "accepted_time_diff": 180,
        })
        self.client = Saml2Client(conf)
        self.idp_entry = idp_entry
        idp_admin_load_sp(metadata_xml=create_metadata_string(None, config=conf, valid=4).decode())

    def flow(self, email, knobs=None, relay_state="reference-sp-relay-state"):
        s = requests.Session()
        req_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp_entry["entity_id"], relay_state=relay_state, binding=BINDING_HTTP_REDIRECT)
        location = dict(info["headers"])["Location"]
        summary, post = idp_login(s, location, email, knobs)
        assert post.action == self.acs, "the IdP posts to %s, not the reference SP's ACS" % post.action
        return req_id, post

    def parse(self, req_id, post):
        return self.client.parse_authn_request_response(post.inputs["SAMLResponse"], BINDING_HTTP_POST,
                                                        outstanding={req_id: "/"})


def idp_self_tests():
    refs = {}

    def ref(which):
        if which not in refs:
            refs[which] = ReferenceSp(idp["idps"][which])
        return refs[which]

    def good(which, knobs, want_email="ada@acme.example"):
        def run():
            sp = ref(which)
            req_id, post = sp.flow(want_email, knobs)
            resp = sp.parse(req_id, post)
            assert resp is not None, "pysaml2's SP returned no response"
            ava = resp.ava
            nid = resp.name_id
            note("reference SP: name_id %s (%s), attributes %s" % (nid.text, nid.format, ava))
            emails = [v for vals in ava.values() for v in vals]
            assert want_email in emails or nid.text == want_email, "no %s in the response" % want_email
            xml = base64.b64decode(post.inputs["SAMLResponse"]).decode()
            sig_algs = re.findall(r'SignatureMethod Algorithm="([^"]+)"', xml)
            note("signature methods in the response: %s" % sig_algs)
            return xml
        return run

    def bad(which, knobs, expect):
        def run():
            sp = ref(which)
            req_id, post = sp.flow("ada@acme.example", knobs)
            try:
                resp = sp.parse(req_id, post)
            except Exception as e:  # noqa: BLE001 - the refusal we want
                msg = "%s: %s" % (type(e).__name__, e)
                note("reference SP refused it: %s" % short(msg, 300))
                assert re.search(expect, msg, re.I), "refused, but not for /%s/: %s" % (expect, short(msg, 300))
                return
            if resp is None or getattr(resp, "assertion", None) is None:
                # pysaml2 answers a response not addressed to it (Destination) with no assertion.
                note("reference SP refused it: parse_authn_request_response returned %s" % (
                    "no response" if resp is None else "a response without an assertion"))
                return
            raise AssertionError("pysaml2's SP accepted it: %s" % resp.ava)
        return run

    def only(which, knobs, where, want):
        """The response differs where asked (an XPath-ish attribute: (element, attribute)),
        and pysaml2's SP, which does not look there, accepts it: valid otherwise."""
        def run():
            sp = ref(which)
            req_id, post = sp.flow("ada@acme.example", knobs)
            xml = base64.b64decode(post.inputs["SAMLResponse"]).decode()
            root = ET.fromstring(xml)
            el = root.find(where[0], NS)
            assert el is not None and el.get(where[1]) == want, "%s@%s = %s, expected %s" % (
                where[0], where[1], None if el is None else el.get(where[1]), want)
            assert root.get("Destination") == sp.acs, "Destination %s" % root.get("Destination")
            assert sp.parse(req_id, post) is not None, "the reference SP refused it"
            note("%s@%s = %s; the reference SP (which does not check it) accepts the rest" % (where[0], where[1], want))
        return run

    check("IdP self-test: both IdPs' metadata (pysaml2 entity_descriptor) has an IDPSSODescriptor, a signing certificate and an HTTP-Redirect SingleSignOnService", lambda: [
        _idp_metadata_ok(w) for w in (IDP_RSA, IDP_EC)])
    check("IdP self-test (RSA): pysaml2's reference SP -> AuthnRequest (HTTP-Redirect) -> login -> HTTP-POST form to its ACS; the reference SP accepts the signed assertion (rsa-sha256)",
          good("rsa", {}))
    check("IdP self-test (ECDSA P-256): the same, the assertion signed ecdsa-sha256", good("ec", {}))
    check("IdP self-test: sign=response (the Response signed, not the assertion) and sign=both are accepted by the reference SP",
          lambda: [good("rsa", {"sign": "response"})(), good("rsa", {"sign": "both", "alg": "rsa-sha512", "digest": "sha512"})()])
    check("IdP self-test: the email as attribute `email` (basic), the claims URI, or in the NameID alone (emailAddress format)",
          lambda: [good("rsa", {"attrs": a})() for a in ("plain", "claims", "none")])
    check("IdP self-test: an rsa-sha1/sha1 signature is otherwise valid: pysaml2's SP accepts it (so a refusal by Authio is about SHA-1 alone)",
          good("rsa", {"alg": "rsa-sha1", "digest": "sha1"}))
    check("IdP self-test: refused by the reference SP: a response signed by another key", bad("rsa", {"signing_key": "rogue"}, "signature"))
    check("IdP self-test: refused by the reference SP: the email changed after signing", bad("rsa", {"tamper_email": "eve@acme.example"}, "signature"))
    check("IdP self-test: refused by the reference SP: another Audience", bad("rsa", {"audience": "http://127.0.0.1:9/other-sp"}, "audience"))
    check("IdP self-test: refused by the reference SP: expired", bad("rsa", {"expired": "1"}, "too old|expired|not_on_or_after"))
    check("IdP self-test: refused by the reference SP: unsigned", bad("rsa", {"sign": "none"}, "signature|sign"))
    check("IdP self-test: refused by the reference SP: another Destination and Recipient", bad("rsa", {"destination": "http://127.0.0.1:9/elsewhere"}, "destination|recipient|receiver"))
    scd = ".//saml:SubjectConfirmationData"
    check("IdP self-test: another Recipient alone: SubjectConfirmationData@Recipient differs, Destination is the ACS, valid otherwise (pysaml2's SP does not check Recipient: it accepts it)",
          only("rsa", {"recipient": "http://127.0.0.1:9/elsewhere"}, (scd, "Recipient"), "http://127.0.0.1:9/elsewhere"))
    check("IdP self-test: refused by the reference SP: another SubjectConfirmationData@InResponseTo alone",
          bad("rsa", {"sc_in_response_to": "_not-the-request"}, "unsolicited"))
    check("IdP self-test: refused by the reference SP: another InResponseTo", bad("rsa", {"in_response_to": "_" + secrets.token_hex(8)}, "in_response_to|inresponseto|unsolicited|signature"))

    def relay():
        sp = ref("rsa")
        long_rs = "r" * 200
        _, post = sp.flow("ada@acme.example", {}, relay_state=long_rs)
        assert post.inputs.get("RelayState") == long_rs, "RelayState came back as %r" % post.inputs.get("RelayState")
    check("IdP self-test: pysaml2 takes a 200-byte RelayState (SAML bindings 3.4.3 says at most 80) and posts it back unchanged", relay)


def _idp_metadata_ok(which):
    root = ET.fromstring(idp_metadata(which))
    assert root.get("entityID") == which["entity_id"], root.get("entityID")
    d = root.find("md:IDPSSODescriptor", NS)
    assert d is not None, "no IDPSSODescriptor"
    assert d.find("md:KeyDescriptor/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS) is not None, "no certificate"
    sso = [(e.get("Binding"), e.get("Location")) for e in d.findall("md:SingleSignOnService", NS)]
    assert (REDIRECT_BINDING, which["sso_url"]) in sso, sso


if IDP_ONLY:
    idp_self_tests()
    print("  saml (--idp-only): %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)

# ================================================================== Authio
AUTHIO = setup["authio"].rstrip("/")
ISSUER = setup.get("issuer", AUTHIO).rstrip("/")
APP = setup["app_redirect"]
SK = setup["secret_key"]
PK = setup["publishable_key"]
DNS = setup["dns"]
USERS = setup["users"]


def api(method, path, token=SK, body=None, pk=None, **kw):
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer %s" % token
    if pk:
        headers["Authio-Publishable-Key"] = pk
    r = requests.request(method, AUTHIO + path, headers=headers, json=body, allow_redirects=False, timeout=30, **kw)
    try:
        r.json_body = r.json()
    except ValueError:
        r.json_body = None
    return r


def api_ok(method, path, expected, **kw):
    r = api(method, path, **kw)
    assert r.status_code == expected, "%s %s answered %s, expected %s: %s" % (method, path, r.status_code, expected, short(r.text, 800))
    return r.json_body


def error_code(r):
    try:
        return r.json()["error"]["code"]
    except Exception:  # noqa: BLE001
        return None


def users_with_email(email):
    return api_ok("GET", "/v1/users?" + urlencode({"email": email}), 200)["data"]


def memberships(user_id):
    return api_ok("GET", "/v1/users/%s/memberships" % user_id, 200)["data"]


def exchange(code, verifier):
    return api("POST", "/v1/auth/handoffs/exchange", token=None, pk=PK, body={"code": code, "code_verifier": verifier})


def dns_publish(name, value):
    r = requests.post(DNS["control"] + "/txt", json={"name": name, "value": value}, timeout=10)
    assert r.status_code == 200, "the DNS stub's control answered %s %s" % (r.status_code, r.text)


def claim_and_verify(org_id, domain, check_refusal_first=False, padding=0):
    """Claim `domain` for the organization, publish its TXT record in the DNS stub (with
    `padding` unrelated 200-byte values beside it: more than fits a UDP answer, so the
    resolver must come back over TCP), verify."""
    d = api_ok("POST", "/v1/organizations/%s/domains" % org_id, 201, body={"domain": domain})
    note("POST /v1/organizations/%s/domains {domain: %s} -> %s" % (org_id, domain, short(json.dumps(d), 500)))
    v = d.get("verification") or {}
    assert v.get("type") == "TXT" and v.get("name") == "_authio-challenge.%s" % domain and str(v.get("value", "")).startswith("authio-verify="), \
        "verification %s" % v
    path = "/v1/organizations/%s/domains/%s/verify" % (org_id, d["id"])
    if check_refusal_first:
        r = api("POST", path, body={})
        note("verify before the TXT record is published: %s %s" % (r.status_code, short(r.text, 400)))
        assert r.status_code == 422 and error_code(r) == "domain_verification_failed", \
            "verify before publishing answered %s %s, expected 422 domain_verification_failed" % (r.status_code, short(r.text))
    for i in range(padding):
        dns_publish(v["name"], "unrelated-%d-%s" % (i, "x" * 190))
    dns_publish(v["name"], v["value"])
    out = api_ok("POST", path, 200, body={})
    note("verify after publishing: %s" % short(json.dumps(out), 300))
    state = out.get("state") or out.get("status")
    assert state == "verified", "state %s, expected verified: %s" % (state, short(json.dumps(out)))
    return d["id"]


# ------------------------------------------------------------------ the sign-in as a browser
def start_url(connection, challenge, state, redirect_url=APP, pk=PK):
    q = {}
    if pk is not None:
        q["pk"] = pk
    if connection is not None:
        q["connection"] = connection
    if redirect_url is not None:
        q["redirect_url"] = redirect_url
    if challenge is not None:
        q["code_challenge"] = challenge
    if state is not None:
        q["state"] = state
    return AUTHIO + "/v1/auth/sso/start?" + urlencode(q)


class Flow:
    """One sign-in: start -> IdP -> (the form) ; then acs() posts it to Authio."""

    def __init__(self, connection, email, knobs=None, idp_entry=None):
        self.session = requests.Session()
        self.verifier, self.challenge = pkce_pair()
        self.state = b64url(secrets.token_bytes(12))
        self.trail = []
        url = start_url(connection, self.challenge, self.state)
        r = self.session.get(url, allow_redirects=False, timeout=30)
        self.trail.append("GET %s -> %s Location: %s" % (short(url, 200), r.status_code, short(r.headers.get("Location", ""), 160)))
        assert r.status_code in (302, 303), "start answered %s: %s" % (r.status_code, short(r.text))
        self.start_status = r.status_code
        self.location = r.headers["Location"]
        self.request, self.post = idp_login(self.session, self.location, email, knobs, self.trail)
        self.result = None

    def acs(self, form=None, url=None):
        """POST the IdP's form (or `form`) to its action; returns the answer (not followed)."""
        data = dict(self.post.inputs) if form is None else form
        url = url or self.post.action
        r = self.session.post(url, data=data, allow_redirects=False, timeout=30)
        self.trail.append("POST %s (SAMLResponse, RelayState) -> %s%s" % (
            url, r.status_code, " Location: %s" % short(r.headers.get("Location", ""), 300) if r.headers.get("Location") else " " + short(r.text, 300)))
        return r

    def finish(self):
        r = self.acs()
        self.result = r
        note(*self.trail)
        return r


def redirect_query(r):
    assert r.status_code in (302, 303), "the ACS answered %s, expected a redirect to the app: %s" % (r.status_code, short(r.text, 600))
    loc = r.headers.get("Location", "")
    assert loc.startswith(APP), "the ACS redirected to %s, not the app's %s" % (loc, APP)
    return {k: v[0] for k, v in parse_qs(urlparse(loc).query).items()}


def expect_code(flow, r):
    q = redirect_query(r)
    assert not q.get("error"), "redirected with error=%s error_description=%s" % (q.get("error"), q.get("error_description"))
    assert (q.get("code") or "").startswith("hc_"), "code=%s, expected hc_…" % q.get("code")
    assert q.get("state") == flow.state, "state=%s, expected the app's %s" % (q.get("state"), flow.state)
    return q["code"]


def expect_sso_failed(flow, r):
    q = redirect_query(r)
    assert not q.get("code"), "redirected with a code (%s), expected error=sso_failed" % q.get("code")
    assert q.get("error") == "sso_failed", "error=%s, expected sso_failed (%s)" % (q.get("error"), r.headers.get("Location"))
    assert q.get("state") == flow.state, "the error redirect carries state=%s, expected %s" % (q.get("state"), flow.state)
    note("error_description: %s" % q.get("error_description"))


def sign_in(connection, email, knobs=None, idp_entry=IDP_RSA):
    """A whole sign-in that must succeed: returns the exchanged session (JSON)."""
    flow = Flow(connection, email, knobs, idp_entry)
    code = expect_code(flow, flow.finish())
    r = exchange(code, flow.verifier)
    assert r.status_code == 200, "exchange answered %s: %s" % (r.status_code, short(r.text, 600))
    s = r.json()
    note("session: user %s active_organization %s" % (json.dumps(s.get("user")), json.dumps(s.get("active_organization"))))
    return s


def refused(connection, email, knobs=None, idp_entry=IDP_RSA):
    flow = Flow(connection, email, knobs, idp_entry)
    expect_sso_failed(flow, flow.finish())
    return flow


# ================================================================== the checks
idp_self_tests()

ctx = {}
ada, bob = USERS["ada"], USERS["bob"]


def provision():
    a = api_ok("POST", "/v1/organizations", 201, body={"name": "Acme (SAML, JIT)"})
    b = api_ok("POST", "/v1/organizations", 201, body={"name": "Initech (SAML, no JIT)"})
    ctx["org_a"], ctx["org_b"] = a["id"], b["id"]
    for uid in (ada["id"], bob["id"]):
        api_ok("POST", "/v1/memberships", 201, body={"user_id": uid, "organization_id": ctx["org_b"]})
    note("organization A %s (no members); organization B %s (ada and bob members)" % (ctx["org_a"], ctx["org_b"]))


check("provisioning: organizations A (for JIT) and B (no JIT; ada and bob members)", provision)


def domains():
    org_a, org_b = need(ctx.get("org_a"), "no organization A"), need(ctx.get("org_b"), "no organization B")
    ctx["dom_a"] = claim_and_verify(org_a, "acme.example", check_refusal_first=True)
    ctx["dom_b"] = claim_and_verify(org_b, "initech.example", padding=8)
    asked = requests.get(DNS["control"] + "/log", timeout=10).json()
    mine = [q for q in asked if (q.get("name") or "").lower() == "_authio-challenge.initech.example"]
    note("the server's questions for _authio-challenge.initech.example: %s" % mine)
    assert any(q["transport"] == "tcp" and q["type"] == "TXT" for q in mine), \
        "the server never asked over TCP for a TXT answer too large for UDP: %s" % mine


check("domains through the DNS stub: A claims acme.example (TXT _authio-challenge.acme.example), verify before the record exists -> 422 domain_verification_failed, after -> verified; B verifies initech.example, whose record set (9 values, ~1.8 kB) only fits a TCP answer: the server retries over TCP", domains)


def create_a():
    org_a = need(ctx.get("org_a"), "no organization A")
    md = idp_metadata(IDP_RSA)
    c = api_ok("POST", "/v1/organizations/%s/connections" % org_a, 201,
               body={"name": "Acme SAML", "protocol": "saml", "metadata_xml": md, "jit_role": "member"})
    note("created: %s" % short(json.dumps(c), 1200))
    ctx["conn_a"] = c
    cid = c.get("id") or ""
    assert cid.startswith("conn_"), "id %s" % cid
    assert c.get("protocol") == "saml", "protocol %s" % c.get("protocol")
    assert c.get("issuer") == IDP_RSA["entity_id"], "issuer %s, expected the IdP's entityID %s" % (c.get("issuer"), IDP_RSA["entity_id"])
    sp_id = "%s/v1/auth/saml/%s" % (ISSUER, cid)
    assert c.get("client_id") == sp_id, "client_id %s, expected the SP entity id %s" % (c.get("client_id"), sp_id)
    saml = c.get("saml") or {}
    assert saml.get("acs_url") == ISSUER + "/v1/auth/saml/acs", "saml.acs_url %s" % saml.get("acs_url")
    assert saml.get("metadata_url") == "%s/v1/auth/saml/%s/metadata" % (ISSUER, cid), "saml.metadata_url %s" % saml.get("metadata_url")
    assert c.get("jit_role") == "member", "jit_role %s" % c.get("jit_role")
    assert c.get("organization_id") in (None, org_a), "organization_id %s" % c.get("organization_id")


check("1. POST /v1/organizations/{A}/connections {protocol: saml, metadata_xml: the RSA IdP's metadata, jit_role: member} -> 201: id conn_…, protocol saml, issuer = the IdP's entityID, client_id = <issuer>/v1/auth/saml/<id>, saml.acs_url, saml.metadata_url", create_a)


def create_b():
    org_b = need(ctx.get("org_b"), "no organization B")
    c = api_ok("POST", "/v1/organizations/%s/connections" % org_b, 201,
               body={"name": "Initech SAML (ECDSA)", "protocol": "saml", "metadata_xml": idp_metadata(IDP_EC)})
    note("created: %s" % short(json.dumps(c), 800))
    assert c.get("protocol") == "saml" and c.get("issuer") == IDP_EC["entity_id"], "protocol/issuer %s %s" % (c.get("protocol"), c.get("issuer"))
    assert c.get("jit_role") is None, "jit_role %s, expected none" % c.get("jit_role")
    ctx["conn_b"] = c


check("1b. organization B's connection to the ECDSA IdP, no jit_role -> 201", create_b)


def bad_metadata():
    org_a = need(ctx.get("org_a"), "no organization A")
    good = idp_metadata(IDP_RSA)
    # A service provider's metadata (Authio's own for connection A): valid, but no IDPSSODescriptor.
    c = need(ctx.get("conn_a"), "no connection A")
    no_idp = requests.get(c["saml"]["metadata_url"], timeout=10).text
    assert "SPSSODescriptor" in no_idp and "IDPSSODescriptor" not in no_idp, "connection A's SP metadata: %s" % short(no_idp)
    no_cert = re.sub(r"<(ns\d+:)?KeyDescriptor\b.*?</(ns\d+:)?KeyDescriptor>", "", good, flags=re.S)
    assert no_cert != good, "could not remove the KeyDescriptor"
    no_redirect = good.replace(REDIRECT_BINDING, POST_BINDING)
    doctype = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n' + re.sub(r"^<\?xml[^>]*\?>\s*", "", good)
    cases = [
        ("no IDPSSODescriptor (an SP's metadata: Authio's own for connection A)", no_idp),
        ("no signing certificate (KeyDescriptor removed)", no_cert),
        ("only an encryption certificate (KeyDescriptor use=\"encryption\")", good.replace('use="signing"', 'use="encryption"')),
        ("no HTTP-Redirect SingleSignOnService (HTTP-POST only)", no_redirect),
        ("a DOCTYPE with an external entity", doctype),
        ("not XML", "this is not XML {\"json\": true}"),
        ("truncated XML", good[: len(good) // 2]),
        ("empty", ""),
    ]
    bad = []
    for what, xml in cases:
        r = api("POST", "/v1/organizations/%s/connections" % org_a,
                body={"name": "broken (%s)" % what, "protocol": "saml", "metadata_xml": xml, "jit_role": "member"})
        note("%s: %s %s" % (what, r.status_code, short(r.text, 300)))
        if r.status_code != 400 or error_code(r) != "invalid_saml_metadata":
            bad.append("%s: %s %s" % (what, r.status_code, error_code(r)))
    r = api("POST", "/v1/organizations/%s/connections" % org_a, body={"name": "no metadata", "protocol": "saml", "jit_role": "member"})
    note("no metadata_xml at all: %s %s" % (r.status_code, short(r.text, 300)))
    if r.status_code != 400:
        bad.append("no metadata_xml: %s %s" % (r.status_code, error_code(r)))
    listed = api_ok("GET", "/v1/organizations/%s/connections" % org_a, 200)
    names = [c.get("name") for c in listed.get("data", [])]
    if any(str(n).startswith("broken") or n == "no metadata" for n in names):
        bad.append("a refused connection is listed: %s" % names)
    assert not bad, "expected 400 invalid_saml_metadata: %s" % "; ".join(bad)


check("2. bad metadata -> 400 invalid_saml_metadata: no IDPSSODescriptor, no signing certificate, no HTTP-Redirect SSO, a DOCTYPE, not XML, truncated, empty (and no metadata_xml -> 400); none of them listed", bad_metadata)


def sp_metadata():
    c = need(ctx.get("conn_a"), "no connection A")
    url = c["saml"]["metadata_url"]
    r = requests.get(url, timeout=10)
    note("GET %s -> %s %s" % (url, r.status_code, r.headers.get("Content-Type")), short(r.text, 1500))
    assert r.status_code == 200, "answered %s" % r.status_code
    assert "xml" in (r.headers.get("Content-Type") or ""), "Content-Type %s" % r.headers.get("Content-Type")
    root = ET.fromstring(r.content)
    assert root.tag == "{%s}EntityDescriptor" % NS["md"], root.tag
    assert root.get("entityID") == c["client_id"], "entityID %s, expected %s" % (root.get("entityID"), c["client_id"])
    sp = root.find("md:SPSSODescriptor", NS)
    assert sp is not None, "no SPSSODescriptor"
    assert sp.get("WantAssertionsSigned") == "true", "WantAssertionsSigned=%s" % sp.get("WantAssertionsSigned")
    assert "urn:oasis:names:tc:SAML:2.0:protocol" in (sp.get("protocolSupportEnumeration") or ""), "protocolSupportEnumeration"
    acs = [(e.get("Binding"), e.get("Location")) for e in sp.findall("md:AssertionConsumerService", NS)]
    assert (POST_BINDING, c["saml"]["acs_url"]) in acs, "AssertionConsumerService %s" % acs
    ctx["sp_metadata_a"] = r.text
    # pysaml2 reads it as its metadata store does.
    mds = MetadataStore(ac_factory(), saml2_config.Config())
    mds.load("inline", r.text)
    ent = mds[c["client_id"]]
    note("pysaml2's MetadataStore: %s" % short(json.dumps({k: str(v)[:200] for k, v in ent.items()}), 600))
    assert ent.get("spsso_descriptor"), "pysaml2 found no spsso_descriptor"


check("3. GET saml.metadata_url (no auth) -> XML: EntityDescriptor entityID = client_id, SPSSODescriptor WantAssertionsSigned=\"true\", AssertionConsumerService HTTP-POST at acs_url; pysaml2's MetadataStore loads it", sp_metadata)


def idp_imports():
    for key in ("conn_a", "conn_b"):
        c = need(ctx.get(key), "no %s" % key)
        got = idp_admin_load_sp(metadata_url=c["saml"]["metadata_url"])
        note("the IdP read %s: %s" % (key, json.dumps(got)))
        assert got["entity_id"] == c["client_id"], got
        assert [POST_BINDING, c["saml"]["acs_url"]] in got["acs"], got["acs"]
        assert str(got.get("want_assertions_signed")).lower() == "true", got
    ctx["idp_trusts"] = True


check("3b. the IdP (pysaml2 Server) imports both connections' SP metadata from their metadata_url: entity id, HTTP-POST ACS, want_assertions_signed", idp_imports)


def lookup():
    c = need(ctx.get("conn_a"), "no connection A")
    r = api("GET", "/v1/auth/sso/lookup?" + urlencode({"email": ada["email"]}), token=None, pk=PK)
    note("GET /v1/auth/sso/lookup?email=%s -> %s %s" % (ada["email"], r.status_code, short(r.text)))
    assert r.status_code == 200, "answered %s" % r.status_code
    j = r.json()
    assert j.get("organization_id") == ctx["org_a"] and j.get("connection_id") == c["id"], j


check("4. home-realm discovery: GET /v1/auth/sso/lookup?email=ada@acme.example -> organization A and its SAML connection", lookup)


def authn_request():
    need(ctx.get("idp_trusts"), "the IdP does not know the SP")
    c = ctx["conn_a"]
    verifier, challenge = pkce_pair()
    r = requests.get(start_url(c["id"], challenge, "app-state-5"), allow_redirects=False, timeout=30)
    loc = r.headers.get("Location", "")
    note("start -> %s Location: %s" % (r.status_code, short(loc, 600)))
    assert r.status_code == 303, "answered %s, expected 303: %s" % (r.status_code, short(r.text))
    u = urlparse(loc)
    assert "%s://%s%s" % (u.scheme, u.netloc, u.path) == IDP_RSA["sso_url"], "Location is not the IdP's HTTP-Redirect SSO URL %s" % IDP_RSA["sso_url"]
    q = parse_qs(u.query)
    assert set(q) >= {"SAMLRequest", "RelayState"}, "query %s" % list(q)
    assert "Signature" not in q and "SigAlg" not in q, "the AuthnRequest is signed (SigAlg), the contract says unsigned"
    rs = q["RelayState"][0]
    assert rs != "app-state-5" and "app-state-5" not in rs, "the RelayState shows the app's state"
    ctx["relay_state_len"] = len(rs.encode())
    xml = inflate(q["SAMLRequest"][0])
    note("AuthnRequest: %s" % short(xml, 1200))
    root = ET.fromstring(xml)
    assert root.tag == "{%s}AuthnRequest" % NS["samlp"], root.tag
    assert root.get("Version") == "2.0" and root.get("ID") and root.get("IssueInstant"), "Version/ID/IssueInstant"
    assert not root.get("ID")[0].isdigit(), "ID %s starts with a digit (not an xsd:ID)" % root.get("ID")
    assert root.get("Destination") == IDP_RSA["sso_url"], "Destination %s" % root.get("Destination")
    acs = root.get("AssertionConsumerServiceURL")
    assert acs in (None, c["saml"]["acs_url"]), "AssertionConsumerServiceURL %s" % acs
    pb = root.get("ProtocolBinding")
    assert pb in (None, POST_BINDING), "ProtocolBinding %s" % pb
    iss = root.find("saml:Issuer", NS)
    assert iss is not None and iss.text == c["client_id"], "Issuer %s, expected %s" % (iss.text if iss is not None else None, c["client_id"])
    assert root.find("ds:Signature", NS) is None, "an enveloped signature in the AuthnRequest"
    # And pysaml2's IdP parses it.
    page = requests.get(loc, timeout=30)
    assert page.status_code == 200, "pysaml2's IdP refused the AuthnRequest: %s %s" % (page.status_code, short(page.text, 600))
    summary = json.loads(read_form(page.text).script.get("authn-request") or "{}")
    note("as pysaml2 parsed it: %s" % short(json.dumps({k: v for k, v in summary.items() if k != "xml"}), 800))
    assert summary.get("id") == root.get("ID"), summary.get("id")


check("5. GET /v1/auth/sso/start (SAML connection) -> 303 to the IdP's HTTP-Redirect SSO URL with SAMLRequest (deflated, unsigned AuthnRequest: Version 2.0, ID, Destination = SSO URL, Issuer = SP entity id, ACS URL/ProtocolBinding HTTP-POST) and an opaque RelayState; pysaml2's IdP parses it", authn_request)


def id_bits(value):
    """A rough upper bound of an identifier's randomness: its characters after a
    non-random prefix (letters and punctuation up to the first digit run for ids like
    id-123, or a leading underscore), times the bits of the alphabet they use."""
    body = re.sub(r"^(id-|_|ID_|id_|id)", "", value)
    if re.fullmatch(r"[0-9]+", body):
        return len(body) * 3.32
    if re.fullmatch(r"[0-9a-fA-F]+", body):
        return len(body) * 4
    if re.fullmatch(r"[0-9A-Za-z_-]+", body):
        return len(body) * 6
    return len(body) * 6


def request_ids():
    c = need(ctx.get("conn_a"), "no connection A")
    ids = []
    for _ in range(20):
        r = requests.get(start_url(c["id"], pkce_pair()[1], "s"), allow_redirects=False, timeout=30)
        q = parse_qs(urlparse(r.headers.get("Location", "")).query)
        ids.append(ET.fromstring(inflate(q["SAMLRequest"][0])).get("ID"))
    note("20 AuthnRequest IDs: %s" % ids[:6])
    assert len(set(ids)) == 20, "repeated IDs among 20: %s" % ids
    bits = max(id_bits(i) for i in ids)
    assert bits >= 128, ("the AuthnRequest ID %s carries at most ~%d random bits; SAML core 1.3.4 (xs:ID "
                         "identifiers): the chance of two being equal MUST be at most 2^-128 (so 128 bits or more)"
                         % (ids[0], bits))


check("5b. AuthnRequest IDs are unique and random enough: at least 128 bits (SAML core 1.3.4: a collision MUST be at most 2^-128 likely)", request_ids)


def relay_state_length():
    n = ctx.get("relay_state_len")
    if n is None:
        raise NotRun("check 5 did not read a RelayState")
    note("RelayState: %d bytes" % n)
    assert 0 < n <= 80, "the RelayState is %d bytes; SAML bindings 3.4.3: it MUST NOT exceed 80" % n


check("5c. the RelayState is at most 80 bytes (SAML bindings 3.4.3 MUST)", relay_state_length)


def existing_linked():
    c = need(ctx.get("conn_a"), "no connection A")
    assert not any(m["organization_id"] == ctx["org_a"] for m in memberships(ada["id"])), "ada is a member of A before signing in"
    s = sign_in(c["id"], ada["email"])
    assert s.get("access_token") and s.get("refresh_token") and s.get("session_id"), "no tokens: %s" % short(json.dumps(s))
    assert s["user"]["id"] == ada["id"], "user %s, expected the existing %s" % (s["user"]["id"], ada["id"])
    assert (s.get("active_organization") or {}).get("id") == ctx["org_a"], "active_organization %s" % s.get("active_organization")
    assert len(users_with_email(ada["email"])) == 1, "more than one user for %s" % ada["email"]
    m = [m for m in memberships(ada["id"]) if m["organization_id"] == ctx["org_a"]]
    assert m and m[0]["role"] == "member", "memberships in A: %s" % m
    ctx["ada_signed_in"] = s


check("6. the existing user (ada@acme.example): start -> IdP -> SAMLResponse (assertion signed rsa-sha256, email in urn:oid:0.9.2342.19200300.100.1.3) -> ACS -> 303 to redirect_url with code=hc_… and the app's state -> exchange: a session of the EXISTING user in organization A, now a member (jit_role member)", existing_linked)


def events():
    s = need(ctx.get("ada_signed_in"), "no sign-in in 6")
    r = api_ok("GET", "/v1/events?" + urlencode({"types": "session.*", "limit": 100}), 200)
    evs = r.get("data", [])
    sid = need(s.get("session_id"), "no session_id in 6's session")
    mine = [e for e in evs if e.get("type") == "session.created" and sid in json.dumps(e)]
    note("session.created of the session %s: %s" % (sid, short(json.dumps(mine), 1500)))
    assert mine, "no session.created naming the session %s among %d session events" % (sid, len(evs))
    assert ada["id"] in json.dumps(mine[-1]), "the session.created does not name ada %s" % ada["id"]
    e = mine[-1]
    data = e.get("data") or {}
    assert data.get("method") in ("sso", "saml"), "method %s, expected sso" % data.get("method")
    assert e.get("organization_id") == ctx["org_a"] or ctx["org_a"] in json.dumps(data), "not in organization A: %s" % short(json.dumps(e))
    ms = api_ok("GET", "/v1/events?" + urlencode({"types": "membership.*", "limit": 100}), 200).get("data", [])
    jit = [m for m in ms if m.get("type") in ("membership.created", "membership.activated") and ada["id"] in json.dumps(m) and ctx["org_a"] in json.dumps(m)]
    assert jit, "no membership event for ada in A: %s" % short(json.dumps(ms), 600)
    audit = api_ok("GET", "/v1/audit-events?" + urlencode({"organization_id": ctx["org_a"], "limit": 50}), 200).get("data", [])
    note("audit types in A: %s" % [a.get("type") or a.get("action") for a in audit])
    assert any((a.get("type") or a.get("action")) == "session.created" for a in audit), "no session.created in A's audit log"


check("7. the sign-in is in the events: GET /v1/events?types=session.* has session.created for ada (method sso, organization A), membership.* her JIT membership, /v1/audit-events?organization_id=A the session", events)


def jit_user():
    c = need(ctx.get("conn_a"), "no connection A")
    assert not users_with_email("grace@acme.example"), "grace exists before"
    s = sign_in(c["id"], "grace@acme.example")
    assert s["user"]["email"] == "grace@acme.example" and s["user"]["id"] != ada["id"], s["user"]
    assert (s.get("active_organization") or {}).get("id") == ctx["org_a"], s.get("active_organization")
    us = users_with_email("grace@acme.example")
    assert len(us) == 1 and us[0]["id"] == s["user"]["id"], us
    m = [m for m in memberships(s["user"]["id"]) if m["organization_id"] == ctx["org_a"]]
    assert m and m[0]["role"] == "member", m


check("8. a new address (grace@acme.example): the user is created just in time, member of A with role member", jit_user)


def variant(knobs, email=None):
    def run():
        c = need(ctx.get("conn_a"), "no connection A")
        s = sign_in(c["id"], email or ada["email"], knobs)
        assert s["user"]["id"] == ada["id"] if not email else s["user"]["email"] == email, s["user"]
    return run


check("9a. only the Response signed (not the assertion) -> accepted", variant({"sign": "response"}))
check("9b. both the Response and the assertion signed -> accepted", variant({"sign": "both"}))
check("9c. rsa-sha512 with sha512 digests (stronger than SHA-256) -> accepted", variant({"alg": "rsa-sha512", "digest": "sha512"}))
check("9d. the email in an attribute named `email` (basic name format) -> accepted", variant({"attrs": "plain"}))
check("9e. the email in http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress (ADFS/Entra) -> accepted", variant({"attrs": "claims"}))
check("9f. no attributes, the email as an emailAddress-format NameID -> accepted", variant({"attrs": "none"}))
check("9g. a persistent (opaque) NameID, the email in urn:oid:0.9.2342.19200300.100.1.3 -> accepted", variant({"nameid": "persistent"}))


def mixed_case():
    c = need(ctx.get("conn_a"), "no connection A")
    s = sign_in(c["id"], "Ada@ACME.Example", {"attrs": "plain"})
    assert s["user"]["id"] == ada["id"], "user %s, expected the existing %s (%s)" % (s["user"], ada["id"], ada["email"])


check("9h. the IdP writes the address in mixed case (Ada@ACME.Example): the same existing user, the same verified domain", mixed_case)


def subdomain_note():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], "sub@eng.acme.example")
    q = redirect_query(flow.finish())
    return "refused (error=%s: %s)" % (q.get("error"), q.get("error_description")) if q.get("error") else \
        "ACCEPTED: a subdomain of a verified domain counts as verified"


probe("an address in a subdomain of A's verified domain (sub@eng.acme.example)", subdomain_note)


def refusal(knobs, email=None, conn="conn_a", idp_entry=None):
    def run():
        c = need(ctx.get(conn), "no %s" % conn)
        refused(c["id"], email or ada["email"], knobs, idp_entry or IDP_RSA)
    return run


check("10a. an unsigned response (neither Response nor assertion signed) -> error=sso_failed", refusal({"sign": "none"}))
check("10b. signed by another key (the same entityID, a certificate not in the metadata) -> error=sso_failed", refusal({"signing_key": "rogue"}))
check("10c. the email changed after signing (grace -> ada) -> error=sso_failed", refusal({"tamper_email": ada["email"]}, email="grace@acme.example"))
check("10d. an rsa-sha1 signature with sha1 digests -> error=sso_failed", refusal({"alg": "rsa-sha1", "digest": "sha1"}))
check("10e. signed with sign=response and rsa-sha1 -> error=sso_failed", refusal({"sign": "response", "alg": "rsa-sha1", "digest": "sha1"}))
check("10f. the Audience is another SP's entity id -> error=sso_failed", refusal({"audience": "http://127.0.0.1:9/another-sp"}))
check("10g. InResponseTo names another request -> error=sso_failed", refusal({"in_response_to": "_" + secrets.token_hex(16)}))
check("10h. Destination and Recipient are another URL -> error=sso_failed", refusal({"destination": AUTHIO + "/v1/auth/saml/elsewhere"}))
check("10h3. only the Response's Destination is another URL (the Response signed, the Recipient right) -> error=sso_failed",
      refusal({"sign": "both", "destination": AUTHIO + "/v1/auth/saml/elsewhere", "recipient": ISSUER + "/v1/auth/saml/acs"}))
check("10h2. only the SubjectConfirmationData Recipient is another URL (Destination right) -> error=sso_failed", refusal({"recipient": AUTHIO + "/v1/auth/saml/elsewhere"}))
check("10g2. only the SubjectConfirmationData InResponseTo names another request (the Response's right) -> error=sso_failed", refusal({"sc_in_response_to": "_" + secrets.token_hex(16)}))
check("10i. the Issuer is another entity -> error=sso_failed", refusal({"issuer": "http://127.0.0.1:9/another-idp"}))
check("10j. expired (NotOnOrAfter ten minutes ago) -> error=sso_failed", refusal({"expired": "1"}))
check("10k. status Responder/AuthnFailed (the response signed) -> error=sso_failed", refusal({"status": "authn_failed", "sign": "response"}))
check("10l. no email at all (a persistent NameID, no attributes) -> error=sso_failed", refusal({"attrs": "none", "nameid": "persistent"}))


def sha1_digest_note():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], ada["email"], {"alg": "rsa-sha256", "digest": "sha1"})
    r = flow.finish()
    q = redirect_query(r)
    return "refused (error=%s)" % q.get("error") if q.get("error") else "ACCEPTED (a SHA-1 digest under an rsa-sha256 signature)"


probe("an rsa-sha256 signature over SHA-1 reference digests", sha1_digest_note)


def xsw():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], "grace@acme.example", {"wrap": "assertion", "wrap_email": ada["email"]})
    r = flow.finish()
    q = redirect_query(r)
    if q.get("error"):
        note("refused: %s" % q.get("error_description"))
        assert q["error"] == "sso_failed", q
        return
    res = exchange(q["code"], flow.verifier)
    assert res.status_code == 200, res.text
    who = res.json()["user"]
    assert who["id"] != ada["id"], "SIGNED IN AS THE INJECTED ADDRESS %s (XML signature wrapping)" % ada["email"]
    note("signed in as the signed assertion's %s" % who["email"])


check("10m. XML signature wrapping: an unsigned assertion for ada@acme.example before the signed one for grace -> refused, or grace; never ada", xsw)


def replay():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], ada["email"])
    first = flow.finish()
    expect_code(flow, first)
    second = flow.acs()
    note("the same POST again -> %s %s" % (second.status_code, second.headers.get("Location") or short(second.text)))
    expect_sso_failed(flow, second)


check("11. replay: the same SAMLResponse + RelayState POSTed twice -> the first signs in, the second error=sso_failed", replay)


def replay_fresh_relay():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], ada["email"])
    expect_code(flow, flow.finish())
    other = Flow(c["id"], ada["email"])
    form = dict(other.post.inputs)
    form["SAMLResponse"] = flow.post.inputs["SAMLResponse"]
    r = other.acs(form)
    note(*other.trail)
    expect_sso_failed(other, r)


check("11b. replay with a fresh RelayState (the first sign-in's SAMLResponse with a second start's RelayState) -> error=sso_failed", replay_fresh_relay)


def tampered_relay():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], ada["email"])
    rs = flow.post.inputs["RelayState"]
    i = len(rs) // 2
    bad = rs[:i] + ("A" if rs[i] != "A" else "B") + rs[i + 1:]
    out = []
    for what, form in (("tampered", dict(flow.post.inputs, RelayState=bad)),
                       ("missing", {k: v for k, v in flow.post.inputs.items() if k != "RelayState"}),
                       ("another string", dict(flow.post.inputs, RelayState="app-state"))):
        r = flow.acs(form)
        out.append((what, r.status_code, error_code(r), r.headers.get("Location")))
    note(*flow.trail)
    bad_ones = [o for o in out if not (o[1] == 400 and o[2] == "invalid_sso_state")]
    assert not bad_ones, "expected 400 invalid_sso_state: %s" % bad_ones
    # The untouched form still works afterwards (nothing was spent by the refusals).
    expect_code(flow, flow.acs())


check("12. a tampered, missing or made-up RelayState at the ACS -> 400 invalid_sso_state (and the genuine form still signs in afterwards)", tampered_relay)


def relay_at_oidc_callback():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], ada["email"])
    url = AUTHIO + "/v1/auth/sso/callback?" + urlencode({"state": flow.post.inputs["RelayState"], "code": "x"})
    r = flow.session.get(url, allow_redirects=False, timeout=30)
    note("GET /v1/auth/sso/callback with the SAML RelayState as state -> %s %s" % (r.status_code, r.headers.get("Location") or short(r.text)))
    assert r.status_code == 400 and error_code(r) == "invalid_sso_state", "answered %s %s" % (r.status_code, short(r.text))


check("12b. the SAML RelayState presented as an OpenID Connect state at /v1/auth/sso/callback -> 400 invalid_sso_state", relay_at_oidc_callback)


def acs_garbage():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], ada["email"])
    rs = flow.post.inputs["RelayState"]
    cases = [
        ("SAMLResponse not base64", {"SAMLResponse": "%%%not base64%%%", "RelayState": rs}),
        ("SAMLResponse not XML", {"SAMLResponse": base64.b64encode(b"not xml").decode(), "RelayState": rs}),
        ("SAMLResponse with a DOCTYPE", {"SAMLResponse": base64.b64encode(
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>').decode(),
            "RelayState": rs}),
        ("no SAMLResponse", {"RelayState": rs}),
    ]
    bad = []
    for what, form in cases:
        r = flow.acs(form)
        st = r.status_code
        loc = r.headers.get("Location", "")
        ok = (st in (302, 303) and "error=sso_failed" in loc) or (st == 400 and error_code(r))
        if not ok:
            bad.append("%s: %s %s" % (what, st, short(loc or r.text, 200)))
        if "code=" in loc:
            bad.append("%s: a CODE was issued" % what)
    note(*flow.trail)
    assert not bad, "; ".join(bad)


check("13. garbage at the ACS (SAMLResponse not base64, not XML, with a DOCTYPE, missing) -> error=sso_failed or a 400 JSON error, never a code", acs_garbage)


def guard_existing_other_org():
    c = need(ctx.get("conn_a"), "no connection A")
    before = [m for m in memberships(bob["id"]) if m["organization_id"] == ctx["org_a"]]
    assert not before, "bob is a member of A before"
    refused(c["id"], bob["email"])
    after = [m for m in memberships(bob["id"]) if m["organization_id"] == ctx["org_a"]]
    assert not after, "bob became a member of A: %s" % after


check("14a. the domain guard: A's IdP (jit_role member) vouches for bob@initech.example, an EXISTING user whose domain B verified -> error=sso_failed, bob no member of A", guard_existing_other_org)


def guard_unverified_domain():
    c = need(ctx.get("conn_a"), "no connection A")
    refused(c["id"], "zed@elsewhere.example")
    assert not users_with_email("zed@elsewhere.example"), "a user was created for zed@elsewhere.example"


check("14b. the domain guard: A's IdP (jit_role member) vouches for zed@elsewhere.example, a domain nobody verified -> error=sso_failed, no user created", guard_unverified_domain)


def guard_member():
    c = need(ctx.get("conn_b"), "no connection B")
    refused(c["id"], ada["email"], idp_entry=IDP_EC)


check("14c. the domain guard: B's IdP vouches for ada@acme.example, a MEMBER of B whose domain A verified -> error=sso_failed", guard_member)


def guard_subdomain():
    c = need(ctx.get("conn_a"), "no connection A")
    refused(c["id"], "mallory@evil-acme.example")
    refused(c["id"], "mallory@acme.example.evil.test")


check("14d. the domain guard compares whole domains: mallory@evil-acme.example and mallory@acme.example.evil.test through A -> error=sso_failed", guard_subdomain)


def b_member():
    c = need(ctx.get("conn_b"), "no connection B")
    s = sign_in(c["id"], bob["email"], idp_entry=IDP_EC)
    assert s["user"]["id"] == bob["id"], s["user"]
    assert (s.get("active_organization") or {}).get("id") == ctx["org_b"], s.get("active_organization")


check("15a. B (no jit_role, ECDSA P-256 IdP, ecdsa-sha256): its member bob@initech.example signs in, session in B", b_member)
check("15b. B: a non-member in its verified domain (eve@initech.example) -> error=sso_failed (no jit_role)", refusal({}, email="eve@initech.example", conn="conn_b", idp_entry=IDP_EC))
check("15c. B: an ecdsa-sha1 signature -> error=sso_failed", refusal({"alg": "ecdsa-sha1", "digest": "sha1"}, email=bob["email"], conn="conn_b", idp_entry=IDP_EC))


def cross_idp():
    # A's RelayState, but the response of B's IdP (a valid signature by a key A does not trust).
    ca = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(ca["id"], ada["email"])
    other = Flow(need(ctx.get("conn_b"), "no connection B")["id"], bob["email"], idp_entry=IDP_EC)
    form = {"SAMLResponse": other.post.inputs["SAMLResponse"], "RelayState": flow.post.inputs["RelayState"]}
    r = flow.acs(form)
    note(*flow.trail)
    expect_sso_failed(flow, r)


check("16. a response from B's IdP posted with A's RelayState -> error=sso_failed", cross_idp)


def handoff_twice():
    c = need(ctx.get("conn_a"), "no connection A")
    flow = Flow(c["id"], ada["email"])
    code = expect_code(flow, flow.finish())
    first = exchange(code, flow.verifier)
    assert first.status_code == 200, first.text
    again = exchange(code, flow.verifier)
    assert again.status_code == 400 and error_code(again) == "invalid_handoff", "second exchange %s %s" % (again.status_code, short(again.text))
    wrong = Flow(c["id"], ada["email"])
    code2 = expect_code(wrong, wrong.finish())
    r = exchange(code2, pkce_pair()[0])
    assert r.status_code == 400 and error_code(r) == "invalid_handoff", "wrong verifier %s %s" % (r.status_code, short(r.text))


check("17. the handoff code: a second exchange and a wrong code_verifier -> 400 invalid_handoff", handoff_twice)


def listing():
    org_a = need(ctx.get("org_a"), "no organization A")
    r = api_ok("GET", "/v1/organizations/%s/connections" % org_a, 200)
    note(short(json.dumps(r), 1500))
    ids = [c["id"] for c in r["data"]]
    assert ids == [ctx["conn_a"]["id"]], "listed %s" % ids
    c = r["data"][0]
    assert c.get("protocol") == "saml" and c.get("issuer") == IDP_RSA["entity_id"], c
    assert "metadata_xml" not in c or c["metadata_xml"], c


check("18. GET /v1/organizations/{A}/connections lists the SAML connection (protocol saml, issuer) and none of the refused ones", listing)


def delete():
    org_a = need(ctx.get("org_a"), "no organization A")
    c = api_ok("POST", "/v1/organizations/%s/connections" % org_a, 201,
               body={"name": "to delete", "protocol": "saml", "metadata_xml": idp_metadata(IDP_RSA)})
    r = api("DELETE", "/v1/organizations/%s/connections/%s" % (org_a, c["id"]))
    assert r.status_code == 204, "DELETE answered %s %s" % (r.status_code, short(r.text))
    m = requests.get(c["saml"]["metadata_url"], timeout=10)
    note("metadata after delete: %s %s" % (m.status_code, short(m.text, 200)))
    assert m.status_code == 404, "the deleted connection's metadata answers %s" % m.status_code
    s = requests.get(start_url(c["id"], pkce_pair()[1], "s"), allow_redirects=False, timeout=10)
    note("start with it: %s %s" % (s.status_code, short(s.text, 200)))
    assert s.status_code in (400, 404) and error_code(s), "start with the deleted connection answered %s" % s.status_code


check("19. DELETE a SAML connection -> 204; its SP metadata -> 404; /v1/auth/sso/start with it -> 400/404 JSON", delete)

print("  saml: %d passed, %d failed%s" % (passed, failed, " (and %d informational notes)" % notes if notes else ""))
sys.exit(1 if failed else 0)

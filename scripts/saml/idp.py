#!/usr/bin/env python3
"""A real SAML 2.0 identity provider for Authio's SAML connections: pysaml2's server.Server.

    python idp.py --workdir DIR --out READY.json [--host 127.0.0.1] [--port 0]

Part of scripts/saml-conformance (which runs it from target/saml-venv). It serves two IdPs
from one process on a free loopback port, each a pysaml2 `Server` with its own key and
certificate made with openssl at start in DIR:

  /rsa/...   RSA 2048, signs with rsa-sha256 (and sha256 digests) unless told otherwise
  /ec/...    ECDSA P-256, signs with ecdsa-sha256

Each IdP's entityID is its metadata URL. Per IdP NAME:
  GET  /NAME/metadata   the IdP's metadata (pysaml2's entity_descriptor: IDPSSODescriptor,
                        a signing KeyDescriptor with the certificate, SingleSignOnService
                        HTTP-Redirect at /NAME/sso)
  GET  /NAME/sso        the HTTP-Redirect binding: SAMLRequest (+ RelayState) parsed with
                        parse_authn_request; answers a login page (200 HTML): a form posting
                        to /NAME/login with a hidden `key`, an `email` field and the test
                        knobs below, and the parsed request as JSON in
                        <script type="application/json" id="authn-request">.
  POST /NAME/login      "logs in" `email` and answers pysaml2's HTTP-POST binding page
                        (create_authn_response + apply_binding(BINDING_HTTP_POST)): an
                        auto-submitting form with SAMLResponse and RelayState to the SP's
                        AssertionConsumerService (from its metadata, response_args).
Administration (the test's, not a browser's):
  POST /admin/sp        {"metadata_url": URL} or {"metadata_xml": XML}: fetch the SP's
                        metadata and load it into every IdP's metadata store (what an IdP
                        administrator does with an SP's metadata); answers what pysaml2 read
                        from it: {entity_id, acs: [[binding, location]], want_assertions_signed,
                        authn_requests_signed}; 400 with pysaml2's error otherwise.
  GET  /admin/log       the AuthnRequests parsed so far (summaries, newest last).

Login knobs (form fields; each has a default that makes a correct response):
  attrs     uri (default): mail -> urn:oid:0.9.2342.19200300.100.1.3, givenName, sn;
            plain: email, firstName, lastName (basic name format);
            claims: http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress, ...;
            none: no AttributeStatement (the email only in the NameID, when nameid=email)
  nameid    email (default: emailAddress format, the email) | persistent | transient
  sign      assertion (default) | response | both | none
  alg       rsa-sha256 (RSA default) | rsa-sha1 | rsa-sha512 | ecdsa-sha256 (EC default) | ecdsa-sha1
  digest    sha256 (default) | sha1 | sha512
  signing_key      idp (default) | rogue: sign with another key (same entityID, a
            certificate the SP does not know)
  audience  the Audience (default: the SP's entityID)
  in_response_to   default: the AuthnRequest's ID
  destination      Response Destination and SubjectConfirmationData Recipient (default: the
                   ACS); the form is posted to the ACS all the same
  recipient        the SubjectConfirmationData Recipient alone (the Destination stays right)
  sc_in_response_to  the SubjectConfirmationData InResponseTo alone (the Response's stays right)
  issuer    the Issuer of Response and Assertion (default: this IdP's entityID)
  expired   1: Conditions and SubjectConfirmationData expired ten minutes ago
  status    success (default) | authn_failed: a samlp:Response with status Responder/AuthnFailed
  tamper_email     after signing, replace every occurrence of the email with this one
  wrap      assertion: after signing, an XML signature wrapping attack: an unsigned copy of
            the assertion (another ID, its email replaced by `wrap_email`) inserted before
            the signed one, which stays intact
  wrap_email       the injected address for `wrap` (default evil@<the email's domain>)

On start it writes READY.json: {"base", "idps": {NAME: {entity_id, metadata_url, sso_url,
cert_file, key_file}}, "rogue": {cert_file}, "pysaml2", "xmlsec1"} and logs each request
on stderr. Stops on SIGTERM/SIGINT.
"""

import argparse
import datetime
import html
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import traceback
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# pysaml2 7.5 still names cryptography's CFB mode where newer cryptography warns about it.
warnings.filterwarnings("ignore", message=".*CFB has been moved.*")

import saml2  # noqa: E402
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2 import xmldsig as ds
from saml2.argtree import add_path
from saml2.assertion import Policy
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAME_FORMAT_UNSPECIFIED, NAME_FORMAT_URI
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, SCM_BEARER, NameID
from saml2.samlp import STATUS_AUTHN_FAILED
from saml2.server import Server

HERE = os.path.dirname(os.path.abspath(__file__))
ATTRIBUTE_MAPS = os.path.join(HERE, "attributemaps")

SIG_ALGS = {
    "rsa-sha256": ds.SIG_RSA_SHA256,
    "rsa-sha1": ds.SIG_RSA_SHA1,
    "rsa-sha512": ds.SIG_RSA_SHA512,
    "ecdsa-sha256": ds.SIG_ECDSA_SHA256,
    "ecdsa-sha1": ds.SIG_ECDSA_SHA1,
}
DIGESTS = {"sha256": ds.DIGEST_SHA256, "sha1": ds.DIGEST_SHA1, "sha512": ds.DIGEST_SHA512}
ATTR_FORMATS = {"uri": NAME_FORMAT_URI, "plain": NAME_FORMAT_BASIC, "claims": NAME_FORMAT_UNSPECIFIED}

LOCK = threading.Lock()  # pysaml2 objects are not known to be thread safe


def log(msg):
    print("idp: %s" % msg, file=sys.stderr, flush=True)


def openssl_keypair(workdir, name, kind):
    key, crt = os.path.join(workdir, name + ".key"), os.path.join(workdir, name + ".crt")
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    subprocess.run(
        ["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", crt, "-days", "2",
         "-subj", "/CN=authio-saml-conformance-%s" % name],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return key, crt


class TestPolicy(Policy):
    """pysaml2's release policy, bent on request: another Audience, or expired times."""

    def __init__(self, restrictions, mds, audience=None, expired=False):
        super().__init__(restrictions, mds)
        self._audience = audience
        self._expired = expired

    def _past(self, minutes):
        t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def not_on_or_after(self, sp_entity_id):
        if self._expired:
            return self._past(10)
        return super().not_on_or_after(sp_entity_id)

    def conditions(self, sp_entity_id):
        cond = super().conditions(sp_entity_id)
        if self._audience:
            cond.audience_restriction[0].audience[0].text = self._audience
        if self._expired:
            cond.not_before = self._past(20)
        return cond


class Idp:
    def __init__(self, name, base, workdir, kind, maps_dir):
        self.name = name
        self.kind = kind
        self.entity_id = "%s/%s/metadata" % (base, name)
        self.sso_url = "%s/%s/sso" % (base, name)
        self.key_file, self.cert_file = openssl_keypair(workdir, name, kind)
        self.default_alg = "rsa-sha256" if kind == "rsa" else "ecdsa-sha256"
        self.maps_dir = maps_dir
        self.server = Server(config=self._config(self.key_file, self.cert_file))
        self.metadata_xml = create_metadata_string(None, config=self.server.config, valid=48).decode()

    def _config(self, key_file, cert_file):
        conf = IdPConfig()
        conf.load({
            "entityid": self.entity_id,
            "description": "Authio SAML conformance IdP (%s)" % self.name,
            "service": {
                "idp": {
                    "name": "Authio SAML conformance IdP (%s)" % self.name,
                    "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                    "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                           "name_form": NAME_FORMAT_URI}},
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT],
                    "want_authn_requests_signed": False,
                },
            },
            "key_file": key_file,
            "cert_file": cert_file,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "attribute_map_dir": self.maps_dir,
            "accepted_time_diff": 180,
            "metadata": {},
            "signing_algorithm": SIG_ALGS[self.default_alg],
            "digest_algorithm": ds.DIGEST_SHA256,
        })
        return conf

    def rogue(self, workdir):
        """The same entityID with a key and certificate the SP has never seen."""
        key, crt = openssl_keypair(workdir, self.name + "-rogue", self.kind)
        self.rogue_cert_file = crt
        self.rogue_server = Server(config=self._config(key, crt))

    def load_sp(self, xml):
        for s in (self.server, self.rogue_server):
            s.metadata.load("inline", xml)


class State:
    def __init__(self, base, workdir, maps_dir):
        self.base = base
        self.idps = {}
        for name, kind in (("rsa", "rsa"), ("ec", "ec")):
            idp = Idp(name, base, workdir, kind, maps_dir)
            idp.rogue(workdir)
            self.idps[name] = idp
        self.pending = {}
        self.log = []
        self.sps = {}


def summarize_request(req, relay_state, binding):
    m = req.message
    nip = m.name_id_policy
    return {
        "id": m.id,
        "version": m.version,
        "issue_instant": m.issue_instant,
        "destination": m.destination,
        "issuer": m.issuer.text if m.issuer is not None else None,
        "assertion_consumer_service_url": m.assertion_consumer_service_url,
        "protocol_binding": m.protocol_binding,
        "force_authn": m.force_authn,
        "is_passive": m.is_passive,
        "name_id_policy": {"format": nip.format, "allow_create": nip.allow_create} if nip is not None else None,
        "signed": m.signature is not None,
        "relay_state": relay_state,
        "relay_state_length": len(relay_state.encode()) if relay_state is not None else None,
        "binding": binding,
        "xml": str(req.xmlstr if isinstance(req.xmlstr, str) else req.xmlstr.decode()),
    }


def login_page(idp, key, summary, defaults):
    fields = "\n".join(
        '    <label>%s <input name="%s" value="%s"></label><br>' % (k, k, html.escape(v, quote=True))
        for k, v in defaults.items()
    )
    return """<!doctype html>
<html><head><title>%(name)s IdP: sign in</title></head>
<body>
  <h1>Sign in to the %(name)s IdP</h1>
  <p>Service provider: %(sp)s</p>
  <form method="post" action="/%(name)s/login">
    <input type="hidden" name="key" value="%(key)s">
    <label>Email <input name="email" value=""></label><br>
%(fields)s
    <button type="submit">Sign in</button>
  </form>
  <script type="application/json" id="authn-request">%(json)s</script>
</body></html>
""" % {
        "name": idp.name, "sp": html.escape(summary["issuer"] or "?"), "key": key, "fields": fields,
        "json": html.escape(json.dumps(summary), quote=False),
    }


def knob_defaults(idp):
    return {
        "attrs": "uri", "nameid": "email", "sign": "assertion", "alg": idp.default_alg, "digest": "sha256",
        "signing_key": "idp", "audience": "", "in_response_to": "", "destination": "", "recipient": "",
        "sc_in_response_to": "", "issuer": "",
        "expired": "0", "status": "success", "tamper_email": "", "wrap": "", "wrap_email": "",
    }


def identity_for(email, attrs):
    local = email.split("@")[0]
    given, family = local.capitalize(), "Tester"
    if attrs == "uri":
        return {"mail": [email], "givenName": [given], "sn": [family]}
    if attrs == "plain":
        return {"email": [email], "firstName": [given], "lastName": [family]}
    if attrs == "claims":
        return {"emailAddress": [email], "givenName": [given], "surname": [family]}
    if attrs == "none":
        return {}
    raise ValueError("attrs must be uri, plain, claims or none, not %r" % attrs)


def name_id_for(email, how, sp_entity_id, idp_entity_id):
    if how == "email":
        return NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email, sp_name_qualifier=sp_entity_id,
                      name_qualifier=idp_entity_id)
    if how == "persistent":
        import hashlib
        return NameID(format=NAMEID_FORMAT_PERSISTENT, text=hashlib.sha256(email.encode()).hexdigest()[:32],
                      sp_name_qualifier=sp_entity_id, name_qualifier=idp_entity_id)
    if how == "transient":
        return NameID(format=NAMEID_FORMAT_TRANSIENT, text="_" + secrets.token_hex(16), sp_name_qualifier=sp_entity_id,
                      name_qualifier=idp_entity_id)
    raise ValueError("nameid must be email, persistent or transient, not %r" % how)


def wrap_assertion(xml, email, injected):
    """XSW: an unsigned copy of the (signed) assertion, another ID, the email replaced,
    inserted before the signed one (the signed one stays intact)."""
    m = re.search(r"<(?P<p>[A-Za-z0-9_]+:)?Assertion\b.*?</(?P=p)?Assertion>", xml, re.S)
    if not m:
        raise ValueError("no Assertion in the response")
    signed = m.group(0)
    copy = re.sub(r"<(?P<p>[A-Za-z0-9_]+:)?Signature\b.*?</(?P=p)?Signature>", "", signed, count=1, flags=re.S)
    copy = re.sub(r'\bID="[^"]+"', 'ID="_evil%s"' % secrets.token_hex(8), copy, count=1)
    copy = copy.replace(email, injected)
    return xml[:m.start()] + copy + xml[m.start():]


def build_response(state, idp, form):
    key = form.get("key", "")
    pending = state.pending.get(key)
    if pending is None:
        raise LookupError("unknown or used login key %r" % key)
    email = form.get("email", "").strip()
    if not email:
        raise ValueError("no email")
    knobs = knob_defaults(idp)
    knobs.update({k: v for k, v in form.items() if k in knobs and v != ""})
    server = idp.rogue_server if knobs["signing_key"] == "rogue" else idp.server
    resp_args = pending["resp_args"]
    sp_entity_id = resp_args["sp_entity_id"]
    destination = knobs["destination"] or resp_args["destination"]
    in_response_to = knobs["in_response_to"] or resp_args["in_response_to"]
    issuer = knobs["issuer"] or None
    sign = knobs["sign"]
    if sign not in ("assertion", "response", "both", "none"):
        raise ValueError("sign must be assertion, response, both or none")
    sign_alg = SIG_ALGS[knobs["alg"]]
    digest_alg = DIGESTS[knobs["digest"]]
    attrs = knobs["attrs"]
    restrictions = {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                "name_form": ATTR_FORMATS.get(attrs, NAME_FORMAT_URI)}}
    policy = TestPolicy(restrictions, server.metadata, audience=knobs["audience"] or None,
                        expired=knobs["expired"] == "1")
    # The bearer SubjectConfirmationData, as pysaml2 makes it (update_farg), with either
    # part bent on request.
    farg = add_path({}, ["assertion", "subject", "subject_confirmation", "method", SCM_BEARER])
    add_path(farg["assertion"]["subject"]["subject_confirmation"],
             ["subject_confirmation_data", "in_response_to", knobs["sc_in_response_to"] or in_response_to])
    add_path(farg["assertion"]["subject"]["subject_confirmation"],
             ["subject_confirmation_data", "recipient", knobs["recipient"] or destination])
    if knobs["status"] == "authn_failed":
        resp = server.create_error_response(
            in_response_to, destination, (STATUS_AUTHN_FAILED, "the user could not be authenticated"),
            sign=sign in ("response", "both"), issuer=issuer, sign_alg=sign_alg, digest_alg=digest_alg)
    elif knobs["status"] == "success":
        resp = server.create_authn_response(
            identity_for(email, attrs), in_response_to, destination, sp_entity_id,
            name_id=name_id_for(email, knobs["nameid"], sp_entity_id, idp.entity_id),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                   "authn_auth": idp.entity_id},
            issuer=issuer,
            sign_assertion=sign in ("assertion", "both"),
            sign_response=sign in ("response", "both"),
            sign_alg=sign_alg, digest_alg=digest_alg,
            release_policy=policy,
            farg=farg,
        )
    else:
        raise ValueError("status must be success or authn_failed")
    xml = str(resp)
    if knobs["tamper_email"]:
        xml = xml.replace(email, knobs["tamper_email"])
    if knobs["wrap"]:
        injected = knobs["wrap_email"] or ("evil@" + email.split("@")[1])
        if knobs["wrap"] != "assertion":
            raise ValueError("wrap must be assertion")
        xml = wrap_assertion(xml, email, injected)
    # apply_binding refuses a sigalg outside pysaml2's RSA list even for the POST binding,
    # which signs nothing itself: name one it accepts.
    # The form goes to the SP's ACS (from its metadata) even when the response names
    # another Destination/Recipient inside.
    http_args = server.apply_binding(BINDING_HTTP_POST, xml, resp_args["destination"], pending["relay_state"] or "",
                                     response=True, sign=False, sigalg=ds.SIG_RSA_SHA256)
    del state.pending[key]
    return http_args, {"sp": sp_entity_id, "email": email, "knobs": {k: v for k, v in knobs.items() if v},
                       "destination": destination, "in_response_to": in_response_to}


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        server_version = "authio-saml-idp"

        def log_message(self, fmt, *args):
            log("%s %s" % (self.address_string(), fmt % args))

        def _send(self, status, body, ctype="text/html; charset=utf-8"):
            raw = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(raw)

        def _json(self, status, obj):
            self._send(status, json.dumps(obj, indent=2), "application/json")

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n)

        def _idp(self, path):
            parts = path.strip("/").split("/")
            if len(parts) == 2 and parts[0] in state.idps:
                return state.idps[parts[0]], parts[1]
            return None, None

        def do_GET(self):
            u = urlparse(self.path)
            if u.path == "/admin/log":
                with LOCK:
                    return self._json(200, state.log)
            idp, what = self._idp(u.path)
            if idp is None:
                return self._send(404, "not found\n", "text/plain")
            if what == "metadata":
                return self._send(200, idp.metadata_xml, "application/samlmetadata+xml")
            if what == "sso":
                q = parse_qs(u.query, keep_blank_values=True)
                saml_request = (q.get("SAMLRequest") or [None])[0]
                relay_state = (q.get("RelayState") or [None])[0]
                if not saml_request:
                    return self._send(400, "no SAMLRequest\n", "text/plain")
                with LOCK:
                    try:
                        req = idp.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT,
                                                             relay_state=relay_state)
                        if req is None:
                            raise ValueError("pysaml2 returned no request")
                        summary = summarize_request(req, relay_state, BINDING_HTTP_REDIRECT)
                        resp_args = idp.server.response_args(req.message, [BINDING_HTTP_POST])
                    except Exception as e:  # noqa: BLE001 - every refusal is answered and logged
                        log("%s: AuthnRequest refused: %s" % (idp.name, traceback.format_exc()))
                        state.log.append({"idp": idp.name, "error": "%s: %s" % (type(e).__name__, e)})
                        return self._send(400, "AuthnRequest refused: %s: %s\n" % (type(e).__name__, e), "text/plain")
                    summary["response_args"] = {k: (v if isinstance(v, (str, int, type(None))) else str(v))
                                                for k, v in resp_args.items() if k != "name_id_policy"}
                    key = secrets.token_urlsafe(16)
                    state.pending[key] = {"resp_args": resp_args, "relay_state": relay_state, "summary": summary}
                    state.log.append({"idp": idp.name, "request": summary})
                    log("%s: AuthnRequest %s from %s (ACS %s, RelayState %s bytes)" % (
                        idp.name, summary["id"], summary["issuer"], resp_args.get("destination"),
                        summary["relay_state_length"]))
                    return self._send(200, login_page(idp, key, summary, knob_defaults(idp)))
            return self._send(404, "not found\n", "text/plain")

        def do_POST(self):
            u = urlparse(self.path)
            if u.path == "/admin/sp":
                try:
                    body = json.loads(self._body() or b"{}")
                    xml = body.get("metadata_xml")
                    if not xml:
                        with urllib.request.urlopen(body["metadata_url"], timeout=10) as r:
                            xml = r.read().decode()
                    with LOCK:
                        for idp in state.idps.values():
                            idp.load_sp(xml)
                        md = state.idps["rsa"].server.metadata
                        found = []
                        for eid in md.keys():
                            ent = md[eid]
                            for sp in ent.get("spsso_descriptor", []):
                                acs = [[a["binding"], a["location"]] for a in sp.get("assertion_consumer_service", [])]
                                found.append({
                                    "entity_id": eid, "acs": acs,
                                    "want_assertions_signed": sp.get("want_assertions_signed"),
                                    "authn_requests_signed": sp.get("authn_requests_signed"),
                                })
                    m = re.search(r'entityID="([^"]+)"', xml)
                    eid = m.group(1) if m else None
                    mine = [f for f in found if f["entity_id"] == eid]
                    if not mine:
                        raise ValueError("pysaml2 found no SPSSODescriptor for %r in the metadata" % eid)
                    state.sps[eid] = xml
                    log("SP %s loaded: %s" % (eid, mine[0]))
                    return self._json(200, mine[0])
                except Exception as e:  # noqa: BLE001
                    log("SP metadata refused: %s" % traceback.format_exc())
                    return self._json(400, {"error": "%s: %s" % (type(e).__name__, e)})
            idp, what = self._idp(u.path)
            if idp is None or what != "login":
                return self._send(404, "not found\n", "text/plain")
            form = {k: v[0] for k, v in parse_qs(self._body().decode(), keep_blank_values=True).items()}
            with LOCK:
                try:
                    http_args, info = build_response(state, idp, form)
                except LookupError as e:
                    return self._send(400, "%s\n" % e, "text/plain")
                except Exception as e:  # noqa: BLE001
                    log("%s: login failed: %s" % (idp.name, traceback.format_exc()))
                    return self._send(500, "could not build the response: %s: %s\n" % (type(e).__name__, e), "text/plain")
                state.log.append({"idp": idp.name, "response": info})
            log("%s: SAMLResponse for %s to %s (%s)" % (idp.name, info["email"], info["destination"], info["knobs"]))
            return self._send(http_args.get("status", 200), http_args["data"])

    return Handler


def main():
    ap = argparse.ArgumentParser(description="a pysaml2 IdP for scripts/saml-conformance")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--attribute-maps", default=ATTRIBUTE_MAPS)
    a = ap.parse_args()
    if not shutil.which("xmlsec1"):
        sys.exit("idp: xmlsec1 is not installed (pysaml2 signs with it)")
    os.makedirs(a.workdir, exist_ok=True)
    httpd = ThreadingHTTPServer((a.host, a.port), None)
    httpd.daemon_threads = True
    base = "http://%s:%d" % (a.host, httpd.server_address[1])
    state = State(base, a.workdir, a.attribute_maps)
    httpd.RequestHandlerClass = make_handler(state)
    xmlsec_version = subprocess.run(["xmlsec1", "--version"], capture_output=True, text=True).stdout.strip()
    ready = {
        "base": base,
        "idps": {n: {"entity_id": i.entity_id, "metadata_url": i.entity_id, "sso_url": i.sso_url,
                     "cert_file": i.cert_file, "key_file": i.key_file, "rogue_cert_file": i.rogue_cert_file,
                     "default_alg": i.default_alg}
                 for n, i in state.idps.items()},
        "pysaml2": saml2.__version__ if hasattr(saml2, "__version__") else "?",
        "xmlsec1": xmlsec_version,
    }
    with open(a.out + ".tmp", "w") as f:
        json.dump(ready, f, indent=2)
    os.replace(a.out + ".tmp", a.out)
    log("ready %s (pysaml2 %s, %s)" % (base, ready["pysaml2"], xmlsec_version))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    httpd.serve_forever()


if __name__ == "__main__":
    main()

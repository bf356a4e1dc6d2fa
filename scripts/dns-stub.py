#!/usr/bin/env python3
"""A tiny authoritative DNS server for the conformance scripts (Python standard library only).

    scripts/dns-stub.py --ready READY.json [--records RECORDS.json] [--host 127.0.0.1] [--port 0]
    scripts/dns-stub.py --self-test

It answers TXT questions from a table of records, over UDP and TCP on the same port of
127.0.0.1 (a free one unless --port is given), so that `AUTHIO_DNS_RESOLVER=127.0.0.1:PORT`
lets the server's domain verification find the `_authio-challenge.<domain>` records the
scripts publish. Every answer is authoritative (AA) with TTL 0:
  - a name with TXT records, asked for TXT: NOERROR with them;
  - a name with records, asked for another type: NOERROR with no answer (NODATA);
  - any other name: NXDOMAIN.
Both negative answers carry an SOA for the root (TTL 0, minimum 0), so a resolver caches
nothing. EDNS (an OPT in the question) is echoed; a truncated UDP answer sets TC. Opcodes
other than QUERY answer NOTIMP, an unparsable message FORMERR.

Records come from two places, looked at on every question:
  - RECORDS.json, when given: {"name": ["value", ...], ...}, read again when it changes
    (write it atomically: a temp file, then rename);
  - the HTTP control on another free port of 127.0.0.1 (its URL is in READY.json):
      POST   /txt  {"name": "_authio-challenge.acme.example", "value": "authio-verify=..."}
                   adds a value (200 {"name", "values"}); "values": [...] replaces them all
      DELETE /txt?name=NAME   removes the name (200, or 404 when unknown)
      GET    /txt  the whole table ({"name": [values]}, file and control merged)
      GET    /log  the questions asked so far ([{"transport", "name", "type", "rcode"}])
Names are compared without case and without a final dot.

When listening it writes READY.json (atomically): {"resolver": "127.0.0.1:PORT", "udp":
PORT, "tcp": PORT, "control": "http://127.0.0.1:CPORT", "pid": PID} and logs one line
per question on stderr. Stops on SIGTERM/SIGINT. --self-test starts one, asks it over UDP
and TCP with a DNS client written here and exits 0 when every answer is right.
"""

import argparse
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

T_A, T_NS, T_SOA, T_TXT, T_AAAA, T_OPT = 1, 2, 6, 16, 28, 41
TYPE_NAMES = {T_A: "A", T_NS: "NS", T_SOA: "SOA", T_TXT: "TXT", T_AAAA: "AAAA", T_OPT: "OPT", 255: "ANY"}
R_NOERROR, R_FORMERR, R_SERVFAIL, R_NXDOMAIN, R_NOTIMP = 0, 1, 2, 3, 4
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
UDP_PLAIN_MAX = 512


def norm(name):
    return name.strip().rstrip(".").lower()


def log(msg):
    print("dns-stub: %s" % msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the records
class Records:
    def __init__(self, path=None):
        self.path = path
        self.lock = threading.Lock()
        self.control = {}  # name -> [values]
        self._file = {}
        self._file_stamp = None
        self.questions = []

    def _read_file(self):
        if not self.path:
            return {}
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._file, self._file_stamp = {}, None
            return self._file
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._file_stamp:
            try:
                with open(self.path, encoding="utf-8") as f:
                    raw = json.load(f)
                table = {}
                for name, values in raw.items():
                    if isinstance(values, str):
                        values = [values]
                    table.setdefault(norm(name), []).extend(str(v) for v in values)
                self._file, self._file_stamp = table, stamp
            except (OSError, ValueError) as e:
                log("cannot read %s (%s); keeping its previous records" % (self.path, e))
        return self._file

    def table(self):
        with self.lock:
            merged = {k: list(v) for k, v in self._read_file().items()}
            for k, v in self.control.items():
                merged.setdefault(k, []).extend(v)
            return merged

    def lookup(self, name):
        """(exists, [txt values])"""
        t = self.table()
        n = norm(name)
        if n in t:
            return True, t[n]
        return False, []

    def add(self, name, value=None, values=None):
        with self.lock:
            n = norm(name)
            if values is not None:
                self.control[n] = [str(v) for v in values]
            else:
                self.control.setdefault(n, []).append(str(value))
            return n, list(self.control[n])

    def remove(self, name):
        with self.lock:
            return self.control.pop(norm(name), None) is not None

    def note(self, entry):
        with self.lock:
            self.questions.append(entry)
            del self.questions[:-1000]


# ---------------------------------------------------------------- DNS messages
class FormErr(Exception):
    pass


def read_name(msg, off):
    """A (possibly compressed) name at off: (name, offset after it in the original run)."""
    labels, end, jumps = [], None, 0
    while True:
        if off >= len(msg):
            raise FormErr("name runs past the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise FormErr("truncated pointer")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumps += 1
            if jumps > 32:
                raise FormErr("pointer loop")
            continue
        if n & 0xC0:
            raise FormErr("bad label type")
        off += 1
        if n == 0:
            break
        if off + n > len(msg):
            raise FormErr("label runs past the message")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels), (end if end is not None else off)


def encode_name(name):
    out = b""
    for label in [x for x in name.split(".") if x]:
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError("label too long: %r" % label)
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def parse_query(msg):
    if len(msg) < 12:
        raise FormErr("shorter than a header")
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    if qd != 1:
        raise FormErr("%d questions" % qd)
    off = 12
    qname, off = read_name(msg, off)
    if off + 4 > len(msg):
        raise FormErr("truncated question")
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    question_raw = msg[12:off + 4]
    off += 4
    # Skip answer and authority records, look for an OPT among the additional ones.
    edns = None
    for i in range(an + ns + ar):
        _, off = read_name(msg, off)
        if off + 10 > len(msg):
            raise FormErr("truncated record")
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10 + rdlen
        if off > len(msg):
            raise FormErr("record data past the message")
        if i >= an + ns and rtype == T_OPT:
            edns = max(rclass, UDP_PLAIN_MAX)
    return {
        "id": qid, "flags": flags, "opcode": (flags >> 11) & 0xF, "rd": (flags >> 8) & 1,
        "name": qname, "type": qtype, "class": qclass, "question_raw": question_raw, "edns": edns,
    }


def rr(name_bytes, rtype, ttl, rdata, rclass=1):
    return name_bytes + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def txt_rdata(value):
    raw = value.encode("utf-8")
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return b"".join(bytes([len(c)]) + c for c in chunks)


def root_soa():
    rdata = encode_name("ns.dns-stub.invalid") + encode_name("hostmaster.dns-stub.invalid") + struct.pack(
        "!IIIII", 1, 3600, 600, 86400, 0)
    return rr(b"\x00", T_SOA, 0, rdata)


def build_answer(q, records):
    """(rcode, wire bytes without truncation handling, answers list for the log)"""
    if q["opcode"] != 0:
        return R_NOTIMP, [], []
    exists, values = records.lookup(q["name"])
    if not exists:
        return R_NXDOMAIN, [], [root_soa()]
    if q["type"] in (T_TXT, 255) and q["class"] in (1, 255) and values:
        ptr = b"\xc0\x0c"  # the question's name
        return R_NOERROR, [rr(ptr, T_TXT, 0, txt_rdata(v)) for v in values], []
    return R_NOERROR, [], [root_soa()]


def response_bytes(q, rcode, answers, authority, limit=None):
    def assemble(ans, auth, tc):
        flags = 0x8000 | (q["opcode"] << 11) | 0x0400 | (q["rd"] << 8) | rcode  # QR, AA, RD echoed
        if tc:
            flags |= 0x0200
        extra = b""
        if q["edns"] is not None:
            extra = b"\x00" + struct.pack("!HHIH", T_OPT, 1232, 0, 0)
        head = struct.pack("!HHHHHH", q["id"], flags, 1, len(ans), len(auth), 1 if extra else 0)
        return head + q["question_raw"] + b"".join(ans) + b"".join(auth) + extra

    out = assemble(answers, authority, False)
    if limit is not None and len(out) > limit:
        out = assemble([], [], True)
    return out


def error_bytes(msg, rcode):
    qid = struct.unpack("!H", msg[:2])[0] if len(msg) >= 2 else 0
    return struct.pack("!HHHHHH", qid, 0x8000 | rcode, 0, 0, 0, 0)


def handle(msg, records, transport, limit):
    try:
        q = parse_query(msg)
    except FormErr as e:
        log("%s: FORMERR (%s)" % (transport, e))
        records.note({"transport": transport, "name": None, "type": None, "rcode": "FORMERR"})
        return error_bytes(msg, R_FORMERR)
    if q["flags"] & 0x8000:
        return None  # a response: ignore
    rcode, answers, authority = build_answer(q, records)
    tname = TYPE_NAMES.get(q["type"], str(q["type"]))
    log("%s %s %s -> %s, %d answer(s)" % (transport, q["name"], tname, RCODE_NAMES.get(rcode, rcode), len(answers)))
    records.note({"transport": transport, "name": q["name"], "type": tname, "rcode": RCODE_NAMES.get(rcode, str(rcode))})
    if limit is not None and q["edns"] is not None:
        limit = q["edns"]
    return response_bytes(q, rcode, answers, authority, limit)


# ---------------------------------------------------------------- servers
class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        out = handle(data, self.server.records, "udp", UDP_PLAIN_MAX)
        if out is not None:
            sock.sendto(out, self.client_address)


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(10)
        try:
            while True:
                head = self._read(2)
                if head is None:
                    return
                (n,) = struct.unpack("!H", head)
                data = self._read(n)
                if data is None:
                    return
                out = handle(data, self.server.records, "tcp", None)
                if out is not None:
                    self.request.sendall(struct.pack("!H", len(out)) + out)
        except (socket.timeout, ConnectionError):
            return

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf


class UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = False


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def bind_pair(host, port):
    """A UDP and a TCP server on the same port (a free one when port is 0)."""
    last = None
    for _ in range(50):
        udp = UDPServer((host, port), UDPHandler)
        actual = udp.server_address[1]
        try:
            tcp = TCPServer((host, actual), TCPHandler)
            return udp, tcp
        except OSError as e:
            last = e
            udp.server_close()
            if port:
                raise
    raise OSError("no port free for both UDP and TCP: %s" % last)


class ControlHandler(BaseHTTPRequestHandler):
    server_version = "dns-stub"

    def log_message(self, fmt, *args):
        log("control: " + fmt % args)

    def _send(self, status, obj):
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/txt":
            return self._send(200, self.server.records.table())
        if path == "/log":
            with self.server.records.lock:
                return self._send(200, list(self.server.records.questions))
        return self._send(404, {"error": "not found"})

    def do_POST(self):
        if urlparse(self.path).path != "/txt":
            return self._send(404, {"error": "not found"})
        try:
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            name = body["name"]
            if not isinstance(name, str) or not norm(name):
                raise ValueError("name must be a non-empty string")
            if "values" in body:
                if not isinstance(body["values"], list):
                    raise ValueError("values must be a list")
                n2, values = self.server.records.add(name, values=body["values"])
            else:
                if not isinstance(body.get("value"), str):
                    raise ValueError("value must be a string")
                n2, values = self.server.records.add(name, value=body["value"])
        except (KeyError, ValueError) as e:
            return self._send(400, {"error": "want {\"name\": str, \"value\": str} or {\"name\", \"values\": [str]}: %s" % e})
        log("control: TXT %s = %s" % (n2, values))
        return self._send(200, {"name": n2, "values": values})

    def do_DELETE(self):
        u = urlparse(self.path)
        if u.path != "/txt":
            return self._send(404, {"error": "not found"})
        name = (parse_qs(u.query).get("name") or [""])[0]
        if self.server.records.remove(name):
            return self._send(200, {"name": norm(name), "removed": True})
        return self._send(404, {"name": norm(name), "removed": False})


def serve(host, port, records):
    udp, tcp = bind_pair(host, port)
    control = ThreadingHTTPServer((host, 0), ControlHandler)
    control.daemon_threads = True
    for s in (udp, tcp, control):
        s.records = records
        threading.Thread(target=s.serve_forever, daemon=True).start()
    return udp, tcp, control


# ---------------------------------------------------------------- a client, for --self-test
def ask(host, port, name, qtype=T_TXT, transport="udp", edns=False, qid=None):
    """(rcode, aa, [txt strings], raw response)"""
    qid = qid if qid is not None else int(time.time() * 1000) & 0xFFFF
    ar = 1 if edns else 0
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, ar) + encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\x00" + struct.pack("!HHIH", T_OPT, 1232, 0, 0)
    if transport == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(msg, (host, port))
            resp, _ = s.recvfrom(65535)
    else:
        with socket.create_connection((host, port), timeout=3) as s:
            s.sendall(struct.pack("!H", len(msg)) + msg)
            head = s.recv(2, socket.MSG_WAITALL)
            (n,) = struct.unpack("!H", head)
            resp = b""
            while len(resp) < n:
                resp += s.recv(n - len(resp))
    rid, flags, qd, an, ns, arc = struct.unpack("!HHHHHH", resp[:12])
    assert rid == qid, "id %d != %d" % (rid, qid)
    off = 12
    for _ in range(qd):
        _, off = read_name(resp, off)
        off += 4
    txts = []
    for _ in range(an):
        _, off = read_name(resp, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", resp[off:off + 10])
        off += 10
        rdata = resp[off:off + rdlen]
        off += rdlen
        if rtype == T_TXT:
            i, parts = 0, []
            while i < len(rdata):
                n = rdata[i]
                parts.append(rdata[i + 1:i + 1 + n])
                i += 1 + n
            txts.append(b"".join(parts).decode())
    return flags & 0xF, bool(flags & 0x0400), txts, resp


def self_test():
    records = Records()
    udp, tcp, control = serve("127.0.0.1", 0, records)
    port = udp.server_address[1]
    base = "http://127.0.0.1:%d" % control.server_address[1]
    import urllib.request

    def post(obj):
        req = urllib.request.Request(base + "/txt", data=json.dumps(obj).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    failures = 0

    def check(name, fn):
        nonlocal failures
        try:
            fn()
            print("PASS dns-stub: %s" % name)
        except Exception as e:  # noqa: BLE001 - a self-test reports everything
            failures += 1
            print("FAIL dns-stub: %s -- %r" % (name, e))

    long_value = "authio-verify=" + "x" * 300
    post({"name": "_authio-challenge.Acme.Example.", "value": "authio-verify=abc"})
    post({"name": "_authio-challenge.acme.example", "value": long_value})

    def txt_found(transport, edns):
        def run():
            rcode, aa, txts, _ = ask("127.0.0.1", port, "_AUTHIO-challenge.acme.example", transport=transport, edns=edns)
            assert rcode == R_NOERROR and aa, (rcode, aa)
            assert txts == ["authio-verify=abc", long_value], txts
        return run

    def nx(transport):
        def run():
            rcode, aa, txts, resp = ask("127.0.0.1", port, "_authio-challenge.other.example", transport=transport)
            assert rcode == R_NXDOMAIN and aa and not txts, (rcode, aa, txts)
        return run

    def nodata():
        rcode, _, txts, resp = ask("127.0.0.1", port, "_authio-challenge.acme.example", qtype=T_A)
        assert rcode == R_NOERROR and not txts, (rcode, txts)
        assert struct.unpack("!H", resp[6:8])[0] == 0 and struct.unpack("!H", resp[8:10])[0] == 1, "no SOA in authority"

    def truncated():
        post({"name": "big.example", "values": ["y" * 200] * 5})
        rcode, _, txts, resp = ask("127.0.0.1", port, "big.example", transport="udp")
        assert struct.unpack("!H", resp[2:4])[0] & 0x0200, "no TC bit on a 1000-byte UDP answer without EDNS"
        rcode, _, txts, _ = ask("127.0.0.1", port, "big.example", transport="tcp")
        assert len(txts) == 5, txts

    def formerr():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(b"\x12\x34\x01\x00\x00\x01", ("127.0.0.1", port))
            resp, _ = s.recvfrom(512)
        assert resp[:2] == b"\x12\x34" and resp[3] & 0xF == R_FORMERR, resp

    def from_file():
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "records.json")
            r2 = Records(path)
            assert r2.lookup("a.example") == (False, [])
            with open(path + ".tmp", "w") as f:
                json.dump({"A.example.": "v1"}, f)
            os.replace(path + ".tmp", path)
            assert r2.lookup("a.example") == (True, ["v1"]), r2.lookup("a.example")

    def delete():
        req = urllib.request.Request(base + "/txt?name=_authio-challenge.acme.example", method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert json.load(r)["removed"] is True
        rcode, _, txts, _ = ask("127.0.0.1", port, "_authio-challenge.acme.example")
        assert rcode == R_NXDOMAIN, rcode

    check("TXT over UDP (case-insensitive name, a value longer than 255 split in strings)", txt_found("udp", False))
    check("TXT over UDP with EDNS", txt_found("udp", True))
    check("TXT over TCP", txt_found("tcp", False))
    check("an unknown name -> NXDOMAIN over UDP", nx("udp"))
    check("an unknown name -> NXDOMAIN over TCP", nx("tcp"))
    check("a known name asked for A -> NOERROR, no answer, an SOA", nodata)
    check("a UDP answer over 512 bytes is truncated (TC), whole over TCP", truncated)
    check("a malformed message -> FORMERR", formerr)
    check("records from a JSON file, read again when it changes", from_file)
    check("DELETE /txt removes a name", delete)
    for s in (udp, tcp, control):
        s.shutdown()
    print("dns-stub self-test: %d passed, %d failed" % (10 - failures, failures))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="UDP and TCP port (default: a free one)")
    ap.add_argument("--records", help="a JSON file {name: [values]} read again when it changes")
    ap.add_argument("--ready", help="write {resolver, udp, tcp, control, pid} here when listening")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        sys.exit(self_test())
    records = Records(a.records)
    udp, tcp, control = serve(a.host, a.port, records)
    port = udp.server_address[1]
    ready = {
        "resolver": "%s:%d" % (a.host, port), "udp": port, "tcp": port,
        "control": "http://%s:%d" % (a.host, control.server_address[1]), "pid": os.getpid(),
    }
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            json.dump(ready, f)
        os.replace(a.ready + ".tmp", a.ready)
    log("ready: DNS on %s (UDP+TCP), control %s" % (ready["resolver"], ready["control"]))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    log("stopping")


if __name__ == "__main__":
    main()

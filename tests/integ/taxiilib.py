# SPDX-License-Identifier: MIT
"""Helpers for chatham-taxii tests and its benchmark (imported, not run by ctest).

- taxii_bin(): the built chatham-taxii next to $CHATHAM_BIN.
- self_signed(dir): a throw-away ECDSA certificate for 127.0.0.1 made with openssl.
- TaxiiServer: writes a config with the given consumers, starts chatham-taxii on an
  ephemeral port of 127.0.0.1, and finds the port in its log (polling, never sleeping).
- Client: HTTPS with http.client/ssl that trusts only that certificate (and can record every
  response it reads, headers and raw body).
"""
import base64
import http.client
import json
import os
import re
import ssl
import subprocess
import time


def taxii_bin():
    b = os.environ.get("CHATHAM_TAXII_BIN")
    if not b:
        build = os.environ.get("CHATHAM_BUILD_DIR") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "../../build/dev")
        b = os.path.join(build, "node/taxii/chatham-taxii")
    if not os.access(b, os.X_OK):
        raise AssertionError("chatham-taxii is not built at %s" % b)
    return b


def self_signed(d, ip="127.0.0.1"):
    cert, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=chatham-taxii test", "-addext",
                    "subjectAltName=IP:" + ip], check=True, capture_output=True,
                   timeout=60)
    return cert, key


def new_secret():
    out = subprocess.run([taxii_bin(), "new-secret"], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    secret = re.search(r"^secret: ([0-9a-f]{64})$", out, re.M).group(1)
    h = re.search(r"^secret_hash = ([0-9a-f]{64})$", out, re.M).group(1)
    return secret, h


class TaxiiServer:
    """consumers: {name: (ceiling, "CLEAR GREEN ...")}; secrets are generated."""

    def __init__(self, workdir, export_dir, consumers, collections="CLEAR GREEN AMBER "
                 "AMBER+STRICT RED", max_page=1000, threads=4, max_connections=64,
                 listen="127.0.0.1"):
        self.dir = workdir
        self.listen = listen
        self.cert, self.key = self_signed(workdir, listen)
        self.secrets = {}
        lines = ["[server]", "listen = " + listen, "port = 0", "export_dir = " + export_dir,
                 "tls_cert = " + self.cert, "tls_key = " + self.key,
                 "collections = " + collections, "max_page = %d" % max_page,
                 "threads = %d" % threads, "max_connections = %d" % max_connections, ""]
        for name, (ceiling, colls) in consumers.items():
            secret, h = new_secret()
            self.secrets[name] = secret
            lines += ["[consumer %s]" % name, "secret_hash = " + h, "tlp_ceiling = " + ceiling,
                      "collections = " + colls, ""]
        self.config = os.path.join(workdir, "chatham-taxii.conf")
        with open(self.config, "w") as f:
            f.write("\n".join(lines))
        self.log_path = os.path.join(workdir, "taxii.log")
        self.proc = None
        self.port = None

    def start(self, timeout=120):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([taxii_bin(), "--config", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = open(self.log_path).read()
            m = re.search(r"listening on %s port (\d+)" % re.escape(self.listen), text)
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise AssertionError("chatham-taxii exited %d:\n%s" % (self.proc.returncode,
                                                                       text))
            time.sleep(0.05)  # polling the log for readiness, not synchronisation by delay
        raise AssertionError("chatham-taxii did not start:\n" + open(self.log_path).read())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and hasattr(self, "log"):
            self.log.close()
        return self.proc.returncode if self.proc else None

    def client(self, name=None, secret=None, bearer=False, source=None):
        """@source: the address the client's connections come from (default: any)."""
        if name is not None and secret is None:
            secret = self.secrets[name]
        return Client(self.port, self.cert, name, secret, bearer, self.listen, source)


class Client:
    def __init__(self, port, cafile, user, secret, bearer=False, host="127.0.0.1",
                 source=None):
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.port = port
        self.host = host
        self.source = (source, 0) if source else None
        self.auth = None
        if secret is not None:
            if bearer:
                self.auth = "Bearer " + secret
            else:
                self.auth = "Basic " + base64.b64encode(
                    ("%s:%s" % (user, secret)).encode()).decode()
        self.conn = None
        # A list to append (method, path, status, header lines, raw body) of every response
        # to (test_leak_taxii reads them all), or None.
        self.record = None

    def request(self, path, method="GET", accept="application/taxii+json;version=2.1",
                headers=None):
        """Returns (status, headers dict (lower-case names), parsed JSON body or None)."""
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                    timeout=60, source_address=self.source)
        h = dict(headers or {})
        if accept:
            h["Accept"] = accept
        if self.auth:
            h["Authorization"] = self.auth
        try:
            self.conn.request(method, path, headers=h)
            r = self.conn.getresponse()
            body = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = None
            raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if self.record is not None:
            self.record.append((method, path, r.status,
                                "".join(f"{k}: {v}\n" for k, v in r.getheaders()), body))
        data = json.loads(body) if body else None
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r.status, hdrs, data

    def get(self, path, **kw):
        return self.request(path, **kw)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

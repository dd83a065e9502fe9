# SPDX-License-Identifier: MIT
"""Helpers shared by the CLI integration tests (imported, not run by ctest).

- run(): the chatham binary from $CHATHAM_BIN, with a timeout and captured output.
- ExportEnv: an export environment (store/export.h) written directly with python3-lmdb, in
  the document shape node/daemon/exporter.c produces, so `chatham export` can be tested without
  a running node.
- StixValidator: the OASIS STIX 2.1 JSON schemas in tests/data/stix21 ($CHATHAM_TEST_DATA)
  checked with ajv from npm, installed into the build directory on first use. When the
  schemas are missing or ajv cannot be installed the test fails: it never skips.
"""
import datetime
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

TYPE_ECS = {
    "ipv4": "ipv4-addr", "ipv6": "ipv6-addr", "domain": "domain-name", "url": "url",
    "email": "email-addr", "md5": "file", "sha1": "file", "sha256": "file", "sha512": "file",
}


def fail(msg):
    """Stops the test as failed: what it needs (a binary, a package, data) is missing."""
    print("FAIL: " + msg)
    sys.exit(1)


def chatham_bin():
    b = os.environ.get("CHATHAM_BIN")
    if not b or not os.access(b, os.X_OK):
        fail("CHATHAM_BIN is not an executable (build the chatham target)")
    return b


def run(*args, check=None, stdin=None, timeout=120, env=None, cwd=None):
    """Runs chatham ARGS; returns CompletedProcess (text). check: expected exit code."""
    p = subprocess.run([chatham_bin()] + [str(a) for a in args], input=stdin,
                       capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check is not None and p.returncode != check:
        raise AssertionError("chatham %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(str(a) for a in args), p.returncode, check, p.stdout, p.stderr))
    return p


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def indicator_id(typ, value):
    return hashlib.blake2b(b"chatham/ind/1" + typ.encode() + b"\0" + value.encode(),
                           digest_size=32).hexdigest()


def make_doc(seq, typ, value, tlp="GREEN", state="active", community="Test Community",
             confidence=60, members=2, sightings=1, fps=0, first=1700000000000,
             last=1700000300000, valid_until=None, tags=(), description=None):
    """One export document as node_exporter_document() writes it."""
    ti = {"type": TYPE_ECS[typ], "first_seen": iso(first), "last_seen": iso(last),
          "modified": iso(first + 1000 * seq),
          "confidence": "None" if confidence == 0 else "Low" if confidence < 34
          else "Medium" if confidence < 67 else "High",
          "marking": {"tlp": tlp, "tlp_version": "2.0"}, "provider": community,
          "sightings": sightings}
    live = state == "active"
    if not live:
        pass  # retired: no value field, so nothing matches it (node/exporter.h)
    elif typ in ("ipv4", "ipv6") and "/" not in value:
        ti["ip"] = value
    elif typ == "domain":
        ti["url"] = {"domain": value}
    elif typ == "url":
        ti["url"] = {"full": value, "original": value}
    elif typ == "email":
        ti["email"] = {"address": value}
    elif typ in ("md5", "sha1", "sha256", "sha512"):
        ti["file"] = {"hash": {typ: value}}
    if description:
        ti["description"] = description
    ch = {"seq": seq, "indicator_id": indicator_id(typ, value), "type": typ, "value": value,
          "state": state, "confidence": confidence, "members": members,
          "sightings": sightings, "false_positives": fps, "reported_by_us": False,
          "tags": list(tags)}
    if valid_until:
        ch["valid_until"] = iso(valid_until)
    if description:
        ch["description"] = description
    event = {"kind": "enrichment", "category": ["threat"],
             "type": ["indicator" if live else "deletion"]}
    if valid_until and (live or state == "expired"):
        event["end"] = iso(valid_until)
    elif not live:
        event["end"] = iso(first + 1000 * seq)
    return {"@timestamp": iso(first + 1000 * seq), "ecs": {"version": "8.11.0"},
            "event": event, "threat": {"indicator": ti, "feed": {"name": "chatham " + community}},
            "chatham": ch}


class ExportEnv:
    """An export directory with the databases and meta keys of store/export.c."""

    def __init__(self, path, community="Test Community", env_id=None):
        import lmdb
        self.path = path
        self.community = community
        os.makedirs(path, exist_ok=True)
        self.env = lmdb.open(path, max_dbs=4, map_size=64 << 20)
        self.feed = self.env.open_db(b"feed")
        self.meta = self.env.open_db(b"meta")
        with self.env.begin(write=True) as t:
            t.put(b"schema", struct.pack(">I", 1), db=self.meta)
            t.put(b"env_id", env_id or hashlib.blake2b(path.encode(), digest_size=16).digest(),
                  db=self.meta)
            t.put(b"store_id", b"\x01" * 16, db=self.meta)
            t.put(b"community", community.encode(), db=self.meta)
            t.put(b"last_seq", struct.pack(">Q", 0), db=self.meta)

    def add(self, doc):
        seq = doc["chatham"]["seq"]
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode()
        with self.env.begin(write=True) as t:
            t.put(struct.pack(">Q", seq), text, db=self.feed)
            t.put(b"last_seq", struct.pack(">Q", seq), db=self.meta)
        return text

    def reset(self, env_id):
        """store_export_reset(): every document removed, last_seq 0, a new env id, in one
        transaction of the same data file."""
        with self.env.begin(write=True) as t:
            t.drop(self.feed, delete=False)
            t.put(b"last_seq", struct.pack(">Q", 0), db=self.meta)
            t.put(b"env_id", env_id, db=self.meta)

    def close(self):
        self.env.close()


AJV_JS = r"""
const fs = require("fs"), path = require("path");
const Ajv2020 = require("ajv/dist/2020"), addFormats = require("ajv-formats");
const B = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";
const TLP = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
const root = process.argv[1];
const ajv = new Ajv2020({ strict: false, unicodeRegExp: false, allErrors: true, logger: false });
addFormats(ajv);
ajv.addMetaSchema(require("ajv/dist/refs/json-schema-draft-07.json"));
const walk = d => fs.readdirSync(d, { withFileTypes: true }).flatMap(e =>
  e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith(".json") ? [path.join(d, e.name)] : []);
const byType = {};
for (const f of walk(path.join(root, "schemas"))) {
  const s = JSON.parse(fs.readFileSync(f, "utf8"));
  if (s.$id === B + "common/bundle.json")
    for (const r of ["sdos/grouping", "sdos/incident", "sdos/location", "sdos/note", "sdos/opinion", "common/extension-definition"])
      s.properties.objects.items.anyOf[0].oneOf.push({ $ref: "../" + r + ".json" });
  ajv.addSchema(s);
  byType[path.basename(f, ".json")] = s.$id;
}
ajv.addSchema(JSON.parse(fs.readFileSync(path.join(root, "tlp20/schema", TLP + ".json"), "utf8")));
const tlp = ajv.getSchema("https://raw.githubusercontent.com/oasis-open/cti-stix-common-objects/main/extension-definition-specifications/tlp-2.0/" + TLP + ".json");
let bad = 0;
for (const f of process.argv.slice(2)) {
  const doc = JSON.parse(fs.readFileSync(f, "utf8")), errs = [];
  const check = (v, o, what) => { if (!v(o)) errs.push(what + ": " + ajv.errorsText(v.errors.slice(0, 3))); };
  if (!byType[doc.type]) errs.push("no schema for type " + doc.type);
  else check(ajv.getSchema(byType[doc.type]), doc, doc.type);
  for (const o of doc.type === "bundle" ? doc.objects || [] : [doc]) {
    if (byType[o.type]) check(ajv.getSchema(byType[o.type]), o, o.type + " " + o.id);
    if (o.type === "marking-definition" && o.extensions && o.extensions[TLP]) check(tlp, o, "TLP 2.0 " + o.id);
  }
  console.log((errs.length ? "INVALID " : "valid   ") + f + (errs.length ? "\n  " + errs.join("\n  ") : ""));
  if (errs.length) bad++;
}
process.exit(bad ? 1 : 0);
"""


class StixValidator:
    """ajv over the OASIS schemas; fails the test (fail()) when it cannot run."""

    def __init__(self):
        data = os.environ.get("CHATHAM_TEST_DATA") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "data")
        self.root = os.path.join(data, "stix21")
        if not os.path.isdir(os.path.join(self.root, "schemas")):
            fail("no STIX schemas in %s (tests/data/stix21)" % self.root)
        if not shutil.which("npm") or not shutil.which("node"):
            fail("npm/node not installed (deploy/install-deps.sh installs them)")
        base = os.environ.get("CHATHAM_BUILD_DIR") or tempfile.gettempdir()
        self.prefix = os.path.join(base, "npm-ajv")
        mods = os.path.join(self.prefix, "node_modules")
        if not (os.path.isdir(os.path.join(mods, "ajv")) and
                os.path.isdir(os.path.join(mods, "ajv-formats"))):
            try:
                p = subprocess.run(["npm", "install", "--prefix", self.prefix, "--no-audit",
                                    "--no-fund", "--loglevel=error", "ajv@8", "ajv-formats@3"],
                                   capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired:
                fail("npm install ajv timed out (registry unreachable?)")
            if p.returncode != 0:
                fail("npm install ajv failed (registry unreachable?): " +
                     (p.stderr.strip().splitlines() or ["?"])[-1])
        self.node_path = mods

    def validate(self, *paths):
        """Returns (ok, output)."""
        env = dict(os.environ, NODE_PATH=self.node_path)
        p = subprocess.run(["node", "-e", AJV_JS, self.root] + list(paths), capture_output=True,
                           text=True, timeout=300, env=env)
        return p.returncode == 0, p.stdout + p.stderr


def check_stix_bundle(bundle, community):
    """Chatham's own rules on a bundle (beyond the schema). Raises AssertionError."""
    objs = bundle["objects"]
    idents = [o for o in objs if o["type"] == "identity"]
    assert len(idents) == 1, "one identity, got %d" % len(idents)
    assert idents[0]["name"] == community
    for o in objs:
        if "created_by_ref" in o:
            assert o["created_by_ref"] == idents[0]["id"], o
    tlp_ids = {
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
    marks = {o["id"] for o in objs if o["type"] == "marking-definition"}
    assert marks <= tlp_ids, marks
    for o in objs:
        if o["type"] == "indicator":
            refs = o["object_marking_refs"]
            assert len(refs) == 1 and refs[0] in marks, o

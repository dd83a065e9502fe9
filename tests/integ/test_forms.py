#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Notice forms: `chatham form list|template|check`.

Every document of a corpus (valid forms in English and Japanese, and one broken field per
invalid one) is checked by chatham and by ajv against the same JSON Schemas in deploy/forms/;
the two verdicts must agree on every document, and chatham must name the field at fault.
A template printed by `form template` is the schema's shape, and filled in, it passes.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import StixValidator, fail, run  # noqa: E402

SRC = os.environ.get("CHATHAM_SOURCE_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
FORMS = os.path.join(SRC, "deploy", "forms")
NAMES = ["incident", "ics-incident", "vuln-product", "vuln-web"]

AJV_FORMS = r"""
const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020"), addFormats = require("ajv-formats");
const ajv = new Ajv2020({ strict: false, allErrors: false, logger: false });
addFormats(ajv);
const [dir, ...docs] = process.argv.slice(1);
const v = {};
for (const n of ["incident", "ics-incident", "vuln-product", "vuln-web"])
  v[n] = ajv.compile(JSON.parse(fs.readFileSync(dir + "/" + n + ".schema.json", "utf8")));
for (const f of docs) {
  const d = JSON.parse(fs.readFileSync(f, "utf8"));
  console.log((v[d.form] && v[d.form](d)) ? "valid" : "invalid");
}
"""

INCIDENT = {
    "form": "incident",
    "purpose": "contact-related-site",
    "source": {"ip": ["198.51.100.7"], "hostname": ["c2.evil.example"]},
    "what_happened": "Web shell uploaded through the CMS plug-in; data staged for exfiltration.",
    "how_found": "EDR alert on w3wp.exe spawning cmd.exe",
    "actions_taken": "Host isolated, credentials rotated.",
    "affected": {"host": "www.victim.example", "protocol_port": "tcp/443",
                 "software": "ExampleCMS 4.2", "hardware_os": "Windows Server 2019",
                 "occurred_at": "2026-12-06T09:30:00+09:00"},
}
INCIDENT_JA = {
    "form": "incident",
    "purpose": "information",
    "what_happened": "不正なスクリプトが設置され、外部への通信が確認されました。",
    "how_found": "プロキシログの定期点検で発見",
    "affected": {"host": "192.0.2.10", "occurred_at": "2026-12-05T23:10:00Z"},
}
ICS = {
    "form": "ics-incident",
    "purpose": "question",
    "facility": {"sector": "water", "location": "Osaka"},
    "system": {"kind": "PLC", "vendor_model": "Example PLC-5", "network_zone": "OT",
               "protocol_port": "tcp/502"},
    "what_happened": "Unexpected Modbus writes to setpoints",
    "operational_impact": "degraded",
    "safety_impact": "potential",
    "occurred_at": "2026-12-01T02:00:00.250-05:00",
}
VULN_PRODUCT = {
    "form": "vuln-product",
    "product": "ExampleRouter", "vendor": "Example Corp", "version": "1.0.3",
    "vuln_type": "CWE-78 OS command injection",
    "reproduction": "POST /cgi-bin/ping with host=;id",
    "threat": "Remote code execution as root", "workaround": "Disable the web UI",
    "proof_of_concept": "curl -d 'host=;id' http://router/cgi-bin/ping",
    "others_notified": ["vendor PSIRT"], "found_at": "2026-11-30T12:00:00+09:00",
}
VULN_WEB = {
    "form": "vuln-web",
    "url": "https://shop.example/search?q=",
    "vuln_type": "reflected XSS",
    "why_vulnerable": "The q parameter is echoed without encoding.",
    "site_contact": "security@shop.example",
}


def broken(doc, path, value):
    """A copy of doc with the field at path (dots) set to value, or removed when value is
    the DELETE marker."""
    d = copy.deepcopy(doc)
    parts = path.split(".")
    cur = d
    for p in parts[:-1]:
        cur = cur[p]
    if value is DELETE:
        del cur[parts[-1]]
    else:
        cur[parts[-1]] = value
    return d


DELETE = object()

VALID = [INCIDENT, INCIDENT_JA, ICS, VULN_PRODUCT, VULN_WEB,
         broken(INCIDENT, "purpose_other", "あ" * 1024)]  # 1024 code points, 3072 bytes
INVALID = [
    (broken(INCIDENT, "purpose", "gossip"), "purpose"),
    (broken(INCIDENT, "affected.occurred_at", "2026-12-06T09:30:00"), "affected.occurred_at"),
    (broken(INCIDENT, "affected.occurred_at", "2026-02-30T09:30:00Z"), "affected.occurred_at"),
    (broken(INCIDENT, "affected.occurred_at", "yesterday"), "affected.occurred_at"),
    (broken(INCIDENT, "affected.host", DELETE), "affected.host"),
    (broken(INCIDENT, "what_happened", DELETE), "what_happened"),
    (broken(INCIDENT, "source.ip", "198.51.100.7"), "source.ip"),
    (broken(INCIDENT, "source.ip", [7]), "source.ip[0]"),
    (broken(INCIDENT, "purpose_other", "あ" * 1025), "purpose_other"),
    (broken(INCIDENT, "reporter", "CERT Alpha"), "reporter"),
    (broken(INCIDENT, "affected.colour", "red"), "affected.colour"),
    (broken(ICS, "facility.sector", "space"), "facility.sector"),
    (broken(ICS, "system.kind", "PLC "), "system.kind"),
    (broken(ICS, "occurred_at", DELETE), "occurred_at"),
    (broken(VULN_PRODUCT, "version", DELETE), "version"),
    (broken(VULN_PRODUCT, "others_notified", ["x"] * 65), "others_notified"),
    (broken(VULN_PRODUCT, "found_at", "2026-13-01T00:00:00Z"), "found_at"),
    (broken(VULN_WEB, "url", "shop.example/search"), "url"),
    (broken(VULN_WEB, "url", "https://shop.example/a b"), "url"),
    (broken(VULN_WEB, "why_vulnerable", 42), "why_vulnerable"),
    (broken(VULN_WEB, "form", "vuln-mobile"), "form"),
]


def prune(d):
    """What chatham does before validating: empty strings, arrays and objects are absent."""
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            v = prune(v)
            if v in ("", [], {}):
                continue
            out[k] = v
        return out
    return d


def main():
    v = StixValidator()  # installs ajv and ajv-formats (fails the test when it cannot)
    p = run("form", "list", check=0)
    assert p.stdout.split() == NAMES, p.stdout
    with tempfile.TemporaryDirectory() as tmp:
        # Templates: the schema's shape; filled from the valid examples they pass.
        for name in NAMES:
            t = json.loads(run("form", "template", name, check=0).stdout)
            assert t["form"] == name, t
            schema = json.load(open(os.path.join(FORMS, name + ".schema.json")))
            assert set(t) == set(schema["properties"]), (name, sorted(t))
            p = run("form", "check", "-", stdin=json.dumps(t), check=65)
            assert "is required" in p.stderr, p.stderr
        run("form", "template", "nope", check=2)

        files, want = [], []
        for i, d in enumerate(VALID):
            f = os.path.join(tmp, "valid%d.json" % i)
            json.dump(d, open(f, "w"), ensure_ascii=False)
            files.append(f)
            want.append("valid")
            p = run("form", "check", f)
            assert p.returncode == 0, (d, p.stderr)
        for i, (d, field) in enumerate(INVALID):
            f = os.path.join(tmp, "invalid%d.json" % i)
            json.dump(d, open(f, "w"), ensure_ascii=False)
            files.append(f)
            want.append("invalid")
            p = run("form", "check", f, check=65)
            assert ("field " + field + ":") in p.stderr, (field, p.stderr)
        # An empty optional field is a field not given: a filled template passes.
        t = json.loads(run("form", "template", "vuln-web", check=0).stdout)
        t.update({k: VULN_WEB[k] for k in VULN_WEB})
        run("form", "check", "-", stdin=json.dumps(t), check=0)
        # Not JSON at all, or not an object.
        run("form", "check", "-", stdin="{", check=65)
        run("form", "check", "-", stdin="[]", check=65)

        # ajv agrees with chatham on every document (after the same pruning).
        pruned = []
        for f in files:
            g = f + ".pruned"
            json.dump(prune(json.load(open(f))), open(g, "w"), ensure_ascii=False)
            pruned.append(g)
        env = dict(os.environ, NODE_PATH=v.node_path)
        p = subprocess.run(["node", "-e", AJV_FORMS, FORMS] + pruned, capture_output=True,
                           text=True, timeout=300, env=env)
        if p.returncode != 0:
            fail("ajv run failed: " + p.stderr)
        got = p.stdout.split()
        for f, g, w in zip(files, got, want):
            assert g == w, "ajv says %s, chatham says %s: %s" % (g, w, open(f).read())
    print("forms: %d valid and %d invalid documents; chatham and ajv agree on all" % (
        len(VALID), len(INVALID)))


if __name__ == "__main__":
    main()

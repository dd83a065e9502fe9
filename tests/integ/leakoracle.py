# SPDX-License-Identifier: MIT
"""The leak oracle of the integration tests (issue 12): no member skeleton appears in the
output skeleton. Imported by the tests, not run by ctest.

Every output and every member string are mapped with the product's own canonical skeleton
(policy/skeleton.h: NFKC case fold, TR39 confusables, marks and format characters removed,
markup, entities, escapes and defanging undone, separators ignored but kept as word
boundaries) by the test program tests/tools/leak_oracle (tests/tools/leakcheck.h), which
searches naively, independently of the redactor's index and fast path, under the
redactor's boundary rules: a name must start and end at a word boundary (or end after a
plural), so the corpus controls ("alphabet.example" next to member "Alpha") do not trip it,
while "C.E.R.T. Alpha", "CERT&nbsp;Alpha", "ϹЕRТ", "alpha[.]example", "alpha dot example",
a key's hex prefix of 8+ digits with any separators or its base64 prefix of 16+ characters
do. An output is read whole, as a reader sees it: a name in two tags side by side in the
JSON is one name. Bytes that are not UTF-8 count as separators (LMDB files). JSON outputs
with \\u escapes are also read decoded (astral letters are escaped as surrogate pairs).
Raw key bytes are looked for byte for byte here.

  patterns(member, ...)   -> [(kind, label, text)] for one member (from its roster entry)
  others(members, me)     -> patterns of every member but @me
  scan(outputs, pats)     -> ["label in where at offset: context", ...] (empty: no leak)
  outputs_naming(outputs, pats) -> the outputs in which something is found
  literal(kind, *texts)   -> patterns for plain strings
  assert_clean(outputs, pats)
"""

import base64
import json
import os
import subprocess
import tempfile
import urllib.parse


def oracle_bin():
    build = os.environ.get("CHATHAM_BUILD_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "dev")
    path = os.path.join(build, "tests", "leak_oracle")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"the leak oracle is not built at {path!r} (target leak_oracle)")
    return path


def _poc_hosts(poc):
    if not poc:
        return []
    out = []
    mail, url = poc.get(0), poc.get(1)
    if mail:
        out.append(mail.rpartition("@")[2])
    if url:
        host = urllib.parse.urlsplit(url).hostname
        if host:
            out.append(host)
    return out


def patterns(member, addresses=(), shared_hosts=()):
    """(kind, label, text) for @member (a daemonlib.Member; its roster entry is what the
    node knows): display name and aliases ("name"); domains, point-of-contact hosts and
    @addresses ("host:port"), and each address's host unless it is in @shared_hosts (a
    host this node shares, e.g. 127.0.0.1 in a test bed) ("host"); id, transport and ring
    key in hex ("hex"), base64 ("b64") and raw bytes ("raw")."""
    e = member.roster_entry()
    who = e[1]
    out = [("name", f"{who}: name", e[1])]
    out += [("name", f"{who}: alias {a}", a) for a in e.get(2, [])]
    hosts = list(e.get(3, [])) + _poc_hosts(e.get(7))
    for a in list(e.get(6, [])) + list(addresses):
        out.append(("host", f"{who}: address {a}", a))
        host = a.rpartition(":")[0].strip("[]")
        if host not in shared_hosts:
            hosts.append(host)
    out += [("host", f"{who}: host {h}", h) for h in dict.fromkeys(hosts)]
    for label, key in (("id", e[0]), ("transport key", e[4]), ("ring key", e[5])):
        out.append(("hex", f"{who}: {label} hex", key.hex()))
        out.append(("b64", f"{who}: {label} base64", base64.b64encode(key).decode()))
        out.append(("raw", f"{who}: {label} raw", key))
    return out


def others(members, me, addrs=None, shared_hosts=()):
    """Patterns of every member of @members except index @me (@addrs: member name -> its
    "host:port" addresses), less any string member @me has too (a test bed's common domain
    names no one in particular)."""
    def pats(m):
        return patterns(m, (addrs or {}).get(m.name, []), shared_hosts)
    own = {(k, t) for k, _, t in pats(members[me])}
    out = []
    for j, m in enumerate(members):
        if j != me:
            out += [p for p in pats(m) if (p[0], p[2]) not in own]
    return out


def literal(kind, *texts):
    """Patterns of @kind for strings that are not a daemonlib.Member's."""
    return [(kind, t, t) for t in texts]


def assert_clean(outputs, pats):
    """No pattern of @pats in any of @outputs ({where: bytes or str})."""
    leaks = scan({w: d.encode() if isinstance(d, str) else d for w, d in outputs.items()},
                 pats)
    assert not leaks, "the leak oracle found:\n" + "\n".join(leaks)


def _decoded(data):
    """@data's JSON (one document, or one per line) read and written back unescaped; None
    when nothing in it is escaped or nothing parses."""
    if b"\\u" not in data:
        return None
    text = data.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), ensure_ascii=False).encode()
    except ValueError:
        pass
    lines, parsed = [], 0
    for line in text.splitlines():
        try:
            lines.append(json.dumps(json.loads(line), ensure_ascii=False))
            parsed += 1
        except ValueError:
            lines.append(line)
    return "\n".join(lines).encode() if parsed else None


def scan(outputs, pats):
    """Every pattern of @pats found in @outputs ({where: bytes}): a list of
    "label in where at offset: context" (empty when nothing leaks)."""
    return [f"{label} in {where}{at}" for where, label, at in _find(outputs, pats)]


def outputs_naming(outputs, pats):
    """The keys of @outputs in which some pattern of @pats is found."""
    return {where.removesuffix(" (JSON decoded)") for where, _, _ in _find(outputs, pats)}


def _find(outputs, pats):
    found = []
    texts = [p for p in pats if p[0] != "raw"]
    assert texts, "no pattern to look for"
    for kind, label, key in pats:
        if kind == "raw":
            found += [(w, label, "") for w, data in outputs.items() if key in data]
    with tempfile.TemporaryDirectory(prefix="chatham-leak-oracle-") as tmp:
        pfile = os.path.join(tmp, "patterns")
        with open(pfile, "w", encoding="utf-8") as f:
            for kind, label, text in texts:
                assert "\t" not in label + text and "\n" not in label + text, (label, text)
                f.write(f"{kind}\t{label}\t{text}\n")
        files = {}
        for where, data in outputs.items():
            for w, d in ((where, data), (f"{where} (JSON decoded)", _decoded(data))):
                if d is None:
                    continue
                path = os.path.join(tmp, f"{len(files)}.out")
                with open(path, "wb") as f:
                    f.write(d)
                files[path] = w
        p = subprocess.run([oracle_bin(), pfile] + list(files), capture_output=True,
                           timeout=600)
        if p.returncode not in (0, 1):
            raise AssertionError(f"leak_oracle failed ({p.returncode}): {p.stderr.decode()}")
        for line in p.stdout.decode("utf-8", "replace").splitlines():
            path, label, off, ctx = line.split("\t", 3)
            found.append((files.get(path, path), label, f" at {off}: {ctx}"))
        assert p.returncode == (1 if p.stdout else 0), (p.returncode, p.stdout)
    return found

# SPDX-License-Identifier: MIT
"""The leak-oracle corpus (tests/data/leak-corpus/) through a real daemon's every output.

The community is the corpus roster (names, aliases, domains, PoC e-mail and URL) with real
keys; the node is the last member ("Delta CSIRT"). Every corpus line is published as one GREEN
report (its tags and description, key placeholders replaced by the members' real keys,
allow_names set). Then:

  - publishing is refused before signing (NODE_E_NAMES_MEMBER) when the text names another
    member and allow_names is not set, and accepted when it names only the publisher;
  - every output that leaves the community is read: the SIEM export environment (raw bytes),
    `chatham export` in all five formats (jsonl, csv, stix21, plain, misp-feed), the API's
    and the CLI's query / list / status / peers (text and JSON), and the daemon's log at
    debug level (which includes every lower level). No other member's name, alias, domain,
    key hex (whole or its 16-digit prefix) or key base64 appears in any of them
    (case-insensitive, whole words);
  - per corpus line, the exported document is compared with what was published: a "leak"
    line's description/tags left changed (redacted) or not at all (dropped), never as
    written; a control line's text left exactly as written.
Prints how many fields were dropped rather than redacted.
"""

import base64
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import test_leak_scan as ls  # noqa: E402

SRC = os.environ.get("CHATHAM_SOURCE_DIR",
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CORPUS = os.path.join(SRC, "tests", "data", "leak-corpus")


def read_roster():
    out = []
    with open(os.path.join(CORPUS, "roster.txt"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            assert len(parts) in (3, 4), line
            name, aliases, domains = parts[:3]
            poc = [p.strip() for p in parts[3].split(";")] if len(parts) == 4 else []
            assert len(poc) in (0, 2), line
            out.append((name, [a.strip() for a in aliases.split(";") if a.strip()],
                        [d.strip() for d in domains.split(";") if d.strip()], poc))
    return out


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"t": "\t", "n": "\n"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def key_form(key, form):
    h = key.hex()
    if form == "hex":
        return h
    if form in ("HEX", "HEX16"):
        return h.upper()[:16 if form == "HEX16" else 64]
    if form.startswith("hex") and form[3:].isdigit():
        return h[:int(form[3:])]
    if form in ("hexcolon", "hexcolon8", "hexspace"):
        n = 32 if form == "hexcolon" else 8
        return (" " if form == "hexspace" else ":").join(h[2 * i:2 * i + 2] for i in range(n))
    if form == "0x":
        return "0x" + h[:16]
    if form == "b64":
        return base64.b64encode(key).decode()
    if form == "b64nopad":
        return base64.b64encode(key).decode().rstrip("=")
    if form == "b64url":
        return base64.urlsafe_b64encode(key).decode().rstrip("=")
    if form == "b64_20":
        return base64.b64encode(key).decode()[:20]
    raise AssertionError(f"unknown key form {form}")


def expand(text, members):
    import re

    def sub(m):
        member = members[int(m.group(2))]
        key = {"id": member.id, "tx": member.tx_pk, "ring": member.ring_pk}[m.group(1)]
        return key_form(key, m.group(3))
    return re.sub(r"\{(id|tx|ring):(\d+):([A-Za-z0-9_]+)\}", sub, unescape(text))


def read_corpus(members):
    cases = []
    with open(os.path.join(CORPUS, "corpus.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            tags, desc = [], None
            for field in cols[2:]:
                kind, _, text = field.partition(":")
                if kind == "tag":
                    tags.append(expand(text, members))
                else:
                    desc = expand(text, members)
            cases.append((cols[0], cols[1], tags, desc))
    return cases


def poc_hosts(m):
    """The e-mail domain and URL host of @m's point of contact (member patterns too)."""
    if not m.poc:
        return []
    host = urllib.parse.urlsplit(m.poc[1]).hostname
    return [m.poc[0].rpartition("@")[2], host]


def needles(members, publisher):
    out = []
    for j, m in enumerate(members):
        if j == publisher:
            continue
        for label, key in (("id", m.id), ("transport key", m.tx_pk), ("ring key", m.ring_pk)):
            out.append((f"{m.name} {label} hex", key.hex().encode(), "text"))
            out.append((f"{m.name} {label} hex16", key.hex()[:16].encode(), "text"))
            out.append((f"{m.name} {label} raw", key, "raw"))
            for enc in (base64.b64encode(key), base64.urlsafe_b64encode(key)):
                out.append((f"{m.name} {label} base64", enc.rstrip(b"="), "raw"))
        for text in [m.name] + m.aliases + m.domains + poc_hosts(m):
            out.append((f"{m.name}: {text}", text.encode(), "text"))
    return out


def test_leak_corpus():
    roster = read_roster()
    community = dl.Community(name="Leak Corpus Community", members=[r[0] for r in roster])
    for m, (_, aliases, domains, poc) in zip(community.members, roster):
        m.aliases, m.domains = aliases, domains
        if poc:
            m.poc = {0: poc[0], 1: poc[1]}
        base = m.roster_entry

        def entry(base=base, m=m):
            e = base()
            e[2] = list(m.aliases)
            e[3] = list(m.domains)
            return dict(sorted(e.items()))
        m.roster_entry = entry
    me = len(community.members) - 1
    node = dl.Node(community, member_index=me, extra_config="[log]\nlevel = debug\n")
    members = community.members
    cases = read_corpus(members)
    d = dl.Daemon(node)
    ok = False
    try:
        d.start()
        # Stop leaks at the source: refused before signing unless allow_names.
        r = d.call({"op": "publish", "value": "refused.corpus-indicator.net", "tlp": "GREEN",
                    "description": "Reported by CERT Alpha yesterday"})
        assert not r["ok"] and r["error"]["code"] == "NODE_E_NAMES_MEMBER", r
        r = d.call({"op": "publish", "value": "refused.corpus-indicator.net", "tlp": "GREEN",
                    "tags": ["CERT"], "description": "Alpha reported it"})
        assert not r["ok"] and r["error"]["code"] == "NODE_E_NAMES_MEMBER", r
        # Split across tags that are not neighbours, in the other order: refused too.
        r = d.call({"op": "publish", "value": "refused.corpus-indicator.net", "tlp": "GREEN",
                    "tags": ["Alpha", "phishing", "CERT"], "description": "seen twice"})
        assert not r["ok"] and r["error"]["code"] == "NODE_E_NAMES_MEMBER", r
        r = d.call({"op": "publish", "value": "own.corpus-indicator.net", "tlp": "GREEN",
                    "description": "Delta CSIRT (this node) saw it"})
        assert r["ok"], r

        held = []
        for i, (_, _, tags, desc) in enumerate(cases):
            item = {"op": "publish", "value": f"c{i}.corpus-indicator.net", "tlp": "GREEN",
                    "allow_names": True}
            if tags:
                item["tags"] = tags
            if desc is not None:
                item["description"] = desc
            r = d.call(item)
            assert r["ok"], (cases[i], r)
            held.append(item["value"])
        ls.wait_exports([d])

        outputs = ls.collect_outputs(node, d, held)
        leaks = []
        for where, data in outputs.items():
            for label in ls.scan(data, needles(members, me)):
                leaks.append(f"{label} in {where}")
        assert not leaks, "\n".join(leaks)

        docs = {}
        for line in outputs["export jsonl"].decode().splitlines():
            if line.strip().startswith("{"):
                doc = json.loads(line)
                docs[doc["chatham"]["value"]] = doc["chatham"]
        assert len(docs) >= len(cases), f"{len(docs)} exported documents"
        n_fields = n_dropped = n_redacted = 0
        bad = []
        for i, (expect, cls, tags, desc) in enumerate(cases):
            doc = docs[f"c{i}.corpus-indicator.net"]
            out_desc, out_tags = doc.get("description"), doc.get("tags", [])
            fields_in = tags + ([desc] if desc is not None else [])
            n_fields += len(fields_in)
            if desc is not None:
                if out_desc is None:
                    n_dropped += expect == "leak"
                elif out_desc != desc:
                    n_redacted += 1
            if expect == "keep":
                if out_desc != desc or sorted(out_tags) != sorted(tags):
                    bad.append(f"control changed: {(tags, desc)} -> {(out_tags, out_desc)}")
            elif out_desc == desc and desc is not None and not tags:
                bad.append(f"{cls} left as written: {desc!r}")
            elif (desc is None or out_desc == desc) and sorted(out_tags) == sorted(tags):
                bad.append(f"{cls} left as written: {(tags, desc)!r}")
        print(f"leak corpus through a real daemon: {len(cases)} lines, {n_fields} fields; "
              f"{n_redacted} descriptions redacted, {n_dropped} dropped rather than "
              f"redacted; {len(outputs)} outputs scanned", flush=True)
        assert not bad, "\n".join(bad)
        assert "[member]" in outputs["export jsonl"].decode()
        assert d.stop() == 0
        ok = True
    finally:
        d.kill()
        if not ok:
            print(f"--- log:\n{d.log()[-4000:]}---", flush=True)
        node.cleanup()


if __name__ == "__main__":
    dl.main([test_leak_corpus])

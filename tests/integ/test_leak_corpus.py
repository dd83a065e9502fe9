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
    debug level (which includes every lower level). The leak oracle (leakoracle.py: no
    member skeleton in the output skeleton) finds no other member's name, alias, domain,
    point-of-contact host, key hex prefix (8+ digits), base64 prefix (16+ characters) or
    raw key in any of them, in any spelling;
  - per corpus line, the exported document is compared with what was published: a "leak"
    line's description/tags left changed (redacted) or not at all (dropped), never as
    written; a control line's text left exactly as written.
Prints how many fields were redacted and how many dropped rather than redacted.
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib as dl  # noqa: E402
import leakoracle  # noqa: E402
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


def corpus_community():
    """The corpus roster as a community with real keys; the node is its last member."""
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
    return community, len(community.members) - 1


def publish_corpus(d, cases, marking=lambda i: {"tlp": "GREEN"}):
    """Every corpus line as one report c<i>.corpus-indicator.net (allow_names), marked
    @marking(i) (its tlp and recipients; GREEN by default)."""
    held = []
    for i, (_, _, tags, desc) in enumerate(cases):
        item = {"op": "publish", "value": f"c{i}.corpus-indicator.net", "allow_names": True,
                **marking(i)}
        if tags:
            item["tags"] = tags
        if desc is not None:
            item["description"] = desc
        r = d.call(item)
        assert r["ok"], (cases[i], r)
        held.append(item["value"])
    return held


def count_fields(cases, out):
    """Compares what left (@out: value -> (description or None, tags)) with each corpus line:
    a "leak" line's fields left changed or not at all, never as written; a control's
    exactly as written. Returns (counts, problems)."""
    n = dict.fromkeys(("fields", "desc_redacted", "desc_dropped", "tags_redacted",
                       "tags_dropped"), 0)
    bad = []
    for i, (expect, cls, tags, desc) in enumerate(cases):
        out_desc, out_tags = out[f"c{i}.corpus-indicator.net"]
        n["fields"] += len(tags) + (desc is not None)
        if desc is not None:
            if out_desc is None:
                n["desc_dropped"] += expect == "leak"
            elif out_desc != desc:
                n["desc_redacted"] += 1
        n["tags_dropped"] += len(tags) - len(out_tags)
        n["tags_redacted"] += sum(1 for t in out_tags if t not in tags)
        if expect == "keep":
            if out_desc != desc or sorted(out_tags) != sorted(tags):
                bad.append(f"control changed: {(tags, desc)} -> {(out_tags, out_desc)}")
        elif out_desc == desc and desc is not None and not tags:
            bad.append(f"{cls} left as written: {desc!r}")
        elif (desc is None or out_desc == desc) and sorted(out_tags) == sorted(tags):
            bad.append(f"{cls} left as written: {(tags, desc)!r}")
    return n, bad


def counts_text(n):
    return (f"{n['fields']} fields; descriptions: {n['desc_redacted']} redacted, "
            f"{n['desc_dropped']} dropped rather than redacted; tags: {n['tags_redacted']} "
            f"redacted, {n['tags_dropped']} dropped")


def oracle_on_corpus(cases, members, me):
    """The leak oracle on the corpus as published, each line as one report's JSON: no
    control trips it, and every leak line it does not find names only this node's own
    member (whom the oracle leaves out here) or is a name split over tags that are not side
    by side in reading order (which the redactor catches in any order, and the oracle,
    reading outputs as a reader does, by design does not)."""
    published = {str(i): json.dumps({"tags": tags, "description": desc},
                                    ensure_ascii=False).encode()
                 for i, (_, _, tags, desc) in enumerate(cases)}
    named = leakoracle.outputs_naming(published, leakoracle.others(members, me))
    own = leakoracle.outputs_naming(published, leakoracle.patterns(members[me]))
    controls = [c for i, c in enumerate(cases) if c[0] == "keep" and str(i) in named]
    assert not controls, f"controls trip the leak oracle: {controls}"
    missed = [i for i, c in enumerate(cases) if c[0] == "leak" and str(i) not in named]
    unexplained = [cases[i] for i in missed if str(i) not in own and cases[i][1] != "split"]
    assert not unexplained, f"leak lines the oracle does not find: {unexplained}"
    n_own = sum(1 for i in missed if str(i) in own)
    n_leak = sum(1 for c in cases if c[0] == "leak")
    print(f"leak oracle on the corpus as published: {n_leak - len(missed)} of {n_leak} leak "
          f"lines found ({n_own} name only this node's member, {len(missed) - n_own} are "
          f"splits not side by side); 0 of {len(cases) - n_leak} controls", flush=True)


def test_leak_corpus():
    community, me = corpus_community()
    node = dl.Node(community, member_index=me, extra_config="[log]\nlevel = debug\n")
    members = community.members
    cases = read_corpus(members)
    oracle_on_corpus(cases, members, me)
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

        held = publish_corpus(d, cases)
        ls.wait_exports([d])

        outputs = ls.collect_outputs(node, d, held)
        leaks = leakoracle.scan(outputs, leakoracle.others(members, me))
        assert not leaks, "\n".join(leaks)

        docs = {}
        for line in outputs["export jsonl"].decode().splitlines():
            if line.strip().startswith("{"):
                ch = json.loads(line)["chatham"]
                docs[ch["value"]] = (ch.get("description"), ch.get("tags", []))
        assert len(docs) >= len(cases), f"{len(docs)} exported documents"
        n, bad = count_fields(cases, docs)
        print(f"leak corpus through a real daemon: {len(cases)} lines, {counts_text(n)}; "
              f"{len(outputs)} outputs scanned", flush=True)
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

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""STIX 2.1 output of `chatham export` against the OASIS JSON schemas and the TLP 2.0
marking-definition schema in tests/data/stix21, with ajv from npm (installed into the build
directory on first use; the test fails when npm cannot install it). Every indicator type, every TLP and every state is exported, fully and
incrementally, and each bundle must validate. A tampered copy must not, so the validator is
known to be able to fail."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import (ExportEnv, StixValidator, check_stix_bundle, chatham_bin,  # noqa: E402
                           fail, make_doc, run)

COMMUNITY = "Schema Test Community"

VALUES = [
    ("ipv4", "198.51.100.7"), ("ipv4", "10.0.0.0/8"), ("ipv6", "2001:db8::1"),
    ("ipv6", "2001:db8::/32"), ("domain", "xn--bcher-kva.example"),
    ("url", "https://evil.example:8443/p?q='1'&r=2#f"), ("email", "o'brien@evil.example"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("sha512", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
               "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
]
TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
STATES = ["active", "active", "withdrawn", "expired", "observed"]


def main():
    chatham_bin()
    try:
        import lmdb  # noqa: F401
    except ImportError:
        fail("python3-lmdb is not installed (deploy/install-deps.sh installs it)")
    v = StixValidator()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        env = ExportEnv(os.path.join(tmp, "export"), COMMUNITY)
        seq = 0
        for i, (typ, value) in enumerate(VALUES):
            seq += 1
            env.add(make_doc(seq, typ, value, TLPS[i % 5], STATES[i % 5], community=COMMUNITY,
                             confidence=(i * 17) % 101, tags=["tag-%d" % i] if i % 2 else [],
                             description="indicator %d" % i if i % 3 else None,
                             valid_until=1900000000000 if i % 4 == 0 else None))
        env.close()
        bundles = []
        for name, extra in (("full", []), ("incremental", ["--since", "3"]),
                            ("ipv4", ["--type", "ipv4"]), ("empty", ["--since", "999"])):
            out = os.path.join(tmp, name + ".json")
            run("export", "--format", "stix21", "--export-dir", env.path, "--out", out, *extra,
                check=0)
            bundles.append((name, out))
        for name, out in bundles:
            b = json.load(open(out))
            try:
                check_stix_bundle(b, COMMUNITY)
                ok, text = v.validate(out)
                assert ok, text
                passed += 1
                print("ok   %s (%d objects)" % (name, len(b["objects"])))
            except AssertionError as e:
                failed += 1
                print("FAIL %s: %s" % (name, e))
        # Negative control: an indicator without its pattern is refused by the schemas.
        b = json.load(open(bundles[0][1]))
        for o in b["objects"]:
            if o["type"] == "indicator":
                del o["pattern"]
                break
        bad = os.path.join(tmp, "tampered.json")
        json.dump(b, open(bad, "w"))
        ok, text = v.validate(bad)
        if ok:
            failed += 1
            print("FAIL the validator accepted an indicator without a pattern")
        else:
            passed += 1
            print("ok   tampered bundle rejected")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

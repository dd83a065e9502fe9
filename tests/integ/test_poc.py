#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The community directory: stewards put each member's point of contact and constituency in
its roster entry (`roster add --poc-* --prefix --asn --constituency-domain`), the stewards'
signatures cover them, and `chatham poc show|whois` answers offline from the roster file,
most specific constituency first; a roster entry updated without directory options keeps
its directory; bad values are refused naming the field."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import run  # noqa: E402


def pub(path):
    return json.load(open(path + ".pub"))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda *a: os.path.join(tmp, *a)  # noqa: E731
        run("community", "init", "--name", "Directory Test", "--stewards", "1",
            "--out-dir", p("comm"), check=0)
        comm, skey, roster = p("comm", "community"), p("comm", "steward-1.key"), p("roster")
        for name in ("alpha", "beta", "gamma"):
            run("keygen", "--out", p(name + ".key"), "--name", name, check=0)
        run("roster", "add", "--roster", roster, "--community", comm,
            "--key", p("alpha.key.pub"), "--name", "CERT Alpha", "--alias", "AlphaSOC",
            "--poc-email", "csirt@alpha.example", "--poc-url", "https://csirt.alpha.example/",
            "--poc-phone", "+81 3-1234-5678", "--poc-hours", "平日 9:00-18:00",
            "--poc-tz", "Asia/Tokyo", "--poc-lang", "ja", "--poc-lang", "en",
            "--poc-pgp", "0123456789abcdef0123456789abcdef01234567",
            "--prefix", "198.51.100.0/24", "--prefix", "2001:db8:a::/48",
            "--asn", "64500", "--constituency-domain", "alpha.example", check=0)
        run("roster", "add", "--roster", roster, "--key", p("beta.key.pub"),
            "--name", "Beta Bank SOC", "--poc-email", "soc@bank.example.jp",
            "--prefix", "198.51.100.128/25", "--constituency-domain", "bank.example.jp",
            "--constituency-domain", "example.jp", check=0)
        run("roster", "add", "--roster", roster, "--key", p("gamma.key.pub"),
            "--name", "Gamma CERT", check=0)
        # Refusals name the field.
        for opt, val, what in (("--poc-email", "not-an-address", "e-mail"),
                               ("--poc-tz", "Tokyo time", "time zone"),
                               ("--prefix", "198.51.100.1/24", "prefix"),
                               ("--asn", "0", "AS"),
                               ("--poc-pgp", "abcd", "OpenPGP")):
            r = run("roster", "add", "--roster", roster, "--key", p("gamma.key.pub"),
                    "--name", "Gamma CERT", opt, val)
            assert r.returncode in (1, 2) and what in r.stderr, (opt, r.returncode, r.stderr)
        run("roster", "sign", "--roster", roster, "--steward-key", skey, "--community", comm,
            check=0)
        run("roster", "verify", "--roster", roster, "--community", comm, check=0)

        alpha_id = pub(p("alpha.key"))["member_id"]
        every = json.loads(run("poc", "show", "--roster", roster, "--json", check=0).stdout)
        assert sorted(m["name"] for m in every) == ["Beta Bank SOC", "CERT Alpha", "Gamma CERT"]
        assert [m["member_id"] for m in every] == sorted(m["member_id"] for m in every)
        a = json.loads(run("poc", "show", "--roster", roster, "--json", "alphasoc",
                           check=0).stdout)
        assert len(a) == 1 and a[0]["member_id"] == alpha_id
        assert a[0]["poc"] == {
            "email": "csirt@alpha.example", "url": "https://csirt.alpha.example/",
            "phone": "+81 3-1234-5678", "hours": "平日 9:00-18:00", "time_zone": "Asia/Tokyo",
            "languages": ["ja", "en"],
            "openpgp_fingerprint": "0123456789abcdef0123456789abcdef01234567"}, a[0]["poc"]
        assert a[0]["constituency"] == {"prefixes": ["198.51.100.0/24", "2001:db8:a::/48"],
                                        "asns": [64500], "domains": ["alpha.example"]}
        t = run("poc", "show", "--roster", roster, alpha_id[:8], check=0).stdout
        assert "CERT Alpha" in t and "csirt@alpha.example" in t and "Asia/Tokyo" in t, t
        run("poc", "show", "--roster", roster, "nobody", check=1)

        def whois(v):
            r = run("poc", "whois", "--roster", roster, "--json", v)
            return r.returncode, [m["name"] for m in json.loads(r.stdout or "[]")]

        assert whois("198.51.100.7") == (0, ["CERT Alpha"])
        # Both hold .200; Beta's /25 is the more specific.
        assert whois("198.51.100.200") == (0, ["Beta Bank SOC", "CERT Alpha"])
        assert whois("2001:db8:a:1::99") == (0, ["CERT Alpha"])
        assert whois("https://www.alpha.example/login") == (0, ["CERT Alpha"])
        assert whois("evilalpha.example") == (1, [])
        assert whois("mail.bank.example.jp") == (0, ["Beta Bank SOC"])
        assert whois("user@other.example.jp") == (0, ["Beta Bank SOC"])
        assert whois("AS64500") == (0, ["CERT Alpha"])
        assert whois("192.0.2.1") == (1, [])

        # Updating an entry without directory options keeps its directory.
        run("roster", "add", "--roster", roster, "--out", p("roster2"), "--key",
            p("alpha.key.pub"), "--name", "CERT Alpha", "--address", "127.0.0.1:7001",
            check=0)
        a2 = json.loads(run("poc", "show", "--roster", p("roster2"), "--json", "CERT Alpha",
                            check=0).stdout)
        assert a2[0]["poc"] == a[0]["poc"] and a2[0]["constituency"] == a[0]["constituency"]

        # The stewards' signatures cover the directory: an edited e-mail fails verify.
        raw = open(roster, "rb").read()
        assert b"csirt@alpha.example" in raw
        open(p("forged"), "wb").write(raw.replace(b"csirt@alpha.example",
                                                  b"csirt@alpha.exampla"))
        r = run("roster", "verify", "--roster", p("forged"), "--community", comm)
        assert r.returncode == 1, r.stdout + r.stderr
        run("poc", "whois", "--roster", roster, check=2)
    print("poc: directory signed, shown and searched offline")


if __name__ == "__main__":
    main()

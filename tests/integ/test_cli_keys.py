#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Key, community and roster commands end to end on files: what they write (modes, public
parts), the roster life cycle across two epochs with a 2-of-3 steward quorum, the checks
`roster verify` makes, and the errors and exit codes an operator meets."""
import json
import msgpack
import os
import stat
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_exportenv import chatham_bin, run  # noqa: E402


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def pub(path):
    return json.load(open(path + ".pub"))


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        self.comm = os.path.join(tmp, "comm")

    def p(self, *parts):
        return os.path.join(self.tmp, *parts)


def test_community_init(w):
    p = run("community", "init", "--name", "Example CSIRT Network", "--stewards", "3",
            "--threshold", "2", "--out-dir", w.comm, "--json", check=0)
    res = json.loads(p.stdout)
    assert res["name"] == "Example CSIRT Network" and res["threshold"] == 2
    assert len(res["community_id"]) == 64 and len(res["steward_pks"]) == 3
    assert mode(w.comm) == 0o750
    assert mode(os.path.join(w.comm, "network.key")) == 0o600
    for i in (1, 2, 3):
        k = os.path.join(w.comm, "steward-%d.key" % i)
        assert mode(k) == 0o600
        assert pub(k)["steward_pk"] == res["steward_pks"][i - 1]
    assert mode(os.path.join(w.comm, "community")) & 0o077 in (0o044, 0o004, 0o040, 0)
    # Nothing secret on stdout: no key file content appears there.
    secret = open(os.path.join(w.comm, "network.key"), "rb").read()
    assert secret.hex()[-64:] not in p.stdout
    # A second init into the same directory refuses to replace the files.
    p = run("community", "init", "--name", "X", "--stewards", "1", "--out-dir", w.comm)
    assert p.returncode == 1 and "already exists" in p.stderr, p.stderr


def test_community_usage(w):
    for args in (["community"], ["community", "init", "--stewards", "2", "--out-dir", w.p("c")],
                 ["community", "init", "--name", "A", "--stewards", "2", "--out-dir", w.p("c")],
                 ["community", "init", "--name", "A", "--stewards", "2", "--threshold", "3",
                  "--out-dir", w.p("c")],
                 ["community", "init", "--name", "A", "--steward-pk", "zz", "--out-dir",
                  w.p("c")],
                 ["community", "frobnicate"]):
        p = run(*args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert not os.path.exists(w.p("c"))
    # External steward keys: one generated elsewhere, one here, 2-of-2.
    run("keygen", "--steward", "--out", w.p("ext.key"), check=0)
    p = run("community", "init", "--name", "Mixed", "--steward-pk", pub(w.p("ext.key"))[
        "steward_pk"], "--stewards", "1", "--threshold", "2", "--out-dir", w.p("mixed"),
        "--json", check=0)
    assert json.loads(p.stdout)["steward_pks"][0] == pub(w.p("ext.key"))["steward_pk"]


def test_community_sealed(w):
    """--sealed-k deals the OPRF key: one 0600 share file per steward, in the community
    file's steward order, the settings and verification keys public in the community file."""
    d = w.p("sealed")
    p = run("community", "init", "--name", "Sealed", "--stewards", "3", "--threshold", "2",
            "--sealed-k", "3", "--sealed-quota", "500", "--sealed-window", "7", "--out-dir", d,
            "--json", check=0)
    res = json.loads(p.stdout)
    assert res["sealed"] == {"k": 3, "oprf_threshold": 2, "oprf_shares": 3, "quota": 500,
                             "window_days": 7}, res
    comm = msgpack.unpackb(open(os.path.join(d, "community"), "rb").read(),
                           strict_map_key=False)
    sealed = comm[6]
    assert [sealed[i] for i in range(4)] == [3, 2, 500, 7], sealed
    assert len(sealed[4]) == 32 and len(sealed[5]) == 3
    assert len(set(sealed[5]) | {sealed[4]}) == 4
    for j in (1, 2, 3):
        f = os.path.join(d, "oprf-share-%d.key" % j)
        assert mode(f) == 0o600 and f in res["files"]
        share = msgpack.unpackb(open(f, "rb").read(), strict_map_key=False)
        assert share[0] == "chatham-oprf-share" and share[3] == j
        assert share[2].hex() == res["community_id"]
        assert share[4].hex() not in p.stdout
    # The community file stays an authority for roster epoch 1.
    run("keygen", "--out", w.p("sealed-m.key"), check=0)
    r = w.p("sealed-roster")
    run("roster", "add", "--roster", r, "--community", os.path.join(d, "community"), "--key",
        w.p("sealed-m.key.pub"), "--name", "m", check=0)
    # Defaults: the OPRF threshold follows --threshold; one steward deals a 1-of-1 key.
    p = run("community", "init", "--name", "One", "--stewards", "1", "--sealed-k", "2",
            "--out-dir", w.p("sealed1"), "--json", check=0)
    assert json.loads(p.stdout)["sealed"] == {"k": 2, "oprf_threshold": 1, "oprf_shares": 1,
                                              "quota": 100000, "window_days": 30}
    # Without --sealed-k nothing is dealt and the file has no key 6.
    comm = msgpack.unpackb(open(os.path.join(w.comm, "community"), "rb").read(),
                           strict_map_key=False)
    assert 6 not in comm and not any(f.startswith("oprf-share") for f in os.listdir(w.comm))
    for args in (["--sealed-k", "1"], ["--sealed-k", "33"], ["--sealed-quota", "5"],
                 ["--sealed-k", "3", "--oprf-threshold", "4"],
                 ["--sealed-k", "3", "--sealed-window", "0"],
                 ["--sealed-k", "3", "--sealed-quota", "0"]):
        p = run("community", "init", "--name", "A", "--stewards", "3", "--threshold", "2",
                "--out-dir", w.p("bad"), *args)
        assert p.returncode == 2 and p.stderr, (args, p.returncode, p.stderr)
    assert not os.path.exists(w.p("bad"))


def test_keygen(w):
    a = w.p("alpha.key")
    p = run("keygen", "--out", a, "--name", "Alpha CERT", check=0)
    info = pub(a)
    assert info["chatham"] == "member-public-key" and info["name"] == "Alpha CERT"
    for k in ("member_id", "transport_pk", "ring_pk"):
        assert len(info[k]) == 64 and info[k] in p.stdout
    assert len({info["member_id"], info["transport_pk"], info["ring_pk"]}) == 3
    assert mode(a) == 0o600
    before = open(a, "rb").read()
    p = run("keygen", "--out", a)
    assert p.returncode == 1 and "--force" in p.stderr
    assert open(a, "rb").read() == before
    run("keygen", "--out", a, "--force", "--name", "Alpha CERT", check=0)
    assert open(a, "rb").read() != before
    run("keygen", "--out", w.p("bravo.key"), check=0)
    run("keygen", "--out", w.p("charlie.key"), "--name", "Charlie", check=0)
    assert run("keygen").returncode == 2
    assert run("keygen", "--out", w.p("x.key"), "--steward", "--name", "N").returncode == 2
    # --rotate never writes the new bundle over the old key it must sign with.
    kept = open(a, "rb").read()
    for out in (a, os.path.join(os.path.dirname(a), ".", os.path.basename(a))):
        p = run("keygen", "--rotate", a, "--community", w.p("none"), "--out", out, "--force")
        assert p.returncode == 2 and "old key file" in p.stderr, p.stderr
    assert open(a, "rb").read() == kept


def test_roster_epoch1(w):
    r1 = w.p("roster1")
    community = os.path.join(w.comm, "community")
    p = run("roster", "add", "--roster", r1, "--key", w.p("alpha.key.pub"))
    assert p.returncode == 1 and "--community" in p.stderr
    run("roster", "add", "--roster", r1, "--community", community, "--key", w.p("alpha.key.pub"),
        "--alias", "Alpha", "--domain", "Alpha.Example", "--address", "127.0.0.1:7400",
        check=0)
    # A member key bundle works too (public halves); its name must then be given.
    p = run("roster", "add", "--roster", r1, "--key", w.p("bravo.key"))
    assert p.returncode == 2 and "--name" in p.stderr
    run("roster", "add", "--roster", r1, "--key", w.p("bravo.key"), "--name", "Bravo",
        check=0)
    show = json.loads(run("roster", "show", "--roster", r1, "--json", check=0).stdout)
    assert show["epoch"] == 1 and show["signed_by"] == [] and len(show["members"]) == 2
    alpha = [m for m in show["members"] if m["name"] == "Alpha CERT"][0]
    assert alpha["member_id"] == pub(w.p("alpha.key"))["member_id"]
    assert alpha["domains"] == ["alpha.example"] and alpha["addresses"] == ["127.0.0.1:7400"]

    p = run("roster", "verify", "--roster", r1, "--community", community)
    assert p.returncode == 1 and "0 valid signatures" in p.stderr, p.stderr
    p = run("roster", "sign", "--roster", r1, "--steward-key", os.path.join(w.comm, "steward-1.key"))
    assert p.returncode == 1 and "--community" in p.stderr
    p = run("roster", "sign", "--roster", r1, "--community", community, "--steward-key",
            os.path.join(w.comm, "steward-1.key"), check=0)
    assert "more signatures needed" in p.stdout
    p = run("roster", "verify", "--roster", r1, "--community", community)
    assert p.returncode == 1 and "1 valid signature," in p.stderr
    p = run("roster", "sign", "--roster", r1, "--authority", community, "--steward-key",
            os.path.join(w.comm, "steward-3.key"), check=0)
    assert "complete" in p.stdout
    p = run("roster", "verify", "--roster", r1, "--community", community, check=0)
    assert p.stdout.strip() == "valid: epoch 1, 2 members, 2/3 signatures (threshold 2)", p.stdout
    # A steward of another community cannot sign.
    p = run("roster", "sign", "--roster", r1, "--community", community, "--steward-key",
            w.p("ext.key"))
    assert p.returncode == 1 and "not one of the 3 stewards" in p.stderr
    # Another community's file is not this roster's authority.
    p = run("roster", "verify", "--roster", r1, "--community", os.path.join(w.p("mixed"),
                                                                             "community"))
    assert p.returncode == 1 and "another community" in p.stderr, p.stderr


def test_roster_tampered(w):
    bad = w.p("roster-bad")
    data = bytearray(open(w.p("roster1"), "rb").read())
    data[-3] ^= 0x40  # inside the last signature
    open(bad, "wb").write(bytes(data))
    p = run("roster", "verify", "--roster", bad, "--community", os.path.join(w.comm, "community"))
    assert p.returncode == 1 and "does not verify" in p.stderr, p.stderr
    open(bad, "wb").write(b"not a roster")
    p = run("roster", "show", "--roster", bad)
    assert p.returncode == 1 and "roster" in p.stderr


def test_roster_epoch2(w):
    r1, r2 = w.p("roster1"), w.p("roster2")
    community = os.path.join(w.comm, "community")
    before = open(r1, "rb").read()
    p = run("roster", "add", "--roster", r1, "--key", w.p("charlie.key.pub"))
    assert p.returncode == 1 and "--out" in p.stderr
    assert open(r1, "rb").read() == before, "a complete roster was modified"
    run("roster", "add", "--roster", r1, "--key", w.p("charlie.key.pub"), "--out", r2,
        "--min-ring-size", "3", check=0)
    show = json.loads(run("roster", "show", "--roster", r2, "--json", check=0).stdout)
    assert show["epoch"] == 2 and len(show["members"]) == 3
    assert show["settings"]["min_ring_size"] == 3
    p = run("roster", "sign", "--roster", r2, "--community", community, "--steward-key",
            os.path.join(w.comm, "steward-2.key"))
    assert p.returncode == 1 and "--previous" in p.stderr
    for k in ("steward-2.key", "steward-3.key"):
        run("roster", "sign", "--roster", r2, "--previous", r1, "--steward-key",
            os.path.join(w.comm, k), check=0)
    p = run("roster", "verify", "--roster", r2, "--community", community)
    assert p.returncode == 1 and "--previous" in p.stderr
    p = run("roster", "verify", "--roster", r2, "--community", community, "--previous", r1,
            "--json", check=0)
    v = json.loads(p.stdout)
    assert v == {"valid": True, "epoch": 2, "members": 3, "signatures": 2, "stewards": 3,
                 "threshold": 2}, v
    # Epoch 1 cannot be presented as newer than epoch 2.
    p = run("roster", "verify", "--roster", r1, "--community", community, "--previous", r2)
    assert p.returncode == 0  # epoch 1 is always checked against the community file
    # Removing a member from the complete epoch 2 starts epoch 3.
    cid = pub(w.p("charlie.key"))["member_id"]
    run("roster", "remove", "--roster", r2, "--member-id", cid, "--out", w.p("roster3"), check=0)
    show = json.loads(run("roster", "show", "--roster", w.p("roster3"), "--json",
                          check=0).stdout)
    assert show["epoch"] == 3 and len(show["members"]) == 2


def test_roster_stewards(w):
    """Epoch 2 (complete, 2 of stewards 1-3) -> epoch 3 draft that replaces steward 1 by a
    new steward 4 and raises k to 3. The new steward cannot sign its own appointment; two of
    the stewards in office make it complete; from then on k = 3 of the new set."""
    r2, r3 = w.p("roster2"), w.p("roster3s")
    community = os.path.join(w.comm, "community")
    run("keygen", "--steward", "--out", w.p("steward-4.key"), check=0)
    new = pub(w.p("steward-4.key"))["steward_pk"]
    old = pub(os.path.join(w.comm, "steward-1.key"))["steward_pk"]
    p = run("roster", "stewards", "--roster", r2, "--out", r3)
    assert p.returncode == 2 and "nothing to change" in p.stderr, p.stderr
    p = run("roster", "stewards", "--roster", r2, "--out", r3, "--remove-steward", new)
    assert p.returncode == 1 and "not a steward" in p.stderr, p.stderr
    p = run("roster", "stewards", "--roster", r2, "--out", r3, "--add-steward", new,
            "--remove-steward", old, "--threshold", "4")
    assert p.returncode == 1 and "threshold" in p.stderr, p.stderr
    run("roster", "stewards", "--roster", r2, "--out", r3, "--add-steward", new,
        "--remove-steward", old, "--threshold", "3", check=0)
    show = json.loads(run("roster", "show", "--roster", r3, "--json", check=0).stdout)
    assert show["epoch"] == 3 and show["threshold"] == 3 and show["signed_by"] == []
    assert new in show["stewards"] and old not in show["stewards"]
    assert len(show["stewards"]) == 3
    p = run("roster", "sign", "--roster", r3, "--previous", r2, "--steward-key",
            w.p("steward-4.key"))
    assert p.returncode == 1 and "not one of the 3 stewards" in p.stderr, p.stderr
    run("roster", "sign", "--roster", r3, "--previous", r2, "--steward-key",
        os.path.join(w.comm, "steward-1.key"), check=0)
    p = run("roster", "verify", "--roster", r3, "--community", community, "--previous", r2)
    assert p.returncode == 1 and "threshold is 2" in p.stderr, p.stderr
    run("roster", "sign", "--roster", r3, "--previous", r2, "--steward-key",
        os.path.join(w.comm, "steward-3.key"), check=0)
    p = run("roster", "verify", "--roster", r3, "--community", community, "--previous", r2,
            "--json", check=0)
    assert json.loads(p.stdout)["valid"] is True


def test_roster_revoke(w):
    """Charlie's key is compromised: epoch 3 (from the complete epoch 2) adds Charlie's new
    keys, retires the old member id from a time with the new id as successor, and the old
    key can never come back."""
    r2, r3 = w.p("roster2"), w.p("roster3r")
    community = os.path.join(w.comm, "community")
    old = pub(w.p("charlie.key"))["member_id"]
    run("keygen", "--out", w.p("charlie2.key"), "--name", "Charlie CERT", check=0)
    new = pub(w.p("charlie2.key"))["member_id"]
    p = run("roster", "revoke", "--roster", r2, "--out", r3, "--member-id", old)
    assert p.returncode == 2 and "--from" in p.stderr, p.stderr
    p = run("roster", "revoke", "--roster", r2, "--out", r3, "--member-id", old, "--from",
            "yesterday")
    assert p.returncode == 2 and "RFC 3339" in p.stderr, p.stderr
    p = run("roster", "revoke", "--roster", r2, "--out", r3, "--member-id", old, "--from",
            "2026-01-31T12:00:00Z", "--successor", new)
    assert p.returncode == 1 and "roster add" in p.stderr, p.stderr
    run("roster", "add", "--roster", r2, "--out", r3, "--key", w.p("charlie2.key.pub"),
        check=0)
    p = run("roster", "revoke", "--roster", r3, "--member-id", old, "--from",
            "2026-01-31T12:00:00Z", "--successor", new, check=0)
    assert "retired" in p.stdout
    show = json.loads(run("roster", "show", "--roster", r3, "--json", check=0).stdout)
    assert show["epoch"] == 3
    assert show["retired"] == [{"member_id": old, "not_after_ms": 1769860800000,
                                "successor": new}], show["retired"]
    assert old not in [m["member_id"] for m in show["members"]]
    text = run("roster", "show", "--roster", r3, check=0).stdout
    assert "after 2026-01-31T12:00:00Z" in text and "successor: " + new in text
    # The retired key cannot come back as anyone's key.
    p = run("roster", "add", "--roster", r3, "--key", w.p("charlie.key.pub"), "--name", "C")
    assert p.returncode == 1 and "already used" in p.stderr, p.stderr
    for k in ("steward-1.key", "steward-2.key"):
        run("roster", "sign", "--roster", r3, "--previous", r2, "--steward-key",
            os.path.join(w.comm, k), check=0)
    p = run("roster", "verify", "--roster", r3, "--community", community, "--previous", r2,
            "--json", check=0)
    assert json.loads(p.stdout)["valid"] is True


def test_roster_edit_draft(w):
    d = w.p("draft")
    community = os.path.join(w.comm, "community")
    run("roster", "add", "--roster", d, "--community", community, "--key",
        w.p("alpha.key.pub"), check=0)
    run("roster", "sign", "--roster", d, "--community", community, "--steward-key",
        os.path.join(w.comm, "steward-1.key"), check=0)
    # Editing a partially signed draft keeps the epoch and drops the signature.
    p = run("roster", "add", "--roster", d, "--key", w.p("bravo.key.pub"), "--name", "B",
            check=0)
    assert "dropping 1 signature" in p.stderr
    show = json.loads(run("roster", "show", "--roster", d, "--json", check=0).stdout)
    assert show["epoch"] == 1 and show["signed_by"] == []
    # Updating a member replaces its entry.
    run("roster", "add", "--roster", d, "--key", w.p("bravo.key.pub"), "--name", "Bravo 2",
        "--alias", "B2", check=0)
    show = json.loads(run("roster", "show", "--roster", d, "--json", check=0).stdout)
    assert sorted(m["name"] for m in show["members"]) == ["Alpha CERT", "Bravo 2"]
    # Errors in member data are named.
    for args, msg in ((["--domain", "bad domain"], "--domain"),
                      (["--address", "nohostport"], "address"),
                      (["--alias", "x\ty"], "alias")):
        p = run("roster", "add", "--roster", d, "--key", w.p("charlie.key.pub"), *args)
        assert p.returncode == 1 and msg in p.stderr, (args, p.stderr)
    hexid = "ab" * 32
    p = run("roster", "add", "--roster", d, "--member-id", hexid, "--transport-pk", "cd" * 32,
            "--ring-pk", "ef" * 32, "--name", "X")
    assert p.returncode == 1 and "not a valid" in p.stderr, p.stderr
    p = run("roster", "remove", "--roster", d, "--member-id", hexid)
    assert p.returncode == 1 and "no member" in p.stderr
    # The last member cannot be removed.
    one = w.p("one")
    run("roster", "add", "--roster", one, "--community", community, "--key",
        w.p("alpha.key.pub"), check=0)
    p = run("roster", "remove", "--roster", one, "--member-id", pub(w.p("alpha.key"))["member_id"])
    assert p.returncode == 1 and "at least one member" in p.stderr


def test_help(w):
    for cmd in (["keygen"], ["community"], ["community", "init"], ["roster"],
                ["roster", "add"], ["roster", "sign"], ["roster", "show"], ["roster", "verify"],
                ["export"]):
        p = run(*cmd, "--help", check=0)
        assert p.stdout.startswith("usage: chatham"), (cmd, p.stdout[:80])
    assert run("roster", "frobnicate").returncode == 2
    assert run("roster").returncode == 2


def main():
    chatham_bin()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        w = World(tmp)
        # Order matters: later tests use the files earlier ones made.
        for t in (test_community_init, test_community_usage, test_community_sealed, test_keygen, test_roster_epoch1,
                  test_roster_tampered, test_roster_epoch2, test_roster_stewards, test_roster_revoke,
                  test_roster_edit_draft, test_help):
            try:
                t(w)
                passed += 1
                print("ok   " + t.__name__)
            except Exception:
                failed += 1
                print("FAIL " + t.__name__)
                traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

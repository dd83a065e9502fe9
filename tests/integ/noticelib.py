# SPDX-License-Identifier: MIT
"""Notices as a member sends them over a link (proto/notice.h), for the tests that play a
member against node A (test_hostile_member.AloneEnv): a valid incident form, signed."""

import json
import os
import time

import daemonlib as dl
import msgpack


def incident(what_happened, how_found=None):
    """An incident form (deploy/forms/) saying @what_happened, and @how_found if given."""
    form = {"form": "incident", "purpose": "information", "what_happened": what_happened}
    if how_found is not None:
        form["how_found"] = how_found
    form["affected"] = {"host": "www.victim.example",
                        "occurred_at": "2026-12-06T09:30:00+09:00"}
    return json.dumps(form)


def signed(env, member, form):
    """A NOTICE of @form (JSON text) from @member to env's node A, signed by @member: its
    id and wire bytes."""
    nid = os.urandom(16)
    body = msgpack.packb({0: 1, 1: env.community.id, 2: nid, 3: nid, 4: 0, 5: member.id,
                          6: env.alpha.id, 7: 3, 8: int(time.time() * 1000), 9: form},
                         use_bin_type=True)
    sig = dl.sodium().ed25519_sign(member.id_sk, b"chatham/notice/1" + body)
    return nid, msgpack.packb([body, sig], use_bin_type=True)

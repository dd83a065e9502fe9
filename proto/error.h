/* SPDX-License-Identifier: MIT */
/*
 * proto/error.h — the one table of chatham error codes.
 *
 * Every chatham function that can fail returns an int: 0 on success, a negative value on
 * failure. A failure is either a negative errno (-ENOMEM, -EIO, ...) or one of the project
 * codes below. Project codes live in the band [-9999, -1000], which cannot clash with errno
 * values (Linux errno values are below 200). proto_error_str() names both kinds.
 *
 * Bands (add new codes at the end of the band they belong to; never renumber, the numbers
 * appear in API responses and logs):
 *   -1000..-1099  canonical msgpack decoding (shared by every codec)
 *   -1100..-1199  indicators
 *   -1200..-1299  reports
 *   -1300..-1399  rosters and community
 *   -1400..-1499  key bundles
 *   -1500..-1599  Noise and link messages
 *   -1600..-1699  ring signatures
 *   -1700..-1799  gossip and reconciliation (-1760..: sealed sightings, OPRF)
 *   -2000..-2099  store
 *   -3000..-3099  node (config, API, import/export)
 */
#ifndef CHATHAM_PROTO_ERROR_H
#define CHATHAM_PROTO_ERROR_H

#define PROTO_ERRORS(X)                                                                           \
	/* canonical msgpack */                                                                   \
	X(PROTO_E_TRUNCATED, -1000, "input ends inside a value")                                  \
	X(PROTO_E_TRAILING, -1001, "trailing bytes after the value")                              \
	X(PROTO_E_NONMINIMAL, -1002, "integer or length not in its shortest encoding")            \
	X(PROTO_E_FLOAT, -1003, "floats are not allowed")                                         \
	X(PROTO_E_UTF8, -1004, "str is not valid UTF-8")                                          \
	X(PROTO_E_TYPE, -1005, "value has the wrong msgpack type")                                \
	X(PROTO_E_KEY_ORDER, -1006, "map keys not in ascending order")                            \
	X(PROTO_E_KEY_DUP, -1007, "duplicate map key")                                            \
	X(PROTO_E_KEY_UNKNOWN, -1008, "unknown map key")                                          \
	X(PROTO_E_KEY_MISSING, -1009, "required map key missing")                                 \
	X(PROTO_E_DEPTH, -1010, "nesting too deep")                                               \
	X(PROTO_E_TOO_LARGE, -1011, "size or count over the documented limit")                    \
	X(PROTO_E_RANGE, -1012, "integer out of range")                                           \
	X(PROTO_E_RESERVED, -1013, "reserved or extension msgpack type")                          \
	X(PROTO_E_VERSION, -1014, "unsupported format version")                                   \
	X(PROTO_E_EMPTY, -1015, "empty value where one is required")                              \
	/* indicators */                                                                          \
	X(PROTO_E_IND_TYPE, -1100, "unknown indicator type")                                      \
	X(PROTO_E_IND_VALUE, -1101, "invalid indicator value")                                    \
	/* reports */                                                                             \
	X(PROTO_E_REPORT_KIND, -1200, "unknown report kind")                                      \
	X(PROTO_E_REPORT_TLP, -1201, "missing or unknown TLP")                                    \
	X(PROTO_E_REPORT_CONFIDENCE, -1202, "confidence must be 0-100")                           \
	X(PROTO_E_REPORT_RECIPIENTS, -1203, "recipients only with AMBER/RED, and required there") \
	X(PROTO_E_REPORT_SIG, -1204, "report signature does not verify")                          \
	X(PROTO_E_REPORT_PROVENANCE, -1205, "invalid provenance")                                 \
	X(PROTO_E_REPORT_TIME, -1206, "invalid created/valid_until time")                         \
	X(PROTO_E_REPORT_TAG, -1207, "invalid tag")                                               \
	/* rosters */                                                                             \
	X(PROTO_E_ROSTER_SIG, -1300, "roster steward signature does not verify")                  \
	X(PROTO_E_ROSTER_QUORUM, -1301, "fewer than k distinct steward signatures")               \
	X(PROTO_E_ROSTER_STEWARD, -1302, "signature by an unknown steward")                       \
	X(PROTO_E_ROSTER_DUP_SIG, -1303, "duplicate steward signature")                           \
	X(PROTO_E_ROSTER_EPOCH, -1304, "roster epoch not newer than the one held")                \
	X(PROTO_E_ROSTER_COMMUNITY, -1305, "roster is for another community")                     \
	X(PROTO_E_ROSTER_MEMBER, -1306, "invalid or duplicate roster member")                     \
	X(PROTO_E_ROSTER_NOT_MEMBER, -1307, "not a member of the roster")                         \
	X(PROTO_E_ROSTER_SIG_ORDER, -1308, "roster signatures not ascending by steward index")    \
	X(PROTO_E_ROSTER_TEXT, -1309, "control character in a roster name or list entry")         \
	X(PROTO_E_COMMUNITY_FORMAT, -1310, "not a chatham community file")                        \
	X(PROTO_E_ROSTER_CONFLICT, -1311, "stewards signed two different rosters for one epoch")  \
	X(PROTO_E_ROSTER_KNOWN, -1312, "roster already held")                                     \
	X(PROTO_E_ROSTER_RETIRED, -1313,                                                          \
	  "roster drops or postpones a key retired by the roster before it")                      \
	X(PROTO_E_REKEY_SIG, -1314, "key rotation statement signature does not verify")           \
	/* key bundles */                                                                         \
	X(PROTO_E_KEY_FORMAT, -1400, "not a chatham key file")                                    \
	X(PROTO_E_KEY_VERSION, -1401, "unsupported key file version")                             \
	X(PROTO_E_KEY_MISMATCH, -1402, "public key does not match secret key")                    \
	X(PROTO_E_KEY_PERMS, -1403, "key file is readable by group or others (chmod 0600)")       \
	X(PROTO_E_KEY_FILETYPE, -1404, "not a regular file (symlink, directory or device)")       \
	/* Noise and link messages */                                                             \
	X(PROTO_E_NOISE_DECRYPT, -1500, "Noise message failed authentication")                    \
	X(PROTO_E_NOISE_STATE, -1501, "Noise message out of order")                               \
	X(PROTO_E_NOISE_DH, -1502, "all-zero Diffie-Hellman result")                              \
	X(PROTO_E_NOISE_NONCE, -1503, "Noise nonce exhausted")                                    \
	X(PROTO_E_NOISE_SIZE, -1504, "Noise message too large or too small")                      \
	X(PROTO_E_LINK_MSG, -1505, "unknown or malformed link message")                           \
	/* ring signatures */                                                                     \
	X(PROTO_E_RING_SIG, -1600, "ring signature does not verify")                              \
	X(PROTO_E_RING_POINT, -1601, "invalid ristretto255 point")                                \
	X(PROTO_E_RING_SCALAR, -1602, "non-canonical scalar")                                     \
	X(PROTO_E_RING_SIZE, -1603, "ring size out of bounds")                                    \
	X(PROTO_E_RING_SIGNER, -1604, "signer key is not in the ring")                            \
	X(PROTO_E_RING_SIG_LEN, -1605, "ring signature length does not match the ring size")      \
	X(PROTO_E_RING_DUP, -1606, "duplicate key in the ring")                                   \
	/* gossip and reconciliation */                                                           \
	X(PROTO_E_GOSSIP_LINK, -1700, "gossip link handle out of range or not up")                \
	X(PROTO_E_GOSSIP_KNOWN, -1701, "report id already known to gossip")                       \
	X(PROTO_E_GOSSIP_STATE, -1702, "report id not awaiting a forwarding decision")            \
	X(PROTO_E_RECON_MODE, -1710, "unknown reconciliation range mode or layout")               \
	X(PROTO_E_RECON_BOUND, -1711, "reconciliation bounds not ascending or not minimal")       \
	X(PROTO_E_RECON_IDS, -1712, "reconciliation id list not ascending 32-byte ids")           \
	X(PROTO_E_RECON_SKIP, -1713, "reconciliation skip ranges not merged")                     \
	X(PROTO_E_RECON_ROUNDS, -1714, "reconciliation round limit reached")                      \
	X(PROTO_E_RECON_STATE, -1715, "reconciliation message out of turn or after the end")      \
	X(PROTO_E_STEM_LINK, -1730, "stem link handle out of range or not in that state")         \
	X(PROTO_E_STEM_KNOWN, -1731, "report id already known to the stem")                       \
	X(PROTO_E_OPRF_PROOF, -1760, "OPRF share or DLEQ proof does not verify")                  \
	X(PROTO_E_OPRF_INDEX, -1761, "steward index is zero, too large or repeated")              \
	X(PROTO_E_SEALED_K, -1762, "sealed sighting threshold k out of range")                    \
	X(PROTO_E_SEALED_OPEN, -1763, "sealed group does not open with the shares held")          \
	X(PROTO_E_NETKEY_SEALED, -1764,                                                           \
	  "sealed network key does not open with this member's transport key")                    \
	X(PROTO_E_OPRF_GENERATION, -1765,                                                         \
	  "OPRF key generation older than the one in force, or the same one with other keys")     \
	X(PROTO_E_OPRF_PIECE, -1766,                                                              \
	  "OPRF re-sharing piece does not match its commitments or its dealer's key")             \
	/* store */                                                                               \
	X(STORE_E_MAP_FULL, -2000,                                                                \
	  "store map is full at map_max_mb; raise [store] map_max_mb in the config")              \
	X(STORE_E_CORRUPT, -2001, "stored value is corrupt")                                      \
	X(STORE_E_SCHEMA_NEWER, -2002,                                                            \
	  "store was written by a newer chatham (schema version too high)")                       \
	X(STORE_E_NOT_FOUND, -2003, "not found")                                                  \
	X(STORE_E_READERS, -2004, "LMDB reader table full")                                       \
	X(STORE_E_LMDB, -2005, "LMDB error")                                                      \
	X(STORE_E_BUSY, -2006, "store is locked by another process")                              \
	X(STORE_E_TXN_FULL, -2007,                                                                \
	  "batch too large for one store transaction; use smaller batches")                       \
	X(STORE_E_EXPORT_MAP_FULL, -2008,                                                         \
	  "export map is full at its maximum; raise [export] map_max_mb")                         \
	X(STORE_E_EXPORT_FOREIGN, -2009,                                                          \
	  "export dir was derived from another state dir; move it away to rebuild")               \
	/* node */                                                                                \
	X(NODE_E_CONFIG, -3000, "invalid configuration")                                          \
	X(NODE_E_REQUEST, -3001, "invalid request")                                               \
	X(NODE_E_IMPORT, -3002, "invalid import file")                                            \
	X(NODE_E_EXPORT, -3003, "export failed")                                                  \
	X(NODE_E_PERM, -3004, "permission denied")                                                \
	X(NODE_E_OVERLOAD, -3005, "node overloaded, try again")                                   \
	X(NODE_E_JSON, -3006, "request is not valid JSON")                                        \
	X(NODE_E_OP, -3007, "unknown op")                                                         \
	X(NODE_E_FIELD, -3008, "missing or invalid request field")                                \
	X(NODE_E_LINE_TOO_LONG, -3009, "request line longer than [api] max_line_bytes")           \
	X(NODE_E_SHUTDOWN, -3010, "node is shutting down")                                        \
	X(NODE_E_POLICY, -3011, "refused by the admission policy")                                \
	X(NODE_E_WARNINGLISTED, -3012,                                                            \
	  "value is on a warninglist (must never be blocked); allow_warninglisted overrides")     \
	X(NODE_E_NAMES_MEMBER, -3013,                                                             \
	  "text names another member (allow_names to publish as written)")                        \
	X(NODE_E_QUOTA, -3014, "the member's quota on this node is full")                         \
	X(NODE_E_SEALED_OFF, -3030,                                                               \
	  "sealed sightings are not enabled (community init --sealed-k)")                         \
	X(NODE_E_SEALED_HOLDERS, -3031, "too few OPRF share holders reachable or answering")      \
	X(NODE_E_SEALED_QUOTA, -3032, "OPRF quota for today exhausted at the share holders")

enum proto_error {
#define PROTO_ERROR_ENUM(name, value, text) name = (value),
	PROTO_ERRORS(PROTO_ERROR_ENUM)
#undef PROTO_ERROR_ENUM
};

/*
 * proto_error_str() - human-readable text for any chatham result code.
 * @err: 0, a negative errno, or a PROTO_/STORE_/NODE_ code.
 *
 * Returns a static string; never NULL. Unknown codes get a generic text. Thread-safe.
 */
const char *proto_error_str(int err);

/*
 * proto_error_name() - the symbolic name ("PROTO_E_UTF8", "ENOMEM", ...) of a result code,
 * for machine-readable API errors. Returns a static string; never NULL.
 */
const char *proto_error_name(int err);

#endif

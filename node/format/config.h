/* SPDX-License-Identifier: MIT */
/*
 * node/format/config.h — the daemon's configuration: one INI file parsed with inih, every option
 * declared exactly once in NODE_OPTIONS below with its type, default, bounds, whether SIGHUP
 * reloads it, and its help text. The parser, `chatham check-config`, the generated example
 * (deploy/chatham.conf.example is `chatham check-config --example` verbatim) and the typed
 * accessors all read this one table.
 *
 * File rules (checked, each violation reported with its line number):
 *   - "[section]" headers and "name = value" lines; "#" or ";" starts a comment line, and
 *     " ;" starts an inline comment. Continuation lines are not supported.
 *   - every option belongs to a known section; unknown sections, unknown options, options
 *     outside any section and options set twice are errors;
 *   - values must fit the option's type and bounds: integers are decimal, sizes may end in
 *     k, M or G (binary multiples), booleans are true/false/yes/no/on/off/1/0, modes are
 *     octal, paths are absolute, uid/gid lists are names or numbers separated by commas or
 *     spaces, address lists are numeric "a.b.c.d:port" or "[v6]:port" separated by commas or
 *     spaces (node_addr_parse(), no duplicates); path lists are absolute paths separated by
 *     commas or spaces (so a listed path cannot contain either), possibly none;
 *   - lines longer than NODE_CONFIG_LINE_MAX bytes and NUL bytes are errors.
 *
 * Defaults of paths may name systemd's directory variables, expanded when a file is loaded:
 * "${VAR:-fallback}" is the first entry of $VAR (systemd passes colon-separated lists) or
 * the fallback when VAR is unset or empty, and "%{section.name}" is the final value of an
 * option declared earlier in the table.
 *
 * Relations between options are checked once every option has its value (file or default)
 * and reported on the line of the option that breaks them: [overlay] dead_after_ms must be
 * greater than keepalive_ms, and backoff_max_ms at least backoff_min_ms.
 *
 * Thread rules: loading uses inih's process-wide settings, so load on one thread at a time
 * (the loop thread in the daemon). A loaded config is immutable and may be read from any
 * thread.
 */
#ifndef CHATHAM_NODE_CONFIG_H
#define CHATHAM_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NODE_CONFIG_LINE_MAX 4096
#define NODE_CONFIG_FILE_MAX (1u << 20) /* bytes in a config file */
#define NODE_CONFIG_IDS_MAX 64		/* entries in a uid/gid list */

enum node_opt_type {
	NODE_OPT_BOOL,
	NODE_OPT_INT,	/* decimal, within [min, max] */
	NODE_OPT_SIZE,	/* bytes, with optional k/M/G suffix, within [min, max] */
	NODE_OPT_MODE,	/* octal file mode, within [min, max] */
	NODE_OPT_ENUM,	/* one of the '|'-separated words in the bounds string */
	NODE_OPT_PATH,	/* absolute path, at most max bytes */
	NODE_OPT_UIDS,	/* list of user names or uids */
	NODE_OPT_GIDS,	/* list of group names or gids */
	NODE_OPT_ADDRS, /* list of numeric "ip:port" / "[ip6]:port", at most max entries */
	NODE_OPT_PATHS, /* list of absolute paths (each at most PATH_MAX), at most max entries */
};

/*
 * X(id, section, name, type, default, min, max, choices, reloadable, help)
 *
 * A non-reloadable option changed in the file at SIGHUP keeps its running value and the
 * daemon logs that a restart is needed. min/max bound integers, sizes and modes, and limit
 * the byte length of paths. choices lists the words of an enum.
 */
#define NODE_OPTIONS(X)                                                                            \
	X(NODE_STATE_DIR, "node", "state_dir", NODE_OPT_PATH,                                      \
	  "${STATE_DIRECTORY:-/var/lib/chatham}", 1, 4000, NULL, false,                            \
	  "Directory of the node's LMDB store (reports, indicators, feed). Created if missing; "   \
	  "must not be shared with another node.")                                                 \
	X(NODE_EXPORT_DIR, "node", "export_dir", NODE_OPT_PATH, "%{node.state_dir}/export", 1,     \
	  4000, NULL, false,                                                                       \
	  "Directory of the SIEM export LMDB environment, which holds only stripped ECS JSON "     \
	  "documents. Point SIEM connectors here, never at state_dir.")                            \
	X(NODE_KEY_FILE, "node", "key_file", NODE_OPT_PATH,                                        \
	  "${CREDENTIALS_DIRECTORY:-/etc/chatham}/member.key", 1, 4000, NULL, false,               \
	  "This member's secret key bundle (chatham keygen). Must be mode 0600 or stricter. "      \
	  "Under systemd the unit passes it as the credential member.key.")                        \
	X(NODE_COMMUNITY_FILE, "node", "community_file", NODE_OPT_PATH,                            \
	  "${CONFIGURATION_DIRECTORY:-/etc/chatham}/community", 1, 4000, NULL, false,              \
	  "The community file (chatham community init): community id, name and the steward "       \
	  "keys that authorise the first roster.")                                                 \
	X(NODE_NETWORK_KEY_FILE, "node", "network_key_file", NODE_OPT_PATH,                        \
	  "${CREDENTIALS_DIRECTORY:-/etc/chatham}/network.key", 1, 4000, NULL, false,              \
	  "The community's secret network key (chatham community init), the pre-shared key of "    \
	  "every overlay link. Must be mode 0600 or stricter. Under systemd the unit passes it "   \
	  "as the credential network.key. When the file does not exist the overlay stays off: "    \
	  "the node links with no other member and logs a warning.")                               \
	X(NODE_OPRF_SHARE_FILE, "node", "oprf_share_file", NODE_OPT_PATH,                          \
	  "${CREDENTIALS_DIRECTORY:-/etc/chatham}/oprf-share.key", 1, 4000, NULL, false,           \
	  "A steward node's share of the sealed-sighting OPRF key (oprf-share-J.key from "         \
	  "chatham community init --sealed-k). Must be mode 0600 or stricter and belong to the "   \
	  "community file. When the file does not exist the node holds no share.")                 \
	X(NODE_ROSTER_FILE, "node", "roster_file", NODE_OPT_PATH,                                  \
	  "${CONFIGURATION_DIRECTORY:-/etc/chatham}/roster", 1, 4000, NULL, true,                  \
	  "The newest signed roster. Read at start and at every reload; a newer epoch that "       \
	  "verifies replaces the current one, anything else keeps it.")                            \
	X(NODE_API_SOCKET, "api", "socket", NODE_OPT_PATH,                                         \
	  "${RUNTIME_DIRECTORY:-/run/chatham}/chatham.sock", 1, 107, NULL, false,                  \
	  "Path of the local API socket (newline-delimited JSON).")                                \
	X(NODE_API_SOCKET_MODE, "api", "socket_mode", NODE_OPT_MODE, "0660", 0600, 0666, NULL,     \
	  false,                                                                                   \
	  "File mode of the API socket. Access is also checked per connection against "            \
	  "allowed_uids and allowed_gids.")                                                        \
	X(NODE_API_ALLOWED_UIDS, "api", "allowed_uids", NODE_OPT_UIDS, "", 0, 0, NULL, true,       \
	  "Users (names or numbers) allowed every operation of the API socket besides root and "   \
	  "the node's own user: also publish, revoke, sight and false_positive, which sign as "    \
	  "the CSIRT.")                                                                            \
	X(NODE_API_ALLOWED_GIDS, "api", "allowed_gids", NODE_OPT_GIDS, "", 0, 0, NULL, true,       \
	  "Groups (names or numbers) whose members are allowed every operation, as allowed_uids; " \
	  "the client's primary and supplementary groups count.")                                  \
	X(NODE_API_READ_UIDS, "api", "read_uids", NODE_OPT_UIDS, "", 0, 0, NULL, true,             \
	  "Users allowed the read-only operations only: query, list, status and peers. A "         \
	  "publishing operation from them is refused with permission denied.")                     \
	X(NODE_API_READ_GIDS, "api", "read_gids", NODE_OPT_GIDS, "", 0, 0, NULL, true,             \
	  "Groups whose members are allowed the read-only operations only, as read_uids.")         \
	X(NODE_API_MAX_LINE_BYTES, "api", "max_line_bytes", NODE_OPT_SIZE, "16M", 4096, 268435456, \
	  NULL, true,                                                                              \
	  "Longest request line accepted. A batch of 10000 reports needs a few MiB; a longer "     \
	  "line is answered with an error and skipped.")                                           \
	X(NODE_API_MAX_CONNECTIONS, "api", "max_connections", NODE_OPT_INT, "64", 1, 4096, NULL,   \
	  true, "Concurrent API connections; further clients get an overload error.")              \
	X(NODE_API_MAX_OUTPUT_BYTES, "api", "max_output_bytes", NODE_OPT_SIZE, "4M", 65536,        \
	  268435456, NULL, true,                                                                   \
	  "Unsent response bytes per connection before the node stops reading that client's "      \
	  "requests until it reads its responses.")                                                \
	X(NODE_API_CLIENT_TIMEOUT_S, "api", "client_timeout_s", NODE_OPT_INT, "60", 1, 86400,      \
	  NULL, true,                                                                              \
	  "Seconds a client may leave a request line unfinished or its responses unread before "   \
	  "the node closes the connection.")                                                       \
	X(NODE_API_LINE_TIMEOUT_S, "api", "line_timeout_s", NODE_OPT_INT, "30", 1, 3600, NULL,     \
	  true,                                                                                    \
	  "Seconds from the first byte of a request line to its newline, however steadily it "     \
	  "arrives; then the client gets an error and is disconnected. A full 16 MiB batch "       \
	  "arrives in well under a second.")                                                       \
	X(NODE_STORE_MAP_SIZE_MB, "store", "map_size_mb", NODE_OPT_INT, "8192", 1, 1048576, NULL,  \
	  false,                                                                                   \
	  "Initial size of the store's LMDB map in MiB, at most map_max_mb; an existing larger "   \
	  "file wins. Address space, not disk or memory: the file grows as reports are stored. "   \
	  "Growing the map makes the node's reads wait, so it is reserved generously.")            \
	X(NODE_STORE_MAP_MAX_MB, "store", "map_max_mb", NODE_OPT_INT, "65536", 1, 16777216, NULL,  \
	  false,                                                                                   \
	  "The map doubles when full up to this many MiB; at the cap writes fail with an "         \
	  "error naming this option.")                                                             \
	X(NODE_POLICY_EXPORT_RED, "policy", "export_red", NODE_OPT_BOOL, "false", 0, 0, NULL,      \
	  true, "Whether TLP:RED indicators are written to the SIEM export.")                      \
	X(NODE_POLICY_DESCRIPTIONS, "policy", "descriptions", NODE_OPT_ENUM, "redact", 0, 0,       \
	  "redact|drop|keep", true,                                                                \
	  "Free-text descriptions leaving the community boundary: redact member names, aliases "   \
	  "and domains, drop the text, or keep it verbatim for this node's own TLP:CLEAR "         \
	  "reports (others are still redacted).")                                                  \
	X(NODE_POLICY_SHOW_ATTRIBUTION, "policy", "show_attribution", NODE_OPT_BOOL, "false", 0,   \
	  0, NULL, true,                                                                           \
	  "Whether local API and CLI output may name the member that signed a report or that a "   \
	  "link leads to (chatham peers). Exports never do.")                                      \
	X(NODE_POLICY_MAX_CLOCK_SKEW_S, "policy", "max_clock_skew_s", NODE_OPT_INT, "300", 0,      \
	  86400, NULL, true,                                                                       \
	  "Reports created more than this many seconds in the future are refused.")                \
	X(NODE_POLICY_WARNINGLIST_DIR, "policy", "warninglist_dir", NODE_OPT_PATH,                 \
	  "/usr/share/chatham/warninglists", 1, 4000, NULL, true,                                  \
	  "Directory of warninglists: values that must never be blocked (special-purpose and "     \
	  "private ranges, multicast, public resolvers, top sites, empty-file hashes). Every "     \
	  "*.txt file in it is one list, one value a line. Publishing a listed value is refused "  \
	  "without allow_warninglisted; a received one is stored but flagged and kept out of "     \
	  "blocklist exports. Read at start and at every reload; a missing directory leaves "      \
	  "only the minimum prefix lengths (logged).")                                             \
	X(NODE_POLICY_TAG_VOCAB_DIR, "policy", "tag_vocab_dir", NODE_OPT_PATH,                     \
	  "/usr/share/chatham/tags", 1, 4000, NULL, true,                                          \
	  "Directory of the tag vocabulary shipped with chatham: tags that may leave the "         \
	  "community as written (simple words such as phishing, MISP-taxonomy machine tags such "  \
	  "as ecsirt:malicious-code=\"ransomware\"). Every *.txt file in it is read, one entry a " \
	  "line. Other tags are redacted as text together with the description. Read at start "    \
	  "and at every reload; a missing directory leaves only tag_vocab_files (logged).")        \
	X(NODE_POLICY_TAG_VOCAB_FILES, "policy", "tag_vocab_files", NODE_OPT_PATHS, "", 0, 64,     \
	  NULL, true,                                                                              \
	  "Further vocabulary files the community agreed on, in the format of tag_vocab_dir's "    \
	  "files, separated by commas or spaces. Each must exist and parse.")                      \
	X(NODE_POLICY_MIN_PREFIX_IPV4, "policy", "min_prefix_ipv4", NODE_OPT_INT, "16", 0, 32,     \
	  NULL, true,                                                                              \
	  "IPv4 networks broader than this prefix length are treated as warninglisted (0: no "     \
	  "minimum).")                                                                             \
	X(NODE_POLICY_MIN_PREFIX_IPV6, "policy", "min_prefix_ipv6", NODE_OPT_INT, "32", 0, 128,    \
	  NULL, true,                                                                              \
	  "IPv6 networks broader than this prefix length are treated as warninglisted (0: no "     \
	  "minimum).")                                                                             \
	X(NODE_POLICY_EXPORT_WARNINGLISTED, "policy", "export_warninglisted", NODE_OPT_BOOL,       \
	  "false", 0, 0, NULL, true,                                                               \
	  "Whether warninglisted indicators reach the blocklist exports (plain, the value fields " \
	  "of ECS threat.indicator). They are always flagged with chatham.warninglist.")           \
	X(NODE_LOG_LEVEL, "log", "level", NODE_OPT_ENUM, "info", 0, 0,                             \
	  "err|warning|notice|info|debug", true,                                                   \
	  "Lowest priority written to stderr. Other members' identities appear only at debug, "    \
	  "and only with member_names.")                                                           \
	X(NODE_LOG_MEMBER_NAMES, "log", "member_names", NODE_OPT_BOOL, "false", 0, 0, NULL, true,  \
	  "Whether debug lines name the member and address at the other end of a link; "           \
	  "without it a link is named by its number only.")                                        \
	X(NODE_GOSSIP_IHAVE_FLUSH_MS, "gossip", "ihave_flush_ms", NODE_OPT_INT, "20", 1, 10000,    \
	  NULL, false,                                                                             \
	  "Longest a report id waits before it is announced (IHAVE) on the links outside the "     \
	  "gossip tree; ids are batched within this time.")                                        \
	X(NODE_GOSSIP_GRAFT_TIMEOUT_MS, "gossip", "graft_timeout_ms", NODE_OPT_INT, "250", 10,     \
	  60000, NULL, false,                                                                      \
	  "Wait after a report id was announced but the report itself did not arrive before "      \
	  "asking the announcer for it (GRAFT), which also repairs the gossip tree.")              \
	X(NODE_GOSSIP_RECON_INTERVAL_S, "gossip", "recon_interval_s", NODE_OPT_INT, "30", 0,       \
	  86400, NULL, true,                                                                       \
	  "Every this many seconds the node reconciles its CLEAR/GREEN reports with one random "   \
	  "linked member (catch-up also runs whenever a link comes up); 0 turns the periodic "     \
	  "run off.")                                                                              \
	X(NODE_GOSSIP_DIRECT_RETRY_MIN_MS, "gossip", "direct_retry_min_ms", NODE_OPT_INT, "2000",  \
	  100, 3600000, NULL, true,                                                                \
	  "First retry delay of a direct AMBER/RED delivery that was not acknowledged; it "        \
	  "doubles with each attempt.")                                                            \
	X(NODE_GOSSIP_DIRECT_RETRY_MAX_MS, "gossip", "direct_retry_max_ms", NODE_OPT_INT,          \
	  "600000", 100, 86400000, NULL, true,                                                     \
	  "Upper bound of the direct delivery retry delay (raised to direct_retry_min_ms when "    \
	  "lower).")                                                                               \
	X(NODE_GOSSIP_MEMBER_RATE_PER_MIN, "gossip", "member_rate_per_min", NODE_OPT_INT, "60000", \
	  0, 100000000, NULL, true,                                                                \
	  "New reports from the overlay admitted per minute for any one member: per signer for "   \
	  "attributed reports, per delivering link's member for anonymous ones. Reports over "     \
	  "the limit are refused (rate_limited) and come again later through catch-up; a member "  \
	  "whose own reports keep exceeding it is disconnected. 0 turns the limit off.")           \
	X(NODE_GOSSIP_STEM_FLUFF_PERCENT, "gossip", "stem_fluff_percent", NODE_OPT_INT, "15", 1,   \
	  100, NULL, false,                                                                        \
	  "Chance, per hop, that a node passing on an anonymous report in its stem phase "         \
	  "broadcasts it instead (fluff). Lower hides the origin better and delays delivery "      \
	  "more; 100 makes every stem one hop long.")                                              \
	X(NODE_GOSSIP_STEM_EMBARGO_MS, "gossip", "stem_embargo_ms", NODE_OPT_INT, "5000", 100,     \
	  3600000, NULL, false,                                                                    \
	  "How long the origin of an anonymous report waits for it to come back by gossip "        \
	  "before it broadcasts the report itself (relays wait less), so a dropped stem still "    \
	  "delivers.")                                                                             \
	X(NODE_GOSSIP_MEMBER_BURST, "gossip", "member_burst", NODE_OPT_INT, "100000", 1,           \
	  100000000, NULL, true,                                                                   \
	  "Reports a member may send at once above member_rate_per_min before the limit "          \
	  "applies (the token bucket's size).")                                                    \
	X(NODE_GOSSIP_ABUSE_BACKOFF_S, "gossip", "abuse_backoff_s", NODE_OPT_INT, "60", 1, 86400,  \
	  NULL, true,                                                                              \
	  "A member that goes over its budget (200 reports refused by admission, 20 failed or "    \
	  "abandoned catch-up sessions, 600 sessions a minute) has its link closed and is "        \
	  "refused this many seconds, doubling with each further offence up to "                   \
	  "abuse_backoff_max_s. It is refused right after the handshake identifies it, before "    \
	  "anything it sends is read, and is not dialled.")                                        \
	X(NODE_GOSSIP_ABUSE_BACKOFF_MAX_S, "gossip", "abuse_backoff_max_s", NODE_OPT_INT, "86400", \
	  1, 2592000, NULL, true,                                                                  \
	  "Upper bound of that refusal (raised to abuse_backoff_s when lower).")                   \
	X(NODE_GOSSIP_ABUSE_FORGIVE_S, "gossip", "abuse_forgive_s", NODE_OPT_INT, "3600", 1,       \
	  31536000, NULL, true,                                                                    \
	  "Each this many seconds without an offence after a refusal ended forgive one offence, "  \
	  "halving the next refusal; a member with none left starts again at abuse_backoff_s.")    \
	X(NODE_NOTICES_RETRY_MIN_MS, "notices", "retry_min_ms", NODE_OPT_INT, "2000", 100,         \
	  3600000, NULL, true,                                                                     \
	  "First retry delay of a notice its next hop has not acknowledged; it doubles with "      \
	  "each attempt up to retry_max_ms. The outbox is looked at every second, or every "       \
	  "retry_min_ms when that is shorter.")                                                    \
	X(NODE_NOTICES_RETRY_MAX_MS, "notices", "retry_max_ms", NODE_OPT_INT, "60000", 100,        \
	  86400000, NULL, true,                                                                    \
	  "Upper bound of the notice retry delay (raised to retry_min_ms when lower).")            \
	X(NODE_NOTICES_MEMBER_QUOTA_BYTES, "notices", "member_quota_bytes", NODE_OPT_SIZE, "64M",  \
	  65536, 4294967296, NULL, true,                                                           \
	  "Disk this node gives the notices and status replies one member signed (their signed "   \
	  "bytes; a notice this node forwards as a coordinator is stored once more, as its own). " \
	  "A notice that would exceed it is refused and not acknowledged, so its sender retries "  \
	  "(counted in status notices.quota_refused, logged); raising it lets the retry in. "      \
	  "Notices are kept for good, so this bounds what one member can make the node store.")    \
	X(NODE_OVERLAY_LISTEN, "overlay", "listen", NODE_OPT_ADDRS, "0.0.0.0:7400", 0, 16, NULL,   \
	  false,                                                                                   \
	  "Addresses on which other members' links are accepted: numeric a.b.c.d:port or "         \
	  "[v6]:port, separated by commas; empty to only dial out. The roster lists where the "    \
	  "other members reach this node.")                                                        \
	X(NODE_OVERLAY_DEGREE, "overlay", "degree", NODE_OPT_INT, "6", 1, 1024, NULL, true,        \
	  "Members this node dials and keeps links to, chosen at random among the roster "         \
	  "members that list an address (all of them in a smaller community). Other members "      \
	  "may link in as well.")                                                                  \
	X(NODE_OVERLAY_HANDSHAKE_TIMEOUT_MS, "overlay", "handshake_timeout_ms", NODE_OPT_INT,      \
	  "5000", 100, 600000, NULL, true,                                                         \
	  "A new connection that has not finished the Noise handshake and the HELLO exchange "     \
	  "within this many milliseconds is closed.")                                              \
	X(NODE_OVERLAY_PREAUTH_TIMEOUT_MS, "overlay", "preauth_timeout_ms", NODE_OPT_INT, "1000",  \
	  10, 600000, NULL, true,                                                                  \
	  "A new connection must present the first handshake message, which proves the "           \
	  "network key, within this many milliseconds; until then it holds no handshake slot, "    \
	  "gets no byte and is closed at the deadline.")                                           \
	X(NODE_OVERLAY_MAX_PREAUTH, "overlay", "max_preauth", NODE_OPT_INT, "8192", 1, 1048576,    \
	  NULL, true,                                                                              \
	  "New connections waiting for their first handshake message at the same time (at most "   \
	  "half of the file descriptors the node may use). When full, the oldest is closed to "    \
	  "make room: a member's connection waits one round trip, an idle outsider's longest.")    \
	X(NODE_OVERLAY_MAX_PREAUTH_PER_ADDRESS, "overlay", "max_preauth_per_address",              \
	  NODE_OPT_INT, "8", 1, 1048576, NULL, true,                                               \
	  "Of those, connections from one source address (IPv4 address or IPv6 /64); past it the " \
	  "oldest from that address is closed.")                                                   \
	X(NODE_OVERLAY_MAX_HANDSHAKES, "overlay", "max_handshakes", NODE_OPT_INT, "64", 1, 65536,  \
	  NULL, true,                                                                              \
	  "Inbound connections that proved the network key and are still in their handshake at "   \
	  "the same time; past it the oldest of them is closed.")                                  \
	X(NODE_OVERLAY_MAX_FRAME, "overlay", "max_frame", NODE_OPT_SIZE, "65537", 1024, 65537,     \
	  NULL, true,                                                                              \
	  "Largest frame accepted on an established link (2-byte length and one Noise "            \
	  "message); a peer announcing more is disconnected. 65537 admits every valid message.")   \
	X(NODE_OVERLAY_SEND_QUEUE_MAX_BYTES, "overlay", "send_queue_max_bytes", NODE_OPT_SIZE,     \
	  "4M", 131074, 1073741824, NULL, true,                                                    \
	  "Memory this node holds for one link's frames not yet taken by the kernel, buffers "     \
	  "included (small frames are packed together). A peer that reads slower than this node "  \
	  "sends is disconnected, with a warning, when its queue would exceed this.")              \
	X(NODE_OVERLAY_KEEPALIVE_MS, "overlay", "keepalive_ms", NODE_OPT_INT, "15000", 10,         \
	  3600000, NULL, true,                                                                     \
	  "Interval of the PING sent on every link; its PONG gives the round-trip time shown by "  \
	  "chatham peers.")                                                                        \
	X(NODE_OVERLAY_DEAD_AFTER_MS, "overlay", "dead_after_ms", NODE_OPT_INT, "60000", 20,       \
	  86400000, NULL, true,                                                                    \
	  "A link on which nothing arrived for this many milliseconds is closed and redialled. "   \
	  "Must be greater than keepalive_ms.")                                                    \
	X(NODE_OVERLAY_BACKOFF_MIN_MS, "overlay", "backoff_min_ms", NODE_OPT_INT, "1000", 10,      \
	  3600000, NULL, true,                                                                     \
	  "Delay before redialling a member after the first failure; it doubles with every "       \
	  "further failure, and each delay is drawn at random between half and all of it.")        \
	X(NODE_OVERLAY_BACKOFF_MAX_MS, "overlay", "backoff_max_ms", NODE_OPT_INT, "60000", 10,     \
	  86400000, NULL, true,                                                                    \
	  "Upper bound of the redial delay. Must be at least backoff_min_ms.")

enum node_opt {
#define NODE_OPT_ENUM_ID(id, ...) id,
	NODE_OPTIONS(NODE_OPT_ENUM_ID)
#undef NODE_OPT_ENUM_ID
		NODE_OPT__COUNT
};

struct node_config;

/*
 * Diagnostics: called once per problem with the 1-based line number (0 when the problem
 * is not tied to a line, e.g. an unreadable file) and a message such as
 * "[api] max_connections: 0 is below the minimum 1". @msg is valid during the call only.
 */
typedef void (*node_config_report_fn)(void *ctx, unsigned line, const char *msg);

/*
 * node_config_load_buffer() - parse @len bytes at @buf (borrowed; need not be
 * NUL-terminated). Every problem is passed to @report (may be NULL). On success *@out is a
 * new config owned by the caller (node_config_free()). Returns 0, NODE_E_CONFIG when at
 * least one problem was reported (*@out untouched), or -ENOMEM.
 */
int node_config_load_buffer(const char *buf, size_t len, node_config_report_fn report, void *ctx,
			    struct node_config **out);

/*
 * node_config_load_file() - read @path (at most NODE_CONFIG_FILE_MAX bytes) and parse it as
 * above. A file that cannot be read is reported with line 0 and returns NODE_E_CONFIG.
 */
int node_config_load_file(const char *path, node_config_report_fn report, void *ctx,
			  struct node_config **out);

/* node_config_free() - free @cfg. NULL is a no-op. */
void node_config_free(struct node_config *cfg);

/*
 * Typed accessors. @opt must be of the matching type (programmer error otherwise: the
 * accessor asserts). Strings are owned by @cfg and live as long as it.
 *   node_config_int()  INT, SIZE and MODE options
 *   node_config_enum() index of the value among the option's choices
 *   node_config_str()  PATH options and the chosen word of ENUM options
 *   node_config_ids()  UIDS/GIDS options: *@n ids, array owned by @cfg
 *   node_config_addrs() ADDRS options: *@n addresses as written, array owned by @cfg
 *   node_config_paths() PATHS options: *@n paths as written, array owned by @cfg
 */
bool node_config_bool(const struct node_config *cfg, enum node_opt opt);
int64_t node_config_int(const struct node_config *cfg, enum node_opt opt);
int node_config_enum(const struct node_config *cfg, enum node_opt opt);
const char *node_config_str(const struct node_config *cfg, enum node_opt opt);
const uint32_t *node_config_ids(const struct node_config *cfg, enum node_opt opt, size_t *n);
const char *const *node_config_addrs(const struct node_config *cfg, enum node_opt opt, size_t *n);
const char *const *node_config_paths(const struct node_config *cfg, enum node_opt opt, size_t *n);

/* node_config_line() - line that set @opt, or 0 when it has its default. */
unsigned node_config_line(const struct node_config *cfg, enum node_opt opt);

/*
 * node_config_merge_reload() - prepare a config loaded at SIGHUP: every non-reloadable option
 * of @next whose value differs from @running takes the running value back, and @report is
 * called with the line and a message naming it ("... needs a restart"). Returns the number
 * of options held back, or -ENOMEM (then @next is unusable and must be freed).
 */
int node_config_merge_reload(struct node_config *next, const struct node_config *running,
			     node_config_report_fn report, void *ctx);

/* Reflection over the table, for --help texts and tests. */
const char *node_config_opt_section(enum node_opt opt);
const char *node_config_opt_name(enum node_opt opt);
bool node_config_opt_reloadable(enum node_opt opt);

/* node_config_value_str() - the effective value of @opt as config syntax, into @buf. */
const char *node_config_value_str(const struct node_config *cfg, enum node_opt opt, char *buf,
				  size_t len);

/* node_config_write_example() - the commented example file, every option with its help,
 * bounds, reloadability and default, all commented out. Returns 0 or -EIO. */
int node_config_write_example(FILE *f);

/* node_config_write_effective() - every option with its effective value, one per line,
 * grouped by section, marking defaults. Returns 0 or -EIO. */
int node_config_write_effective(const struct node_config *cfg, FILE *f);

#endif

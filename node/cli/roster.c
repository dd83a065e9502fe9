/* SPDX-License-Identifier: MIT */
/*
 * `chatham roster`: the steward's tool for the roster file a node is configured with. It
 * works on files only, never on a running node.
 *
 * Roster life cycle. A roster file is either a draft (not yet signed by a quorum of the
 * stewards that authorise its epoch: epoch 1 by the community file's stewards, a later
 * epoch by the previous roster's) or complete. Editing a draft keeps its epoch and drops
 * any partial signatures, since they covered the old body. Editing a complete roster starts
 * the next epoch's draft, which must go to another file (--out): the complete roster is
 * what nodes run with and what authorises the new one. Completeness is judged against the
 * roster's own steward set, which equals its authority's because these commands copy the
 * steward set from one epoch to the next and never change it.
 *
 * Secret material (member, steward and network keys) is read and written only through
 * node/common/keyfile.h (0600, atomic) and wiped after use; nothing secret is ever printed.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/common/keyfile.h"
#include "node/format/request.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/keys.h"
#include "proto/poc.h"
#include "proto/rekey.h"
#include "proto/roster.h"

#define PUB_MAX 4096

/* ------------------------------------------------------------------ roster helpers */

/* The authorising steward set of an epoch, copied from a community file or a roster. */
struct authority {
	uint8_t community[32];
	size_t n;
	uint8_t stewards[PROTO_ROSTER_STEWARDS_MAX][32];
	uint32_t threshold;
	uint64_t epoch; /* epoch of the authorising roster; 0 for the community file */
};

static void authority_from_community(struct authority *a, const struct proto_community *c)
{
	memcpy(a->community, c->id, 32);
	a->n = c->n_stewards;
	memcpy(a->stewards, c->stewards, c->n_stewards * 32);
	a->threshold = c->threshold;
	a->epoch = 0;
}

static void authority_from_roster(struct authority *a, const struct proto_roster *r)
{
	memcpy(a->community, r->community, 32);
	a->n = r->n_stewards < PROTO_ROSTER_STEWARDS_MAX ? r->n_stewards
							 : PROTO_ROSTER_STEWARDS_MAX;
	memcpy(a->stewards, r->stewards, a->n * 32);
	a->threshold = r->threshold;
	a->epoch = r->epoch;
}

/* Loads @path as a community file, or else as a roster; names what it found in *@what. */
static int load_authority(const char *path, struct authority *a, const char **what)
{
	struct proto_community c;
	struct proto_roster *r = NULL;
	int e1, e2;

	e1 = node_keyfile_load_community(path, &c);
	if (!e1) {
		authority_from_community(a, &c);
		*what = "community file";
		return 0;
	}
	e2 = node_keyfile_load_roster(path, &r);
	if (!e2) {
		authority_from_roster(a, r);
		proto_roster_free(r);
		*what = "roster";
		return 0;
	}
	/* A file that is neither: report the community reading, unless it was unreadable. */
	return e1 == PROTO_E_COMMUNITY_FORMAT ? e2 : e1;
}

/*
 * Which signatures verify against @a: the precise diagnosis for `roster verify`. Prints one
 * line per bad signature to stderr; returns the number of good ones.
 */
static size_t diagnose_sigs(const struct proto_roster *r, const struct authority *a,
			    const char *cmd)
{
	size_t good = 0;
	char hex[65];

	for (size_t i = 0; i < r->n_sigs; i++) {
		uint32_t idx = r->sig_steward[i];
		if (idx >= a->n) {
			fprintf(stderr,
				"chatham: %s: signature %zu names steward %u; the authority "
				"has %zu stewards\n",
				cmd, i, idx, a->n);
		} else if (proto_roster_verify_sig(r, i, a->stewards[idx]) != 0) {
			fprintf(stderr,
				"chatham: %s: signature of steward %u (%.16s...) does not "
				"verify\n",
				cmd, idx, node_cli_hex32(hex, a->stewards[idx]));
		} else {
			good++;
		}
	}
	return good;
}

/* Roster file loading with one message per failure. */
static int load_roster(const char *cmd, const char *path, struct proto_roster **r)
{
	int e = node_keyfile_load_roster(path, r);

	if (e)
		return node_cli_file_error(cmd, "roster", path, e);
	return 0;
}

/*
 * Prepares @r for an edit: a draft stays in its epoch (partial signatures dropped, with a
 * note), a complete roster becomes the next epoch's draft, which may not overwrite it.
 */

static int save_roster(const char *cmd, const char *path, const struct proto_roster *r)
{
	int e = node_keyfile_save_roster(path, r, NODE_KEYFILE_OVERWRITE);

	if (e == PROTO_E_EMPTY && r->n_members == 0)
		return node_cli_errorf(cmd, "a roster needs at least one member; nothing written");
	if (e)
		return node_cli_errorf(cmd, "cannot write %s: %s", path, proto_error_str(e));
	return 0;
}

/* A new epoch-1 roster for the community @c. */
static struct proto_roster *roster_from_community(const struct proto_community *c)
{
	struct proto_roster *r = proto_roster_new();

	if (!r)
		return NULL;
	memcpy(r->community, c->id, 32);
	r->name = strdup(c->name);
	r->stewards = malloc(c->n_stewards * 32);
	if (!r->name || !r->stewards) {
		proto_roster_free(r);
		return NULL;
	}
	memcpy(r->stewards, c->stewards, c->n_stewards * 32);
	r->n_stewards = c->n_stewards;
	r->threshold = c->threshold;
	r->epoch = 1;
	return r;
}

/* The public keys of a member from a keygen .pub file or a member key bundle. */
static int member_keys_from_file(const char *cmd, const char *path, struct proto_member *m,
				 char *name, size_t name_cap)
{
	uint8_t *buf = NULL;
	size_t len;
	int e;

	e = node_keyfile_read_public(path, &buf, &len, PUB_MAX);
	if (!e && len && buf[0] == '{') {
		json_error_t jerr;
		json_t *j = json_loadb((const char *)buf, len, 0, &jerr);
		const char *kind = json_string_value(json_object_get(j, "chatham"));
		const char *nm = json_string_value(json_object_get(j, "name"));
		free(buf);
		if (!j || !kind || strcmp(kind, "member-public-key") != 0) {
			json_decref(j);
			return node_cli_errorf(cmd,
					       "%s is not a member public key file (chatham keygen "
					       "writes FILE.pub)",
					       path);
		}
		if (node_cli_parse_hex32(json_string_value(json_object_get(j, "member_id")),
					 m->id) ||
		    node_cli_parse_hex32(json_string_value(json_object_get(j, "transport_pk")),
					 m->transport_pk) ||
		    node_cli_parse_hex32(json_string_value(json_object_get(j, "ring_pk")),
					 m->ring_pk)) {
			json_decref(j);
			return node_cli_errorf(
				cmd,
				"%s: member_id, transport_pk and ring_pk must be 64 hex "
				"digits each",
				path);
		}
		if (nm)
			snprintf(name, name_cap, "%s", nm);
		json_decref(j);
		return 0;
	}
	free(buf);
	/* Not JSON: a secret member key bundle; only its public halves are used. */
	struct proto_keys k;
	e = node_keyfile_load_member(path, &k);
	if (e)
		return node_cli_file_error(cmd, "member key", path, e);
	memcpy(m->id, k.id_pk, 32);
	memcpy(m->transport_pk, k.tx_pk, 32);
	memcpy(m->ring_pk, k.ring_pk, 32);
	proto_keys_wipe(&k);
	return 0;
}

/* ------------------------------------------------------------------ roster add / remove */

static const char roster_usage[] =
	"usage: chatham roster add --roster FILE [--community FILE] [--out FILE]\n"
	"           (--key FILE | --member-id HEX --transport-pk HEX --ring-pk HEX)\n"
	"           [--name NAME] [--alias NAME]... [--domain DOMAIN]... [--address HOST:PORT]...\n"
	"           [--poc-email ADDR] [--poc-url URL] [--poc-phone PHONE] [--poc-hours TEXT]\n"
	"           [--poc-tz ZONE] [--poc-lang TAG]... [--poc-pgp FINGERPRINT]\n"
	"           [--prefix CIDR]... [--asn N]... [--constituency-domain DOMAIN]...\n"
	"           [--min-ring-size N] [--require-anonymous | --allow-attributed]\n"
	"           [--max-report-age SECONDS] [--withdraw-departed | --keep-departed]\n"
	"       chatham roster remove --roster FILE --member-id HEX [--out FILE]\n"
	"           [--withdraw-departed | --keep-departed]\n"
	"       chatham roster revoke --roster FILE --member-id HEX --from TIME\n"
	"           [--successor HEX] [--withdraw-departed | --keep-departed] [--out FILE]\n"
	"       chatham roster stewards --roster FILE [--add-steward HEX]...\n"
	"           [--remove-steward HEX]... [--threshold K] [--out FILE]\n"
	"       chatham roster sign --roster FILE --steward-key FILE\n"
	"           (--community FILE | --previous FILE | --authority FILE) [--out FILE]\n"
	"       chatham roster show --roster FILE [--json]\n"
	"       chatham roster verify --roster FILE --community FILE [--previous FILE] [--json]\n\n"
	"Build and sign the signed member list of the community.\n\n"
	"add     Add a member, or replace the entry of a member with the same id. When FILE\n"
	"        does not exist, an epoch 1 roster is started from --community. A draft keeps\n"
	"        its epoch (partial signatures are dropped); a complete roster starts the next\n"
	"        epoch's draft, which must go to another file (--out).\n"
	"          -k, --key FILE         the member's FILE.pub from chatham keygen (or its key\n"
	"                                 bundle, whose public halves are used)\n"
	"          --member-id/--transport-pk/--ring-pk HEX   the same, given directly\n"
	"          -n, --name NAME        display name (default: the name in FILE.pub)\n"
	"          -a, --alias NAME       another name the member goes by (repeatable; used to\n"
	"                                 redact free text)\n"
	"          -d, --domain DOMAIN    a domain of the member (repeatable; redaction)\n"
	"          -A, --address HOST:PORT  where the member's node listens (repeatable)\n"
	"          --poc-email ADDR, --poc-url URL, --poc-phone PHONE, --poc-hours TEXT,\n"
	"          --poc-tz ZONE (e.g. Asia/Tokyo), --poc-lang TAG (repeatable, e.g. ja),\n"
	"          --poc-pgp FINGERPRINT   the team's point of contact (chatham poc show)\n"
	"          --prefix CIDR, --asn N, --constituency-domain DOMAIN (each repeatable)\n"
	"                                 what the team answers for (chatham poc whois)\n"
	"                                 An update given none of these keeps them.\n"
	"          --min-ring-size N, --require-anonymous, --allow-attributed,\n"
	"          --max-report-age SECONDS (0: unlimited)   community settings\n"
	"          --withdraw-departed, --keep-departed   whether the attributed reports of\n"
	"                                 members that leave stop counting on every node\n"
	"                                 (default: keep; also with remove and revoke)\n"
	"remove  Remove the member with that id (same epoch rules as add).\n"
	"revoke  Retire a member id (a compromised key, or a member's old id after it got new\n"
	"        keys): it leaves the member list, and every node refuses what it signed after\n"
	"        TIME (RFC 3339 UTC, or now), attributed or over a ring that holds it, and keeps\n"
	"        what it signed before. Same epoch rules as add.\n"
	"          --from TIME            the last moment the key is trusted\n"
	"          --successor HEX        the member id that continues this member (a member)\n"
	"rotate  Accept a member's key rotation statement (from chatham keygen --rotate, signed\n"
	"        by its old and its new identity key): the member keeps its entry with its new\n"
	"        keys, and its old id is retired from TIME (default now) with the new id as\n"
	"        successor, so every node counts the old id's votes as the new id's. Same\n"
	"        epoch rules as add.\n"
	"          --statement FILE       the member's FILE.rotation\n"
	"          --from TIME            reports the old key signs after TIME are refused\n"
	"stewards  Add, remove or replace stewards and set the threshold K of the next epoch\n"
	"        (same epoch rules as add). The stewards and K in office (the previous\n"
	"        roster's) sign the change; the new ones take over from the epoch after.\n"
	"          --add-steward HEX      a steward public key (repeatable)\n"
	"          --remove-steward HEX   (repeatable)\n"
	"          -k, --threshold K      signatures a roster needs from then on\n"
	"sign    Add this steward's signature. Epoch 1 is authorised by the community file\n"
	"        (--community), a later epoch by the previous complete roster (--previous);\n"
	"        --authority takes either.\n"
	"show    Print the roster: community, epoch, stewards and signatures, settings, members.\n"
	"verify  Check the roster against its authority; prints \"valid: epoch N, M members,\n"
	"        K/S signatures (threshold k)\" and exits 0, or names the problem and exits 1.\n\n"
	"Common options: -r, --roster FILE; -o, --out FILE (default: --roster);\n"
	"-c, --community FILE; -j, --json; -h, --help\n";

enum {
	OPT_MEMBER_ID = 1000,
	OPT_TRANSPORT_PK,
	OPT_RING_PK,
	OPT_MIN_RING,
	OPT_REQUIRE_ANON,
	OPT_ALLOW_ATTR,
	OPT_MAX_AGE,
	OPT_WITHDRAW,
	OPT_KEEP,
	OPT_PREVIOUS,
	OPT_AUTHORITY,
	OPT_STEWARD_KEY,
	OPT_ADD_STEWARD,
	OPT_REMOVE_STEWARD,
	OPT_THRESHOLD,
	OPT_FROM,
	OPT_SUCCESSOR,
	OPT_STATEMENT,
	OPT_POC_EMAIL,
	OPT_POC_URL,
	OPT_POC_PHONE,
	OPT_POC_HOURS,
	OPT_POC_TZ,
	OPT_POC_LANG,
	OPT_POC_PGP,
	OPT_PREFIX,
	OPT_ASN,
	OPT_CONST_DOMAIN,
};

static const struct option roster_opts[] = {
	{"roster", required_argument, NULL, 'r'},
	{"community", required_argument, NULL, 'c'},
	{"out", required_argument, NULL, 'o'},
	{"key", required_argument, NULL, 'k'},
	{"member-id", required_argument, NULL, OPT_MEMBER_ID},
	{"transport-pk", required_argument, NULL, OPT_TRANSPORT_PK},
	{"ring-pk", required_argument, NULL, OPT_RING_PK},
	{"name", required_argument, NULL, 'n'},
	{"alias", required_argument, NULL, 'a'},
	{"domain", required_argument, NULL, 'd'},
	{"address", required_argument, NULL, 'A'},
	{"min-ring-size", required_argument, NULL, OPT_MIN_RING},
	{"require-anonymous", no_argument, NULL, OPT_REQUIRE_ANON},
	{"allow-attributed", no_argument, NULL, OPT_ALLOW_ATTR},
	{"max-report-age", required_argument, NULL, OPT_MAX_AGE},
	{"withdraw-departed", no_argument, NULL, OPT_WITHDRAW},
	{"keep-departed", no_argument, NULL, OPT_KEEP},
	{"previous", required_argument, NULL, OPT_PREVIOUS},
	{"authority", required_argument, NULL, OPT_AUTHORITY},
	{"steward-key", required_argument, NULL, OPT_STEWARD_KEY},
	{"add-steward", required_argument, NULL, OPT_ADD_STEWARD},
	{"remove-steward", required_argument, NULL, OPT_REMOVE_STEWARD},
	{"threshold", required_argument, NULL, OPT_THRESHOLD},
	{"from", required_argument, NULL, OPT_FROM},
	{"successor", required_argument, NULL, OPT_SUCCESSOR},
	{"statement", required_argument, NULL, OPT_STATEMENT},
	{"poc-email", required_argument, NULL, OPT_POC_EMAIL},
	{"poc-url", required_argument, NULL, OPT_POC_URL},
	{"poc-phone", required_argument, NULL, OPT_POC_PHONE},
	{"poc-hours", required_argument, NULL, OPT_POC_HOURS},
	{"poc-tz", required_argument, NULL, OPT_POC_TZ},
	{"poc-lang", required_argument, NULL, OPT_POC_LANG},
	{"poc-pgp", required_argument, NULL, OPT_POC_PGP},
	{"prefix", required_argument, NULL, OPT_PREFIX},
	{"asn", required_argument, NULL, OPT_ASN},
	{"constituency-domain", required_argument, NULL, OPT_CONST_DOMAIN},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct roster_args {
	const char *roster, *community, *out, *key, *name, *previous, *authority, *steward_key;
	const char *member_id, *transport_pk, *ring_pk, *from, *successor, *statement;
	size_t n_alias, n_domain, n_addr;
	char *alias[PROTO_ROSTER_ALIASES_MAX];
	char *domain[PROTO_ROSTER_ALIASES_MAX];
	char *addr[PROTO_ROSTER_ALIASES_MAX];
	long long min_ring;  /* -1: unchanged */
	int require_anon;    /* -1: unchanged */
	long long max_age_s; /* -1: unchanged */
	int withdraw;	     /* -1: unchanged */
	long long threshold; /* -1: unchanged */
	size_t n_add_st, n_rm_st;
	uint8_t add_st[PROTO_ROSTER_STEWARDS_MAX][32];
	uint8_t rm_st[PROTO_ROSTER_STEWARDS_MAX][32];
	/* The member's directory entry (proto/poc.h); has_* when any option of it was given. */
	bool has_poc, has_cons;
	char *langs[PROTO_POC_LANGS_MAX];
	char *prefixes[PROTO_POC_LIST_MAX], *cdomains[PROTO_POC_LIST_MAX];
	uint32_t asns[PROTO_POC_LIST_MAX];
	struct proto_poc poc;		/* borrows optarg strings and the arrays above */
	struct proto_constituency cons; /* likewise */
	bool json;
};

/* Parses the options of a roster subcommand. Returns -1 to go on, else an exit code. */
static int roster_parse(const char *cmd, int argc, char **argv, struct roster_args *a)
{
	unsigned long long v;
	int opt;

	memset(a, 0, sizeof(*a));
	a->min_ring = a->require_anon = a->max_age_s = a->threshold = a->withdraw = -1;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":r:c:o:k:n:a:d:A:jh", roster_opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			a->roster = optarg;
			break;
		case 'c':
			a->community = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'n':
			a->name = optarg;
			break;
		case 'a':
		case 'd':
		case 'A': {
			size_t *n = opt == 'a'	 ? &a->n_alias
				    : opt == 'd' ? &a->n_domain
						 : &a->n_addr;
			char **list = opt == 'a' ? a->alias : opt == 'd' ? a->domain : a->addr;
			if (*n == PROTO_ROSTER_ALIASES_MAX)
				return node_cli_usage_error(
					cmd, "at most 16 aliases, domains and addresses "
					     "each");
			list[(*n)++] = optarg;
			break;
		}
		case OPT_MEMBER_ID:
			a->member_id = optarg;
			break;
		case OPT_TRANSPORT_PK:
			a->transport_pk = optarg;
			break;
		case OPT_RING_PK:
			a->ring_pk = optarg;
			break;
		case OPT_MIN_RING:
			if (node_cli_parse_uint(optarg, PROTO_ROSTER_MEMBERS_MAX, &v) ||
			    v < PROTO_ROSTER_MIN_RING_MIN)
				return node_cli_usage_error(cmd, "--min-ring-size takes 2-4096");
			a->min_ring = (long long)v;
			break;
		case OPT_REQUIRE_ANON:
			a->require_anon = 1;
			break;
		case OPT_ALLOW_ATTR:
			a->require_anon = 0;
			break;
		case OPT_WITHDRAW:
		case OPT_KEEP:
			a->withdraw = opt == OPT_WITHDRAW;
			break;
		case OPT_MAX_AGE:
			if (node_cli_parse_uint(optarg, 100ull * 366 * 86400, &v))
				return node_cli_usage_error(
					cmd, "--max-report-age takes seconds (0: unlimited)");
			a->max_age_s = (long long)v;
			break;
		case OPT_PREVIOUS:
			a->previous = optarg;
			break;
		case OPT_AUTHORITY:
			a->authority = optarg;
			break;
		case OPT_STEWARD_KEY:
			a->steward_key = optarg;
			break;
		case OPT_ADD_STEWARD:
		case OPT_REMOVE_STEWARD: {
			size_t *n = opt == OPT_ADD_STEWARD ? &a->n_add_st : &a->n_rm_st;
			uint8_t(*list)[32] = opt == OPT_ADD_STEWARD ? a->add_st : a->rm_st;
			if (*n == PROTO_ROSTER_STEWARDS_MAX)
				return node_cli_usage_error(cmd, "at most 32 stewards");
			if (node_cli_parse_hex32(optarg, list[*n]))
				return node_cli_usage_error(
					cmd, "--add-steward and --remove-steward take 64 "
					     "hex digits (a steward_pk)");
			(*n)++;
			break;
		}
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_SUCCESSOR:
			a->successor = optarg;
			break;
		case OPT_STATEMENT:
			a->statement = optarg;
			break;
		case OPT_POC_EMAIL:
		case OPT_POC_URL:
		case OPT_POC_PHONE:
		case OPT_POC_HOURS:
		case OPT_POC_TZ: {
			char **f[] = {&a->poc.email, &a->poc.url, &a->poc.phone, &a->poc.hours,
				      &a->poc.tz};

			*f[opt - OPT_POC_EMAIL] = optarg;
			a->has_poc = true;
			break;
		}
		case OPT_POC_LANG:
			if (a->poc.n_languages == PROTO_POC_LANGS_MAX)
				return node_cli_usage_error(cmd, "at most 8 --poc-lang");
			a->langs[a->poc.n_languages++] = optarg;
			a->poc.languages = a->langs;
			a->has_poc = true;
			break;
		case OPT_POC_PGP: {
			size_t hl = strlen(optarg);

			if ((hl != 40 && hl != 64) ||
			    proto_hex_decode(a->poc.pgp, hl / 2, optarg) != 0)
				return node_cli_usage_error(
					cmd, "--poc-pgp takes an OpenPGP fingerprint: 40 "
					     "or 64 hex digits");
			a->poc.pgp_len = (uint8_t)(hl / 2);
			a->has_poc = true;
			break;
		}
		case OPT_PREFIX:
		case OPT_CONST_DOMAIN: {
			size_t *n = opt == OPT_PREFIX ? &a->cons.n_prefixes : &a->cons.n_domains;

			if (*n == PROTO_POC_LIST_MAX)
				return node_cli_usage_error(cmd, "at most 256 --prefix, --asn and "
								 "--constituency-domain each");
			(opt == OPT_PREFIX ? a->prefixes : a->cdomains)[(*n)++] = optarg;
			a->cons.prefixes = a->prefixes;
			a->cons.domains = a->cdomains;
			a->has_cons = true;
			break;
		}
		case OPT_ASN: {
			const char *num = optarg + (strncasecmp(optarg, "AS", 2) ? 0 : 2);

			if (a->cons.n_asns == PROTO_POC_LIST_MAX)
				return node_cli_usage_error(cmd, "at most 256 --asn");
			if (node_cli_parse_uint(num, UINT32_MAX, &v) || v == 0)
				return node_cli_usage_error(
					cmd, "--asn takes an AS number 1-4294967295");
			a->asns[a->cons.n_asns++] = (uint32_t)v;
			a->cons.asns = a->asns;
			a->has_cons = true;
			break;
		}
		case OPT_THRESHOLD:
			if (node_cli_parse_uint(optarg, PROTO_ROSTER_STEWARDS_MAX, &v) || !v)
				return node_cli_usage_error(cmd, "--threshold takes 1-32");
			a->threshold = (long long)v;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			fputs(roster_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error(cmd, opt, argv);
		}
	}
	if (optind != argc)
		return node_cli_usage_error(cmd, "unexpected argument");
	if (!a->roster)
		return node_cli_usage_error(cmd, "--roster FILE is required");
	if (!a->out)
		a->out = a->roster;
	return -1;
}

/*
 * The member's directory entry from the --poc-* and constituency options: prefixes and
 * domains canonicalised (an address or CIDR as proto/indicator.h writes it, a domain in
 * lower case) into @a's own storage, lists sorted, every rule checked with the field named.
 */
static int directory_args(const char *cmd, struct roster_args *a, struct proto_member *m)
{
	static char canon[2][PROTO_POC_LIST_MAX][PROTO_IND_VALUE_MAX + 1];
	const char *reason = NULL;

	for (size_t i = 0; i < a->cons.n_prefixes; i++) {
		struct proto_indicator ind;
		const char *in = a->prefixes[i];

		if (proto_indicator_parse(&ind, strchr(in, ':') ? PROTO_IND_IPV6 : PROTO_IND_IPV4,
					  in, strlen(in), &reason))
			return node_cli_errorf(cmd, "--prefix %s: %s", in, reason);
		memcpy(canon[0][i], ind.value, ind.len + 1);
		a->prefixes[i] = canon[0][i];
	}
	for (size_t i = 0; i < a->cons.n_domains; i++) {
		struct proto_indicator ind;
		const char *in = a->cdomains[i];

		if (proto_indicator_parse(&ind, PROTO_IND_DOMAIN, in, strlen(in), &reason))
			return node_cli_errorf(cmd, "--constituency-domain %s: %s", in, reason);
		memcpy(canon[1][i], ind.value, ind.len + 1);
		a->cdomains[i] = canon[1][i];
	}
	proto_constituency_sort(&a->cons);
	if (proto_poc_check(&a->poc, &reason) || proto_constituency_check(&a->cons, &reason))
		return node_cli_errorf(cmd, "%s", reason ? reason : "invalid directory entry");
	m->poc = a->poc;
	m->constituency = a->cons;
	return 0;
}

/* The community settings given as options (roster add, remove, revoke). */
static void apply_settings(const struct roster_args *a, struct proto_roster *r)
{
	if (a->min_ring >= 0)
		r->settings.min_ring_size = (uint32_t)a->min_ring;
	if (a->require_anon >= 0)
		r->settings.require_anonymous = a->require_anon;
	if (a->max_age_s >= 0)
		r->settings.max_report_age_ms = (uint64_t)a->max_age_s * 1000;
	if (a->withdraw >= 0)
		r->settings.withdraw_departed = a->withdraw;
}

static int roster_add(const char *cmd, struct roster_args *a)
{
	struct proto_member m = {0}, kept = {0};
	int idx;
	struct proto_roster *r = NULL;
	struct proto_community c;
	char name[PROTO_ROSTER_NAME_MAX + 1] = "", hex[65];
	char canon[PROTO_ROSTER_ALIASES_MAX][PROTO_IND_VALUE_MAX + 1];
	char *domains[PROTO_ROSTER_ALIASES_MAX];
	const char *reason = NULL;
	bool updated = false;
	int code = NODE_CMD_EXIT_FAIL, e;

	if (a->key && (a->member_id || a->transport_pk || a->ring_pk))
		return node_cli_usage_error(cmd,
					    "give either --key or the three hex keys, not both");
	if (!a->key && !(a->member_id && a->transport_pk && a->ring_pk))
		return node_cli_usage_error(
			cmd, "the member's public keys are required: --key FILE.pub, "
			     "or --member-id, --transport-pk and --ring-pk");
	if (a->key) {
		if (member_keys_from_file(cmd, a->key, &m, name, sizeof(name)))
			return NODE_CMD_EXIT_FAIL;
	} else if (node_cli_parse_hex32(a->member_id, m.id) ||
		   node_cli_parse_hex32(a->transport_pk, m.transport_pk) ||
		   node_cli_parse_hex32(a->ring_pk, m.ring_pk)) {
		return node_cli_usage_error(cmd,
					    "--member-id, --transport-pk and --ring-pk take 64 hex "
					    "digits each");
	}
	if (a->name)
		snprintf(name, sizeof(name), "%s", a->name);
	if (!name[0])
		return node_cli_usage_error(cmd,
					    "--name is required (the public key file names none)");
	for (size_t i = 0; i < a->n_domain; i++) {
		struct proto_indicator ind;
		if (proto_indicator_parse(&ind, PROTO_IND_DOMAIN, a->domain[i],
					  strlen(a->domain[i]), &reason))
			return node_cli_errorf(cmd, "--domain %s: %s", a->domain[i], reason);
		memcpy(canon[i], ind.value, ind.len + 1);
		domains[i] = canon[i];
	}
	m.name = name;
	m.n_aliases = a->n_alias;
	m.aliases = a->n_alias ? a->alias : NULL;
	m.n_domains = a->n_domain;
	m.domains = a->n_domain ? domains : NULL;
	m.n_addrs = a->n_addr;
	m.addrs = a->n_addr ? a->addr : NULL;
	if (directory_args(cmd, a, &m))
		return NODE_CMD_EXIT_FAIL;
	if (proto_roster_check_member(&m, &reason))
		return node_cli_errorf(cmd, "member: %s", reason ? reason : "invalid");

	if (access(a->roster, F_OK) != 0 && errno == ENOENT) {
		if (!a->community)
			return node_cli_errorf(
				cmd,
				"%s does not exist; give --community FILE to start an "
				"epoch 1 roster",
				a->roster);
		e = node_keyfile_load_community(a->community, &c);
		if (e)
			return node_cli_file_error(cmd, "community file", a->community, e);
		r = roster_from_community(&c);
		if (!r)
			return node_cli_errorf(cmd, "out of memory");
		fprintf(stderr, "chatham: %s: starting an epoch 1 roster for community \"%s\"\n",
			cmd, c.name);
	} else {
		if (load_roster(cmd, a->roster, &r))
			return NODE_CMD_EXIT_FAIL;
		if (a->community) {
			e = node_keyfile_load_community(a->community, &c);
			if (e) {
				code = node_cli_file_error(cmd, "community file", a->community, e);
				goto out;
			}
			if (memcmp(c.id, r->community, 32) != 0) {
				code = node_cli_errorf(cmd,
						       "%s belongs to another community than %s",
						       a->roster, a->community);
				goto out;
			}
		}
		if (node_cli_roster_begin_edit(cmd, r, a->roster, a->out))
			goto out;
	}
	if ((idx = proto_roster_find_member(r, m.id)) >= 0) {
		/* An update without directory options keeps the member's directory entry. */
		if ((!a->has_poc && proto_poc_copy(&kept.poc, &r->members[idx].poc)) ||
		    (!a->has_cons &&
		     proto_constituency_copy(&kept.constituency, &r->members[idx].constituency))) {
			code = node_cli_errorf(cmd, "out of memory");
			goto out;
		}
		if (!a->has_poc)
			m.poc = kept.poc;
		if (!a->has_cons)
			m.constituency = kept.constituency;
		proto_roster_remove_member(r, m.id);
		updated = true;
	}
	e = proto_roster_add_member(r, &m);
	if (e) {
		code = node_cli_errorf(cmd, "cannot add the member: %s", proto_error_str(e));
		goto out;
	}
	apply_settings(a, r);
	e = proto_roster_check(r);
	if (e) {
		code = node_cli_errorf(
			cmd, "the roster would be invalid: %s%s", proto_error_str(e),
			e == PROTO_E_ROSTER_MEMBER
				? " (a key of this member is already used by another member "
				  "or a steward)"
				: "");
		goto out;
	}
	if (save_roster(cmd, a->out, r))
		goto out;
	printf("%s member %.16s... (%s) in the epoch %llu draft %s: %zu member%s; the stewards "
	       "sign it with chatham roster sign\n",
	       updated ? "updated" : "added", node_cli_hex32(hex, m.id), name,
	       (unsigned long long)r->epoch, a->out, r->n_members, r->n_members == 1 ? "" : "s");
	code = NODE_CMD_EXIT_OK;
out:
	proto_poc_deinit(&kept.poc);
	proto_constituency_deinit(&kept.constituency);
	proto_roster_free(r);
	return code;
}

static int roster_remove(const char *cmd, struct roster_args *a)
{
	struct proto_roster *r = NULL;
	uint8_t id[32];
	int code = NODE_CMD_EXIT_FAIL;

	if (node_cli_parse_hex32(a->member_id, id))
		return node_cli_usage_error(cmd, "--member-id HEX (64 hex digits) is required");
	if (load_roster(cmd, a->roster, &r))
		return NODE_CMD_EXIT_FAIL;
	if (proto_roster_find_member(r, id) < 0) {
		code = node_cli_errorf(cmd, "%s has no member %s", a->roster, a->member_id);
		goto out;
	}
	if (r->n_members == 1) {
		code = node_cli_errorf(cmd, "a roster needs at least one member; nothing written");
		goto out;
	}
	if (node_cli_roster_begin_edit(cmd, r, a->roster, a->out))
		goto out;
	proto_roster_remove_member(r, id);
	apply_settings(a, r);
	if (proto_roster_check(r)) {
		code = node_cli_errorf(cmd, "the roster would be invalid (check the settings)");
		goto out;
	}
	if (save_roster(cmd, a->out, r))
		goto out;
	printf("removed member %.16s... from the epoch %llu draft %s: %zu member%s left\n",
	       a->member_id, (unsigned long long)r->epoch, a->out, r->n_members,
	       r->n_members == 1 ? "" : "s");
	code = NODE_CMD_EXIT_OK;
out:
	proto_roster_free(r);
	return code;
}

static const char from_usage[] = "--from takes an RFC 3339 time such as "
				 "2026-01-31T12:00:00Z, or now";

/* --from TIME: RFC 3339 UTC or "now", in ms since the Unix epoch. 0 or -1. */
static int parse_from(const char *from, uint64_t *ms)
{
	struct timespec ts;

	if (strcmp(from, "now"))
		return node_req_time_parse(from, ms) ? -1 : 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	*ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return 0;
}

static int roster_revoke(const char *cmd, struct roster_args *a)
{
	struct proto_roster *r = NULL;
	struct proto_retired e = {0};
	bool was_member, again;
	char hex[65];
	int code = NODE_CMD_EXIT_FAIL, err;

	if (node_cli_parse_hex32(a->member_id, e.id))
		return node_cli_usage_error(cmd, "--member-id HEX (64 hex digits) is required");
	if (!a->from)
		return node_cli_usage_error(
			cmd, "--from TIME is required (RFC 3339 UTC, or now): the last "
			     "moment the key is trusted");
	if (parse_from(a->from, &e.not_after_ms))
		return node_cli_usage_error(cmd, from_usage);
	if (a->successor) {
		if (node_cli_parse_hex32(a->successor, e.successor))
			return node_cli_usage_error(
				cmd, "--successor takes 64 hex digits (a member id)");
		e.has_successor = true;
	}
	if (load_roster(cmd, a->roster, &r))
		return NODE_CMD_EXIT_FAIL;
	was_member = proto_roster_find_member(r, e.id) >= 0;
	again = proto_roster_find_retired(r, e.id) != NULL;
	if (!was_member && !again)
		fprintf(stderr,
			"chatham: %s: %.16s... is not a member of %s; retiring it anyway (a key of "
			"an earlier epoch)\n",
			cmd, node_cli_hex32(hex, e.id), a->roster);
	if (was_member && r->n_members == 1) {
		code = node_cli_errorf(cmd, "a roster needs at least one member; nothing written");
		goto out;
	}
	if (e.has_successor && proto_roster_find_member(r, e.successor) < 0) {
		code = node_cli_errorf(
			cmd,
			"the successor %.16s... is not a member of %s: add its new keys "
			"with chatham roster add first",
			node_cli_hex32(hex, e.successor), a->roster);
		goto out;
	}
	if (node_cli_roster_begin_edit(cmd, r, a->roster, a->out))
		goto out;
	err = proto_roster_retire(r, &e);
	apply_settings(a, r);
	if (!err)
		err = proto_roster_check(r);
	if (err) {
		code = node_cli_errorf(
			cmd, "the roster would be invalid: %s%s", proto_error_str(err),
			err == PROTO_E_ROSTER_MEMBER
				? " (the id is a steward key, or a key another member uses)"
				: "");
		goto out;
	}
	if (save_roster(cmd, a->out, r))
		goto out;
	printf("%s %.16s... in the epoch %llu draft %s: reports it signs after %s are refused; "
	       "%zu member%s\n",
	       again ? "re-dated the retired id" : "retired", node_cli_hex32(hex, e.id),
	       (unsigned long long)r->epoch, a->out, a->from, r->n_members,
	       r->n_members == 1 ? "" : "s");
	code = NODE_CMD_EXIT_OK;
out:
	proto_roster_free(r);
	return code;
}

/*
 * The steward set and threshold of the draft. Nothing here is trusted by the nodes: the
 * change only counts once k stewards of the roster in office have signed the draft
 * (proto_community_roster_judge()).
 */
static int roster_stewards(const char *cmd, struct roster_args *a)
{
	struct proto_roster *r = NULL;
	uint8_t(*st)[32] = NULL;
	size_t n;
	char hex[65];
	int code = NODE_CMD_EXIT_FAIL, e, i;

	if (!a->n_add_st && !a->n_rm_st && a->threshold < 0)
		return node_cli_usage_error(
			cmd, "nothing to change: give --add-steward, --remove-steward "
			     "or --threshold");
	if (load_roster(cmd, a->roster, &r))
		return NODE_CMD_EXIT_FAIL;
	st = malloc((r->n_stewards + a->n_add_st) * 32);
	if (!st) {
		code = node_cli_errorf(cmd, "out of memory");
		goto out;
	}
	memcpy(st, r->stewards, r->n_stewards * 32);
	n = r->n_stewards;
	for (size_t k = 0; k < a->n_rm_st; k++) {
		for (i = 0; i < (int)n && memcmp(st[i], a->rm_st[k], 32); i++)
			;
		if (i == (int)n) {
			code = node_cli_errorf(cmd, "%.16s... is not a steward of %s",
					       node_cli_hex32(hex, a->rm_st[k]), a->roster);
			goto out;
		}
		memmove(st[i], st[i + 1], (n - (size_t)i - 1) * 32);
		n--;
	}
	for (size_t k = 0; k < a->n_add_st; k++) {
		for (i = 0; i < (int)n && memcmp(st[i], a->add_st[k], 32); i++)
			;
		if (i < (int)n) {
			code = node_cli_errorf(cmd, "%.16s... is a steward already",
					       node_cli_hex32(hex, a->add_st[k]));
			goto out;
		}
		memcpy(st[n++], a->add_st[k], 32);
	}
	if (n == 0 || n > PROTO_ROSTER_STEWARDS_MAX) {
		code = node_cli_errorf(cmd, "a roster needs 1-32 stewards, this change leaves %zu",
				       n);
		goto out;
	}
	if (node_cli_roster_begin_edit(cmd, r, a->roster, a->out))
		goto out;
	free(r->stewards);
	r->stewards = st;
	st = NULL;
	r->n_stewards = n;
	if (a->threshold >= 0)
		r->threshold = (uint32_t)a->threshold;
	if (r->threshold > n) {
		code = node_cli_errorf(
			cmd, "threshold %u is larger than the %zu stewards; give --threshold",
			r->threshold, n);
		goto out;
	}
	e = proto_roster_check(r);
	if (e) {
		code = node_cli_errorf(
			cmd, "the roster would be invalid: %s%s", proto_error_str(e),
			e == PROTO_E_ROSTER_STEWARD || e == PROTO_E_ROSTER_MEMBER
				? " (a steward key is invalid or also used by a member)"
				: "");
		goto out;
	}
	if (save_roster(cmd, a->out, r))
		goto out;
	printf("epoch %llu draft %s: %zu steward%s, threshold %u; the stewards of the previous "
	       "roster sign it with chatham roster sign --previous\n",
	       (unsigned long long)r->epoch, a->out, n, n == 1 ? "" : "s", r->threshold);
	code = NODE_CMD_EXIT_OK;
out:
	free(st);
	proto_roster_free(r);
	return code;
}

/* The authority of @r's epoch from the options: community file for epoch 1, else previous. */
static int resolve_authority(const char *cmd, const struct roster_args *a,
			     const struct proto_roster *r, struct authority *auth)
{
	const char *path = a->authority, *what = NULL;
	int e;

	if (!path)
		path = r->epoch == 1 ? a->community : a->previous;
	if (!path) {
		if (r->epoch == 1)
			return node_cli_errorf(cmd,
					       "epoch 1 is authorised by the community file: give "
					       "--community FILE");
		return node_cli_errorf(
			cmd,
			"epoch %llu is authorised by the stewards of the previous roster: "
			"give --previous FILE",
			(unsigned long long)r->epoch);
	}
	e = load_authority(path, auth, &what);
	if (e)
		return node_cli_file_error(cmd, "authority", path, e);
	if (memcmp(auth->community, r->community, 32) != 0)
		return node_cli_errorf(cmd, "%s (%s) is for another community than the roster",
				       path, what);
	if (r->epoch == 1 && auth->epoch != 0)
		return node_cli_errorf(
			cmd, "epoch 1 is authorised by the community file, and %s is a roster",
			path);
	if (r->epoch > 1 && auth->epoch == 0)
		return node_cli_errorf(
			cmd,
			"epoch %llu is authorised by the previous roster's stewards, not by "
			"the community file: give --previous FILE",
			(unsigned long long)r->epoch);
	if (auth->epoch && auth->epoch >= r->epoch)
		return node_cli_errorf(
			cmd, "%s is epoch %llu, not older than the roster's epoch %llu", path,
			(unsigned long long)auth->epoch, (unsigned long long)r->epoch);
	return 0;
}

static int roster_sign(const char *cmd, struct roster_args *a)
{
	struct proto_roster *r = NULL;
	struct authority auth;
	uint8_t pk[32], sk[64];
	char hex[65];
	int code = NODE_CMD_EXIT_FAIL, e, idx = -1;

	if (!a->steward_key)
		return node_cli_usage_error(cmd, "--steward-key FILE is required");
	if (load_roster(cmd, a->roster, &r))
		return NODE_CMD_EXIT_FAIL;
	if (resolve_authority(cmd, a, r, &auth))
		goto out;
	e = node_keyfile_load_steward(a->steward_key, pk, sk);
	if (e) {
		code = node_cli_file_error(cmd, "steward key", a->steward_key, e);
		goto out;
	}
	for (size_t i = 0; i < auth.n; i++)
		if (!memcmp(auth.stewards[i], pk, 32))
			idx = (int)i;
	if (idx < 0) {
		proto_wipe(sk, sizeof(sk));
		code = node_cli_errorf(
			cmd,
			"steward key %.16s... is not one of the %zu stewards that authorise "
			"epoch %llu",
			node_cli_hex32(hex, pk), auth.n, (unsigned long long)r->epoch);
		goto out;
	}
	e = proto_roster_sign_with(r, (const uint8_t(*)[32])auth.stewards, auth.n, (uint32_t)idx,
				   sk);
	proto_wipe(sk, sizeof(sk));
	if (e) {
		code = node_cli_errorf(cmd, "cannot sign: %s", proto_error_str(e));
		goto out;
	}
	if (save_roster(cmd, a->out, r))
		goto out;
	e = proto_roster_verify(r, auth.community, (const uint8_t(*)[32])auth.stewards, auth.n,
				auth.threshold, auth.epoch);
	printf("signed epoch %llu as steward %d: %zu of %zu stewards have signed, threshold %u: %s\n",
	       (unsigned long long)r->epoch, idx, r->n_sigs, auth.n, auth.threshold,
	       e == 0 ? "complete" : "more signatures needed");
	code = NODE_CMD_EXIT_OK;
out:
	proto_roster_free(r);
	return code;
}

static json_t *str_list(char **list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

static json_t *roster_json(const struct proto_roster *r)
{
	json_t *o, *st = json_array(), *sig = json_array(), *mem = json_array(),
		   *ret = json_array();
	uint8_t *bytes = NULL, rid[32];
	size_t len;
	char hex[65], rhex[65];

	if (!st || !sig || !mem || !ret)
		goto fail;
	for (size_t i = 0; i < r->n_stewards; i++)
		json_array_append_new(st, json_string(node_cli_hex32(hex, r->stewards[i])));
	for (size_t i = 0; i < r->n_sigs; i++)
		json_array_append_new(sig, json_integer(r->sig_steward[i]));
	for (size_t i = 0; i < r->n_members; i++) {
		const struct proto_member *m = &r->members[i];
		json_t *j = json_pack("{s:s, s:s}", "member_id", node_cli_hex32(hex, m->id), "name",
				      m->name);
		json_object_set_new(j, "transport_pk",
				    json_string(node_cli_hex32(hex, m->transport_pk)));
		json_object_set_new(j, "ring_pk", json_string(node_cli_hex32(hex, m->ring_pk)));
		json_object_set_new(j, "aliases", str_list(m->aliases, m->n_aliases));
		json_object_set_new(j, "domains", str_list(m->domains, m->n_domains));
		json_object_set_new(j, "addresses", str_list(m->addrs, m->n_addrs));
		json_array_append_new(mem, j);
	}
	for (size_t i = 0; i < r->n_retired; i++) {
		const struct proto_retired *e = &r->retired[i];
		json_t *j = json_pack("{s:s, s:I}", "member_id", node_cli_hex32(hex, e->id),
				      "not_after_ms", (json_int_t)e->not_after_ms);
		if (e->has_successor)
			json_object_set_new(j, "successor",
					    json_string(node_cli_hex32(hex, e->successor)));
		json_array_append_new(ret, j);
	}
	if (proto_roster_encode(r, &bytes, &len) == 0)
		proto_roster_id(bytes, len, rid);
	else
		memset(rid, 0, sizeof(rid));
	free(bytes);
	o = json_pack("{s:s, s:s, s:I, s:s, s:i, s:o, s:o, s:{s:i, s:b, s:I, s:b}, s:o}",
		      "community_id", node_cli_hex32(hex, r->community), "community", r->name,
		      "epoch", (json_int_t)r->epoch, "roster_id", proto_hex_encode(rhex, rid, 32),
		      "threshold", (int)r->threshold, "stewards", st, "signed_by", sig, "settings",
		      "min_ring_size", (int)r->settings.min_ring_size, "require_anonymous",
		      (int)r->settings.require_anonymous, "max_report_age_ms",
		      (json_int_t)r->settings.max_report_age_ms, "withdraw_departed",
		      (int)r->settings.withdraw_departed, "members", mem);
	if (o)
		json_object_set_new(o, "retired", ret);
	else
		json_decref(ret);
	if (o && r->netkey_sealed)
		json_object_set_new(o, "new_network_key",
				    json_pack("{s:I, s:I}", "old_key_until_ms",
					      (json_int_t)r->netkey_old_until_ms, "sealed_to",
					      (json_int_t)r->n_members));
	if (o && r->oprf_vks) {
		json_t *vks = json_array();

		for (size_t i = 0; vks && i < r->oprf_n; i++)
			json_array_append_new(vks,
					      json_string(node_cli_hex32(hex, r->oprf_vks[i])));
		json_object_set_new(o, "oprf_keys",
				    json_pack("{s:I, s:i, s:o*}", "generation",
					      (json_int_t)r->oprf_generation, "threshold",
					      (int)r->oprf_t, "verification_keys", vks));
	}
	return o;
fail:
	json_decref(ret);
	json_decref(st);
	json_decref(sig);
	json_decref(mem);
	return NULL;
}

static void print_list(const char *label, char **list, size_t n)
{
	if (!n)
		return;
	printf("      %s: ", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", list[i]);
	putchar('\n');
}

static int roster_show(const char *cmd, struct roster_args *a)
{
	struct proto_roster *r = NULL;
	json_t *j;
	char hex[65];

	if (load_roster(cmd, a->roster, &r))
		return NODE_CMD_EXIT_FAIL;
	j = roster_json(r);
	if (!j) {
		proto_roster_free(r);
		return node_cli_errorf(cmd, "out of memory");
	}
	if (a->json) {
		node_cli_print_json(j);
		proto_roster_free(r);
		return NODE_CMD_EXIT_OK;
	}
	printf("community:  %s (%s)\n", r->name, node_cli_hex32(hex, r->community));
	printf("epoch:      %llu\n", (unsigned long long)r->epoch);
	printf("roster id:  %s\n", json_string_value(json_object_get(j, "roster_id")));
	printf("signatures: %zu (threshold %u of %zu stewards)%s\n", r->n_sigs, r->threshold,
	       r->n_stewards, r->n_sigs ? "" : ": a draft, not signed yet");
	printf("settings:   min_ring_size %u, require_anonymous %s, max_report_age %s",
	       r->settings.min_ring_size, r->settings.require_anonymous ? "yes" : "no",
	       r->settings.max_report_age_ms ? "" : "unlimited");
	if (r->settings.max_report_age_ms)
		printf("%llu s", (unsigned long long)(r->settings.max_report_age_ms / 1000));
	printf(",\n            withdraw_departed %s\nstewards:\n",
	       r->settings.withdraw_departed ? "yes" : "no");
	for (size_t i = 0; i < r->n_stewards; i++) {
		bool s = false;
		for (size_t k = 0; k < r->n_sigs; k++)
			s |= r->sig_steward[k] == i;
		printf("  %2zu %s%s\n", i, node_cli_hex32(hex, r->stewards[i]),
		       s ? "  signed" : "");
	}
	printf("members (%zu):\n", r->n_members);
	for (size_t i = 0; i < r->n_members; i++) {
		const struct proto_member *m = &r->members[i];
		printf("  %s  %s\n", node_cli_hex32(hex, m->id), m->name);
		printf("      transport: %s\n", node_cli_hex32(hex, m->transport_pk));
		printf("      ring:      %s\n", node_cli_hex32(hex, m->ring_pk));
		print_list("aliases", m->aliases, m->n_aliases);
		print_list("domains", m->domains, m->n_domains);
		print_list("addresses", m->addrs, m->n_addrs);
	}
	if (r->n_retired)
		printf("retired ids (%zu): refused for reports created after the time shown\n",
		       r->n_retired);
	for (size_t i = 0; i < r->n_retired; i++) {
		const struct proto_retired *e = &r->retired[i];
		char when[32];
		time_t t = (time_t)(e->not_after_ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("  %s  after %s\n", node_cli_hex32(hex, e->id), when);
		if (e->has_successor)
			printf("      successor: %s\n", node_cli_hex32(hex, e->successor));
	}
	if (r->netkey_sealed) {
		char when[32];
		time_t t = (time_t)(r->netkey_old_until_ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("new network key: sealed to each of the %zu members; the old key is "
		       "accepted until %s\n",
		       r->n_members, when);
	}
	if (r->oprf_vks)
		printf("OPRF key holders (sealed sightings): generation %llu, %u of %zu\n",
		       (unsigned long long)r->oprf_generation, r->oprf_t, r->oprf_n);
	json_decref(j);
	proto_roster_free(r);
	return NODE_CMD_EXIT_OK;
}

static int roster_verify(const char *cmd, struct roster_args *a)
{
	struct proto_roster *r = NULL;
	struct proto_community c;
	struct authority auth;
	int code = NODE_CMD_EXIT_FAIL, e;
	size_t good;

	if (!a->community)
		return node_cli_usage_error(cmd, "--community FILE is required (the trust anchor)");
	e = node_keyfile_load_community(a->community, &c);
	if (e)
		return node_cli_file_error(cmd, "community file", a->community, e);
	if (load_roster(cmd, a->roster, &r))
		return NODE_CMD_EXIT_FAIL;
	if (memcmp(r->community, c.id, 32) != 0) {
		code = node_cli_errorf(cmd, "invalid: %s",
				       proto_error_str(PROTO_E_ROSTER_COMMUNITY));
		goto out;
	}
	if (r->epoch == 1) {
		authority_from_community(&auth, &c);
	} else {
		struct roster_args b = *a;
		b.authority = NULL;
		b.community = NULL;
		if (resolve_authority(cmd, &b, r, &auth))
			goto out;
	}
	e = proto_roster_verify(r, auth.community, (const uint8_t(*)[32])auth.stewards, auth.n,
				auth.threshold, auth.epoch);
	if (e) {
		good = diagnose_sigs(r, &auth, cmd);
		if (e == PROTO_E_ROSTER_QUORUM)
			code = node_cli_errorf(
				cmd,
				"invalid: epoch %llu has %zu valid signature%s, the threshold "
				"is %u",
				(unsigned long long)r->epoch, good, good == 1 ? "" : "s",
				auth.threshold);
		else
			code = node_cli_errorf(cmd, "invalid: %s", proto_error_str(e));
		goto out;
	}
	if (a->json) {
		node_cli_print_json(json_pack("{s:b, s:I, s:i, s:i, s:i, s:i}", "valid", 1, "epoch",
					      (json_int_t)r->epoch, "members", (int)r->n_members,
					      "signatures", (int)r->n_sigs, "stewards", (int)auth.n,
					      "threshold", (int)auth.threshold));
	} else {
		printf("valid: epoch %llu, %zu member%s, %zu/%zu signatures (threshold %u)\n",
		       (unsigned long long)r->epoch, r->n_members, r->n_members == 1 ? "" : "s",
		       r->n_sigs, auth.n, auth.threshold);
	}
	code = NODE_CMD_EXIT_OK;
out:
	proto_roster_free(r);
	return code;
}

static int cmp_member(const void *a, const void *b)
{
	return memcmp(((const struct proto_member *)a)->id, ((const struct proto_member *)b)->id,
		      32);
}

static int roster_rotate(const char *cmd, struct roster_args *a)
{
	struct proto_roster *r = NULL;
	struct proto_retired e = {0};
	struct proto_rekey st;
	struct proto_member *m;
	uint8_t *buf = NULL;
	size_t len;
	char hex[65], hex2[65];
	int code = NODE_CMD_EXIT_FAIL, err, idx;

	if (!a->statement)
		return node_cli_usage_error(cmd, "--statement FILE is required (the member's "
						 "FILE.rotation from chatham keygen --rotate)");
	if (parse_from(a->from ? a->from : "now", &e.not_after_ms))
		return node_cli_usage_error(cmd, from_usage);
	err = node_keyfile_read_public(a->statement, &buf, &len, PROTO_REKEY_MAX_BYTES);
	if (err)
		return node_cli_file_error(cmd, "key rotation statement", a->statement, err);
	err = proto_rekey_decode(&st, buf, len);
	free(buf);
	if (err)
		return node_cli_errorf(cmd, "%s: not a valid key rotation statement: %s",
				       a->statement, proto_error_str(err));
	if (load_roster(cmd, a->roster, &r))
		return NODE_CMD_EXIT_FAIL;
	if (memcmp(st.community, r->community, 32)) {
		code = node_cli_errorf(cmd, "%s is for another community than %s", a->statement,
				       a->roster);
		goto out;
	}
	idx = proto_roster_find_member(r, st.old_id);
	if (idx < 0) {
		code = node_cli_errorf(cmd, "the statement's old id %.16s... is not a member of %s",
				       node_cli_hex32(hex, st.old_id), a->roster);
		goto out;
	}
	if (node_cli_roster_begin_edit(cmd, r, a->roster, a->out))
		goto out;
	/* Same entry (name, lists, directory), new keys; the old id retired to the new one. */
	m = &r->members[idx];
	memcpy(m->id, st.new_id, 32);
	memcpy(m->transport_pk, st.new_transport_pk, 32);
	memcpy(m->ring_pk, st.new_ring_pk, 32);
	qsort(r->members, r->n_members, sizeof(*r->members), cmp_member);
	memcpy(e.id, st.old_id, 32);
	memcpy(e.successor, st.new_id, 32);
	e.has_successor = true;
	err = proto_roster_retire(r, &e);
	if (!err)
		err = proto_roster_check(r);
	if (err) {
		code = node_cli_errorf(
			cmd, "the roster would be invalid: %s%s", proto_error_str(err),
			err == PROTO_E_ROSTER_MEMBER ? " (a new key is already in the roster)"
						     : "");
		goto out;
	}
	if (save_roster(cmd, a->out, r))
		goto out;
	printf("epoch %llu draft %s: member %.16s... now %.16s...; reports the old id signs "
	       "after %s are refused, its votes count for the new id\n",
	       (unsigned long long)r->epoch, a->out, node_cli_hex32(hex, st.old_id),
	       node_cli_hex32(hex2, st.new_id), a->from ? a->from : "now");
	code = NODE_CMD_EXIT_OK;
out:
	proto_roster_free(r);
	return code;
}

int node_cmd_roster(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const char *cmd, struct roster_args *a);
	} subs[] = {
		{"add", roster_add},	   {"remove", roster_remove},	  {"revoke", roster_revoke},
		{"rotate", roster_rotate}, {"stewards", roster_stewards}, {"sign", roster_sign},
		{"show", roster_show},	   {"verify", roster_verify},
	};
	struct roster_args a;
	char cmd[32];
	int r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(roster_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? NODE_CMD_EXIT_USAGE : NODE_CMD_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		snprintf(cmd, sizeof(cmd), "roster %s", subs[i].name);
		r = roster_parse(cmd, argc - 1, argv + 1, &a);
		if (r >= 0)
			return r;
		if (proto_crypto_init())
			return node_cli_errorf(cmd, "cannot initialise libsodium");
		return subs[i].fn(cmd, &a);
	}
	fprintf(stderr,
		"chatham: roster: unknown subcommand '%s' (add, remove, revoke, rotate, "
		"stewards, sign, show, verify)\n",
		argv[1]);
	return NODE_CMD_EXIT_USAGE;
}

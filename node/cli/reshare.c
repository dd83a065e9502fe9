/* SPDX-License-Identifier: MIT */
/*
 * `chatham community reshare-oprf deal|publish|accept`: re-sharing the sealed sightings' OPRF
 * key to a new set of holders (docs/SEALED.md §1, proto/reshare.h) with files, as the key
 * was dealt: each of t old holders deals a piece file per new holder (the piece sealed to the
 * new holder's transport key), a steward publishes the new verification keys in a roster
 * draft (body key 10), and each new holder checks its pieces and writes its new share file
 * (0600). Files rather than link messages: the stewards already hand each other roster
 * drafts and share files out of band, a re-sharing happens a few times in a community's
 * life, and no node has to be up for it.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/cli/cli.h"
#include "node/cli/cmd.h"
#include "node/cli/util.h"
#include "node/common/keyfile.h"
#include "proto/community.h"
#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/keys.h"
#include "proto/oprf.h"
#include "proto/reshare.h"
#include "proto/roster.h"

#define CMD "community reshare-oprf"

static const char reshare_usage[] =
	"usage: chatham community reshare-oprf deal --community FILE --roster FILE\n"
	"           --share FILE --old-set I,J,... --to MEMBER_ID... [--oprf-threshold T]\n"
	"           --out-dir DIR [--force] [--json]\n"
	"       chatham community reshare-oprf publish --community FILE --roster FILE\n"
	"           [--out FILE] [--json] PIECE...\n"
	"       chatham community reshare-oprf accept --community FILE --roster FILE\n"
	"           [--previous FILE] --key FILE --out FILE [--force] [--json] PIECE...\n\n"
	"Hand the sealed sightings' OPRF key on to a new set of share holders, without anyone\n"
	"rebuilding the key: sealed values keep their group tags, so what was sealed before\n"
	"still opens with what is sealed after. Shares of the old holders stop working once\n"
	"the nodes adopt the roster that publishes the new keys.\n\n"
	"deal     Run by each of the old holders in --old-set (at least the threshold in force).\n"
	"         Writes DIR/oprf-piece-I-J.bin for every new holder J (the J-th --to, a member\n"
	"         of --roster): this holder's piece sealed to J's transport key, and public\n"
	"         commitments. Give each file to every steward publishing, and to holder J.\n"
	"publish  Check the pieces' commitments against the keys in force (the roster's own\n"
	"         OPRF keys, else the community file's) and write the new holders' verification\n"
	"         keys into the roster draft, one generation up. Then K stewards sign it.\n"
	"accept   Run by each new holder: open its pieces with its member key, check each\n"
	"         against its commitments and the keys in force before (--previous, else the\n"
	"         community file's), and against the keys --roster publishes, and write its new\n"
	"         share file (0600; config: [node] oprf_share_file). The node switches to it\n"
	"         when it adopts the roster. A piece that fails a check is named with its\n"
	"         dealer's index, and nothing is written.\n\n"
	"  -c, --community FILE   the community file\n"
	"  -r, --roster FILE      deal: the roster in force (keys in force, the new holders'\n"
	"                         transport keys); publish: the roster to start the draft from,\n"
	"                         or the draft; accept: the roster or draft with the new keys\n"
	"  -p, --previous FILE    accept: the roster in force before the re-sharing\n"
	"  -s, --share FILE       deal: this holder's OPRF share file\n"
	"  -O, --old-set LIST     deal: indices of the old holders dealing, e.g. 1,2\n"
	"  -t, --to MEMBER_ID     deal: the next new holder (repeatable, in index order)\n"
	"  -T, --oprf-threshold T deal: shares a member needs from then on (default: the\n"
	"                         threshold in force)\n"
	"  -k, --key FILE         accept: this member's key bundle (its transport key)\n"
	"  -d, --out-dir DIR      deal: where to write the piece files\n"
	"  -o, --out FILE         publish: the draft to write (default: --roster);\n"
	"                         accept: the new share file\n"
	"  -f, --force            replace existing files\n"
	"  -j, --json             print the result as JSON\n"
	"  -h, --help             this text\n";

struct reshare_args {
	const char *community, *roster, *previous, *share, *key, *out, *out_dir;
	uint8_t old_set[PROTO_ROSTER_STEWARDS_MAX];
	size_t t_old;
	uint8_t to[PROTO_ROSTER_STEWARDS_MAX][32];
	size_t n_to;
	unsigned long long t_new;
	bool force, json;
	char **pieces;
	size_t n_pieces;
};

/* "1,2,5": ascending distinct indices 1..32. */
static int parse_set(const char *s, uint8_t *set, size_t *n)
{
	unsigned long long v;
	char buf[256], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (node_cli_parse_uint(tok, PROTO_ROSTER_STEWARDS_MAX, &v) || v == 0 ||
		    *n == PROTO_ROSTER_STEWARDS_MAX || (*n && v <= set[*n - 1]))
			return -EINVAL;
		set[(*n)++] = (uint8_t)v;
	}
	return *n ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct reshare_args *a)
{
	static const struct option opts[] = {
		{"community", required_argument, NULL, 'c'},
		{"roster", required_argument, NULL, 'r'},
		{"previous", required_argument, NULL, 'p'},
		{"share", required_argument, NULL, 's'},
		{"old-set", required_argument, NULL, 'O'},
		{"to", required_argument, NULL, 't'},
		{"oprf-threshold", required_argument, NULL, 'T'},
		{"key", required_argument, NULL, 'k'},
		{"out-dir", required_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	memset(a, 0, sizeof(*a));
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":c:r:p:s:O:t:T:k:d:o:fjh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			a->community = optarg;
			break;
		case 'r':
			a->roster = optarg;
			break;
		case 'p':
			a->previous = optarg;
			break;
		case 's':
			a->share = optarg;
			break;
		case 'O':
			if (parse_set(optarg, a->old_set, &a->t_old))
				return node_cli_usage_error(CMD,
							    "--old-set takes ascending indices "
							    "1-32 separated by commas");
			break;
		case 't':
			if (a->n_to == PROTO_ROSTER_STEWARDS_MAX)
				return node_cli_usage_error(CMD, "at most 32 --to");
			if (node_cli_parse_hex32(optarg, a->to[a->n_to]))
				return node_cli_usage_error(CMD, "--to takes a member id (64 hex "
								 "digits)");
			a->n_to++;
			break;
		case 'T':
			if (node_cli_parse_uint(optarg, PROTO_ROSTER_STEWARDS_MAX, &a->t_new) ||
			    !a->t_new)
				return node_cli_usage_error(CMD, "--oprf-threshold takes 1-32");
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'd':
			a->out_dir = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'f':
			a->force = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			fputs(reshare_usage, stdout);
			return NODE_CMD_EXIT_OK;
		default:
			return node_cli_option_error(CMD, opt, argv);
		}
	}
	a->pieces = argv + optind;
	a->n_pieces = (size_t)(argc - optind);
	if (!a->community || !a->roster)
		return node_cli_usage_error(CMD, "--community FILE and --roster FILE are required");
	return -1;
}

/* The keys in force per @r (its key 10, else @c's); @r may be NULL. */
static void keys_in_force(const struct proto_community *c, const struct proto_roster *r,
			  struct proto_community_sealed *out)
{
	proto_community_oprf_keys(c, (const struct proto_roster *const *)&r, r ? 1 : 0, out);
}

static int load_piece(const char *path, struct proto_reshare_piece *p)
{
	uint8_t *buf;
	size_t len;
	int err = node_keyfile_read_public(path, &buf, &len, PROTO_RESHARE_MAX_BYTES);

	if (err)
		return node_cli_file_error(CMD, "piece file", path, err);
	err = proto_reshare_piece_decode(p, buf, len);
	free(buf);
	if (err) {
		node_cli_errorf(CMD, "piece file %s: %s", path, proto_error_str(err));
		return NODE_CMD_EXIT_DATAERR;
	}
	return 0;
}

/* ------------------------------------------------------------------ deal */

static int reshare_deal(struct reshare_args *a, const struct proto_community *c,
			struct proto_roster *r)
{
	struct proto_community_sealed cur;
	struct proto_reshare_piece *pieces = NULL;
	uint8_t cid[32], share[32], tx[PROTO_ROSTER_STEWARDS_MAX][32];
	uint32_t idx;
	uint64_t gen;
	char path[4096];
	json_t *files = json_array();
	int err, code = NODE_CMD_EXIT_FAIL;

	if (!a->share || !a->t_old || !a->n_to || !a->out_dir) {
		code = node_cli_usage_error(CMD, "deal needs --share, --old-set, --to and "
						 "--out-dir");
		goto out;
	}
	keys_in_force(c, r, &cur);
	if (!a->t_new)
		a->t_new = cur.t;
	if (a->t_new > a->n_to) {
		code = node_cli_usage_error(CMD, "--oprf-threshold is larger than the number of "
						 "--to");
		goto out;
	}
	err = node_keyfile_load_oprf_share(a->share, cid, &idx, &gen, share);
	if (err) {
		node_cli_file_error(CMD, "OPRF share file", a->share, err);
		goto out;
	}
	if (memcmp(cid, c->id, 32) || gen != cur.generation || idx > cur.n ||
	    proto_oprf_share_check(share, cur.vks[idx - 1])) {
		node_cli_errorf(CMD,
				"%s is not a share of the OPRF keys in force (generation %llu, "
				"its file says %llu)",
				a->share, (unsigned long long)cur.generation,
				(unsigned long long)gen);
		code = NODE_CMD_EXIT_DATAERR;
		goto out;
	}
	if (a->t_old < cur.t || a->old_set[a->t_old - 1] > cur.n) {
		code = node_cli_usage_error(CMD, "--old-set needs at least the threshold in force "
						 "of indices of holders in force");
		goto out;
	}
	for (size_t j = 0; j < a->n_to; j++) {
		int m = proto_roster_find_member(r, a->to[j]);

		if (m < 0) {
			char hex[65];

			node_cli_errorf(CMD, "--to %s is not a member of %s",
					node_cli_hex32(hex, a->to[j]), a->roster);
			code = NODE_CMD_EXIT_DATAERR;
			goto out;
		}
		memcpy(tx[j], r->members[m].transport_pk, 32);
	}
	pieces = calloc(a->n_to, sizeof(*pieces));
	if (!pieces || !files) {
		node_cli_errorf(CMD, "out of memory");
		goto out;
	}
	err = proto_reshare_deal(pieces, c->id, cur.generation + 1, share, (uint8_t)idx, a->old_set,
				 a->t_old, (uint8_t)a->t_new, (uint8_t)a->n_to,
				 (const uint8_t(*)[32])a->to, (const uint8_t(*)[32])tx);
	if (err) {
		node_cli_errorf(CMD, "dealing: %s%s", proto_error_str(err),
				err == PROTO_E_OPRF_INDEX ? " (is this holder in --old-set?)" : "");
		goto out;
	}
	if (mkdir(a->out_dir, 0750) && errno != EEXIST) {
		node_cli_errorf(CMD, "cannot create %s: %s", a->out_dir, proto_error_str(-errno));
		goto out;
	}
	for (size_t j = 0; j < a->n_to; j++) {
		uint8_t *buf;
		size_t len;

		snprintf(path, sizeof(path), "%s/oprf-piece-%u-%zu.bin", a->out_dir, idx, j + 1);
		err = proto_reshare_piece_encode(&pieces[j], &buf, &len);
		if (!err) {
			err = node_keyfile_write_public(path, buf, len,
							a->force ? NODE_KEYFILE_OVERWRITE : 0);
			free(buf);
		}
		if (err) {
			node_cli_file_error(CMD, "piece file", path, err);
			goto out;
		}
		json_array_append_new(files, json_string(path));
	}
	if (a->json) {
		node_cli_print_json(json_pack("{s:I, s:i, s:i, s:i, s:O}", "generation",
					      (json_int_t)cur.generation + 1, "dealer", (int)idx,
					      "oprf_threshold", (int)a->t_new, "holders",
					      (int)a->n_to, "files", files));
	} else {
		printf("old holder %u dealt generation %llu pieces to %zu new holders (%llu of "
		       "%zu needed):\n",
		       idx, (unsigned long long)cur.generation + 1, a->n_to, a->t_new, a->n_to);
		for (size_t j = 0; j < json_array_size(files); j++)
			printf("  %s\n", json_string_value(json_array_get(files, j)));
	}
	code = NODE_CMD_EXIT_OK;
out:
	proto_wipe(share, sizeof(share));
	free(pieces);
	json_decref(files);
	return code;
}

/* ------------------------------------------------------------------ publish / accept */

/*
 * One piece of each dealer of the round among @a->pieces, checked against the keys in
 * force @cur: @dealers[i] for old_set[i]. With @to (accept), only pieces for that new holder
 * and member are taken, and each must be. Returns 0 or an exit code (message printed).
 */
static int collect(struct reshare_args *a, const struct proto_community_sealed *cur,
		   struct proto_reshare_piece *all, const struct proto_reshare_piece **dealers,
		   const uint8_t *member)
{
	size_t n = 0;
	int err;

	if (!a->n_pieces)
		return node_cli_usage_error(CMD, "no piece files given");
	for (size_t i = 0; i < a->n_pieces; i++) {
		struct proto_reshare_piece *p = &all[i];
		size_t pos = 0;

		if ((err = load_piece(a->pieces[i], p)))
			return err;
		if (i && !proto_reshare_same_round(&all[0], p))
			return node_cli_errorf(CMD,
					       "%s is not of the same re-sharing as %s (or old "
					       "holder %u dealt two different rounds)",
					       a->pieces[i], a->pieces[0], p->dealer);
		if (member && memcmp(p->member, member, 32))
			return node_cli_errorf(CMD, "%s is for another new holder (index %u)",
					       a->pieces[i], p->to);
		if (member && p->to != all[0].to)
			return node_cli_errorf(CMD, "%s is for new holder %u, %s for %u",
					       a->pieces[i], p->to, a->pieces[0], all[0].to);
		err = proto_reshare_dealer_check(p, cur);
		if (err) {
			node_cli_errorf(CMD, "%s: old holder %u's piece is refused: %s",
					a->pieces[i], p->dealer, proto_error_str(err));
			return NODE_CMD_EXIT_DATAERR;
		}
		while (p->old_set[pos] != p->dealer)
			pos++;
		if (!dealers[pos]) {
			dealers[pos] = p;
			n++;
		}
	}
	if (n != all[0].t_old) {
		for (size_t i = 0; i < all[0].t_old; i++)
			if (!dealers[i])
				return node_cli_errorf(CMD, "no piece of old holder %u given",
						       all[0].old_set[i]);
	}
	return 0;
}

static int reshare_publish(struct reshare_args *a, const struct proto_community *c,
			   struct proto_roster *r)
{
	struct proto_community_sealed cur;
	struct proto_reshare_piece *all = calloc(a->n_pieces ? a->n_pieces : 1, sizeof(*all));
	const struct proto_reshare_piece *dealers[PROTO_ROSTER_STEWARDS_MAX] = {NULL};
	uint8_t vks[PROTO_ROSTER_STEWARDS_MAX][32];
	const char *out = a->out ? a->out : a->roster;
	int err, code = NODE_CMD_EXIT_FAIL;

	if (!all)
		return node_cli_errorf(CMD, "out of memory");
	keys_in_force(c, r, &cur);
	if ((code = collect(a, &cur, all, dealers, NULL)))
		goto out;
	code = NODE_CMD_EXIT_FAIL;
	err = proto_reshare_vks(vks, dealers, all[0].t_old);
	if (!err)
		err = proto_oprf_vks_check((const uint8_t(*)[32])vks, all[0].n_new, all[0].t_new,
					   c->sealed.vk);
	if (err) {
		node_cli_errorf(CMD, "the dealers' commitments give no keys of the OPRF key: %s",
				proto_error_str(err));
		code = NODE_CMD_EXIT_DATAERR;
		goto out;
	}
	if (node_cli_roster_begin_edit(CMD, r, a->roster, out))
		goto out;
	err = proto_roster_set_oprf(r, all[0].generation, all[0].t_new, (const uint8_t(*)[32])vks,
				    all[0].n_new);
	if (!err)
		err = node_keyfile_save_roster(out, r, NODE_KEYFILE_OVERWRITE);
	if (err) {
		node_cli_errorf(CMD, "cannot write %s: %s", out, proto_error_str(err));
		goto out;
	}
	if (a->json)
		node_cli_print_json(json_pack("{s:s, s:I, s:I, s:i, s:i}", "roster", out, "epoch",
					      (json_int_t)r->epoch, "generation",
					      (json_int_t)all[0].generation, "oprf_threshold",
					      all[0].t_new, "holders", all[0].n_new));
	else
		printf("%s: epoch %llu draft publishes OPRF key generation %llu, %u of %u "
		       "holders\nNext: %u steward(s) sign it (`chatham roster sign`); each new "
		       "holder runs `chatham community reshare-oprf accept`\n",
		       out, (unsigned long long)r->epoch, (unsigned long long)all[0].generation,
		       all[0].t_new, all[0].n_new, r->threshold);
	code = NODE_CMD_EXIT_OK;
out:
	free(all);
	return code;
}

static int reshare_accept(struct reshare_args *a, const struct proto_community *c,
			  struct proto_roster *r)
{
	struct proto_community_sealed cur;
	struct proto_roster *prev = NULL;
	struct proto_keys keys;
	struct proto_reshare_piece *all = calloc(a->n_pieces ? a->n_pieces : 1, sizeof(*all));
	const struct proto_reshare_piece *dealers[PROTO_ROSTER_STEWARDS_MAX] = {NULL};
	uint8_t pieces[PROTO_ROSTER_STEWARDS_MAX][32], vkp[PROTO_ROSTER_STEWARDS_MAX][32];
	uint8_t share[32], vk[32];
	const struct proto_reshare_piece *p0;
	int err, code = NODE_CMD_EXIT_FAIL;

	memset(&keys, 0, sizeof(keys));
	if (!all)
		return node_cli_errorf(CMD, "out of memory");
	if (!a->key || !a->out) {
		code = node_cli_usage_error(CMD, "accept needs --key and --out");
		goto out;
	}
	if (a->previous && (err = node_keyfile_load_roster(a->previous, &prev))) {
		code = node_cli_file_error(CMD, "roster", a->previous, err);
		goto out;
	}
	if ((err = node_keyfile_load_member(a->key, &keys))) {
		code = node_cli_file_error(CMD, "member key", a->key, err);
		goto out;
	}
	keys_in_force(c, prev, &cur);
	if ((code = collect(a, &cur, all, dealers, keys.id_pk)))
		goto out;
	code = NODE_CMD_EXIT_DATAERR;
	p0 = dealers[0];
	if (!r->oprf_vks || r->oprf_generation != p0->generation || r->oprf_t != p0->t_new ||
	    r->oprf_n != p0->n_new) {
		node_cli_errorf(CMD,
				"%s does not publish the keys of this re-sharing "
				"(generation %llu, %u of %u holders)",
				a->roster, (unsigned long long)p0->generation, p0->t_new,
				p0->n_new);
		goto out;
	}
	for (size_t i = 0; i < p0->t_old; i++) {
		err = proto_reshare_piece_open(pieces[i], vkp[i], dealers[i], keys.tx_sk);
		if (err) {
			node_cli_errorf(CMD,
					"the piece old holder %u dealt to holder %u is refused: "
					"%s",
					dealers[i]->dealer, p0->to, proto_error_str(err));
			goto out;
		}
	}
	err = proto_oprf_reshare_finish(share, vk, (const uint8_t(*)[32])pieces,
					(const uint8_t(*)[32])vkp, p0->t_old);
	if (err || memcmp(vk, r->oprf_vks[p0->to - 1], 32)) {
		node_cli_errorf(
			CMD, "the pieces do not give the key %s publishes for holder %u%s%s",
			a->roster, p0->to, err ? ": " : "", err ? proto_error_str(err) : "");
		goto out;
	}
	err = node_keyfile_save_oprf_share(a->out, c->id, p0->to, p0->generation, share,
					   a->force ? NODE_KEYFILE_OVERWRITE : 0);
	if (err) {
		code = node_cli_file_error(CMD, "OPRF share file", a->out, err);
		goto out;
	}
	if (a->json)
		node_cli_print_json(json_pack("{s:s, s:i, s:I}", "share_file", a->out, "index",
					      p0->to, "generation", (json_int_t)p0->generation));
	else
		printf("%s: OPRF share %u of generation %llu (%u of %u holders); the node uses it "
		       "once it adopts the roster that publishes generation %llu\n",
		       a->out, p0->to, (unsigned long long)p0->generation, p0->t_new, p0->n_new,
		       (unsigned long long)p0->generation);
	code = NODE_CMD_EXIT_OK;
out:
	proto_wipe(pieces, sizeof(pieces));
	proto_wipe(share, sizeof(share));
	proto_keys_wipe(&keys);
	proto_roster_free(prev);
	free(all);
	return code;
}

int node_cli_community_reshare(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct reshare_args *a, const struct proto_community *c,
			  struct proto_roster *r);
	} subs[] = {
		{"deal", reshare_deal}, {"publish", reshare_publish}, {"accept", reshare_accept}};
	struct proto_community c;
	struct proto_roster *r = NULL;
	struct reshare_args a;
	int code, err;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(reshare_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? NODE_CMD_EXIT_USAGE : NODE_CMD_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name))
			continue;
		code = parse_args(argc - 1, argv + 1, &a);
		if (code >= 0)
			return code;
		if (proto_crypto_init())
			return node_cli_errorf(CMD, "cannot initialise libsodium");
		if ((err = node_keyfile_load_community(a.community, &c)))
			return node_cli_file_error(CMD, "community file", a.community, err);
		if (!c.sealed.k)
			return node_cli_errorf(CMD, "community file %s has no sealed sightings",
					       a.community);
		if ((err = node_keyfile_load_roster(a.roster, &r)))
			return node_cli_file_error(CMD, "roster", a.roster, err);
		if (memcmp(r->community, c.id, 32)) {
			proto_roster_free(r);
			return node_cli_errorf(CMD, "%s is a roster of another community",
					       a.roster);
		}
		code = subs[i].fn(&a, &c, r);
		proto_roster_free(r);
		return code;
	}
	fprintf(stderr, "chatham: %s: unknown subcommand '%s' (deal, publish or accept)\n", CMD,
		argv[1]);
	return NODE_CMD_EXIT_USAGE;
}

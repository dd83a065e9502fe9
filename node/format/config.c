/* SPDX-License-Identifier: MIT */
/*
 * Configuration parser. inih does the INI splitting; everything else lives here: a reader
 * that feeds inih one line at a time from memory (so line numbers are known in the handler
 * and the fuzzer needs no file), a syntax pre-check in that reader so every bad line is
 * reported rather than only the first, and typed value parsing driven by NODE_OPTIONS.
 * Defaults go through the same value parser as file values, so a bad default is caught by
 * the unit tests rather than by an operator.
 */
#include "node/format/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/format/addr.h"
#include "proto/error.h"

struct opt_def {
	const char *section;
	const char *name;
	enum node_opt_type type;
	const char *def;
	int64_t min, max;
	const char *choices;
	bool reloadable;
	const char *help;
};

static const struct opt_def opts[NODE_OPT__COUNT] = {
#define NODE_OPT_DEF(id, sec, nm, ty, df, mn, mx, ch, rl, hp) \
	[id] = {.section = sec,                               \
		.name = nm,                                   \
		.type = ty,                                   \
		.def = df,                                    \
		.min = mn,                                    \
		.max = mx,                                    \
		.choices = ch,                                \
		.reloadable = rl,                             \
		.help = hp},
	NODE_OPTIONS(NODE_OPT_DEF)
#undef NODE_OPT_DEF
};

struct value {
	bool b;
	int64_t i;     /* INT, SIZE, MODE; ENUM: index of the choice */
	char *s;       /* PATH; ENUM: the chosen word */
	uint32_t *ids; /* UIDS/GIDS */
	size_t n_ids;
	char **addrs; /* ADDRS and PATHS, as written */
	size_t n_addrs;
};

struct node_config {
	struct value v[NODE_OPT__COUNT];
	unsigned line[NODE_OPT__COUNT];
};

struct parse_ctx {
	const char *buf;
	size_t len, pos;
	unsigned lineno;
	node_config_report_fn report;
	void *rctx;
	unsigned n_errors;
	unsigned *err_lines; /* lines already reported, ascending */
	size_t n_err_lines, cap_err_lines;
	bool oom;
	bool section_known;		/* the current [section] is one of ours */
	unsigned seen[NODE_OPT__COUNT]; /* first line naming each option, valid or not */
	struct node_config *cfg;
};

static void value_clear(struct value *v)
{
	for (size_t i = 0; i < v->n_addrs; i++)
		free(v->addrs[i]);
	free(v->addrs);
	free(v->s);
	free(v->ids);
	memset(v, 0, sizeof(*v));
}

static void report(struct parse_ctx *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct parse_ctx *c, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->n_errors++;
	if (line && (c->n_err_lines == 0 || c->err_lines[c->n_err_lines - 1] != line)) {
		if (c->n_err_lines == c->cap_err_lines) {
			size_t cap = c->cap_err_lines ? 2 * c->cap_err_lines : 16;
			unsigned *p = realloc(c->err_lines, cap * sizeof(*p));
			if (!p) {
				c->oom = true;
				return;
			}
			c->err_lines = p;
			c->cap_err_lines = cap;
		}
		c->err_lines[c->n_err_lines++] = line;
	}
	if (!c->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->rctx, line, msg);
}

static bool line_reported(const struct parse_ctx *c, unsigned line)
{
	size_t lo = 0, hi = c->n_err_lines;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->err_lines[mid] == line)
			return true;
		if (c->err_lines[mid] < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* snprintf at *@off that never moves *@off past the end of @buf. */
static void append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < cap ? *off + (size_t)n : cap;
}

static bool section_exists(const char *name, size_t len)
{
	for (int i = 0; i < NODE_OPT__COUNT; i++)
		if (strlen(opts[i].section) == len && !memcmp(opts[i].section, name, len))
			return true;
	return false;
}

/*
 * Checks one raw line the way an operator thinks of it and returns whether inih may see it.
 * inih itself only reports the first bad line, and silently accepts a few things we refuse
 * (unknown empty sections).
 */
static bool precheck_line(struct parse_ctx *c, const char *line, size_t len)
{
	size_t a = 0, b = len;

	while (a < b && isspace((unsigned char)line[a]))
		a++;
	while (b > a && isspace((unsigned char)line[b - 1]))
		b--;
	if (a == b || line[a] == '#' || line[a] == ';')
		return true;
	if (line[a] == '[') {
		const char *end = memchr(line + a, ']', b - a);
		if (!end) {
			c->section_known = false;
			report(c, c->lineno, "section header without ']'");
			return false;
		}
		size_t after = (size_t)(end - line) + 1;
		while (after < b && isspace((unsigned char)line[after]))
			after++;
		if (after < b && line[after] != ';' && line[after] != '#') {
			c->section_known = false;
			report(c, c->lineno, "text after the section header");
			return false;
		}
		size_t s = a + 1, e = (size_t)(end - line);
		while (s < e && isspace((unsigned char)line[s]))
			s++;
		while (e > s && isspace((unsigned char)line[e - 1]))
			e--;
		c->section_known = section_exists(line + s, e - s);
		if (!c->section_known) {
			char known[256] = "";
			size_t off = 0;
			const char *last = NULL;
			for (int i = 0; i < NODE_OPT__COUNT; i++) {
				if (last && !strcmp(last, opts[i].section))
					continue;
				last = opts[i].section;
				append(known, sizeof(known), &off, "%s[%s]", off ? " " : "", last);
			}
			report(c, c->lineno, "unknown section [%.*s] (known: %s)", (int)(e - s),
			       line + s, known);
			return false;
		}
		return true;
	}
	if (!memchr(line + a, '=', b - a) && !memchr(line + a, ':', b - a)) {
		report(c, c->lineno, "expected 'name = value', '[section]' or a comment");
		return false;
	}
	return true;
}

/* inih reader over the memory buffer: one line per call, with our checks applied. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *p, *nl;
	size_t len, take;

	if (c->pos >= c->len)
		return NULL;
	p = c->buf + c->pos;
	nl = memchr(p, '\n', c->len - c->pos);
	len = nl ? (size_t)(nl - p) : c->len - c->pos;
	c->pos += len + (nl ? 1 : 0);
	c->lineno++;
	if (c->lineno == 1 && len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) {
		p += 3; /* UTF-8 byte order mark */
		len -= 3;
	}
	take = len;
	if (take && p[take - 1] == '\r')
		take--;

	if (take > NODE_CONFIG_LINE_MAX || take + 2 > (size_t)num) {
		report(c, c->lineno, "line longer than %d bytes", NODE_CONFIG_LINE_MAX);
		goto blank;
	}
	if (memchr(p, '\0', take)) {
		report(c, c->lineno, "NUL byte in line");
		goto blank;
	}
	if (!precheck_line(c, p, take))
		goto blank;
	memcpy(str, p, take);
	str[take] = '\n';
	str[take + 1] = '\0';
	return str;
blank:
	/* Keep inih's line count in step with ours, but give it nothing to parse. */
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

static int find_opt(const char *section, const char *name)
{
	for (int i = 0; i < NODE_OPT__COUNT; i++)
		if (!strcmp(opts[i].section, section) && !strcmp(opts[i].name, name))
			return i;
	return -1;
}

static int parse_u64(const char *s, int base, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else
			break;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (p == s)
		return -EINVAL;
	*out = v;
	*end = p;
	return 0;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"true", "yes", "on", "1"};
	static const char *const f[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, t[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, f[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static int choice_index(const char *choices, const char *word)
{
	size_t wl = strlen(word);
	int idx = 0;

	for (const char *p = choices; *p; idx++) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == wl && !memcmp(p, word, l))
			return idx;
		if (!bar)
			break;
		p = bar + 1;
	}
	return -1;
}

static int add_id(struct value *v, uint32_t id)
{
	for (size_t i = 0; i < v->n_ids; i++)
		if (v->ids[i] == id)
			return 0;
	if (v->n_ids >= NODE_CONFIG_IDS_MAX)
		return -E2BIG;
	uint32_t *p = realloc(v->ids, (v->n_ids + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	v->ids = p;
	v->ids[v->n_ids++] = id;
	return 0;
}

/* Looks up a user or group name; numbers are taken as they are. */
static int resolve_id(bool group, const char *tok, uint32_t *out)
{
	uint64_t n;
	const char *end;
	char buf[4096];
	int r;

	if (parse_u64(tok, 10, &n, &end) == 0 && !*end) {
		if (n >= UINT32_MAX)
			return -ERANGE;
		*out = (uint32_t)n;
		return 0;
	}
	if (group) {
		struct group g, *res = NULL;
		r = getgrnam_r(tok, &g, buf, sizeof(buf), &res);
		if (r || !res)
			return -ENOENT;
		*out = res->gr_gid;
	} else {
		struct passwd pw, *res = NULL;
		r = getpwnam_r(tok, &pw, buf, sizeof(buf), &res);
		if (r || !res)
			return -ENOENT;
		*out = res->pw_uid;
	}
	return 0;
}

/* Append a copy of @tok to the list of @v (ADDRS and PATHS), at most d->max entries. */
static int list_push(const struct opt_def *d, struct value *v, const char *tok, const char *what,
		     char *why, size_t whylen)
{
	char **p;

	if (v->n_addrs >= (size_t)d->max) {
		snprintf(why, whylen, "more than %lld %s", (long long)d->max, what);
		return -E2BIG;
	}
	p = realloc(v->addrs, (v->n_addrs + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	v->addrs = p;
	if (!(v->addrs[v->n_addrs] = strdup(tok)))
		return -ENOMEM;
	v->n_addrs++;
	return 0;
}

/* Adds one "ip:port" of an ADDRS list; @why gets the reason on failure. */
static int add_addr(const struct opt_def *d, struct value *v, const char *tok, char *why,
		    size_t whylen)
{
	struct sockaddr_storage ss, other;

	if (node_addr_parse(tok, &ss) < 0) {
		snprintf(why, whylen,
			 "'%s' is not a numeric address a.b.c.d:port or [v6]:port (port 0-65535)",
			 tok);
		return -EINVAL;
	}
	for (size_t i = 0; i < v->n_addrs; i++) {
		node_addr_parse(v->addrs[i], &other);
		if (!memcmp(&ss, &other, sizeof(ss))) {
			snprintf(why, whylen, "'%s' is listed twice", tok);
			return -EINVAL;
		}
	}
	return list_push(d, v, tok, "addresses", why, whylen);
}

static int add_path(const struct opt_def *d, struct value *v, const char *tok, char *why,
		    size_t whylen)
{
	if (tok[0] != '/' || strlen(tok) >= PATH_MAX) {
		snprintf(why, whylen, "'%s' is not an absolute path", tok);
		return -EINVAL;
	}
	return list_push(d, v, tok, "paths", why, whylen);
}

/*
 * Parses @s as a value of @d into @out. On failure writes the reason into @why and returns
 * a negative errno (-EINVAL, -ERANGE, -ENOMEM).
 */
static int parse_value(const struct opt_def *d, const char *s, struct value *out, char *why,
		       size_t whylen)
{
	uint64_t u;
	const char *end;
	int r;

	memset(out, 0, sizeof(*out));
	switch (d->type) {
	case NODE_OPT_BOOL:
		if (!parse_bool(s, &out->b)) {
			snprintf(why, whylen,
				 "'%s' is not a boolean (true/false/yes/no/on/off/1/0)", s);
			return -EINVAL;
		}
		return 0;
	case NODE_OPT_INT:
	case NODE_OPT_SIZE:
	case NODE_OPT_MODE: {
		int base = d->type == NODE_OPT_MODE ? 8 : 10;
		r = parse_u64(s, base, &u, &end);
		if (r == 0 && d->type == NODE_OPT_SIZE && *end && !end[1]) {
			unsigned shift = 0;
			switch (*end) {
			case 'k':
			case 'K':
				shift = 10;
				break;
			case 'M':
				shift = 20;
				break;
			case 'G':
				shift = 30;
				break;
			default:
				r = -EINVAL;
			}
			if (r == 0 && u > (UINT64_MAX >> shift))
				r = -ERANGE;
			if (r == 0) {
				u <<= shift;
				end++;
			}
		}
		if (r == 0 && *end)
			r = -EINVAL;
		if (r == -EINVAL) {
			snprintf(why, whylen, "'%s' is not %s", s,
				 d->type == NODE_OPT_MODE   ? "an octal mode such as 0660"
				 : d->type == NODE_OPT_SIZE ? "a size (digits, optional k/M/G)"
							    : "a decimal integer");
			return r;
		}
		if (r == -ERANGE || u > (uint64_t)d->max) {
			if (d->type == NODE_OPT_MODE)
				snprintf(why, whylen, "%s is above the maximum %04llo", s,
					 (unsigned long long)d->max);
			else
				snprintf(why, whylen, "%s is above the maximum %lld", s,
					 (long long)d->max);
			return -ERANGE;
		}
		if ((int64_t)u < d->min) {
			if (d->type == NODE_OPT_MODE)
				snprintf(why, whylen, "%s is below the minimum %04llo", s,
					 (unsigned long long)d->min);
			else
				snprintf(why, whylen, "%s is below the minimum %lld", s,
					 (long long)d->min);
			return -ERANGE;
		}
		out->i = (int64_t)u;
		return 0;
	}
	case NODE_OPT_ENUM:
		r = choice_index(d->choices, s);
		if (r < 0) {
			snprintf(why, whylen, "'%s' is not one of %s", s, d->choices);
			return -EINVAL;
		}
		out->i = r;
		out->s = strdup(s);
		return out->s ? 0 : -ENOMEM;
	case NODE_OPT_PATH: {
		size_t l = strlen(s);
		if (l == 0 || s[0] != '/') {
			snprintf(why, whylen, "'%s' is not an absolute path", s);
			return -EINVAL;
		}
		if (l > (size_t)d->max) {
			snprintf(why, whylen, "path is %zu bytes, longer than %lld", l,
				 (long long)d->max);
			return -ERANGE;
		}
		out->s = strdup(s);
		return out->s ? 0 : -ENOMEM;
	}
	case NODE_OPT_UIDS:
	case NODE_OPT_GIDS: {
		char *copy = strdup(s), *save = NULL;
		if (!copy)
			return -ENOMEM;
		r = 0;
		for (char *tok = strtok_r(copy, ", \t", &save); tok;
		     tok = strtok_r(NULL, ", \t", &save)) {
			uint32_t id;
			bool grp = d->type == NODE_OPT_GIDS;
			r = resolve_id(grp, tok, &id);
			if (r) {
				snprintf(why, whylen, "'%s' is not a known %s name or a number",
					 tok, grp ? "group" : "user");
				break;
			}
			r = add_id(out, id);
			if (r) {
				snprintf(why, whylen, "more than %d entries", NODE_CONFIG_IDS_MAX);
				break;
			}
		}
		free(copy);
		if (r)
			value_clear(out);
		return r;
	}
	case NODE_OPT_ADDRS:
	case NODE_OPT_PATHS: {
		char *copy = strdup(s), *save = NULL;
		if (!copy)
			return -ENOMEM;
		r = 0;
		for (char *tok = strtok_r(copy, ", \t", &save); tok && !r;
		     tok = strtok_r(NULL, ", \t", &save))
			r = d->type == NODE_OPT_ADDRS ? add_addr(d, out, tok, why, whylen)
						      : add_path(d, out, tok, why, whylen);
		free(copy);
		if (r)
			value_clear(out);
		return r;
	}
	}
	snprintf(why, whylen, "internal: unknown option type");
	return -EINVAL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	char why[384];
	struct value v;
	int o, r;

	if (!*section) {
		report(c, c->lineno, "'%s' is outside any [section]", name);
		return 1;
	}
	if (!c->section_known)
		return 1; /* the header was reported; one message per unknown section */
	o = find_opt(section, name);
	if (o < 0) {
		char known[512] = "";
		size_t off = 0;
		for (int i = 0; i < NODE_OPT__COUNT; i++)
			if (!strcmp(opts[i].section, section))
				append(known, sizeof(known), &off, "%s%s", off ? ", " : "",
				       opts[i].name);
		report(c, c->lineno, "[%s] %s: unknown option (known: %s)", section, name, known);
		return 1;
	}
	if (c->seen[o]) {
		report(c, c->lineno, "[%s] %s: set twice (first at line %u)", section, name,
		       c->seen[o]);
		return 1;
	}
	c->seen[o] = c->lineno;
	r = parse_value(&opts[o], value, &v, why, sizeof(why));
	if (r == -ENOMEM) {
		c->oom = true;
		return 1;
	}
	if (r) {
		report(c, c->lineno, "[%s] %s: %s", section, name, why);
		return 1;
	}
	value_clear(&c->cfg->v[o]);
	c->cfg->v[o] = v;
	c->cfg->line[o] = c->lineno;
	return 1;
}

/* Expands "${VAR:-fallback}" and "%{section.name}" in a default; see config.h. */
static int expand_default(const struct node_config *cfg, const char *def, char *out, size_t len,
			  char *why, size_t whylen)
{
	size_t o = 0;

	for (const char *p = def; *p;) {
		const char *add = NULL;
		size_t addlen = 0;
		if (p[0] == '$' && p[1] == '{') {
			const char *close = strchr(p, '}'), *sep = strstr(p, ":-");
			char var[64];
			if (!close || !sep || sep > close || (size_t)(sep - p - 2) >= sizeof(var))
				goto bad;
			memcpy(var, p + 2, (size_t)(sep - p - 2));
			var[sep - p - 2] = '\0';
			const char *env = getenv(var);
			if (env && *env) {
				add = env;
				addlen = strcspn(env, ":");
			} else {
				add = sep + 2;
				addlen = (size_t)(close - sep - 2);
			}
			p = close + 1;
		} else if (p[0] == '%' && p[1] == '{') {
			const char *close = strchr(p, '}'), *dot = strchr(p, '.');
			char sec[32], nm[64];
			int ref = -1;
			if (!close || !dot || dot > close || (size_t)(dot - p - 2) >= sizeof(sec) ||
			    (size_t)(close - dot - 1) >= sizeof(nm))
				goto bad;
			memcpy(sec, p + 2, (size_t)(dot - p - 2));
			sec[dot - p - 2] = '\0';
			memcpy(nm, dot + 1, (size_t)(close - dot - 1));
			nm[close - dot - 1] = '\0';
			ref = find_opt(sec, nm);
			if (ref < 0 || !cfg->v[ref].s)
				goto bad;
			add = cfg->v[ref].s;
			addlen = strlen(add);
			p = close + 1;
		} else {
			add = p;
			addlen = 1;
			p++;
		}
		if (o + addlen >= len) {
			snprintf(why, whylen, "expands to more than %zu bytes", len - 1);
			return -ERANGE;
		}
		memcpy(out + o, add, addlen);
		o += addlen;
	}
	out[o] = '\0';
	return 0;
bad:
	snprintf(why, whylen, "internal: malformed default '%s'", def);
	return -EINVAL;
}

/*
 * Relations between options (config.h). An option whose own value was refused has its
 * default now; it is skipped so that one mistake is reported once.
 */
static void check_relations(struct parse_ctx *c)
{
	static const struct {
		enum node_opt lo, hi;
		bool strict;
	} rel[] = {
		{NODE_OVERLAY_KEEPALIVE_MS, NODE_OVERLAY_DEAD_AFTER_MS, true},
		{NODE_OVERLAY_BACKOFF_MIN_MS, NODE_OVERLAY_BACKOFF_MAX_MS, false},
	};
	const struct node_config *cfg = c->cfg;

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		enum node_opt lo = rel[i].lo, hi = rel[i].hi;
		int64_t a = cfg->v[lo].i, b = cfg->v[hi].i;
		unsigned line = cfg->line[lo] > cfg->line[hi] ? cfg->line[lo] : cfg->line[hi];

		if ((c->seen[lo] && !cfg->line[lo]) || (c->seen[hi] && !cfg->line[hi]))
			continue;
		if (rel[i].strict ? b > a : b >= a)
			continue;
		report(c, line, "[%s] %s (%lld) must be %s %s (%lld)", opts[hi].section,
		       opts[hi].name, (long long)b, rel[i].strict ? "greater than" : "at least",
		       opts[lo].name, (long long)a);
	}
}

static int apply_defaults(struct parse_ctx *c)
{
	struct node_config *cfg = c->cfg;
	char buf[PATH_MAX], why[384];

	for (int o = 0; o < NODE_OPT__COUNT; o++) {
		struct value v;
		int r;
		if (cfg->line[o])
			continue;
		r = expand_default(cfg, opts[o].def, buf, sizeof(buf), why, sizeof(why));
		if (r == 0)
			r = parse_value(&opts[o], buf, &v, why, sizeof(why));
		if (r == -ENOMEM)
			return r;
		if (r) {
			report(c, 0, "[%s] %s: default '%s': %s", opts[o].section, opts[o].name,
			       opts[o].def, why);
			continue;
		}
		cfg->v[o] = v;
	}
	return 0;
}

int node_config_load_buffer(const char *buf, size_t len, node_config_report_fn report_fn, void *ctx,
			    struct node_config **out)
{
	struct parse_ctx c = {.buf = buf, .len = len, .report = report_fn, .rctx = ctx};
	int r;

	c.cfg = calloc(1, sizeof(*c.cfg));
	if (!c.cfg)
		return -ENOMEM;

	/*
	 * Debian's inih exposes its compile-time switches as globals. Continuation lines are
	 * off (an indented line is an ordinary line), and the heap buffer is large enough
	 * that our reader, not inih, decides what a too-long line is.
	 */
	ini_allow_multiline = false;
	ini_allow_inline_comments = true;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = NODE_CONFIG_LINE_MAX + 64;
	ini_max_line = NODE_CONFIG_LINE_MAX + 64;
	ini_stop_on_first_error = false;
	ini_allow_no_value = false;

	r = ini_parse_stream(reader, &c, handler, &c);
	if (r == -2 || c.oom) {
		r = -ENOMEM;
		goto fail;
	}
	if (r > 0 && !line_reported(&c, (unsigned)r))
		report(&c, (unsigned)r, "syntax error");
	r = apply_defaults(&c);
	if (r || c.oom) {
		r = -ENOMEM;
		goto fail;
	}
	check_relations(&c);
	if (c.n_errors) {
		r = NODE_E_CONFIG;
		goto fail;
	}
	free(c.err_lines);
	*out = c.cfg;
	return 0;
fail:
	free(c.err_lines);
	node_config_free(c.cfg);
	return r;
}

int node_config_load_file(const char *path, node_config_report_fn report_fn, void *ctx,
			  struct node_config **out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL, msg[512];
	size_t n;
	int r;

	if (!f) {
		snprintf(msg, sizeof(msg), "cannot open %s: %s", path, strerror(errno));
		goto report;
	}
	buf = malloc(NODE_CONFIG_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, NODE_CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(msg, sizeof(msg), "cannot read %s: %s", path, strerror(errno));
		fclose(f);
		goto report;
	}
	fclose(f);
	if (n > NODE_CONFIG_FILE_MAX) {
		snprintf(msg, sizeof(msg), "%s is larger than %u bytes", path,
			 NODE_CONFIG_FILE_MAX);
		goto report;
	}
	r = node_config_load_buffer(buf, n, report_fn, ctx, out);
	free(buf);
	return r;
report:
	free(buf);
	if (report_fn)
		report_fn(ctx, 0, msg);
	return NODE_E_CONFIG;
}

void node_config_free(struct node_config *cfg)
{
	if (!cfg)
		return;
	for (int o = 0; o < NODE_OPT__COUNT; o++)
		value_clear(&cfg->v[o]);
	free(cfg);
}

bool node_config_bool(const struct node_config *cfg, enum node_opt opt)
{
	assert(opts[opt].type == NODE_OPT_BOOL);
	return cfg->v[opt].b;
}

int64_t node_config_int(const struct node_config *cfg, enum node_opt opt)
{
	assert(opts[opt].type == NODE_OPT_INT || opts[opt].type == NODE_OPT_SIZE ||
	       opts[opt].type == NODE_OPT_MODE);
	return cfg->v[opt].i;
}

int node_config_enum(const struct node_config *cfg, enum node_opt opt)
{
	assert(opts[opt].type == NODE_OPT_ENUM);
	return (int)cfg->v[opt].i;
}

const char *node_config_str(const struct node_config *cfg, enum node_opt opt)
{
	assert(opts[opt].type == NODE_OPT_PATH || opts[opt].type == NODE_OPT_ENUM);
	return cfg->v[opt].s;
}

const uint32_t *node_config_ids(const struct node_config *cfg, enum node_opt opt, size_t *n)
{
	assert(opts[opt].type == NODE_OPT_UIDS || opts[opt].type == NODE_OPT_GIDS);
	*n = cfg->v[opt].n_ids;
	return cfg->v[opt].ids;
}

const char *const *node_config_addrs(const struct node_config *cfg, enum node_opt opt, size_t *n)
{
	assert(opts[opt].type == NODE_OPT_ADDRS);
	*n = cfg->v[opt].n_addrs;
	return (const char *const *)cfg->v[opt].addrs;
}

const char *const *node_config_paths(const struct node_config *cfg, enum node_opt opt, size_t *n)
{
	assert(opts[opt].type == NODE_OPT_PATHS);
	*n = cfg->v[opt].n_addrs;
	return (const char *const *)cfg->v[opt].addrs;
}

unsigned node_config_line(const struct node_config *cfg, enum node_opt opt)
{
	return cfg->line[opt];
}

const char *node_config_opt_section(enum node_opt opt)
{
	return opts[opt].section;
}

const char *node_config_opt_name(enum node_opt opt)
{
	return opts[opt].name;
}

bool node_config_opt_reloadable(enum node_opt opt)
{
	return opts[opt].reloadable;
}

const char *node_config_value_str(const struct node_config *cfg, enum node_opt opt, char *buf,
				  size_t len)
{
	const struct value *v = &cfg->v[opt];
	size_t o = 0;

	buf[0] = '\0';
	switch (opts[opt].type) {
	case NODE_OPT_BOOL:
		snprintf(buf, len, "%s", v->b ? "true" : "false");
		break;
	case NODE_OPT_INT:
	case NODE_OPT_SIZE:
		snprintf(buf, len, "%lld", (long long)v->i);
		break;
	case NODE_OPT_MODE:
		snprintf(buf, len, "%04llo", (unsigned long long)v->i);
		break;
	case NODE_OPT_ENUM:
	case NODE_OPT_PATH:
		snprintf(buf, len, "%s", v->s ? v->s : "");
		break;
	case NODE_OPT_UIDS:
	case NODE_OPT_GIDS:
		for (size_t i = 0; i < v->n_ids; i++)
			append(buf, len, &o, "%s%u", i ? "," : "", v->ids[i]);
		break;
	case NODE_OPT_ADDRS:
	case NODE_OPT_PATHS:
		for (size_t i = 0; i < v->n_addrs; i++)
			append(buf, len, &o, "%s%s", i ? ", " : "", v->addrs[i]);
		break;
	}
	return buf;
}

static int value_copy(struct value *dst, const struct value *src)
{
	struct value v = *src;

	v.s = NULL;
	v.ids = NULL;
	v.addrs = NULL;
	v.n_addrs = 0;
	for (size_t i = 0; i < src->n_addrs; i++) {
		char **p = realloc(v.addrs, (i + 1) * sizeof(*p));
		if (!p || !(p[i] = strdup(src->addrs[i]))) {
			v.addrs = p ? p : v.addrs;
			value_clear(&v);
			return -ENOMEM;
		}
		v.addrs = p;
		v.n_addrs = i + 1;
	}
	if (src->s && !(v.s = strdup(src->s))) {
		value_clear(&v);
		return -ENOMEM;
	}
	if (src->n_ids) {
		v.ids = malloc(src->n_ids * sizeof(*v.ids));
		if (!v.ids) {
			value_clear(&v);
			return -ENOMEM;
		}
		memcpy(v.ids, src->ids, src->n_ids * sizeof(*v.ids));
	}
	value_clear(dst);
	*dst = v;
	return 0;
}

int node_config_merge_reload(struct node_config *next, const struct node_config *running,
			     node_config_report_fn report_fn, void *ctx)
{
	char a[PATH_MAX + 16], b[PATH_MAX + 16], msg[2 * PATH_MAX + 128];
	int held = 0;

	for (int o = 0; o < NODE_OPT__COUNT; o++) {
		if (opts[o].reloadable)
			continue;
		node_config_value_str(next, o, a, sizeof(a));
		node_config_value_str(running, o, b, sizeof(b));
		if (!strcmp(a, b))
			continue;
		if (value_copy(&next->v[o], &running->v[o]))
			return -ENOMEM;
		held++;
		if (report_fn) {
			snprintf(msg, sizeof(msg),
				 "[%s] %s changed to '%s'; keeping '%s' until the next restart",
				 opts[o].section, opts[o].name, a, b);
			report_fn(ctx, next->line[o], msg);
		}
	}
	return held;
}

static const char *type_word(const struct opt_def *d)
{
	switch (d->type) {
	case NODE_OPT_BOOL:
		return "boolean";
	case NODE_OPT_INT:
		return "integer";
	case NODE_OPT_SIZE:
		return "size in bytes (k/M/G suffixes)";
	case NODE_OPT_MODE:
		return "octal mode";
	case NODE_OPT_ENUM:
		return "one of";
	case NODE_OPT_PATH:
		return "absolute path";
	case NODE_OPT_UIDS:
		return "list of users";
	case NODE_OPT_GIDS:
		return "list of groups";
	case NODE_OPT_ADDRS:
		return "list of ip:port addresses";
	case NODE_OPT_PATHS:
		return "list of absolute paths";
	}
	return "?";
}

/* Word-wraps @text into "# " comment lines of at most 90 columns. */
static int write_wrapped(FILE *f, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strlen(p);
		if (n > 88) {
			n = 88;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)
				n = strcspn(p, " ");
		}
		if (fprintf(f, "# %.*s\n", (int)n, p) < 0)
			return -EIO;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int node_config_write_example(FILE *f)
{
	struct node_config none = {0};
	const char *last = NULL;
	char buf[PATH_MAX], why[256];

	fprintf(f,
		"# chatham.conf - configuration of the chatham daemon (chatham run --config FILE).\n"
		"#\n"
		"# Generated by `chatham check-config --example`. Every option is listed with its\n"
		"# default, commented out. \"reload: yes\" options take effect on SIGHUP\n"
		"# (systemctl reload chatham); the others need a restart. Check an edited file with\n"
		"# `chatham check-config FILE`: it names every problem with its line number.\n");
	for (int o = 0; o < NODE_OPT__COUNT; o++) {
		const struct opt_def *d = &opts[o];
		if (!last || strcmp(last, d->section)) {
			fprintf(f, "\n[%s]\n", d->section);
			last = d->section;
		}
		fprintf(f, "\n");
		if (write_wrapped(f, d->help))
			return -EIO;
		fprintf(f, "# type: %s", type_word(d));
		if (d->type == NODE_OPT_ENUM)
			fprintf(f, " %s", d->choices);
		else if (d->type == NODE_OPT_INT || d->type == NODE_OPT_SIZE)
			fprintf(f, ", %lld..%lld", (long long)d->min, (long long)d->max);
		else if (d->type == NODE_OPT_MODE)
			fprintf(f, ", %04llo..%04llo", (unsigned long long)d->min,
				(unsigned long long)d->max);
		fprintf(f, "; reload: %s\n", d->reloadable ? "yes" : "no");
		if (strchr(d->def, '{'))
			fprintf(f, "# default: %s\n", d->def);
		/* The shown value is the default with no systemd variables set. */
		if (expand_default(&none, d->def, buf, sizeof(buf), why, sizeof(why)) == 0 &&
		    d->type == NODE_OPT_PATH) {
			free(none.v[o].s);
			none.v[o].s = strdup(buf);
		}
		const char *shown = d->type == NODE_OPT_PATH ? buf : d->def;
		if (fprintf(f, "#%s =%s%s\n", d->name, *shown ? " " : "", shown) < 0)
			return -EIO;
	}
	for (int o = 0; o < NODE_OPT__COUNT; o++)
		free(none.v[o].s);
	return fflush(f) ? -EIO : 0;
}

int node_config_write_effective(const struct node_config *cfg, FILE *f)
{
	const char *last = NULL;
	char buf[PATH_MAX + 16];

	for (int o = 0; o < NODE_OPT__COUNT; o++) {
		if (!last || strcmp(last, opts[o].section)) {
			fprintf(f, "%s[%s]\n", last ? "\n" : "", opts[o].section);
			last = opts[o].section;
		}
		node_config_value_str(cfg, o, buf, sizeof(buf));
		if (cfg->line[o])
			fprintf(f, "%s = %s ; line %u\n", opts[o].name, buf, cfg->line[o]);
		else
			fprintf(f, "%s = %s ; default\n", opts[o].name, buf);
	}
	return fflush(f) || ferror(f) ? -EIO : 0;
}

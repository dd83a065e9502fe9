/* SPDX-License-Identifier: MIT */
/*
 * Warnlists hold three kinds of entries: address ranges (a few hundred at most, scanned
 * linearly: an overlap test is two memcmp-sized operations), exact values sorted by (type,
 * value) for binary search, and domain suffixes (a handful, scanned). Lists are small and
 * checked once per published item and once per exported document, so simplicity wins over
 * a trie.
 */
#include "policy/warnlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

struct range {
	uint8_t fam; /* 4 or 6 */
	uint8_t len; /* prefix bits */
	uint8_t a[16];
	unsigned list;
};

struct exact {
	uint8_t type;
	char *value;
	unsigned list;
};

struct suffix {
	char *value; /* ".example", lower case, with the leading dot */
	size_t len;
	unsigned list;
};

struct policy_warnlist {
	unsigned min_v4, min_v6;
	char **names;
	size_t n_names;
	struct range *r;
	size_t n_r, cap_r;
	struct exact *x;
	size_t n_x, cap_x;
	struct suffix *s;
	size_t n_s, cap_s;
};

struct policy_warnlist *policy_warnlist_new(unsigned min_v4, unsigned min_v6)
{
	struct policy_warnlist *wl;

	if (min_v4 > 32 || min_v6 > 128)
		return NULL;
	wl = calloc(1, sizeof(*wl));
	if (!wl)
		return NULL;
	wl->min_v4 = min_v4;
	wl->min_v6 = min_v6;
	return wl;
}

void policy_warnlist_free(struct policy_warnlist *wl)
{
	if (!wl)
		return;
	for (size_t i = 0; i < wl->n_names; i++)
		free(wl->names[i]);
	for (size_t i = 0; i < wl->n_x; i++)
		free(wl->x[i].value);
	for (size_t i = 0; i < wl->n_s; i++)
		free(wl->s[i].value);
	free(wl->names);
	free(wl->r);
	free(wl->x);
	free(wl->s);
	free(wl);
}

size_t policy_warnlist_size(const struct policy_warnlist *wl)
{
	return wl ? wl->n_r + wl->n_x + wl->n_s : 0;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : 64;
	p = realloc(*arr, c * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* Address and prefix of a canonical ipv4/ipv6 value ("a.b.c.d", "a.b.c.d/n", "v6/n"). */
static bool net_of(int type, const char *v, size_t n, uint8_t a[16], unsigned *len)
{
	char buf[INET6_ADDRSTRLEN + 4];
	const char *slash = memchr(v, '/', n);
	size_t alen = slash ? (size_t)(slash - v) : n;
	unsigned bits = type == PROTO_IND_IPV4 ? 32 : 128;

	if (alen >= sizeof(buf))
		return false;
	memcpy(buf, v, alen);
	buf[alen] = '\0';
	memset(a, 0, 16);
	if (inet_pton(type == PROTO_IND_IPV4 ? AF_INET : AF_INET6, buf, a) != 1)
		return false;
	if (slash) {
		bits = 0;
		for (const char *p = slash + 1; p < v + n; p++)
			bits = bits * 10 + (unsigned)(*p - '0');
	}
	*len = bits;
	return true;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static int cmp_exact(const void *pa, const void *pb)
{
	const struct exact *a = pa, *b = pb;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return strcmp(a->value, b->value);
}

/* A suffix entry: "." then LDH labels separated by single dots. Lower-cased into @out. */
static const char *suffix_check(const char *s, size_t n, char *out)
{
	if (n < 2 || s[0] != '.')
		return "suffix entry must be '.' followed by a name";
	if (n > 254)
		return "suffix entry longer than 253 characters";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return "suffix entry contains a character other than letters, digits, '-' "
			       "and '.'";
		if (c == '.' && (i + 1 == n || s[i + 1] == '.'))
			return "suffix entry has an empty label";
		out[i] = c;
	}
	out[n] = '\0';
	return NULL;
}

static int add_entry(struct policy_warnlist *wl, unsigned list, const char *s, size_t n,
		     const char **reason)
{
	struct proto_indicator parsed, *ind = &parsed;
	char sfx[256];
	int err;

	if (s[0] == '.') {
		const char *r = suffix_check(s, n, sfx);
		if (r) {
			*reason = r;
			return PROTO_E_IND_VALUE;
		}
		if (grow((void **)&wl->s, &wl->cap_s, wl->n_s, sizeof(*wl->s)))
			return -ENOMEM;
		wl->s[wl->n_s].value = strdup(sfx);
		if (!wl->s[wl->n_s].value)
			return -ENOMEM;
		wl->s[wl->n_s].len = n;
		wl->s[wl->n_s++].list = list;
		return 0;
	}
	err = proto_indicator_detect(ind, s, n, reason);
	if (err)
		return err;
	if (ind->type == PROTO_IND_IPV4 || ind->type == PROTO_IND_IPV6) {
		struct range *r;
		unsigned len;

		if (grow((void **)&wl->r, &wl->cap_r, wl->n_r, sizeof(*wl->r)))
			return -ENOMEM;
		r = &wl->r[wl->n_r];
		if (!net_of(ind->type, ind->value, ind->len, r->a, &len)) {
			*reason = "address does not convert";
			return PROTO_E_IND_VALUE;
		}
		r->fam = ind->type == PROTO_IND_IPV4 ? 4 : 6;
		r->len = (uint8_t)len;
		r->list = list;
		wl->n_r++;
		return 0;
	}
	if (grow((void **)&wl->x, &wl->cap_x, wl->n_x, sizeof(*wl->x)))
		return -ENOMEM;
	wl->x[wl->n_x].value = strdup(ind->value);
	if (!wl->x[wl->n_x].value)
		return -ENOMEM;
	wl->x[wl->n_x].type = ind->type;
	wl->x[wl->n_x++].list = list;
	return 0;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > POLICY_WARNLIST_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_' || name[i] == '-'))
			return false;
	return true;
}

/* Undo a partly added list: entries from the given counts on belong to it. */
static void roll_back(struct policy_warnlist *wl, size_t n_r, size_t n_x, size_t n_s)
{
	for (size_t i = n_x; i < wl->n_x; i++)
		free(wl->x[i].value);
	for (size_t i = n_s; i < wl->n_s; i++)
		free(wl->s[i].value);
	wl->n_r = n_r;
	wl->n_x = n_x;
	wl->n_s = n_s;
}

int policy_warnlist_add(struct policy_warnlist *wl, const char *name, const char *text, size_t len,
			unsigned *bad_line, const char **reason)
{
	size_t n_r = wl->n_r, n_x = wl->n_x, n_s = wl->n_s, pos = 0;
	const char *why = NULL;
	unsigned line = 0;
	char **names;
	int err = 0, added = 0;

	if (!name_ok(name))
		return -EINVAL;
	for (size_t i = 0; i < wl->n_names; i++)
		if (strcmp(wl->names[i], name) == 0)
			return -EEXIST;
	names = realloc(wl->names, (wl->n_names + 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	wl->names = names;
	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos, b = 0, e;

		pos += n + (nl ? 1 : 0);
		line++;
		/* the entry: up to "#" at the line start or after whitespace */
		for (e = 0;
		     e < n && !(l[e] == '#' && (e == 0 || l[e - 1] == ' ' || l[e - 1] == '\t'));
		     e++)
			;
		while (b < e && (l[b] == ' ' || l[b] == '\t' || l[b] == '\r'))
			b++;
		while (e > b && (l[e - 1] == ' ' || l[e - 1] == '\t' || l[e - 1] == '\r'))
			e--;
		if (b == e)
			continue;
		err = add_entry(wl, (unsigned)wl->n_names, l + b, e - b, &why);
		if (err)
			break;
		added++;
	}
	if (err) {
		roll_back(wl, n_r, n_x, n_s);
		if (err == PROTO_E_IND_VALUE || err == PROTO_E_IND_TYPE) {
			if (bad_line)
				*bad_line = line;
			if (reason)
				*reason = why;
			return PROTO_E_IND_VALUE;
		}
		return err;
	}
	wl->names[wl->n_names] = strdup(name);
	if (!wl->names[wl->n_names]) {
		roll_back(wl, n_r, n_x, n_s);
		return -ENOMEM;
	}
	wl->n_names++;
	if (wl->n_x > 1)
		qsort(wl->x, wl->n_x, sizeof(*wl->x), cmp_exact);
	return added;
}

static const char *match_exact(const struct policy_warnlist *wl, int type, const char *v)
{
	struct exact key = {.type = (uint8_t)type, .value = (char *)v};
	const struct exact *hit =
		wl->n_x ? bsearch(&key, wl->x, wl->n_x, sizeof(*wl->x), cmp_exact) : NULL;

	return hit ? wl->names[hit->list] : NULL;
}

static const char *match_net(const struct policy_warnlist *wl, int type, const char *v, size_t n)
{
	uint8_t a[16];
	unsigned len, fam = type == PROTO_IND_IPV4 ? 4 : 6;
	unsigned min = fam == 4 ? wl->min_v4 : wl->min_v6;

	if (!net_of(type, v, n, a, &len))
		return NULL;
	if (len < min)
		return POLICY_WARNLIST_PREFIX;
	for (size_t i = 0; i < wl->n_r; i++) {
		const struct range *r = &wl->r[i];

		if (r->fam == fam && prefix_equal(r->a, a, r->len < len ? r->len : len))
			return wl->names[r->list];
	}
	return NULL;
}

static const char *match_domain(const struct policy_warnlist *wl, const char *v, size_t n)
{
	char buf[PROTO_IND_VALUE_MAX + 1];
	const char *hit;

	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	hit = match_exact(wl, PROTO_IND_DOMAIN, buf);
	if (!hit && n > 4 && memcmp(buf, "www.", 4) == 0)
		hit = match_exact(wl, PROTO_IND_DOMAIN, buf + 4);
	for (size_t i = 0; !hit && i < wl->n_s; i++)
		if (n > wl->s[i].len &&
		    memcmp(buf + n - wl->s[i].len, wl->s[i].value, wl->s[i].len) == 0)
			hit = wl->names[wl->s[i].list];
	return hit;
}

/* A URL that names a whole site ("scheme://host[:port]/"): the host's verdict. */
static const char *match_url_host(const struct policy_warnlist *wl, const char *v, size_t n)
{
	const char *host = strstr(v, "://"), *end;

	if (!host || n < 2 || v[n - 1] != '/')
		return NULL;
	host += 3;
	end = memchr(host, '/', (size_t)(v + n - host));
	if (end != v + n - 1)
		return NULL; /* a path, query or fragment: a page, not the site */
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		return close ? match_net(wl, PROTO_IND_IPV6, host + 1, (size_t)(close - host - 1))
			     : NULL;
	}
	const char *colon = memchr(host, ':', (size_t)(end - host));
	size_t hn = (size_t)((colon ? colon : end) - host);
	bool dotted = true;

	for (size_t i = 0; i < hn; i++)
		if (!((host[i] >= '0' && host[i] <= '9') || host[i] == '.'))
			dotted = false;
	if (dotted)
		return match_net(wl, PROTO_IND_IPV4, host, hn);
	return match_domain(wl, host, hn);
}

const char *policy_warnlist_match(const struct policy_warnlist *wl,
				  const struct proto_indicator *ind)
{
	if (!wl)
		return NULL;
	switch (ind->type) {
	case PROTO_IND_IPV4:
	case PROTO_IND_IPV6:
		return match_net(wl, ind->type, ind->value, ind->len);
	case PROTO_IND_DOMAIN:
		return match_domain(wl, ind->value, ind->len);
	case PROTO_IND_URL: {
		const char *hit = match_url_host(wl, ind->value, ind->len);
		return hit ? hit : match_exact(wl, PROTO_IND_URL, ind->value);
	}
	default:
		return match_exact(wl, ind->type, ind->value);
	}
}

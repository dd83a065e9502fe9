/* SPDX-License-Identifier: MIT */
/*
 * proto/poc.c — points of contact and constituencies in roster entries: the rules, copies
 * and the constituency lookup behind `chatham poc whois`.
 */
#include "proto/poc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/indicator.h"
#include "proto/mp.h"
#include "proto/roster.h"

bool proto_poc_empty(const struct proto_poc *p)
{
	return !p->email && !p->url && !p->phone && !p->hours && !p->tz && !p->n_languages &&
	       !p->pgp_len;
}

bool proto_constituency_empty(const struct proto_constituency *c)
{
	return !c->n_prefixes && !c->n_asns && !c->n_domains;
}

static bool only(const char *s, const char *allowed, bool alnum)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool ok = strchr(allowed, ch) != NULL ||
			  (alnum && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				     (ch >= '0' && ch <= '9')));

		if (!ok)
			return false;
	}
	return true;
}

static int text(const char *s, const char *what, const char **reason)
{
	int err;

	if (!s)
		return 0;
	err = proto_roster_check_text(s, strlen(s), PROTO_POC_TEXT_MAX);
	if (err)
		*reason = what;
	return err;
}

static bool canonical_domain(const char *s, size_t n)
{
	struct proto_indicator ind;

	return proto_indicator_parse(&ind, PROTO_IND_DOMAIN, s, n, NULL) == 0 && ind.len == n &&
	       memcmp(ind.value, s, n) == 0;
}

int proto_poc_check(const struct proto_poc *p, const char **reason)
{
	const char *dummy;
	int err;

	if (!reason)
		reason = &dummy;
	*reason = NULL;
	if ((err = text(p->email, "poc e-mail", reason)) ||
	    (err = text(p->url, "poc URL", reason)) ||
	    (err = text(p->phone, "poc phone", reason)) ||
	    (err = text(p->hours, "poc hours", reason)) ||
	    (err = text(p->tz, "poc time zone", reason)))
		return err;
	if (p->email) {
		const char *at = strchr(p->email, '@');

		if (!at || at == p->email || strchr(at + 1, '@') ||
		    !canonical_domain(at + 1, strlen(at + 1))) {
			*reason = "poc e-mail: local@domain with a lower-case domain";
			return PROTO_E_ROSTER_MEMBER;
		}
	}
	if (p->url && strncmp(p->url, "https://", 8) && strncmp(p->url, "http://", 7)) {
		*reason = "poc URL: must start with https:// or http://";
		return PROTO_E_ROSTER_MEMBER;
	}
	if (p->phone &&
	    (!only(p->phone, "0123456789 +-().", false) || !strpbrk(p->phone, "0123456789"))) {
		*reason = "poc phone: digits, spaces and + - ( ) . only";
		return PROTO_E_ROSTER_MEMBER;
	}
	if (p->tz && !only(p->tz, "/_+-", true)) {
		*reason = "poc time zone: an IANA name such as Asia/Tokyo";
		return PROTO_E_ROSTER_MEMBER;
	}
	if (p->n_languages > PROTO_POC_LANGS_MAX) {
		*reason = "poc languages: too many";
		return PROTO_E_TOO_LARGE;
	}
	for (size_t i = 0; i < p->n_languages; i++) {
		size_t n = p->languages[i] ? strlen(p->languages[i]) : 0;

		if (n < 2 || n > 35 || !only(p->languages[i], "-", true)) {
			*reason = "poc language: a BCP 47 tag such as ja or en";
			return PROTO_E_ROSTER_MEMBER;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->languages[i], p->languages[j])) {
				*reason = "poc languages: duplicate";
				return PROTO_E_ROSTER_MEMBER;
			}
	}
	if (p->pgp_len != 0 && p->pgp_len != 20 && p->pgp_len != 32) {
		*reason = "poc OpenPGP fingerprint: 20 or 32 bytes";
		return PROTO_E_ROSTER_MEMBER;
	}
	return 0;
}

/* A canonical prefix: the ipv4/ipv6 indicator form of itself, with no host bits set. */
static bool prefix_ok(const char *s)
{
	struct proto_indicator ind;
	int type = strchr(s, ':') ? PROTO_IND_IPV6 : PROTO_IND_IPV4;
	const char *slash = strchr(s, '/');
	uint8_t addr[16];
	char host[64];
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned bits, max = type == PROTO_IND_IPV6 ? 128 : 32;

	if (proto_indicator_parse(&ind, type, s, strlen(s), NULL) != 0 || strcmp(ind.value, s))
		return false;
	if (!slash)
		return true;
	if (hl >= sizeof host)
		return false;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (inet_pton(type == PROTO_IND_IPV6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return false;
	bits = (unsigned)strtoul(slash + 1, NULL, 10);
	for (unsigned b = bits; b < max; b++)
		if (addr[b / 8] & (0x80 >> (b % 8)))
			return false;
	return true;
}

static int list_order(char *const *v, size_t n, const char *what, const char **reason)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) >= 0) {
			*reason = what;
			return PROTO_E_ROSTER_MEMBER;
		}
	return 0;
}

int proto_constituency_check(const struct proto_constituency *c, const char **reason)
{
	const char *dummy;
	int err;

	if (!reason)
		reason = &dummy;
	*reason = NULL;
	if (c->n_prefixes > PROTO_POC_LIST_MAX || c->n_asns > PROTO_POC_LIST_MAX ||
	    c->n_domains > PROTO_POC_LIST_MAX) {
		*reason = "constituency: too many prefixes, AS numbers or domains";
		return PROTO_E_TOO_LARGE;
	}
	for (size_t i = 0; i < c->n_prefixes; i++)
		if (!c->prefixes[i] || !prefix_ok(c->prefixes[i])) {
			*reason = "constituency prefix: a canonical IPv4/IPv6 address or CIDR "
				  "without host bits";
			return PROTO_E_ROSTER_MEMBER;
		}
	for (size_t i = 0; i < c->n_domains; i++) {
		if (!c->domains[i]) {
			*reason = "constituency domain";
			return PROTO_E_EMPTY;
		}
		if ((err = proto_roster_check_text(c->domains[i], strlen(c->domains[i]),
						   PROTO_POC_TEXT_MAX))) {
			*reason = "constituency domain";
			return err;
		}
		if (!canonical_domain(c->domains[i], strlen(c->domains[i]))) {
			*reason = "constituency domain: lower case, no trailing dot";
			return PROTO_E_ROSTER_MEMBER;
		}
	}
	for (size_t i = 0; i < c->n_asns; i++)
		if (c->asns[i] == 0 || (i > 0 && c->asns[i - 1] >= c->asns[i])) {
			*reason = "constituency AS numbers: 1..4294967295, ascending, distinct";
			return PROTO_E_ROSTER_MEMBER;
		}
	if ((err = list_order(c->prefixes, c->n_prefixes,
			      "constituency prefixes: ascending and distinct", reason)) ||
	    (err = list_order(c->domains, c->n_domains,
			      "constituency domains: ascending and distinct", reason)))
		return err;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

void proto_constituency_sort(struct proto_constituency *c)
{
	if (c->n_prefixes)
		qsort(c->prefixes, c->n_prefixes, sizeof *c->prefixes, cmp_str);
	if (c->n_domains)
		qsort(c->domains, c->n_domains, sizeof *c->domains, cmp_str);
	if (c->n_asns)
		qsort(c->asns, c->n_asns, sizeof *c->asns, cmp_u32);
}

void proto_poc_deinit(struct proto_poc *p)
{
	free(p->email);
	free(p->url);
	free(p->phone);
	free(p->hours);
	free(p->tz);
	proto_roster_texts_free(p->languages, p->n_languages);
	memset(p, 0, sizeof *p);
}

void proto_constituency_deinit(struct proto_constituency *c)
{
	proto_roster_texts_free(c->prefixes, c->n_prefixes);
	proto_roster_texts_free(c->domains, c->n_domains);
	free(c->asns);
	memset(c, 0, sizeof *c);
}

static int dup_str(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int dup_list(char ***dst, size_t *dn, char *const *src, size_t n)
{
	if (n == 0)
		return 0;
	*dst = calloc(n, sizeof **dst);
	if (!*dst)
		return -ENOMEM;
	*dn = n;
	for (size_t i = 0; i < n; i++)
		if (dup_str(&(*dst)[i], src[i]))
			return -ENOMEM;
	return 0;
}

int proto_poc_copy(struct proto_poc *dst, const struct proto_poc *src)
{
	memset(dst, 0, sizeof *dst);
	dst->pgp_len = src->pgp_len;
	memcpy(dst->pgp, src->pgp, sizeof dst->pgp);
	if (dup_str(&dst->email, src->email) || dup_str(&dst->url, src->url) ||
	    dup_str(&dst->phone, src->phone) || dup_str(&dst->hours, src->hours) ||
	    dup_str(&dst->tz, src->tz) ||
	    dup_list(&dst->languages, &dst->n_languages, src->languages, src->n_languages)) {
		proto_poc_deinit(dst);
		return -ENOMEM;
	}
	return 0;
}

int proto_constituency_copy(struct proto_constituency *dst, const struct proto_constituency *src)
{
	memset(dst, 0, sizeof *dst);
	if (dup_list(&dst->prefixes, &dst->n_prefixes, src->prefixes, src->n_prefixes) ||
	    dup_list(&dst->domains, &dst->n_domains, src->domains, src->n_domains))
		goto nomem;
	if (src->n_asns) {
		dst->asns = malloc(src->n_asns * sizeof *dst->asns);
		if (!dst->asns)
			goto nomem;
		memcpy(dst->asns, src->asns, src->n_asns * sizeof *dst->asns);
		dst->n_asns = src->n_asns;
	}
	return 0;
nomem:
	proto_constituency_deinit(dst);
	return -ENOMEM;
}

/* Address and prefix length of a canonical address or CIDR; family 4 or 6, 0 on error. */
static int parse_net(const char *s, uint8_t addr[16], unsigned *bits)
{
	const char *slash = strchr(s, '/');
	bool v6 = strchr(s, ':') != NULL;
	char host[64];
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);

	if (hl >= sizeof host)
		return 0;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(addr, 0, 16);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return 0;
	*bits = slash ? (unsigned)strtoul(slash + 1, NULL, 10) : (v6 ? 128 : 32);
	return v6 ? 6 : 4;
}

static bool prefix_holds(const uint8_t *net, unsigned nbits, const uint8_t *a, unsigned abits)
{
	if (abits < nbits)
		return false;
	for (unsigned b = 0; b < nbits; b++)
		if ((net[b / 8] ^ a[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

static unsigned labels(const char *d)
{
	unsigned n = 1;

	for (; *d; d++)
		n += *d == '.';
	return n;
}

/* 100 + labels of the most specific constituency domain equal to or above @dom, or 0. */
static unsigned domain_match(const struct proto_constituency *c, const char *dom, size_t len)
{
	unsigned best = 0;

	for (size_t i = 0; i < c->n_domains; i++) {
		size_t dl = strlen(c->domains[i]);

		if ((len == dl || (len > dl && dom[len - dl - 1] == '.')) &&
		    !memcmp(dom + len - dl, c->domains[i], dl) &&
		    100 + labels(c->domains[i]) > best)
			best = 100 + labels(c->domains[i]);
	}
	return best;
}

unsigned proto_constituency_match(const struct proto_constituency *c, const char *value)
{
	struct proto_indicator ind;
	const char *h, *at;
	unsigned best = 0;

	if (!value)
		return 0;
	if ((value[0] == 'A' || value[0] == 'a') && (value[1] == 'S' || value[1] == 's') &&
	    value[2] >= '1' && value[2] <= '9') {
		char *end;
		unsigned long long n = strtoull(value + 2, &end, 10);

		for (size_t i = 0; !*end && n <= UINT32_MAX && i < c->n_asns; i++)
			if (c->asns[i] == n)
				return 1;
		return 0;
	}
	if (proto_indicator_detect(&ind, value, strlen(value), NULL) != 0)
		return 0;
	switch (ind.type) {
	case PROTO_IND_IPV4:
	case PROTO_IND_IPV6: {
		uint8_t a[16], net[16];
		unsigned abits, nbits;
		int fam = parse_net(ind.value, a, &abits);

		for (size_t i = 0; fam && i < c->n_prefixes; i++)
			if (parse_net(c->prefixes[i], net, &nbits) == fam &&
			    prefix_holds(net, nbits, a, abits) && nbits + 1 > best)
				best = nbits + 1;
		return best;
	}
	case PROTO_IND_DOMAIN:
		return domain_match(c, ind.value, ind.len);
	case PROTO_IND_EMAIL:
		at = strrchr(ind.value, '@');
		return domain_match(c, at + 1, strlen(at + 1));
	case PROTO_IND_URL:
		/* Canonical URLs are scheme://host[:port]/... with a lower-case host and no
		 * userinfo (proto/indicator.h); an IP-literal host is matched as an address. */
		h = strstr(ind.value, "://");
		if (!h)
			return 0;
		h += 3;
		if (*h == '[' || (*h >= '0' && *h <= '9')) {
			char host[64];
			size_t n = *h == '[' ? strcspn(h + 1, "]") : strcspn(h, ":/?#");

			if (n == 0 || n >= sizeof host)
				return 0;
			memcpy(host, h + (*h == '['), n);
			host[n] = 0;
			return proto_constituency_match(c, host);
		}
		return domain_match(c, h, strcspn(h, ":/?#"));
	default:
		return 0;
	}
}

void proto_poc_write(struct proto_mp_writer *w, const struct proto_poc *p)
{
	const char *const text[5] = {p->email, p->url, p->phone, p->hours, p->tz};
	size_t n = (p->n_languages > 0) + (p->pgp_len > 0);

	for (int i = 0; i < 5; i++)
		n += text[i] != NULL;
	proto_mp_write_map(w, n);
	for (int i = 0; i < 5; i++) {
		if (!text[i])
			continue;
		proto_mp_write_uint(w, (uint64_t)i);
		proto_mp_write_cstr(w, text[i]);
	}
	if (p->n_languages > 0) {
		proto_mp_write_uint(w, 5);
		proto_mp_write_cstrs(w, p->languages, p->n_languages);
	}
	if (p->pgp_len > 0) {
		proto_mp_write_uint(w, 6);
		proto_mp_write_bin(w, p->pgp, p->pgp_len);
	}
}

void proto_constituency_write(struct proto_mp_writer *w, const struct proto_constituency *c)
{
	proto_mp_write_map(w, (c->n_prefixes > 0) + (c->n_asns > 0) + (c->n_domains > 0));
	if (c->n_prefixes > 0) {
		proto_mp_write_uint(w, 0);
		proto_mp_write_cstrs(w, c->prefixes, c->n_prefixes);
	}
	if (c->n_asns > 0) {
		proto_mp_write_uint(w, 1);
		proto_mp_write_array(w, c->n_asns);
		for (size_t i = 0; i < c->n_asns; i++)
			proto_mp_write_uint(w, c->asns[i]);
	}
	if (c->n_domains > 0) {
		proto_mp_write_uint(w, 2);
		proto_mp_write_cstrs(w, c->domains, c->n_domains);
	}
}

int proto_poc_read(struct proto_mp_reader *rd, struct proto_poc *p)
{
	struct proto_mp_map map;
	char **text[5] = {&p->email, &p->url, &p->phone, &p->hours, &p->tz};
	const uint8_t *b;
	uint64_t key;
	size_t n;
	int err;

	if ((err = proto_mp_map_begin(rd, &map, 16)))
		return err;
	if (map.n == 0)
		return PROTO_E_EMPTY;
	while ((err = proto_mp_map_next(rd, &map, &key)) > 0) {
		if (key < 5)
			err = proto_roster_read_text(rd, PROTO_POC_TEXT_MAX, text[key]);
		else if (key == 5)
			err = proto_roster_read_texts(rd, PROTO_POC_LANGS_MAX, PROTO_POC_TEXT_MAX,
						      &p->languages, &p->n_languages);
		else if (key == 6) {
			err = proto_mp_read_bin(rd, 32, &b, &n);
			if (!err && n != 20 && n != 32)
				err = PROTO_E_ROSTER_MEMBER;
			if (!err) {
				memcpy(p->pgp, b, n);
				p->pgp_len = (uint8_t)n;
			}
		} else
			return PROTO_E_KEY_UNKNOWN;
		if (err)
			return err;
	}
	return err ? err : proto_poc_check(p, NULL);
}

int proto_constituency_read(struct proto_mp_reader *rd, struct proto_constituency *c)
{
	struct proto_mp_map map;
	uint64_t key, v;
	size_t n;
	int err;

	if ((err = proto_mp_map_begin(rd, &map, 16)))
		return err;
	if (map.n == 0)
		return PROTO_E_EMPTY;
	while ((err = proto_mp_map_next(rd, &map, &key)) > 0) {
		switch (key) {
		case 0:
			err = proto_roster_read_texts(rd, PROTO_POC_LIST_MAX, PROTO_POC_TEXT_MAX,
						      &c->prefixes, &c->n_prefixes);
			break;
		case 1:
			err = proto_mp_read_array(rd, PROTO_POC_LIST_MAX, &n);
			if (!err && n == 0)
				err = PROTO_E_EMPTY;
			if (!err && !(c->asns = calloc(n, sizeof *c->asns)))
				err = -ENOMEM;
			for (size_t i = 0; !err && i < n; i++) {
				err = proto_mp_read_uint_max(rd, UINT32_MAX, &v);
				c->asns[i] = (uint32_t)v;
				c->n_asns = i + 1;
			}
			break;
		case 2:
			err = proto_roster_read_texts(rd, PROTO_POC_LIST_MAX, PROTO_POC_TEXT_MAX,
						      &c->domains, &c->n_domains);
			break;
		default:
			return PROTO_E_KEY_UNKNOWN;
		}
		if (err)
			return err;
	}
	return err ? err : proto_constituency_check(c, NULL);
}

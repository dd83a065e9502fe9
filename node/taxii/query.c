/* SPDX-License-Identifier: MIT */
/*
 * TAXII request parsing. Everything here reads attacker-controlled bytes, so every parser
 * checks lengths before it reads, keeps fixed-size results, and refuses instead of
 * guessing: a malformed parameter is a 400 with a TAXII error object, never a default.
 */
#include "node/taxii/query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/crypto.h"

static const char *const type_names[] = {
	[TAXII_TYPE_INDICATOR] = "indicator",
	[TAXII_TYPE_IDENTITY] = "identity",
	[TAXII_TYPE_MARKING] = "marking-definition",
};

const char *taxii_type_name(int type)
{
	return type >= 0 && type < TAXII_TYPE_OTHER ? type_names[type] : NULL;
}

static int type_from(const char *s, size_t len)
{
	for (int t = 0; t < TAXII_TYPE_OTHER; t++)
		if (strlen(type_names[t]) == len && !memcmp(type_names[t], s, len))
			return t;
	return TAXII_TYPE_OTHER;
}

int taxii_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
	size_t k = 0;

	if (len != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		int hi = proto_hex_digit((unsigned char)s[i]),
		    lo = i + 1 < 36 ? proto_hex_digit((unsigned char)s[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return k == 16 ? 0 : -EINVAL;
}

int taxii_id_parse(const char *s, size_t len, struct taxii_id *id)
{
	const char *dd = NULL;

	/* The type is 3-250 characters of [a-z0-9-]; the id ends with "--" and a UUID. */
	if (len < 3 + 2 + 36 || len > 250 + 2 + 36)
		return -EINVAL;
	dd = s + len - 38;
	if (dd[0] != '-' || dd[1] != '-')
		return -EINVAL;
	for (const char *p = s; p < dd; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return -EINVAL;
	if (taxii_uuid_parse(dd + 2, 36, id->uuid))
		return -EINVAL;
	id->type = type_from(s, (size_t)(dd - s));
	return 0;
}

/* ------------------------------------------------------------------ paths */

/* The next segment of @p (after any '/'), its length in *n; NULL at the end. */
static const char *segment(const char **p, size_t *n)
{
	const char *s = *p, *e;

	while (*s == '/')
		s++;
	if (!*s)
		return NULL;
	e = strchr(s, '/');
	*n = e ? (size_t)(e - s) : strlen(s);
	*p = s + *n;
	return s;
}

static bool seg_is(const char *s, size_t n, const char *want)
{
	return s && strlen(want) == n && !memcmp(s, want, n);
}

void taxii_route_parse(const char *path, struct taxii_route *r)
{
	const char *p = path, *seg[6];
	size_t len[6];
	int n = 0;

	memset(r, 0, sizeof(*r));
	/* "//" inside a path is not a resource of ours: refuse rather than normalise. */
	if (!path || path[0] != '/' || strstr(path, "//"))
		return;
	while (n < 6 && (seg[n] = segment(&p, &len[n])))
		n++;
	if (n == 6 && segment(&p, &len[5]))
		return; /* too deep */
	if (n == 1 && seg_is(seg[0], len[0], "taxii2")) {
		r->endpoint = TAXII_EP_DISCOVERY;
		return;
	}
	if (n < 1 || !seg_is(seg[0], len[0], TAXII_API_ROOT))
		return;
	if (n == 1) {
		r->endpoint = TAXII_EP_API_ROOT;
		return;
	}
	if (!seg_is(seg[1], len[1], "collections"))
		return;
	if (n == 2) {
		r->endpoint = TAXII_EP_COLLECTIONS;
		return;
	}
	if (taxii_uuid_parse(seg[2], len[2], r->coll))
		return;
	if (n == 3) {
		r->endpoint = TAXII_EP_COLLECTION;
		return;
	}
	if (n == 4 && seg_is(seg[3], len[3], "manifest")) {
		r->endpoint = TAXII_EP_MANIFEST;
		return;
	}
	if (!seg_is(seg[3], len[3], "objects"))
		return;
	if (n == 4) {
		r->endpoint = TAXII_EP_OBJECTS;
		return;
	}
	if (taxii_id_parse(seg[4], len[4], &r->obj))
		return;
	if (n == 5)
		r->endpoint = TAXII_EP_OBJECT;
	else if (seg_is(seg[5], len[5], "versions"))
		r->endpoint = TAXII_EP_VERSIONS;
}

/* ------------------------------------------------------------------ time */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int taxii_time_parse(const char *s, uint64_t *us)
{
	unsigned y, mo, d, h, mi, sec, frac = 0;
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t len = s ? strlen(s) : 0, i = 19;
	int64_t days;

	if (len < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -EINVAL;
	if (s[i] == '.') {
		unsigned nd = 0;
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (nd < 6)
				frac = frac * 10 + (unsigned)(s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || nd > 9)
			return -EINVAL;
		for (; nd < 6; nd++)
			frac *= 10;
	}
	if (i + 1 != len || (s[i] != 'Z' && s[i] != 'z'))
		return -EINVAL;
	if (sec == 60)
		sec = 59; /* a leap second sorts with the second before it */
	days = days_from_civil(y, mo, d);
	*us = ((uint64_t)days * 86400 + h * 3600u + mi * 60u + sec) * 1000000u + frac;
	return 0;
}

char *taxii_time_format(uint64_t us, char buf[TAXII_TIME_LEN])
{
	uint64_t secs = us / 1000000, day = secs / 86400, rem = secs % 86400;
	int64_t y;
	unsigned m, d;

	/* Every field is in range, so the text is exactly TAXII_TIME_LEN - 1 bytes; the wider
	 * scratch buffer only keeps -Wformat-truncation from guessing otherwise. */
	char tmp[64];

	civil_from_days((int64_t)day, &y, &m, &d);
	snprintf(tmp, sizeof(tmp), "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", (unsigned)(y % 10000),
		 m % 100, d % 100, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
		 (unsigned)(rem % 60), (unsigned)(us % 1000000));
	memcpy(buf, tmp, TAXII_TIME_LEN - 1);
	buf[TAXII_TIME_LEN - 1] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ parameters */

void taxii_query_init(struct taxii_query *q)
{
	memset(q, 0, sizeof(*q));
	q->version_flags = TAXII_VER_LAST;
	q->spec21 = true;
}

/* Calls @fn on each comma-separated item of @v; empty items are an error. */
static int each_item(const char *v, int (*fn)(struct taxii_query *, const char *, size_t),
		     struct taxii_query *q)
{
	const char *p = v;

	for (;;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		int r;
		if (n == 0)
			return -EINVAL;
		r = fn(q, p, n);
		if (r)
			return r;
		if (!c)
			return 0;
		p = c + 1;
	}
}

static int add_id(struct taxii_query *q, const char *s, size_t n)
{
	if (q->n_ids >= TAXII_QUERY_MAX_IDS)
		return -E2BIG;
	if (taxii_id_parse(s, n, &q->ids[q->n_ids]))
		return -EINVAL;
	q->n_ids++;
	return 0;
}

static int add_type(struct taxii_query *q, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return -EINVAL;
	q->types |= 1u << type_from(s, n);
	return 0;
}

static int add_version(struct taxii_query *q, const char *s, size_t n)
{
	char t[40];

	if (n == 4 && !memcmp(s, "last", 4))
		q->version_flags |= TAXII_VER_LAST;
	else if (n == 5 && !memcmp(s, "first", 5))
		q->version_flags |= TAXII_VER_FIRST;
	else if (n == 3 && !memcmp(s, "all", 3))
		q->version_flags |= TAXII_VER_ALL;
	else {
		if (n >= sizeof(t) || q->n_versions >= TAXII_QUERY_MAX_VERSIONS)
			return n >= sizeof(t) ? -EINVAL : -E2BIG;
		memcpy(t, s, n);
		t[n] = '\0';
		if (taxii_time_parse(t, &q->versions_us[q->n_versions]))
			return -EINVAL;
		q->n_versions++;
	}
	return 0;
}

static int add_spec(struct taxii_query *q, const char *s, size_t n)
{
	if (n == 3 && !memcmp(s, "2.1", 3))
		q->spec21 = true;
	else if (!(n == 3 && !memcmp(s, "2.0", 3)))
		return -EINVAL;
	return 0;
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return -EINVAL;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || p - v >= 19)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

int taxii_query_add(struct taxii_query *q, const char *key, const char *value, const char **why)
{
	const char *w = NULL;
	uint64_t n;
	int r;

	if (!key)
		return 0;
	if (!strcmp(key, "added_after")) {
		if (q->has_added_after)
			w = "added_after is given twice";
		else if (!value || taxii_time_parse(value, &q->added_after_us))
			w = "added_after is not a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)";
		q->has_added_after = true;
	} else if (!strcmp(key, "limit")) {
		if (q->limit)
			w = "limit is given twice";
		else if (!value || parse_u64(value, 1u << 31, &n) || n == 0)
			w = "limit is not a positive integer";
		else
			q->limit = (unsigned)n;
	} else if (!strcmp(key, "next")) {
		if (q->has_next)
			w = "next is given twice";
		else if (!value || parse_u64(value, UINT64_MAX / 2, &q->next))
			w = "next is not a token this server gave";
		q->has_next = true;
	} else if (!strcmp(key, "match[id]")) {
		r = value ? each_item(value, add_id, q) : -EINVAL;
		if (r)
			w = r == -E2BIG ? "match[id] names too many ids"
					: "match[id] is not a list of STIX ids (type--uuid)";
	} else if (!strcmp(key, "match[type]")) {
		if (q->has_types || !value || each_item(value, add_type, q))
			w = "match[type] is not a list of STIX types";
		q->has_types = true;
	} else if (!strcmp(key, "match[version]")) {
		if (q->has_version) {
			w = "match[version] is given twice";
		} else {
			q->version_flags = 0;
			r = value ? each_item(value, add_version, q) : -EINVAL;
			if (r)
				w = r == -E2BIG ? "match[version] names too many versions"
						: "match[version] is not first, last, all or "
						  "timestamps";
		}
		q->has_version = true;
	} else if (!strcmp(key, "match[spec_version]")) {
		if (q->has_spec) {
			w = "match[spec_version] is given twice";
		} else {
			q->spec21 = false;
			if (!value || each_item(value, add_spec, q))
				w = "match[spec_version] is not a list of 2.0 and 2.1";
		}
		q->has_spec = true;
	} else if (!strncmp(key, "match[", 6)) {
		w = "this server filters on match[id], match[type], match[version] and "
		    "match[spec_version] only";
	}
	if (w) {
		if (why)
			*why = w;
		return -EINVAL;
	}
	return 0;
}

/* Percent-decodes @n bytes of @s into @out (cap bytes, NUL-terminated); '+' is a space. */
static int url_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -EINVAL;
			hi = proto_hex_digit((unsigned char)s[i + 1]);
			lo = proto_hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0' || k + 1 >= cap)
			return -EINVAL;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

int taxii_query_parse_string(struct taxii_query *q, const char *qs, size_t len, const char **why)
{
	char key[64], value[4096];
	size_t i = 0;

	while (i < len) {
		const char *p = qs + i, *amp = memchr(p, '&', len - i), *eq;
		size_t n = amp ? (size_t)(amp - p) : len - i;
		int r;

		i += n + 1;
		if (n == 0)
			continue;
		eq = memchr(p, '=', n);
		if (url_decode(p, eq ? (size_t)(eq - p) : n, key, sizeof(key)) ||
		    (eq && url_decode(eq + 1, n - (size_t)(eq - p) - 1, value, sizeof(value)))) {
			if (why)
				*why = "a query parameter is badly encoded or too long";
			return -EINVAL;
		}
		r = taxii_query_add(q, key, eq ? value : NULL, why);
		if (r)
			return r;
	}
	return 0;
}

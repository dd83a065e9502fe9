/* SPDX-License-Identifier: MIT */
/*
 * chatham-taxii configuration. The file is trusted (root-owned) but still parsed strictly:
 * an unknown key, a bad value or a consumer without a secret, ceiling or collection is an
 * error that names the line, because a typo in an access rule must not open access.
 */
#include "node/taxii/config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "proto/crypto.h"
#include "proto/report.h"

#define CONFIG_FILE_MAX (1u << 20)

struct parse {
	struct taxii_config *c;
	char *err;
	size_t errlen;
	int r;
	struct taxii_consumer *cur; /* the [consumer NAME] section being read */
	bool cur_secret, cur_ceiling, cur_coll;
	char section[128]; /* the section of the previous key */
};

static int fail(struct parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	(void)line;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	p->r = -EINVAL;
	return 0;
}

/* "CLEAR GREEN, AMBER" -> bits; -1 on an unknown name or an empty list. */
static int tlp_set(const char *v)
{
	char buf[256], *save = NULL, *t;
	int bits = 0;

	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	for (t = strtok_r(buf, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
		int tlp = proto_tlp_from_name(t);
		if (tlp < PROTO_TLP_CLEAR || tlp > PROTO_TLP_RED)
			return -1;
		bits |= 1 << tlp;
	}
	return bits ? bits : -1;
}

static int uint_in(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < lo || n > hi)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* Closes the consumer section being read: every key must have been given. */
static void end_consumer(struct parse *p, int line)
{
	if (p->cur && p->r == 0 && !(p->cur_secret && p->cur_ceiling && p->cur_coll))
		fail(p, line, "consumer \"%s\" needs secret_hash, tlp_ceiling and collections",
		     p->cur->name);
	p->cur = NULL;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct taxii_config *c = p->c;
	const int line = 0;
	int bits;

	if (p->r)
		return 0;
	/* inih reports sections only through their keys: a new name starts a new section. */
	if (strcmp(section, p->section)) {
		end_consumer(p, line);
		snprintf(p->section, sizeof(p->section), "%s", section);
		if (p->r || !strcmp(section, "server"))
			goto entry;
		if (strncmp(section, "consumer ", 9))
			return fail(p, line, "unknown section [%s]", section);
		const char *n = section + 9;
		if (!*n || strlen(n) > TAXII_CONSUMER_NAME_MAX || strpbrk(n, ": \t"))
			return fail(p, line,
				    "consumer name \"%s\" is empty, too long or has ':' "
				    "or a blank",
				    n);
		for (size_t i = 0; i < c->n_consumers; i++)
			if (!strcmp(c->consumers[i].name, n))
				return fail(p, line, "consumer \"%s\" is defined twice", n);
		if (c->n_consumers >= TAXII_CONSUMERS_MAX)
			return fail(p, line, "more than %s consumers", "256");
		p->cur = &c->consumers[c->n_consumers++];
		memset(p->cur, 0, sizeof(*p->cur));
		strcpy(p->cur->name, n);
		p->cur_secret = p->cur_ceiling = p->cur_coll = false;
	}
entry:
	if (p->r)
		return 0;
	if (!strcmp(section, "server")) {
		if (!strcmp(name, "listen"))
			p->r = set_str(&c->listen, value);
		else if (!strcmp(name, "port")) {
			if (uint_in(value, 0, 65535, &c->port))
				return fail(p, line, "port \"%s\" is not 0-65535", value);
		} else if (!strcmp(name, "export_dir"))
			p->r = set_str(&c->export_dir, value);
		else if (!strcmp(name, "tls_cert"))
			p->r = set_str(&c->tls_cert, value);
		else if (!strcmp(name, "tls_key"))
			p->r = set_str(&c->tls_key, value);
		else if (!strcmp(name, "title"))
			p->r = set_str(&c->title, value);
		else if (!strcmp(name, "collections")) {
			if ((bits = tlp_set(value)) < 0)
				return fail(p, line,
					    "collections \"%s\" is not a list of TLP levels",
					    value);
			c->collections = (unsigned)bits;
		} else if (!strcmp(name, "max_page")) {
			if (uint_in(value, 1, 10000, &c->max_page))
				return fail(p, line, "max_page \"%s\" is not 1-10000", value);
		} else if (!strcmp(name, "threads")) {
			if (uint_in(value, 1, 64, &c->threads))
				return fail(p, line, "threads \"%s\" is not 1-64", value);
		} else if (!strcmp(name, "max_connections")) {
			if (uint_in(value, 1, 4096, &c->max_connections))
				return fail(p, line, "max_connections \"%s\" is not 1-4096", value);
		} else {
			return fail(p, line, "unknown key \"%s\" in [server]", name);
		}
		if (p->r)
			snprintf(p->err, p->errlen, "out of memory");
		return 1;
	}
	if (!p->cur)
		return fail(p, line, "key \"%s\" outside a section", name);
	if (!strcmp(name, "secret_hash")) {
		if (strlen(value) != 64 || proto_hex_decode(p->cur->hash, 32, value))
			return fail(p, line, "secret_hash of \"%s\" is not 64 hex digits",
				    p->cur->name);
		p->cur_secret = true;
	} else if (!strcmp(name, "tlp_ceiling")) {
		int t = proto_tlp_from_name(value);
		if (t < PROTO_TLP_CLEAR || t > PROTO_TLP_RED)
			return fail(p, line, "tlp_ceiling \"%s\" is not a TLP level", value);
		p->cur->ceiling = t;
		p->cur_ceiling = true;
	} else if (!strcmp(name, "collections")) {
		if ((bits = tlp_set(value)) < 0)
			return fail(p, line, "collections \"%s\" is not a list of TLP levels",
				    value);
		p->cur->collections = (unsigned)bits;
		p->cur_coll = true;
	} else {
		return fail(p, line, "unknown key \"%s\" in a consumer section", name);
	}
	return 1;
}

int taxii_config_parse(const char *text, struct taxii_config **out, char *err, size_t errlen)
{
	struct parse p = {.err = err, .errlen = errlen};
	int r;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c)
		return -ENOMEM;
	p.c->port = 9443;
	p.c->max_page = 1000;
	p.c->threads = 4;
	p.c->max_connections = 64;
	p.c->collections = 1u << PROTO_TLP_CLEAR | 1u << PROTO_TLP_GREEN;
	r = ini_parse_string(text, on_entry, &p);
	if (r > 0 && !p.r) {
		snprintf(err, errlen, "line %d: not an INI line, or a section name too long", r);
		p.r = -EINVAL;
	} else if (r < 0 && !p.r)
		p.r = -ENOMEM;
	end_consumer(&p, 0);
	if (!p.r && (!p.c->listen || !p.c->export_dir || !p.c->tls_cert || !p.c->tls_key))
		fail(&p, 0, "%s", "[server] needs listen, export_dir, tls_cert and tls_key");
	if (!p.r && p.c->n_consumers == 0)
		fail(&p, 0, "%s", "no [consumer NAME] section: nothing would be served");
	if (!p.r && !p.c->title)
		p.r = set_str(&p.c->title, "chatham TAXII 2.1");
	if (p.r) {
		taxii_config_free(p.c);
		return p.r;
	}
	*out = p.c;
	return 0;
}

int taxii_config_load(const char *path, struct taxii_config **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *text;
	size_t n;
	int r;

	*out = NULL;
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fileno(f), &st) || st.st_size > (off_t)CONFIG_FILE_MAX) {
		fclose(f);
		snprintf(err, errlen, "%s: larger than 1 MiB or unreadable", path);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(text, 1, (size_t)st.st_size, f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	text[n] = '\0';
	if (!r && strlen(text) != n) {
		snprintf(err, errlen, "%s holds a NUL byte", path);
		r = -EINVAL;
	}
	if (!r)
		r = taxii_config_parse(text, out, err, errlen);
	free(text);
	return r;
}

void taxii_config_free(struct taxii_config *c)
{
	if (!c)
		return;
	free(c->listen);
	free(c->export_dir);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->title);
	proto_wipe(c->consumers, sizeof(c->consumers));
	free(c);
}

void taxii_secret_hash(const char *secret, size_t len, uint8_t out[32])
{
	static const char domain[] = "chatham/taxii/secret/1";
	const void *parts[] = {domain, secret};
	const size_t lens[] = {sizeof(domain) - 1, len};

	proto_hash(out, 32, parts, lens, 2);
}

const struct taxii_consumer *taxii_auth_check(const struct taxii_config *c, const char *user,
					      const char *secret)
{
	const struct taxii_consumer *found = NULL;
	uint8_t h[32];

	if (!secret)
		return NULL;
	taxii_secret_hash(secret, strlen(secret), h);
	for (size_t i = 0; i < c->n_consumers; i++) {
		bool ok = proto_ct_equal(h, c->consumers[i].hash, 32);
		/* The name is public (it is in the file and the logs); the secret is not. */
		if (user && strcmp(user, c->consumers[i].name))
			ok = false;
		if (ok && !found)
			found = &c->consumers[i];
	}
	proto_wipe(h, sizeof(h));
	return found;
}

bool taxii_consumer_may_read(const struct taxii_config *c, const struct taxii_consumer *cons,
			     int tlp)
{
	return tlp >= PROTO_TLP_CLEAR && tlp <= PROTO_TLP_RED && (c->collections >> tlp & 1) &&
	       (cons->collections >> tlp & 1) && tlp <= cons->ceiling;
}

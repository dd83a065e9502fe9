/* SPDX-License-Identifier: MIT */
/*
 * proto/indicator.c — indicator validation, canonical forms and ids (DESIGN.md §2).
 *
 * Every parser is a single bounded pass (two for domains) over the caller's bytes and writes
 * straight into the caller's struct: no allocation, no locale, no NUL-termination
 * assumptions, because imports run this on every line of files with 100k+ lines and the
 * report decoder runs it on every value that arrives from the network.
 *
 * Reasons are static strings chosen so that an operator can fix the value without reading
 * code: they say what is wrong and, where there is an obvious fix (refang, drop the port,
 * use another type), what to do. Within one type every failure mode has its own reason; the
 * unit tests hold the table of them.
 *
 * Canonical values are always printable ASCII: non-ASCII input is rejected rather than
 * normalised, so two spellings of one indicator cannot yield two ids and a canonical value
 * is always valid UTF-8 for the msgpack str that carries it.
 */
#include "proto/indicator.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "proto/crypto.h"
#include "proto/error.h"

#define IND_ID_PREFIX "chatham/ind/1"
#define DOMAIN_MAX 253
#define LABEL_MAX 63
#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64
#define R_HEX_LENGTH "hex digits of no hash length (md5 32, sha1 40, sha256 64, sha512 128)"

static const char *const type_names[PROTO_IND_TYPE_MAX + 1] = {
	[PROTO_IND_IPV4] = "ipv4", [PROTO_IND_IPV6] = "ipv6",	  [PROTO_IND_DOMAIN] = "domain",
	[PROTO_IND_URL] = "url",   [PROTO_IND_EMAIL] = "email",	  [PROTO_IND_MD5] = "md5",
	[PROTO_IND_SHA1] = "sha1", [PROTO_IND_SHA256] = "sha256", [PROTO_IND_SHA512] = "sha512",
};

static const char R_EMPTY[] = "empty value";

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_alpha(unsigned char c)
{
	c |= 0x20;
	return c >= 'a' && c <= 'z';
}

static inline bool is_alnum(unsigned char c)
{
	return is_digit(c) || is_alpha(c);
}

static inline bool is_hex(unsigned char c)
{
	unsigned char l = c | 0x20;

	return is_digit(c) || (l >= 'a' && l <= 'f');
}

static inline bool is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Callers test is_space() first: tab, newline and friends are controls too. */
static inline bool is_ctrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static inline char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
}

static inline bool is_scheme_char(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '-' || c == '.';
}

static bool has_at(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);

	return n - i >= l && memcmp(s + i, lit, l) == 0;
}

static bool has_at_nocase(const char *s, size_t n, size_t i, const char *lit)
{
	size_t l = strlen(lit);

	return n - i >= l && strncasecmp(s + i, lit, l) == 0;
}

/* Writes the decimal form of @v at @dst; returns the number of characters written. */
static size_t put_uint(char *dst, unsigned v)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/*
 * CIDR prefixes: decimal without leading zeros, so that "/024" and "/24" cannot both be
 * canonical. The reasons differ per family so that an operator sees which family's limit
 * applied.
 */
struct cidr_reasons {
	const char *empty, *nan, *zero, *range;
};

static const struct cidr_reasons cidr4 = {
	.empty = "IPv4 CIDR prefix is empty",
	.nan = "IPv4 CIDR prefix is not a number",
	.zero = "IPv4 CIDR prefix has a leading zero",
	.range = "IPv4 CIDR prefix longer than 32",
};

static const struct cidr_reasons cidr6 = {
	.empty = "IPv6 CIDR prefix is empty",
	.nan = "IPv6 CIDR prefix is not a number",
	.zero = "IPv6 CIDR prefix has a leading zero",
	.range = "IPv6 CIDR prefix longer than 128",
};

static const char *parse_prefix(const char *s, size_t n, unsigned max, unsigned *out,
				const struct cidr_reasons *r)
{
	unsigned v = 0;
	size_t i;

	if (n == 0)
		return r->empty;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return r->nan;
		if (v <= max) /* saturate: anything above max is rejected below */
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (n > 1 && s[0] == '0')
		return r->zero;
	if (v > max)
		return r->range;
	*out = v;
	return NULL;
}

/* True when the address @a (@bytes long) has a bit set after the first @prefix bits. */
static bool host_bits_set(const uint8_t *a, size_t bytes, unsigned prefix)
{
	size_t i = prefix / 8;

	if (prefix % 8) {
		if (a[i] & (uint8_t)(0xffu >> (prefix % 8)))
			return true;
		i++;
	}
	for (; i < bytes; i++)
		if (a[i])
			return true;
	return false;
}

/*
 * Strict dotted quad: exactly four decimal octets, no leading zeros. inet_aton() would
 * accept "1.2.3" and "0x7f.1" and read "010" as octal 8; feeds disagree about what those
 * mean, so none of them is an indicator. Shared with IPv6's embedded IPv4 form.
 */
static const char *ipv4_octets(const char *s, size_t n, uint8_t a[4])
{
	size_t i = 0, start, digits;
	unsigned v, oct = 0;

	for (;;) {
		start = i;
		v = 0;
		while (i < n && is_digit(s[i])) {
			if (v <= 255)
				v = v * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		if (i < n && s[i] != '.')
			return "IPv4 address contains a character other than digits, '.' and '/'";
		digits = i - start;
		if (digits == 0)
			return "IPv4 octet is empty";
		if (oct == 4)
			return "IPv4 address has more than 4 octets";
		if (digits > 1 && s[start] == '0')
			return "IPv4 octet has a leading zero (ambiguous octal)";
		if (v > 255)
			return "IPv4 octet out of range";
		a[oct++] = (uint8_t)v;
		if (i == n)
			break;
		i++;
	}
	if (oct < 4)
		return "IPv4 address has fewer than 4 octets";
	return NULL;
}

static const char *parse_ipv4(struct proto_indicator *out, const char *s, size_t n)
{
	size_t slash = n, i, len;
	unsigned prefix = 32;
	uint8_t a[4];
	const char *r;

	if (n == 0)
		return R_EMPTY;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_digit(c) || c == '.')
			continue;
		if (c == '/') {
			if (slash != n)
				return "IPv4 address has more than one '/'";
			slash = i;
			continue;
		}
		if (is_space(c))
			return "IPv4 address contains whitespace";
		if (is_ctrl(c))
			return "IPv4 address contains a control character";
		if (c >= 0x80)
			return "IPv4 address contains non-ASCII bytes";
		if (c == ':')
			return "IPv4 address contains ':' (drop the port; IPv6 is type ipv6)";
		if ((c | 0x20) == 'x')
			return "IPv4 octet in hex ('0x') is not accepted";
		return "IPv4 address contains a character other than digits, '.' and '/'";
	}
	r = ipv4_octets(s, slash, a);
	if (r)
		return r;
	if (slash < n) {
		r = parse_prefix(s + slash + 1, n - slash - 1, 32, &prefix, &cidr4);
		if (r)
			return r;
		if (host_bits_set(a, 4, prefix))
			return "IPv4 CIDR has host bits set";
	}
	if (!inet_ntop(AF_INET, a, out->value, sizeof(out->value)))
		return "invalid IPv4 address";
	len = strlen(out->value);
	/* A /32 is one host: the bare address, so both spellings share one id. */
	if (prefix < 32) {
		out->value[len++] = '/';
		len += put_uint(out->value + len, prefix);
	}
	out->value[len] = '\0';
	out->len = (uint16_t)len;
	return NULL;
}

/*
 * Character screen shared by the ipv6 type and bracketed URL hosts, so both give the same
 * reason for a zone id or a stray character. @slash_ok: a '/' (CIDR) may appear once; its
 * offset is stored in *@slash (or @n when absent).
 */
static const char *ipv6_chars(const char *s, size_t n, bool slash_ok, size_t *slash)
{
	size_t i;

	*slash = n;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_hex(c) || c == ':' || c == '.')
			continue;
		if (c == '/' && slash_ok) {
			if (*slash != n)
				return "IPv6 address has more than one '/'";
			*slash = i;
			continue;
		}
		if (is_space(c))
			return "IPv6 address contains whitespace";
		if (is_ctrl(c))
			return "IPv6 address contains a control character";
		if (c >= 0x80)
			return "IPv6 address contains non-ASCII bytes";
		if (c == '%')
			return "IPv6 zone id ('%...') not allowed: it names a local interface";
		if (c == '[' || c == ']')
			return "IPv6 address in brackets; give it without '[' and ']'";
		return "IPv6 address contains a character other than hex digits, ':', '.' and '/'";
	}
	return NULL;
}

/*
 * Structural check of an IPv6 address (characters already screened), then inet_pton().
 * The walk exists only to give a precise reason: inet_pton() says yes or no. It accepts
 * exactly what glibc's inet_pton() accepts; the fuzz harness checks that the fallback
 * reason below is never reached.
 */
static const char *ipv6_addr(const char *s, size_t n, uint8_t a[16])
{
	size_t i = 0, start, groups = 0;
	bool dcolon = false, dot;
	char buf[INET6_ADDRSTRLEN];
	uint8_t v4[4];

	if (!memchr(s, ':', n))
		return "not an IPv6 address: no ':' (IPv4 is type ipv4)";
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		dcolon = true;
		i = 2;
		if (i < n && s[i] == ':')
			return "IPv6 address contains ':::'";
	} else if (s[0] == ':') {
		return "IPv6 address starts with a single ':'";
	}
	while (i < n) {
		start = i;
		dot = false;
		while (i < n && s[i] != ':') {
			if (s[i] == '.')
				dot = true;
			i++;
		}
		if (i == start) /* unreachable: "::" and ":::" are consumed below */
			return "IPv6 address contains ':::'";
		if (dot) {
			if (i < n)
				return "IPv6 embedded IPv4 part must come last";
			if (ipv4_octets(s + start, i - start, v4))
				return "IPv6 embedded IPv4 part is invalid";
			groups += 2;
			break;
		}
		if (i - start > 4)
			return "IPv6 group longer than 4 hex digits";
		groups++;
		if (groups > 8)
			break;
		if (i == n)
			break;
		if (i + 1 < n && s[i + 1] == ':') {
			if (dcolon)
				return "IPv6 address has more than one '::'";
			dcolon = true;
			i += 2;
			if (i < n && s[i] == ':')
				return "IPv6 address contains ':::'";
		} else {
			i++;
			if (i == n)
				return "IPv6 address ends with a single ':'";
		}
	}
	/* "::" stands for at least one zero group (RFC 4291 2.2), so 8 groups leave no room. */
	if (groups > 8 || (dcolon && groups > 7))
		return "IPv6 address has more than 8 groups";
	if (!dcolon && groups < 8)
		return "IPv6 address has fewer than 8 groups and no '::'";
	if (n >= sizeof(buf))
		return "invalid IPv6 address";
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1)
		return "invalid IPv6 address";
	return NULL;
}

static const char *parse_ipv6(struct proto_indicator *out, const char *s, size_t n)
{
	size_t slash, len;
	unsigned prefix = 128;
	uint8_t a[16];
	const char *r;

	if (n == 0)
		return R_EMPTY;
	r = ipv6_chars(s, n, true, &slash);
	if (r)
		return r;
	r = ipv6_addr(s, slash, a);
	if (r)
		return r;
	if (slash < n) {
		r = parse_prefix(s + slash + 1, n - slash - 1, 128, &prefix, &cidr6);
		if (r)
			return r;
		if (host_bits_set(a, 16, prefix))
			return "IPv6 CIDR has host bits set";
	}
	if (!inet_ntop(AF_INET6, a, out->value, sizeof(out->value)))
		return "invalid IPv6 address";
	len = strlen(out->value);
	if (prefix < 128) {
		out->value[len++] = '/';
		len += put_uint(out->value + len, prefix);
	}
	out->value[len] = '\0';
	out->len = (uint16_t)len;
	return NULL;
}

/*
 * Host name check shared by domains, URL hosts and email domains: LDH labels of 1..63,
 * at most 253 characters without the one optional trailing dot, at least two labels, a
 * top-level label that is not all digits (that would be a mangled IPv4 address).
 * On success *@outn is the length without the trailing dot and, when @dst is non-NULL, the
 * lower-cased name is written there (@dst holds at least DOMAIN_MAX bytes).
 */
static const char *domain_check(const char *s, size_t n, char *dst, size_t *outn)
{
	size_t i, start = 0, labels = 0;
	bool numeric = true;

	if (n == 0)
		return R_EMPTY;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_alnum(c) || c == '-' || c == '.')
			continue;
		if (is_space(c))
			return "domain contains whitespace";
		if (is_ctrl(c))
			return "domain contains a control character";
		if (c >= 0x80)
			return "non-ASCII domain: convert to IDNA punycode (xn--)";
		if (c == '_')
			return "domain contains '_' (not allowed in host names)";
		if (c == ':' && has_at(s, n, i, "://"))
			return "domain has a URL scheme (a URL is type url)";
		if (c == ':')
			return "domain contains ':' (drop the port; IPv6 is type ipv6)";
		if (c == '/')
			return "domain contains '/' (a URL is type url)";
		if (c == '@')
			return "domain contains '@' (an email address is type email)";
		if (c == '*')
			return "domain contains '*' (wildcards are not indicators)";
		if (has_at(s, n, i, "[.]") || has_at(s, n, i, "(.)") ||
		    has_at_nocase(s, n, i, "[dot]"))
			return "domain is defanged ('[.]'); refang it first";
		return "domain contains a character other than letters, digits, '-' and '.'";
	}
	if (s[0] == '.')
		return "domain starts with '.'";
	if (s[n - 1] == '.')
		n--;
	if (n > DOMAIN_MAX)
		return "domain longer than 253 characters";
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_digit(s[i]))
				numeric = false;
			if (dst)
				dst[i] = to_lower(s[i]);
			continue;
		}
		if (i == start)
			return "domain has an empty label ('..')";
		if (i - start > LABEL_MAX)
			return "domain label longer than 63 characters";
		if (s[start] == '-')
			return "domain label starts with '-'";
		if (s[i - 1] == '-')
			return "domain label ends with '-'";
		if (dst && i < n)
			dst[i] = '.';
		labels++;
		start = i + 1;
		if (i < n)
			numeric = true;
	}
	if (labels < 2)
		return "domain needs at least two labels";
	if (numeric)
		return "domain top-level label is all digits (an IP address is type ipv4)";
	*outn = n;
	return NULL;
}

static const char *parse_domain(struct proto_indicator *out, const char *s, size_t n)
{
	size_t len = 0;
	const char *r = domain_check(s, n, out->value, &len);

	if (r)
		return r;
	out->value[len] = '\0';
	out->len = (uint16_t)len;
	return NULL;
}

/* Schemes whose default port is dropped and whose empty path means "/" (RFC 3986 6.2.3). */
static const struct {
	const char *scheme;
	unsigned port;
} url_defaults[] = {
	{"http", 80}, {"https", 443}, {"ws", 80}, {"wss", 443}, {"ftp", 21},
};

/*
 * URL: RFC 3986 shape "scheme://[userinfo@]host[:port][/path][?query][#fragment]",
 * normalised as RFC 3986 6.2.2-6.2.3 allows, so spellings of one resource merge into one
 * indicator: scheme and host lower-cased, the host's trailing dot removed, a bracketed IPv6
 * host written as inet_ntop prints it, the scheme's default port dropped and an empty path
 * written as "/" (both only for the schemes in url_defaults[]). Userinfo is removed: it is
 * either a credential, which must not be signed and spread, or a lure in front of the real
 * host ("http://bank.example@evil.example/" is evil.example's URL). Path, query and fragment
 * stay byte for byte (a server may treat /A and /a differently; percent-encoding is not
 * rewritten).
 */
static const char *parse_url(struct proto_indicator *out, const char *s, size_t n)
{
	size_t i, scheme, auth, end, host, hend, port, at, slash, hlen;
	unsigned pv = 0;
	uint8_t a[16];
	const char *r;

	if (n == 0)
		return R_EMPTY;
	if (n > PROTO_IND_VALUE_MAX)
		return "URL longer than 2048 bytes";
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f && c != '\\' && c != '<' && c != '>' && c != '"')
			continue;
		if (is_space(c))
			return "URL contains whitespace";
		if (is_ctrl(c))
			return "URL contains a control character";
		if (c >= 0x80)
			return "URL contains non-ASCII bytes (percent-encode them)";
		if (c == '\\')
			return "URL contains '\\' (not allowed in URLs)";
		return "URL contains '<', '>' or '\"' (percent-encode them)";
	}

	for (scheme = 0; scheme < n && is_scheme_char(s[scheme]); scheme++)
		;
	if (!has_at(s, n, scheme, "://")) {
		if (!memmem(s, n, "://", 3))
			return "URL has no scheme ('scheme://')";
		return "URL scheme contains an invalid character";
	}
	if (scheme == 0)
		return "URL scheme is empty";
	if (!is_alpha(s[0]))
		return "URL scheme must start with a letter";
	if ((scheme == 4 && strncasecmp(s, "hxxp", 4) == 0) ||
	    (scheme == 5 && strncasecmp(s, "hxxps", 5) == 0))
		return "URL is defanged ('hxxp'); refang it first";

	auth = scheme + 3;
	for (end = auth; end < n && s[end] != '/' && s[end] != '?' && s[end] != '#'; end++)
		;
	/* The host follows the last '@': "http://bank.example@evil.example/" is evil's URL. */
	host = auth;
	for (at = auth; at < end; at++)
		if (s[at] == '@')
			host = at + 1;
	if (host == end)
		return "URL host is empty";

	if (s[host] == '[') {
		for (hend = host + 1; hend < end && s[hend] != ']'; hend++)
			;
		if (hend == end)
			return "URL IPv6 host has no closing ']'";
		if (hend == host + 1)
			return "URL host is empty";
		r = ipv6_chars(s + host + 1, hend - host - 1, false, &slash);
		if (!r)
			r = ipv6_addr(s + host + 1, hend - host - 1, a);
		if (r)
			return r;
		hend++;
		if (hend < end && s[hend] != ':')
			return "URL has characters after the IPv6 host's ']'";
	} else {
		bool dotted = true;

		for (hend = host; hend < end && s[hend] != ':'; hend++)
			if (!is_digit(s[hend]) && s[hend] != '.')
				dotted = false;
		if (hend == host)
			return "URL host is empty";
		if (dotted)
			r = ipv4_octets(s + host, hend - host, a);
		else
			r = domain_check(s + host, hend - host, NULL, &hlen);
		if (r)
			return r;
	}
	if (hend < end) {
		port = hend + 1;
		if (port == end)
			return "URL port is empty";
		for (i = port; i < end; i++) {
			if (!is_digit(s[i]))
				return "URL port is not a number";
			if (pv <= 65535)
				pv = pv * 10 + (unsigned)(s[i] - '0');
		}
		if (end - port > 1 && s[port] == '0')
			return "URL port has a leading zero";
		if (pv == 0 || pv > 65535)
			return "URL port out of range (1-65535)";
	}

	/*
	 * Write the canonical form, scheme "://" host [":" port] ["/"] rest, into a buffer
	 * with room for what can grow (inet_ntop may print an IPv6 host a few bytes longer
	 * than it was given, the empty path adds one byte), then check the limit.
	 */
	char o[PROTO_IND_VALUE_MAX + INET6_ADDRSTRLEN + 8];
	size_t len = 0;
	int def = -1;

	for (i = 0; i < sizeof(url_defaults) / sizeof(url_defaults[0]); i++)
		if (strlen(url_defaults[i].scheme) == scheme &&
		    strncasecmp(s, url_defaults[i].scheme, scheme) == 0)
			def = (int)i;
	for (i = 0; i < scheme; i++)
		o[len++] = to_lower(s[i]);
	memcpy(o + len, "://", 3);
	len += 3;
	if (s[host] == '[') {
		o[len++] = '[';
		if (!inet_ntop(AF_INET6, a, o + len, INET6_ADDRSTRLEN))
			return "invalid IPv6 address";
		len += strlen(o + len);
		o[len++] = ']';
	} else {
		size_t hn = hend - host;

		if (s[hend - 1] == '.')
			hn--; /* "evil.example." is "evil.example" (domain_check allowed one dot) */
		for (i = 0; i < hn; i++)
			o[len++] = to_lower(s[host + i]);
	}
	if (hend < end && !(def >= 0 && pv == url_defaults[def].port)) {
		memcpy(o + len, s + hend, end - hend);
		len += end - hend;
	}
	if (def >= 0 && (end == n || s[end] != '/'))
		o[len++] = '/';
	if (len + (n - end) > PROTO_IND_VALUE_MAX)
		return "URL longer than 2048 bytes";
	memcpy(o + len, s + end, n - end);
	len += n - end;
	memcpy(out->value, o, len);
	out->value[len] = '\0';
	out->len = (uint16_t)len;
	return NULL;
}

/*
 * Email: one '@', a local part of 1..64 printable ASCII characters kept as given (local
 * parts may be case-sensitive), a domain checked like the domain type and lower-cased.
 * Common copy-paste wrappers (mailto:, <...>, [at]) get their own reasons.
 */
static const char *parse_email(struct proto_indicator *out, const char *s, size_t n)
{
	size_t i, at = n, ats = 0, dlen = 0;
	const char *r;

	if (n == 0)
		return R_EMPTY;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_space(c))
			return "email contains whitespace";
		if (is_ctrl(c))
			return "email contains a control character";
		if (c == '@') {
			if (!ats++)
				at = i;
		}
	}
	if (has_at_nocase(s, n, 0, "mailto:"))
		return "email has a 'mailto:' prefix; give the bare address";
	if (s[0] == '<' || s[n - 1] == '>')
		return "email is in angle brackets; give the bare address";
	if (ats == 0) {
		if (memmem(s, n, "[at]", 4) || memmem(s, n, "(at)", 4) || memmem(s, n, "[AT]", 4) ||
		    memmem(s, n, "(AT)", 4))
			return "email is defanged ('[at]'); refang it first";
		return "email has no '@'";
	}
	if (ats > 1)
		return "email has more than one '@'";
	if (at == 0)
		return "email local part is empty";
	if (at > EMAIL_LOCAL_MAX)
		return "email local part longer than 64 characters";
	for (i = 0; i < at; i++)
		if ((unsigned char)s[i] >= 0x80)
			return "email local part contains non-ASCII bytes";
	if (at + 1 == n)
		return "email domain is empty";
	if (s[at + 1] == '[')
		return "email domain is an address literal ('[...]'); not supported";
	r = domain_check(s + at + 1, n - at - 1, out->value + at + 1, &dlen);
	if (r)
		return r;
	if (at + 1 + dlen > EMAIL_MAX)
		return "email longer than 254 characters";
	memcpy(out->value, s, at);
	out->value[at] = '@';
	out->value[at + 1 + dlen] = '\0';
	out->len = (uint16_t)(at + 1 + dlen);
	return NULL;
}

/* Per hash type: its length and the reasons that name it. */
struct hash_kind {
	size_t digits;
	const char *short_r, *long_r, *is_r;
};

static const struct hash_kind hash_kinds[] = {
	{32, "md5 hash too short (need 32 hex digits)", "md5 hash too long (need 32 hex digits)",
	 "32 hex digits: an md5 hash, not the type given"},
	{40, "sha1 hash too short (need 40 hex digits)", "sha1 hash too long (need 40 hex digits)",
	 "40 hex digits: a sha1 hash, not the type given"},
	{64, "sha256 hash too short (need 64 hex digits)",
	 "sha256 hash too long (need 64 hex digits)",
	 "64 hex digits: a sha256 hash, not the type given"},
	{128, "sha512 hash too short (need 128 hex digits)",
	 "sha512 hash too long (need 128 hex digits)",
	 "128 hex digits: a sha512 hash, not the type given"},
};

enum {
	HB_SPACE = 1 << 0,
	HB_CTRL = 1 << 1,
	HB_NONASCII = 1 << 2,
	HB_SEP = 1 << 3,
	HB_B64 = 1 << 4,
	HB_NONHEX = 1 << 5,
};

/*
 * Hashes report the most useful reason rather than the first bad byte: a base64 digest
 * contains letters beyond 'f' long before its '=' padding, and "base64" is the fix.
 */
static const char *parse_hash(struct proto_indicator *out, int type, const char *s, size_t n)
{
	const struct hash_kind *k = &hash_kinds[type - PROTO_IND_MD5];
	unsigned bad = 0;
	size_t i;

	if (n == 0)
		return R_EMPTY;
	if (n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
		return "hash has a '0x' prefix; give bare hex digits";
	/* "sha256:...", "md5=...": a name (with a letter past 'f') before ':' or '='. */
	for (i = 0; i < n && (is_alnum(s[i]) || s[i] == '-'); i++)
		if (!is_hex(s[i]) && s[i] != '-')
			bad = 1;
	if (bad && i < n && (s[i] == ':' || s[i] == '='))
		return "hash has an algorithm prefix (e.g. 'sha256:'); give bare hex digits";
	bad = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_hex(c))
			continue;
		if (is_space(c))
			bad |= HB_SPACE;
		else if (is_ctrl(c))
			bad |= HB_CTRL;
		else if (c >= 0x80)
			bad |= HB_NONASCII;
		else if (c == ':' || c == '-')
			bad |= HB_SEP;
		else if (c == '+' || c == '/' || c == '=')
			bad |= HB_B64;
		else
			bad |= HB_NONHEX;
	}
	if (bad & HB_SPACE)
		return "hash contains whitespace";
	if (bad & HB_CTRL)
		return "hash contains a control character";
	if (bad & HB_NONASCII)
		return "hash contains non-ASCII bytes";
	if (bad & HB_SEP)
		return "hash contains ':' or '-' separators; give bare hex digits";
	if (bad & HB_B64)
		return "hash looks like base64 ('+', '/' or '='); give hex digits";
	if (bad)
		return "hash contains a non-hex character";
	if (n % 2)
		return "hash has an odd number of hex digits";
	if (n != k->digits) {
		for (i = 0; i < sizeof(hash_kinds) / sizeof(hash_kinds[0]); i++)
			if (n == hash_kinds[i].digits)
				return hash_kinds[i].is_r;
		return n < k->digits ? k->short_r : k->long_r;
	}
	for (i = 0; i < n; i++)
		out->value[i] = to_lower(s[i]);
	out->value[n] = '\0';
	out->len = (uint16_t)n;
	return NULL;
}

int proto_indicator_parse(struct proto_indicator *out, int type, const char *in, size_t len,
			  const char **reason)
{
	const char *r;

	out->type = 0;
	out->len = 0;
	out->value[0] = '\0';
	if (len && !in)
		len = 0;
	switch (type) {
	case PROTO_IND_IPV4:
		r = parse_ipv4(out, in, len);
		break;
	case PROTO_IND_IPV6:
		r = parse_ipv6(out, in, len);
		break;
	case PROTO_IND_DOMAIN:
		r = parse_domain(out, in, len);
		break;
	case PROTO_IND_URL:
		r = parse_url(out, in, len);
		break;
	case PROTO_IND_EMAIL:
		r = parse_email(out, in, len);
		break;
	case PROTO_IND_MD5:
	case PROTO_IND_SHA1:
	case PROTO_IND_SHA256:
	case PROTO_IND_SHA512:
		r = parse_hash(out, type, in, len);
		break;
	default:
		if (reason)
			*reason = proto_error_str(PROTO_E_IND_TYPE);
		return PROTO_E_IND_TYPE;
	}
	if (r) {
		out->len = 0;
		out->value[0] = '\0';
		if (reason)
			*reason = r;
		return PROTO_E_IND_VALUE;
	}
	out->type = (uint8_t)type;
	if (reason)
		*reason = NULL;
	return 0;
}

/*
 * Type guess for plain-text import lines. Cheap: one pass of character classes. The guess
 * only picks the parser; a wrong-looking value still gets that parser's specific reason
 * (e.g. "1.2.3.4:80" goes to ipv4, which says to drop the port).
 */
static int detect_type(const char *s, size_t n)
{
	bool v4 = n > 0, v6 = true, hex = n > 0, zone = false, at = false, dot = false;
	size_t i, colons = 0;

	for (i = 0; i < n && is_scheme_char(s[i]); i++)
		;
	if (i > 0 && has_at(s, n, i, "://"))
		return PROTO_IND_URL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '@')
			at = true;
		if (c == '.')
			dot = true;
		if (c == ':')
			colons++;
		if (c == '%')
			zone = true;
		if (!is_digit(c) && c != '.' && c != '/' && c != ':')
			v4 = false;
		if (!zone && !is_hex(c) && c != ':' && c != '.' && c != '/')
			v6 = false;
		if (!is_hex(c))
			hex = false;
	}
	if (at)
		return PROTO_IND_EMAIL;
	if (v6 && colons >= 2)
		return PROTO_IND_IPV6;
	if (v4 && dot && is_digit(s[0]))
		return PROTO_IND_IPV4;
	if (hex) {
		switch (n) {
		case 32:
			return PROTO_IND_MD5;
		case 40:
			return PROTO_IND_SHA1;
		case 64:
			return PROTO_IND_SHA256;
		case 128:
			return PROTO_IND_SHA512;
		}
		/*
		 * Only hex digits and no dot: not a domain (that needs two labels) nor an
		 * address, so it is a hash of the wrong length, and its reason must say so.
		 */
		return 0;
	}
	return PROTO_IND_DOMAIN;
}

int proto_indicator_detect(struct proto_indicator *out, const char *in, size_t len,
			   const char **reason)
{
	int type;

	if (len && !in)
		len = 0;
	type = detect_type(in, len);
	if (type == 0) {
		out->type = 0;
		out->len = 0;
		out->value[0] = '\0';
		if (reason)
			*reason = R_HEX_LENGTH;
		return PROTO_E_IND_VALUE;
	}
	return proto_indicator_parse(out, type, in, len, reason);
}

void proto_indicator_id_raw(int type, const char *value, size_t len, uint8_t id[32])
{
	const char *name = proto_indicator_type_name(type);
	const void *parts[4];
	size_t lens[4];
	static const uint8_t zero;

	if (!name) {
		memset(id, 0, 32);
		return;
	}
	parts[0] = IND_ID_PREFIX;
	lens[0] = sizeof(IND_ID_PREFIX) - 1;
	parts[1] = name;
	lens[1] = strlen(name);
	parts[2] = &zero;
	lens[2] = 1;
	parts[3] = value;
	lens[3] = len;
	proto_hash(id, 32, parts, lens, 4);
}

void proto_indicator_id(const struct proto_indicator *ind, uint8_t id[32])
{
	proto_indicator_id_raw(ind->type, ind->value, ind->len, id);
}

const char *proto_indicator_type_name(int type)
{
	if (type < PROTO_IND_TYPE_MIN || type > PROTO_IND_TYPE_MAX)
		return NULL;
	return type_names[type];
}

int proto_indicator_type_from_name(const char *name)
{
	int t;

	if (!name)
		return -1;
	for (t = PROTO_IND_TYPE_MIN; t <= PROTO_IND_TYPE_MAX; t++)
		if (strcasecmp(name, type_names[t]) == 0)
			return t;
	return -1;
}

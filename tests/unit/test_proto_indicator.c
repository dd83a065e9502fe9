/* SPDX-License-Identifier: MIT */
/*
 * Indicators: for every type family, a table of valid inputs with their canonical form and a
 * table of invalid inputs with the exact reason, each reason used once per type. Plus the
 * indicator_id known answers (computed independently with Python's hashlib.blake2b), type
 * names, and detect() on mixed import lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/crypto.h"
#include "proto/error.h"
#include "proto/indicator.h"

/* A string literal and its length, so invalid inputs may contain NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1
#define N(a) (sizeof(a) / sizeof((a)[0]))

#define A4 "aaaa"
#define A8 A4 A4
#define A16 A8 A8
#define A32 A16 A16
#define A64 A32 A32
#define A128 A64 A64
#define A256 A128 A128
#define A512 A256 A256
#define A1024 A512 A512
#define A2029 A1024 A512 A256 A128 A64 A32 A8 A4 "a"
#define L60 A32 A16 A8 A4
#define L61 L60 "a"
#define L62 L61 "a"
#define L63 L62 "a"
#define D253 L63 "." L63 "." L63 "." L61
#define D254 L63 "." L63 "." L63 "." L62

struct valid_case {
	int type;
	const char *in;
	const char *canon;
};

struct invalid_case {
	int type;
	const char *in;
	size_t len;
	const char *reason;
};

struct family {
	const char *name;
	const struct valid_case *valid;
	size_t nvalid;
	const struct invalid_case *invalid;
	size_t ninvalid;
};

static const struct valid_case ipv4_valid[] = {
	{PROTO_IND_IPV4, "1.2.3.4", "1.2.3.4"},
	{PROTO_IND_IPV4, "0.0.0.0", "0.0.0.0"},
	{PROTO_IND_IPV4, "255.255.255.255", "255.255.255.255"},
	{PROTO_IND_IPV4, "127.0.0.1", "127.0.0.1"},
	{PROTO_IND_IPV4, "192.0.2.1", "192.0.2.1"},
	{PROTO_IND_IPV4, "10.0.0.0/8", "10.0.0.0/8"},
	{PROTO_IND_IPV4, "172.16.0.0/12", "172.16.0.0/12"},
	{PROTO_IND_IPV4, "192.168.0.0/16", "192.168.0.0/16"},
	{PROTO_IND_IPV4, "100.64.0.0/10", "100.64.0.0/10"},
	{PROTO_IND_IPV4, "203.0.113.0/24", "203.0.113.0/24"},
	{PROTO_IND_IPV4, "198.51.100.128/25", "198.51.100.128/25"},
	{PROTO_IND_IPV4, "224.0.0.0/4", "224.0.0.0/4"},
	{PROTO_IND_IPV4, "128.0.0.0/1", "128.0.0.0/1"},
	{PROTO_IND_IPV4, "0.0.0.0/0", "0.0.0.0/0"},
	{PROTO_IND_IPV4, "1.2.3.4/30", "1.2.3.4/30"},
	{PROTO_IND_IPV4, "1.2.3.4/32", "1.2.3.4"},
	{PROTO_IND_IPV4, "8.8.8.8/32", "8.8.8.8"},
	{PROTO_IND_IPV4, "9.9.9.9", "9.9.9.9"},
};

static const struct invalid_case ipv4_invalid[] = {
	{PROTO_IND_IPV4, S(""), "empty value"},
	{PROTO_IND_IPV4, S("1.2. 3.4"), "IPv4 address contains whitespace"},
	{PROTO_IND_IPV4, S("1.2.3.4\0"), "IPv4 address contains a control character"},
	{PROTO_IND_IPV4, S("\357\274\221.2.3.4"), "IPv4 address contains non-ASCII bytes"},
	{PROTO_IND_IPV4, S("1.2.3.4:80"),
	 "IPv4 address contains ':' (drop the port; IPv6 is type ipv6)"},
	{PROTO_IND_IPV4, S("0x7f.0.0.1"), "IPv4 octet in hex ('0x') is not accepted"},
	{PROTO_IND_IPV4, S("1.2.3.a"),
	 "IPv4 address contains a character other than digits, '.' and '/'"},
	{PROTO_IND_IPV4, S("1.2.3.0/24/8"), "IPv4 address has more than one '/'"},
	{PROTO_IND_IPV4, S("1..3.4"), "IPv4 octet is empty"},
	{PROTO_IND_IPV4, S("1.2.3.4.5"), "IPv4 address has more than 4 octets"},
	{PROTO_IND_IPV4, S("01.2.3.4"), "IPv4 octet has a leading zero (ambiguous octal)"},
	{PROTO_IND_IPV4, S("256.1.1.1"), "IPv4 octet out of range"},
	{PROTO_IND_IPV4, S("1.2.3"), "IPv4 address has fewer than 4 octets"},
	{PROTO_IND_IPV4, S("1.2.3.0/"), "IPv4 CIDR prefix is empty"},
	{PROTO_IND_IPV4, S("1.2.3.0/2.4"), "IPv4 CIDR prefix is not a number"},
	{PROTO_IND_IPV4, S("1.2.3.0/024"), "IPv4 CIDR prefix has a leading zero"},
	{PROTO_IND_IPV4, S("1.2.3.0/33"), "IPv4 CIDR prefix longer than 32"},
	{PROTO_IND_IPV4, S("1.2.3.4/24"), "IPv4 CIDR has host bits set"},
};

static const struct valid_case ipv6_valid[] = {
	{PROTO_IND_IPV6, "2001:db8::1", "2001:db8::1"},
	{PROTO_IND_IPV6, "2001:DB8::1", "2001:db8::1"},
	{PROTO_IND_IPV6, "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
	{PROTO_IND_IPV6, "::", "::"},
	{PROTO_IND_IPV6, "::1", "::1"},
	{PROTO_IND_IPV6, "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
	{PROTO_IND_IPV6, "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
	{PROTO_IND_IPV6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
	{PROTO_IND_IPV6, "2001:db8:0:0:0:0:2:1", "2001:db8::2:1"},
	{PROTO_IND_IPV6, "2001:db8:1::ab9:C0A8:102", "2001:db8:1::ab9:c0a8:102"},
	{PROTO_IND_IPV6, "::ffff:1.2.3.4", "::ffff:1.2.3.4"},
	{PROTO_IND_IPV6, "::FFFF:0102:0304", "::ffff:1.2.3.4"},
	{PROTO_IND_IPV6, "fe80::/10", "fe80::/10"},
	{PROTO_IND_IPV6, "2001:DB8::/32", "2001:db8::/32"},
	{PROTO_IND_IPV6, "2001:db8:0:1:0:0:0:0/64", "2001:db8:0:1::/64"},
	{PROTO_IND_IPV6, "FF02::1:FF00:0/104", "ff02::1:ff00:0/104"},
	{PROTO_IND_IPV6, "::/0", "::/0"},
	{PROTO_IND_IPV6, "2001:db8::1/128", "2001:db8::1"},
};

static const struct invalid_case ipv6_invalid[] = {
	{PROTO_IND_IPV6, S(""), "empty value"},
	{PROTO_IND_IPV6, S("2001:db8:: 1"), "IPv6 address contains whitespace"},
	{PROTO_IND_IPV6, S("2001:db8::\001"), "IPv6 address contains a control character"},
	{PROTO_IND_IPV6, S("2001:db8::\357\274\221"), "IPv6 address contains non-ASCII bytes"},
	{PROTO_IND_IPV6, S("fe80::1%eth0"),
	 "IPv6 zone id ('%...') not allowed: it names a local interface"},
	{PROTO_IND_IPV6, S("[2001:db8::1]"),
	 "IPv6 address in brackets; give it without '[' and ']'"},
	{PROTO_IND_IPV6, S("2001:db8::g"),
	 "IPv6 address contains a character other than hex digits, ':', '.' and '/'"},
	{PROTO_IND_IPV6, S("2001:db8::/32/64"), "IPv6 address has more than one '/'"},
	{PROTO_IND_IPV6, S("1.2.3.4"), "not an IPv6 address: no ':' (IPv4 is type ipv4)"},
	{PROTO_IND_IPV6, S(":1:2:3:4:5:6:7"), "IPv6 address starts with a single ':'"},
	{PROTO_IND_IPV6, S("1:2:3:4:5:6:7:"), "IPv6 address ends with a single ':'"},
	{PROTO_IND_IPV6, S("1:::2"), "IPv6 address contains ':::'"},
	{PROTO_IND_IPV6, S("1::2::3"), "IPv6 address has more than one '::'"},
	{PROTO_IND_IPV6, S("12345::1"), "IPv6 group longer than 4 hex digits"},
	{PROTO_IND_IPV6, S("1:2:3:4:5:6:7:8:9"), "IPv6 address has more than 8 groups"},
	{PROTO_IND_IPV6, S("1:2:3:4:5:6:7"), "IPv6 address has fewer than 8 groups and no '::'"},
	{PROTO_IND_IPV6, S("::1.2.3.4:5"), "IPv6 embedded IPv4 part must come last"},
	{PROTO_IND_IPV6, S("::ffff:1.2.3.256"), "IPv6 embedded IPv4 part is invalid"},
	{PROTO_IND_IPV6, S("2001:db8::/"), "IPv6 CIDR prefix is empty"},
	{PROTO_IND_IPV6, S("2001:db8::/6.4"), "IPv6 CIDR prefix is not a number"},
	{PROTO_IND_IPV6, S("2001:db8::/064"), "IPv6 CIDR prefix has a leading zero"},
	{PROTO_IND_IPV6, S("2001:db8::/129"), "IPv6 CIDR prefix longer than 128"},
	{PROTO_IND_IPV6, S("2001:db8::1/64"), "IPv6 CIDR has host bits set"},
};

static const struct valid_case domain_valid[] = {
	{PROTO_IND_DOMAIN, "example.com", "example.com"},
	{PROTO_IND_DOMAIN, "EXAMPLE.COM", "example.com"},
	{PROTO_IND_DOMAIN, "Example.Com.", "example.com"},
	{PROTO_IND_DOMAIN, "a.b", "a.b"},
	{PROTO_IND_DOMAIN, "sub-domain.example.org", "sub-domain.example.org"},
	{PROTO_IND_DOMAIN, "a1.b2.c3.example.net", "a1.b2.c3.example.net"},
	{PROTO_IND_DOMAIN, "123.example.com", "123.example.com"},
	{PROTO_IND_DOMAIN, "3com.com", "3com.com"},
	{PROTO_IND_DOMAIN, "example.co.uk", "example.co.uk"},
	{PROTO_IND_DOMAIN, "xn--bcher-kva.example", "xn--bcher-kva.example"},
	{PROTO_IND_DOMAIN, "XN--BCHER-KVA.Example", "xn--bcher-kva.example"},
	{PROTO_IND_DOMAIN, "example.xn--p1ai", "example.xn--p1ai"},
	{PROTO_IND_DOMAIN, "b--c.example", "b--c.example"},
	{PROTO_IND_DOMAIN, "example.c0m", "example.c0m"},
	{PROTO_IND_DOMAIN, L63 ".com", L63 ".com"},
	{PROTO_IND_DOMAIN, D253, D253},
	{PROTO_IND_DOMAIN, D253 ".", D253},
	{PROTO_IND_DOMAIN, "MiXeD-CaSe.ExAmPlE.", "mixed-case.example"},
};

static const struct invalid_case domain_invalid[] = {
	{PROTO_IND_DOMAIN, S(""), "empty value"},
	{PROTO_IND_DOMAIN, S("exa mple.com"), "domain contains whitespace"},
	{PROTO_IND_DOMAIN, S("example.com\177"), "domain contains a control character"},
	{PROTO_IND_DOMAIN, S("b\303\274cher.example"),
	 "non-ASCII domain: convert to IDNA punycode (xn--)"},
	{PROTO_IND_DOMAIN, S("_dmarc.example.com"),
	 "domain contains '_' (not allowed in host names)"},
	{PROTO_IND_DOMAIN, S("http://example.com"), "domain has a URL scheme (a URL is type url)"},
	{PROTO_IND_DOMAIN, S("example.com:443"),
	 "domain contains ':' (drop the port; IPv6 is type ipv6)"},
	{PROTO_IND_DOMAIN, S("example.com/path"), "domain contains '/' (a URL is type url)"},
	{PROTO_IND_DOMAIN, S("user@example.com"),
	 "domain contains '@' (an email address is type email)"},
	{PROTO_IND_DOMAIN, S("*.example.com"),
	 "domain contains '*' (wildcards are not indicators)"},
	{PROTO_IND_DOMAIN, S("example[.]com"), "domain is defanged ('[.]'); refang it first"},
	{PROTO_IND_DOMAIN, S("exa$mple.com"),
	 "domain contains a character other than letters, digits, '-' and '.'"},
	{PROTO_IND_DOMAIN, S(".example.com"), "domain starts with '.'"},
	{PROTO_IND_DOMAIN, S(D254), "domain longer than 253 characters"},
	{PROTO_IND_DOMAIN, S("example..com"), "domain has an empty label ('..')"},
	{PROTO_IND_DOMAIN, S(A64 ".com"), "domain label longer than 63 characters"},
	{PROTO_IND_DOMAIN, S("-example.com"), "domain label starts with '-'"},
	{PROTO_IND_DOMAIN, S("example-.com"), "domain label ends with '-'"},
	{PROTO_IND_DOMAIN, S("localhost"), "domain needs at least two labels"},
	{PROTO_IND_DOMAIN, S("1.2.3.4"),
	 "domain top-level label is all digits (an IP address is type ipv4)"},
};

static const struct valid_case url_valid[] = {
	{PROTO_IND_URL, "http://example.com/", "http://example.com/"},
	{PROTO_IND_URL, "HTTP://EXAMPLE.COM/Path?Q=1#F", "http://example.com/Path?Q=1#F"},
	{PROTO_IND_URL, "https://example.com", "https://example.com/"},
	{PROTO_IND_URL, "https://Example.com:8443/a/B", "https://example.com:8443/a/B"},
	{PROTO_IND_URL, "http://1.2.3.4/x", "http://1.2.3.4/x"},
	{PROTO_IND_URL, "http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/"},
	{PROTO_IND_URL, "http://[2001:DB8:0:0::1]/", "http://[2001:db8::1]/"},
	{PROTO_IND_URL, "http://[::FFFF:1.2.3.4]:443/", "http://[::ffff:1.2.3.4]:443/"},
	/* userinfo is removed: a credential is never signed, a lure is not the host */
	{PROTO_IND_URL, "http://User:Pass@Example.COM/", "http://example.com/"},
	{PROTO_IND_URL, "http://bank.example@EVIL.example/login", "http://evil.example/login"},
	{PROTO_IND_URL, "http://a@b:c@evil.example:8080/", "http://evil.example:8080/"},
	/* default ports, trailing dot, empty path: one resource, one indicator */
	{PROTO_IND_URL, "http://evil.example:80/", "http://evil.example/"},
	{PROTO_IND_URL, "http://evil.example./", "http://evil.example/"},
	{PROTO_IND_URL, "http://evil.example", "http://evil.example/"},
	{PROTO_IND_URL, "HTTPS://Evil.Example.:443", "https://evil.example/"},
	{PROTO_IND_URL, "https://evil.example:80/", "https://evil.example:80/"},
	{PROTO_IND_URL, "http://evil.example:443/", "http://evil.example:443/"},
	{PROTO_IND_URL, "wss://evil.example:443/s", "wss://evil.example/s"},
	{PROTO_IND_URL, "ws://evil.example:80", "ws://evil.example/"},
	{PROTO_IND_URL, "ftp://evil.example:21/f", "ftp://evil.example/f"},
	{PROTO_IND_URL, "tcp://evil.example:80", "tcp://evil.example:80"},
	{PROTO_IND_URL, "http://1.2.3.4:80", "http://1.2.3.4/"},
	{PROTO_IND_URL, "ftp://files.example.org/pub/file.tar.gz",
	 "ftp://files.example.org/pub/file.tar.gz"},
	{PROTO_IND_URL, "http://Example.com./", "http://example.com/"},
	{PROTO_IND_URL, "Web+Cal.x-1://Example.com/", "web+cal.x-1://example.com/"},
	{PROTO_IND_URL, "http://example.com?q=1", "http://example.com/?q=1"},
	{PROTO_IND_URL, "http://example.com#Frag", "http://example.com/#Frag"},
	{PROTO_IND_URL, "http://xn--bcher-kva.example/%C3%BC",
	 "http://xn--bcher-kva.example/%C3%BC"},
	{PROTO_IND_URL, "https://example.com/a%20b/C.PHP", "https://example.com/a%20b/C.PHP"},
	{PROTO_IND_URL, "http://example.com:65535/", "http://example.com:65535/"},
	{PROTO_IND_URL, "http://example.com:1", "http://example.com:1/"},
	{PROTO_IND_URL, "http://example.com/" A2029, "http://example.com/" A2029},
};

static const struct invalid_case url_invalid[] = {
	{PROTO_IND_URL, S(""), "empty value"},
	{PROTO_IND_URL, S("http://example.com/" A2029 "a"), "URL longer than 2048 bytes"},
	{PROTO_IND_URL, S("http://example.com/a b"), "URL contains whitespace"},
	{PROTO_IND_URL, S("http://example.com/\001"), "URL contains a control character"},
	{PROTO_IND_URL, S("http://example.com/\303\274"),
	 "URL contains non-ASCII bytes (percent-encode them)"},
	{PROTO_IND_URL, S("http://evil.example\\@good.example/"),
	 "URL contains '\\' (not allowed in URLs)"},
	{PROTO_IND_URL, S("http://example.com/\"><script>"),
	 "URL contains '<', '>' or '\"' (percent-encode them)"},
	{PROTO_IND_URL, S("example.com/path"), "URL has no scheme ('scheme://')"},
	{PROTO_IND_URL, S("://example.com/"), "URL scheme is empty"},
	{PROTO_IND_URL, S("1http://example.com/"), "URL scheme must start with a letter"},
	{PROTO_IND_URL, S("ht_tp://example.com/"), "URL scheme contains an invalid character"},
	{PROTO_IND_URL, S("hxxp://example.com/"), "URL is defanged ('hxxp'); refang it first"},
	{PROTO_IND_URL, S("http:///path"), "URL host is empty"},
	{PROTO_IND_URL, S("http://[2001:db8::1/"), "URL IPv6 host has no closing ']'"},
	{PROTO_IND_URL, S("http://[2001:db8::1]x/"),
	 "URL has characters after the IPv6 host's ']'"},
	{PROTO_IND_URL, S("http://example.com:/"), "URL port is empty"},
	{PROTO_IND_URL, S("http://example.com:8o/"), "URL port is not a number"},
	{PROTO_IND_URL, S("http://example.com:080/"), "URL port has a leading zero"},
	{PROTO_IND_URL, S("http://example.com:65536/"), "URL port out of range (1-65535)"},
	{PROTO_IND_URL, S("http://1.2.3.256/"), "IPv4 octet out of range"},
	{PROTO_IND_URL, S("http://[fe80::1%25eth0]/"),
	 "IPv6 zone id ('%...') not allowed: it names a local interface"},
	{PROTO_IND_URL, S("http://my_host.example.com/"),
	 "domain contains '_' (not allowed in host names)"},
	{PROTO_IND_URL, S("http://example[.]com/"), "domain is defanged ('[.]'); refang it first"},
	{PROTO_IND_URL, S("http://intranet/"), "domain needs at least two labels"},
};

static const struct valid_case email_valid[] = {
	{PROTO_IND_EMAIL, "user@example.com", "user@example.com"},
	{PROTO_IND_EMAIL, "User@Example.COM", "User@example.com"},
	{PROTO_IND_EMAIL, "USER@EXAMPLE.COM.", "USER@example.com"},
	{PROTO_IND_EMAIL, "first.last@example.org", "first.last@example.org"},
	{PROTO_IND_EMAIL, "user+tag@example.net", "user+tag@example.net"},
	{PROTO_IND_EMAIL, "user@sub.example.co.uk", "user@sub.example.co.uk"},
	{PROTO_IND_EMAIL, "a@b.cd", "a@b.cd"},
	{PROTO_IND_EMAIL, "o'brien@example.ie", "o'brien@example.ie"},
	{PROTO_IND_EMAIL, "user%relay@example.com", "user%relay@example.com"},
	{PROTO_IND_EMAIL, "_under_score@example.com", "_under_score@example.com"},
	{PROTO_IND_EMAIL, "1234567890@example.com", "1234567890@example.com"},
	{PROTO_IND_EMAIL, "x@XN--BCHER-KVA.example", "x@xn--bcher-kva.example"},
	{PROTO_IND_EMAIL, "!#$%&'*+/=?^_`{|}~-@example.com", "!#$%&'*+/=?^_`{|}~-@example.com"},
	{PROTO_IND_EMAIL, "\"quoted\"@example.com", "\"quoted\"@example.com"},
	{PROTO_IND_EMAIL, "Name.Surname@EXAMPLE-domain.com", "Name.Surname@example-domain.com"},
	{PROTO_IND_EMAIL, A64 "@example.com", A64 "@example.com"},
	{PROTO_IND_EMAIL, "x@" L63 "." L63 "." L63 "." L60, "x@" L63 "." L63 "." L63 "." L60},
};

static const struct invalid_case email_invalid[] = {
	{PROTO_IND_EMAIL, S(""), "empty value"},
	{PROTO_IND_EMAIL, S("user @example.com"), "email contains whitespace"},
	{PROTO_IND_EMAIL, S("user\001@example.com"), "email contains a control character"},
	{PROTO_IND_EMAIL, S("mailto:user@example.com"),
	 "email has a 'mailto:' prefix; give the bare address"},
	{PROTO_IND_EMAIL, S("<user@example.com>"),
	 "email is in angle brackets; give the bare address"},
	{PROTO_IND_EMAIL, S("user[at]example.com"), "email is defanged ('[at]'); refang it first"},
	{PROTO_IND_EMAIL, S("user.example.com"), "email has no '@'"},
	{PROTO_IND_EMAIL, S("a@b@example.com"), "email has more than one '@'"},
	{PROTO_IND_EMAIL, S("@example.com"), "email local part is empty"},
	{PROTO_IND_EMAIL, S(A64 "b@example.com"), "email local part longer than 64 characters"},
	{PROTO_IND_EMAIL, S("\303\274ser@example.com"),
	 "email local part contains non-ASCII bytes"},
	{PROTO_IND_EMAIL, S("user@"), "email domain is empty"},
	{PROTO_IND_EMAIL, S("user@[1.2.3.4]"),
	 "email domain is an address literal ('[...]'); not supported"},
	{PROTO_IND_EMAIL, S(A64 "@" L63 "." L63 "." L63 ".com"),
	 "email longer than 254 characters"},
	{PROTO_IND_EMAIL, S("user@localhost"), "domain needs at least two labels"},
	{PROTO_IND_EMAIL, S("user@exam_ple.com"),
	 "domain contains '_' (not allowed in host names)"},
	{PROTO_IND_EMAIL, S("user@b\303\274cher.example"),
	 "non-ASCII domain: convert to IDNA punycode (xn--)"},
	{PROTO_IND_EMAIL, S("user@example..com"), "domain has an empty label ('..')"},
	{PROTO_IND_EMAIL, S("user@-example.com"), "domain label starts with '-'"},
	{PROTO_IND_EMAIL, S("user@example[.]com"), "domain is defanged ('[.]'); refang it first"},
};

static const struct valid_case hash_valid[] = {
	{PROTO_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e"},
	{PROTO_IND_MD5, "0CC175B9C0F1B6A831C399E269772661", "0cc175b9c0f1b6a831c399e269772661"},
	{PROTO_IND_MD5, "900150983Cd24Fb0d6963F7D28e17F72", "900150983cd24fb0d6963f7d28e17f72"},
	{PROTO_IND_MD5, "e541b006b9f601e5f7e6fb90c9d672a9", "e541b006b9f601e5f7e6fb90c9d672a9"},
	{PROTO_IND_MD5, "F96B697D7CB7938D525A2F31AAF161D0", "f96b697d7cb7938d525a2f31aaf161d0"},
	{PROTO_IND_MD5, "c3fCd3d76192e4007DfB496CcA67e13B", "c3fcd3d76192e4007dfb496cca67e13b"},
	{PROTO_IND_MD5, "0a64bcb656ca6609b4b367e243dec230", "0a64bcb656ca6609b4b367e243dec230"},
	{PROTO_IND_MD5, "913DADC99C3C85E8001BB593247D3664", "913dadc99c3c85e8001bb593247d3664"},
	{PROTO_IND_MD5, "cFcD208495d565eF66e7dFf9f98764dA", "cfcd208495d565ef66e7dff9f98764da"},
	{PROTO_IND_MD5, "c4ca4238a0b923820dcc509a6f75849b", "c4ca4238a0b923820dcc509a6f75849b"},
	{PROTO_IND_MD5, "12B7FD17B3277698887DB52F5B3EB398", "12b7fd17b3277698887db52f5b3eb398"},
	{PROTO_IND_MD5, "9051c29972c935649D8Fa4b823e54DeA", "9051c29972c935649d8fa4b823e54dea"},
	{PROTO_IND_MD5, "741bbfe6375f736d064a3e23f004676d", "741bbfe6375f736d064a3e23f004676d"},
	{PROTO_IND_MD5, "41B89D10619CDD3E30FB6C401C17C7D9", "41b89d10619cdd3e30fb6c401c17c7d9"},
	{PROTO_IND_MD5, "321C3Cf486eD509164eDeC1E1981fEc8", "321c3cf486ed509164edec1e1981fec8"},
	{PROTO_IND_MD5, "5e3f1f50c5864b389f2adb0c0530df23", "5e3f1f50c5864b389f2adb0c0530df23"},
	{PROTO_IND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	 "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
	{PROTO_IND_SHA1, "86F7E437FAA5A7FCE15D1DDCB9EAEAEA377667B8",
	 "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"},
	{PROTO_IND_SHA1, "a9993E364706816AbA3E25717850c26C9Cd0d89D",
	 "a9993e364706816aba3e25717850c26c9cd0d89d"},
	{PROTO_IND_SHA1, "be9bf6f85013c47d05d777e80803068bfc2b05cd",
	 "be9bf6f85013c47d05d777e80803068bfc2b05cd"},
	{PROTO_IND_SHA1, "C12252CEDA8BE8994D5FA0290A47231C1D16AAE3",
	 "c12252ceda8be8994d5fa0290a47231c1d16aae3"},
	{PROTO_IND_SHA1, "32d10C7B8Cf96570cA04cE37f2a19D84240D3A89",
	 "32d10c7b8cf96570ca04ce37f2a19d84240d3a89"},
	{PROTO_IND_SHA1, "e1ea6f0518f2e0e4b0b5c0739efe805598cf2516",
	 "e1ea6f0518f2e0e4b0b5c0739efe805598cf2516"},
	{PROTO_IND_SHA1, "E5DAD577749F47821D2E87C2761CB85BF86A0DCA",
	 "e5dad577749f47821d2e87c2761cb85bf86a0dca"},
	{PROTO_IND_SHA1, "b6589Fc6aB0Dc82Cf12099d1c2d40Ab994e8410C",
	 "b6589fc6ab0dc82cf12099d1c2d40ab994e8410c"},
	{PROTO_IND_SHA1, "356a192b7913b04c54574d18c28d46e6395428ab",
	 "356a192b7913b04c54574d18c28d46e6395428ab"},
	{PROTO_IND_SHA1, "C7082C2C50AED674AE99EE4DE60EB89F519117F4",
	 "c7082c2c50aed674ae99ee4de60eb89f519117f4"},
	{PROTO_IND_SHA1, "2Da7b04Fa4f6e94C7C82c1c8eE09eAd16121bC60",
	 "2da7b04fa4f6e94c7c82c1c8ee09ead16121bc60"},
	{PROTO_IND_SHA1, "ca118f05d354d16d50ffe2f421abce38d8bacffc",
	 "ca118f05d354d16d50ffe2f421abce38d8bacffc"},
	{PROTO_IND_SHA1, "C31F77B1E01A1042A7551DB12321D026612748ED",
	 "c31f77b1e01a1042a7551db12321d026612748ed"},
	{PROTO_IND_SHA1, "f07E5A815613c5aBeDdC4B682247a4c42D8A95dF",
	 "f07e5a815613c5abeddc4b682247a4c42d8a95df"},
	{PROTO_IND_SHA1, "6a805b99d7eb2eaca685583b719bdedd08365a62",
	 "6a805b99d7eb2eaca685583b719bdedd08365a62"},
	{PROTO_IND_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{PROTO_IND_SHA256, "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB",
	 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
	{PROTO_IND_SHA256, "bA7816bF8F01cFeA414140dE5DaE2223b00361a396177A9Cb410fF61f20015aD",
	 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{PROTO_IND_SHA256, "9fbdd7f454308ee1ec0d3629d79df78789cbdda31a3c0ce592ea48869e9231a5",
	 "9fbdd7f454308ee1ec0d3629d79df78789cbdda31a3c0ce592ea48869e9231a5"},
	{PROTO_IND_SHA256, "F7846F55CF23E14EEBEAB5B4E1550CAD5B509E3348FBC4EFA3A1413D393CB650",
	 "f7846f55cf23e14eebeab5b4e1550cad5b509e3348fbc4efa3a1413d393cb650"},
	{PROTO_IND_SHA256, "71c480dF93d6aE2F1EfAd1447C66c9525E316218cF51fC8D9Ed832f2dAf18B73",
	 "71c480df93d6ae2f1efad1447c66c9525e316218cf51fc8d9ed832f2daf18b73"},
	{PROTO_IND_SHA256, "29d62f44c5cd2cd4b9e190a8a7a2c0a75ed641e62b5ccda7e441d3741ffb1929",
	 "29d62f44c5cd2cd4b9e190a8a7a2c0a75ed641e62b5ccda7e441d3741ffb1929"},
	{PROTO_IND_SHA256, "983EBEF964951C1E1705C1E084C2BA6FE0024ED1E26F53986EB97F5AD83806CC",
	 "983ebef964951c1e1705c1e084c2ba6fe0024ed1e26f53986eb97f5ad83806cc"},
	{PROTO_IND_SHA256, "5FeCeB66fFc86F38d952786C6D696C79c2dBc239dD4E91b46729d73A27fB57e9",
	 "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9"},
	{PROTO_IND_SHA256, "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
	 "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"},
	{PROTO_IND_SHA256, "C726929CD6784C1E8E0266755A0E6769B99C4019B748DB550170BDC0B2E4F17C",
	 "c726929cd6784c1e8e0266755a0e6769b99c4019b748db550170bdc0b2e4f17c"},
	{PROTO_IND_SHA256, "66eCfC29b6d458538B23310988289158f319e2e1cF7587413011d43A639C6Ec0",
	 "66ecfc29b6d458538b23310988289158f319e2e1cf7587413011d43a639c6ec0"},
	{PROTO_IND_SHA256, "a934d8d273e44f15ccddbcd7180cf99d0fff719acff064f0b080299f9cd83e41",
	 "a934d8d273e44f15ccddbcd7180cf99d0fff719acff064f0b080299f9cd83e41"},
	{PROTO_IND_SHA256, "8A62E967FCD6DFA5D75308C37808B4668A7FAF1CDB06E09AC0A7161827603887",
	 "8a62e967fcd6dfa5d75308c37808b4668a7faf1cdb06e09ac0a7161827603887"},
	{PROTO_IND_SHA256, "239F59eD55e737c77147cF55aD0C1B030B6D7Ee748a7426952f9b852d5a935e5",
	 "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5"},
	{PROTO_IND_SHA256, "5d53ff65fb90dd09772b4a6806bc1b889dc3d6d4b0f1a900ccddb44bc9304cdc",
	 "5d53ff65fb90dd09772b4a6806bc1b889dc3d6d4b0f1a900ccddb44bc9304cdc"},
	{PROTO_IND_SHA512,
	 "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	 "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
	{PROTO_IND_SHA512,
	 "1F40FC92DA241694750979EE6CF582F2D5D7D28E18335DE05ABC54D0560E0F5302860C652BF08D560252AA5E74210546F369FBBBCE8C12CFC7957B2652FE9A75",
	 "1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f5302860c652bf08d560252aa5e74210546f369fbbbce8c12cfc7957b2652fe9a75"},
	{PROTO_IND_SHA512,
	 "dDaF35a193617AbAcC417349aE20413112e6fA4E89a97Ea20A9EeEe64B55d39A2192992A274Fc1a836bA3C23a3fEeBbD454D4423643Ce80E2A9Ac94Fa54Ca49F",
	 "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
	{PROTO_IND_SHA512,
	 "a0f30d4f541e5f7882df915144d90a509b6cf36352e95d5eb51f7b7b27f72e5d65a678954ac1738cdfc5be6d9f55ea4e88a04dadbb03b9a8079f351773c5c850",
	 "a0f30d4f541e5f7882df915144d90a509b6cf36352e95d5eb51f7b7b27f72e5d65a678954ac1738cdfc5be6d9f55ea4e88a04dadbb03b9a8079f351773c5c850"},
	{PROTO_IND_SHA512,
	 "107DBF389D9E9F71A3A95F6C055B9251BC5268C2BE16D6C13492EA45B0199F3309E16455AB1E96118E8A905D5597B72038DDB372A89826046DE66687BB420E7C",
	 "107dbf389d9e9f71a3a95f6c055b9251bc5268c2be16d6c13492ea45b0199f3309e16455ab1e96118e8a905d5597b72038ddb372a89826046de66687bb420e7c"},
	{PROTO_IND_SHA512,
	 "4DbFf86Cc2cA1BaE1E16468A05cB9881c97F1753bCe3619034898FaA1AaBe429955A1Bf8eC483D7421fE3C1646613A59eD5441fB0F321389f77F48a879c7b1f1",
	 "4dbff86cc2ca1bae1e16468a05cb9881c97f1753bce3619034898faa1aabe429955a1bf8ec483d7421fe3c1646613a59ed5441fb0f321389f77f48a879c7b1f1"},
	{PROTO_IND_SHA512,
	 "75e770c01236e61c7611f3141e70a619e35fdc6c47286c7f49d967b0bde2a7cf6019171341178e6948225450533c5457fd7aee3346545feac49f6b70c580a497",
	 "75e770c01236e61c7611f3141e70a619e35fdc6c47286c7f49d967b0bde2a7cf6019171341178e6948225450533c5457fd7aee3346545feac49f6b70c580a497"},
	{PROTO_IND_SHA512,
	 "058434A455C7BF4013DDD8AA04F7B977A6326E485B4E438F4092103FE5070259E8DF520230245540D5466A130C66067993934B4E9126CA295C202C4C6B52DC89",
	 "058434a455c7bf4013ddd8aa04f7b977a6326e485b4e438f4092103fe5070259e8df520230245540d5466a130c66067993934b4e9126ca295c202c4c6b52dc89"},
	{PROTO_IND_SHA512,
	 "31bCa02094eB78126A517B206A88c73CfA9Ec6f704c7030D18212CaCe820f025f00Bf0eA68dBf3f3a5436Ca63B53bF7Bf80Ad8d5dE7D8359d0b7fEd9dBc3aB99",
	 "31bca02094eb78126a517b206a88c73cfa9ec6f704c7030d18212cace820f025f00bf0ea68dbf3f3a5436ca63b53bf7bf80ad8d5de7d8359d0b7fed9dbc3ab99"},
	{PROTO_IND_SHA512,
	 "4dff4ea340f0a823f15d3f4f01ab62eae0e5da579ccb851f8db9dfe84c58b2b37b89903a740e1ee172da793a6e79d560e5f7f9bd058a12a280433ed6fa46510a",
	 "4dff4ea340f0a823f15d3f4f01ab62eae0e5da579ccb851f8db9dfe84c58b2b37b89903a740e1ee172da793a6e79d560e5f7f9bd058a12a280433ed6fa46510a"},
	{PROTO_IND_SHA512,
	 "B1A650505E8A10101EFC278203AC21007222F37A7B7AC1CB83D2D5E9A3FDB962431B6706ED0AF66FBF1303C439B627874E14E4DF67311072D2FE219E199E7743",
	 "b1a650505e8a10101efc278203ac21007222f37a7b7ac1cb83d2d5e9a3fdb962431b6706ed0af66fbf1303c439b627874e14e4df67311072d2fe219e199e7743"},
	{PROTO_IND_SHA512,
	 "951C56c1bAd4cDb721dA736D9F1C04eBbBf32D2737c8eC8C64086A4C5448cB37f95784186C8C67c42B7Bc622bA6358dC8BeFeE750C14bCf5136A6706a19E007B",
	 "951c56c1bad4cdb721da736d9f1c04ebbbf32d2737c8ec8c64086a4c5448cb37f95784186c8c67c42b7bc622ba6358dc8befee750c14bcf5136a6706a19e007b"},
	{PROTO_IND_SHA512,
	 "3a335548236ba83e3cccb696651d3299915b5de7e1a92b49ca5076a9f0837dfc7394dc7d29c25e8d7682df32d75b8e08747ae8bf70440ed21734671ec73eb1b0",
	 "3a335548236ba83e3cccb696651d3299915b5de7e1a92b49ca5076a9f0837dfc7394dc7d29c25e8d7682df32d75b8e08747ae8bf70440ed21734671ec73eb1b0"},
	{PROTO_IND_SHA512,
	 "7FA3E45C3414A8E1ABA885D7D390536A04B2358911F9129DBF58EBE87F283F80074E14F70494D3349B0431D7A7D9D09963E639A76893EC1182BD13A134BC37A1",
	 "7fa3e45c3414a8e1aba885d7d390536a04b2358911f9129dbf58ebe87f283f80074e14f70494d3349b0431d7a7d9d09963e639a76893ec1182bd13a134bc37a1"},
	{PROTO_IND_SHA512,
	 "70b33Ce9c9047E30f917e7eA13e42F7767008C3F4F9C9BaF49e4390Fc625549E9625eEe39B94545074e8a1824Cf3f238463B11bC03d97348e0fC2999cA1FfF7F",
	 "70b33ce9c9047e30f917e7ea13e42f7767008c3f4f9c9baf49e4390fc625549e9625eee39b94545074e8a1824cf3f238463b11bc03d97348e0fc2999ca1fff7f"},
	{PROTO_IND_SHA512,
	 "f7f21ab19e67cd2d3beaf58e975b3ee7fdac9dd1d48311fc007e98bb4a6a9d6b4d137c94a2b32a9ea7de5b16c598459c959f9d11efec3b4b7421583af1788ac5",
	 "f7f21ab19e67cd2d3beaf58e975b3ee7fdac9dd1d48311fc007e98bb4a6a9d6b4d137c94a2b32a9ea7de5b16c598459c959f9d11efec3b4b7421583af1788ac5"},
};

static const struct invalid_case hash_invalid[] = {
	{PROTO_IND_MD5, S(""), "empty value"},
	{PROTO_IND_MD5, S("0x900150983cd24fb0d6963f7d28e17f72"),
	 "hash has a '0x' prefix; give bare hex digits"},
	{PROTO_IND_MD5, S("md5:900150983cd24fb0d6963f7d28e17f72"),
	 "hash has an algorithm prefix (e.g. 'sha256:'); give bare hex digits"},
	{PROTO_IND_MD5, S("900150983cd24fb0 d6963f7d28e17f72"), "hash contains whitespace"},
	{PROTO_IND_MD5, S("900150983cd24fb0\0016963f7d28e17f72"),
	 "hash contains a control character"},
	{PROTO_IND_MD5, S("900150983cd24fb0\303\251963f7d28e17f72"),
	 "hash contains non-ASCII bytes"},
	{PROTO_IND_MD5, S("90:01:50:98:3c:d2:4f:b0:d6:96:3f:7d:28:e1:7f:72"),
	 "hash contains ':' or '-' separators; give bare hex digits"},
	{PROTO_IND_MD5, S("kAFQmDzST7DWlj99KOF/cg=="),
	 "hash looks like base64 ('+', '/' or '='); give hex digits"},
	{PROTO_IND_MD5, S("900150983cd24fb0g6963f7d28e17f72"), "hash contains a non-hex character"},
	{PROTO_IND_MD5, S("900150983cd24fb0d6963f7d28e17f7"),
	 "hash has an odd number of hex digits"},
	{PROTO_IND_MD5, S("900150983cd24fb0d6963f7d28e17f"),
	 "md5 hash too short (need 32 hex digits)"},
	{PROTO_IND_MD5, S("900150983cd24fb0d6963f7d28e17f72ab"),
	 "md5 hash too long (need 32 hex digits)"},
	{PROTO_IND_MD5, S("a9993e364706816aba3e25717850c26c9cd0d89d"),
	 "40 hex digits: a sha1 hash, not the type given"},
	{PROTO_IND_MD5, S("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	 "64 hex digits: a sha256 hash, not the type given"},
	{PROTO_IND_MD5,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "128 hex digits: a sha512 hash, not the type given"},
	{PROTO_IND_SHA1, S(""), "empty value"},
	{PROTO_IND_SHA1, S("0xa9993e364706816aba3e25717850c26c9cd0d89d"),
	 "hash has a '0x' prefix; give bare hex digits"},
	{PROTO_IND_SHA1, S("sha1:a9993e364706816aba3e25717850c26c9cd0d89d"),
	 "hash has an algorithm prefix (e.g. 'sha256:'); give bare hex digits"},
	{PROTO_IND_SHA1, S("a9993e364706816aba3e 25717850c26c9cd0d89d"),
	 "hash contains whitespace"},
	{PROTO_IND_SHA1, S("a9993e364706816aba3e\0015717850c26c9cd0d89d"),
	 "hash contains a control character"},
	{PROTO_IND_SHA1, S("a9993e364706816aba3e\303\251717850c26c9cd0d89d"),
	 "hash contains non-ASCII bytes"},
	{PROTO_IND_SHA1, S("a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d"),
	 "hash contains ':' or '-' separators; give bare hex digits"},
	{PROTO_IND_SHA1, S("qZk+NkcGgWq6PiVxeFDCbJzQ2J0="),
	 "hash looks like base64 ('+', '/' or '='); give hex digits"},
	{PROTO_IND_SHA1, S("a9993e364706816aba3eg5717850c26c9cd0d89d"),
	 "hash contains a non-hex character"},
	{PROTO_IND_SHA1, S("a9993e364706816aba3e25717850c26c9cd0d89"),
	 "hash has an odd number of hex digits"},
	{PROTO_IND_SHA1, S("a9993e364706816aba3e25717850c26c9cd0d8"),
	 "sha1 hash too short (need 40 hex digits)"},
	{PROTO_IND_SHA1, S("a9993e364706816aba3e25717850c26c9cd0d89dab"),
	 "sha1 hash too long (need 40 hex digits)"},
	{PROTO_IND_SHA1, S("900150983cd24fb0d6963f7d28e17f72"),
	 "32 hex digits: an md5 hash, not the type given"},
	{PROTO_IND_SHA1, S("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	 "64 hex digits: a sha256 hash, not the type given"},
	{PROTO_IND_SHA1,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "128 hex digits: a sha512 hash, not the type given"},
	{PROTO_IND_SHA256, S(""), "empty value"},
	{PROTO_IND_SHA256, S("0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	 "hash has a '0x' prefix; give bare hex digits"},
	{PROTO_IND_SHA256,
	 S("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	 "hash has an algorithm prefix (e.g. 'sha256:'); give bare hex digits"},
	{PROTO_IND_SHA256, S("ba7816bf8f01cfea414140de5dae2223 b00361a396177a9cb410ff61f20015ad"),
	 "hash contains whitespace"},
	{PROTO_IND_SHA256, S("ba7816bf8f01cfea414140de5dae2223\00100361a396177a9cb410ff61f20015ad"),
	 "hash contains a control character"},
	{PROTO_IND_SHA256,
	 S("ba7816bf8f01cfea414140de5dae2223\303\2510361a396177a9cb410ff61f20015ad"),
	 "hash contains non-ASCII bytes"},
	{PROTO_IND_SHA256,
	 S("ba:78:16:bf:8f:01:cf:ea:41:41:40:de:5d:ae:22:23:b0:03:61:a3:96:17:7a:9c:b4:10:ff:61:f2:00:15:ad"),
	 "hash contains ':' or '-' separators; give bare hex digits"},
	{PROTO_IND_SHA256, S("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="),
	 "hash looks like base64 ('+', '/' or '='); give hex digits"},
	{PROTO_IND_SHA256, S("ba7816bf8f01cfea414140de5dae2223g00361a396177a9cb410ff61f20015ad"),
	 "hash contains a non-hex character"},
	{PROTO_IND_SHA256, S("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"),
	 "hash has an odd number of hex digits"},
	{PROTO_IND_SHA256, S("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015"),
	 "sha256 hash too short (need 64 hex digits)"},
	{PROTO_IND_SHA256, S("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adab"),
	 "sha256 hash too long (need 64 hex digits)"},
	{PROTO_IND_SHA256, S("900150983cd24fb0d6963f7d28e17f72"),
	 "32 hex digits: an md5 hash, not the type given"},
	{PROTO_IND_SHA256, S("a9993e364706816aba3e25717850c26c9cd0d89d"),
	 "40 hex digits: a sha1 hash, not the type given"},
	{PROTO_IND_SHA256,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "128 hex digits: a sha512 hash, not the type given"},
	{PROTO_IND_SHA512, S(""), "empty value"},
	{PROTO_IND_SHA512,
	 S("0xddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "hash has a '0x' prefix; give bare hex digits"},
	{PROTO_IND_SHA512,
	 S("sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "hash has an algorithm prefix (e.g. 'sha256:'); give bare hex digits"},
	{PROTO_IND_SHA512,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "hash contains whitespace"},
	{PROTO_IND_SHA512,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\001192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "hash contains a control character"},
	{PROTO_IND_SHA512,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\303\25192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "hash contains non-ASCII bytes"},
	{PROTO_IND_SHA512,
	 S("dd:af:35:a1:93:61:7a:ba:cc:41:73:49:ae:20:41:31:12:e6:fa:4e:89:a9:7e:a2:0a:9e:ee:e6:4b:55:d3:9a:21:92:99:2a:27:4f:c1:a8:36:ba:3c:23:a3:fe:eb:bd:45:4d:44:23:64:3c:e8:0e:2a:9a:c9:4f:a5:4c:a4:9f"),
	 "hash contains ':' or '-' separators; give bare hex digits"},
	{PROTO_IND_SHA512,
	 S("3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="),
	 "hash looks like base64 ('+', '/' or '='); give hex digits"},
	{PROTO_IND_SHA512,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39ag192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
	 "hash contains a non-hex character"},
	{PROTO_IND_SHA512,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49"),
	 "hash has an odd number of hex digits"},
	{PROTO_IND_SHA512,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca4"),
	 "sha512 hash too short (need 128 hex digits)"},
	{PROTO_IND_SHA512,
	 S("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49fab"),
	 "sha512 hash too long (need 128 hex digits)"},
	{PROTO_IND_SHA512, S("900150983cd24fb0d6963f7d28e17f72"),
	 "32 hex digits: an md5 hash, not the type given"},
	{PROTO_IND_SHA512, S("a9993e364706816aba3e25717850c26c9cd0d89d"),
	 "40 hex digits: a sha1 hash, not the type given"},
	{PROTO_IND_SHA512, S("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	 "64 hex digits: a sha256 hash, not the type given"},
};

/* Mixed-case and trailing-dot cousins of the tables' reasons, not part of the distinct sets. */
static const struct invalid_case extra_invalid[] = {
	{PROTO_IND_IPV4, S("1.2.3.4."), "IPv4 octet is empty"},
	{PROTO_IND_IPV4, S(".1.2.3.4"), "IPv4 octet is empty"},
	{PROTO_IND_IPV4, S("/24"), "IPv4 octet is empty"},
	{PROTO_IND_IPV4, S("99999999999999999999.1.1.1"), "IPv4 octet out of range"},
	{PROTO_IND_IPV4, S("1.2.3.4\n"), "IPv4 address contains whitespace"},
	{PROTO_IND_IPV4, S("1.2.3.4/1.2"), "IPv4 CIDR prefix is not a number"},
	{PROTO_IND_IPV4, S("1.2.3.4/99999999999999999999"), "IPv4 CIDR prefix longer than 32"},
	{PROTO_IND_IPV4, S("0.0.0.1/0"), "IPv4 CIDR has host bits set"},
	{PROTO_IND_IPV6, S(":::"), "IPv6 address contains ':::'"},
	{PROTO_IND_IPV6, S("1:2:3:4:5:6:7:8::"), "IPv6 address has more than 8 groups"},
	{PROTO_IND_IPV6, S("::1:2:3:4:5:6:7:8"), "IPv6 address has more than 8 groups"},
	{PROTO_IND_IPV6, S("1:2:3:4:5:6:7:1.2.3.4"), "IPv6 address has more than 8 groups"},
	{PROTO_IND_IPV6, S("1:2:3:4:5:1.2.3.4"),
	 "IPv6 address has fewer than 8 groups and no '::'"},
	{PROTO_IND_IPV6, S("::01.2.3.4"), "IPv6 embedded IPv4 part is invalid"},
	{PROTO_IND_IPV6, S("/64"), "not an IPv6 address: no ':' (IPv4 is type ipv4)"},
	{PROTO_IND_IPV6, S("::1/0128"), "IPv6 CIDR prefix has a leading zero"},
	{PROTO_IND_IPV6, S("::1/0"), "IPv6 CIDR has host bits set"},
	{PROTO_IND_IPV6, S("::ffff:1.2.3.5/127"), "IPv6 CIDR has host bits set"},
	{PROTO_IND_DOMAIN, S("."), "domain starts with '.'"},
	{PROTO_IND_DOMAIN, S("example.com.."), "domain has an empty label ('..')"},
	{PROTO_IND_DOMAIN, S("example.com "), "domain contains whitespace"},
	{PROTO_IND_DOMAIN, S("example(.)com"), "domain is defanged ('[.]'); refang it first"},
	{PROTO_IND_DOMAIN, S("example[DOT]com"), "domain is defanged ('[.]'); refang it first"},
	{PROTO_IND_DOMAIN, S("example.123"),
	 "domain top-level label is all digits (an IP address is type ipv4)"},
	{PROTO_IND_DOMAIN, S(D253 ".."), "domain longer than 253 characters"},
	{PROTO_IND_URL, S("http://example.com:0/"), "URL port out of range (1-65535)"},
	/* 2048 bytes, and the canonical empty path "/" would make 2049 */
	{PROTO_IND_URL, S("http://example.com?" A2029), "URL longer than 2048 bytes"},
	{PROTO_IND_URL, S("http://example.com:99999999999999999999/"),
	 "URL port out of range (1-65535)"},
	{PROTO_IND_URL, S("http://user@/"), "URL host is empty"},
	{PROTO_IND_URL, S("http://:80/"), "URL host is empty"},
	{PROTO_IND_URL, S("http://[]/"), "URL host is empty"},
	{PROTO_IND_URL, S("HXXPS://example.com/"), "URL is defanged ('hxxp'); refang it first"},
	{PROTO_IND_URL, S("mailto:user@example.com"), "URL has no scheme ('scheme://')"},
	{PROTO_IND_URL, S("http://1.2.3/"), "IPv4 address has fewer than 4 octets"},
	{PROTO_IND_URL, S("http://[1.2.3.4]/"), "not an IPv6 address: no ':' (IPv4 is type ipv4)"},
	{PROTO_IND_URL, S("http://[::1/64]/"), "URL IPv6 host has no closing ']'"},
	{PROTO_IND_EMAIL, S("user@" D253), "email longer than 254 characters"},
	{PROTO_IND_EMAIL, S("user(at)example.com"), "email is defanged ('[at]'); refang it first"},
	{PROTO_IND_EMAIL, S("MAILTO:user@example.com"),
	 "email has a 'mailto:' prefix; give the bare address"},
	{PROTO_IND_EMAIL, S("user@example.com@"), "email has more than one '@'"},
	{PROTO_IND_EMAIL, S("user@1.2.3.4"),
	 "domain top-level label is all digits (an IP address is type ipv4)"},
	{PROTO_IND_MD5, S("0X900150983cd24fb0d6963f7d28e17f72"),
	 "hash has a '0x' prefix; give bare hex digits"},
	{PROTO_IND_SHA256,
	 S("SHA-256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	 "hash has an algorithm prefix (e.g. 'sha256:'); give bare hex digits"},
	{PROTO_IND_SHA1, S("a9993e36-4706816aba3e25717850c26c9cd0d89d"),
	 "hash contains ':' or '-' separators; give bare hex digits"},
	{PROTO_IND_MD5, S("a"), "hash has an odd number of hex digits"},
	{PROTO_IND_SHA512, S("00"), "sha512 hash too short (need 128 hex digits)"},
};

static const struct family ipv4_family = {"ipv4", ipv4_valid, N(ipv4_valid), ipv4_invalid,
					  N(ipv4_invalid)};
static const struct family ipv6_family = {"ipv6", ipv6_valid, N(ipv6_valid), ipv6_invalid,
					  N(ipv6_invalid)};
static const struct family domain_family = {"domain", domain_valid, N(domain_valid), domain_invalid,
					    N(domain_invalid)};
static const struct family url_family = {"url", url_valid, N(url_valid), url_invalid,
					 N(url_invalid)};
static const struct family email_family = {"email", email_valid, N(email_valid), email_invalid,
					   N(email_invalid)};
static const struct family hash_family = {"hash", hash_valid, N(hash_valid), hash_invalid,
					  N(hash_invalid)};

/*
 * Parse from an exact-size heap copy, so that AddressSanitizer flags any read past @len
 * (inputs need not be NUL-terminated).
 */
static int parse_exact(struct proto_indicator *out, int type, const char *in, size_t len,
		       const char **reason)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, in, len);
	rc = type ? proto_indicator_parse(out, type, copy, len, reason)
		  : proto_indicator_detect(out, copy, len, reason);
	free(copy);
	return rc;
}

static void check_valid(const struct valid_case *c)
{
	struct proto_indicator ind, again, det;
	const char *reason = "unset";
	int rc;

	rc = parse_exact(&ind, c->type, c->in, strlen(c->in), &reason);
	if (rc != 0)
		fail_msg("%s '%s': rc %d, reason %s", proto_indicator_type_name(c->type), c->in, rc,
			 reason);
	assert_null(reason);
	assert_int_equal(ind.type, c->type);
	assert_string_equal(ind.value, c->canon);
	assert_int_equal(ind.len, strlen(c->canon));

	/* A canonical value is a fixed point. */
	assert_int_equal(parse_exact(&again, c->type, ind.value, ind.len, NULL), 0);
	assert_string_equal(again.value, ind.value);

	/* Every canonical value in the tables is what detect() would guess for it. */
	rc = parse_exact(&det, 0, ind.value, ind.len, &reason);
	if (rc != 0 || det.type != c->type)
		fail_msg("detect '%s': rc %d type %d, want type %d", ind.value, rc, det.type,
			 c->type);
	assert_string_equal(det.value, ind.value);
}

static void check_invalid(const struct invalid_case *c)
{
	struct proto_indicator ind;
	const char *reason = NULL;
	int rc;

	/* A previous success must not leak into a failed parse's output. */
	assert_int_equal(proto_indicator_parse(&ind, PROTO_IND_DOMAIN, "stale.example", 13, NULL),
			 0);
	rc = parse_exact(&ind, c->type, c->in, c->len, &reason);
	if (rc != PROTO_E_IND_VALUE)
		fail_msg("%s '%.*s': rc %d (value '%s'), want PROTO_E_IND_VALUE",
			 proto_indicator_type_name(c->type), (int)c->len, c->in, rc, ind.value);
	assert_non_null(reason);
	if (strcmp(reason, c->reason) != 0)
		fail_msg("%s '%.*s': reason \"%s\", want \"%s\"",
			 proto_indicator_type_name(c->type), (int)c->len, c->in, reason, c->reason);
	assert_int_equal(ind.type, 0);
	assert_int_equal(ind.len, 0);
	assert_string_equal(ind.value, "");
	/* NULL @reason is allowed. */
	assert_int_equal(parse_exact(&ind, c->type, c->in, c->len, NULL), PROTO_E_IND_VALUE);
}

static void test_family_valid(void **state)
{
	const struct family *f = *state;
	int t;

	for (size_t i = 0; i < f->nvalid; i++)
		check_valid(&f->valid[i]);
	/* At least 15 valid inputs per type in the family. */
	for (t = PROTO_IND_TYPE_MIN; t <= PROTO_IND_TYPE_MAX; t++) {
		size_t n = 0;

		for (size_t i = 0; i < f->nvalid; i++)
			n += f->valid[i].type == t;
		if (n && n < 15)
			fail_msg("%s: only %zu valid %s cases", f->name, n,
				 proto_indicator_type_name(t));
	}
}

static void test_family_invalid(void **state)
{
	const struct family *f = *state;
	int t;

	for (size_t i = 0; i < f->ninvalid; i++)
		check_invalid(&f->invalid[i]);
	/* At least 15 invalid inputs per type, each with its own reason. */
	for (t = PROTO_IND_TYPE_MIN; t <= PROTO_IND_TYPE_MAX; t++) {
		size_t n = 0;

		for (size_t i = 0; i < f->ninvalid; i++) {
			if (f->invalid[i].type != t)
				continue;
			n++;
			for (size_t j = i + 1; j < f->ninvalid; j++)
				if (f->invalid[j].type == t &&
				    strcmp(f->invalid[i].reason, f->invalid[j].reason) == 0)
					fail_msg("%s: reason \"%s\" used twice", f->name,
						 f->invalid[i].reason);
		}
		if (n && n < 15)
			fail_msg("%s: only %zu invalid %s cases", f->name, n,
				 proto_indicator_type_name(t));
	}
}

static void test_extra_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(extra_invalid); i++)
		check_invalid(&extra_invalid[i]);
}

/*
 * Every prefix of every valid input either parses to a fixed point or fails with a reason:
 * truncated import lines are the most common bad input.
 */
static void test_prefixes(void **state)
{
	const struct family *fams[] = {&ipv4_family, &ipv6_family,  &domain_family,
				       &url_family,  &email_family, &hash_family};
	(void)state;
	for (size_t f = 0; f < N(fams); f++) {
		for (size_t i = 0; i < fams[f]->nvalid; i++) {
			const struct valid_case *c = &fams[f]->valid[i];
			size_t len = strlen(c->in);

			for (size_t k = 0; k <= len; k++) {
				struct proto_indicator ind, again;
				const char *reason = NULL;
				int rc = parse_exact(&ind, c->type, c->in, k, &reason);

				if (rc == 0) {
					assert_int_equal(parse_exact(&again, c->type, ind.value,
								     ind.len, NULL),
							 0);
					assert_string_equal(again.value, ind.value);
				} else {
					assert_int_equal(rc, PROTO_E_IND_VALUE);
					assert_non_null(reason);
				}
			}
		}
	}
}

static void test_unknown_type(void **state)
{
	struct proto_indicator ind;
	const char *reason = NULL;
	const int bad[] = {0, -1, PROTO_IND_TYPE_MAX + 1, 255};

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		reason = NULL;
		assert_int_equal(proto_indicator_parse(&ind, bad[i], "1.2.3.4", 7, &reason),
				 PROTO_E_IND_TYPE);
		assert_non_null(reason);
		assert_int_equal(ind.len, 0);
		assert_int_equal(ind.type, 0);
	}
}

static void test_not_nul_terminated(void **state)
{
	static const char buf[] = "1.2.3.4999EXAMPLE.COMxyz";
	struct proto_indicator ind;

	(void)state;
	assert_int_equal(proto_indicator_parse(&ind, PROTO_IND_IPV4, buf, 7, NULL), 0);
	assert_string_equal(ind.value, "1.2.3.4");
	assert_int_equal(proto_indicator_parse(&ind, PROTO_IND_DOMAIN, buf + 10, 11, NULL), 0);
	assert_string_equal(ind.value, "example.com");
	assert_int_equal(proto_indicator_parse(&ind, PROTO_IND_DOMAIN, NULL, 0, NULL),
			 PROTO_E_IND_VALUE);
}

static void id_hex(char hex[65], const struct proto_indicator *ind)
{
	uint8_t id[32];

	proto_indicator_id(ind, id);
	proto_hex_encode(hex, id, sizeof(id));
}

/*
 * Expected ids from an independent implementation:
 *   /usr/bin/python3 -c "import hashlib; print(hashlib.blake2b(b'chatham/ind/1' + TYPE +
 *       b'\x00' + VALUE, digest_size=32).hexdigest())"
 * Inputs are deliberately non-canonical: the id is of the canonical form.
 */
static void test_id_known_answers(void **state)
{
	static const struct {
		int type;
		const char *in;
		const char *id;
	} cases[] = {
		{PROTO_IND_IPV4, "1.2.3.4/32",
		 "9cd7b89c75a6e13a0e116d46eb2ea4dc95c6a11ab453d958eec11e8603ed9edb"},
		{PROTO_IND_DOMAIN, "EXAMPLE.com.",
		 "af827b92ee8eb0ce7d88f23999f828590f2d1bf61529a5ff1ae4118ac7c60095"},
		{PROTO_IND_IPV6, "2001:0DB8:0:0:0:0:0:1",
		 "11db5846e30d95624340e1de392d16eb4a227a22a1943c7fd15e9226de1444b3"},
		{PROTO_IND_SHA256,
		 "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		 "52e81e7edc1028fb8d81181f02c222cfac59c6ac3eeee6497ec6bb5a8319652e"},
		{PROTO_IND_URL, "HTTP://EXAMPLE.COM/A",
		 "2406dc9bbdcafe4cd65516fd4be8e7b06ebc25afd75276303e92ca3ae815f078"},
	};
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct proto_indicator ind;
		char hex[65];
		uint8_t raw[32], viaind[32];

		assert_int_equal(proto_indicator_parse(&ind, cases[i].type, cases[i].in,
						       strlen(cases[i].in), NULL),
				 0);
		id_hex(hex, &ind);
		assert_string_equal(hex, cases[i].id);
		proto_indicator_id(&ind, viaind);
		proto_indicator_id_raw(ind.type, ind.value, ind.len, raw);
		assert_memory_equal(raw, viaind, 32);
	}
}

static void test_id_separates(void **state)
{
	uint8_t a[32], b[32], zero[32] = {0};

	(void)state;
	/* The type is part of the id: the same bytes under two types are two indicators. */
	proto_indicator_id_raw(PROTO_IND_DOMAIN, "1.2.3.4", 7, a);
	proto_indicator_id_raw(PROTO_IND_IPV4, "1.2.3.4", 7, b);
	assert_memory_not_equal(a, b, 32);
	/* Deterministic, and every value byte counts. */
	proto_indicator_id_raw(PROTO_IND_MD5, "x", 1, a);
	proto_indicator_id_raw(PROTO_IND_MD5, "x", 1, b);
	assert_memory_equal(a, b, 32);
	proto_indicator_id_raw(PROTO_IND_MD5, "xy", 2, b);
	assert_memory_not_equal(a, b, 32);
	/* An unknown type is a programmer error and yields the all-zero id. */
	proto_indicator_id_raw(0, "1.2.3.4", 7, a);
	assert_memory_equal(a, zero, 32);
	proto_indicator_id_raw(PROTO_IND_TYPE_MAX + 1, "1.2.3.4", 7, a);
	assert_memory_equal(a, zero, 32);
}

static void test_type_names(void **state)
{
	static const char *const names[] = {"ipv4", "ipv6", "domain", "url",   "email",
					    "md5",  "sha1", "sha256", "sha512"};
	(void)state;
	assert_int_equal(N(names), PROTO_IND_TYPE_MAX - PROTO_IND_TYPE_MIN + 1);
	for (int t = PROTO_IND_TYPE_MIN; t <= PROTO_IND_TYPE_MAX; t++) {
		const char *name = proto_indicator_type_name(t);
		char upper[16];
		size_t i;

		assert_non_null(name);
		assert_string_equal(name, names[t - PROTO_IND_TYPE_MIN]);
		assert_int_equal(proto_indicator_type_from_name(name), t);
		for (i = 0; name[i] && i < sizeof(upper) - 1; i++)
			upper[i] =
				(char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		upper[i] = '\0';
		assert_int_equal(proto_indicator_type_from_name(upper), t);
	}
	assert_null(proto_indicator_type_name(0));
	assert_null(proto_indicator_type_name(-1));
	assert_null(proto_indicator_type_name(PROTO_IND_TYPE_MAX + 1));
	assert_int_equal(proto_indicator_type_from_name(NULL), -1);
	assert_int_equal(proto_indicator_type_from_name(""), -1);
	assert_int_equal(proto_indicator_type_from_name("ip"), -1);
	assert_int_equal(proto_indicator_type_from_name("ipv4 "), -1);
	assert_int_equal(proto_indicator_type_from_name("sha"), -1);
	assert_int_equal(proto_indicator_type_from_name("sha5120"), -1);
}

/* detect() on lines as they come out of a plain-text feed: type, then canonical or reason. */
static void test_detect(void **state)
{
	static const struct {
		const char *in;
		int type; /* the type detect() chose: on success out->type, else implied by reason */
		const char *want; /* canonical value on success, reason on failure */
		int rc;
	} cases[] = {
		{"1.2.3.4", PROTO_IND_IPV4, "1.2.3.4", 0},
		{"10.0.0.0/8", PROTO_IND_IPV4, "10.0.0.0/8", 0},
		{"192.0.2.7/32", PROTO_IND_IPV4, "192.0.2.7", 0},
		{"2001:DB8::1", PROTO_IND_IPV6, "2001:db8::1", 0},
		{"::1", PROTO_IND_IPV6, "::1", 0},
		{"2001:db8::/32", PROTO_IND_IPV6, "2001:db8::/32", 0},
		{"::ffff:1.2.3.4", PROTO_IND_IPV6, "::ffff:1.2.3.4", 0},
		{"HTTP://Example.COM/Login", PROTO_IND_URL, "http://example.com/Login", 0},
		{"https://user@example.com/", PROTO_IND_URL, "https://example.com/", 0},
		{"User@Example.COM", PROTO_IND_EMAIL, "User@example.com", 0},
		{"D41D8CD98F00B204E9800998ECF8427E", PROTO_IND_MD5,
		 "d41d8cd98f00b204e9800998ecf8427e", 0},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", PROTO_IND_SHA1,
		 "da39a3ee5e6b4b0d3255bfef95601890afd80709", 0},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		 PROTO_IND_SHA256,
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0},
		{"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8"
		 "318d2877eec2f63b931bd47417a81a538327af927da3e",
		 PROTO_IND_SHA512,
		 "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8"
		 "318d2877eec2f63b931bd47417a81a538327af927da3e",
		 0},
		{"Example.COM.", PROTO_IND_DOMAIN, "example.com", 0},
		{"deadbeef.example", PROTO_IND_DOMAIN, "deadbeef.example", 0},
		{"1.2.3.4:80", PROTO_IND_IPV4,
		 "IPv4 address contains ':' (drop the port; IPv6 is type ipv6)", PROTO_E_IND_VALUE},
		{"1.2.3", PROTO_IND_IPV4, "IPv4 address has fewer than 4 octets",
		 PROTO_E_IND_VALUE},
		{"01.2.3.4", PROTO_IND_IPV4, "IPv4 octet has a leading zero (ambiguous octal)",
		 PROTO_E_IND_VALUE},
		{"fe80::1%eth0", PROTO_IND_IPV6,
		 "IPv6 zone id ('%...') not allowed: it names a local interface",
		 PROTO_E_IND_VALUE},
		{"hxxp://example.com/", PROTO_IND_URL, "URL is defanged ('hxxp'); refang it first",
		 PROTO_E_IND_VALUE},
		{"user@localhost", PROTO_IND_EMAIL, "domain needs at least two labels",
		 PROTO_E_IND_VALUE},
		{"example[.]com", PROTO_IND_DOMAIN, "domain is defanged ('[.]'); refang it first",
		 PROTO_E_IND_VALUE},
		{"example.com:443", PROTO_IND_DOMAIN,
		 "domain contains ':' (drop the port; IPv6 is type ipv6)", PROTO_E_IND_VALUE},
		/* 31 hex digits are a mangled hash, not "a domain with too few labels" */
		{"d41d8cd98f00b204e9800998ecf8427", 0,
		 "hex digits of no hash length (md5 32, sha1 40, sha256 64, sha512 128)",
		 PROTO_E_IND_VALUE},
		{"deadbeef", 0,
		 "hex digits of no hash length (md5 32, sha1 40, sha256 64, sha512 128)",
		 PROTO_E_IND_VALUE},
		{"", PROTO_IND_DOMAIN, "empty value", PROTO_E_IND_VALUE},
	};
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct proto_indicator ind;
		const char *reason = NULL;
		int rc = parse_exact(&ind, 0, cases[i].in, strlen(cases[i].in), &reason);

		if (rc != cases[i].rc)
			fail_msg("detect '%s': rc %d (%s), want %d", cases[i].in, rc,
				 reason ? reason : ind.value, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(ind.type, cases[i].type);
			assert_string_equal(ind.value, cases[i].want);
		} else {
			const char *direct = NULL;
			struct proto_indicator d;

			assert_string_equal(reason, cases[i].want);
			if (cases[i].type == 0)
				continue; /* no type fits: detect() names the problem itself */
			/* Same reason as parsing with the type detect() should have chosen. */
			assert_int_equal(proto_indicator_parse(&d, cases[i].type, cases[i].in,
							       strlen(cases[i].in), &direct),
					 PROTO_E_IND_VALUE);
			assert_string_equal(direct, reason);
		}
	}
}

static int setup(void **state)
{
	(void)state;
	return proto_crypto_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_family_valid, (void *)&ipv4_family),
		cmocka_unit_test_prestate(test_family_invalid, (void *)&ipv4_family),
		cmocka_unit_test_prestate(test_family_valid, (void *)&ipv6_family),
		cmocka_unit_test_prestate(test_family_invalid, (void *)&ipv6_family),
		cmocka_unit_test_prestate(test_family_valid, (void *)&domain_family),
		cmocka_unit_test_prestate(test_family_invalid, (void *)&domain_family),
		cmocka_unit_test_prestate(test_family_valid, (void *)&url_family),
		cmocka_unit_test_prestate(test_family_invalid, (void *)&url_family),
		cmocka_unit_test_prestate(test_family_valid, (void *)&email_family),
		cmocka_unit_test_prestate(test_family_invalid, (void *)&email_family),
		cmocka_unit_test_prestate(test_family_valid, (void *)&hash_family),
		cmocka_unit_test_prestate(test_family_invalid, (void *)&hash_family),
		cmocka_unit_test(test_extra_invalid),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_id_known_answers),
		cmocka_unit_test(test_id_separates),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_detect),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

/* SPDX-License-Identifier: MIT */
#include "proto/error.h"

#include <errno.h>
#include <string.h>

const char *proto_error_str(int err)
{
	if (err == 0)
		return "success";
	switch (err) {
#define PROTO_ERROR_TEXT(name, value, text) \
	case value:                         \
		return text;
		PROTO_ERRORS(PROTO_ERROR_TEXT)
#undef PROTO_ERROR_TEXT
	default:
		break;
	}
	/* strerrordesc_np is thread-safe and never formats into a shared buffer. */
	if (err < 0 && err > -1000) {
		const char *s = strerrordesc_np(-err);
		if (s)
			return s;
	}
	return "unknown error";
}

const char *proto_error_name(int err)
{
	if (err == 0)
		return "OK";
	switch (err) {
#define PROTO_ERROR_NAME(name, value, text) \
	case value:                         \
		return #name;
		PROTO_ERRORS(PROTO_ERROR_NAME)
#undef PROTO_ERROR_NAME
	default:
		break;
	}
	if (err < 0 && err > -1000) {
		const char *s = strerrorname_np(-err);
		if (s)
			return s;
	}
	return "EUNKNOWN";
}

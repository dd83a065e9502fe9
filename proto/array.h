/* SPDX-License-Identifier: MIT */
/*
 * Growable arrays: the one doubling rule every layer's dynamic arrays use.
 */
#ifndef CHATHAM_PROTO_ARRAY_H
#define CHATHAM_PROTO_ARRAY_H

#include <stddef.h>

/*
 * proto_array_grow() - make room for @need elements of @elem bytes in *@arr.
 *
 * *@cap is the room *@arr has (0 with a NULL *@arr); it at least doubles, from 16, so that
 * appends cost amortised O(1). Nothing changes when @need <= *@cap.
 *
 * Return: 0, or -ENOMEM (allocation failed or the size overflows size_t); *@arr and *@cap
 * are unchanged on error, so the caller keeps what it had.
 */
int proto_array_grow(void **arr, size_t *cap, size_t need, size_t elem);

#endif

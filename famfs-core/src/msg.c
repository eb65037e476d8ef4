/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file msg.c
 * @brief The library's diagnostic callback.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static famfs_msg_fn msg_fn;
static void *msg_arg;

void famfs_set_msg_fn(famfs_msg_fn fn, void *arg)
{
	msg_arg = arg;
	__atomic_store_n(&msg_fn, fn, __ATOMIC_RELEASE);
}

void famfs_msg(enum famfs_msg_level level, const char *fmt, ...)
{
	famfs_msg_fn fn = __atomic_load_n(&msg_fn, __ATOMIC_ACQUIRE);
	char buf[1024];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fn(level, buf, msg_arg);
}

void famfs_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

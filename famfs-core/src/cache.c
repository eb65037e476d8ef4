/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file cache.c
 * @brief Run-time choice of CLWB / CLFLUSHOPT / CLFLUSH for famfs_cache_*().
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdint.h>

#include "famfs/cache.h"

enum flush_kind { FLUSH_CLFLUSH, FLUSH_CLFLUSHOPT, FLUSH_CLWB };

static enum flush_kind wb_kind = FLUSH_CLFLUSH;	 /* write back */
static enum flush_kind inv_kind = FLUSH_CLFLUSH; /* invalidate */
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_detect(void)
{
	unsigned int a, b, c, d;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		if (b & (1u << 23)) /* CLFLUSHOPT */
			inv_kind = wb_kind = FLUSH_CLFLUSHOPT;
		if (b & (1u << 24)) /* CLWB */
			wb_kind = FLUSH_CLWB;
	}
}

static inline void line_op(enum flush_kind k, const char *p)
{
	switch (k) {
	case FLUSH_CLWB:
		__asm__ volatile("clwb %0" : "+m"(*(volatile char *)p));
		break;
	case FLUSH_CLFLUSHOPT:
		__asm__ volatile("clflushopt %0" : "+m"(*(volatile char *)p));
		break;
	default:
		__asm__ volatile("clflush %0" : "+m"(*(volatile char *)p));
		break;
	}
}

static void range_op(enum flush_kind k, const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(FAMFS_CACHELINE - 1);
	uintptr_t end = (uintptr_t)addr + len;

	if (!len)
		return;
	for (; p < end; p += FAMFS_CACHELINE)
		line_op(k, (const char *)p);
	__asm__ volatile("sfence" ::: "memory");
}

void famfs_cache_flush(const void *addr, size_t len)
{
	pthread_once(&cache_once, cache_detect);
	range_op(wb_kind, addr, len);
}

void famfs_cache_invalidate(const void *addr, size_t len)
{
	pthread_once(&cache_once, cache_detect);
	__asm__ volatile("sfence" ::: "memory");
	range_op(inv_kind, addr, len);
}

const char *famfs_cache_flush_method(void)
{
	pthread_once(&cache_once, cache_detect);
	switch (wb_kind) {
	case FLUSH_CLWB:
		return "clwb";
	case FLUSH_CLFLUSHOPT:
		return "clflushopt";
	default:
		return "clflush";
	}
}

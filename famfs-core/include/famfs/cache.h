/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file cache.h
 * @brief CPU cache write-back and invalidation for shared memory that is not coherent.
 *
 * Owns: the choice of instruction, made once at first use from CPUID (CLWB, else
 * CLFLUSHOPT, else CLFLUSH; invalidation never uses CLWB because CLWB may keep the line).
 * Every primitive ends with SFENCE. Thread-safe; no state beyond the one-time choice.
 */
#ifndef FAMFS_CACHE_H
#define FAMFS_CACHE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAMFS_CACHELINE 64

/** Write back every cache line of [addr, addr+len) to memory, then fence. */
void famfs_cache_flush(const void *addr, size_t len);
/** Evict every cache line of [addr, addr+len) so the next load reads memory, then fence. */
void famfs_cache_invalidate(const void *addr, size_t len);
/** Name of the write-back instruction in use: "clwb", "clflushopt" or "clflush". */
const char *famfs_cache_flush_method(void);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_CACHE_H */

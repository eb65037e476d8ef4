/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file guard.h
 * @brief Copies to and from device memory that survive a memory error (SIGBUS).
 *
 * A load or store to a device mapping can raise SIGBUS: poisoned memory on a CXL or devdax
 * device, or (tests) a backing file shrunk under the mapping. A guarded copy runs under a
 * per-thread guard; the process-wide SIGBUS handler jumps back to it and the copy answers
 * -EIO with the faulting address. A SIGBUS outside a guard goes to the handler that was
 * there before.
 * Owns: the SIGBUS disposition of the process (installed at the first guarded copy).
 * Locking: none; the guard is per thread.
 */
#ifndef FAMFS_GUARD_H
#define FAMFS_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Copy @p n bytes from @p src to @p dst (evicting @p src from the CPU cache first when
 * @p inval), or zero @p dst when @p src is NULL.
 * @return 0 or -EIO, with the faulting address in *@p fault.
 */
int famfs_guarded_copy(void *dst, const void *src, size_t n, void **fault, bool inval);

/**
 * (Re)install the SIGBUS handler behind the guard. The first guarded copy does it; call it
 * again if the program changed the SIGBUS disposition afterwards.
 */
void famfs_io_guard_install(void);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_GUARD_H */

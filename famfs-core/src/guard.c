/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file guard.c
 * @brief Guarded copies to and from device memory (see famfs/guard.h).
 *
 * The handler knows it owns a SIGBUS when the thread that took it is inside a guard; the
 * file that was hit is the caller's business (famfs-core marks it, the direct library
 * answers -EIO).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "famfs/cache.h"
#include "famfs/guard.h"

static __thread sigjmp_buf *guard_jb;
static __thread volatile sig_atomic_t in_guard;
static __thread void *guard_addr;
static struct sigaction old_bus;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	if (in_guard) {
		in_guard = 0;
		guard_addr = si->si_addr;
		siglongjmp(*guard_jb, 1);
	}
	/* Not ours: restore the previous disposition and let the signal happen again. */
	sigaction(SIGBUS, &old_bus, NULL);
	if (old_bus.sa_flags & SA_SIGINFO) {
		if (old_bus.sa_sigaction)
			old_bus.sa_sigaction(sig, si, uc);
	} else if (old_bus.sa_handler != SIG_IGN && old_bus.sa_handler != SIG_DFL) {
		old_bus.sa_handler(sig);
	}
}

void famfs_io_guard_install(void)
{
	struct sigaction sa, prev;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &prev);
	if (!((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == on_sigbus))
		old_bus = prev; /* chain to whatever was there, never to ourselves */
}

/*
 * Copy @n bytes (evicting @src from the cache first when @inval), or zero @dst when @src
 * is NULL, surviving a memory error; 0 or -EIO with the faulting address in *@fault.
 */
int famfs_guarded_copy(void *dst, const void *src, size_t n, void **fault, bool inval)
{
	sigjmp_buf jb;

	pthread_once(&guard_once, famfs_io_guard_install);
	guard_jb = &jb;
	if (sigsetjmp(jb, 0)) { /* SA_NODEFER: no mask to restore */
		*fault = guard_addr;
		return -EIO;
	}
	in_guard = 1;
	if (!src)
		memset(dst, 0, n);
	else if (inval)
		famfs_cache_invalidate(src, n);
	if (src)
		memcpy(dst, src, n);
	in_guard = 0;
	return 0;
}

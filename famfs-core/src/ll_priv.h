/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file ll_priv.h
 * @brief The insides of struct famfs_ll, shared by ll.c (set-up, pins, reads, I/O, the
 *        follower) and ll_change.c (permissions and changes). Not installed.
 *
 * Locking: see famfs/ll.h. The helpers below that return inode pointers are called
 * with the namespace read lock, or the appender lock, held.
 */
#ifndef FAMFS_LL_PRIV_H
#define FAMFS_LL_PRIV_H

#include <pthread.h>

#include "famfs/ll.h"

#define LL_PIN_BUCKETS 1024

/** An inode held open; the pointer is the one famfs_fs_pin() was given. */
struct ll_pin {
	uint64_t ino;
	struct famfs_inode *inode;
	uint32_t count;
	struct ll_pin *next;
};

struct famfs_ll {
	struct famfs_fs *fs;
	bool readonly;
	unsigned int lock_ms;	/* how long a change waits for the appender lock */
	unsigned int commit_ms; /* deferred commit: log within this; 0 logs at once */
	bool defer_attrs;	/* attribute changes wait for the commit too (FUSE) */

	pthread_mutex_t pin_lock; /* serialises pin, unpin and repin (see the lock order) */
	uint64_t pin_gen;	  /* log generation the pin table's pointers belong to */
	pthread_mutex_t lock;	  /* the pin table and changes (a leaf lock) */
	struct ll_pin *pins[LL_PIN_BUCKETS];
	struct famfs_ll_change *changes;
	size_t nchanges, capchanges;
	bool reset;

	pthread_mutex_t flw_lock; /* the follower's stop flag */
	pthread_cond_t flw_cond;
	pthread_t flw_thread;
	bool flw_running, flw_stop;
	unsigned int interval_ms;
	famfs_ll_change_fn fn;
	void *fn_arg;
};

/* ll.c */
struct famfs_inode *ll_inode(struct famfs_ll *ll, uint64_t ino);
int ll_dir(struct famfs_ll *ll, uint64_t ino, struct famfs_inode **out);
void ll_fill(struct famfs_ll *ll, const struct famfs_inode *i, struct famfs_attr *a);
void ll_repin(struct famfs_ll *ll);

/* ll_change.c */
int ll_begin(struct famfs_ll *ll);
uint64_t ll_now_ns(void); /* wall clock, ns */
int ll_permit_inode(const struct famfs_cred *cr, const struct famfs_inode *i, int mask);

#endif /* FAMFS_LL_PRIV_H */

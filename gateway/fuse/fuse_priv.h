/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fuse_priv.h
 * @brief The FUSE daemon's insides shared by fuse_fs.c (the operations and the session)
 *        and nodes.c (the table of inodes the kernel knows, and turning the shared
 *        layer's change reports into kernel invalidations). Not installed.
 *
 * Locking: fm_data.lock protects the node table only; it is never held while calling
 * famfs-core or sending a notification to the kernel.
 */
#ifndef FAMFS_GW_FUSE_PRIV_H
#define FAMFS_GW_FUSE_PRIV_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "famfs/ll.h"
#include "fuse_fs.h"

/** An inode the kernel knows. All fields are protected by fm_data.lock. */
struct fm_node {
	uint64_t ino;
	uint64_t nlookup;	      /* lookups not yet forgotten */
	uint64_t parent;	      /* directory of the last lookup */
	uint64_t map_sig;	      /* the size and map the kernel was told of */
	char name[FAMFS_NAME_MAX + 1]; /* name of the last lookup */
	struct fm_node *next;	      /* hash chain */
};

struct fm_data {
	struct famfs_ll *ll;
	struct fuse_session *se;
	const struct fm_opts *opts;

	pthread_mutex_t lock; /* the node table */
	struct fm_node **nodes;
	size_t nbuckets;
	size_t nnodes;

	bool ra_pending;   /* set the read-ahead at the first request */
	uint64_t notified; /* notifications sent (statistics) */
};

/* nodes.c */
struct fm_node *fm_node_find(struct fm_data *fm, uint64_t ino);
int fm_node_ref(struct fm_data *fm, const struct famfs_attr *a, uint64_t parent, const char *name);
void fm_node_forget(struct fm_data *fm, uint64_t ino, uint64_t count);
void fm_nodes_free(struct fm_data *fm);
void fm_changed(void *arg, const struct famfs_ll_change *c, size_t nc, bool reset);

#endif /* FAMFS_GW_FUSE_PRIV_H */

// SPDX-License-Identifier: Apache-2.0
/**
 * @file nodes.c
 * @brief The FUSE daemon's table of inodes the kernel knows (lookup counts, the name of
 *        the last lookup, the map signature it was told of) and the kernel invalidations
 *        that the shared layer's change reports turn into (see fuse_priv.h).
 */
#include "fuse_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the node table */

static size_t fm_hash(const struct fm_data *fm, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 20) & (fm->nbuckets - 1);
}

/* The node of @ino, or NULL; the caller holds fm->lock. */
struct fm_node *fm_node_find(struct fm_data *fm, uint64_t ino)
{
	struct fm_node *n;

	for (n = fm->nodes[fm_hash(fm, ino)]; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void fm_node_grow(struct fm_data *fm)
{
	size_t nb = fm->nbuckets * 2, k;
	struct fm_node **b = calloc(nb, sizeof(*b)), *n, *next;
	struct fm_node **old = fm->nodes;
	size_t oldn = fm->nbuckets;

	if (!b)
		return; /* longer chains, still correct */
	fm->nodes = b;
	fm->nbuckets = nb;
	for (k = 0; k < oldn; k++) {
		for (n = old[k]; n; n = next) {
			next = n->next;
			n->next = b[fm_hash(fm, n->ino)];
			b[fm_hash(fm, n->ino)] = n;
		}
	}
	free(old);
}

/** Count one lookup of @p a (found as @p name in @p parent). @return 0 or -ENOMEM. */
int fm_node_ref(struct fm_data *fm, const struct famfs_attr *a, uint64_t parent, const char *name)
{
	struct fm_node *n;
	int rc = 0;

	pthread_mutex_lock(&fm->lock);
	n = fm_node_find(fm, a->ino);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		n->ino = a->ino;
		n->map_sig = a->map_sig;
		if (fm->nnodes >= fm->nbuckets * 2)
			fm_node_grow(fm);
		n->next = fm->nodes[fm_hash(fm, n->ino)];
		fm->nodes[fm_hash(fm, n->ino)] = n;
		fm->nnodes++;
	}
	n->nlookup++;
	n->parent = parent;
	snprintf(n->name, sizeof(n->name), "%s", name);
out:
	pthread_mutex_unlock(&fm->lock);
	return rc;
}

/* Drop @count lookups of @ino; the node goes with the last. */
void fm_node_forget(struct fm_data *fm, uint64_t ino, uint64_t count)
{
	struct fm_node **pp, *n;

	pthread_mutex_lock(&fm->lock);
	for (pp = &fm->nodes[fm_hash(fm, ino)]; (n = *pp); pp = &n->next) {
		if (n->ino != ino)
			continue;
		n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
		if (n->nlookup == 0 && ino != FAMFS_ROOT_INO) {
			*pp = n->next;
			free(n);
			fm->nnodes--;
		}
		break;
	}
	pthread_mutex_unlock(&fm->lock);
}

void fm_nodes_free(struct fm_data *fm)
{
	for (size_t b = 0; fm->nodes && b < fm->nbuckets; b++) {
		struct fm_node *n, *next;

		for (n = fm->nodes[b]; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(fm->nodes);
	fm->nodes = NULL;
}

/* ------------------------------------------------------------------ log changes */

/** One notification: an inode (attributes, pages), or with a name the dentry to drop. */
struct fm_inval {
	uint64_t ino;
	uint64_t parent;
	char name[FAMFS_NAME_MAX + 1];
};

/*
 * The notifications for a batch of changes (under fm->lock: the names the kernel knows
 * come from the node table). A reset invalidates every known inode and name.
 */
static size_t fm_collect(struct fm_data *fm, const struct famfs_ll_change *c, size_t nc, bool reset,
			 struct fm_inval **out)
{
	struct fm_inval *v;
	struct fm_node *n;
	size_t cap, k = 0;

	pthread_mutex_lock(&fm->lock);
	cap = reset ? 2 * fm->nnodes + 1 : 2 * nc + 1;
	v = calloc(cap, sizeof(*v));
	if (v && reset) {
		for (size_t b = 0; b < fm->nbuckets; b++) {
			for (n = fm->nodes[b]; n && k + 2 <= cap; n = n->next) {
				v[k++].ino = n->ino;
				if (n->ino == FAMFS_ROOT_INO)
					continue;
				v[k].parent = n->parent;
				memcpy(v[k].name, n->name, sizeof(n->name));
				k++;
			}
		}
	}
	for (size_t j = 0; v && !reset && j < nc; j++) {
		if (!k || v[k - 1].ino != c[j].ino || v[k - 1].name[0])
			v[k++].ino = c[j].ino;
		if ((c[j].what & FAMFS_CHANGE_REMOVED) && (n = fm_node_find(fm, c[j].ino)) &&
		    n->parent == c[j].parent) {
			v[k].parent = c[j].parent;
			memcpy(v[k].name, n->name, sizeof(n->name));
			k++;
		}
	}
	pthread_mutex_unlock(&fm->lock);
	*out = v;
	return v ? k : 0;
}

/* The shared layer's follower reports a batch: tell the kernel (no lock held). */
void fm_changed(void *arg, const struct famfs_ll_change *c, size_t nc, bool reset)
{
	struct fm_data *fm = arg;
	struct fm_inval *v;
	size_t n = fm_collect(fm, c, nc, reset, &v);
	int rc;

	for (size_t k = 0; k < n; k++) {
		if (v[k].name[0])
			rc = fuse_lowlevel_notify_inval_entry(fm->se, v[k].parent, v[k].name,
							      strlen(v[k].name));
		else
			rc = fuse_lowlevel_notify_inval_inode(fm->se, v[k].ino, 0, 0);
		/* -ENOENT: the kernel does not hold it; nothing to drop. */
		if (rc && rc != -ENOENT)
			fm->opts->log(FAMFS_MSG_DEBUG, "invalidate inode %llu: %s",
				      (unsigned long long)v[k].ino, strerror(-rc));
		fm->notified++;
	}
	free(v);
}

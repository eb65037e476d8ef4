/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file ns.c
 * @brief Namespace tree with inode-number and (parent, name) indexes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/ns.h"

static uint64_t name_hash(uint64_t parent, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ (parent * 0x9e3779b97f4a7c15ULL);

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t ino_hash(uint64_t ino)
{
	return ino * 0x9e3779b97f4a7c15ULL >> 17;
}

static void ino_insert(struct famfs_ns *ns, struct famfs_inode *n)
{
	size_t h = ino_hash(n->ino) & (ns->by_ino_cap - 1);

	n->ino_next = ns->by_ino[h];
	ns->by_ino[h] = n;
}

int famfs_ns_init(struct famfs_ns *ns)
{
	memset(ns, 0, sizeof(*ns));
	ns->nbuckets = 1024;
	ns->buckets = calloc(ns->nbuckets, sizeof(*ns->buckets));
	ns->by_ino_cap = 1024;
	ns->by_ino = calloc(ns->by_ino_cap, sizeof(*ns->by_ino));
	ns->root = calloc(1, sizeof(*ns->root));
	if (!ns->buckets || !ns->by_ino || !ns->root) {
		famfs_ns_fini(ns);
		return -ENOMEM;
	}
	ns->root->ino = FAMFS_ROOT_INO;
	ns->root->log_index = UINT64_MAX;
	ns->root->mode = S_IFDIR | 0755;
	ns->root->removed_at = UINT64_MAX;
	ns->root->upstream = true;
	ino_insert(ns, ns->root);
	ns->count = 1;
	return 0;
}

static void inode_free(struct famfs_inode *n)
{
	free(n->target);
	free(n);
}

void famfs_ns_fini(struct famfs_ns *ns)
{
	struct famfs_inode *n, *next;

	if (ns->by_ino) {
		for (size_t i = 0; i < ns->by_ino_cap; i++) {
			for (n = ns->by_ino[i]; n; n = next) {
				next = n->ino_next;
				inode_free(n);
			}
		}
	} else {
		free(ns->root);
	}
	for (n = ns->graveyard; n; n = next) {
		next = n->ino_next;
		inode_free(n);
	}
	free(ns->by_ino);
	free(ns->buckets);
	memset(ns, 0, sizeof(*ns));
}

void famfs_ns_reap(struct famfs_ns *ns)
{
	struct famfs_inode **pp = &ns->graveyard, *n;

	while ((n = *pp)) {
		if (n->pins) {
			pp = &n->ino_next;
			continue;
		}
		*pp = n->ino_next;
		inode_free(n);
	}
}

bool famfs_ns_pinned(const struct famfs_ns *ns)
{
	const struct famfs_inode *n;

	for (n = ns->graveyard; n; n = n->ino_next)
		if (n->pins)
			return true;
	for (size_t b = 0; ns->by_ino && b < ns->by_ino_cap; b++)
		for (n = ns->by_ino[b]; n; n = n->ino_next)
			if (n->pins)
				return true;
	return false;
}

struct famfs_inode *famfs_ns_lookup(const struct famfs_ns *ns, const struct famfs_inode *dir,
				    const char *name, size_t len)
{
	struct famfs_inode *i;

	if (!S_ISDIR(dir->mode) || len > FAMFS_NAME_MAX)
		return NULL;
	i = ns->buckets[name_hash(dir->ino, name, len) & (ns->nbuckets - 1)];
	for (; i; i = i->hash_next) {
		if (i->parent == dir && i->namelen == len && !memcmp(i->name, name, len))
			return i;
	}
	return NULL;
}

struct famfs_inode *famfs_ns_get(const struct famfs_ns *ns, uint64_t ino)
{
	struct famfs_inode *i = ns->by_ino[ino_hash(ino) & (ns->by_ino_cap - 1)];

	for (; i; i = i->ino_next) {
		if (i->ino == ino)
			return i;
	}
	return NULL;
}

int famfs_ns_get_dir(const struct famfs_ns *ns, uint64_t ino, struct famfs_inode **out)
{
	struct famfs_inode *d = famfs_ns_get(ns, ino);

	if (!d)
		return -ENOENT;
	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	*out = d;
	return 0;
}

int famfs_ns_resolve(const struct famfs_ns *ns, const char *path, struct famfs_inode **out)
{
	struct famfs_inode *cur = ns->root;
	const char *c = path;

	while (*c) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (!S_ISDIR(cur->mode))
			return -ENOTDIR;
		if (n) {
			cur = famfs_ns_lookup(ns, cur, c, n);
			if (!cur)
				return -ENOENT;
		}
		if (!e)
			break;
		c = e + 1;
	}
	*out = cur;
	return 0;
}

static int grow_buckets(struct famfs_ns *ns)
{
	size_t nb = ns->nbuckets * 2;
	struct famfs_inode **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < ns->nbuckets; i++) {
		struct famfs_inode *n, *next;

		for (n = ns->buckets[i]; n; n = next) {
			size_t h = name_hash(n->parent->ino, n->name, n->namelen) & (nb - 1);

			next = n->hash_next;
			n->hash_next = b[h];
			b[h] = n;
		}
	}
	free(ns->buckets);
	ns->buckets = b;
	ns->nbuckets = nb;
	return 0;
}

static int grow_ino(struct famfs_ns *ns)
{
	size_t cap = ns->by_ino_cap * 2;
	struct famfs_inode **p = calloc(cap, sizeof(*p));

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < ns->by_ino_cap; i++) {
		struct famfs_inode *n, *next;

		for (n = ns->by_ino[i]; n; n = next) {
			size_t h = ino_hash(n->ino) & (cap - 1);

			next = n->ino_next;
			n->ino_next = p[h];
			p[h] = n;
		}
	}
	free(ns->by_ino);
	ns->by_ino = p;
	ns->by_ino_cap = cap;
	return 0;
}

static void name_insert(struct famfs_ns *ns, struct famfs_inode *n)
{
	size_t h = name_hash(n->parent->ino, n->name, n->namelen) & (ns->nbuckets - 1);

	n->hash_next = ns->buckets[h];
	ns->buckets[h] = n;
}

static void name_remove(struct famfs_ns *ns, struct famfs_inode *n)
{
	struct famfs_inode **pp =
	    &ns->buckets[name_hash(n->parent->ino, n->name, n->namelen) & (ns->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hash_next) {
		if (*pp == n) {
			*pp = n->hash_next;
			n->hash_next = NULL;
			return;
		}
	}
}

static void child_link(struct famfs_inode *dir, struct famfs_inode *n)
{
	n->parent = dir;
	n->next_sibling = NULL;
	n->prev_sibling = dir->child_tail;
	if (dir->child_tail)
		dir->child_tail->next_sibling = n;
	else
		dir->child_head = n;
	dir->child_tail = n;
	dir->nchildren++;
}

static void child_unlink(struct famfs_inode *n)
{
	struct famfs_inode *dir = n->parent;

	if (n->prev_sibling)
		n->prev_sibling->next_sibling = n->next_sibling;
	else
		dir->child_head = n->next_sibling;
	if (n->next_sibling)
		n->next_sibling->prev_sibling = n->prev_sibling;
	else
		dir->child_tail = n->prev_sibling;
	dir->nchildren--;
	n->next_sibling = n->prev_sibling = NULL;
}

int famfs_ns_add(struct famfs_ns *ns, struct famfs_inode *dir, const char *name,
		 const struct famfs_inode *tmpl, struct famfs_inode **out)
{
	size_t len = strlen(name);
	uint64_t ino = tmpl->ino ? tmpl->ino : FAMFS_INO_OF_INDEX(tmpl->log_index);
	struct famfs_inode *n;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (len == 0 || len > FAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (famfs_ns_lookup(ns, dir, name, len))
		return -EEXIST;
	if (famfs_ns_get(ns, ino))
		return -EEXIST;
	if (ns->count >= ns->nbuckets && grow_buckets(ns))
		return -ENOMEM;
	if (ns->count >= ns->by_ino_cap && grow_ino(ns))
		return -ENOMEM;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->ino = ino;
	n->log_index = tmpl->log_index;
	n->mode = tmpl->mode;
	n->uid = tmpl->uid;
	n->gid = tmpl->gid;
	n->size = tmpl->size;
	n->flags = tmpl->flags;
	n->fmap = tmpl->fmap;
	n->mtime_ns = tmpl->mtime_ns;
	n->ctime_ns = tmpl->ctime_ns;
	n->atime_ns = tmpl->atime_ns;
	n->rdev = tmpl->rdev;
	if (tmpl->target && !(n->target = strdup(tmpl->target))) {
		free(n);
		return -ENOMEM;
	}
	n->removed_at = UINT64_MAX;
	n->upstream = tmpl->upstream;
	n->link_of = tmpl->link_of;
	if (n->link_of)
		n->link_of->nlinks++;
	n->namelen = (uint16_t)len;
	memcpy(n->name, name, len + 1);
	child_link(dir, n);
	name_insert(ns, n);
	ino_insert(ns, n);
	ns->count++;
	if (out)
		*out = n;
	return 0;
}

int famfs_ns_unname(struct famfs_ns *ns, struct famfs_inode *ino)
{
	if (!ino->parent || !ino->nlinks || ino->link_of || S_ISDIR(ino->mode))
		return -EINVAL;
	name_remove(ns, ino);
	child_unlink(ino);
	ino->parent = NULL;
	ino->nameless = true;
	return 0;
}

int famfs_ns_unlink(struct famfs_ns *ns, struct famfs_inode *ino, uint64_t removed_at)
{
	struct famfs_inode **pp;

	if (!ino->parent && !ino->nameless)
		return -EINVAL;
	if (S_ISDIR(ino->mode) && ino->nchildren)
		return -ENOTEMPTY;
	if (ino->parent) {
		name_remove(ns, ino);
		child_unlink(ino);
	}
	ino->nameless = false;
	if (ino->link_of && ino->link_of->nlinks)
		ino->link_of->nlinks--;
	pp = &ns->by_ino[ino_hash(ino->ino) & (ns->by_ino_cap - 1)];
	for (; *pp; pp = &(*pp)->ino_next) {
		if (*pp == ino) {
			*pp = ino->ino_next;
			break;
		}
	}
	ino->parent = NULL;
	ino->removed_at = removed_at;
	ino->ino_next = ns->graveyard;
	ns->graveyard = ino;
	ns->count--;
	return 0;
}

int famfs_ns_move(struct famfs_ns *ns, struct famfs_inode *ino, struct famfs_inode *dir,
		  const char *name)
{
	size_t len = strlen(name);

	if (!ino->parent)
		return -EINVAL;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (len == 0 || len > FAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	for (const struct famfs_inode *a = dir; a; a = a->parent) {
		if (a == ino)
			return -EINVAL; /* a directory into itself or below */
	}
	if (famfs_ns_lookup(ns, dir, name, len))
		return -EEXIST;
	name_remove(ns, ino);
	child_unlink(ino);
	ino->namelen = (uint16_t)len;
	memcpy(ino->name, name, len + 1);
	child_link(dir, ino);
	name_insert(ns, ino);
	return 0;
}

int famfs_ns_path(const struct famfs_inode *ino, char *buf, size_t len)
{
	const struct famfs_inode *chain[FAMFS_PATH_MAX / 2 + 1]; /* "a/b/..." */
	size_t depth = 0, pos = 0;

	if (ino && ino->nameless)
		return -ENOENT; /* only link names name it */
	for (; ino && ino->parent; ino = ino->parent) {
		if (depth == FAMFS_PATH_MAX / 2 + 1)
			return -ENAMETOOLONG;
		chain[depth++] = ino;
	}
	if (len == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	while (depth--) {
		const struct famfs_inode *c = chain[depth];

		if (pos + (pos ? 1 : 0) + c->namelen + 1 > len)
			return -ENAMETOOLONG;
		if (pos)
			buf[pos++] = '/';
		memcpy(buf + pos, c->name, c->namelen);
		pos += c->namelen;
		buf[pos] = '\0';
	}
	return 0;
}

// SPDX-License-Identifier: Apache-2.0
/**
 * @file ll.c
 * @brief The by-inode file-system API shared by the NFS FSAL and the FUSE daemon: set-up,
 *        pins, reads, I/O and the log follower (changes: ll_change.c)
 *        (see famfs/ll.h for what it owns, its invariants and the lock order).
 *
 * Built only on the public famfs_fs calls: namespace reads under famfs_fs_rdlock(),
 * changes under famfs_fs_lock() with the mutators of fs.h.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "famfs/dev.h"
#include "famfs/direct.h"
#include "famfs/io.h"
#include "famfs/ll.h"
#include "famfs/msg.h"
#include "famfs/omf_ext.h"
#include "famfs/path.h"
#include "internal.h"
#include "ll_priv.h"

/** More changes than this between two follow steps: report a reset instead. */
#define LL_MAX_CHANGES 16384

/* ------------------------------------------------------------------ set-up */

int famfs_ll_new(struct famfs_fs *fs, bool readonly, struct famfs_ll **out)
{
	struct famfs_ll *ll = calloc(1, sizeof(*ll));

	if (!ll)
		return -ENOMEM;
	ll->fs = fs;
	ll->readonly = readonly || famfs_fs_role(fs) != FAMFS_ROLE_MASTER;
	ll->lock_ms = FAMFS_LL_LOCK_MS;
	ll->pin_gen = famfs_fs_generation(fs);
	pthread_mutex_init(&ll->pin_lock, NULL);
	pthread_mutex_init(&ll->lock, NULL);
	pthread_mutex_init(&ll->flw_lock, NULL);
	pthread_cond_init(&ll->flw_cond, NULL);
	*out = ll;
	return 0;
}

void famfs_ll_free(struct famfs_ll *ll)
{
	if (!ll)
		return;
	famfs_ll_follow_stop(ll);
	if (!ll->readonly && famfs_fs_commit_older(ll->fs, UINT64_MAX))
		famfs_err("changes not logged yet could not be committed at close");
	for (size_t b = 0; b < LL_PIN_BUCKETS; b++) {
		struct ll_pin *p, *next;

		for (p = ll->pins[b]; p; p = next) {
			next = p->next;
			while (p->count--)
				famfs_fs_unpin(ll->fs, p->inode);
			free(p);
		}
	}
	free(ll->changes);
	pthread_cond_destroy(&ll->flw_cond);
	pthread_mutex_destroy(&ll->flw_lock);
	pthread_mutex_destroy(&ll->lock);
	pthread_mutex_destroy(&ll->pin_lock);
	free(ll);
}

void famfs_ll_set_lock_wait(struct famfs_ll *ll, unsigned int ms)
{
	ll->lock_ms = ms;
}

void famfs_ll_set_commit(struct famfs_ll *ll, unsigned int commit_ms, bool defer_attrs)
{
	ll->commit_ms = commit_ms;
	ll->defer_attrs = commit_ms && defer_attrs;
}

int famfs_ll_commit(struct famfs_ll *ll, uint64_t ino)
{
	int rc;

	if (ll->readonly)
		return -EROFS;
	if (!famfs_fs_uncommitted(ll->fs))
		return 0;
	rc = ll_begin(ll);
	if (rc)
		return rc;
	rc = famfs_fs_commit(ll->fs, ino);
	famfs_fs_unlock(ll->fs);
	return rc;
}

bool famfs_ll_writable(const struct famfs_ll *ll)
{
	return !ll->readonly;
}

/* ------------------------------------------------------------------ pins and inodes */

static size_t pin_hash(uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 40) & (LL_PIN_BUCKETS - 1);
}

/* The pin of @ino or NULL; the caller holds ll->lock. */
static struct ll_pin *pin_find(struct famfs_ll *ll, uint64_t ino)
{
	struct ll_pin *p;

	for (p = ll->pins[pin_hash(ino)]; p; p = p->next)
		if (p->ino == ino)
			return p;
	return NULL;
}

/*
 * The inode numbered @ino: the linked one, or the removed one a pin holds (POSIX keeps
 * a removed open file). The caller holds the namespace read lock (or the appender lock).
 */
struct famfs_inode *ll_inode(struct famfs_ll *ll, uint64_t ino)
{
	struct famfs_inode *i = famfs_ns_get(famfs_fs_ns(ll->fs), ino);
	struct ll_pin *p;

	if (i)
		return i;
	pthread_mutex_lock(&ll->lock);
	p = pin_find(ll, ino);
	i = p ? p->inode : NULL;
	pthread_mutex_unlock(&ll->lock);
	/* Not in the view, but pinned: removed, or gone with a compaction's old view. */
	return i;
}

/* The linked directory @ino: -ESTALE gone, -ENOTDIR. Under the read or appender lock. */
int ll_dir(struct famfs_ll *ll, uint64_t ino, struct famfs_inode **out)
{
	int rc = famfs_ns_get_dir(famfs_fs_ns(ll->fs), ino, out);

	return rc == -ENOENT ? -ESTALE : rc;
}

/*
 * After a log compaction the pins point into the replaced view: move each to the same
 * inode of the current view while it is still linked there, so that a later remove
 * keeps the file's current size and map for its open descriptors.
 */
void ll_repin(struct famfs_ll *ll)
{
	uint64_t gen = famfs_fs_generation(ll->fs);

	if (__atomic_load_n(&ll->pin_gen, __ATOMIC_ACQUIRE) == gen)
		return;
	pthread_mutex_lock(&ll->pin_lock);
	for (size_t b = 0; ll->pin_gen != gen && b < LL_PIN_BUCKETS; b++) {
		for (struct ll_pin *p = ll->pins[b]; p; p = p->next) {
			struct famfs_inode *cur = famfs_fs_pin_ino(ll->fs, p->ino), *old = p->inode;

			if (!cur)
				continue; /* removed meanwhile: the old inode is what is left */
			if (cur == old) {
				famfs_fs_unpin(ll->fs, cur);
				continue;
			}
			for (uint32_t k = 1; k < p->count; k++)
				famfs_fs_pin(ll->fs, cur);
			pthread_mutex_lock(&ll->lock);
			p->inode = cur;
			pthread_mutex_unlock(&ll->lock);
			for (uint32_t k = 0; k < p->count; k++)
				famfs_fs_unpin(ll->fs, old);
		}
	}
	__atomic_store_n(&ll->pin_gen, gen, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ll->pin_lock);
}

int famfs_ll_pin(struct famfs_ll *ll, uint64_t ino)
{
	struct famfs_inode *i = NULL;
	struct ll_pin *p, *fresh = calloc(1, sizeof(*fresh));
	int rc = 0;

	if (!fresh)
		return -ENOMEM;
	ll_repin(ll);
	pthread_mutex_lock(&ll->pin_lock);
	pthread_mutex_lock(&ll->lock);
	p = pin_find(ll, ino);
	pthread_mutex_unlock(&ll->lock);
	if (p) {
		famfs_fs_pin(ll->fs, p->inode); /* alive: p holds a pin, pin_lock keeps it */
	} else {
		i = famfs_fs_pin_ino(ll->fs, ino); /* looked up and pinned in one step */
		if (!i)
			rc = -ESTALE;
		else if (S_ISDIR(i->mode))
			rc = -EISDIR;
		if (rc && i)
			famfs_fs_unpin(ll->fs, i);
	}
	if (!rc) {
		pthread_mutex_lock(&ll->lock);
		if (!p) {
			p = fresh;
			fresh = NULL;
			p->ino = ino;
			p->inode = i;
			p->next = ll->pins[pin_hash(ino)];
			ll->pins[pin_hash(ino)] = p;
		}
		p->count++;
		pthread_mutex_unlock(&ll->lock);
	}
	pthread_mutex_unlock(&ll->pin_lock);
	free(fresh);
	return rc;
}

void famfs_ll_unpin(struct famfs_ll *ll, uint64_t ino)
{
	struct ll_pin **pp, *p;
	struct famfs_inode *i = NULL;

	pthread_mutex_lock(&ll->pin_lock);
	pthread_mutex_lock(&ll->lock);
	for (pp = &ll->pins[pin_hash(ino)]; (p = *pp); pp = &p->next) {
		if (p->ino != ino)
			continue;
		i = p->inode;
		if (--p->count == 0) {
			*pp = p->next;
			free(p);
		}
		break;
	}
	pthread_mutex_unlock(&ll->lock);
	if (i)
		famfs_fs_unpin(ll->fs, i); /* the last pin may free a removed inode */
	pthread_mutex_unlock(&ll->pin_lock);
}

/* ------------------------------------------------------------------ attributes */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t k = 0; k < n; k++)
		h = (h ^ b[k]) * 0x100000001b3ULL;
	return h;
}

/* The attributes of @i; the caller holds the read (or appender) lock. */
void ll_fill(struct famfs_ll *ll, const struct famfs_inode *i, struct famfs_attr *a)
{
	bool dir = S_ISDIR(i->mode);
	/* A pinned inode of a view that a compaction replaced is gone as well. */
	bool removed =
	    i->removed_at != UINT64_MAX || famfs_ns_get(famfs_fs_ns(ll->fs), i->ino) != i;
	uint64_t change = i->ctime_ns > i->mtime_ns ? i->ctime_ns : i->mtime_ns;

	memset(a, 0, sizeof(*a));
	a->ino = i->ino;
	if (i->parent && !removed)
		a->parent = i->parent->ino;
	else if (i == famfs_fs_ns(ll->fs)->root)
		a->parent = i->ino;
	a->mode = i->mode;
	/* A file: its own name (unless removed) and its hard links. */
	a->nlink = dir ? 2 : removed ? 0 : (i->nameless ? 0 : 1) + i->nlinks;
	a->uid = i->uid;
	a->gid = i->gid;
	a->size = dir ? 4096 : i->size;
	a->space = dir ? 4096 : S_ISREG(i->mode) ? famfs_fmap_capacity(&i->fmap) : 0;
	a->rdev = i->rdev;
	a->mtime_ns = i->mtime_ns;
	a->ctime_ns = i->ctime_ns;
	a->atime_ns = i->atime_ns ? i->atime_ns : i->mtime_ns;
	/* Never-set times: fall back to the creating entry so changes still show. */
	a->change = change ? change : (i->log_index == UINT64_MAX ? 1 : i->log_index + 2);
	a->change += __atomic_load_n(&i->writes, __ATOMIC_RELAXED);
	if (dir)
		a->change += i->nchildren;
	if (S_ISREG(i->mode))
		a->map_sig = fnv1a(fnv1a(0xcbf29ce484222325ULL, &i->size, sizeof(i->size)),
				   &i->fmap, sizeof(i->fmap));
	a->memerr = i->memerr;
}

int famfs_ll_getattr(struct famfs_ll *ll, uint64_t ino, struct famfs_attr *out)
{
	struct famfs_inode *i;

	famfs_fs_rdlock(ll->fs);
	i = ll_inode(ll, ino);
	if (i)
		ll_fill(ll, i, out);
	famfs_fs_rdunlock(ll->fs);
	return i ? 0 : -ESTALE;
}

ssize_t famfs_ll_readlink(struct famfs_ll *ll, uint64_t ino, char *buf, size_t len)
{
	struct famfs_inode *i;
	ssize_t n;

	famfs_fs_rdlock(ll->fs);
	i = ll_inode(ll, ino);
	if (!i)
		n = -ESTALE;
	else if (!S_ISLNK(i->mode) || !i->target)
		n = -EINVAL;
	else
		n = (ssize_t)strlen(i->target);
	if (n >= 0 && len) {
		size_t k = (size_t)n < len - 1 ? (size_t)n : len - 1;

		memcpy(buf, i->target, k);
		buf[k] = '\0';
	}
	famfs_fs_rdunlock(ll->fs);
	return n;
}

int famfs_ll_resolve(struct famfs_ll *ll, const char *relpath, struct famfs_attr *out)
{
	struct famfs_inode *i;
	int rc;

	famfs_fs_rdlock(ll->fs);
	rc = famfs_fs_resolve(ll->fs, relpath, &i);
	if (!rc)
		ll_fill(ll, famfs_ns_target(i), out);
	famfs_fs_rdunlock(ll->fs);
	return rc;
}

int famfs_ll_access(struct famfs_ll *ll, uint64_t ino, int mask, const struct famfs_cred *cr)
{
	struct famfs_inode *i;
	int rc;

	famfs_fs_rdlock(ll->fs);
	i = ll_inode(ll, ino);
	rc = i ? ll_permit_inode(cr, i, mask) : -ESTALE;
	famfs_fs_rdunlock(ll->fs);
	return rc;
}

int famfs_ll_lookup(struct famfs_ll *ll, uint64_t dir, const char *name,
		    const struct famfs_cred *cr, struct famfs_attr *out)
{
	struct famfs_inode *d, *c = NULL;
	size_t len = strlen(name);
	int rc;

	famfs_fs_rdlock(ll->fs);
	rc = ll_dir(ll, dir, &d);
	if (!rc)
		rc = ll_permit_inode(cr, d, FAMFS_MAY_EXEC);
	if (!rc && len > FAMFS_NAME_MAX)
		rc = -ENAMETOOLONG;
	if (!rc) {
		if (strcmp(name, ".") == 0)
			c = d;
		else if (strcmp(name, "..") == 0)
			c = d->parent ? d->parent : d;
		else
			c = famfs_ns_target(famfs_ns_lookup(famfs_fs_ns(ll->fs), d, name, len));
		if (c)
			ll_fill(ll, c, out);
		else
			rc = -ENOENT;
	}
	famfs_fs_rdunlock(ll->fs);
	return rc;
}

/* ------------------------------------------------------------------ directories */

static int dirent_cmp(const void *a, const void *b)
{
	const struct famfs_dirent *x = a, *y = b;

	return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

int famfs_ll_readdir(struct famfs_ll *ll, uint64_t dir, uint64_t after, const struct famfs_cred *cr,
		     struct famfs_dirsnap *snap)
{
	struct famfs_inode *d, *c;
	size_t k = 0;
	int rc;

	famfs_dirsnap_free(snap);
	snap->ino = dir;
	famfs_fs_rdlock(ll->fs);
	rc = ll_dir(ll, dir, &d);
	if (!rc)
		rc = ll_permit_inode(cr, d, FAMFS_MAY_READ);
	if (!rc) {
		snap->parent = d->parent ? d->parent->ino : d->ino;
		snap->ents = malloc((d->nchildren + 1) * sizeof(*snap->ents));
		if (!snap->ents)
			rc = -ENOMEM;
	}
	if (!rc) {
		famfs_ns_foreach_child(d, c)
		{
			if (k >= d->nchildren)
				break;
			if (FAMFS_DIR_COOKIE(c->ino) <= after)
				continue;
			/* A hard link lists its object's number; its cookie is its own. */
			snap->ents[k].cookie = FAMFS_DIR_COOKIE(c->ino);
			snap->ents[k].ino = famfs_ns_target(c)->ino;
			snap->ents[k].type = c->mode & S_IFMT;
			memcpy(snap->ents[k].name, c->name, c->namelen);
			snap->ents[k].name[c->namelen] = '\0';
			k++;
		}
	}
	famfs_fs_rdunlock(ll->fs);
	snap->n = k;
	if (k > 1)
		qsort(snap->ents, k, sizeof(*snap->ents), dirent_cmp);
	return rc;
}

size_t famfs_dirsnap_seek(const struct famfs_dirsnap *snap, uint64_t cookie)
{
	size_t lo = 0, hi = snap->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (snap->ents[mid].cookie <= cookie)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void famfs_dirsnap_free(struct famfs_dirsnap *snap)
{
	free(snap->ents);
	snap->ents = NULL;
	snap->n = 0;
}

void famfs_ll_statfs(struct famfs_ll *ll, struct famfs_ll_statfs *out)
{
	const struct famfs_bitmap *bm;
	uint64_t slots, used;

	memset(out, 0, sizeof(*out));
	famfs_fs_rdlock(ll->fs);
	bm = famfs_fs_bitmap(ll->fs);
	out->unit = bm->unit;
	out->blocks = bm->nbits - bm->reserved;
	out->bfree = famfs_bitmap_free_bytes(bm) / bm->unit;
	slots = famfs_fs_log(ll->fs)->lh_last_index + 1;
	used = famfs_fs_stats(ll->fs)->entries;
	famfs_fs_rdunlock(ll->fs);
	out->files = slots;
	out->ffree = used < slots ? slots - used : 0;
	out->name_max = FAMFS_NAME_MAX;
}

/* ------------------------------------------------------------------ I/O */

/* The regular file @ino for I/O: 0, -ESTALE, -EISDIR. Under the read lock. */
static int ll_file(struct famfs_ll *ll, uint64_t ino, struct famfs_inode **out)
{
	*out = ll_inode(ll, ino);
	if (!*out)
		return -ESTALE;
	if (S_ISDIR((*out)->mode))
		return -EISDIR;
	return S_ISREG((*out)->mode) ? 0 : -EINVAL;
}

ssize_t famfs_ll_read(struct famfs_ll *ll, uint64_t ino, uint64_t off, void *buf, size_t len,
		      unsigned int flags, bool *eof)
{
	struct famfs_inode *i;
	ssize_t n;

	famfs_fs_rdlock(ll->fs);
	n = ll_file(ll, ino, &i);
	if (!n)
		n = famfs_file_read(ll->fs, i, off, buf, len, flags);
	if (n >= 0 && eof)
		*eof = off + (uint64_t)n >= i->size;
	famfs_fs_rdunlock(ll->fs);
	return n;
}

int famfs_ll_direct_map(struct famfs_ll *ll, uint64_t ino, struct famfs_direct_map *out)
{
	const struct famfs_dev *dev = famfs_fs_dev(ll->fs);
	const struct famfs_superblock *sb = (const void *)dev->base;
	char path[PATH_MAX];
	struct famfs_inode *i;
	int rc;

	if (!realpath(dev->path, path))
		snprintf(path, sizeof(path), "%s", dev->path);
	if (strlen(path) >= sizeof(out->dm_dev))
		return -ENAMETOOLONG;
	memset(out, 0, sizeof(*out));
	out->dm_magic = FAMFS_DIRECT_MAGIC;
	out->dm_version = FAMFS_DIRECT_VERSION;
	out->dm_flags = (dev->is_dax ? FAMFS_DM_DAX : 0) | (ll->readonly ? FAMFS_DM_RDONLY : 0);
	out->dm_dev_offset = dev->offset;
	out->dm_align = dev->is_dax && dev->align > 4096 ? dev->align : 4096;
	memcpy(out->dm_fs_uuid, sb->sb_uuid, FAMFS_UUID_LEN);
	strcpy(out->dm_dev, path);
	famfs_fs_rdlock(ll->fs);
	rc = ll_file(ll, ino, &i);
	if (!rc && i->memerr)
		rc = -EIO;
	if (!rc) {
		out->dm_ino = i->ino;
		out->dm_size = i->size;
		out->dm_fmap = i->fmap;
	}
	famfs_fs_rdunlock(ll->fs);
	return rc;
}

ssize_t famfs_ll_write(struct famfs_ll *ll, uint64_t ino, uint64_t off, const void *buf, size_t len)
{
	uint64_t end = off + len;
	struct famfs_inode *i;
	ssize_t n;
	int rc;

	if (ll->readonly)
		return -EROFS;
	if (end < off)
		return -EFBIG;
	famfs_fs_rdlock(ll->fs);
	i = ll_inode(ll, ino);
	if (i && S_ISREG(i->mode) && end > i->size) {
		/* Grow first (appender lock), then copy under the read lock. */
		famfs_fs_rdunlock(ll->fs);
		rc = ll_begin(ll);
		if (!rc) {
			/* A removed file cannot grow. */
			rc = ll->commit_ms ? famfs_fs_grow_deferred(ll->fs, ino, off, end)
					   : famfs_fs_grow(ll->fs, ino, off, end);
			famfs_fs_unlock(ll->fs);
		}
		if (rc)
			return rc == -ENOENT ? -ESTALE : rc;
		famfs_fs_rdlock(ll->fs);
		i = ll_inode(ll, ino);
	}
	n = ll_file(ll, ino, &i);
	if (!n)
		n = famfs_file_write(ll->fs, i, off, buf, len);
	if (n > 0) /* the change attribute moves with every write (NFS caches watch it) */
		__atomic_add_fetch(&i->writes, 1, __ATOMIC_RELAXED);
	famfs_fs_rdunlock(ll->fs);
	return n;
}

int famfs_ll_fallocate(struct famfs_ll *ll, uint64_t ino, unsigned int mode, uint64_t off,
		       uint64_t len)
{
	uint64_t end = off + len, size = 0;
	struct famfs_inode *i;
	int rc;

	if (ll->readonly)
		return -EROFS;
	if (!len || end < off)
		return -EINVAL;
	if (mode & FAMFS_FALLOC_PUNCH) {
		if (!(mode & FAMFS_FALLOC_KEEP_SIZE))
			return -EOPNOTSUPP; /* fallocate(2): a punch always keeps the size */
		famfs_fs_rdlock(ll->fs);
		rc = ll_file(ll, ino, &i);
		if (!rc && off < i->size)
			rc = famfs_fmap_zero(ll->fs, &i->fmap, off,
					     (end < i->size ? end : i->size) - off);
		famfs_fs_rdunlock(ll->fs);
		return rc;
	}
	famfs_fs_rdlock(ll->fs);
	rc = ll_file(ll, ino, &i);
	if (!rc && (mode & FAMFS_FALLOC_KEEP_SIZE) && end > famfs_fmap_capacity(&i->fmap))
		rc = -EOPNOTSUPP;
	if (!rc)
		size = i->size;
	famfs_fs_rdunlock(ll->fs);
	if (rc || (mode & FAMFS_FALLOC_KEEP_SIZE) || end <= size)
		return rc; /* within the file (or its allocation): allocated already */
	rc = ll_begin(ll);
	if (!rc) {
		rc = famfs_fs_grow(ll->fs, ino, end, end);
		famfs_fs_unlock(ll->fs);
	}
	return rc == -ENOENT ? -ESTALE : rc;
}

/* ------------------------------------------------------------------ following the log */

/* Record one change; the caller holds ll->lock. */
static void record(struct famfs_ll *ll, uint64_t ino, uint64_t parent, unsigned int what)
{
	if (ll->reset)
		return;
	if (ll->nchanges >= LL_MAX_CHANGES) {
		ll->reset = true;
		return;
	}
	if (ll->nchanges == ll->capchanges) {
		size_t cap = ll->capchanges ? 2 * ll->capchanges : 64;
		struct famfs_ll_change *c = realloc(ll->changes, cap * sizeof(*c));

		if (!c) {
			ll->reset = true;
			return;
		}
		ll->changes = c;
		ll->capchanges = cap;
	}
	ll->changes[ll->nchanges++] = (struct famfs_ll_change){ino, parent, what};
}

/* famfs_fs change callback (namespace write-locked): record only. */
static void ll_on_change(void *arg, uint64_t ino, uint64_t parent, unsigned int what)
{
	struct famfs_ll *ll = arg;

	pthread_mutex_lock(&ll->lock);
	if (what & FAMFS_CHANGE_RESET) {
		ll->reset = true;
	} else {
		record(ll, ino, parent, what);
		if (parent && (what & (FAMFS_CHANGE_CREATED | FAMFS_CHANGE_REMOVED)))
			record(ll, parent, 0, FAMFS_LL_ENTRIES);
	}
	pthread_mutex_unlock(&ll->lock);
}

static int change_cmp(const void *a, const void *b)
{
	const struct famfs_ll_change *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->parent < y->parent ? -1 : x->parent > y->parent;
}

void famfs_ll_follow_step(struct famfs_ll *ll)
{
	struct famfs_ll_change *c;
	size_t n, k, m = 0;
	bool reset;
	int rc = famfs_fs_refresh(ll->fs);

	if (rc < 0)
		famfs_debug("log follower: replay stopped: %s", strerror(-rc));
	if (ll->commit_ms && !ll->readonly && famfs_fs_uncommitted(ll->fs)) {
		rc = famfs_fs_commit_older(ll->fs,
					   ll_now_ns() - (uint64_t)ll->commit_ms * 1000000ULL);
		if (rc)
			famfs_err("deferred commit failed: %s (the changes stay pending)",
				  strerror(-rc));
	}
	ll_repin(ll);
	pthread_mutex_lock(&ll->lock);
	c = ll->changes;
	n = ll->nchanges;
	reset = ll->reset;
	ll->changes = NULL;
	ll->nchanges = ll->capchanges = 0;
	ll->reset = false;
	pthread_mutex_unlock(&ll->lock);
	if (reset) {
		n = 0;
	} else if (n) {
		/* One record per (ino, parent), kinds merged. */
		qsort(c, n, sizeof(*c), change_cmp);
		for (k = 0; k < n; k++) {
			if (m && c[m - 1].ino == c[k].ino && c[m - 1].parent == c[k].parent)
				c[m - 1].what |= c[k].what;
			else
				c[m++] = c[k];
		}
		n = m;
	}
	if ((n || reset) && ll->fn)
		ll->fn(ll->fn_arg, c, n, reset);
	free(c);
}

static void *ll_follower(void *arg)
{
	struct famfs_ll *ll = arg;
	struct timespec ts;

	pthread_mutex_lock(&ll->flw_lock);
	while (!ll->flw_stop) {
		unsigned int wait = ll->interval_ms;

		/* Pending changes are committed within about commit_ms. */
		if (ll->commit_ms && famfs_fs_uncommitted(ll->fs) && wait > ll->commit_ms / 4)
			wait = ll->commit_ms / 4 ? ll->commit_ms / 4 : 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ll->flw_cond, &ll->flw_lock, &ts);
		if (ll->flw_stop)
			break;
		pthread_mutex_unlock(&ll->flw_lock);
		famfs_ll_follow_step(ll);
		pthread_mutex_lock(&ll->flw_lock);
	}
	pthread_mutex_unlock(&ll->flw_lock);
	return NULL;
}

int famfs_ll_follow(struct famfs_ll *ll, unsigned int interval_ms, famfs_ll_change_fn fn, void *arg)
{
	int rc;

	if (ll->flw_running)
		return -EBUSY;
	ll->interval_ms = interval_ms ? interval_ms : 1000;
	ll->fn = fn;
	ll->fn_arg = arg;
	ll->flw_stop = false;
	famfs_fs_set_change_fn(ll->fs, ll_on_change, ll);
	rc = pthread_create(&ll->flw_thread, NULL, ll_follower, ll);
	if (rc) {
		famfs_fs_set_change_fn(ll->fs, NULL, NULL);
		return -rc;
	}
	ll->flw_running = true;
	return 0;
}

void famfs_ll_follow_stop(struct famfs_ll *ll)
{
	if (!ll->flw_running)
		return;
	pthread_mutex_lock(&ll->flw_lock);
	ll->flw_stop = true;
	pthread_cond_broadcast(&ll->flw_cond);
	pthread_mutex_unlock(&ll->flw_lock);
	pthread_join(ll->flw_thread, NULL);
	ll->flw_running = false;
	famfs_fs_set_change_fn(ll->fs, NULL, NULL);
}

size_t famfs_ll_inodes(struct famfs_ll *ll, uint64_t **out)
{
	struct famfs_inode **stack, *i, *c;
	uint64_t *nums;
	size_t n = 0, sp = 0, cap;

	famfs_fs_rdlock(ll->fs);
	cap = famfs_fs_ns(ll->fs)->count + 1;
	nums = malloc(cap * sizeof(*nums));
	stack = malloc(cap * sizeof(*stack));
	if (nums && stack) {
		stack[sp++] = famfs_fs_ns(ll->fs)->root;
		while (sp && n < cap) {
			i = stack[--sp];
			/* A hard link's name stands for its object (listed under its own name,
			 * or here, perhaps more than once, when its own name is gone). */
			if (!i->link_of)
				nums[n++] = i->ino;
			else if (i->link_of->nameless)
				nums[n++] = i->link_of->ino;
			famfs_ns_foreach_child(i, c)
			{
				if (sp < cap)
					stack[sp++] = c;
			}
		}
	}
	famfs_fs_rdunlock(ll->fs);
	free(stack);
	if (!nums)
		n = 0;
	*out = nums;
	return n;
}

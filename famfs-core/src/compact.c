/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file compact.c
 * @brief Log compaction: rewrite a full log as the namespace it describes (omf_ext.h).
 *
 * Crash safety: the new log is first written whole, with CRCs, into free data space (the
 * journal), and the host table header records where it is (ht_pad2: offset, entries, CRC
 * of the journal) before the COMPACTING flag is set. Only then is the log rewritten. A
 * process of the master host that opens the device with COMPACTING set and gets the
 * appender lock copies the journal again (the copy is idempotent), so a crash at any
 * point leaves either the old log or the new one.
 * Readers that see COMPACTING wait; they replay the new log when it is cleared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "famfs/cache.h"
#include "fs_priv.h"

struct journal_rec {
	uint64_t off;	/* device offset of the journal */
	uint64_t count; /* entries in it */
	uint64_t crc;	/* CRC-32 of the journal bytes */
};
_Static_assert(sizeof(struct journal_rec) <= sizeof(((struct famfs_ht_header *)0)->ht_pad2),
	       "journal record fits the host table header");

struct builder {
	struct famfs_log_entry *e;
	uint64_t n, cap;
};

static struct famfs_log_entry *next_entry(struct builder *b, uint32_t type)
{
	struct famfs_log_entry *le;

	if (b->n == b->cap)
		return NULL;
	le = &b->e[b->n++];
	memset(le, 0, sizeof(*le));
	le->le_type = type;
	if (famfs_xe_is_ext(type))
		((struct famfs_xe_hdr *)le->le_payload)->xh_version = FAMFS_XE_VERSION;
	return le;
}

/* Are all other registered processes caught up, holding nothing removed? */
static int others_idle(struct famfs_fs *fs)
{
	struct famfs_host_info hi[FAMFS_HT_SLOTS];
	int n = famfs_fs_hosts(fs, hi, FAMFS_HT_SLOTS);

	for (int i = 0; i < n; i++) {
		char u[37];

		if (hi[i].self || hi[i].dead)
			continue;
		if (hi[i].generation == fs->generation && hi[i].replayed == fs->stats.entries &&
		    hi[i].safe == hi[i].replayed)
			continue;
		famfs_uuid_format(hi[i].uuid, u);
		famfs_err("log compaction waits for host slot %u (system %s, pid %u): it has "
			  "replayed %llu of %llu entries",
			  hi[i].slot, u, hi[i].pid, (unsigned long long)hi[i].replayed,
			  (unsigned long long)fs->stats.entries);
		return -EBUSY;
	}
	return 0;
}

/* Objects in parent-first order (breadth first), root excluded. */
static size_t collect(struct famfs_fs *fs, struct famfs_inode ***out)
{
	size_t n = 0, head = 0, cap = fs->ns.count, m = 0, nl = 0;
	struct famfs_inode **q = malloc(cap * sizeof(*q)), **links;
	struct famfs_inode *dir = fs->ns.root, *c;

	if (!q)
		return SIZE_MAX;
	for (;;) {
		famfs_ns_foreach_child(dir, c)
		{
			if (n < cap)
				q[n++] = c;
		}
		while (head < n && !S_ISDIR(q[head]->mode))
			head++;
		if (head == n)
			break;
		dir = q[head++];
	}
	/* Hard links go last (XE_LINK after every object it may name); an object whose own
	 * name is gone is written under its first link name instead of that link. */
	links = malloc((n + 1) * sizeof(*links));
	if (!links) {
		free(q);
		return SIZE_MAX;
	}
	for (size_t k = 0; k < n; k++)
		if (q[k]->link_of)
			q[k]->link_of->compact_home = NULL;
	/* links[] fills from the front with link names and from the back with the nameless
	 * objects written under one of them (q is compacted in place: m <= k). */
	size_t nh = 0;

	for (size_t k = 0; k < n; k++) {
		struct famfs_inode *t = q[k]->link_of;

		if (!t) {
			q[m++] = q[k];
		} else if (t->nameless && !t->compact_home) {
			t->compact_home = q[k];
			links[n - ++nh] = t;
		} else {
			links[nl++] = q[k];
		}
	}
	for (size_t h = 0; h < nh; h++) /* the nameless ones, under their link name */
		q[m++] = links[n - 1 - h];
	memcpy(q + m, links, nl * sizeof(*links));
	free(links);
	*out = q;
	return m + nl;
}

static void copy_journal(struct famfs_fs *fs, const struct journal_rec *j, uint64_t old_next)
{
	struct famfs_log_header *lh = fs->log;
	const void *src = fs->dev->base + j->off;

	memcpy(lh->lh_entries, src, j->count * FAMFS_LOG_ENTRY_SIZE);
	if (old_next > j->count)
		memset(&lh->lh_entries[j->count], 0, (old_next - j->count) * FAMFS_LOG_ENTRY_SIZE);
	famfs_cache_flush(lh->lh_entries,
			  (old_next > j->count ? old_next : j->count) * FAMFS_LOG_ENTRY_SIZE);
	lh->lh_next_seqnum = j->count;
	lh->lh_next_index = j->count;
	famfs_cache_flush(&lh->lh_next_seqnum, 2 * sizeof(uint64_t));
}

static uint64_t journal_crc(const struct famfs_fs *fs, const struct journal_rec *j)
{
	return crc32(crc32(0L, Z_NULL, 0), fs->dev->base + j->off,
		     (uInt)(j->count * FAMFS_LOG_ENTRY_SIZE));
}

/* Is the log as the header describes it whole: every entry up to next_index valid? */
static bool old_log_intact(struct famfs_fs *fs)
{
	const struct famfs_log_header *lh = fs->log;
	uint64_t next = lh->lh_next_index;

	if (next > lh->lh_last_index + 1 || lh->lh_next_seqnum != next)
		return false;
	famfs_cache_invalidate(lh->lh_entries, next * FAMFS_LOG_ENTRY_SIZE);
	for (uint64_t i = 0; i < next; i++)
		if (famfs_log_entry_check(&lh->lh_entries[i], i, NULL, 0))
			return false;
	return true;
}

/* Finish an interrupted compaction; the caller holds the host's appender flock. */
int fs_compact_recover_locked(struct famfs_fs *fs)
{
	uint64_t max = fs->log->lh_last_index + 1, size = fs->dev->size;
	uint64_t unit = fs->sb->sb_alloc_unit;
	struct journal_rec j;
	void *fault;

	famfs_cache_invalidate(fs->ht, sizeof(*fs->ht));
	if (!(fs->ht->ht_flags & FAMFS_HT_COMPACTING))
		return 0; /* the compacting process finished it while this one waited */
	memcpy(&j, fs->ht->ht_pad2, sizeof(j));
	/* Every field comes from shared memory: range-checked without overflow. The journal
	 * is an allocated extent (unit-aligned), so zeroing it by whole units stays on the
	 * device. */
	if (j.off < FAMFS_LOG_OFFSET + fs->sb->sb_log_len || j.off >= size || j.off % unit ||
	    j.count == 0 || j.count > max || j.count > (size - j.off) / FAMFS_LOG_ENTRY_SIZE ||
	    journal_crc(fs, &j) != j.crc) {
		if (old_log_intact(fs)) {
			/* The copy never started: the old log stands (hosts replay it again). */
			famfs_err("%s: an interrupted log compaction left a damaged journal "
				  "(device offset %llu, %llu entries); the old log is whole and "
				  "stays",
				  fs->dev->path, (unsigned long long)j.off,
				  (unsigned long long)j.count);
			fs->ht->ht_flags &= ~(uint32_t)FAMFS_HT_COMPACTING;
			fs_hosts_commit(fs);
			return 0;
		}
		famfs_err("%s: an interrupted log compaction left a damaged journal (device "
			  "offset %llu, %llu entries) and a partly rewritten log; the log is left "
			  "as it is: run fsck",
			  fs->dev->path, (unsigned long long)j.off, (unsigned long long)j.count);
		return -EBADMSG;
	}
	famfs_warn("%s: finishing an interrupted log compaction (%llu entries)", fs->dev->path,
		   (unsigned long long)j.count);
	copy_journal(fs, &j, max);
	fs->ht->ht_flags &= ~(uint32_t)FAMFS_HT_COMPACTING;
	fs_hosts_commit(fs);
	/* The journal's space is free again: no new file may find log entries in it. */
	if (fs_dev_fill(fs->dev->base + j.off, NULL,
			(j.count * FAMFS_LOG_ENTRY_SIZE + unit - 1) / unit * unit, &fault))
		famfs_warn("%s: memory error (SIGBUS) at device offset 0x%llx clearing the "
			   "compaction journal (the compaction itself is complete)",
			   fs->dev->path, (unsigned long long)((uint8_t *)fault - fs->dev->base));
	return 0;
}

int fs_compact_recover(struct famfs_fs *fs)
{
	int rc, tries;

	if (!fs->ht || !(fs->ht->ht_flags & FAMFS_HT_COMPACTING) || fs->dev->readonly ||
	    fs->role != FAMFS_ROLE_MASTER)
		return 0;
	/* Only a holder of the appender lock finishes it: the master may be in the middle of
	 * the very compaction (then it finishes it, and this open waits or leaves it). */
	for (tries = 0; flock(fs->dev->fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || tries >= 200)
			return 0; /* readers wait for COMPACTING to clear; the holder clears it */
		usleep(10000);
	}
	rc = fs_compact_recover_locked(fs);
	flock(fs->dev->fd, LOCK_UN);
	return rc;
}

int fs_compact(struct famfs_fs *fs)
{
	uint64_t old_next = fs->log->lh_next_index, ino_base = fs->ino_base + old_next + 2;
	uint64_t unit = fs->bm.unit, nobj, k, r, start;
	struct builder b = {0};
	struct famfs_inode **objs = NULL;
	struct famfs_omf_fmap jmap;
	struct famfs_log_entry *le;
	struct journal_rec j;
	uint64_t cursor = 0;
	void *fault;
	int rc;

	if (fs->role != FAMFS_ROLE_MASTER || !fs->ht)
		return -EROFS;
	rc = others_idle(fs);
	if (rc)
		return rc;
	if (famfs_fs_no_upstream(fs)) {
		pthread_rwlock_wrlock(&fs->ns_lock);
		fs_release_pending(fs, fs_own_safe(fs));
		pthread_rwlock_unlock(&fs->ns_lock);
	}
	/* The new log says what the log says: changes not committed yet stay pending. */
	pthread_rwlock_wrlock(&fs->ns_lock);
	fs_dirty_undo_all(fs);
	pthread_rwlock_unlock(&fs->ns_lock);
	/* The new log will not say that released space was used: zero it now. */
	pthread_rwlock_wrlock(&fs->ns_lock);
	fs_scrub_all(fs);
	pthread_rwlock_unlock(&fs->ns_lock);

	nobj = collect(fs, &objs);
	if (nobj == SIZE_MAX) {
		rc = -ENOMEM;
		goto out_free;
	}
	b.cap = fs->log->lh_last_index + 1;
	b.e = calloc(b.cap, sizeof(*b.e));
	if (!b.e) {
		rc = -ENOMEM;
		goto out_free;
	}
	/* Index 0: generation and inode base. Then the inode maps, then reserved space. */
	le = next_entry(&b, FAMFS_XE_LOGINFO);
	((struct famfs_xe_loginfo *)le->le_payload)->xl_generation = fs->generation + 1;
	((struct famfs_xe_loginfo *)le->le_payload)->xl_ino_base = ino_base;
	((struct famfs_xe_loginfo *)le->le_payload)->xl_prev_entries = old_next;
	k = (nobj + FAMFS_XE_INOMAP_MAX - 1) / FAMFS_XE_INOMAP_MAX;
	r = 0;
	for (uint64_t u = 0; u < fs->pending_bm.nbits;) {
		uint64_t run = 0;

		while (u + run < fs->pending_bm.nbits &&
		       (fs->pending_bm.words[(u + run) / 64] >> ((u + run) % 64) & 1))
			run++;
		if (run)
			r++;
		u += run ? run : 1;
	}
	r = (r + FAMFS_XE_RESERVE_MAX - 1) / FAMFS_XE_RESERVE_MAX;
	start = 1 + k + r;
	if (start + nobj > b.cap) {
		rc = -ENOSPC;
		goto out_free;
	}
	for (uint64_t m = 0; m < k; m++) {
		struct famfs_xe_inomap *im;

		le = next_entry(&b, FAMFS_XE_INOMAP);
		im = (void *)le->le_payload;
		im->xm_first = start + m * FAMFS_XE_INOMAP_MAX;
		im->xm_count = (uint32_t)((nobj - m * FAMFS_XE_INOMAP_MAX) < FAMFS_XE_INOMAP_MAX
					      ? nobj - m * FAMFS_XE_INOMAP_MAX
					      : FAMFS_XE_INOMAP_MAX);
		for (uint32_t x = 0; x < im->xm_count; x++)
			im->xm_ino[x] = objs[m * FAMFS_XE_INOMAP_MAX + x]->ino;
	}
	le = NULL;
	for (uint64_t u = 0; u < fs->pending_bm.nbits;) {
		struct famfs_xe_reserve *v;
		uint64_t run = 0;

		while (u + run < fs->pending_bm.nbits &&
		       (fs->pending_bm.words[(u + run) / 64] >> ((u + run) % 64) & 1))
			run++;
		if (!run) {
			u++;
			continue;
		}
		if (!le ||
		    ((struct famfs_xe_reserve *)le->le_payload)->xv_count == FAMFS_XE_RESERVE_MAX)
			le = next_entry(&b, FAMFS_XE_RESERVE);
		v = (void *)le->le_payload;
		v->xv_ext[v->xv_count].ext_offset = u * unit;
		v->xv_ext[v->xv_count].ext_len = run * unit;
		if ((u * unit) % fs->sb->sb_alloc_unit || (run * unit) % fs->sb->sb_alloc_unit)
			v->xv_hdr.xh_version = FAMFS_XE_VERSION_PACKED;
		v->xv_count++;
		u += run;
	}
	/* The objects, as upstream would write them where it can: a path of at most 79
	 * bytes under directories written in upstream form (parents come first). */
	for (uint64_t o = 0; o < nobj; o++) {
		struct famfs_inode *i = objs[o];
		/* Where it is written: its own name, or (nameless) its chosen link name. */
		const struct famfs_inode *home = i->nameless ? i->compact_home : i;
		char path[FAMFS_PATH_MAX + 1];

		i->compact_inline = false;
		i->compact_up = !i->nameless && !i->link_of &&
				(i->parent == fs->ns.root || i->parent->compact_up) &&
				famfs_ns_path(i, path, sizeof(path)) == 0 &&
				strlen(path) <= FAMFS_RELPATH_MAX;
		if (i->link_of) {
			struct famfs_xe_link *xl;

			le = next_entry(&b, FAMFS_XE_LINK);
			if (!le) {
				rc = -ENOSPC;
				goto out_free;
			}
			xl = (void *)le->le_payload;
			xl->xl_hdr.xh_ino = i->link_of->ino;
			xl->xl_parent = i->parent->ino;
			xl->xl_target = i->link_of->ino;
			if (i->namelen >= FAMFS_MAX_PATHLEN)
				xl->xl_hdr.xh_version = FAMFS_XE_VERSION_LONG;
			memcpy(((struct famfs_xe_link3 *)xl)->xl_name, i->name, i->namelen + 1);
		} else if (!S_ISDIR(i->mode) && !S_ISREG(i->mode)) {
			struct famfs_xe_mknod *xk;

			le = next_entry(&b, FAMFS_XE_MKNOD);
			if (!le) {
				rc = -ENOSPC;
				goto out_free;
			}
			xk = (void *)le->le_payload;
			xk->xk_parent = home->parent->ino;
			xk->xk_mode = i->mode;
			xk->xk_uid = i->uid;
			xk->xk_gid = i->gid;
			xk->xk_rdev = i->rdev;
			if (i->target)
				xk->xk_target_len = (uint32_t)strlen(i->target);
			if (home->namelen >= FAMFS_MAX_PATHLEN) {
				struct famfs_xe_mknod3 *k3 = (void *)xk;

				xk->xk_hdr.xh_version = FAMFS_XE_VERSION_LONG;
				memcpy(k3->xk_name, home->name, home->namelen + 1);
				if (i->target)
					memcpy(k3->xk_target, i->target, xk->xk_target_len + 1);
			} else {
				memcpy(xk->xk_name, home->name, home->namelen + 1);
				if (i->target)
					memcpy(xk->xk_target, i->target, xk->xk_target_len + 1);
			}
			i->compact_up = false;
		} else if (S_ISDIR(i->mode) && i->compact_up) {
			le = next_entry(&b, FAMFS_LOG_MKDIR);
			le->le_mkdir.md_uid = i->uid;
			le->le_mkdir.md_gid = i->gid;
			le->le_mkdir.md_mode = i->mode & 07777;
			memcpy(le->le_mkdir.md_relpath, path, strlen(path) + 1);
		} else if (S_ISREG(i->mode) && i->compact_up && i->size > 0 &&
			   fs_upstream_mappable(fs, &i->fmap)) {
			le = next_entry(&b, FAMFS_LOG_FILE);
			le->le_file.fm_size = i->size;
			le->le_file.fm_flags = i->flags ? i->flags : FAMFS_FM_ALL_HOSTS_RW;
			le->le_file.fm_uid = i->uid;
			le->le_file.fm_gid = i->gid;
			le->le_file.fm_mode = i->mode & 07777;
			memcpy(le->le_file.fm_relpath, path, strlen(path) + 1);
			le->le_file.fm_fmap = i->fmap;
		} else {
			struct famfs_xe_create *c;

			le = next_entry(&b, FAMFS_XE_CREATE);
			c = (void *)le->le_payload;
			c->xc_parent = home->parent->ino;
			c->xc_mode = (S_ISDIR(i->mode) ? S_IFDIR : 0) | (i->mode & 07777);
			c->xc_uid = i->uid;
			c->xc_gid = i->gid;
			if (home->namelen >= FAMFS_MAX_PATHLEN)
				c->xc_hdr.xh_version = FAMFS_XE_VERSION_LONG;
			memcpy(((struct famfs_xe_create3 *)c)->xc_name, home->name,
			       home->namelen + 1);
			i->compact_up = false;
			i->compact_inline = false;
			if (S_ISREG(i->mode) && i->fmap.fmap_ext_type == FAMFS_EXT_SIMPLE) {
				/* A file whose map fits is one entry, with its times. */
				uint32_t max;
				struct famfs_xc_map *xm;

				c->xc_hdr.xh_flags |= FAMFS_XC_MAP;
				xm = (struct famfs_xc_map *)fs_xc_map(le, &max);
				if (i->fmap.fmap_count <= max) {
					if (c->xc_hdr.xh_version < FAMFS_XE_VERSION_PACKED)
						c->xc_hdr.xh_version = FAMFS_XE_VERSION_PACKED;
					xm->xm_size = i->size;
					xm->xm_mtime_ns = i->mtime_ns;
					xm->xm_atime_ns = i->atime_ns;
					xm->xm_count = i->fmap.fmap_count;
					for (uint32_t x = 0; x < i->fmap.fmap_count; x++) {
						xm->xm_ext[x].off = i->fmap.se[x].ext_offset;
						xm->xm_ext[x].len = i->fmap.se[x].ext_len;
					}
					i->compact_inline = true;
				} else {
					c->xc_hdr.xh_flags &= (uint16_t)~FAMFS_XC_MAP;
				}
			}
			/* Otherwise an empty file that keeps a map, or one whose map upstream
			 * kernels cannot take, gets it after all objects in an XE_RESIZE (one
			 * entry per object here: the inode maps count on it). */
		}
		if (!le) {
			rc = -ENOSPC;
			goto out_free;
		}
	}
	for (uint64_t o = 0; o < nobj; o++) {
		struct famfs_xe_resize *z;

		if (!S_ISREG(objs[o]->mode) || !objs[o]->fmap.fmap_count || objs[o]->compact_up ||
		    objs[o]->compact_inline)
			continue; /* no map, or it went with the FILE or XE_CREATE entry */
		le = next_entry(&b, FAMFS_XE_RESIZE);
		if (!le) {
			rc = -ENOSPC;
			goto out_free;
		}
		z = (void *)le->le_payload;
		if (fs_fmap_packed(fs, &objs[o]->fmap))
			z->xz_hdr.xh_version = FAMFS_XE_VERSION_PACKED;
		z->xz_hdr.xh_ino = objs[o]->ino;
		z->xz_size = objs[o]->size;
		z->xz_fmap = objs[o]->fmap;
	}
	/* Times, where the log had set them: best effort, after every object exists. */
	for (uint64_t o = 0; o < nobj && b.n < b.cap; o++) {
		struct famfs_xe_setattr *a;

		if ((!objs[o]->mtime_ns && !objs[o]->atime_ns) || objs[o]->compact_inline)
			continue;
		le = next_entry(&b, FAMFS_XE_SETATTR);
		a = (void *)le->le_payload;
		a->xs_hdr.xh_ino = objs[o]->ino;
		a->xs_hdr.xh_time_ns = objs[o]->ctime_ns;
		a->xs_valid = FAMFS_XE_SET_MTIME | FAMFS_XE_SET_ATIME;
		a->xs_mtime_ns = objs[o]->mtime_ns;
		a->xs_atime_ns = objs[o]->atime_ns;
	}
	if (b.n >= old_next) {
		famfs_err("%s: compaction would not shrink the log (%llu live entries of %llu)",
			  fs->dev->path, (unsigned long long)b.n, (unsigned long long)old_next);
		rc = -ENOSPC;
		goto out_free;
	}
	for (uint64_t i = 0; i < b.n; i++) {
		b.e[i].le_seqnum = i;
		b.e[i].le_crc = famfs_log_entry_crc(&b.e[i]);
	}

	/* The journal: the new log, whole, in free space (not where the entry being
	 * appended will live). */
	if (fs->has_inflight)
		famfs_bitmap_mark_fmap(&fs->bm, &fs->inflight);
	{
		struct famfs_resv_extent *foreign;
		size_t nf = fs_resv_mark_foreign(fs, &foreign); /* other processes' space */

		rc = famfs_alloc_contig(&fs->bm, b.n * FAMFS_LOG_ENTRY_SIZE, &cursor, &jmap);
		fs_resv_unmark(fs, foreign, nf);
	}
	if (fs->has_inflight)
		famfs_bitmap_clear_fmap(&fs->bm, &fs->inflight);
	if (rc) {
		famfs_err("%s: no free space for the compaction journal", fs->dev->path);
		goto out_free;
	}
	famfs_bitmap_clear_fmap(&fs->bm, &jmap);
	j.off = jmap.se[0].ext_offset;
	j.count = b.n;
	if (fs_dev_fill(fs->dev->base + j.off, b.e, b.n * FAMFS_LOG_ENTRY_SIZE, &fault)) {
		/* Nothing refers to the journal yet: the old log stands. */
		famfs_err("%s: memory error (SIGBUS) at device offset 0x%llx writing the "
			  "compaction journal; the log is not compacted",
			  fs->dev->path, (unsigned long long)((uint8_t *)fault - fs->dev->base));
		rc = -EIO;
		goto out_free;
	}
	j.crc = journal_crc(fs, &j);
	memcpy(fs->ht->ht_pad2, &j, sizeof(j));
	fs->ht->ht_flags |= FAMFS_HT_COMPACTING;
	fs->ht->ht_generation++;
	fs_hosts_commit(fs);

	copy_journal(fs, &j, old_next);
	fs->ht->ht_flags &= ~(uint32_t)FAMFS_HT_COMPACTING;
	fs_hosts_commit(fs);
	/* The journal's space is free again; no file may find log entries in it. */
	if (fs_dev_fill(fs->dev->base + j.off, NULL, jmap.se[0].ext_len, &fault))
		famfs_warn("%s: memory error (SIGBUS) at device offset 0x%llx clearing the "
			   "compaction journal (the compaction itself is complete)",
			   fs->dev->path, (unsigned long long)((uint8_t *)fault - fs->dev->base));
	famfs_info("%s: log compacted from %llu to %llu entries (generation %llu)", fs->dev->path,
		   (unsigned long long)old_next, (unsigned long long)b.n,
		   (unsigned long long)fs->ht->ht_generation);
	/* fs->generation is still the old one: the refresh replays the new log. */
	free(objs);
	free(b.e);
	rc = famfs_fs_refresh(fs);
	return rc < 0 ? rc : 0;

out_free:
	free(objs);
	free(b.e);
	pthread_rwlock_wrlock(&fs->ns_lock);
	fs_dirty_attach_all(fs); /* not compacted: the pending values go back */
	pthread_rwlock_unlock(&fs->ns_lock);
	return rc;
}

int famfs_fs_compact(struct famfs_fs *fs)
{
	int rc = famfs_fs_lock(fs);

	if (rc)
		return rc;
	rc = fs_compact(fs);
	famfs_fs_unlock(fs);
	return rc;
}

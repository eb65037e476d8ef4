/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fsck.c
 * @brief famfs consistency check (see famfs/fsck.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "famfs/alloc.h"
#include "famfs/cache.h"
#include "famfs/fs.h"
#include "famfs/fsck.h"
#include "famfs/ns.h"
#include "famfs/path.h"
#include "fs_priv.h"

__attribute__((format(printf, 4, 5))) static void problem(struct famfs_fsck_report *r,
							  enum famfs_fsck_severity sev,
							  const char *where, const char *fmt, ...)
{
	struct famfs_fsck_problem *p;
	va_list ap;

	if (r->nproblems == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		void *n = realloc(r->problems, cap * sizeof(*r->problems));

		if (!n)
			return;
		r->problems = n;
		r->cap = cap;
	}
	p = &r->problems[r->nproblems++];
	p->severity = sev;
	snprintf(p->where, sizeof(p->where), "%s", where);
	va_start(ap, fmt);
	vsnprintf(p->what, sizeof(p->what), fmt, ap);
	va_end(ap);
	if (sev == FAMFS_FSCK_ERROR)
		r->nerrors++;
	else
		r->nwarnings++;
}

static void on_reject(void *arg, uint64_t index, const char *why)
{
	char where[32];

	snprintf(where, sizeof(where), "log entry %llu", (unsigned long long)index);
	problem(arg, FAMFS_FSCK_ERROR, where, "%s", why);
}

static void count_live(const struct famfs_inode *dir, struct famfs_fsck_report *r,
		       struct famfs_bitmap *owned)
{
	const struct famfs_inode *c;

	famfs_ns_foreach_child(dir, c)
	{
		if (S_ISDIR(c->mode)) {
			r->live_dirs++;
			count_live(c, r, owned);
		} else if (c->link_of) {
			/* A link name: its target's space is owned (a nameless target is
			 * reached only this way; marking twice is harmless). */
			famfs_bitmap_mark_fmap(owned, &c->link_of->fmap);
		} else {
			r->live_files++;
			famfs_bitmap_mark_fmap(owned, &c->fmap);
		}
	}
}

/* Replay as a host would, into a private view of @dev; fill the replay-level checks. */
static int replay_checks(const struct famfs_dev *dev, struct famfs_fsck_report *r)
{
	struct famfs_fs v;
	struct famfs_ht_header *ht = (void *)(dev->base + FAMFS_HT_OFFSET);
	struct famfs_bitmap owned;
	struct famfs_host_info hi[FAMFS_HT_SLOTS];
	uLong hcrc;
	int rc, n;

	memset(&v, 0, sizeof(v));
	v.dev = (struct famfs_dev *)dev;
	v.sb = (struct famfs_superblock *)dev->base;
	v.log = (struct famfs_log_header *)(dev->base + FAMFS_LOG_OFFSET);
	v.role = FAMFS_ROLE_CLIENT;
	/* This host's identity, to tell slots of its dead processes (best effort). */
	(void)famfs_system_uuid(NULL, v.system_uuid);
	v.on_reject = on_reject;
	v.reject_arg = r;
	famfs_cache_invalidate(ht, sizeof(*ht));
	hcrc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)ht,
		     offsetof(struct famfs_ht_header, ht_crc));
	if (ht->ht_magic == FAMFS_HT_MAGIC &&
	    (ht->ht_version != FAMFS_HT_VERSION || ht->ht_nslots != FAMFS_HT_SLOTS ||
	     ht->ht_crc != hcrc))
		problem(r, FAMFS_FSCK_ERROR, "host table",
			"the header is damaged (version %u, %u slots, CRC %s): no process "
			"registers, freed space is never reused and the log cannot be compacted",
			ht->ht_version, ht->ht_nslots, ht->ht_crc == hcrc ? "good" : "mismatch");
	if (ht->ht_magic == FAMFS_HT_MAGIC && ht->ht_version == FAMFS_HT_VERSION) {
		v.ht = ht;
		v.generation = ht->ht_generation;
		r->generation = ht->ht_generation;
		if (ht->ht_flags & FAMFS_HT_COMPACTING)
			problem(r, FAMFS_FSCK_ERROR, "host table",
				"a log compaction was interrupted; the next read-write open on the "
				"master host finishes it when its journal is whole (else the old "
				"log stays when it is whole)");
	}
	pthread_rwlock_init(&v.ns_lock, NULL);
	pthread_mutex_init(&v.mutex, NULL);
	rc = fs_replay_reset(&v);
	if (rc)
		goto out;
	famfs_fs_refresh(&v);
	r->collisions = v.stats.collisions;
	r->pending = fs_pending_bytes(&v);
	r->used = (v.bm.nset - v.bm.reserved) * v.bm.unit;
	r->free = famfs_bitmap_free_bytes(&v.bm);
	if (famfs_bitmap_init(&owned, v.bm.nbits * v.bm.unit, v.bm.unit, 0) == 0) {
		uint64_t used_units = v.bm.nset - v.bm.reserved - v.pending_bm.nset;

		count_live(v.ns.root, r, &owned);
		if (used_units > owned.nset) {
			r->leaked = (used_units - owned.nset) * v.bm.unit;
			problem(
			    r, FAMFS_FSCK_WARNING, "allocation",
			    "%llu bytes are allocated to no live file and not waiting for reuse "
			    "(leaked)",
			    (unsigned long long)r->leaked);
		}
		famfs_bitmap_fini(&owned);
	}
	if (v.reuse_max_freed_at) {
		uint64_t last_reused = v.reuse_max_freed_at - 1;

		if (!v.ht || !(v.ht->ht_flags & FAMFS_HT_NO_UPSTREAM))
			problem(r, FAMFS_FSCK_ERROR, "allocation",
				"space freed at log entry %llu was reused, but upstream hosts were "
				"not declared absent",
				(unsigned long long)last_reused);
		n = v.ht ? famfs_fs_hosts(&v, hi, FAMFS_HT_SLOTS) : 0;
		for (int i = 0; i < n; i++) {
			char u[37];

			/* A dead process's slot maps nothing: not an error. */
			if (hi[i].dead || hi[i].generation != v.generation ||
			    hi[i].safe > last_reused)
				continue;
			famfs_uuid_format(hi[i].uuid, u);
			problem(r, FAMFS_FSCK_ERROR, "allocation",
				"space freed at log entry %llu was reused while host slot %u "
				"(system %s, pid %u) may still map it (safe at %llu)",
				(unsigned long long)last_reused, hi[i].slot, u, hi[i].pid,
				(unsigned long long)hi[i].safe);
		}
	}
	rc = 0;
out:
	fs_replay_fini(&v);
	famfs_bitmap_fini(&v.dirty_bm);
	for (size_t i = 0; i < v.nretired; i++)
		famfs_ns_fini(&v.retired[i]);
	free(v.retired);
	pthread_rwlock_destroy(&v.ns_lock);
	pthread_mutex_destroy(&v.mutex);
	return rc;
}

int famfs_fsck(const struct famfs_dev *dev, struct famfs_fsck_report *r)
{
	const struct famfs_superblock *sb = (const void *)dev->base;
	const struct famfs_log_header *lh;
	uint64_t n;
	char why[256];
	int rc;

	memset(r, 0, sizeof(*r));
	famfs_cache_invalidate(sb, sizeof(*sb));
	r->version = sb->sb_version;
	rc = famfs_sb_check(sb, dev->size, why, sizeof(why));
	if (rc) {
		problem(r, FAMFS_FSCK_ERROR, "superblock", "%s", why);
		return (int)r->nerrors;
	}
	r->sb_valid = 1;
	if (sb->sb_daxdev.dd_size != dev->size)
		problem(r, FAMFS_FSCK_WARNING, "superblock",
			"recorded device size %llu differs from the device's %llu bytes",
			(unsigned long long)sb->sb_daxdev.dd_size, (unsigned long long)dev->size);
	if (sb->sb_version != FAMFS_CURRENT_VERSION)
		problem(r, FAMFS_FSCK_WARNING, "superblock",
			"version %llu: readable here, but upstream famfs at version %d refuses it",
			(unsigned long long)sb->sb_version, FAMFS_CURRENT_VERSION);

	lh = (const void *)(dev->base + FAMFS_LOG_OFFSET);
	famfs_cache_invalidate(lh, sb->sb_log_len);
	r->log_len = sb->sb_log_len;
	rc = famfs_log_header_check(lh, sb, why, sizeof(why));
	if (rc) {
		problem(r, FAMFS_FSCK_ERROR, "log header", "%s", why);
		return (int)r->nerrors;
	}
	r->log_valid = 1;
	r->log_slots = lh->lh_last_index + 1;
	r->log_used = lh->lh_next_index;
	if (lh->lh_next_seqnum != lh->lh_next_index)
		problem(r, FAMFS_FSCK_ERROR, "log header", "next_seqnum %llu != next_index %llu",
			(unsigned long long)lh->lh_next_seqnum,
			(unsigned long long)lh->lh_next_index);

	for (n = 0; n < lh->lh_next_index; n++) {
		const struct famfs_log_entry *le = &lh->lh_entries[n];
		char where[32];

		snprintf(where, sizeof(where), "log entry %llu", (unsigned long long)n);
		if (famfs_log_entry_check(le, n, why, sizeof(why))) {
			problem(r, FAMFS_FSCK_ERROR, where, "%s", why);
			r->bad_entries++;
			continue;
		}
		r->entries_valid++;
		if (le->le_type == FAMFS_LOG_FILE) {
			r->files++;
		} else if (le->le_type == FAMFS_LOG_MKDIR) {
			r->dirs++;
		} else if (famfs_xe_is_ext(le->le_type)) {
			r->ext_entries++;
		} else {
			r->other++;
			if (le->le_type != FAMFS_LOG_ADD_DAXDEV)
				problem(r, FAMFS_FSCK_WARNING, where, "unknown entry type %u",
					le->le_type);
		}
		if (famfs_entry_check_payload(le, sb, why, sizeof(why)))
			r->bad_payloads++;
	}
	if (replay_checks(dev, r))
		return -ENOMEM;
	{
		uint64_t unit = sb->sb_alloc_unit,
			 nbits = (sb->sb_daxdev.dd_size + unit - 1) / unit;

		r->capacity = nbits * unit;
		r->reserved = (FAMFS_LOG_OFFSET + sb->sb_log_len + unit - 1) / unit * unit;
	}
	/* Valid entries past next_index: one is an append that crashed before publishing
	 * it (it never counted); more cannot come from crashes, as each append publishes its
	 * entry before the next is written: the header's next_index is damaged and hides
	 * committed entries, which no open will replay. */
	for (n = lh->lh_next_index; n <= lh->lh_last_index; n++) {
		const struct famfs_log_entry *le = &lh->lh_entries[n];

		if (le->le_seqnum != n || !le->le_crc || famfs_log_entry_crc(le) != le->le_crc)
			break;
	}
	if (n - lh->lh_next_index == 1)
		problem(r, FAMFS_FSCK_WARNING, "log header",
			"slot %llu past next_index holds a valid entry (an append that did not "
			"publish; the next append overwrites it)",
			(unsigned long long)lh->lh_next_index);
	else if (n > lh->lh_next_index)
		problem(r, FAMFS_FSCK_ERROR, "log header",
			"%llu valid entries (%llu..%llu) lie past next_index %llu: the header is "
			"damaged and hides them; no open replays them",
			(unsigned long long)(n - lh->lh_next_index),
			(unsigned long long)lh->lh_next_index, (unsigned long long)(n - 1),
			(unsigned long long)lh->lh_next_index);
	return (int)r->nerrors;
}

void famfs_fsck_report_free(struct famfs_fsck_report *r)
{
	free(r->problems);
	memset(r, 0, sizeof(*r));
}

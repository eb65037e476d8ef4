/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fsck.c
 * @brief famfs consistency check (see famfs/fsck.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/alloc.h"
#include "famfs/cache.h"
#include "famfs/fs.h"
#include "famfs/fsck.h"
#include "famfs/ns.h"
#include "famfs/path.h"
#include "internal.h"

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

/* Namespace checks of one valid entry: parent exists, no duplicate of a different kind. */
static void check_namespace(struct famfs_fsck_report *r, struct famfs_ns *ns, uint64_t i,
			    const struct famfs_log_entry *le, const char *where)
{
	char parent_path[FAMFS_RELPATH_MAX + 1];
	struct famfs_inode tmpl, *parent, *old;
	const char *path = le->le_type == FAMFS_LOG_FILE ? le->le_file.fm_relpath
							 : le->le_mkdir.md_relpath;
	const char *name = famfs_relpath_split(path, parent_path);
	int rc;

	rc = famfs_ns_resolve(ns, parent_path, &parent);
	if (rc || !S_ISDIR(parent->mode)) {
		problem(r, FAMFS_FSCK_ERROR, where, "'%s': parent '%s' %s", path, parent_path,
			rc ? "does not exist" : "is not a directory");
		return;
	}
	old = famfs_ns_lookup(ns, parent, name, strlen(name));
	if (old) {
		problem(r, old->mode & S_IFDIR && le->le_type == FAMFS_LOG_MKDIR ? FAMFS_FSCK_WARNING
										: FAMFS_FSCK_ERROR,
			where, "'%s' was already created by log entry %llu; this entry is ignored",
			path, (unsigned long long)old->log_index);
		return;
	}
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.log_index = i;
	tmpl.mode = le->le_type == FAMFS_LOG_FILE ? S_IFREG : S_IFDIR;
	famfs_ns_add(ns, parent, name, &tmpl, NULL);
}

int famfs_fsck(const struct famfs_dev *dev, struct famfs_fsck_report *r)
{
	const struct famfs_superblock *sb = (const void *)dev->base;
	const struct famfs_log_header *lh;
	struct famfs_bitmap bm;
	struct famfs_ns ns;
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

	if (famfs_ns_init(&ns))
		return -ENOMEM;
	if (famfs_bitmap_init(&bm, sb->sb_daxdev.dd_size, sb->sb_alloc_unit,
			      FAMFS_LOG_OFFSET + sb->sb_log_len)) {
		famfs_ns_fini(&ns);
		return -ENOMEM;
	}
	r->capacity = bm.nbits * bm.unit;
	r->reserved = bm.reserved * bm.unit;
	for (n = 0; n < lh->lh_next_index; n++) {
		const struct famfs_log_entry *le = &lh->lh_entries[n];
		char where[32];
		uint64_t c;

		snprintf(where, sizeof(where), "log entry %llu", (unsigned long long)n);
		if (famfs_log_entry_check(le, n, why, sizeof(why))) {
			problem(r, FAMFS_FSCK_ERROR, where, "%s", why);
			r->bad_entries++;
			continue;
		}
		r->entries_valid++;
		switch (le->le_type) {
		case FAMFS_LOG_FILE:
			r->files++;
			c = famfs_bitmap_mark_fmap(&bm, &le->le_file.fm_fmap);
			if (c) {
				problem(r, FAMFS_FSCK_ERROR, where,
					"'%s': %llu allocation unit(s) already belong to another "
					"file (cross-linked)", le->le_file.fm_relpath,
					(unsigned long long)c);
				r->collisions += c;
			}
			break;
		case FAMFS_LOG_MKDIR:
			r->dirs++;
			break;
		case FAMFS_LOG_ADD_DAXDEV:
			r->other++;
			continue;
		default:
			r->other++;
			problem(r, FAMFS_FSCK_WARNING, where, "unknown entry type %u",
				le->le_type);
			continue;
		}
		if (famfs_entry_check_payload(le, sb, why, sizeof(why))) {
			problem(r, FAMFS_FSCK_ERROR, where, "%s", why);
			r->bad_payloads++;
			continue;
		}
		check_namespace(r, &ns, n, le, where);
	}
	for (n = lh->lh_next_index; n <= lh->lh_last_index; n++) {
		const struct famfs_log_entry *le = &lh->lh_entries[n];

		if (le->le_seqnum == n && le->le_crc && famfs_log_entry_crc(le) == le->le_crc) {
			problem(r, FAMFS_FSCK_WARNING, "log header",
				"slot %llu past next_index holds a valid entry (an append that "
				"did not publish)", (unsigned long long)n);
			break;
		}
	}
	r->used = (bm.nset - bm.reserved) * bm.unit;
	r->free = famfs_bitmap_free_bytes(&bm);
	famfs_bitmap_fini(&bm);
	famfs_ns_fini(&ns);
	return (int)r->nerrors;
}

void famfs_fsck_report_free(struct famfs_fsck_report *r)
{
	free(r->problems);
	memset(r, 0, sizeof(*r));
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file check.c
 * @brief What a log entry may hold: paths, extents, extension payloads.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/io.h"
#include "famfs/path.h"
#include "fs_priv.h"

static int check_extent(const struct famfs_omf_extent *e, const struct famfs_superblock *sb,
			uint64_t unit, const char *what, unsigned int k, char *why, size_t whylen)
{
	uint64_t data_start = FAMFS_LOG_OFFSET + sb->sb_log_len;

	if (e->ext_devindex != 0) {
		famfs_why(why, whylen, "%s %u: devindex %llu (only device 0 exists)", what, k,
			  (unsigned long long)e->ext_devindex);
		return -EINVAL;
	}
	if (e->ext_offset == 0 || e->ext_len == 0) {
		famfs_why(why, whylen, "%s %u: offset or length is 0", what, k);
		return -EINVAL;
	}
	if (e->ext_offset % unit || e->ext_len % unit) {
		famfs_why(why, whylen,
			  "%s %u: offset 0x%llx or length 0x%llx is not a multiple of "
			  "0x%llx",
			  what, k, (unsigned long long)e->ext_offset,
			  (unsigned long long)e->ext_len, (unsigned long long)unit);
		return -EINVAL;
	}
	if (e->ext_offset < data_start || e->ext_offset > sb->sb_daxdev.dd_size ||
	    e->ext_len > sb->sb_daxdev.dd_size - e->ext_offset) {
		famfs_why(why, whylen,
			  "%s %u: [0x%llx, +0x%llx) is outside the data area "
			  "[0x%llx, 0x%llx)",
			  what, k, (unsigned long long)e->ext_offset,
			  (unsigned long long)e->ext_len, (unsigned long long)data_start,
			  (unsigned long long)sb->sb_daxdev.dd_size);
		return -EINVAL;
	}
	return 0;
}

static int check_extents(const struct famfs_omf_extent *e, uint32_t n,
			 const struct famfs_superblock *sb, uint64_t unit, const char *what,
			 const char *path, char *why, size_t whylen)
{
	for (uint32_t k = 0; k < n; k++) {
		char r[200];
		int rc = check_extent(&e[k], sb, unit, what, k, r, sizeof(r));

		if (rc) {
			famfs_why(why, whylen, "'%s': %s", path, r);
			return rc;
		}
	}
	return 0;
}

static int check_relpath_field(const char *field, char *why, size_t whylen)
{
	char reason[160];
	int rc;

	if (!memchr(field, '\0', FAMFS_MAX_PATHLEN)) {
		famfs_why(why, whylen, "path is not NUL-terminated within %d bytes",
			  FAMFS_MAX_PATHLEN);
		return -EINVAL;
	}
	rc = famfs_relpath_check(field, reason, sizeof(reason));
	if (rc) {
		famfs_why(why, whylen, "%s", reason);
		return -EINVAL;
	}
	return 0;
}

/*
 * An extent map for a file of @size bytes whose simple extents are multiples of @unit;
 * @allow_empty admits a map of no extent.
 */
static int check_fmap(const struct famfs_omf_fmap *m, uint64_t size,
		      const struct famfs_superblock *sb, uint64_t unit, const char *path,
		      bool allow_empty, char *why, size_t whylen)
{
	int rc;

	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		if (m->fmap_count > FAMFS_MAX_SIMPLE_EXT || (!allow_empty && m->fmap_count < 1)) {
			famfs_why(why, whylen, "'%s': %u simple extents (%d..%d allowed)", path,
				  m->fmap_count, allow_empty ? 0 : 1, FAMFS_MAX_SIMPLE_EXT);
			return -EINVAL;
		}
		rc = check_extents(m->se, m->fmap_count, sb, unit, "extent", path, why, whylen);
		if (rc)
			return rc;
	} else if (m->fmap_ext_type == FAMFS_EXT_INTERLEAVE) {
		const struct famfs_omf_interleave *ie = &m->ie[0];

		if (m->fmap_count != 1) {
			famfs_why(why, whylen, "'%s': %u interleaved extents (exactly 1 allowed)",
				  path, m->fmap_count);
			return -EINVAL;
		}
		if (ie->ie_nstrips < 1 || ie->ie_nstrips > FAMFS_MAX_STRIPS) {
			famfs_why(why, whylen, "'%s': %llu strips (1..%d allowed)", path,
				  (unsigned long long)ie->ie_nstrips, FAMFS_MAX_STRIPS);
			return -EINVAL;
		}
		if (!ie->ie_chunk_size || (ie->ie_chunk_size & (ie->ie_chunk_size - 1)) ||
		    ie->ie_chunk_size % sb->sb_alloc_unit) {
			famfs_why(why, whylen,
				  "'%s': chunk size 0x%llx is not a power-of-two "
				  "multiple of the allocation unit",
				  path, (unsigned long long)ie->ie_chunk_size);
			return -EINVAL;
		}
		rc = check_extents(ie->ie_strips, (uint32_t)ie->ie_nstrips, sb, sb->sb_alloc_unit,
				   "strip", path, why, whylen);
		if (rc)
			return rc;
	} else {
		famfs_why(why, whylen, "'%s': unknown extent type %u", path, m->fmap_ext_type);
		return -EINVAL;
	}
	if (famfs_fmap_capacity(m) < size) {
		famfs_why(why, whylen, "'%s': size %llu exceeds its %llu allocated bytes", path,
			  (unsigned long long)size, (unsigned long long)famfs_fmap_capacity(m));
		return -EINVAL;
	}
	return 0;
}

void fs_xe_names(const struct famfs_log_entry *le, struct fs_xe_names *n)
{
	const struct famfs_xe_hdr *h = (const void *)le->le_payload;
	bool lng = h->xh_version == FAMFS_XE_VERSION_LONG;
	size_t nsz = lng ? FAMFS_XE_LONG_NAME : FAMFS_MAX_PATHLEN;

	memset(n, 0, sizeof(*n));
	switch (le->le_type) {
	case FAMFS_XE_CREATE:
		n->name = ((const struct famfs_xe_create *)le->le_payload)->xc_name;
		n->name_size = nsz;
		return;
	case FAMFS_XE_REMOVE:
		n->name = ((const struct famfs_xe_remove *)le->le_payload)->xr_name;
		n->name_size = nsz;
		return;
	case FAMFS_XE_LINK:
		n->name = ((const struct famfs_xe_link *)le->le_payload)->xl_name;
		n->name_size = nsz;
		return;
	case FAMFS_XE_RENAME:
		if (lng) {
			n->name = ((const struct famfs_xe_rename3 *)le->le_payload)->xn_new_name;
		} else {
			n->name = ((const struct famfs_xe_rename *)le->le_payload)->xn_new_name;
			n->old_name = ((const struct famfs_xe_rename *)le->le_payload)->xn_old_name;
			n->old_size = FAMFS_MAX_PATHLEN;
		}
		n->name_size = nsz;
		return;
	case FAMFS_XE_MKNOD:
		n->name = ((const struct famfs_xe_mknod *)le->le_payload)->xk_name;
		n->name_size = nsz;
		n->target = lng ? ((const struct famfs_xe_mknod3 *)le->le_payload)->xk_target
				: ((const struct famfs_xe_mknod *)le->le_payload)->xk_target;
		n->target_size = lng ? FAMFS_XE_TARGET3_MAX + 1 : FAMFS_XE_TARGET_MAX + 1;
		return;
	default:
		return;
	}
}

const struct famfs_xc_map *fs_xc_map(const struct famfs_log_entry *le, uint32_t *max)
{
	const struct famfs_xe_hdr *h = (const void *)le->le_payload;
	bool lng = h->xh_version == FAMFS_XE_VERSION_LONG;

	if (le->le_type != FAMFS_XE_CREATE || !(h->xh_flags & FAMFS_XC_MAP))
		return NULL;
	*max = lng ? 10 : FAMFS_XC_MAP_MAX;
	return (const void *)(le->le_payload + (lng ? 336 : 160) - 16);
}

/* The map part of an XE_CREATE: a simple map of 4 KiB multiples, holding the size. */
static int check_xc_map(const struct famfs_log_entry *le, const struct famfs_superblock *sb,
			char *why, size_t whylen)
{
	const struct famfs_xe_hdr *h = (const void *)le->le_payload;
	const struct famfs_xc_map *m;
	struct famfs_omf_fmap f = {.fmap_ext_type = FAMFS_EXT_SIMPLE};
	uint32_t max;

	m = fs_xc_map(le, &max);
	if (!m)
		return 0;
	if (h->xh_version < FAMFS_XE_VERSION_PACKED || m->xm_count > max) {
		famfs_why(why, whylen, "create with a map: version %u, %u extents (at most %u)",
			  h->xh_version, m->xm_count, max);
		return -EINVAL;
	}
	f.fmap_count = m->xm_count;
	for (uint32_t k = 0; k < m->xm_count; k++) {
		f.se[k].ext_offset = m->xm_ext[k].off;
		f.se[k].ext_len = m->xm_ext[k].len;
	}
	return check_fmap(&f, m->xm_size, sb, FAMFS_ALLOC_UNIT_SMALL, "(create)", true, why,
			  whylen);
}

/* A single path component, NUL-terminated inside its field of @size bytes. */
static int check_name_field(const char *field, size_t size, char *why, size_t whylen)
{
	size_t n = strnlen(field, size);

	if (n == 0 || n == size || memchr(field, '/', n) || !strcmp(field, ".") ||
	    !strcmp(field, "..")) {
		famfs_why(why, whylen, "bad name '%.*s'", (int)(n > 80 ? 80 : n), field);
		return -EINVAL;
	}
	return 0;
}

/* An XE_MKNOD: its name, a type that holds no data, a symlink's target within bounds. */
static int check_mknod(const struct famfs_log_entry *le, char *why, size_t whylen)
{
	const struct famfs_xe_mknod *k = (const void *)le->le_payload;
	struct fs_xe_names f;
	mode_t t = k->xk_mode & S_IFMT;
	int rc;

	fs_xe_names(le, &f);
	rc = check_name_field(f.name, f.name_size, why, whylen);
	if (rc)
		return rc;
	if (t != S_IFLNK && t != S_IFIFO && t != S_IFSOCK && t != S_IFCHR && t != S_IFBLK) {
		famfs_why(why, whylen, "mknod of '%.80s': type 0%o holds data or is unknown",
			  f.name, (unsigned int)t);
		return -EINVAL;
	}
	if (t == S_IFLNK ? (k->xk_target_len == 0 || k->xk_target_len >= f.target_size ||
			    strnlen(f.target, f.target_size) != k->xk_target_len)
			 : k->xk_target_len != 0) {
		famfs_why(why, whylen,
			  "mknod of '%.80s': target length %u does not match its target", f.name,
			  k->xk_target_len);
		return -EINVAL;
	}
	return 0;
}

/* Extension version 2 entries may hold packed (4 KiB) extents; version 1 whole units. */
static uint64_t xe_unit(const struct famfs_log_entry *le, const struct famfs_superblock *sb)
{
	const struct famfs_xe_hdr *h = (const void *)le->le_payload;

	return h->xh_version >= FAMFS_XE_VERSION_PACKED ? FAMFS_ALLOC_UNIT_SMALL
							: sb->sb_alloc_unit;
}

int famfs_entry_check_payload(const struct famfs_log_entry *le, const struct famfs_superblock *sb,
			      char *why, size_t whylen)
{
	const struct famfs_omf_file *f = &le->le_file;
	int rc;

	switch (le->le_type) {
	case FAMFS_LOG_MKDIR:
		return check_relpath_field(le->le_mkdir.md_relpath, why, whylen);
	case FAMFS_LOG_FILE:
		rc = check_relpath_field(f->fm_relpath, why, whylen);
		if (rc)
			return rc;
		if (f->fm_size == 0) {
			famfs_why(why, whylen, "'%s': file size 0", f->fm_relpath);
			return -EINVAL;
		}
		return check_fmap(&f->fm_fmap, f->fm_size, sb, sb->sb_alloc_unit, f->fm_relpath,
				  false, why, whylen);
	case FAMFS_XE_MKNOD:
		return check_mknod(le, why, whylen);
	case FAMFS_XE_CREATE:
	case FAMFS_XE_REMOVE:
	case FAMFS_XE_LINK:
	case FAMFS_XE_RENAME: {
		struct fs_xe_names n;

		fs_xe_names(le, &n);
		rc = n.old_name ? check_name_field(n.old_name, n.old_size, why, whylen) : 0;
		if (!rc)
			rc = check_name_field(n.name, n.name_size, why, whylen);
		return rc ? rc : check_xc_map(le, sb, why, whylen);
	}
	case FAMFS_XE_RESIZE: {
		const struct famfs_xe_resize *z = (const void *)le->le_payload;

		return check_fmap(&z->xz_fmap, z->xz_size, sb, xe_unit(le, sb), "(resize)", true,
				  why, whylen);
	}
	case FAMFS_XE_INOMAP:
		if (((const struct famfs_xe_inomap *)le->le_payload)->xm_count >
		    FAMFS_XE_INOMAP_MAX) {
			famfs_why(why, whylen, "inode map holds more than %d numbers",
				  FAMFS_XE_INOMAP_MAX);
			return -EINVAL;
		}
		return 0;
	case FAMFS_XE_RESERVE: {
		const struct famfs_xe_reserve *v = (const void *)le->le_payload;

		if (v->xv_count > FAMFS_XE_RESERVE_MAX) {
			famfs_why(why, whylen, "reserve entry holds more than %d extents",
				  FAMFS_XE_RESERVE_MAX);
			return -EINVAL;
		}
		return check_extents(v->xv_ext, v->xv_count, sb, xe_unit(le, sb), "reserved extent",
				     "(reserve)", why, whylen);
	}
	default:
		return 0;
	}
}

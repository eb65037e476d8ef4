/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file mkfs.c
 * @brief Write a fresh superblock and an empty log (upstream version 48 layout).
 */
#include <errno.h>
#include <string.h>

#include "famfs/cache.h"
#include "famfs/fs.h"
#include "fs_priv.h"

int famfs_uuid_random(uint8_t uuid[FAMFS_UUID_LEN]);

int famfs_mkfs(struct famfs_dev *dev, const struct famfs_mkfs_opts *opts)
{
	static const struct famfs_mkfs_opts defaults;
	struct famfs_superblock *sb = (struct famfs_superblock *)dev->base;
	struct famfs_superblock nsb;
	struct famfs_log_header *lh;
	uint64_t log_len;
	char why[200], owner[37];
	int rc;

	if (!opts)
		opts = &defaults;
	log_len = opts->log_len ? opts->log_len : FAMFS_LOG_LEN_DEFAULT;
	if (log_len < FAMFS_LOG_LEN_MIN || (log_len & (log_len - 1))) {
		famfs_err("log size %llu is not a power of two of at least 8 MiB",
			  (unsigned long long)log_len);
		return -EINVAL;
	}
	if (dev->size < famfs_dev_min_size(log_len)) {
		famfs_err("%s: %llu bytes cannot hold a %llu-byte log and any data", dev->path,
			  (unsigned long long)dev->size, (unsigned long long)log_len);
		return -ENOSPC;
	}
	if (dev->readonly) {
		famfs_err("%s: opened read-only", dev->path);
		return -EROFS;
	}
	famfs_cache_invalidate(sb, sizeof(*sb));
	rc = famfs_sb_check(sb, 0, why, sizeof(why));
	if ((rc == 0 || rc == -EPROTONOSUPPORT || rc == -EINVAL) && !opts->force) {
		famfs_uuid_format(sb->sb_system_uuid, owner);
		famfs_err("%s: already holds a famfs (version %llu, master %s); use --force to "
			  "overwrite it",
			  dev->path, (unsigned long long)sb->sb_version, owner);
		return -EEXIST;
	}

	/* Everything that can fail is decided before the device is touched. */
	memset(&nsb, 0, sizeof(nsb));
	nsb.sb_magic = FAMFS_SUPER_MAGIC;
	nsb.sb_version = FAMFS_CURRENT_VERSION;
	nsb.sb_log_offset = FAMFS_LOG_OFFSET;
	nsb.sb_log_len = log_len;
	nsb.sb_alloc_unit = FAMFS_ALLOC_UNIT;
	nsb.sb_omf_major = FAMFS_OMF_VER_MAJOR;
	nsb.sb_omf_minor = FAMFS_OMF_VER_MINOR;
	if (opts->fs_uuid) {
		rc = famfs_uuid_parse(opts->fs_uuid, nsb.sb_uuid);
		if (rc) {
			famfs_err("file-system UUID '%s' is not a UUID", opts->fs_uuid);
			return rc;
		}
	} else if ((rc = famfs_uuid_random(nsb.sb_uuid))) {
		return rc;
	}
	rc = famfs_uuid_random(nsb.sb_dev_uuid);
	if (rc)
		return rc;
	rc = famfs_system_uuid(opts->system_uuid, nsb.sb_system_uuid);
	if (rc)
		return rc;
	nsb.sb_crc = famfs_sb_crc(&nsb);
	nsb.sb_daxdev.dd_size = dev->size;
	/* Upstream keeps at most 64 bytes of the path, without a NUL when it is that long. */
	{
		size_t n = strlen(dev->path);

		memcpy(nsb.sb_daxdev.dd_name, dev->path,
		       n < sizeof(nsb.sb_daxdev.dd_name) ? n : sizeof(nsb.sb_daxdev.dd_name));
	}

	/* The log first, then the superblock that makes it a file system. */
	lh = (struct famfs_log_header *)(dev->base + FAMFS_LOG_OFFSET);
	memset(lh, 0, log_len);
	lh->lh_magic = FAMFS_LOG_MAGIC;
	lh->lh_len = log_len;
	lh->lh_last_index = famfs_log_last_index(log_len);
	lh->lh_crc = famfs_log_header_crc(lh);
	famfs_cache_flush(lh, log_len);
	fs_hosts_init_table(sb, opts->no_upstream ? FAMFS_HT_NO_UPSTREAM : 0);
	memcpy(sb, &nsb, sizeof(nsb));
	famfs_cache_flush(sb, sizeof(*sb));
	return 0;
}

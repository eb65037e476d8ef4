/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file omf.c
 * @brief CRCs and validation of the on-media structs (see famfs/omf.h for the layout).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "famfs/omf.h"
#include "internal.h"

static uint64_t crc_of(const void *p, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	return (uint64_t)crc32(crc, (const Bytef *)p, (uInt)len);
}

uint64_t famfs_sb_crc(const struct famfs_superblock *sb)
{
	return crc_of(sb, offsetof(struct famfs_superblock, sb_crc));
}

uint64_t famfs_log_header_crc(const struct famfs_log_header *lh)
{
	return crc_of(lh, offsetof(struct famfs_log_header, lh_crc));
}

uint64_t famfs_log_entry_crc(const struct famfs_log_entry *le)
{
	return crc_of(le, offsetof(struct famfs_log_entry, le_crc));
}

int famfs_sb_check(const struct famfs_superblock *sb, uint64_t dev_size, char *why, size_t whylen)
{
	uint64_t crc;

	if (sb->sb_magic != FAMFS_SUPER_MAGIC) {
		famfs_why(why, whylen, "superblock: no famfs magic (found 0x%llx, want 0x%llx)",
			  (unsigned long long)sb->sb_magic, (unsigned long long)FAMFS_SUPER_MAGIC);
		return -ENODATA;
	}
	if (sb->sb_version != 47 && sb->sb_version != 48) {
		famfs_why(why, whylen,
			  "superblock: version %llu is not supported (this build reads 47 and 48)",
			  (unsigned long long)sb->sb_version);
		return -EPROTONOSUPPORT;
	}
	crc = famfs_sb_crc(sb);
	if (sb->sb_crc != crc) {
		famfs_why(why, whylen, "superblock: CRC mismatch (stored 0x%llx, computed 0x%llx)",
			  (unsigned long long)sb->sb_crc, (unsigned long long)crc);
		return -EBADMSG;
	}
	if (sb->sb_alloc_unit != FAMFS_ALLOC_UNIT && sb->sb_alloc_unit != FAMFS_ALLOC_UNIT_SMALL) {
		famfs_why(why, whylen, "superblock: alloc unit 0x%llx is neither 0x200000 nor 4096",
			  (unsigned long long)sb->sb_alloc_unit);
		return -EINVAL;
	}
	if (sb->sb_log_offset != FAMFS_LOG_OFFSET) {
		famfs_why(why, whylen, "superblock: log offset 0x%llx is not 0x200000",
			  (unsigned long long)sb->sb_log_offset);
		return -EINVAL;
	}
	if (sb->sb_log_len < FAMFS_LOG_LEN_MIN || (sb->sb_log_len & (sb->sb_log_len - 1))) {
		famfs_why(why, whylen,
			  "superblock: log length 0x%llx is not a power of two of at least 8 MiB",
			  (unsigned long long)sb->sb_log_len);
		return -EINVAL;
	}
	if (sb->sb_daxdev.dd_size < FAMFS_LOG_OFFSET + sb->sb_log_len) {
		famfs_why(why, whylen,
			  "superblock: device size %llu cannot hold the superblock and log",
			  (unsigned long long)sb->sb_daxdev.dd_size);
		return -EINVAL;
	}
	if (dev_size && sb->sb_daxdev.dd_size > dev_size) {
		famfs_why(
		    why, whylen,
		    "superblock: recorded device size %llu is larger than the device (%llu bytes)",
		    (unsigned long long)sb->sb_daxdev.dd_size, (unsigned long long)dev_size);
		return -EINVAL;
	}
	return 0;
}

int famfs_log_header_check(const struct famfs_log_header *lh, const struct famfs_superblock *sb,
			   char *why, size_t whylen)
{
	uint64_t crc;

	if (lh->lh_magic != FAMFS_LOG_MAGIC) {
		famfs_why(why, whylen, "log header: bad magic 0x%llx (want 0x%llx)",
			  (unsigned long long)lh->lh_magic, (unsigned long long)FAMFS_LOG_MAGIC);
		return -ENODATA;
	}
	crc = famfs_log_header_crc(lh);
	if (lh->lh_crc != crc) {
		famfs_why(why, whylen, "log header: CRC mismatch (stored 0x%llx, computed 0x%llx)",
			  (unsigned long long)lh->lh_crc, (unsigned long long)crc);
		return -EBADMSG;
	}
	if (lh->lh_len != sb->sb_log_len) {
		famfs_why(why, whylen,
			  "log header: length 0x%llx differs from the superblock's 0x%llx",
			  (unsigned long long)lh->lh_len, (unsigned long long)sb->sb_log_len);
		return -EINVAL;
	}
	if (lh->lh_last_index != famfs_log_last_index(lh->lh_len)) {
		famfs_why(why, whylen,
			  "log header: last index %llu, want %llu for a 0x%llx-byte log",
			  (unsigned long long)lh->lh_last_index,
			  (unsigned long long)famfs_log_last_index(lh->lh_len),
			  (unsigned long long)lh->lh_len);
		return -EINVAL;
	}
	if (lh->lh_next_index > lh->lh_last_index + 1) {
		famfs_why(why, whylen, "log header: next index %llu is past the last slot %llu",
			  (unsigned long long)lh->lh_next_index,
			  (unsigned long long)lh->lh_last_index);
		return -EINVAL;
	}
	return 0;
}

int famfs_log_entry_check(const struct famfs_log_entry *le, uint64_t index, char *why,
			  size_t whylen)
{
	uint64_t crc;

	if (le->le_seqnum != index) {
		famfs_why(why, whylen, "log entry %llu: seqnum %llu does not match its index",
			  (unsigned long long)index, (unsigned long long)le->le_seqnum);
		return -EILSEQ;
	}
	crc = famfs_log_entry_crc(le);
	if (le->le_crc != crc) {
		famfs_why(why, whylen,
			  "log entry %llu: CRC mismatch (stored 0x%llx, computed 0x%llx)",
			  (unsigned long long)index, (unsigned long long)le->le_crc,
			  (unsigned long long)crc);
		return -EBADMSG;
	}
	return 0;
}

const char *famfs_log_entry_type_name(uint32_t type)
{
	switch (type) {
	case FAMFS_LOG_FILE:
		return "file";
	case FAMFS_LOG_MKDIR:
		return "mkdir";
	case FAMFS_LOG_DELETE:
		return "delete";
	case FAMFS_LOG_ADD_DAXDEV:
		return "add_daxdev";
	case FAMFS_LOG_INVALID:
		return "invalid";
	case 0x4701:
		return "x-create";
	case 0x4702:
		return "x-remove";
	case 0x4703:
		return "x-rename";
	case 0x4704:
		return "x-resize";
	case 0x4705:
		return "x-setattr";
	case 0x4706:
		return "x-loginfo";
	case 0x4707:
		return "x-inomap";
	case 0x4708:
		return "x-reserve";
	case 0x4709:
		return "x-mknod";
	case 0x470a:
		return "x-link";
	default:
		return "unknown";
	}
}

void famfs_uuid_format(const uint8_t uuid[FAMFS_UUID_LEN], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	int o = 0;

	for (int i = 0; i < FAMFS_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 15];
	}
	out[o] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int famfs_uuid_parse(const char *text, uint8_t uuid[FAMFS_UUID_LEN])
{
	int n = 0;

	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return -EINVAL;
			continue;
		}
		int hi = hexval(text[i]);
		int lo;

		if (hi < 0)
			return -EINVAL;
		lo = hexval(text[++i]);
		if (lo < 0)
			return -EINVAL;
		uuid[n++] = (uint8_t)(hi << 4 | lo);
	}
	if (text[36] != '\0' && text[36] != '\n')
		return -EINVAL;
	return 0;
}

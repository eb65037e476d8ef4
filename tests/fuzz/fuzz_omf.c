// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_omf.c - libFuzzer harness: the input as a superblock, a log header and single log
 * entries, through every check of omf.h and famfs_entry_check_payload() (fs.h).
 *
 * Input: byte 0 chooses which CRC fields are fixed up with the real CRC (so the checks
 * after the CRC are reached); the rest is the superblock (200 bytes), the log header
 * (48 bytes), then entries of 544 bytes (a short last one is zero-padded). An entry's
 * payload is checked against the fuzzed superblock when that one is valid, else against
 * the superblock of an 8 MiB-log, 1 GiB famfs as mkfs writes it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "famfs/fs.h"
#include "famfs/omf.h"
#include "famfs/omf_ext.h"

static void ref_sb(struct famfs_superblock *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->sb_magic = FAMFS_SUPER_MAGIC;
	sb->sb_version = FAMFS_CURRENT_VERSION;
	sb->sb_log_offset = FAMFS_LOG_OFFSET;
	sb->sb_log_len = FAMFS_LOG_LEN_DEFAULT;
	sb->sb_alloc_unit = FAMFS_ALLOC_UNIT;
	sb->sb_omf_major = FAMFS_OMF_VER_MAJOR;
	sb->sb_omf_minor = FAMFS_OMF_VER_MINOR;
	sb->sb_daxdev.dd_size = 1ULL << 30;
	sb->sb_crc = famfs_sb_crc(sb);
}

/* Consume up to @n bytes of the input into @dst, zero-padding a short tail. */
static void take(void *dst, size_t n, const uint8_t **data, size_t *size)
{
	size_t k = *size < n ? *size : n;

	memset(dst, 0, n);
	memcpy(dst, *data, k);
	*data += k;
	*size -= k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct famfs_superblock sb, ref;
	struct famfs_log_header lh;
	struct famfs_log_entry le;
	char why[256], small[8], uuid[37];
	uint8_t flags, u[FAMFS_UUID_LEN];
	uint64_t index = 0;
	int sb_ok;

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	ref_sb(&ref);

	take(&sb, sizeof(sb), &data, &size);
	if (flags & 1)
		sb.sb_crc = famfs_sb_crc(&sb);
	sb_ok = famfs_sb_check(&sb, 0, why, sizeof(why)) == 0;
	(void)famfs_sb_check(&sb, sb.sb_daxdev.dd_size ^ (flags & 0x80 ? 1 : 0), small,
			     sizeof(small));
	(void)famfs_sb_check(&sb, 1ULL << 30, NULL, 0);
	famfs_uuid_format(sb.sb_uuid, uuid);
	if (famfs_uuid_parse(uuid, u) != 0 || memcmp(u, sb.sb_uuid, sizeof(u)) != 0)
		__builtin_trap(); /* format and parse must round-trip */
	memcpy(uuid, sb.sb_daxdev.dd_name, sizeof(uuid) - 1);
	uuid[sizeof(uuid) - 1] = '\0';
	(void)famfs_uuid_parse(uuid, u);

	take(&lh, sizeof(lh), &data, &size);
	if (flags & 2)
		lh.lh_crc = famfs_log_header_crc(&lh);
	(void)famfs_log_header_check(&lh, sb_ok ? &sb : &ref, why, sizeof(why));
	(void)famfs_log_header_check(&lh, &sb, small, sizeof(small));

	while (size > 0) {
		take(&le, sizeof(le), &data, &size);
		if (flags & 4)
			le.le_seqnum = index;
		if (flags & 8)
			le.le_crc = famfs_log_entry_crc(&le);
		(void)famfs_log_entry_check(&le, index, why, sizeof(why));
		(void)famfs_log_entry_check(&le, index + 1, NULL, 0);
		(void)famfs_log_entry_type_name(le.le_type);
		(void)famfs_xe_is_ext(le.le_type);
		(void)famfs_entry_check_payload(&le, sb_ok ? &sb : &ref, why, sizeof(why));
		(void)famfs_entry_check_payload(&le, &ref, small, sizeof(small));
		(void)famfs_entry_check_payload(&le, &ref, NULL, 0);
		index++;
	}
	return 0;
}

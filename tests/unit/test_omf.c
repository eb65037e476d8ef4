/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_omf.c
 * @brief On-media format: layout against upstream's bytes, CRCs, validation messages.
 *
 * The known answers come from the upstream-written fixture (tests/fixtures), whose
 * manifest lists the CRCs and fields that upstream famfs computed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "famfs/omf.h"

#define META_SIZE (10u << 20)

static uint8_t *load_fixture(void)
{
	uint8_t *img = malloc(META_SIZE);
	gzFile gz = gzopen(FAMFS_TEST_FIXTURES "/famfs-v48-meta-10MiB.img.gz", "rb");
	int n;

	assert_non_null(img);
	assert_non_null(gz);
	n = gzread(gz, img, META_SIZE);
	gzclose(gz);
	assert_int_equal(n, META_SIZE);
	return img;
}

static uint64_t le64_at(const uint8_t *p, size_t off)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[off + (size_t)i];
	return v;
}

static uint32_t le32_at(const uint8_t *p, size_t off)
{
	return (uint32_t)le64_at(p, off) & 0xffffffffu; /* low half of an 8-byte read */
}

static void sb_fields_at_table_offsets(void **state)
{
	uint8_t *img = load_fixture();
	const struct famfs_superblock *sb = (const void *)img;
	(void)state;

	/* Bytes at the offsets of famfs-format.md section 3 equal the struct's fields. */
	assert_int_equal(le64_at(img, 0), FAMFS_SUPER_MAGIC);
	assert_int_equal(le64_at(img, 8), 48);
	assert_int_equal(le64_at(img, 16), 0x200000);
	assert_int_equal(le64_at(img, 24), 0x800000);
	assert_int_equal(le64_at(img, 32), 0x200000);
	assert_int_equal(le32_at(img, 40), 2);
	assert_int_equal(le32_at(img, 44), 2);
	assert_int_equal(img[48], 0xa1);
	assert_int_equal(img[80], 0x5a);
	assert_int_equal(le64_at(img, 96), 0x12407c88);
	assert_int_equal(le64_at(img, 112), 4ULL << 30);
	assert_memory_equal(img + 136, "/dev/dax0.0", 12);
	assert_int_equal(sb->sb_magic, le64_at(img, 0));
	assert_int_equal(sb->sb_crc, le64_at(img, 96));
	assert_int_equal(sb->sb_daxdev.dd_size, le64_at(img, 112));
	assert_string_equal(sb->sb_daxdev.dd_name, "/dev/dax0.0");
	free(img);
}

static void famfs_sb_crc_matches_upstream(void **state)
{
	uint8_t *img = load_fixture();
	const struct famfs_superblock *sb = (const void *)img;
	char why[200] = "";
	(void)state;

	assert_int_equal(famfs_sb_crc(sb), 0x12407c88);
	assert_int_equal(famfs_sb_check(sb, 4ULL << 30, why, sizeof(why)), 0);
	free(img);
}

static void famfs_log_crcs_match_upstream(void **state)
{
	uint8_t *img = load_fixture();
	const struct famfs_superblock *sb = (const void *)img;
	const struct famfs_log_header *lh = (const void *)(img + FAMFS_LOG_OFFSET);
	(void)state;

	assert_int_equal(famfs_log_header_crc(lh), 0xa5875078);
	assert_int_equal(famfs_log_header_check(lh, sb, NULL, 0), 0);
	assert_int_equal(lh->lh_last_index, 15419);
	assert_int_equal(famfs_log_last_index(0x800000), 15419);
	assert_int_equal(lh->lh_next_index, 8);
	for (uint64_t i = 0; i < lh->lh_next_index; i++)
		assert_int_equal(famfs_log_entry_check(&lh->lh_entries[i], i, NULL, 0), 0);
	/* Entry 4 is the interleaved file of the manifest. */
	assert_int_equal(lh->lh_entries[4].le_type, FAMFS_LOG_FILE);
	assert_string_equal(lh->lh_entries[4].le_file.fm_relpath, "dir1/subdir/striped.bin");
	assert_int_equal(lh->lh_entries[4].le_file.fm_fmap.fmap_ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(lh->lh_entries[4].le_file.fm_fmap.ie[0].ie_nstrips, 3);
	assert_int_equal(lh->lh_entries[4].le_file.fm_fmap.ie[0].ie_strips[1].ext_offset,
			 0x40000000);
	assert_int_equal(lh->lh_entries[1].le_mkdir.md_mode, 0750);
	assert_int_equal(lh->lh_entries[1].le_mkdir.md_uid, 1000);
	free(img);
}

static void famfs_sb_check_accepts_v47(void **state)
{
	uint8_t *img = load_fixture();
	struct famfs_superblock *sb = (void *)img;
	(void)state;

	sb->sb_version = 47;
	sb->sb_omf_minor = 1;
	sb->sb_crc = famfs_sb_crc(sb);
	assert_int_equal(famfs_sb_check(sb, 0, NULL, 0), 0);
	free(img);
}

static void famfs_sb_check_names_each_problem(void **state)
{
	uint8_t *img = load_fixture();
	struct famfs_superblock *sb = (void *)img, saved = *sb;
	char why[200];
	(void)state;

	sb->sb_magic = 0x1234;
	assert_int_equal(famfs_sb_check(sb, 0, why, sizeof(why)), -ENODATA);
	assert_non_null(strstr(why, "magic"));
	*sb = saved;

	sb->sb_version = 46;
	sb->sb_crc = famfs_sb_crc(sb);
	assert_int_equal(famfs_sb_check(sb, 0, why, sizeof(why)), -EPROTONOSUPPORT);
	assert_non_null(strstr(why, "version 46"));
	*sb = saved;

	sb->sb_uuid[3] ^= 1;
	assert_int_equal(famfs_sb_check(sb, 0, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "CRC"));
	*sb = saved;

	sb->sb_alloc_unit = 12345;
	sb->sb_crc = famfs_sb_crc(sb);
	assert_int_equal(famfs_sb_check(sb, 0, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "alloc unit"));
	*sb = saved;

	sb->sb_log_len = 0x900000;
	sb->sb_crc = famfs_sb_crc(sb);
	assert_int_equal(famfs_sb_check(sb, 0, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "power of two"));
	*sb = saved;

	/* dd_size is outside the CRC but must fit the device. */
	assert_int_equal(famfs_sb_check(sb, 1ULL << 30, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "larger than the device"));
	free(img);
}

static void famfs_log_header_check_names_each_problem(void **state)
{
	uint8_t *img = load_fixture();
	const struct famfs_superblock *sb = (const void *)img;
	struct famfs_log_header *lh = (void *)(img + FAMFS_LOG_OFFSET), saved = *lh;
	char why[200];
	(void)state;

	lh->lh_magic = 0;
	assert_int_equal(famfs_log_header_check(lh, sb, why, sizeof(why)), -ENODATA);
	*lh = saved;
	lh->lh_last_index = 7;
	assert_int_equal(famfs_log_header_check(lh, sb, why, sizeof(why)), -EBADMSG);
	lh->lh_crc = famfs_log_header_crc(lh);
	assert_int_equal(famfs_log_header_check(lh, sb, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "last index"));
	*lh = saved;
	lh->lh_next_index = 15421;
	assert_int_equal(famfs_log_header_check(lh, sb, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "next index"));
	free(img);
}

static void famfs_log_entry_check_seqnum_and_crc(void **state)
{
	uint8_t *img = load_fixture();
	struct famfs_log_header *lh = (void *)(img + FAMFS_LOG_OFFSET);
	struct famfs_log_entry *le = &lh->lh_entries[2];
	char why[200];
	(void)state;

	assert_int_equal(famfs_log_entry_check(le, 3, why, sizeof(why)), -EILSEQ);
	assert_non_null(strstr(why, "seqnum"));
	le->le_payload[100] ^= 0x40; /* a padding byte: still covered */
	assert_int_equal(famfs_log_entry_check(le, 2, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "CRC"));
	le->le_payload[100] ^= 0x40;
	assert_int_equal(famfs_log_entry_check(le, 2, why, sizeof(why)), 0);
	free(img);
}

static void famfs_uuid_format_matches_manifest(void **state)
{
	uint8_t *img = load_fixture();
	const struct famfs_superblock *sb = (const void *)img;
	char text[37];
	uint8_t u[16];
	(void)state;

	famfs_uuid_format(sb->sb_system_uuid, text);
	assert_string_equal(text, "5a5a5a5a-0000-4000-8000-000000000001");
	assert_int_equal(famfs_uuid_parse(text, u), 0);
	assert_memory_equal(u, sb->sb_system_uuid, 16);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sb_fields_at_table_offsets),
	    cmocka_unit_test(famfs_sb_crc_matches_upstream),
	    cmocka_unit_test(famfs_log_crcs_match_upstream),
	    cmocka_unit_test(famfs_sb_check_accepts_v47),
	    cmocka_unit_test(famfs_sb_check_names_each_problem),
	    cmocka_unit_test(famfs_log_header_check_names_each_problem),
	    cmocka_unit_test(famfs_log_entry_check_seqnum_and_crc),
	    cmocka_unit_test(famfs_uuid_format_matches_manifest),
	};

	return cmocka_run_group_tests_name("omf", tests, NULL, NULL);
}

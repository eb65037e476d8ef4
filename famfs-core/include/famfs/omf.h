/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file omf.h
 * @brief The famfs on-media format (OMF): superblock, log header, log entries, extents.
 *
 * This header owns the byte layout that upstream famfs writes (superblock version 48,
 * OMF 2.2; version 47 has the same layout). Every struct here is copied to and from the
 * device with memcpy: fixed-width little-endian fields, x86-64 natural alignment, no
 * conversion. The `_Static_assert`s below lock every size and offset; a change that
 * moves a byte fails to compile.
 *
 * Device layout (one device, devindex 0):
 *
 *   | device bytes                    | content                                   |
 *   |---------------------------------|-------------------------------------------|
 *   | [0, 2 MiB)                      | superblock region; struct at offset 0     |
 *   | [2 MiB, 2 MiB + log_len)        | the metadata log (header + entries)       |
 *   | [2 MiB + log_len, device size)  | file data, allocated in 2 MiB units       |
 *
 * Superblock (200 bytes at device offset 0):
 *
 *   | off | size | field             | meaning                                   |
 *   |-----|------|-------------------|-------------------------------------------|
 *   |   0 |    8 | sb_magic          | FAMFS_SUPER_MAGIC                         |
 *   |   8 |    8 | sb_version        | 48 (47 accepted: same layout)             |
 *   |  16 |    8 | sb_log_offset     | always 2 MiB                              |
 *   |  24 |    8 | sb_log_len        | power of two, >= 8 MiB                    |
 *   |  32 |    8 | sb_alloc_unit     | 2 MiB (4096 is tolerated by validation)   |
 *   |  40 |    4 | sb_omf_major      | 2                                         |
 *   |  44 |    4 | sb_omf_minor      | 2 (1 in version 47)                       |
 *   |  48 |   16 | sb_uuid           | file-system UUID, raw RFC-4122 byte order |
 *   |  64 |   16 | sb_dev_uuid       | device UUID                               |
 *   |  80 |   16 | sb_system_uuid    | the master host's system UUID             |
 *   |  96 |    8 | sb_crc            | CRC-32 of bytes [0, 96), upper half zero  |
 *   | 104 |    4 | sb_flags          | not covered by the CRC, 0 from mkfs       |
 *   | 108 |    4 | (pad)             |                                           |
 *   | 112 |   88 | sb_daxdev         | size/uuid/name; NOT covered by the CRC    |
 *
 * Log header (48 bytes at device offset 2 MiB) and entries (544 bytes each, entry i at
 * log offset 48 + 544 i):
 *
 *   | off | size | header field  | meaning                                          |
 *   |-----|------|---------------|--------------------------------------------------|
 *   |   0 |    8 | lh_magic      | FAMFS_LOG_MAGIC                                  |
 *   |   8 |    8 | lh_len        | log length, equal to sb_log_len                  |
 *   |  16 |    8 | lh_last_index | floor((len - 48) / 544) - 1, inclusive           |
 *   |  24 |    8 | lh_crc        | CRC-32 of bytes [0, 24)                          |
 *   |  32 |    8 | lh_next_seqnum| seqnum of the next append (no CRC)               |
 *   |  40 |    8 | lh_next_index | number of committed entries (no CRC)             |
 *
 *   | off | size | entry field   | meaning                                          |
 *   |-----|------|---------------|--------------------------------------------------|
 *   |   0 |    8 | le_seqnum     | equals the entry's index                         |
 *   |   8 |    4 | le_type       | enum famfs_log_entry_type                        |
 *   |  12 |    4 | (pad, zero)   |                                                  |
 *   |  16 |  520 | payload       | FILE, MKDIR or ADD_DAXDEV (below)                |
 *   | 536 |    8 | le_crc        | CRC-32 of bytes [0, 536), padding included       |
 *
 * CRC: the standard CRC-32 (zlib crc32, IEEE reflected polynomial) seeded with
 * crc32(0, NULL, 0); the 32-bit value is stored zero-extended in a 64-bit field.
 * Writers zero a whole entry before filling it, so padding bytes are zero and the CRC of
 * a given entry is deterministic.
 *
 * Validity of an entry i: le_seqnum == i and le_crc matches. A reader that finds an
 * entry invalid invalidates its cache lines and reads it once more (the writer on another
 * host may have published the header's next_index before the entry's lines reached
 * memory); if it is still invalid, replay stops there.
 *
 * Commit rule (writer): build the entry zeroed, fill, CRC, copy into slot next_index,
 * flush its lines; then advance next_seqnum and next_index and flush the header line.
 * The entry is the commit point.
 */
#ifndef FAMFS_OMF_H
#define FAMFS_OMF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAMFS_SUPER_MAGIC     0x87b282ffULL
#define FAMFS_LOG_MAGIC	      0x00000badcafef00dULL
#define FAMFS_CURRENT_VERSION 48 /* superblock version this code writes */
#define FAMFS_OLDEST_VERSION  47 /* oldest version with the same layout */
#define FAMFS_OMF_VER_MAJOR   2
#define FAMFS_OMF_VER_MINOR   2

#define FAMFS_SUPERBLOCK_SIZE  0x200000ULL /* the superblock region */
#define FAMFS_LOG_OFFSET       0x200000ULL /* constant; readers ignore sb_log_offset */
#define FAMFS_LOG_LEN_DEFAULT  0x800000ULL
#define FAMFS_LOG_LEN_MIN      0x800000ULL
#define FAMFS_ALLOC_UNIT       0x200000ULL
#define FAMFS_ALLOC_UNIT_SMALL 4096ULL /* accepted in a superblock; packed extents (omf_ext.h) */

#define FAMFS_MAX_PATHLEN     80 /* bytes in a relpath field, NUL included */
#define FAMFS_MAX_SIMPLE_EXT  16
#define FAMFS_MAX_STRIPS      16
#define FAMFS_MAX_INTERLEAVED 1
#define FAMFS_DAXDEV_NAME_LEN 64
#define FAMFS_UUID_LEN	      16

#define FAMFS_LOG_HEADER_SIZE 48
#define FAMFS_LOG_ENTRY_SIZE  544

/** Log entry types. DELETE is defined upstream but never written nor replayed. */
enum famfs_log_entry_type {
	FAMFS_LOG_FILE = 0,
	FAMFS_LOG_MKDIR = 1,
	FAMFS_LOG_DELETE = 2,
	FAMFS_LOG_ADD_DAXDEV = 3,
	FAMFS_LOG_INVALID = 4,
};

/** fm_flags values. Upstream always writes ALL_HOSTS_RW and no reader acts on them. */
enum famfs_file_flags {
	FAMFS_FM_ALL_HOSTS_RO = 1,
	FAMFS_FM_ALL_HOSTS_RW = 2,
};

/** Extent list kinds of a FILE entry. */
enum famfs_extent_type {
	FAMFS_EXT_SIMPLE = 0,
	FAMFS_EXT_INTERLEAVE = 1,
};

/** The device description inside the superblock (not covered by the superblock CRC). */
struct famfs_omf_daxdev {
	uint64_t dd_size;		     /* device capacity used by the allocator */
	uint8_t dd_uuid[FAMFS_UUID_LEN];     /* zero from mkfs */
	char dd_name[FAMFS_DAXDEV_NAME_LEN]; /* path given to mkfs; may lack a NUL */
};

struct famfs_superblock {
	uint64_t sb_magic;
	uint64_t sb_version;
	uint64_t sb_log_offset;
	uint64_t sb_log_len;
	uint64_t sb_alloc_unit;
	uint32_t sb_omf_major;
	uint32_t sb_omf_minor;
	uint8_t sb_uuid[FAMFS_UUID_LEN];
	uint8_t sb_dev_uuid[FAMFS_UUID_LEN];
	uint8_t sb_system_uuid[FAMFS_UUID_LEN];
	uint64_t sb_crc; /* covers every field before it */
	uint32_t sb_flags;
	uint32_t sb_pad;
	struct famfs_omf_daxdev sb_daxdev;
};

/** One simple extent or one strip: {devindex, byte offset, byte length}. */
struct famfs_omf_extent {
	uint64_t ext_devindex;
	uint64_t ext_offset;
	uint64_t ext_len;
};

/** The interleaved extent: chunk i of the file lives in strip i % nstrips. */
struct famfs_omf_interleave {
	uint64_t ie_nstrips;
	uint64_t ie_chunk_size;
	struct famfs_omf_extent ie_strips[FAMFS_MAX_STRIPS];
};

/** The extent map of a FILE entry. fmap_count is nextents (SIMPLE) or niext (INTERLEAVE). */
struct famfs_omf_fmap {
	uint32_t fmap_ext_type;
	uint32_t fmap_pad0;
	uint32_t fmap_count;
	uint32_t fmap_pad1;
	union {
		struct famfs_omf_extent se[FAMFS_MAX_SIMPLE_EXT];
		struct famfs_omf_interleave ie[FAMFS_MAX_INTERLEAVED];
	};
};

/** FILE payload (entry offsets 16..535). fm_mode holds permission bits only. */
struct famfs_omf_file {
	uint64_t fm_size;
	uint32_t fm_flags;
	uint32_t fm_uid;
	uint32_t fm_gid;
	uint32_t fm_mode;
	char fm_relpath[FAMFS_MAX_PATHLEN];
	struct famfs_omf_fmap fm_fmap;
};

/** MKDIR payload (entry offsets 16..107; the rest of the payload is zero). */
struct famfs_omf_mkdir {
	uint32_t md_uid;
	uint32_t md_gid;
	uint32_t md_mode;
	char md_relpath[FAMFS_MAX_PATHLEN];
};

/** ADD_DAXDEV payload (version 48). Replay ignores it; the dump prints it. */
struct famfs_omf_add_daxdev {
	uint64_t ad_size;
	uint8_t ad_uuid[FAMFS_UUID_LEN];
	uint32_t ad_index;
};

struct famfs_log_entry {
	uint64_t le_seqnum;
	uint32_t le_type;
	uint32_t le_pad;
	union {
		struct famfs_omf_file le_file;
		struct famfs_omf_mkdir le_mkdir;
		struct famfs_omf_add_daxdev le_daxdev;
		uint8_t le_payload[520];
	};
	uint64_t le_crc; /* covers bytes [0, 536) */
};

struct famfs_log_header {
	uint64_t lh_magic;
	uint64_t lh_len;
	uint64_t lh_last_index;
	uint64_t lh_crc; /* covers magic, len, last_index */
	uint64_t lh_next_seqnum;
	uint64_t lh_next_index;
	struct famfs_log_entry lh_entries[];
};

/* ---- layout locks: every offset below is measured from upstream's structs ---- */
_Static_assert(sizeof(struct famfs_omf_daxdev) == 88, "daxdev size");
_Static_assert(sizeof(struct famfs_superblock) == 200, "superblock size");
_Static_assert(offsetof(struct famfs_superblock, sb_version) == 8, "sb_version");
_Static_assert(offsetof(struct famfs_superblock, sb_log_offset) == 16, "sb_log_offset");
_Static_assert(offsetof(struct famfs_superblock, sb_log_len) == 24, "sb_log_len");
_Static_assert(offsetof(struct famfs_superblock, sb_alloc_unit) == 32, "sb_alloc_unit");
_Static_assert(offsetof(struct famfs_superblock, sb_omf_major) == 40, "sb_omf_major");
_Static_assert(offsetof(struct famfs_superblock, sb_omf_minor) == 44, "sb_omf_minor");
_Static_assert(offsetof(struct famfs_superblock, sb_uuid) == 48, "sb_uuid");
_Static_assert(offsetof(struct famfs_superblock, sb_dev_uuid) == 64, "sb_dev_uuid");
_Static_assert(offsetof(struct famfs_superblock, sb_system_uuid) == 80, "sb_system_uuid");
_Static_assert(offsetof(struct famfs_superblock, sb_crc) == 96, "sb_crc");
_Static_assert(offsetof(struct famfs_superblock, sb_flags) == 104, "sb_flags");
_Static_assert(offsetof(struct famfs_superblock, sb_daxdev) == 112, "sb_daxdev");
_Static_assert(offsetof(struct famfs_superblock, sb_daxdev.dd_uuid) == 120, "dd_uuid");
_Static_assert(offsetof(struct famfs_superblock, sb_daxdev.dd_name) == 136, "dd_name");

_Static_assert(sizeof(struct famfs_omf_extent) == 24, "extent size");
_Static_assert(sizeof(struct famfs_omf_interleave) == 400, "interleave size");
_Static_assert(sizeof(struct famfs_omf_fmap) == 416, "fmap size");
_Static_assert(sizeof(struct famfs_omf_file) == 520, "file payload size");
_Static_assert(sizeof(struct famfs_omf_mkdir) == 92, "mkdir payload size");
_Static_assert(sizeof(struct famfs_omf_add_daxdev) == 32, "add_daxdev payload size");
_Static_assert(sizeof(struct famfs_log_entry) == FAMFS_LOG_ENTRY_SIZE, "entry size");
_Static_assert(sizeof(struct famfs_log_header) == FAMFS_LOG_HEADER_SIZE, "log header size");

#define FAMFS_ENTRY_OFF(m) offsetof(struct famfs_log_entry, m)
_Static_assert(FAMFS_ENTRY_OFF(le_type) == 8, "le_type");
_Static_assert(FAMFS_ENTRY_OFF(le_file) == 16, "payload");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_flags) == 24, "fm_flags");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_uid) == 28, "fm_uid");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_gid) == 32, "fm_gid");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_mode) == 36, "fm_mode");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_relpath) == 40, "fm_relpath");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_fmap) == 120, "fm_fmap");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_fmap.fmap_count) == 128, "fmap_count");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_fmap.se) == 136, "se[]");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_fmap.se[15]) == 496, "se[15]");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_fmap.ie[0].ie_chunk_size) == 144, "chunk");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_fmap.ie[0].ie_strips) == 152, "strips");
_Static_assert(FAMFS_ENTRY_OFF(le_file.fm_fmap.ie[0].ie_strips[15]) == 512, "strip 15");
_Static_assert(FAMFS_ENTRY_OFF(le_mkdir.md_gid) == 20, "md_gid");
_Static_assert(FAMFS_ENTRY_OFF(le_mkdir.md_mode) == 24, "md_mode");
_Static_assert(FAMFS_ENTRY_OFF(le_mkdir.md_relpath) == 28, "md_relpath");
_Static_assert(FAMFS_ENTRY_OFF(le_daxdev.ad_uuid) == 24, "ad_uuid");
_Static_assert(FAMFS_ENTRY_OFF(le_daxdev.ad_index) == 40, "ad_index");
_Static_assert(FAMFS_ENTRY_OFF(le_crc) == 536, "le_crc");
_Static_assert(offsetof(struct famfs_log_header, lh_crc) == 24, "lh_crc");
_Static_assert(offsetof(struct famfs_log_header, lh_next_seqnum) == 32, "lh_next_seqnum");
_Static_assert(offsetof(struct famfs_log_header, lh_next_index) == 40, "lh_next_index");
_Static_assert((FAMFS_LOG_LEN_MIN & (FAMFS_LOG_LEN_MIN - 1)) == 0, "log min is a power of 2");
_Static_assert((FAMFS_ALLOC_UNIT & (FAMFS_ALLOC_UNIT - 1)) == 0, "alloc unit is a power of 2");

/* ---- CRCs and validation (omf.c) ---- */

/** CRC-32 of the superblock's CRC-covered bytes [0, 96). */
uint64_t famfs_sb_crc(const struct famfs_superblock *sb);
/** CRC-32 of the log header's CRC-covered bytes [0, 24). */
uint64_t famfs_log_header_crc(const struct famfs_log_header *lh);
/** CRC-32 of the entry's bytes [0, 536). */
uint64_t famfs_log_entry_crc(const struct famfs_log_entry *le);

/** Last usable entry index (inclusive) of a log of @p log_len bytes. */
static inline uint64_t famfs_log_last_index(uint64_t log_len)
{
	return (log_len - FAMFS_LOG_HEADER_SIZE) / FAMFS_LOG_ENTRY_SIZE - 1;
}

/**
 * Check a superblock.
 * @param[in]  sb       the superblock as read from the device
 * @param[in]  dev_size the usable size of the device, or 0 when unknown
 * @param[out] why      a sentence that says what is wrong (may be NULL)
 * @return 0 when valid; -ENODATA no famfs magic; -EPROTONOSUPPORT a version other than
 *         47 or 48; -EBADMSG bad CRC; -EINVAL a field out of range.
 */
int famfs_sb_check(const struct famfs_superblock *sb, uint64_t dev_size, char *why, size_t whylen);

/**
 * Check a log header against the superblock.
 * @return 0, -ENODATA bad magic, -EBADMSG bad CRC, -EINVAL inconsistent field.
 */
int famfs_log_header_check(const struct famfs_log_header *lh, const struct famfs_superblock *sb,
			   char *why, size_t whylen);

/**
 * Check one entry's seqnum and CRC (not its contents).
 * @return 0, -EILSEQ seqnum differs from @p index, -EBADMSG bad CRC.
 */
int famfs_log_entry_check(const struct famfs_log_entry *le, uint64_t index, char *why,
			  size_t whylen);

/** Printable name of an entry type ("file", "mkdir", ...). */
const char *famfs_log_entry_type_name(uint32_t type);

/** Format a 16-byte UUID as 36 characters plus NUL into @p out (37 bytes). */
void famfs_uuid_format(const uint8_t uuid[FAMFS_UUID_LEN], char out[37]);
/** Parse a textual UUID; 0 or -EINVAL. */
int famfs_uuid_parse(const char *text, uint8_t uuid[FAMFS_UUID_LEN]);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_OMF_H */

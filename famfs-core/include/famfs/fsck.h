/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fsck.h
 * @brief Read-only consistency check of a famfs device.
 *
 * Checks, in order: the superblock (magic, version, CRC, fields), the log header (magic,
 * CRC, length, last index, counters), every committed entry (seqnum, CRC, type, path
 * rules, parent exists, extents aligned and inside the data area, size covered), then
 * replays the log exactly as every host does (extension entries included) to find
 * entries replay must skip, cross-linked extents (collisions), freed space reused ahead
 * of a registered host that may still map it (or while upstream hosts may), leaked
 * space, and used, pending and free space. Owns nothing but the report it fills. Never
 * writes the device.
 */
#ifndef FAMFS_FSCK_H
#define FAMFS_FSCK_H

#include <stddef.h>
#include <stdint.h>

#include "famfs/dev.h"

#ifdef __cplusplus
extern "C" {
#endif

enum famfs_fsck_severity { FAMFS_FSCK_ERROR, FAMFS_FSCK_WARNING };

struct famfs_fsck_problem {
	enum famfs_fsck_severity severity;
	char where[32]; /* "superblock", "log header", "log entry 12" */
	char what[240];
};

struct famfs_fsck_report {
	int sb_valid;  /* the superblock passed */
	int log_valid; /* the log header passed */
	uint64_t version;
	uint64_t log_len, log_slots, log_used;
	uint64_t entries_valid, files, dirs, other;
	uint64_t bad_entries;			 /* seqnum/CRC failures */
	uint64_t bad_payloads;			 /* valid CRC, unusable contents */
	uint64_t collisions;			 /* allocation units claimed by two live files */
	uint64_t ext_entries;			 /* famfs-gateway extension entries */
	uint64_t live_files, live_dirs;		 /* the namespace after replay */
	uint64_t capacity, reserved, used, free; /* bytes */
	uint64_t pending;			 /* freed, not yet reusable */
	uint64_t leaked;			 /* used by no live file and not pending */
	uint64_t generation;			 /* log compactions */
	size_t nerrors, nwarnings;
	size_t nproblems, cap;
	struct famfs_fsck_problem *problems;
};

/**
 * Check the famfs on @p dev.
 * @return the number of errors found (0 = clean), or -ENOMEM.
 */
int famfs_fsck(const struct famfs_dev *dev, struct famfs_fsck_report *rep);
void famfs_fsck_report_free(struct famfs_fsck_report *rep);

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_FSCK_H */

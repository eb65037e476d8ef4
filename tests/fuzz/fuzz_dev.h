/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_dev.h - the device file the replay harnesses (fuzz_replay, fuzz_hosts) share:
 * made once per process in /dev/shm by famfs_mkfs (and unlinked at once), loaded with each input's
 * log entries, put back as mkfs left it after each input. FUZZ_VERBOSE=1 in the environment prints
 * famfs-core's messages (what replay rejected, why recovery refused a journal).
 */
#ifndef FAMFS_FUZZ_DEV_H
#define FAMFS_FUZZ_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "famfs/omf.h"
#include "famfs/omf_ext.h"

#define FUZZ_MASTER_UUID "11111111-2222-4333-8444-555555555555"
#define FUZZ_CLIENT_UUID "99999999-2222-4333-8444-555555555555"
#define FUZZ_DEV_SIZE	 (32ULL << 20) /* 8 MiB log, 11 allocation units of data */

struct fuzz_dev {
	char path[64];
	uint8_t *base; /* the harness's own read-write mapping of the whole file */
	uint64_t size;
	struct famfs_log_header *log;
	uint8_t ht_pristine[64 * (FAMFS_HT_SLOTS + 1)]; /* the host table mkfs wrote */
	uint8_t lh_pristine[FAMFS_LOG_HEADER_SIZE];	/* the log header mkfs wrote */
	uint64_t slots;					/* log entry slots */
	uint64_t dirty_entries;				/* log slots that may be non-zero */
	uint64_t dirty_off, dirty_len;			/* data-area bytes the harness wrote */
};

/** Make the device (in /dev/shm, named after @p tag and the pid, then unlinked: @c path
 * names it as /proc/self/fd/N), mapped; exits on failure. */
void fuzz_dev_init(struct fuzz_dev *d, const char *tag);

/**
 * Put the input's log entries into the log: @p size / 544 whole entries, each with its
 * seqnum set to its index and its CRC fixed, and the header's next_seqnum/next_index
 * set to their count. The bytes past the last whole entry (fewer than 544) are options:
 * byte 0 bit 0 leaves the last entry's CRC as the input has it (replay stalls there),
 * bit 1 publishes byte 1 more entries than were written (empty slots).
 * @return the number of entries written.
 */
uint64_t fuzz_dev_load(struct fuzz_dev *d, const uint8_t *data, size_t size);

/** Note that [off, off + len) of the data area was written (fuzz_dev_reset zeroes it). */
void fuzz_dev_dirty(struct fuzz_dev *d, uint64_t off, uint64_t len);

/** Undo everything since fuzz_dev_load(): log, host table, data area as mkfs left them. */
void fuzz_dev_reset(struct fuzz_dev *d);

/** Check the device with famfs_fsck() (read-only) and free the report. */
void fuzz_dev_fsck(struct fuzz_dev *d);

#endif /* FAMFS_FUZZ_DEV_H */

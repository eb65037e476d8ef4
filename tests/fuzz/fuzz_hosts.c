// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_hosts.c - libFuzzer harness: the host table header and its compaction journal
 * record, met by the master's read-write open (table attach, compaction recovery,
 * replay), then fsck.
 *
 * Input: byte 0 is a set of options, bytes 1..64 the host table header as it is put on
 * the device (offset FAMFS_HT_OFFSET; the journal record is bytes 40..63: device offset,
 * entry count, CRC), the rest log entries as fuzz_replay takes them (fuzz_dev.h).
 * Options: bit 0 makes magic, version and slot count valid; bit 1 sets COMPACTING; bit 2
 * fixes the header CRC; bit 3 copies the log entries to the journal's offset (when they
 * fit in the data area) and fixes the journal CRC (when the record's range is on the
 * device), so that recovery copies the journal.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "famfs/fs.h"
#include "fuzz_dev.h"

static struct fuzz_dev dev;

struct journal_rec {
	uint64_t off, count, crc;
};

static void put_journal(struct famfs_ht_header *h, uint64_t n)
{
	uint64_t data_start = FAMFS_LOG_OFFSET + dev.log->lh_len, len = n * FAMFS_LOG_ENTRY_SIZE;
	struct journal_rec j;

	memcpy(&j, h->ht_pad2, sizeof(j));
	if (n && j.off >= data_start && j.off < dev.size && len <= dev.size - j.off) {
		memcpy(dev.base + j.off, dev.log->lh_entries, len);
		fuzz_dev_dirty(&dev, j.off, len);
	}
	if (j.off < dev.size && j.count <= (dev.size - j.off) / FAMFS_LOG_ENTRY_SIZE) {
		j.crc = crc32(crc32(0L, Z_NULL, 0), dev.base + j.off,
			      (uInt)(j.count * FAMFS_LOG_ENTRY_SIZE));
		memcpy(h->ht_pad2, &j, sizeof(j));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct famfs_fs_opts o = {.system_uuid = FUZZ_MASTER_UUID};
	struct famfs_ht_header *h;
	struct famfs_fs *fs;
	uint8_t flags;
	uint64_t n;

	if (size < 1 + sizeof(*h))
		return 0;
	if (!dev.base)
		fuzz_dev_init(&dev, "hosts");
	flags = data[0];
	h = (struct famfs_ht_header *)(dev.base + FAMFS_HT_OFFSET);
	n = fuzz_dev_load(&dev, data + 1 + sizeof(*h), size - 1 - sizeof(*h));
	memcpy(h, data + 1, sizeof(*h));
	if (flags & 1) {
		h->ht_magic = FAMFS_HT_MAGIC;
		h->ht_version = FAMFS_HT_VERSION;
		h->ht_nslots = FAMFS_HT_SLOTS;
	}
	if (flags & 2)
		h->ht_flags |= FAMFS_HT_COMPACTING;
	if (flags & 8)
		put_journal(h, n);
	if (flags & 4)
		h->ht_crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)h,
				  offsetof(struct famfs_ht_header, ht_crc));
	if (famfs_fs_open(dev.path, &o, &fs) == 0) {
		struct famfs_host_info hi[4];

		(void)famfs_fs_hosts(fs, hi, 4);
		(void)famfs_fs_refresh(fs);
		famfs_fs_close(fs);
	}
	fuzz_dev_fsck(&dev);
	fuzz_dev_reset(&dev);
	return 0;
}

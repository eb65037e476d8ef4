// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_dev.c - the device file of the replay harnesses (see fuzz_dev.h): made in
 * /dev/shm (unlinked once made), loaded with an input's entries, reset after each input.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "famfs/dev.h"
#include "famfs/fs.h"
#include "famfs/fsck.h"
#include "famfs/msg.h"
#include "fuzz_dev.h"

static struct famfs_dev *fsck_dev; /* mapped once: its pages stay faulted in */

/*
 * One process maps the device: cache maintenance changes nothing, and fsck's clflush of
 * the whole 8 MiB log on every input would cost more than the rest of an input (the
 * harnesses link with -Wl,--wrap=famfs_cache_flush,--wrap=famfs_cache_invalidate).
 */
void __wrap_famfs_cache_flush(const void *addr, size_t len);
void __wrap_famfs_cache_invalidate(const void *addr, size_t len);

void __wrap_famfs_cache_flush(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

void __wrap_famfs_cache_invalidate(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

/* Messages are formatted (the format strings are exercised) and dropped, or printed
 * when FUZZ_VERBOSE is set (to see what an input does). */
static void quiet(enum famfs_msg_level level, const char *msg, void *arg)
{
	(void)level;
	if (arg)
		fprintf(stderr, "famfs: %s\n", msg);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "fuzz_dev: %s: %d\n", what, rc);
	exit(1);
}

void fuzz_dev_init(struct fuzz_dev *d, const char *tag)
{
	struct famfs_mkfs_opts mo = {.system_uuid = FUZZ_MASTER_UUID,
				     .fs_uuid = "0f0f0f0f-1e1e-4d4d-8c8c-3b3b3b3b3b3b",
				     .no_upstream = false};
	struct famfs_dev_opts ro = {.readonly = true};
	struct famfs_dev *dev;
	int fd, rc;

	/* famfs_system_uuid() would otherwise read or create /opt/famfs/system_uuid. */
	setenv("FAMFS_SYSTEM_UUID", FUZZ_CLIENT_UUID, 1);
	famfs_set_msg_fn(quiet, getenv("FUZZ_VERBOSE"));
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "/dev/shm/famfs-fuzz-%s-%d.img", tag, (int)getpid());
	unlink(d->path);
	rc = famfs_dev_create_file(d->path, FUZZ_DEV_SIZE);
	if (rc)
		die("create the device file", rc);
	rc = famfs_dev_open(d->path, NULL, &dev);
	if (rc)
		die("open the device file", rc);
	rc = famfs_mkfs(dev, &mo);
	if (rc)
		die("mkfs", rc);
	famfs_dev_close(dev);

	fd = open(d->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open", -1);
	d->size = FUZZ_DEV_SIZE;
	d->base = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (d->base == MAP_FAILED)
		die("mmap", -1);
	/* Nothing stays in /dev/shm, even after a crash: the file lives on through @fd, and
	 * the library opens it by its /proc/self/fd name. */
	unlink(d->path);
	snprintf(d->path, sizeof(d->path), "/proc/self/fd/%d", fd);
	d->log = (struct famfs_log_header *)(d->base + FAMFS_LOG_OFFSET);
	rc = famfs_dev_open(d->path, &ro, &fsck_dev);
	if (rc)
		die("open for fsck", rc);
	memcpy(d->ht_pristine, d->base + FAMFS_HT_OFFSET, sizeof(d->ht_pristine));
	memcpy(d->lh_pristine, d->log, sizeof(d->lh_pristine));
	d->slots = d->log->lh_last_index + 1;
}

uint64_t fuzz_dev_load(struct fuzz_dev *d, const uint8_t *data, size_t size)
{
	uint64_t slots = d->slots, n = size / FAMFS_LOG_ENTRY_SIZE;
	const uint8_t *opt = data + n * FAMFS_LOG_ENTRY_SIZE;
	size_t nopt = size - n * FAMFS_LOG_ENTRY_SIZE;
	uint64_t next;

	if (n > slots)
		n = slots;
	for (uint64_t i = 0; i < n; i++) {
		struct famfs_log_entry *le = &d->log->lh_entries[i];

		memcpy(le, data + i * FAMFS_LOG_ENTRY_SIZE, sizeof(*le));
		le->le_seqnum = i;
		if (!(i == n - 1 && nopt >= 1 && (opt[0] & 1)))
			le->le_crc = famfs_log_entry_crc(le);
	}
	next = n;
	if (nopt >= 2 && (opt[0] & 2))
		next += opt[1];
	if (next > slots)
		next = slots;
	if (next > d->dirty_entries)
		d->dirty_entries = next;
	if (n > d->dirty_entries)
		d->dirty_entries = n;
	d->log->lh_next_seqnum = next;
	d->log->lh_next_index = next;
	d->log->lh_crc = famfs_log_header_crc(d->log);
	return n;
}

void fuzz_dev_dirty(struct fuzz_dev *d, uint64_t off, uint64_t len)
{
	d->dirty_off = off;
	d->dirty_len = len;
}

void fuzz_dev_reset(struct fuzz_dev *d)
{
	uint64_t slots = d->slots, used = d->log->lh_next_index;

	/* A recovered compaction sets next_index to the journal's length. */
	if (used > slots)
		used = slots;
	if (used > d->dirty_entries)
		d->dirty_entries = used;
	memset(d->log->lh_entries, 0, d->dirty_entries * FAMFS_LOG_ENTRY_SIZE);
	d->dirty_entries = 0;
	memcpy(d->log, d->lh_pristine, sizeof(d->lh_pristine));
	memcpy(d->base + FAMFS_HT_OFFSET, d->ht_pristine, sizeof(d->ht_pristine));
	if (d->dirty_len)
		memset(d->base + d->dirty_off, 0, d->dirty_len);
	d->dirty_off = d->dirty_len = 0;
}

void fuzz_dev_fsck(struct fuzz_dev *d)
{
	struct famfs_fsck_report rep;

	(void)d;
	(void)famfs_fsck(fsck_dev, &rep);
	famfs_fsck_report_free(&rep);
}

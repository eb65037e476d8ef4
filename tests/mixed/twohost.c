/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file twohost.c
 * @brief Two processes on one device file play two hosts: the master removes and
 *        re-creates files in a loop while a client keeps reading the files of its own,
 *        lagging, replayed view. The client must never see another file's bytes.
 *
 * Every file's content is a pattern of 8-byte words (inode number << 32 | word index);
 * inode numbers are never reused, so they name one file for good. A new file reads as
 * zeros where it is not written yet. The client reads whole files (pinned, as an open
 * file would be), sometimes refreshing its view and sometimes not, and checks that every
 * byte is 0 (not yet written; a read racing the writer may see half a word) or the byte
 * of the file's own pattern at its own position. The device is
 * small, so freed space must be reused for the master to go on: the test fails if no
 * space was ever reused (it would then prove nothing).
 *
 * usage: twohost DEVICE-FILE [SECONDS]     prints "twohost: N passed, M failed"
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "famfs/dev.h"
#include "famfs/fs.h"
#include "famfs/io.h"

#define MASTER	"7a7a7a7a-0000-4000-8000-000000000001"
#define CLIENT	"7a7a7a7a-0000-4000-8000-000000000002"
#define NFILES	6
#define DEVSIZE (128ULL << 20) /* 10 MiB metadata + 59 units of 2 MiB */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int writer(const char *dev, double secs, int ready_fd)
{
	struct famfs_fs_opts o = {.system_uuid = MASTER};
	uint64_t id = 1, reused = 0, cycles = 0;
	struct famfs_fs *fs;
	static uint64_t buf[(8 << 20) / 8];
	double end;
	char c = 1;

	if (famfs_fs_open(dev, &o, &fs))
		return 2;
	/* Start with every file present, then tell the reader. */
	for (int k = 0; k < NFILES; k++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", k);
		if (famfs_fs_create(fs, name, 1, 0644, 0, 0, NULL, NULL))
			return 2;
	}
	if (write(ready_fd, &c, 1) != 1)
		return 2;
	end = now() + secs;
	while (now() < end) {
		int k = (int)(random() % NFILES);
		uint64_t size = (uint64_t)(1 + random() % 4) << 20 | (uint64_t)(random() % 4096);
		struct famfs_inode *root = famfs_fs_ns(fs)->root, *ino;
		uint64_t pending_before;
		char name[16];
		int rc;

		snprintf(name, sizeof(name), "f%d", k);
		rc = famfs_fs_lock(fs);
		if (rc)
			return 2;
		pending_before = famfs_fs_pending_bytes(fs);
		rc = famfs_fs_remove(fs, root, name);
		if (rc == -ENOENT)
			rc = 0; /* an earlier round could not re-create it */
		if (rc == 0)
			rc = famfs_fs_create(fs, name, size, 0644, 0, 0, NULL, &ino);
		if (rc == -ENOSPC) {
			/* The reader holds space back; it will catch up. */
			famfs_fs_unlock(fs);
			usleep(2000);
			continue;
		}
		if (rc) {
			fprintf(stderr, "twohost: writer: %s: %s\n", name, strerror(-rc));
			return 2;
		}
		if (famfs_fs_pending_bytes(fs) < pending_before)
			reused++;
		famfs_fs_unlock(fs);
		id++;
		for (uint64_t w = 0; w < size / 8; w++)
			buf[w] = ino->ino << 32 | w;
		if (famfs_file_write(fs, ino, 0, buf, size & ~7ULL) != (ssize_t)(size & ~7ULL))
			return 2;
		cycles++;
	}
	printf("twohost: writer: %llu remove+create cycles, %llu allocations reused freed space\n",
	       (unsigned long long)cycles, (unsigned long long)reused);
	fflush(stdout);
	famfs_fs_close(fs);
	return reused ? 0 : 3;
}

static int reader(const char *dev, double secs, int ready_fd, unsigned long *checked,
		  unsigned long *bad)
{
	struct famfs_fs_opts o = {.system_uuid = CLIENT};
	static uint64_t buf[(8 << 20) / 8];
	struct famfs_fs *fs;
	double end;
	char c;

	if (read(ready_fd, &c, 1) != 1)
		return 2;
	if (famfs_fs_open(dev, &o, &fs))
		return 2;
	end = now() + secs;
	while (now() < end) {
		struct famfs_inode *ino;
		char name[16];
		ssize_t n;

		if (random() % 3 == 0)
			famfs_fs_refresh(fs); /* otherwise keep reading a lagging view */
		snprintf(name, sizeof(name), "f%d", (int)(random() % NFILES));
		if (famfs_fs_resolve(fs, name, &ino))
			continue;
		famfs_fs_pin(fs, ino);
		if (random() % 2)
			famfs_fs_refresh(fs); /* the file may be removed meanwhile: still ours */
		n = famfs_file_read(fs, ino, 0, buf, sizeof(buf), FAMFS_IO_INVALIDATE);
		for (ssize_t w = 0; w < n / 8; w++) {
			uint64_t v = buf[w], want = ino->ino << 32 | (uint64_t)w;

			for (int b = 0; b < 64; b += 8) {
				uint64_t got = v >> b & 0xff;

				if (got == 0 || got == (want >> b & 0xff))
					continue;
				fprintf(stderr,
					"twohost: reader: %s (inode %llu) word %zd holds "
					"0x%llx: another file's bytes\n",
					name, (unsigned long long)ino->ino, w,
					(unsigned long long)v);
				(*bad)++;
				w = n; /* next file */
				break;
			}
		}
		famfs_fs_unpin(fs, ino);
		(*checked)++;
	}
	famfs_fs_close(fs);
	return 0;
}

int main(int argc, char **argv)
{
	struct famfs_mkfs_opts mo = {.system_uuid = MASTER, .no_upstream = true};
	double secs = argc > 2 ? atof(argv[2]) : 3.0;
	unsigned long checked = 0, bad = 0;
	struct famfs_dev *dev;
	int ready[2], status, rc;
	pid_t w;

	if (argc < 2) {
		fprintf(stderr, "usage: twohost DEVICE-FILE [SECONDS]\n");
		return 2;
	}
	unlink(argv[1]);
	if (famfs_dev_create_file(argv[1], DEVSIZE) || famfs_dev_open(argv[1], NULL, &dev))
		return 2;
	rc = famfs_mkfs(dev, &mo);
	famfs_dev_close(dev);
	if (rc || pipe(ready))
		return 2;
	w = fork();
	if (w == 0) {
		srandom(1);
		_exit(writer(argv[1], secs, ready[1]));
	}
	srandom(2);
	rc = reader(argv[1], secs, ready[0], &checked, &bad);
	waitpid(w, &status, 0);
	unlink(argv[1]);
	printf("twohost: reader checked %lu whole-file reads\n", checked);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "twohost: writer failed (status %d%s)\n", WEXITSTATUS(status),
			WEXITSTATUS(status) == 3 ? ": no space was ever reused" : "");
		bad++;
	}
	if (rc || checked == 0)
		bad++;
	printf("twohost: %lu passed, %lu failed\n", bad ? 0UL : 1UL, bad);
	return bad ? 1 : 0;
}

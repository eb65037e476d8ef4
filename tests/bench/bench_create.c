/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file bench_create.c
 * @brief Benchmark (not a test): files created per second through famfs-core, and the
 *        time to replay a full log.
 *
 * usage: bench_create DEVICE-FILE [NFILES]
 * DEVICE-FILE must not exist; it is created (sparse, 64 GiB), used and removed.
 * Prints one "name: value" line per figure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "famfs/dev.h"
#include "famfs/fs.h"

#define MASTER "0badcafe-0000-4000-8000-00000000be01"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct famfs_mkfs_opts mo = {.system_uuid = MASTER};
	struct famfs_fs_opts fo = {.system_uuid = MASTER};
	unsigned long nfiles = argc > 2 ? strtoul(argv[2], NULL, 0) : 10000;
	struct famfs_dev *dev;
	struct famfs_fs *fs;
	double t0, t1;
	char name[64];
	unsigned long i;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_create DEVICE-FILE [NFILES]\n");
		return 2;
	}
	if (famfs_dev_create_file(argv[1], 64ULL << 30) || famfs_dev_open(argv[1], NULL, &dev))
		return 1;
	rc = famfs_mkfs(dev, &mo);
	famfs_dev_close(dev);
	if (rc || famfs_fs_open(argv[1], &fo, &fs))
		goto fail;

	/* Creates, each its own locked session (as separate API calls would be). */
	if (nfiles > 15000)
		nfiles = 15000;
	t0 = now();
	for (i = 0; i < nfiles; i++) {
		snprintf(name, sizeof(name), "f%06lu", i);
		if (famfs_fs_creat(fs, name, 4096, 0644, 0, 0, NULL, NULL))
			goto fail_fs;
	}
	t1 = now();
	printf("library creat: %lu files in %.3f s = %.0f files/s (%.1f us/file)\n", nfiles,
	       t1 - t0, nfiles / (t1 - t0), (t1 - t0) * 1e6 / nfiles);
	printf("library creat vs upstream famfs creat (90-120 ms/file): %.0fx to %.0fx faster\n",
	       0.090 / ((t1 - t0) / nfiles), 0.120 / ((t1 - t0) / nfiles));

	/* Fill the rest of the log with directories, then time a full replay. */
	if (famfs_fs_lock(fs))
		goto fail_fs;
	for (i = 0; famfs_fs_log(fs)->lh_next_index <= famfs_fs_log(fs)->lh_last_index; i++) {
		snprintf(name, sizeof(name), "d%06lu", i);
		if (famfs_fs_mkdir(fs, name, 0755, 0, 0, NULL))
			break;
	}
	famfs_fs_unlock(fs);
	famfs_fs_close(fs);

	t0 = now();
	if (famfs_fs_open(argv[1], &fo, &fs))
		goto fail;
	t1 = now();
	printf("full log replay: %llu entries (8 MiB log) in %.2f ms (open + validate + replay)\n",
	       (unsigned long long)famfs_fs_stats(fs)->entries, (t1 - t0) * 1e3);
	famfs_fs_close(fs);
	unlink(argv[1]);

	/* Metadata operations (create, rename, remove) on a 64 MiB log, each its own call. */
	mo.log_len = 64ULL << 20;
	if (famfs_dev_create_file(argv[1], 64ULL << 30) || famfs_dev_open(argv[1], NULL, &dev))
		return 1;
	rc = famfs_mkfs(dev, &mo);
	famfs_dev_close(dev);
	if (rc || famfs_fs_open(argv[1], &fo, &fs))
		goto fail;
	{
		struct famfs_inode *root = famfs_fs_ns(fs)->root;
		double tc, tr, tx;
		char to[64];

		t0 = now();
		for (i = 0; i < nfiles; i++) {
			snprintf(name, sizeof(name), "m%06lu", i);
			if (famfs_fs_create(fs, name, 0, 0644, 0, 0, NULL, NULL))
				goto fail_fs;
		}
		tc = now() - t0;
		t0 = now();
		for (i = 0; i < nfiles; i++) {
			snprintf(name, sizeof(name), "m%06lu", i);
			snprintf(to, sizeof(to), "r%06lu", i);
			if (famfs_fs_rename(fs, root, name, root, to))
				goto fail_fs;
		}
		tr = now() - t0;
		t0 = now();
		for (i = 0; i < nfiles; i++) {
			snprintf(to, sizeof(to), "r%06lu", i);
			if (famfs_fs_remove(fs, root, to))
				goto fail_fs;
		}
		tx = now() - t0;
		printf("library metadata ops/s (%lu each): create %.0f, rename %.0f, remove %.0f\n",
		       nfiles, nfiles / tc, nfiles / tr, nfiles / tx);
	}
	famfs_fs_close(fs);
	unlink(argv[1]);
	return 0;

fail_fs:
	famfs_fs_close(fs);
fail:
	fprintf(stderr, "bench_create: failed\n");
	unlink(argv[1]);
	return 1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file fuse_bench.c
 * @brief Benchmark (not a test): sequential write and read of one file directly through
 *        the mapping (famfs-core) and through a famfs-gw FUSE mount, side by side.
 *
 * usage: fuse_bench DEVICE MOUNTPOINT [MIB] [REPS]
 * DEVICE is a famfs (this process acts as the master: FAMFS_SYSTEM_UUID) that is mounted
 * at MOUNTPOINT by `famfs-gw mount`. Two files of MIB MiB (default 1024) are made, one
 * through each path, each preallocated first (so neither measures allocation), then
 * written and read sequentially in 1 MiB requests, REPS times (default 3). The FUSE file
 * is opened afresh for each pass, so reads come from the mapping through the daemon, not
 * from the kernel's page cache (the daemon drops cached pages at open). Prints each
 * figure (the median of the passes) and the ratio FUSE/direct.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "famfs/fs.h"
#include "famfs/io.h"

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* MiB/s of one direct pass; < 0 on error. */
static double direct_pass(struct famfs_fs *fs, struct famfs_inode *ino, char *buf, uint64_t len,
			  bool write)
{
	double t0 = now();
	uint64_t off;
	ssize_t n;

	for (off = 0; off < len; off += CHUNK) {
		n = write ? famfs_file_write(fs, ino, off, buf, CHUNK)
			  : famfs_file_read(fs, ino, off, buf, CHUNK, 0);
		if (n != CHUNK) {
			fprintf(stderr, "fuse_bench: direct %s at %llu: %s\n",
				write ? "write" : "read", (unsigned long long)off,
				n < 0 ? strerror((int)-n) : "short");
			return -1;
		}
	}
	return (double)len / (1 << 20) / (now() - t0);
}

/* MiB/s of one pass through the mount (a fresh open each time); < 0 on error. */
static double fuse_pass(const char *path, char *buf, uint64_t len, bool write)
{
	int fd = open(path, write ? O_WRONLY : O_RDONLY);
	double t0 = now(), t;
	uint64_t off;
	ssize_t n;

	if (fd < 0) {
		perror(path);
		return -1;
	}
	for (off = 0; off < len; off += CHUNK) {
		n = write ? pwrite(fd, buf, CHUNK, (off_t)off) : pread(fd, buf, CHUNK, (off_t)off);
		if (n != CHUNK) {
			fprintf(stderr, "fuse_bench: fuse %s at %llu: %s\n",
				write ? "write" : "read", (unsigned long long)off,
				n < 0 ? strerror(errno) : "short");
			close(fd);
			return -1;
		}
	}
	if (close(fd))
		return -1;
	t = now() - t0;
	return (double)len / (1 << 20) / t;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 3 ? strtoul(argv[3], NULL, 0) : 1024;
	int reps = argc > 4 ? atoi(argv[4]) : 3, r, fd;
	struct famfs_fs_opts fo = {0};
	double dw[16], dr[16], fw[16], fr[16], a, b, c, d;
	struct famfs_inode *ino;
	struct famfs_fs *fs;
	char path[4096], *buf;
	uint64_t len;

	if (argc < 3 || mib == 0 || reps < 1 || reps > 16) {
		fprintf(stderr, "usage: fuse_bench DEVICE MOUNTPOINT [MIB] [REPS<=16]\n");
		return 2;
	}
	len = (uint64_t)mib << 20;
	buf = aligned_alloc(4096, CHUNK);
	if (!buf)
		return 1;
	memset(buf, 0x5a, CHUNK);
	if (famfs_fs_open(argv[1], &fo, &fs)) {
		fprintf(stderr, "fuse_bench: cannot open famfs on %s\n", argv[1]);
		return 1;
	}
	if (famfs_fs_lock(fs) || famfs_fs_create(fs, "bench-direct", len, 0644, 0, 0, NULL, &ino)) {
		fprintf(stderr, "fuse_bench: cannot create bench-direct (master? space?)\n");
		return 1;
	}
	famfs_fs_unlock(fs);
	snprintf(path, sizeof(path), "%s/bench-fuse", argv[2]);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)len) || close(fd)) {
		perror(path);
		return 1;
	}

	for (r = 0; r < reps; r++) {
		famfs_fs_rdlock(fs);
		dw[r] = direct_pass(fs, ino, buf, len, true);
		dr[r] = direct_pass(fs, ino, buf, len, false);
		famfs_fs_rdunlock(fs);
		fw[r] = fuse_pass(path, buf, len, true);
		fr[r] = fuse_pass(path, buf, len, false);
		if (dw[r] < 0 || dr[r] < 0 || fw[r] < 0 || fr[r] < 0)
			return 1;
		fprintf(stderr,
			"fuse_bench: pass %d: direct write %.0f read %.0f, FUSE write %.0f "
			"read %.0f MiB/s\n",
			r + 1, dw[r], dr[r], fw[r], fr[r]);
	}
	a = median(dw, reps);
	b = median(fw, reps);
	c = median(dr, reps);
	d = median(fr, reps);
	printf("\n%-42s %10s %10s %12s\n", "famfs: one file, 1 MiB requests (MiB/s)", "direct",
	       "FUSE", "FUSE/direct");
	printf("%-42s %10.0f %10.0f %12.2f\n", "sequential write (flushed to memory)", a, b, b / a);
	printf("%-42s %10.0f %10.0f %12.2f\n", "sequential read", c, d, d / c);
	printf("direct: famfs_file_write/read on the mapping in this process; FUSE: pwrite/pread "
	       "on %s (famfs-gw mount), median of %d passes of %lu MiB\n",
	       argv[2], reps, mib);
	unlink(path);
	famfs_fs_close(fs);
	free(buf);
	return 0;
}

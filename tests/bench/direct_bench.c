// SPDX-License-Identifier: Apache-2.0
/*
 * direct_bench - one access pattern over one file of a famfs FUSE mount, timed; printed
 * as "MODE MiB/s" (the best of three passes; the io modes open the file for each).
 * tests/bench/direct_bench.sh runs it with and without libfamfs_direct.so preloaded and prints the
 * ratios.
 *
 *   direct_bench FILE MODE
 *   direct_bench FILE cmp|cmp-mmap OTHER
 *
 * Modes:
 *   map-seq, map-rand  memcpy from the device mapping itself (famfs/direct.h, the
 *                      baseline): 1 MiB in order, 64 KiB at random offsets
 *   map-write          memcpy into the device mapping, then a cache flush of what was stored
 *   io-seq, io-rand    pread() of the file, 1 MiB in order / 64 KiB at random offsets
 *                      (through FUSE, or served by the preload library when preloaded)
 *   mmap-seq           mmap() of the file (direct when preloaded), memcpy 1 MiB in order
 *   mmap-write         mmap() of the file, memcpy into it, msync()
 *   cmp, cmp-mmap      FILE read with pread() (or through mmap()) equals OTHER, read with
 *                      pread(): prints "same" and exits 0, else says where they differ
 *                      (the devdax guest's check of the preload library; no timing)
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "famfs/direct.h"

#define SEQ  (1u << 20)
#define RAND (64u << 10)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* One pass: bytes moved. */
static uint64_t pass(const char *mode, int fd, uint8_t *map, uint64_t size, uint8_t *buf)
{
	uint64_t moved = 0, nrand = size / RAND;

	if (!strcmp(mode, "map-seq") || !strcmp(mode, "mmap-seq")) {
		for (uint64_t o = 0; o < size; o += SEQ) {
			size_t n = size - o < SEQ ? (size_t)(size - o) : SEQ;

			memcpy(buf, map + o, n);
			moved += n;
		}
	} else if (!strcmp(mode, "map-rand")) {
		for (uint64_t k = 0; k < nrand; k++) {
			memcpy(buf, map + (rnd() % nrand) * RAND, RAND);
			moved += RAND;
		}
	} else if (!strcmp(mode, "map-write") || !strcmp(mode, "mmap-write")) {
		for (uint64_t o = 0; o < size; o += SEQ) {
			size_t n = size - o < SEQ ? (size_t)(size - o) : SEQ;

			memcpy(map + o, buf, n);
			if (mode[0] == 'm' && mode[1] == 'a')
				famfs_direct_flush(map + o, n);
			else if (msync(map + o, n, MS_SYNC))
				return 0;
			moved += n;
		}
	} else if (!strcmp(mode, "io-seq")) {
		for (uint64_t o = 0; o < size; o += SEQ) {
			ssize_t n = pread(fd, buf, SEQ, (off_t)o);

			if (n <= 0)
				return 0;
			moved += (uint64_t)n;
		}
	} else if (!strcmp(mode, "io-rand")) {
		for (uint64_t k = 0; k < nrand; k++) {
			if (pread(fd, buf, RAND, (off_t)((rnd() % nrand) * RAND)) != RAND)
				return 0;
			moved += RAND;
		}
	}
	return moved;
}

/* FILE (pread, or mmap when @mapped) against OTHER (pread), byte for byte. */
static int compare(const char *file, const char *other, bool mapped)
{
	int a = open(file, O_RDONLY), b = open(other, O_RDONLY);
	uint8_t *x = malloc(SEQ), *y = malloc(SEQ), *m = NULL;
	struct stat sa, sb;

	if (a < 0 || b < 0 || fstat(a, &sa) || fstat(b, &sb) || !x || !y) {
		fprintf(stderr, "direct_bench: cmp: %s\n", strerror(errno));
		return 1;
	}
	if (sa.st_size != sb.st_size) {
		printf("differ: sizes %lld and %lld\n", (long long)sa.st_size,
		       (long long)sb.st_size);
		return 1;
	}
	if (mapped && sa.st_size) {
		m = mmap(NULL, (size_t)sa.st_size, PROT_READ, MAP_SHARED, a, 0);
		if (m == MAP_FAILED) {
			fprintf(stderr, "direct_bench: mmap %s: %s\n", file, strerror(errno));
			return 1;
		}
	}
	for (off_t o = 0; o < sa.st_size; o += SEQ) {
		size_t n = (size_t)(sa.st_size - o) < SEQ ? (size_t)(sa.st_size - o) : SEQ;

		if (m)
			memcpy(x, m + o, n);
		else if (pread(a, x, n, o) != (ssize_t)n)
			return 1;
		if (pread(b, y, n, o) != (ssize_t)n)
			return 1;
		if (memcmp(x, y, n)) {
			printf("differ: in the MiB at %lld\n", (long long)o);
			return 1;
		}
	}
	printf("same\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct famfs_direct *d = NULL;
	struct famfs_direct_map m;
	uint8_t *map = NULL, *buf;
	double best = 0;
	const char *mode;
	struct stat st;
	uint64_t moved;
	int fd, rc;

	if (argc == 4 && !strncmp(argv[2], "cmp", 3))
		return compare(argv[1], argv[3], !strcmp(argv[2], "cmp-mmap"));
	if (argc != 3) {
		fprintf(stderr, "usage: direct_bench FILE MODE | FILE cmp|cmp-mmap OTHER\n");
		return 2;
	}
	mode = argv[2];
	fd = open(argv[1], strstr(mode, "write") ? O_RDWR : O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "direct_bench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (!strncmp(mode, "map-", 4)) {
		rc = famfs_direct_query(fd, &m);
		if (!rc)
			rc = famfs_direct_open(
			    &m, PROT_READ | (strstr(mode, "write") ? PROT_WRITE : 0), &d);
		if (rc) {
			fprintf(stderr, "direct_bench: %s: %s\n", argv[1], famfs_direct_error());
			return 1;
		}
		map = d->addr;
	} else if (!strncmp(mode, "mmap-", 5)) {
		map = mmap(NULL, (size_t)st.st_size,
			   PROT_READ | (strstr(mode, "write") ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "direct_bench: mmap %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
	}
	buf = aligned_alloc(4096, SEQ);
	if (!buf)
		return 1;
	memset(buf, 0x5a, SEQ);
	for (int k = 0; k < 3; k++) {
		double t0, dt;

		/* Through FUSE, a new open drops what the page cache kept of the last pass. */
		if (!strncmp(mode, "io-", 3)) {
			close(fd);
			fd = open(argv[1], O_RDONLY);
			if (fd < 0)
				return 1;
		}
		t0 = now();
		moved = pass(mode, fd, map, (uint64_t)st.st_size, buf);
		dt = now() - t0;
		if (!moved) {
			fprintf(stderr, "direct_bench: %s: %s failed: %s\n", argv[1], mode,
				strerror(errno));
			return 1;
		}
		if (moved / dt > best)
			best = (double)moved / dt;
	}
	printf("%s %.0f\n", mode, best / (1 << 20));
	famfs_direct_close(d);
	return 0;
}

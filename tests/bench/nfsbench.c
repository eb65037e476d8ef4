/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file nfsbench.c
 * @brief One NFS client measurement with libnfs, printed as one number (for nfs_vs_vfs.sh).
 *
 * usage: nfsbench URL-OF-EXPORT TEST ARGS
 *   seqread  FILE DEPTH       MiB/s reading FILE in 1 MiB reads, DEPTH in flight
 *   randread FILE COUNT DEPTH 4 KiB reads per second at random offsets, DEPTH in flight
 *   create   DIR COUNT        files created (and closed) per second in DIR (made here)
 *   stat     DIR COUNT        getattrs per second over the files of DIR
 *   readdir  DIR ROUNDS       directory entries listed per second
 * The URL carries version= and the ports. Never a pass/fail on time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nfsc/libnfs.h>

#define CHUNK (1u << 20)

static struct nfs_context *nfs;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct flight {
	int inflight;
	int errors;
	uint64_t bytes;
};

static void read_done(int err, struct nfs_context *ctx, void *data, void *priv)
{
	struct flight *f = priv;

	(void)ctx;
	(void)data;
	f->inflight--;
	if (err < 0)
		f->errors++;
	else
		f->bytes += (uint64_t)err;
}

static int pump(void)
{
	struct pollfd p = { .fd = nfs_get_fd(nfs), .events = (short)nfs_which_events(nfs) };

	if (poll(&p, 1, 10000) < 0)
		return -1;
	return nfs_service(nfs, p.revents);
}

/* Issue reads at the offsets @next() gives until it returns UINT64_MAX. */
static int run_reads(struct nfsfh *fh, int depth, uint64_t len,
		     uint64_t (*next)(void *), void *arg, struct flight *f)
{
	for (;;) {
		while (f->inflight < depth) {
			uint64_t off = next(arg);

			if (off == UINT64_MAX)
				break;
			if (nfs_pread_async(nfs, fh, off, len, read_done, f))
				return -1;
			f->inflight++;
		}
		if (!f->inflight)
			return f->errors ? -1 : 0;
		if (pump() < 0)
			return -1;
	}
}

struct seq {
	uint64_t off, size;
};

static uint64_t seq_next(void *arg)
{
	struct seq *s = arg;
	uint64_t o = s->off;

	if (o >= s->size)
		return UINT64_MAX;
	s->off += CHUNK;
	return o;
}

struct rnd {
	uint64_t left, pages;
	unsigned int seed;
};

static uint64_t rnd_next(void *arg)
{
	struct rnd *r = arg;

	if (!r->left)
		return UINT64_MAX;
	r->left--;
	return (uint64_t)rand_r(&r->seed) % r->pages * 4096;
}

int main(int argc, char **argv)
{
	struct nfs_url *url;
	struct nfs_stat_64 st;
	struct flight f = { 0 };
	struct nfsfh *fh;
	char path[256];
	double t0, dt;

	if (argc < 5) {
		fprintf(stderr, "usage: nfsbench URL TEST ARGS (see the source)\n");
		return 2;
	}
	nfs = nfs_init_context();
	url = nfs ? nfs_parse_url_dir(nfs, argv[1]) : NULL;
	if (!url || nfs_mount(nfs, url->server, url->path)) {
		fprintf(stderr, "nfsbench: mount: %s\n", nfs ? nfs_get_error(nfs) : "no memory");
		return 1;
	}
	if (!strcmp(argv[2], "seqread") || !strcmp(argv[2], "randread")) {
		if (nfs_stat64(nfs, argv[3], &st) || nfs_open(nfs, argv[3], O_RDONLY, &fh)) {
			fprintf(stderr, "nfsbench: %s: %s\n", argv[3], nfs_get_error(nfs));
			return 1;
		}
		t0 = now();
		if (!strcmp(argv[2], "seqread")) {
			struct seq s = { 0, st.nfs_size };

			if (run_reads(fh, atoi(argv[4]), CHUNK, seq_next, &s, &f))
				return 1;
			dt = now() - t0;
			printf("%.1f\n", (double)f.bytes / (1 << 20) / dt);
		} else {
			struct rnd r = { strtoull(argv[4], NULL, 0), st.nfs_size / 4096, 1 };
			uint64_t count = r.left;

			if (argc < 6 || run_reads(fh, atoi(argv[5]), 4096, rnd_next, &r, &f))
				return 1;
			dt = now() - t0;
			printf("%.0f\n", (double)count / dt);
		}
		nfs_close(nfs, fh);
	} else if (!strcmp(argv[2], "create")) {
		int n = atoi(argv[4]);

		if (nfs_mkdir(nfs, argv[3])) {
			fprintf(stderr, "nfsbench: mkdir %s: %s\n", argv[3], nfs_get_error(nfs));
			return 1;
		}
		t0 = now();
		for (int i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/c%06d", argv[3], i);
			if (nfs_creat(nfs, path, 0644, &fh)) {
				fprintf(stderr, "nfsbench: %s: %s\n", path, nfs_get_error(nfs));
				return 1;
			}
			nfs_close(nfs, fh);
		}
		printf("%.0f\n", n / (now() - t0));
	} else if (!strcmp(argv[2], "stat")) {
		int n = atoi(argv[4]);

		t0 = now();
		for (int i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/c%06d", argv[3], i);
			if (nfs_stat64(nfs, path, &st))
				return 1;
		}
		printf("%.0f\n", n / (now() - t0));
	} else if (!strcmp(argv[2], "readdir")) {
		int rounds = atoi(argv[4]);
		uint64_t entries = 0;
		struct nfsdir *d;

		t0 = now();
		for (int i = 0; i < rounds; i++) {
			if (nfs_opendir(nfs, argv[3], &d))
				return 1;
			while (nfs_readdir(nfs, d))
				entries++;
			nfs_closedir(nfs, d);
		}
		printf("%.0f\n", (double)entries / (now() - t0));
	} else {
		fprintf(stderr, "nfsbench: unknown test %s\n", argv[2]);
		return 2;
	}
	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	return 0;
}

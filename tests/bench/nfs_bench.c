/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file nfs_bench.c
 * @brief One NFS client measurement with libnfs, printed as one line of numbers
 *        (driven by nfs_bench.sh; a benchmark, never a pass/fail on time).
 *
 * usage: nfs_bench URL TEST ARGS...
 *   seqread  FILE DEPTH [PID]   MiB/s reading FILE whole in 1 MiB READs, DEPTH in flight;
 *                               with PID, also the CPU seconds (user+system) that process
 *                               spent per GiB read during the timed loop
 *   randread FILE COUNT DEPTH   4 KiB READs per second at COUNT random 4 KiB-aligned
 *                               offsets (a fixed seed: every run reads the same ones)
 *   create   DIR COUNT DEPTH    empty files created (and closed) per second in DIR,
 *                               which is made first and must not exist
 *   stat     DIR COUNT DEPTH    stat(DIR/name) per second (LOOKUP + GETATTR), cycling
 *                               over the names DIR holds (listed before the clock starts)
 *   readdir  DIR ROUNDS         directory entries per second, listing DIR ROUNDS times
 *                               (libnfs opendir reads the whole directory: READDIR(PLUS))
 * URL: nfs://127.0.0.1/EXPORT?version=4&nfsport=P (or version=3&nfsport=P&mountport=M).
 * A READ answered short (not at the end of the file) is continued with another READ, as
 * a kernel client would, and counted in a note on stderr.
 * Output: the figure on stdout (seqread with PID: "MIBS CPU_S_PER_GIB"). Errors go to
 * stderr with exit status 1; bad usage exits 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>

#define SEQ_CHUNK (1u << 20)
#define RND_CHUNK 4096u
#define POLL_MS	  30000

static struct nfs_context *nfs;
static const char *prog = "nfs_bench";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of @pid in seconds, or -1. */
static double proc_cpu(long pid)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	const char *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces: count fields from the last ')'; utime is field 14. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Wait for the socket and let libnfs handle what arrived (and send what is queued). */
static int pump(void)
{
	struct pollfd p = {.fd = nfs_get_fd(nfs), .events = (short)nfs_which_events(nfs)};
	int rc = poll(&p, 1, POLL_MS);

	if (rc < 0 && errno != EINTR) {
		fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
		return -1;
	}
	if (rc == 0) {
		fprintf(stderr, "%s: no reply from the server in %d s\n", prog, POLL_MS / 1000);
		return -1;
	}
	if (nfs_service(nfs, p.revents) < 0) {
		fprintf(stderr, "%s: %s\n", prog, nfs_get_error(nfs));
		return -1;
	}
	return 0;
}

/* Requests in flight, shared by every async test. */
struct flight {
	int inflight;
	int errors;
	uint64_t done;	/* completed requests */
	uint64_t bytes; /* bytes read */
	char err[256];	/* the first error */
};

static void flight_error(struct flight *f, const char *what, int err, void *data)
{
	f->errors++;
	if (!f->err[0])
		snprintf(f->err, sizeof(f->err), "%s: %s", what,
			 data ? (const char *)data : strerror(-err));
}

/* Wait until nothing is in flight; 0 if every request succeeded. */
static int drain(struct flight *f)
{
	while (f->inflight > 0)
		if (pump())
			return -1;
	if (f->errors) {
		fprintf(stderr, "%s: %d request(s) failed; first: %s\n", prog, f->errors, f->err);
		return -1;
	}
	return 0;
}

/* ---- reads ---------------------------------------------------------------------- */

/* One READ in flight: a short reply (not at EOF) is continued with another READ. */
struct rreq {
	struct flight *f;
	struct nfsfh *fh;
	uint64_t off, len;
};

static unsigned long short_reads;

static void read_done(int err, struct nfs_context *ctx, void *data, void *priv)
{
	struct rreq *r = priv;
	struct flight *f = r->f;

	if (err < 0) {
		flight_error(f, "read", err, data);
	} else if (err == 0 || (uint64_t)err >= r->len) {
		f->bytes += (uint64_t)err;
		if (err == 0) /* every offset asked for lies inside the file */
			flight_error(f, "read returned 0 bytes before the end", -EIO, NULL);
		f->done++;
	} else {
		short_reads++;
		f->bytes += (uint64_t)err;
		r->off += (uint64_t)err;
		r->len -= (uint64_t)err;
		if (!nfs_pread_async(ctx, r->fh, r->off, r->len, read_done, r))
			return; /* still in flight */
		flight_error(f, "read", -EIO, (void *)nfs_get_error(ctx));
	}
	f->inflight--;
	free(r);
}

/* Next offset, or UINT64_MAX when done. */
typedef uint64_t (*next_fn)(void *arg);

static int run_reads(struct nfsfh *fh, int depth, uint64_t len, next_fn next, void *arg,
		     struct flight *f)
{
	for (;;) {
		while (f->inflight < depth && !f->errors) {
			uint64_t off = next(arg);
			struct rreq *r;

			if (off == UINT64_MAX)
				break;
			r = malloc(sizeof(*r));
			if (!r)
				abort();
			*r = (struct rreq){f, fh, off, len};
			if (nfs_pread_async(nfs, fh, off, len, read_done, r)) {
				fprintf(stderr, "%s: pread: %s\n", prog, nfs_get_error(nfs));
				return -1;
			}
			f->inflight++;
		}
		if (!f->inflight || f->errors)
			return drain(f);
		if (pump())
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
	s->off += SEQ_CHUNK;
	return o;
}

struct rnd {
	uint64_t left, pages, x;
};

static uint64_t rnd_next(void *arg)
{
	struct rnd *r = arg;

	if (!r->left)
		return UINT64_MAX;
	r->left--;
	/* xorshift64: the same offsets on every run and every export */
	r->x ^= r->x << 13;
	r->x ^= r->x >> 7;
	r->x ^= r->x << 17;
	return r->x % r->pages * RND_CHUNK;
}

static int open_file(const char *path, struct nfsfh **fh, uint64_t *size)
{
	struct nfs_stat_64 st;

	if (nfs_stat64(nfs, path, &st) || nfs_open(nfs, path, O_RDONLY, fh)) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, nfs_get_error(nfs));
		return -1;
	}
	*size = st.nfs_size;
	return 0;
}

static int test_seqread(const char *path, int depth, long pid)
{
	struct flight f = {0};
	struct seq s = {0, 0};
	double t0, t1, c0 = 0, c1 = 0;
	struct nfsfh *fh;

	if (open_file(path, &fh, &s.size))
		return 1;
	if (pid > 0 && (c0 = proc_cpu(pid)) < 0) {
		fprintf(stderr, "%s: cannot read /proc/%ld/stat\n", prog, pid);
		return 1;
	}
	t0 = now();
	if (run_reads(fh, depth, SEQ_CHUNK, seq_next, &s, &f))
		return 1;
	t1 = now();
	if (pid > 0)
		c1 = proc_cpu(pid);
	nfs_close(nfs, fh);
	if (f.bytes != s.size) {
		fprintf(stderr, "%s: read %" PRIu64 " bytes of %" PRIu64 "\n", prog, f.bytes,
			s.size);
		return 1;
	}
	if (pid > 0)
		printf("%.1f %.3f\n", (double)f.bytes / (1 << 20) / (t1 - t0),
		       (c1 - c0) / ((double)f.bytes / (1 << 30)));
	else
		printf("%.1f\n", (double)f.bytes / (1 << 20) / (t1 - t0));
	return 0;
}

static int test_randread(const char *path, uint64_t count, int depth)
{
	struct flight f = {0};
	struct rnd r = {count, 0, 0x9e3779b97f4a7c15ull};
	struct nfsfh *fh;
	uint64_t size;
	double t0;

	if (open_file(path, &fh, &size))
		return 1;
	r.pages = size / RND_CHUNK;
	if (!r.pages) {
		fprintf(stderr, "%s: %s is smaller than 4 KiB\n", prog, path);
		return 1;
	}
	t0 = now();
	if (run_reads(fh, depth, RND_CHUNK, rnd_next, &r, &f))
		return 1;
	printf("%.0f\n", (double)f.done / (now() - t0));
	nfs_close(nfs, fh);
	return 0;
}

/* ---- creates -------------------------------------------------------------------- */

static void close_done(int err, struct nfs_context *ctx, void *data, void *priv)
{
	struct flight *f = priv;

	(void)ctx;
	f->inflight--;
	if (err < 0)
		flight_error(f, "close", err, data);
	else
		f->done++;
}

static void creat_done(int err, struct nfs_context *ctx, void *data, void *priv)
{
	struct flight *f = priv;

	if (err < 0) {
		f->inflight--;
		flight_error(f, "creat", err, data);
		return;
	}
	/* the same request slot goes on with the CLOSE */
	if (nfs_close_async(ctx, data, close_done, f)) {
		f->inflight--;
		flight_error(f, "close", -EIO, (void *)nfs_get_error(ctx));
	}
}

static int test_create(const char *dir, int count, int depth)
{
	struct flight f = {0};
	char path[512];
	double t0;
	int i = 0;

	if (nfs_mkdir(nfs, dir)) {
		fprintf(stderr, "%s: mkdir %s: %s\n", prog, dir, nfs_get_error(nfs));
		return 1;
	}
	t0 = now();
	while (i < count || f.inflight) {
		while (i < count && f.inflight < depth && !f.errors) {
			snprintf(path, sizeof(path), "%s/c%06d", dir, i++);
			if (nfs_creat_async(nfs, path, 0644, creat_done, &f)) {
				fprintf(stderr, "%s: creat %s: %s\n", prog, path,
					nfs_get_error(nfs));
				return 1;
			}
			f.inflight++;
		}
		if (f.errors)
			break;
		if (f.inflight && pump())
			return 1;
	}
	if (drain(&f))
		return 1;
	printf("%.0f\n", (double)f.done / (now() - t0));
	return 0;
}

/* ---- stat and readdir ----------------------------------------------------------- */

static void stat_done(int err, struct nfs_context *ctx, void *data, void *priv)
{
	struct flight *f = priv;

	(void)ctx;
	f->inflight--;
	if (err < 0)
		flight_error(f, "stat", err, data);
	else
		f->done++;
}

/* The names in @dir (not "." or ".."); *n set. */
static char **list_dir(const char *dir, size_t *n)
{
	struct nfsdirent *e;
	struct nfsdir *d;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (nfs_opendir(nfs, dir, &d)) {
		fprintf(stderr, "%s: opendir %s: %s\n", prog, dir, nfs_get_error(nfs));
		return NULL;
	}
	while ((e = nfs_readdir(nfs, d))) {
		if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
			continue;
		if (*n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 1024;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				abort();
			names = nn;
		}
		if (!(names[(*n)++] = strdup(e->name)))
			abort();
	}
	nfs_closedir(nfs, d);
	return names;
}

static int test_stat(const char *dir, int count, int depth)
{
	struct flight f = {0};
	char path[512];
	char **names;
	size_t n;
	double t0;
	int i = 0;

	names = list_dir(dir, &n);
	if (!names || !n) {
		if (names)
			fprintf(stderr, "%s: %s is empty\n", prog, dir);
		return 1;
	}
	t0 = now();
	while (i < count && !f.errors) {
		while (i < count && f.inflight < depth) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[(size_t)i++ % n]);
			if (nfs_stat64_async(nfs, path, stat_done, &f)) {
				fprintf(stderr, "%s: stat %s: %s\n", prog, path,
					nfs_get_error(nfs));
				return 1;
			}
			f.inflight++;
		}
		if (pump())
			return 1;
	}
	if (drain(&f))
		return 1;
	printf("%.0f\n", (double)f.done / (now() - t0));
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	return 0;
}

static int test_readdir(const char *dir, int rounds)
{
	uint64_t entries = 0;
	struct nfsdir *d;
	double t0 = now();

	for (int i = 0; i < rounds; i++) {
		if (nfs_opendir(nfs, dir, &d)) {
			fprintf(stderr, "%s: opendir %s: %s\n", prog, dir, nfs_get_error(nfs));
			return 1;
		}
		while (nfs_readdir(nfs, d))
			entries++;
		nfs_closedir(nfs, d);
	}
	printf("%.0f\n", (double)entries / (now() - t0));
	return 0;
}

/* ---- main ----------------------------------------------------------------------- */

static long num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < 1) {
		fprintf(stderr, "%s: %s '%s' must be a positive number\n", prog, what, s);
		exit(2);
	}
	return v;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s URL seqread FILE DEPTH [PID]\n"
		"       %s URL randread FILE COUNT DEPTH\n"
		"       %s URL create DIR COUNT DEPTH\n"
		"       %s URL stat DIR COUNT DEPTH\n"
		"       %s URL readdir DIR ROUNDS\n",
		prog, prog, prog, prog, prog);
	return 2;
}

int main(int argc, char **argv)
{
	struct nfs_url *url;
	const char *test;
	int rc;

	if (argc < 5)
		return usage();
	test = argv[2];
	nfs = nfs_init_context();
	if (!nfs) {
		fprintf(stderr, "%s: no memory\n", prog);
		return 1;
	}
	url = nfs_parse_url_dir(nfs, argv[1]);
	if (!url) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[1], nfs_get_error(nfs));
		return 2;
	}
	if (nfs_mount(nfs, url->server, url->path)) {
		fprintf(stderr, "%s: mount %s: %s\n", prog, argv[1], nfs_get_error(nfs));
		return 1;
	}
	if (!strcmp(test, "seqread") && argc <= 6)
		rc = test_seqread(argv[3], (int)num(argv[4], "DEPTH"),
				  argc == 6 ? num(argv[5], "PID") : 0);
	else if (!strcmp(test, "randread") && argc == 6)
		rc = test_randread(argv[3], (uint64_t)num(argv[4], "COUNT"),
				   (int)num(argv[5], "DEPTH"));
	else if (!strcmp(test, "create") && argc == 6)
		rc = test_create(argv[3], (int)num(argv[4], "COUNT"), (int)num(argv[5], "DEPTH"));
	else if (!strcmp(test, "stat") && argc == 6)
		rc = test_stat(argv[3], (int)num(argv[4], "COUNT"), (int)num(argv[5], "DEPTH"));
	else if (!strcmp(test, "readdir") && argc == 5)
		rc = test_readdir(argv[3], (int)num(argv[4], "ROUNDS"));
	else
		rc = usage();
	if (short_reads)
		fprintf(stderr, "%s: note: %lu short READ replies (continued with another READ)\n",
			prog, short_reads);
	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file nfsops.c
 * @brief Drive every NFS operation against a FAMFS gateway with libnfs (sync API).
 *
 * Usage: nfsops -4 URL4 [-3 URL3] [-r RO_URL4] [-x KEY=VALUE]... [CHECK...]
 *   URL4   nfs://127.0.0.1/famfs?version=4&nfsport=P
 *   URL3   nfs://127.0.0.1/famfs?version=3&nfsport=P&mountport=P+1
 *   RO_URL4  a read-only (non-master) gateway on the same device
 *   -x     parameters: ino:PATH=N (expected fileid), local:PATH=FILE (expected
 *          content), nbig=N (entries in /big), path=PATH, file=FILE, secs=S
 * Without CHECKs every check runs except appear/gone (they need -x path=).
 * The layout prepared by ops.sh: /pre/{small.txt,simple.bin,stripe.bin},
 * /pre/dir (mode 0750, uid 1234, gid 5678), /big (nbig empty files f1..fN),
 * /big2 (k1..k500 kept, r1..r1000 changed while listing).
 * v4 writes go in chunks of at most 3900 bytes (libnfs 4.0.0 cannot encode more);
 * bulk writes use v3. One line per check, then "nfsops: N passed, M failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>

#define V4_CHUNK 3900
#define MIB	 (1024 * 1024)

static const char *url4, *url3, *url_ro;
static struct nfs_context *n4, *n3;
static char **params;
static int nparams;
static char why[512];

/* Record the reason of a failure and fail the check. */
#define REQUIRE(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			snprintf(why, sizeof(why), __VA_ARGS__);                                   \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

static const char *param(const char *key)
{
	size_t n = strlen(key);

	for (int i = 0; i < nparams; i++)
		if (strncmp(params[i], key, n) == 0 && params[i][n] == '=')
			return params[i] + n + 1;
	return NULL;
}

static struct nfs_context *connect_url(const char *url)
{
	struct nfs_context *nfs = nfs_init_context();
	struct nfs_url *u;

	if (!nfs)
		return NULL;
	nfs_set_timeout(nfs, 30000);
	u = nfs_parse_url_dir(nfs, url);
	if (!u) {
		fprintf(stderr, "nfsops: %s: %s\n", url, nfs_get_error(nfs));
		nfs_destroy_context(nfs);
		return NULL;
	}
	if (nfs_mount(nfs, u->server, u->path) != 0) {
		fprintf(stderr, "nfsops: mount %s: %s\n", url, nfs_get_error(nfs));
		nfs_destroy_url(u);
		nfs_destroy_context(nfs);
		return NULL;
	}
	nfs_destroy_url(u);
	return nfs;
}

static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
}

static unsigned char *read_local(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Write @len bytes at @off in chunks of @chunk; 0 or -errno. */
static int put(struct nfs_context *nfs, struct nfsfh *fh, uint64_t off, const void *buf, size_t len,
	       size_t chunk)
{
	const unsigned char *p = buf;

	while (len) {
		size_t n = len < chunk ? len : chunk;
		int rc = nfs_pwrite(nfs, fh, off, n, p);

		if (rc < 0)
			return rc;
		if (rc == 0)
			return -EIO;
		off += (uint64_t)rc;
		p += rc;
		len -= (size_t)rc;
	}
	return 0;
}

/* Read up to @len bytes at @off; the count or -errno. */
static long get(struct nfs_context *nfs, struct nfsfh *fh, uint64_t off, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < MIB ? len - done : MIB;
		int rc = nfs_pread(nfs, fh, off + done, n, p + done);

		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		done += (size_t)rc;
	}
	return (long)done;
}

/* Whole content of @path over @nfs (malloc'd) or NULL; *len its size. */
static unsigned char *slurp(struct nfs_context *nfs, const char *path, size_t *len, int *err)
{
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	unsigned char *buf;
	long n;
	int rc;

	rc = nfs_stat64(nfs, path, &st);
	if (rc == 0)
		rc = nfs_open(nfs, path, O_RDONLY, &fh);
	if (rc) {
		*err = rc;
		return NULL;
	}
	buf = malloc(st.nfs_size + 1);
	n = get(nfs, fh, 0, buf, st.nfs_size + 1);
	nfs_close(nfs, fh);
	if (n < 0) {
		*err = (int)n;
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	*err = 0;
	return buf;
}

/* Create @path (exclusive) and write @len bytes of pattern @seed; 0 or -errno. */
static int make_file(struct nfs_context *nfs, const char *path, size_t len, uint64_t seed,
		     size_t chunk)
{
	unsigned char *buf = malloc(len + 1);
	struct nfsfh *fh;
	int rc;

	fill(buf, len, seed);
	rc = nfs_open2(nfs, path, O_CREAT | O_EXCL | O_RDWR, 0644, &fh);
	if (rc == 0) {
		rc = put(nfs, fh, 0, buf, len, chunk);
		if (rc == 0)
			rc = nfs_fsync(nfs, fh);
		nfs_close(nfs, fh);
	}
	free(buf);
	return rc;
}

/* 0 when @path over @nfs holds exactly pattern @seed of @len bytes. */
static int same_pattern(struct nfs_context *nfs, const char *path, size_t len, uint64_t seed)
{
	unsigned char *want = malloc(len + 1), *got;
	size_t n = 0;
	int err, rc;

	fill(want, len, seed);
	got = slurp(nfs, path, &n, &err);
	if (!got)
		rc = err;
	else
		rc = (n == len && memcmp(got, want, len) == 0) ? 0 : -EILSEQ;
	free(got);
	free(want);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ checks */

static int check_lookup(void)
{
	static const char *const paths[] = {
	    "/pre/small.txt", "/pre/simple.bin", "/pre/stripe.bin", "/pre/dir", "/pre", "/big"};
	struct nfs_context *ctxs[2] = {n4, n3};

	for (int c = 0; c < 2; c++) {
		struct nfs_context *nfs = ctxs[c];

		if (!nfs)
			continue;
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct nfs_stat_64 a, b;
			char key[128];
			const char *v;
			int rc = nfs_stat64(nfs, paths[i], &a);

			REQUIRE(rc == 0, "v%d stat %s: %s", c ? 3 : 4, paths[i], strerror(-rc));
			rc = nfs_stat64(nfs, paths[i], &b);
			REQUIRE(rc == 0 && a.nfs_ino == b.nfs_ino, "v%d %s: fileid not stable",
				c ? 3 : 4, paths[i]);
			snprintf(key, sizeof(key), "ino:%s", paths[i]);
			v = param(key);
			REQUIRE(!v || a.nfs_ino == strtoull(v, NULL, 0),
				"v%d %s: fileid %" PRIu64 " != famfs ino %s", c ? 3 : 4, paths[i],
				(uint64_t)a.nfs_ino, v);
			snprintf(key, sizeof(key), "local:%s", paths[i]);
			v = param(key);
			if (v) {
				struct stat ls;

				REQUIRE(stat(v, &ls) == 0, "local %s", v);
				REQUIRE(a.nfs_size == (uint64_t)ls.st_size && S_ISREG(a.nfs_mode),
					"v%d %s: size %" PRIu64 " != %lld", c ? 3 : 4, paths[i],
					(uint64_t)a.nfs_size, (long long)ls.st_size);
			}
		}
		{
			struct nfs_stat_64 d;
			int rc = nfs_stat64(nfs, "/pre/dir", &d);

			REQUIRE(rc == 0 && S_ISDIR(d.nfs_mode) && (d.nfs_mode & 07777) == 0750 &&
				    d.nfs_uid == 1234 && d.nfs_gid == 5678,
				"v%d /pre/dir: mode %o uid %d gid %d", c ? 3 : 4,
				(unsigned int)d.nfs_mode, (int)d.nfs_uid, (int)d.nfs_gid);
			rc = nfs_stat64(nfs, "/pre/nope", &d);
			REQUIRE(rc == -ENOENT, "v%d stat of a missing name: %d", c ? 3 : 4, rc);
			rc = nfs_stat64(nfs, "/pre/small.txt/x", &d);
			REQUIRE(rc == -ENOTDIR || rc == -ENOENT, "v%d lookup under a file: %d",
				c ? 3 : 4, rc);
		}
	}
	return 0;
}

/* List @dir: every name (but . and ..) into a malloc'd array; count or -errno. */
static int list_dir(struct nfs_context *nfs, const char *dir, char ***names)
{
	struct nfsdir *d;
	struct nfsdirent *e;
	int n = 0, cap = 256, rc;

	rc = nfs_opendir(nfs, dir, &d);
	if (rc)
		return rc;
	*names = malloc(sizeof(char *) * (size_t)cap);
	while ((e = nfs_readdir(nfs, d))) {
		if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
			continue;
		if (n == cap) {
			cap *= 2;
			*names = realloc(*names, sizeof(char *) * (size_t)cap);
		}
		(*names)[n++] = strdup(e->name);
	}
	nfs_closedir(nfs, d);
	return n;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int check_readdir(void)
{
	const char *v = param("nbig");
	int want = v ? atoi(v) : 3000;
	struct nfs_context *ctxs[2] = {n4, n3};

	for (int c = 0; c < 2; c++) {
		unsigned char *seen;
		char **names;
		int n, dup = 0, bad = 0;

		if (!ctxs[c])
			continue;
		n = list_dir(ctxs[c], "/big", &names);
		REQUIRE(n >= 0, "v%d opendir /big: %s", c ? 3 : 4, strerror(-n));
		seen = calloc((size_t)want + 1, 1);
		for (int i = 0; i < n; i++) {
			int k = names[i][0] == 'f' ? atoi(names[i] + 1) : 0;

			if (k < 1 || k > want)
				bad++;
			else if (seen[k]++)
				dup++;
		}
		free(seen);
		free_names(names, n);
		REQUIRE(n == want && dup == 0 && bad == 0,
			"v%d /big: %d entries (want %d), %d duplicates, %d unknown", c ? 3 : 4, n,
			want, dup, bad);
	}
	return 0;
}

/* List /big2 repeatedly while a child renames and removes the r* entries. */
static int check_readdir_churn(void)
{
	pid_t pid;
	int status, rounds = 0, errors = 0, missing = 0, dups = 0;
	char last[256] = "";

	pid = fork();
	if (pid == 0) {
		struct nfs_context *nfs = connect_url(url4);
		char a[64], b[64];
		int rc = 0;

		if (!nfs)
			_exit(2);
		for (int i = 1; i <= 1000 && rc == 0; i++) {
			snprintf(a, sizeof(a), "/big2/r%d", i);
			snprintf(b, sizeof(b), "/big2/m%d", i);
			rc = (i % 2) ? nfs_unlink(nfs, a) : nfs_rename(nfs, a, b);
		}
		nfs_destroy_context(nfs);
		_exit(rc ? 1 : 0);
	}
	for (;;) {
		struct nfs_context *ctxs[2] = {n4, n3};
		bool done = waitpid(pid, &status, WNOHANG) == pid;

		for (int c = 0; c < 2; c++) {
			unsigned char seen[501] = {0};
			char **names;
			int n;

			if (!ctxs[c])
				continue;
			n = list_dir(ctxs[c], "/big2", &names);
			rounds++;
			if (n < 0) {
				errors++;
				snprintf(last, sizeof(last), "v%d: %s", c ? 3 : 4,
					 nfs_get_error(ctxs[c]));
				continue;
			}
			for (int i = 0; i < n; i++) {
				int k = names[i][0] == 'k' ? atoi(names[i] + 1) : 0;

				if (k >= 1 && k <= 500 && seen[k]++)
					dups++;
			}
			for (int k = 1; k <= 500; k++)
				missing += !seen[k];
			free_names(names, n);
		}
		if (done)
			break;
	}
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the changing client failed");
	REQUIRE(errors == 0 && missing == 0 && dups == 0,
		"%d listings: %d failed (%s), %d kept entries missing, %d duplicated", rounds,
		errors, last, missing, dups);
	return 0;
}

static int compare_with_local(struct nfs_context *nfs, const char *path, const char *local, int ver)
{
	size_t wl = 0, gl = 0;
	unsigned char *want = read_local(local, &wl), *got;
	int err, rc;

	REQUIRE(want, "local file %s", local);
	got = slurp(nfs, path, &gl, &err);
	rc = got && gl == wl && memcmp(got, want, wl) == 0;
	free(got);
	free(want);
	REQUIRE(rc, "v%d %s: %s (%zu bytes, want %zu)", ver, path,
		err ? strerror(-err) : "content differs", gl, wl);
	return 0;
}

static int check_read(void)
{
	static const char *const paths[] = {"/pre/small.txt", "/pre/simple.bin", "/pre/stripe.bin"};

	for (size_t i = 0; i < 3; i++) {
		char key[128];
		const char *local;

		snprintf(key, sizeof(key), "local:%s", paths[i]);
		local = param(key);
		REQUIRE(local, "no -x %s", key);
		if (compare_with_local(n4, paths[i], local, 4))
			return 1;
		if (n3 && compare_with_local(n3, paths[i], local, 3))
			return 1;
	}
	/* Small unaligned reads across chunk (2 MiB) boundaries of the striped file. */
	{
		size_t wl;
		unsigned char *want = read_local(param("local:/pre/stripe.bin"), &wl);
		unsigned char buf[5000];
		struct nfsfh *fh;
		int rc = nfs_open(n4, "/pre/stripe.bin", O_RDONLY, &fh);

		REQUIRE(rc == 0 && want, "open stripe.bin: %d", rc);
		for (uint64_t off = 2 * MIB - 2500; off < wl; off += 2 * MIB) {
			long n = get(n4, fh, off, buf, sizeof(buf));

			if (n < 0 ||
			    (size_t)n != (off + sizeof(buf) <= wl ? sizeof(buf) : wl - off) ||
			    memcmp(buf, want + off, (size_t)n) != 0) {
				nfs_close(n4, fh);
				free(want);
				REQUIRE(0, "stripe.bin: read at %" PRIu64 " differs", off);
			}
		}
		/* Past EOF: 0 bytes. */
		rc = nfs_pread(n4, fh, wl + 10, 100, buf);
		nfs_close(n4, fh);
		free(want);
		REQUIRE(rc == 0, "read past EOF gave %d", rc);
	}
	return 0;
}

static int check_write(void)
{
	size_t len = 5 * MIB;
	unsigned char *buf = malloc(len);
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	int rc;

	REQUIRE(n3, "needs NFSv3 (-3)");
	fill(buf, len, 5);
	rc = nfs_open2(n3, "/t3/w5m.bin", O_CREAT | O_EXCL | O_WRONLY, 0644, &fh);
	REQUIRE(rc == 0, "v3 create /t3/w5m.bin: %s", nfs_get_error(n3));
	for (size_t off = 0; off < len && rc == 0; off += MIB)
		rc = put(n3, fh, off, buf + off, MIB, MIB);
	if (rc == 0)
		rc = nfs_fsync(n3, fh);
	nfs_close(n3, fh);
	free(buf);
	REQUIRE(rc == 0, "v3 write/fsync: %s", nfs_get_error(n3));
	rc = nfs_stat64(n3, "/t3/w5m.bin", &st);
	REQUIRE(rc == 0 && st.nfs_size == len, "size after write %" PRIu64, (uint64_t)st.nfs_size);
	REQUIRE(same_pattern(n3, "/t3/w5m.bin", len, 5) == 0, "v3 read back differs");
	REQUIRE(same_pattern(n4, "/t3/w5m.bin", len, 5) == 0, "v4 read back differs");
	/* Small v4 writes, several chunks. */
	rc = make_file(n4, "/t4/small4.bin", 20000, 6, V4_CHUNK);
	REQUIRE(rc == 0, "v4 create+write: %s", strerror(-rc));
	REQUIRE(same_pattern(n4, "/t4/small4.bin", 20000, 6) == 0, "v4 small read back");
	REQUIRE(same_pattern(n3, "/t4/small4.bin", 20000, 6) == 0, "v3 small read back");
	return 0;
}

static int check_append(void)
{
	unsigned char a[3000], b[3000], got[6000];
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	long n;
	int rc;

	fill(a, sizeof(a), 7);
	fill(b, sizeof(b), 8);
	rc = nfs_open2(n4, "/t4/append.txt", O_CREAT | O_EXCL | O_WRONLY, 0644, &fh);
	REQUIRE(rc == 0, "create: %s", nfs_get_error(n4));
	rc = put(n4, fh, 0, a, sizeof(a), V4_CHUNK);
	nfs_close(n4, fh);
	REQUIRE(rc == 0, "write: %d", rc);
	rc = nfs_open(n4, "/t4/append.txt", O_WRONLY | O_APPEND, &fh);
	REQUIRE(rc == 0, "reopen: %s", nfs_get_error(n4));
	rc = nfs_write(n4, fh, sizeof(b), b);
	nfs_close(n4, fh);
	REQUIRE(rc == (int)sizeof(b), "append write: %d", rc);
	rc = nfs_stat64(n4, "/t4/append.txt", &st);
	REQUIRE(rc == 0 && st.nfs_size == 6000, "size after append %" PRIu64,
		(uint64_t)st.nfs_size);
	rc = nfs_open(n4, "/t4/append.txt", O_RDONLY, &fh);
	REQUIRE(rc == 0, "open");
	n = get(n4, fh, 0, got, sizeof(got));
	nfs_close(n4, fh);
	REQUIRE(n == 6000 && !memcmp(got, a, 3000) && !memcmp(got + 3000, b, 3000),
		"content after append");
	return 0;
}

static int check_overwrite(void)
{
	size_t len = 3 * MIB;
	unsigned char *want = malloc(len), patch[7777];
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	int rc;

	rc = make_file(n3, "/t3/over.bin", len, 9, MIB);
	REQUIRE(rc == 0, "create: %s", strerror(-rc));
	fill(want, len, 9);
	fill(patch, sizeof(patch), 10);
	memcpy(want + 2 * MIB - 1000, patch, sizeof(patch));
	rc = nfs_open(n4, "/t3/over.bin", O_WRONLY, &fh);
	REQUIRE(rc == 0, "open: %s", nfs_get_error(n4));
	rc = put(n4, fh, 2 * MIB - 1000, patch, sizeof(patch), V4_CHUNK);
	nfs_close(n4, fh);
	REQUIRE(rc == 0, "overwrite: %d", rc);
	rc = nfs_stat64(n4, "/t3/over.bin", &st);
	REQUIRE(rc == 0 && st.nfs_size == len, "size changed: %" PRIu64, (uint64_t)st.nfs_size);
	{
		size_t gl = 0;
		int err;
		unsigned char *got = slurp(n3, "/t3/over.bin", &gl, &err);
		bool ok = got && gl == len && memcmp(got, want, len) == 0;

		free(got);
		free(want);
		REQUIRE(ok, "content after overwrite");
	}
	return 0;
}

static int check_create(void)
{
	struct nfs_context *ctxs[2] = {n4, n3};

	for (int c = 0; c < 2; c++) {
		struct nfs_context *nfs = ctxs[c];
		const char *dir = c ? "/t3" : "/t4";
		char p[64];
		struct nfs_stat_64 st;
		struct nfsfh *fh;
		int rc;

		if (!nfs)
			continue;
		snprintf(p, sizeof(p), "%s/cr.txt", dir);
		/* A new name: O_CREAT (libnfs: exclusive/guarded) with a mode. */
		rc = nfs_open2(nfs, p, O_CREAT | O_WRONLY, 0600, &fh);
		REQUIRE(rc == 0, "v%d O_CREAT new: %s", c ? 3 : 4, nfs_get_error(nfs));
		rc = put(nfs, fh, 0, "hello", 5, V4_CHUNK);
		nfs_close(nfs, fh);
		REQUIRE(rc == 0, "v%d write", c ? 3 : 4);
		rc = nfs_stat64(nfs, p, &st);
		REQUIRE(rc == 0 && S_ISREG(st.nfs_mode) && (st.nfs_mode & 0777) == 0600 &&
			    st.nfs_size == 5,
			"v%d created: mode %o size %" PRIu64, c ? 3 : 4, (unsigned int)st.nfs_mode,
			(uint64_t)st.nfs_size);
		/* O_CREAT|O_EXCL on an existing name: EEXIST. */
		rc = nfs_open2(nfs, p, O_CREAT | O_EXCL | O_WRONLY, 0644, &fh);
		if (rc == 0)
			nfs_close(nfs, fh);
		REQUIRE(rc == -EEXIST, "v%d O_EXCL on existing: %d", c ? 3 : 4, rc);
		/* O_CREAT on an existing name: opens it (or EEXIST with libnfs), never truncates.
		 */
		rc = nfs_open2(nfs, p, O_CREAT | O_WRONLY, 0644, &fh);
		if (rc == 0)
			nfs_close(nfs, fh);
		REQUIRE(rc == 0 || rc == -EEXIST, "v%d O_CREAT on existing: %d", c ? 3 : 4, rc);
		rc = nfs_stat64(nfs, p, &st);
		REQUIRE(rc == 0 && st.nfs_size == 5, "v%d existing file changed", c ? 3 : 4);
		/* O_TRUNC empties it. */
		rc = nfs_open(nfs, p, O_WRONLY | O_TRUNC, &fh);
		REQUIRE(rc == 0, "v%d O_TRUNC: %s", c ? 3 : 4, nfs_get_error(nfs));
		nfs_close(nfs, fh);
		rc = nfs_stat64(nfs, p, &st);
		REQUIRE(rc == 0 && st.nfs_size == 0, "v%d size after O_TRUNC %" PRIu64, c ? 3 : 4,
			(uint64_t)st.nfs_size);
		/* O_CREAT|O_EXCL new: EXCLUSIVE create, then usable. */
		snprintf(p, sizeof(p), "%s/excl.txt", dir);
		rc = nfs_open2(nfs, p, O_CREAT | O_EXCL | O_RDWR, 0640, &fh);
		REQUIRE(rc == 0, "v%d O_EXCL new: %s", c ? 3 : 4, nfs_get_error(nfs));
		rc = put(nfs, fh, 0, "x", 1, V4_CHUNK);
		nfs_close(nfs, fh);
		REQUIRE(rc == 0, "v%d write after exclusive create", c ? 3 : 4);
		rc = nfs_stat64(nfs, p, &st);
		REQUIRE(rc == 0 && st.nfs_size == 1, "v%d exclusive file size", c ? 3 : 4);
		/* Creating in a missing directory. */
		snprintf(p, sizeof(p), "%s/nodir/x", dir);
		rc = nfs_open2(nfs, p, O_CREAT | O_WRONLY, 0644, &fh);
		REQUIRE(rc == -ENOENT, "v%d create in a missing dir: %d", c ? 3 : 4, rc);
	}
	return 0;
}

static int check_mkdir_rmdir(void)
{
	struct nfs_stat_64 st;
	int rc;

	rc = nfs_mkdir2(n4, "/t4/d1", 0711);
	REQUIRE(rc == 0, "mkdir: %s", nfs_get_error(n4));
	rc = nfs_stat64(n4, "/t4/d1", &st);
	REQUIRE(rc == 0 && S_ISDIR(st.nfs_mode) && (st.nfs_mode & 0777) == 0711, "mkdir mode %o",
		(unsigned int)st.nfs_mode);
	rc = nfs_mkdir(n4, "/t4/d1");
	REQUIRE(rc == -EEXIST, "mkdir existing: %d", rc);
	rc = nfs_mkdir(n3, "/t4/d1/sub");
	REQUIRE(rc == 0, "v3 mkdir: %s", nfs_get_error(n3));
	rc = nfs_rmdir(n4, "/t4/d1");
	REQUIRE(rc == -ENOTEMPTY || rc == -EEXIST, "rmdir non-empty: %d", rc);
	rc = make_file(n4, "/t4/d1/sub/f", 10, 1, V4_CHUNK);
	REQUIRE(rc == 0, "file in sub");
	rc = nfs_rmdir(n3, "/t4/d1/sub");
	REQUIRE(rc == -ENOTEMPTY || rc == -EEXIST, "v3 rmdir non-empty: %d", rc);
	/* v3 RMDIR (NFSv4 has only REMOVE, which takes both kinds). */
	rc = nfs_rmdir(n3, "/t4/d1/sub/f");
	REQUIRE(rc == -ENOTDIR, "v3 rmdir of a file: %d", rc);
	rc = nfs_unlink(n4, "/t4/d1/sub/f");
	REQUIRE(rc == 0, "unlink: %s", nfs_get_error(n4));
	rc = nfs_rmdir(n3, "/t4/d1/sub");
	REQUIRE(rc == 0, "v3 rmdir empty: %s", nfs_get_error(n3));
	rc = nfs_rmdir(n4, "/t4/d1");
	REQUIRE(rc == 0, "rmdir empty: %s", nfs_get_error(n4));
	rc = nfs_stat64(n4, "/t4/d1", &st);
	REQUIRE(rc == -ENOENT, "stat after rmdir: %d", rc);
	rc = nfs_rmdir(n4, "/t4/d1");
	REQUIRE(rc == -ENOENT, "rmdir missing: %d", rc);
	return 0;
}

static int check_unlink(void)
{
	struct nfs_stat_64 st;
	int rc;

	rc = make_file(n4, "/t4/u.txt", 100, 2, V4_CHUNK);
	REQUIRE(rc == 0, "create");
	rc = nfs_unlink(n4, "/t4/u.txt");
	REQUIRE(rc == 0, "unlink: %s", nfs_get_error(n4));
	rc = nfs_stat64(n4, "/t4/u.txt", &st);
	REQUIRE(rc == -ENOENT, "v4 stat after unlink: %d", rc);
	rc = nfs_stat64(n3, "/t4/u.txt", &st);
	REQUIRE(rc == -ENOENT, "v3 stat after unlink: %d", rc);
	rc = nfs_unlink(n4, "/t4/u.txt");
	REQUIRE(rc == -ENOENT, "unlink missing: %d", rc);
	rc = nfs_unlink(n3, "/pre/dir");
	REQUIRE(rc != 0, "v3 unlink of a directory succeeded");
	/* The name can be used again. */
	rc = make_file(n3, "/t4/u.txt", 5000, 3, MIB);
	REQUIRE(rc == 0, "re-create: %s", strerror(-rc));
	REQUIRE(same_pattern(n4, "/t4/u.txt", 5000, 3) == 0, "re-created content");
	return 0;
}

static int check_rename(void)
{
	struct nfs_stat_64 a, b;
	int rc;

	rc = make_file(n4, "/t4/r1", 1000, 11, V4_CHUNK);
	REQUIRE(rc == 0, "create");
	rc = nfs_stat64(n4, "/t4/r1", &a);
	REQUIRE(rc == 0, "stat");
	rc = nfs_rename(n4, "/t4/r1", "/t4/r2");
	REQUIRE(rc == 0, "rename within: %s", nfs_get_error(n4));
	rc = nfs_stat64(n4, "/t4/r2", &b);
	REQUIRE(rc == 0 && b.nfs_ino == a.nfs_ino, "renamed: same fileid");
	REQUIRE(nfs_stat64(n4, "/t4/r1", &b) == -ENOENT, "old name still there");
	rc = nfs_rename(n3, "/t4/r2", "/t3/r3");
	REQUIRE(rc == 0, "v3 rename across dirs: %s", nfs_get_error(n3));
	REQUIRE(same_pattern(n4, "/t3/r3", 1000, 11) == 0, "content after move");
	/* Onto an existing file: replaced. */
	rc = make_file(n4, "/t4/victim", 2000, 12, V4_CHUNK);
	REQUIRE(rc == 0, "create victim");
	rc = nfs_rename(n4, "/t3/r3", "/t4/victim");
	REQUIRE(rc == 0, "rename onto existing: %s", nfs_get_error(n4));
	REQUIRE(same_pattern(n4, "/t4/victim", 1000, 11) == 0, "target not replaced");
	REQUIRE(same_pattern(n3, "/t4/victim", 1000, 11) == 0, "v3: target not replaced");
	REQUIRE(nfs_stat64(n4, "/t3/r3", &b) == -ENOENT, "source still there");
	/* A directory moves with its content. */
	REQUIRE(nfs_mkdir(n4, "/t4/rd") == 0, "mkdir");
	REQUIRE(make_file(n4, "/t4/rd/in", 10, 13, V4_CHUNK) == 0, "file in dir");
	rc = nfs_rename(n4, "/t4/rd", "/t3/rd2");
	REQUIRE(rc == 0, "rename dir: %s", nfs_get_error(n4));
	REQUIRE(same_pattern(n4, "/t3/rd2/in", 10, 13) == 0, "content of a moved dir");
	/* File over directory, missing source. */
	rc = nfs_rename(n4, "/t4/victim", "/t3/rd2");
	REQUIRE(rc != 0, "file renamed over a directory");
	rc = nfs_rename(n4, "/t4/nope", "/t4/nope2");
	REQUIRE(rc == -ENOENT, "rename missing: %d", rc);
	return 0;
}

static int check_truncate(void)
{
	unsigned char buf[9000], want[9000];
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	long n;
	int rc;

	rc = make_file(n4, "/t4/tr", 8000, 14, V4_CHUNK);
	REQUIRE(rc == 0, "create");
	rc = nfs_truncate(n4, "/t4/tr", 3000);
	REQUIRE(rc == 0, "truncate smaller: %s", nfs_get_error(n4));
	rc = nfs_stat64(n3, "/t4/tr", &st);
	REQUIRE(rc == 0 && st.nfs_size == 3000, "size %" PRIu64, (uint64_t)st.nfs_size);
	rc = nfs_truncate(n3, "/t4/tr", 9000);
	REQUIRE(rc == 0, "v3 truncate larger: %s", nfs_get_error(n3));
	rc = nfs_stat64(n4, "/t4/tr", &st);
	REQUIRE(rc == 0 && st.nfs_size == 9000, "size %" PRIu64, (uint64_t)st.nfs_size);
	fill(want, 8000, 14);
	memset(want + 3000, 0, 6000);
	rc = nfs_open(n4, "/t4/tr", O_RDONLY, &fh);
	REQUIRE(rc == 0, "open");
	n = get(n4, fh, 0, buf, sizeof(buf));
	nfs_close(n4, fh);
	REQUIRE(n == 9000 && memcmp(buf, want, 9000) == 0, "grown bytes are not zeros");
	/* Across an allocation unit, through an open handle. */
	rc = nfs_open(n3, "/t4/tr", O_RDWR, &fh);
	REQUIRE(rc == 0, "open v3");
	rc = nfs_ftruncate(n3, fh, 3 * MIB);
	nfs_close(n3, fh);
	REQUIRE(rc == 0, "ftruncate 3 MiB: %s", nfs_get_error(n3));
	rc = nfs_open(n4, "/t4/tr", O_RDONLY, &fh);
	n = get(n4, fh, 3 * MIB - 9000, buf, sizeof(buf));
	nfs_close(n4, fh);
	memset(want, 0, sizeof(want));
	REQUIRE(n == 9000 && memcmp(buf, want, 9000) == 0, "tail of a grown file");
	rc = nfs_truncate(n4, "/t4/tr", 0);
	REQUIRE(rc == 0 && nfs_stat64(n4, "/t4/tr", &st) == 0 && st.nfs_size == 0, "truncate to 0");
	rc = nfs_truncate(n4, "/pre/dir", 0);
	REQUIRE(rc != 0, "truncate of a directory succeeded");
	return 0;
}

static int check_chmod_chown_utimes(void)
{
	struct nfs_context *ctxs[2] = {n4, n3};

	for (int c = 0; c < 2; c++) {
		struct nfs_context *nfs = ctxs[c];
		struct nfs_stat_64 st;
		struct timeval tv[2];
		char p[64];
		int rc;

		snprintf(p, sizeof(p), "/t4/attr%d", c);
		REQUIRE(make_file(nfs, p, 10, 15, V4_CHUNK) == 0, "create");
		rc = nfs_chmod(nfs, p, 0604);
		REQUIRE(rc == 0, "v%d chmod: %s", c ? 3 : 4, nfs_get_error(nfs));
		rc = nfs_stat64(nfs, p, &st);
		REQUIRE(rc == 0 && (st.nfs_mode & 07777) == 0604, "v%d mode %o", c ? 3 : 4,
			(unsigned int)st.nfs_mode);
		rc = nfs_chown(nfs, p, 4321, 8765);
		REQUIRE(rc == 0, "v%d chown: %s", c ? 3 : 4, nfs_get_error(nfs));
		rc = nfs_stat64(nfs, p, &st);
		REQUIRE(rc == 0 && st.nfs_uid == 4321 && st.nfs_gid == 8765, "v%d owner %d:%d",
			c ? 3 : 4, (int)st.nfs_uid, (int)st.nfs_gid);
		tv[0].tv_sec = 1000000000;
		tv[0].tv_usec = 0;
		tv[1].tv_sec = 1200000000;
		tv[1].tv_usec = 0;
		rc = nfs_utimes(nfs, p, tv);
		REQUIRE(rc == 0, "v%d utimes: %s", c ? 3 : 4, nfs_get_error(nfs));
		rc = nfs_stat64(nfs, p, &st);
		REQUIRE(rc == 0 && st.nfs_atime == 1000000000 && st.nfs_mtime == 1200000000,
			"v%d times %" PRIu64 " %" PRIu64, c ? 3 : 4, (uint64_t)st.nfs_atime,
			(uint64_t)st.nfs_mtime);
		/* libnfs 4.0 chmods over v4 through an OPEN, which a directory refuses. */
		if (c == 1) {
			rc = nfs_chmod(nfs, "/pre/dir", 0751);
			REQUIRE(rc == 0 && nfs_stat64(nfs, "/pre/dir", &st) == 0 &&
				    (st.nfs_mode & 07777) == 0751,
				"v3 chmod dir: %s", nfs_get_error(nfs));
			REQUIRE(nfs_chmod(nfs, "/pre/dir", 0750) == 0, "v3 chmod dir back");
		}
	}
	return 0;
}

static int check_symlink_link(void)
{
	struct nfs_stat_64 st;
	char target[400];
	int rc;

	/* Symbolic links: made, read back, seen as links by both versions, removed. */
	rc = nfs_symlink(n4, "/pre/small.txt", "/t4/sl");
	REQUIRE(rc == 0, "v4 symlink: %s", nfs_get_error(n4));
	rc = nfs_readlink(n4, "/t4/sl", target, sizeof(target));
	REQUIRE(rc == 0 && strcmp(target, "/pre/small.txt") == 0, "v4 readlink: %d '%s'", rc,
		rc ? "" : target);
	rc = nfs_symlink(n3, "../pre/small.txt", "/t3/sl");
	REQUIRE(rc == 0, "v3 symlink: %s", nfs_get_error(n3));
	rc = nfs_readlink(n3, "/t3/sl", target, sizeof(target));
	REQUIRE(rc == 0 && strcmp(target, "../pre/small.txt") == 0, "v3 readlink: %d", rc);
	rc = nfs_lstat64(n4, "/t3/sl", &st);
	REQUIRE(rc == 0 && S_ISLNK(st.nfs_mode) && st.nfs_size == strlen("../pre/small.txt"),
		"v4 lstat of the v3 link: %d mode 0%llo", rc, (unsigned long long)st.nfs_mode);
	/* A target longer than the format holds: refused, no name left. */
	memset(target, 'x', sizeof(target) - 1);
	target[sizeof(target) - 1] = '\0';
	rc = nfs_symlink(n4, target, "/t4/toolong");
	REQUIRE(rc < 0, "v4 symlink with a 399-byte target succeeded");
	REQUIRE(nfs_lstat64(n4, "/t4/toolong", &st) == -ENOENT, "a refused symlink left a name");
	REQUIRE(nfs_unlink(n4, "/t4/sl") == 0 && nfs_unlink(n3, "/t3/sl") == 0,
		"unlink of symlinks");
	/* Hard links (XE_LINK): one file, three names, over v4 and v3. */
	{
		struct nfs_stat_64 a, b;

		rc = nfs_link(n4, "/pre/small.txt", "/t4/hl");
		REQUIRE(rc == 0, "v4 link failed: %d", rc);
		rc = nfs_link(n3, "/pre/small.txt", "/t3/hl");
		REQUIRE(rc == 0, "v3 link failed: %d", rc);
		REQUIRE(nfs_stat64(n4, "/pre/small.txt", &a) == 0 &&
			    nfs_stat64(n4, "/t3/hl", &b) == 0,
			"stat of the linked names");
		REQUIRE(a.nfs_ino == b.nfs_ino && a.nfs_nlink == 3 && b.nfs_nlink == 3,
			"hard links: inode %llu/%llu, links %llu/%llu (want one inode, 3 links)",
			(unsigned long long)a.nfs_ino, (unsigned long long)b.nfs_ino,
			(unsigned long long)a.nfs_nlink, (unsigned long long)b.nfs_nlink);
		REQUIRE(nfs_link(n4, "/t4", "/t4/dirlink") < 0 &&
			    nfs_stat64(n4, "/t4/dirlink", &st) == -ENOENT,
			"a hard link to a directory was made");
		REQUIRE(nfs_link(n4, "/pre/small.txt", "/t4/hl") < 0,
			"a link over a name succeeded");
		REQUIRE(nfs_unlink(n4, "/t4/hl") == 0 && nfs_unlink(n3, "/t3/hl") == 0,
			"unlink of the hard links");
		REQUIRE(nfs_stat64(n4, "/pre/small.txt", &a) == 0 && a.nfs_nlink == 1,
			"after unlinking the links, the file has %llu links",
			(unsigned long long)a.nfs_nlink);
	}
	/* The server is still there. */
	REQUIRE(nfs_stat64(n4, "/pre/small.txt", &st) == 0, "server gone after link/symlink");
	return 0;
}

static int check_stale(void)
{
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	int rc;

	REQUIRE(make_file(n3, "/t3/stale", 100, 16, MIB) == 0, "create");
	rc = nfs_open(n3, "/t3/stale", O_RDONLY, &fh);
	REQUIRE(rc == 0, "open");
	rc = nfs_unlink(n4, "/t3/stale");
	REQUIRE(rc == 0, "unlink");
	rc = nfs_fstat64(n3, fh, &st);
	nfs_close(n3, fh);
	REQUIRE(rc == -ESTALE || rc == -ENOENT, "v3 fstat of a removed file's handle: %d (%s)", rc,
		rc ? nfs_get_error(n3) : "succeeded");
	return 0;
}

/* POSIX: a file removed while open stays readable through the open (v4 state). */
static int check_open_unlinked(void)
{
	unsigned char buf[5000], want[5000];
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	long n;
	int rc;

	REQUIRE(make_file(n4, "/t4/ul", sizeof(want), 17, V4_CHUNK) == 0, "create");
	fill(want, sizeof(want), 17);
	rc = nfs_open(n4, "/t4/ul", O_RDONLY, &fh);
	REQUIRE(rc == 0, "open");
	rc = nfs_unlink(n3, "/t4/ul");
	if (rc == 0) {
		n = get(n4, fh, 0, buf, sizeof(buf));
		rc = nfs_fstat64(n4, fh, &st);
	} else {
		n = -1;
	}
	nfs_close(n4, fh);
	REQUIRE(n == (long)sizeof(buf) && memcmp(buf, want, sizeof(buf)) == 0,
		"read after unlink: %ld (%s)", n, n < 0 ? nfs_get_error(n4) : "differs");
	REQUIRE(rc == 0 && st.nfs_size == sizeof(want), "fstat after unlink: %d", rc);
	REQUIRE(nfs_stat64(n4, "/t4/ul", &st) == -ENOENT, "name still there");
	return 0;
}

/* Where the clients work: -x cpre=PREFIX (default "/c": /c0, /c1, /c2). */
static const char *cpre(void)
{
	const char *v = param("cpre");

	return v ? v : "/c";
}

static int client_job(int id)
{
	struct nfs_context *a = connect_url(url4), *b = url3 ? connect_url(url3) : NULL;
	char p[64];
	int rc;

	if (!a)
		return 2;
	snprintf(p, sizeof(p), "%s%d", cpre(), id);
	rc = nfs_mkdir(a, p);
	for (int j = 0; rc == 0 && j < 10; j++) {
		snprintf(p, sizeof(p), "%s%d/f%d", cpre(), id, j);
		rc = make_file(a, p, 10000 + (size_t)j * 3000, (uint64_t)id * 100 + (uint64_t)j,
			       V4_CHUNK);
		if (rc == 0)
			rc = same_pattern(a, p, 10000 + (size_t)j * 3000,
					  (uint64_t)id * 100 + (uint64_t)j);
	}
	if (rc == 0 && b) {
		snprintf(p, sizeof(p), "%s%d/big", cpre(), id);
		rc = make_file(b, p, 3 * MIB, (uint64_t)id * 100 + 99, MIB);
	}
	if (rc)
		fprintf(stderr, "nfsops: client %d: %s (%s)\n", id, strerror(-rc),
			nfs_get_error(a));
	nfs_destroy_context(a);
	if (b)
		nfs_destroy_context(b);
	return rc ? 1 : 0;
}

static int check_clients(void)
{
	pid_t pids[3];
	int bad = 0;

	for (int i = 0; i < 3; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(client_job(i));
	}
	for (int i = 0; i < 3; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	REQUIRE(bad == 0, "%d client(s) failed", bad);
	for (int id = 0; id < 3; id++) {
		char p[64];
		char **names;
		int n;

		for (int j = 0; j < 10; j++) {
			snprintf(p, sizeof(p), "%s%d/f%d", cpre(), id, j);
			int rc = same_pattern(n3 ? n3 : n4, p, 10000 + (size_t)j * 3000,
					      (uint64_t)id * 100 + (uint64_t)j);

			REQUIRE(rc == 0, "cross-check %s: %s", p, strerror(-rc));
		}
		if (url3) {
			snprintf(p, sizeof(p), "%s%d/big", cpre(), id);
			int rc = same_pattern(n4, p, 3 * MIB, (uint64_t)id * 100 + 99);

			REQUIRE(rc == 0, "cross-check %s: %s", p, strerror(-rc));
		}
		snprintf(p, sizeof(p), "%s%d", cpre(), id);
		n = list_dir(n4, p, &names);
		REQUIRE(n == (url3 ? 11 : 10), "%s lists %d entries", p, n);
		free_names(names, n);
	}
	return 0;
}

static int check_badnames(void)
{
	char p[1024], name[300];
	struct nfsfh *fh;
	int rc;

	/* A name over Linux's 255 bytes. */
	memset(name, 'n', 256);
	name[256] = '\0';
	snprintf(p, sizeof(p), "/t4/%s", name);
	rc = nfs_mkdir(n4, p);
	REQUIRE(rc == -ENAMETOOLONG, "v4 mkdir of a 256-byte name: %d", rc);
	rc = nfs_open2(n3, p, O_CREAT | O_WRONLY, 0644, &fh);
	if (rc == 0)
		nfs_close(n3, fh);
	REQUIRE(rc == -ENAMETOOLONG, "v3 create of a 256-byte name: %d", rc);
	/* 255 bytes, and paths far past upstream's 79: extension entries. */
	name[255] = '\0';
	snprintf(p, sizeof(p), "/t4/%s", name);
	REQUIRE(nfs_mkdir(n4, p) == 0, "mkdir of a 255-byte name");
	snprintf(p, sizeof(p), "/t4/%s/%s", name, name);
	rc = make_file(n4, p, 10, 1, V4_CHUNK);
	REQUIRE(rc == 0, "v4 create of a 515-byte path: %s", strerror(-rc));
	REQUIRE(make_file(n4, "/t4/shortname", 10, 1, V4_CHUNK) == 0, "create");
	snprintf(p, sizeof(p), "/t4/%s/moved", name);
	rc = nfs_rename(n4, "/t4/shortname", p);
	REQUIRE(rc == 0, "rename to a 265-byte path: %s", strerror(-rc));
	rc = nfs_rename(n4, p, "/t4/shortname");
	REQUIRE(rc == 0, "and back: %s", strerror(-rc));
	/* A name with '/' cannot exist: the path walks through a file. */
	rc = nfs_mkdir(n4, "/t4/shortname/x");
	REQUIRE(rc == -ENOTDIR || rc == -ENOENT, "mkdir under a file: %d", rc);
	return 0;
}

static int check_rofs(void)
{
	struct nfs_context *ro;
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	int rc, fails = 0;
	char what[256] = "";

	REQUIRE(url_ro, "no read-only URL (-r)");
	ro = connect_url(url_ro);
	REQUIRE(ro, "cannot mount the read-only export");
	rc = nfs_stat64(ro, "/pre/small.txt", &st);
	if (rc != 0) {
		fails++;
		strcat(what, " stat");
	}
#define ROFS(expr, label)                                                                          \
	do {                                                                                       \
		rc = (expr);                                                                       \
		if (rc != -EROFS) {                                                                \
			fails++;                                                                   \
			snprintf(what + strlen(what), sizeof(what) - strlen(what), " %s=%d",       \
				 label, rc);                                                       \
		}                                                                                  \
	} while (0)
	ROFS(nfs_mkdir(ro, "/t4/ro-dir"), "mkdir");
	rc = nfs_open2(ro, "/t4/ro-file", O_CREAT | O_WRONLY, 0644, &fh);
	if (rc == 0)
		nfs_close(ro, fh);
	if (rc != -EROFS) {
		fails++;
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " create=%d", rc);
	}
	rc = nfs_open(ro, "/pre/small.txt", O_WRONLY, &fh);
	if (rc == 0) {
		rc = nfs_pwrite(ro, fh, 0, 1, "x");
		nfs_close(ro, fh);
	}
	if (rc != -EROFS) {
		fails++;
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " write=%d", rc);
	}
	ROFS(nfs_unlink(ro, "/pre/small.txt"), "unlink");
	ROFS(nfs_chmod(ro, "/pre/small.txt", 0600), "chmod");
	ROFS(nfs_truncate(ro, "/pre/small.txt", 1), "truncate");
	ROFS(nfs_rename(ro, "/pre/small.txt", "/pre/x"), "rename");
	ROFS(nfs_rmdir(ro, "/pre/dir"), "rmdir");
#undef ROFS
	nfs_destroy_context(ro);
	REQUIRE(fails == 0, "read-only export:%s", what);
	return 0;
}

/* -x path=P [file=F] [secs=S]: P appears over NFS within S seconds (content F). */
static int check_appear(void)
{
	const char *path = param("path"), *file = param("file"), *s = param("secs");
	double t0 = now_s(), limit = s ? atof(s) : 2.5;
	struct nfs_stat_64 st;
	int rc;

	REQUIRE(path, "no -x path=");
	while ((rc = nfs_stat64(n4, path, &st)) != 0 && now_s() - t0 < limit)
		usleep(100000);
	REQUIRE(rc == 0, "%s not visible after %.1f s: %d", path, limit, rc);
	printf("# %s visible after %.2f s\n", path, now_s() - t0);
	if (file && compare_with_local(n4, path, file, 4))
		return 1;
	if (file && n3 && compare_with_local(n3, path, file, 3))
		return 1;
	return 0;
}

static int check_gone(void)
{
	const char *path = param("path"), *s = param("secs");
	double t0 = now_s(), limit = s ? atof(s) : 2.5;
	struct nfs_stat_64 st;
	int rc;

	REQUIRE(path, "no -x path=");
	while ((rc = nfs_stat64(n4, path, &st)) == 0 && now_s() - t0 < limit)
		usleep(100000);
	REQUIRE(rc == -ENOENT, "%s still visible after %.1f s: %d", path, limit, rc);
	printf("# %s gone after %.2f s\n", path, now_s() - t0);
	if (n3) {
		rc = nfs_stat64(n3, path, &st);
		REQUIRE(rc == -ENOENT, "v3 still sees %s: %d", path, rc);
	}
	return 0;
}

struct check {
	const char *name;
	int (*fn)(void);
	bool dflt;
};

static const struct check checks[] = {
    {"lookup", check_lookup, true},
    {"readdir", check_readdir, true},
    {"read", check_read, true},
    {"write", check_write, true},
    {"append", check_append, true},
    {"overwrite", check_overwrite, true},
    {"create", check_create, true},
    {"mkdir-rmdir", check_mkdir_rmdir, true},
    {"unlink", check_unlink, true},
    {"rename", check_rename, true},
    {"truncate", check_truncate, true},
    {"chmod-chown-utimes", check_chmod_chown_utimes, true},
    {"symlink-link", check_symlink_link, true},
    {"stale-handle", check_stale, true},
    {"open-unlinked", check_open_unlinked, true},
    {"clients", check_clients, true},
    {"badnames", check_badnames, true},
    {"readdir-churn", check_readdir_churn, true},
    {"rofs", check_rofs, true},
    {"appear", check_appear, false},
    {"gone", check_gone, false},
};

static void usage(void)
{
	fprintf(stderr, "usage: nfsops -4 URL4 [-3 URL3] [-r RO_URL4] [-x KEY=VALUE]... "
			"[CHECK...]\nchecks:");
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		fprintf(stderr, " %s", checks[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

static int run(const struct check *c)
{
	int rc;

	why[0] = '\0';
	rc = c->fn();
	if (rc)
		printf("FAIL %s: %s\n", c->name, why);
	else
		printf("ok   %s\n", c->name);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	int opt, passed = 0, failed = 0;

	params = calloc((size_t)argc, sizeof(char *));
	while ((opt = getopt(argc, argv, "4:3:r:x:h")) != -1) {
		switch (opt) {
		case '4':
			url4 = optarg;
			break;
		case '3':
			url3 = optarg;
			break;
		case 'r':
			url_ro = optarg;
			break;
		case 'x':
			params[nparams++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (!url4)
		usage();
	n4 = connect_url(url4);
	if (!n4)
		return 2;
	if (url3) {
		n3 = connect_url(url3);
		if (!n3)
			return 2;
	}
	if (optind == argc) {
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
			if (!checks[i].dflt || (checks[i].fn == check_rofs && !url_ro))
				continue;
			if (run(&checks[i]))
				failed++;
			else
				passed++;
		}
	}
	for (int a = optind; a < argc; a++) {
		size_t i;

		for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
			if (!strcmp(argv[a], checks[i].name))
				break;
		if (i == sizeof(checks) / sizeof(checks[0])) {
			fprintf(stderr, "nfsops: no check '%s'\n", argv[a]);
			usage();
		}
		if (run(&checks[i]))
			failed++;
		else
			passed++;
	}
	nfs_destroy_context(n4);
	if (n3)
		nfs_destroy_context(n3);
	free(params);
	printf("nfsops: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

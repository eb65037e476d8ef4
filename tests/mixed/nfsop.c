/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file nfsop.c
 * @brief One NFS operation on a path of an export, with libnfs, for shell tests
 *        (tests/mixed/gw_fuse.sh): what nfs-cat, nfs-cp and nfs-ls cannot do.
 *
 * usage: nfsop URL-OF-EXPORT OP ARGS...   (the URL carries version= and the ports)
 *   stat PATH                 print "size=N mode=OOO ino=N type=file|dir"
 *   rename FROM TO            unlink PATH    mkdir PATH    rmdir PATH
 *   truncate PATH SIZE
 *   append PATH TEXT          write TEXT at the end of the file
 *   write PATH OFFSET TEXT    write TEXT at OFFSET of an existing file, in place
 *   put LOCAL PATH            create or truncate PATH and write the local file LOCAL into it
 *                             (committed). Writes go in pieces of at most 3900 bytes over
 *                             NFSv4 (libnfs 4.0 cannot encode larger v4 WRITEs), 1 MiB over v3
 *   slowread PATH OUT CHUNK MS
 *                             open PATH once, then read it CHUNK bytes at a time, sleeping
 *                             MS milliseconds between reads, appending every byte read to
 *                             OUT (flushed at once, so a test sees the progress) until the
 *                             end of the file; the file stays open all along
 * Paths are inside the export. Exit 0 on success; on failure, 1 and a line
 * "nfsop: OP PATH: <strerror> (<libnfs error>)" on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>

static struct nfs_context *nfs;
static int version = 4;

static int fail(const char *op, const char *path, int rc)
{
	fprintf(stderr, "nfsop: %s %s: %s (%s)\n", op, path, strerror(rc < 0 ? -rc : rc),
		nfs_get_error(nfs));
	return 1;
}

/* libnfs's synchronous calls answer 0 or -errno. */
static int done(const char *op, const char *path, int rc)
{
	return rc ? fail(op, path, rc) : 0;
}

static int connect_url(const char *url)
{
	struct nfs_url *u;
	const char *v = strstr(url, "version=");

	if (v)
		version = atoi(v + strlen("version="));
	nfs = nfs_init_context();
	if (!nfs)
		return -1;
	nfs_set_timeout(nfs, 30000);
	u = nfs_parse_url_dir(nfs, url);
	if (!u) {
		fprintf(stderr, "nfsop: %s: %s\n", url, nfs_get_error(nfs));
		return -1;
	}
	if (nfs_mount(nfs, u->server, u->path) != 0) {
		fprintf(stderr, "nfsop: mount %s: %s\n", url, nfs_get_error(nfs));
		nfs_destroy_url(u);
		return -1;
	}
	nfs_destroy_url(u);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int op_stat(const char *path)
{
	struct nfs_stat_64 st;
	int rc = nfs_stat64(nfs, path, &st);

	if (rc)
		return fail("stat", path, rc);
	printf("size=%" PRIu64 " mode=%03o ino=%" PRIu64 " type=%s\n", (uint64_t)st.nfs_size,
	       (unsigned int)(st.nfs_mode & 07777), (uint64_t)st.nfs_ino,
	       S_ISDIR(st.nfs_mode) ? "dir" : "file");
	return 0;
}

/* Write @len bytes at @off through @fh in pieces libnfs can send; 0 or -errno. */
static int put_all(struct nfsfh *fh, uint64_t off, const char *buf, size_t len)
{
	size_t piece = version == 4 ? 3900 : (1 << 20), done = 0;

	while (done < len) {
		size_t n = len - done < piece ? len - done : piece;
		int w = nfs_pwrite(nfs, fh, off + done, n, buf + done);

		if (w <= 0)
			return w ? w : -EIO;
		done += (size_t)w;
	}
	return nfs_fsync(nfs, fh); /* COMMIT */
}

static int op_append(const char *path, const char *text)
{
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	int rc;

	rc = nfs_open(nfs, path, O_WRONLY, &fh);
	if (rc)
		return fail("append(open)", path, rc);
	rc = nfs_fstat64(nfs, fh, &st);
	if (rc == 0)
		rc = put_all(fh, st.nfs_size, text, strlen(text));
	nfs_close(nfs, fh);
	return rc ? fail("append", path, rc) : 0;
}

static int op_write(const char *path, uint64_t off, const char *text)
{
	struct nfsfh *fh;
	int rc;

	rc = nfs_open(nfs, path, O_WRONLY, &fh);
	if (rc)
		return fail("write(open)", path, rc);
	rc = put_all(fh, off, text, strlen(text));
	nfs_close(nfs, fh);
	return rc ? fail("write", path, rc) : 0;
}

static int op_put(const char *local, const char *path)
{
	FILE *f = fopen(local, "rb");
	char *buf = NULL;
	struct nfsfh *fh;
	long len;
	int rc;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(local);
		if (f)
			fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	rc = nfs_open2(nfs, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh);
	if (rc) {
		free(buf);
		return fail("put(create)", path, rc);
	}
	rc = put_all(fh, 0, buf, (size_t)len);
	nfs_close(nfs, fh);
	free(buf);
	return rc ? fail("put", path, rc) : 0;
}

static int op_slowread(const char *path, const char *out, size_t chunk, long ms)
{
	FILE *f = fopen(out, "wb");
	char *buf = malloc(chunk);
	struct nfsfh *fh;
	uint64_t off = 0;
	int rc;

	if (!f || !buf) {
		perror(out);
		return 1;
	}
	rc = nfs_open(nfs, path, O_RDONLY, &fh);
	if (rc) {
		fclose(f);
		return fail("slowread(open)", path, rc);
	}
	for (;;) {
		int n = nfs_pread(nfs, fh, off, chunk, buf);

		if (n < 0) {
			fprintf(stderr, "nfsop: slowread %s at %" PRIu64 ": %s (%s)\n", path, off,
				strerror(-n), nfs_get_error(nfs));
			rc = 1;
			break;
		}
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, f);
		fflush(f);
		off += (uint64_t)n;
		sleep_ms(ms);
	}
	nfs_close(nfs, fh);
	fclose(f);
	free(buf);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: nfsop URL stat|rename|unlink|mkdir|rmdir|truncate|append|write|put|"
			"slowread ARGS...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *op;
	int rc;

	if (argc < 4)
		return usage();
	op = argv[2];
	if (connect_url(argv[1]))
		return 2;
	if (!strcmp(op, "stat") && argc == 4)
		rc = op_stat(argv[3]);
	else if (!strcmp(op, "rename") && argc == 5)
		rc = done("rename", argv[3], nfs_rename(nfs, argv[3], argv[4]));
	else if (!strcmp(op, "unlink") && argc == 4)
		rc = done("unlink", argv[3], nfs_unlink(nfs, argv[3]));
	else if (!strcmp(op, "mkdir") && argc == 4)
		rc = done("mkdir", argv[3], nfs_mkdir(nfs, argv[3]));
	else if (!strcmp(op, "rmdir") && argc == 4)
		rc = done("rmdir", argv[3], nfs_rmdir(nfs, argv[3]));
	else if (!strcmp(op, "truncate") && argc == 5)
		rc = done("truncate", argv[3],
			  nfs_truncate(nfs, argv[3], strtoull(argv[4], NULL, 0)));
	else if (!strcmp(op, "append") && argc == 5)
		rc = op_append(argv[3], argv[4]);
	else if (!strcmp(op, "write") && argc == 6)
		rc = op_write(argv[3], strtoull(argv[4], NULL, 0), argv[5]);
	else if (!strcmp(op, "put") && argc == 5)
		rc = op_put(argv[3], argv[4]);
	else if (!strcmp(op, "slowread") && argc == 7)
		rc = op_slowread(argv[3], argv[4], strtoull(argv[5], NULL, 0),
				 strtol(argv[6], NULL, 0));
	else
		rc = usage();
	nfs_destroy_context(nfs);
	return rc;
}

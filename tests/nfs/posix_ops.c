/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file posix_ops.c
 * @brief Every NFS operation a client uses, against the FAMFS FSAL, with libnfs.
 *
 * usage: posix_ops URL-OF-EXPORT-DIR VERSION [TAG]   (the URL carries version= too)
 *   e.g. posix_ops 'nfs://127.0.0.1/famfs?version=3&nfsport=20700&mountport=20701' 3
 * Works in the directory /ops<VERSION><TAG> of the export (created here; it must not exist),
 * so several clients can run at once with different tags. NFSv4 writes go in pieces of
 * at most 3900 bytes (libnfs 4.0 fails larger v4 WRITEs client-side); NFSv3 writes in
 * 1 MiB pieces. Prints one line per check and "posix ops vN: P passed, F failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <nfsc/libnfs.h>

static int passes, fails;
static struct nfs_context *nfs;
static int version;

#define CHECK(name, cond)                                                                          \
	do {                                                                                       \
		if (cond) {                                                                        \
			passes++;                                                                  \
			printf("ok - %s\n", name);                                                 \
		} else {                                                                           \
			fails++;                                                                   \
			printf("FAIL - %s (%s)\n", name, nfs_get_error(nfs));                      \
		}                                                                                  \
	} while (0)

static int write_all(const char *path, const uint8_t *buf, size_t len, int flags)
{
	size_t piece = version == 4 ? 3900 : (1 << 20);
	struct nfsfh *fh;
	size_t off = 0;

	if (nfs_open(nfs, path, O_WRONLY | flags, &fh))
		return -1;
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;
		int w = nfs_pwrite(nfs, fh, off, n, buf + off);

		if (w <= 0) {
			nfs_close(nfs, fh);
			return -1;
		}
		off += (size_t)w;
	}
	if (nfs_fsync(nfs, fh)) { /* COMMIT */
		nfs_close(nfs, fh);
		return -1;
	}
	return nfs_close(nfs, fh);
}

static ssize_t read_all(const char *path, uint8_t *buf, size_t max)
{
	struct nfsfh *fh;
	size_t off = 0;

	if (nfs_open(nfs, path, O_RDONLY, &fh))
		return -1;
	for (;;) {
		int n = nfs_pread(nfs, fh, off, max - off < (1 << 20) ? max - off : (1 << 20),
				  buf + off);

		if (n < 0) {
			nfs_close(nfs, fh);
			return -1;
		}
		if (n == 0 || off + (size_t)n >= max) {
			off += (size_t)n;
			break;
		}
		off += (size_t)n;
	}
	nfs_close(nfs, fh);
	return (ssize_t)off;
}

static int create_empty(const char *path, int excl)
{
	struct nfsfh *fh;
	int rc = nfs_open2(nfs, path, O_CREAT | O_WRONLY | (excl ? O_EXCL : 0), 0644, &fh);

	if (rc == 0)
		nfs_close(nfs, fh);
	return rc;
}

int main(int argc, char **argv)
{
	static uint8_t big[5 << 20], back[6 << 20];
	struct nfs_stat_64 st, st2;
	struct nfs_url *url;
	struct nfsdir *dir;
	struct nfsdirent *de;
	char name[300];
	int n;

	if (argc < 2) {
		fprintf(stderr, "usage: posix_ops URL [VERSION]\n");
		return 2;
	}
	version = argc > 2 ? atoi(argv[2]) : 4;
	nfs = nfs_init_context();
	if (!nfs)
		return 2;
	url = nfs_parse_url_dir(nfs, argv[1]);
	if (!url || nfs_mount(nfs, url->server, url->path)) {
		fprintf(stderr, "posix_ops: mount %s: %s\n", argv[1], nfs_get_error(nfs));
		return 2;
	}
	srandom(7);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)random();

	snprintf(name, sizeof(name), "/ops%d%s", version, argc > 3 ? argv[3] : "");
	if (nfs_mkdir(nfs, name) || nfs_chdir(nfs, name)) {
		fprintf(stderr, "posix_ops: %s: %s\n", name, nfs_get_error(nfs));
		return 2;
	}
	CHECK("mkdir /ops/d1", nfs_mkdir(nfs, "d1") == 0);
	CHECK("mkdir of an existing name fails", nfs_mkdir(nfs, "d1") != 0);
	CHECK("stat a directory", nfs_stat64(nfs, "d1", &st) == 0 && S_ISDIR(st.nfs_mode));
	CHECK("fileid is stable", nfs_stat64(nfs, "d1", &st2) == 0 && st.nfs_ino == st2.nfs_ino);

	CHECK("create (exclusive) an empty file", create_empty("empty", 1) == 0);
	CHECK("exclusive create of an existing file fails", create_empty("empty", 1) != 0);
	CHECK("the empty file has size 0", nfs_stat64(nfs, "empty", &st) == 0 && st.nfs_size == 0);

	/* NFSv4 writes are limited to small pieces by libnfs; keep v4 data small. */
	n = version == 4 ? 100000 : (int)sizeof(big);
	CHECK("write a new file (growing, in pieces) and commit",
	      create_empty("data", 0) == 0 && write_all("data", big, (size_t)n, 0) == 0);
	CHECK("size after write", nfs_stat64(nfs, "data", &st) == 0 && st.nfs_size == (uint64_t)n);
	CHECK("read back identical",
	      read_all("data", back, sizeof(back)) == n && memcmp(back, big, (size_t)n) == 0);
	{
		struct nfsfh *fh;
		const char *tail = "appended";
		int ok =
		    nfs_open(nfs, "data", O_WRONLY, &fh) == 0 &&
		    nfs_pwrite(nfs, fh, (uint64_t)n, strlen(tail), tail) == (int)strlen(tail) &&
		    nfs_close(nfs, fh) == 0;

		CHECK("append past the end", ok && nfs_stat64(nfs, "data", &st) == 0 &&
						 st.nfs_size == (uint64_t)n + strlen(tail));
		CHECK("appended bytes read back",
		      read_all("data", back, sizeof(back)) == n + (int)strlen(tail) &&
			  memcmp(back + n, tail, strlen(tail)) == 0);
	}
	{
		struct nfsfh *fh;
		int ok = nfs_open(nfs, "data", O_WRONLY, &fh) == 0 &&
			 nfs_pwrite(nfs, fh, 1000, 4, "MIDL") == 4 && nfs_close(nfs, fh) == 0;

		CHECK("overwrite in the middle", ok && read_all("data", back, sizeof(back)) > 0 &&
						     memcmp(back + 1000, "MIDL", 4) == 0 &&
						     memcmp(back, big, 1000) == 0);
	}
	CHECK("truncate smaller", nfs_truncate(nfs, "data", 4096) == 0 &&
				      nfs_stat64(nfs, "data", &st) == 0 && st.nfs_size == 4096);
	CHECK("truncate larger: new bytes read as zeros",
	      nfs_truncate(nfs, "data", 8192) == 0 &&
		  read_all("data", back, sizeof(back)) == 8192 && back[4096] == 0 &&
		  back[8191] == 0 && back[100] == big[100]);
	CHECK("chmod", nfs_chmod(nfs, "data", 0600) == 0 && nfs_stat64(nfs, "data", &st) == 0 &&
			   (st.nfs_mode & 07777) == 0600);
	CHECK("chown (numeric)", nfs_chown(nfs, "data", 1234, 5678) == 0 &&
				     nfs_stat64(nfs, "data", &st) == 0 && st.nfs_uid == 1234 &&
				     st.nfs_gid == 5678);
	{
		struct timeval tv[2] = {{1000000000, 0}, {1500000000, 0}};

		CHECK("utimes", nfs_utimes(nfs, "data", tv) == 0 &&
				    nfs_stat64(nfs, "data", &st) == 0 &&
				    st.nfs_mtime == 1500000000);
	}
	CHECK("rename within a directory", nfs_rename(nfs, "data", "data2") == 0 &&
					       nfs_stat64(nfs, "data", &st) != 0 &&
					       nfs_stat64(nfs, "data2", &st) == 0);
	CHECK("rename across directories",
	      nfs_rename(nfs, "data2", "d1/data") == 0 && nfs_stat64(nfs, "d1/data", &st) == 0);
	CHECK("rename onto an existing file replaces it",
	      create_empty("victim", 0) == 0 && nfs_rename(nfs, "d1/data", "victim") == 0 &&
		  nfs_stat64(nfs, "victim", &st) == 0 && st.nfs_size == 8192);
	CHECK("rmdir of a non-empty directory fails",
	      create_empty("d1/f", 0) == 0 && nfs_rmdir(nfs, "d1") != 0);
	CHECK("unlink", nfs_unlink(nfs, "d1/f") == 0 && nfs_stat64(nfs, "d1/f", &st) != 0);
	CHECK("rmdir of an empty directory", nfs_rmdir(nfs, "d1") == 0);
	CHECK("a symlink is made and read back",
	      nfs_symlink(nfs, "victim", "link") == 0 &&
		  nfs_readlink(nfs, "link", name, sizeof(name)) == 0 &&
		  strcmp(name, "victim") == 0);
	CHECK("a symlink is removed",
	      nfs_unlink(nfs, "link") == 0 && nfs_lstat64(nfs, "link", &st) != 0);
	memset(name, 'n', 256);
	name[256] = '\0';
	CHECK("a name over 255 bytes is refused", create_empty(name, 0) != 0);
	name[255] = '\0';
	CHECK("a name of 255 bytes is made",
	      create_empty(name, 0) == 0 && nfs_stat64(nfs, name, &st) == 0);

	/* A directory with many entries, listed whole. */
	nfs_mkdir(nfs, "many");
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "many/e%03d", i);
		if (create_empty(name, 0))
			break;
	}
	n = 0;
	if (nfs_opendir(nfs, "many", &dir) == 0) {
		while ((de = nfs_readdir(nfs, dir)))
			n += de->name[0] == 'e';
		nfs_closedir(nfs, dir);
	}
	CHECK("readdir lists all 300 entries", n == 300);

	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	printf("posix ops v%d: %d passed, %d failed\n", version, passes, fails);
	return fails ? 1 : 0;
}

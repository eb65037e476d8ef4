// SPDX-License-Identifier: Apache-2.0
/**
 * @file perm.c
 * @brief One NFS operation as one user, with libnfs: the client of tests/nfs/perm.sh.
 *
 * usage: nfs_perm URL-OF-EXPORT-DIR OP ARGS...
 *   the URL carries the credentials and the version, e.g.
 *   'nfs://127.0.0.1/famfs?version=3&nfsport=20700&mountport=20701&uid=1000&gid=1000'
 * OP (paths are relative to the export):
 *   create FILE            exclusive create of an empty file, mode 0644
 *   mkdir DIR              mode 0755
 *   unlink FILE | rmdir DIR
 *   rename A B
 *   chmod MODE FILE        MODE in octal
 *   chown UID GID FILE
 *   truncate FILE SIZE
 *   open-write FILE        open for writing (no create) and write one byte at offset 0
 *   utimes-now FILE        set both times to the server's time (NFSv3 only: libnfs 4.0
 *                          dereferences the NULL times of an NFSv4 utimes; exit 3)
 *   utimes FILE            set both times to the client's clock (explicit times)
 *   stat FILE              prints "UID GID MODE" (MODE in octal, the 07777 bits)
 * Prints "OK" (stat: its line) and exits 0, or prints "ERR ENAME: libnfs message" and
 * exits 1 (ENAME from the errno libnfs returns: EACCES, EPERM, ENOENT, ...); exit 2 when
 * the arguments are wrong or the export cannot be mounted, 3 when this client cannot do
 * the operation over this NFS version.
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

static struct nfs_context *nfs;
static int version = 3; /* libnfs's default */

static const char *errno_name(int e)
{
	static const struct {
		int e;
		const char *name;
	} names[] = {
	    {EPERM, "EPERM"},
	    {ENOENT, "ENOENT"},
	    {EIO, "EIO"},
	    {EACCES, "EACCES"},
	    {EEXIST, "EEXIST"},
	    {ENOTDIR, "ENOTDIR"},
	    {EISDIR, "EISDIR"},
	    {EINVAL, "EINVAL"},
	    {EROFS, "EROFS"},
	    {ENOSPC, "ENOSPC"},
	    {ENOTEMPTY, "ENOTEMPTY"},
	    {ESTALE, "ESTALE"},
	    {EFBIG, "EFBIG"},
	    {ENAMETOOLONG, "ENAMETOOLONG"},
	    {ENOTSUP, "ENOTSUP"},
	    {EAGAIN, "EAGAIN"},
	    {EBADF, "EBADF"},
	    {ENXIO, "ENXIO"},
	};

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (names[k].e == e)
			return names[k].name;
	return "EOTHER";
}

static int usage(void)
{
	fprintf(stderr, "usage: nfs_perm URL OP ARGS...  (OP: create mkdir unlink rmdir rename "
			"chmod chown truncate open-write utimes-now utimes stat)\n");
	return 2;
}

/* One operation; 0, a negative errno, 1 (no such operation) or 3 (not over this version). */
static int run(const char *op, int n, char **a)
{
	struct nfs_stat_64 st;
	struct nfsfh *fh;
	int rc;

	if (!strcmp(op, "create") && n == 1) {
		rc = nfs_open2(nfs, a[0], O_CREAT | O_EXCL | O_WRONLY, 0644, &fh);
		if (rc == 0)
			rc = nfs_close(nfs, fh);
		return rc;
	}
	if (!strcmp(op, "mkdir") && n == 1)
		return nfs_mkdir2(nfs, a[0], 0755);
	if (!strcmp(op, "unlink") && n == 1)
		return nfs_unlink(nfs, a[0]);
	if (!strcmp(op, "rmdir") && n == 1)
		return nfs_rmdir(nfs, a[0]);
	if (!strcmp(op, "rename") && n == 2)
		return nfs_rename(nfs, a[0], a[1]);
	if (!strcmp(op, "chmod") && n == 2)
		return nfs_chmod(nfs, a[1], (int)strtol(a[0], NULL, 8));
	if (!strcmp(op, "chown") && n == 3)
		return nfs_chown(nfs, a[2], atoi(a[0]), atoi(a[1]));
	if (!strcmp(op, "truncate") && n == 2)
		return nfs_truncate(nfs, a[0], strtoull(a[1], NULL, 0));
	if (!strcmp(op, "open-write") && n == 1) {
		rc = nfs_open(nfs, a[0], O_WRONLY, &fh);
		if (rc)
			return rc;
		rc = nfs_pwrite(nfs, fh, 0, 1, "x");
		if (rc >= 0)
			rc = rc == 1 ? 0 : -EIO;
		if (rc == 0)
			rc = nfs_close(nfs, fh);
		else
			nfs_close(nfs, fh);
		return rc;
	}
	if (!strcmp(op, "utimes-now") && n == 1)
		return version == 4 ? 3 : nfs_utimes(nfs, a[0], NULL);
	if (!strcmp(op, "utimes") && n == 1) {
		struct timeval tv[2];

		gettimeofday(&tv[0], NULL);
		tv[1] = tv[0];
		return nfs_utimes(nfs, a[0], tv);
	}
	if (!strcmp(op, "stat") && n == 1) {
		rc = nfs_stat64(nfs, a[0], &st);
		if (rc == 0)
			printf("%llu %llu %04llo\n", (unsigned long long)st.nfs_uid,
			       (unsigned long long)st.nfs_gid,
			       (unsigned long long)(st.nfs_mode & 07777));
		return rc;
	}
	return 1; /* not an operation */
}

int main(int argc, char **argv)
{
	struct nfs_url *url;
	int rc;

	if (argc < 3)
		return usage();
	if (strstr(argv[1], "version=4"))
		version = 4;
	nfs = nfs_init_context();
	if (!nfs)
		return 2;
	url = nfs_parse_url_dir(nfs, argv[1]);
	if (!url || nfs_mount(nfs, url->server, url->path)) {
		fprintf(stderr, "nfs_perm: mount %s: %s\n", argv[1], nfs_get_error(nfs));
		return 2;
	}
	rc = run(argv[2], argc - 3, argv + 3);
	if (rc == 1) {
		nfs_destroy_url(url);
		nfs_destroy_context(nfs);
		return usage();
	}
	if (rc == 3) {
		printf("UNSUPPORTED: %s over NFSv%d with this libnfs\n", argv[2], version);
		nfs_destroy_url(url);
		nfs_destroy_context(nfs);
		return 3;
	}
	if (rc == 0) {
		if (strcmp(argv[2], "stat"))
			printf("OK\n");
	} else {
		printf("ERR %s: %s\n", errno_name(-rc), nfs_get_error(nfs));
	}
	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	return rc ? 1 : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file cmd_cp.c
 * @brief famfs-gw cp: host files into famfs, famfs files out to the host.
 *
 * Famfs paths carry a ':' prefix. Data moves with io_uring straight between the host file
 * and the mapped extents (xfer.h). A new famfs file is filled before it is created: its
 * space is preallocated (held in this process's reservation area, not logged) and the
 * file is logged, in one entry, only once every byte is in, so an interrupted cp leaves
 * no file behind (nor any space taken). A copy into an existing famfs file of exactly the
 * source's size rewrites it in place. --json prints a summary of the run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "famfs/dev.h"
#include "famfs/io.h"
#include "famfs/path.h"
#include "gw.h"
#include "json.h"
#include "xfer.h"

#define PROGRESS_MIN (64ULL << 20) /* files at least this large show a bar */

struct cp_ctx {
	struct famfs_fs *fs;
	struct famfs_alloc_params ap;
	bool recursive;
	bool have_mode;
	mode_t mode;
	bool tty;
	bool json;
	struct xfer_opts xo;
	int errors;
	/* the run, for --json */
	uint64_t files, bytes;
	bool any_uring, any_plain, any_direct, any_cfr;
	char note[160];
	/* the file being copied, for the progress bar */
	const char *cur_name;
	uint64_t cur_total;
	double cur_t0;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(void *arg, uint64_t done)
{
	struct cp_ctx *c = arg;
	uint64_t total = c->cur_total;
	double dt = now_s() - c->cur_t0;
	char bar[31];
	int fill;

	if (!c->tty || total < PROGRESS_MIN)
		return;
	fill = (int)(30 * done / total);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(30 - fill));
	bar[30] = '\0';
	fprintf(stderr, "\r%-24.24s [%s] %3d%% %8.1f MiB/s", c->cur_name, bar,
		(int)(100 * done / total), dt > 0 ? (double)done / (1 << 20) / dt : 0.0);
	if (done == total)
		fputc('\n', stderr);
}

/* Start the bar of a file; after its copy, count it for --json. */
static void file_begin(struct cp_ctx *c, const char *name, uint64_t total)
{
	c->cur_name = name;
	c->cur_total = total;
	c->cur_t0 = now_s();
}

static void file_end(struct cp_ctx *c, const struct xfer_stats *st, int rc)
{
	if (c->tty && c->cur_total >= PROGRESS_MIN && st->bytes < c->cur_total)
		fputc('\n', stderr); /* the bar stopped short */
	c->bytes += st->bytes;
	if (rc == 0)
		c->files++;
	c->any_uring |= st->uring;
	c->any_cfr |= st->cfr;
	c->any_plain |= !st->uring && !st->cfr;
	c->any_direct |= st->direct;
	if (st->note[0]) {
		if (!c->note[0] && !c->json)
			fprintf(stderr, "famfs-gw: cp: note: %s\n", st->note);
		if (!c->note[0])
			snprintf(c->note, sizeof(c->note), "%s", st->note);
	}
}

static bool is_famfs(const char *p)
{
	return p[0] == ':';
}

/* Join a famfs relpath directory and a name; -ENAMETOOLONG past the format's limit. */
static int famfs_join(const char *dir, const char *name, char *out, size_t len)
{
	int n = *dir ? snprintf(out, len, "%s/%s", dir, name) : snprintf(out, len, "%s", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Fill the extents @fmap (@size bytes) from host file @src. */
static int fill_from(struct cp_ctx *c, const char *src, const char *rel,
		     const struct famfs_omf_fmap *fmap, uint64_t size)
{
	struct xfer_stats st;
	int rc;

	file_begin(c, rel, size);
	rc = xfer_in(famfs_fs_dev(c->fs)->base, fmap, size, src, &c->xo, &st);
	file_end(c, &st, rc);
	if (rc)
		gw_error("cp", "%s -> :%s: %s", src, rel, st.error);
	return rc;
}

static int copy_in_file(struct cp_ctx *c, const char *src, const struct stat *st, const char *rel)
{
	mode_t mode = c->have_mode ? c->mode : (st->st_mode & 0777);
	uint64_t size = (uint64_t)st->st_size;
	struct famfs_omf_fmap fmap;
	struct famfs_inode *ino;
	int rc;

	if (size == 0) {
		fprintf(stderr,
			"famfs-gw: cp: warning: %s: empty file skipped (famfs files hold "
			"at least one byte)\n",
			src);
		return 0;
	}
	if (access(src, R_OK) < 0) {
		rc = -errno;
		gw_error("cp", "%s: %s", src, strerror(errno));
		return rc;
	}
	/* The log lock is held to find, preallocate or create the file only, not for its
	 * bytes: other appenders of this host (the gateway, a FUSE mount) wait at most that
	 * long. */
	rc = famfs_fs_lock(c->fs);
	if (rc)
		return rc;
	rc = famfs_fs_resolve(c->fs, rel, &ino);
	if (rc == 0) {
		/* Rewrite in place; the pin keeps its space should it be removed meanwhile. */
		if (S_ISDIR(ino->mode) || ino->size != size) {
			gw_error("cp",
				 ":%s: exists with a different size; famfs files keep the size "
				 "they were created with",
				 rel);
			famfs_fs_unlock(c->fs);
			return -EEXIST;
		}
		famfs_fs_pin(c->fs, ino);
		famfs_fs_unlock(c->fs);
		rc = fill_from(c, src, rel, &ino->fmap, size);
		famfs_fs_unpin(c->fs, ino);
		return rc;
	}
	rc = famfs_fs_prealloc(c->fs, rel, size, &c->ap, &fmap);
	famfs_fs_unlock(c->fs);
	if (rc == -EOPNOTSUPP || rc == -EBUSY) {
		/* An interleaved file under a path upstream cannot hold (or no room to hold
		 * space unlogged): create it, then fill it. */
		rc = famfs_fs_creat(c->fs, rel, size, mode, getuid(), getgid(), &c->ap, &ino);
		if (rc) {
			gw_error("cp", "%s -> :%s: %s", src, rel, strerror(-rc));
			return rc;
		}
		famfs_fs_lock(c->fs);
		famfs_fs_pin(c->fs, ino);
		famfs_fs_unlock(c->fs);
		rc = fill_from(c, src, rel, &ino->fmap, size);
		famfs_fs_unpin(c->fs, ino);
		return rc;
	}
	if (rc) {
		gw_error("cp", "%s -> :%s: %s", src, rel, strerror(-rc));
		return rc;
	}
	rc = fill_from(c, src, rel, &fmap, size);
	if (rc) {
		famfs_fs_prealloc_free(c->fs, &fmap);
		return rc;
	}
	rc = famfs_fs_create_prealloc(c->fs, rel, size, mode, getuid(), getgid(), &fmap, NULL);
	if (rc)
		gw_error("cp", "%s -> :%s: %s", src, rel, strerror(-rc));
	return rc;
}

static int copy_in(struct cp_ctx *c, const char *src, const char *rel);

static int copy_in_dir(struct cp_ctx *c, const char *src, const struct stat *st, const char *rel)
{
	struct famfs_inode *ino;
	struct dirent *de;
	DIR *d;
	int rc;

	if (!c->recursive) {
		gw_error("cp", "%s: is a directory (use -r)", src);
		return -EISDIR;
	}
	rc = famfs_fs_lock(c->fs);
	if (rc)
		return rc;
	rc = famfs_fs_resolve(c->fs, rel, &ino);
	if (rc == 0 && !S_ISDIR(ino->mode)) {
		gw_error("cp", ":%s: exists and is not a directory", rel);
		rc = -ENOTDIR;
	} else if (rc) {
		rc = famfs_fs_mkdir(c->fs, rel, st->st_mode & 07777, getuid(), getgid(), NULL);
		if (rc)
			gw_error("cp", ":%s: %s", rel, strerror(-rc));
	}
	famfs_fs_unlock(c->fs);
	if (rc)
		return rc;
	d = opendir(src);
	if (!d) {
		rc = -errno;
		gw_error("cp", "%s: %s", src, strerror(errno));
		return rc;
	}
	while ((de = readdir(d))) {
		char child_src[4096], child_rel[FAMFS_PATH_MAX + 2];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child_src, sizeof(child_src), "%s/%s", src, de->d_name);
		if (famfs_join(rel, de->d_name, child_rel, sizeof(child_rel))) {
			gw_error("cp", "%s: the famfs path would exceed %d bytes", child_src,
				 FAMFS_RELPATH_MAX);
			c->errors++;
			continue;
		}
		if (copy_in(c, child_src, child_rel))
			c->errors++;
	}
	closedir(d);
	return 0;
}

static int copy_in(struct cp_ctx *c, const char *src, const char *rel)
{
	struct stat st;

	if (stat(src, &st) < 0) {
		gw_error("cp", "%s: %s", src, strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode))
		return copy_in_dir(c, src, &st, rel);
	if (!S_ISREG(st.st_mode)) {
		gw_error("cp", "%s: not a regular file or directory", src);
		return -EINVAL;
	}
	return copy_in_file(c, src, &st, rel);
}

static int copy_out(struct cp_ctx *c, const struct famfs_inode *ino, const char *rel,
		    const char *dst)
{
	int fd, rc = 0;

	if (S_ISDIR(ino->mode)) {
		const struct famfs_inode *child;

		if (!c->recursive) {
			gw_error("cp", ":%s: is a directory (use -r)", rel);
			return -EISDIR;
		}
		if (mkdir(dst, ino->mode & 07777) < 0 && errno != EEXIST) {
			rc = -errno;
			gw_error("cp", "%s: %s", dst, strerror(errno));
			return rc;
		}
		famfs_ns_foreach_child(ino, child)
		{
			char child_dst[4096], child_rel[FAMFS_PATH_MAX + 2];

			snprintf(child_dst, sizeof(child_dst), "%s/%s", dst, child->name);
			famfs_join(rel, child->name, child_rel, sizeof(child_rel));
			if (copy_out(c, famfs_ns_target(child), child_rel, child_dst))
				c->errors++;
		}
		return 0;
	}
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, ino->mode & 0777);
	if (fd < 0) {
		rc = -errno;
		gw_error("cp", "%s: %s", dst, strerror(errno));
		return rc;
	}
	if (ino->memerr) {
		rc = -EIO;
		gw_error("cp", ":%s: a memory error was found under this file", rel);
	} else {
		struct xfer_stats st;

		file_begin(c, rel, ino->size);
		rc = xfer_out(famfs_fs_dev(c->fs)->base, &ino->fmap, ino->size, fd, &c->xo, &st);
		file_end(c, &st, rc);
		if (rc)
			gw_error("cp", ":%s -> %s: %s", rel, dst, st.error);
	}
	if (close(fd) < 0 && !rc) {
		rc = -errno;
		gw_error("cp", "%s: %s", dst, strerror(errno));
	}
	return rc;
}

/* The famfs target of host source @src copied to famfs @dst_rel. */
static int target_in(struct cp_ctx *c, const char *src, const char *dst_rel, bool dst_is_dir,
		     char *out, size_t len)
{
	char tmp[4096];
	const char *base;

	if (!dst_is_dir)
		return snprintf(out, len, "%s", dst_rel) >= (int)len ? -ENAMETOOLONG : 0;
	snprintf(tmp, sizeof(tmp), "%s", src);
	while (strlen(tmp) > 1 && tmp[strlen(tmp) - 1] == '/')
		tmp[strlen(tmp) - 1] = '\0';
	base = basename(tmp);
	(void)c;
	return famfs_join(dst_rel, base, out, len);
}

int cmd_cp(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"recursive", no_argument, NULL, 'r'},
	    {"mode", required_argument, NULL, 'm'},
	    {"nstrips", required_argument, NULL, 'N'},
	    {"nbuckets", required_argument, NULL, 'B'},
	    {"chunk-size", required_argument, NULL, 'C'},
	    {"seed", required_argument, NULL, 'S'},
	    {"upstream", no_argument, NULL, 'U'},
	    {"direct", no_argument, NULL, 'D'},
	    {"no-direct", no_argument, NULL, 'b'},
	    {"no-uring", no_argument, NULL, 'u'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct cp_ctx c = {.tty = isatty(STDERR_FILENO), .ap.pack = true};
	double t0 = now_s();
	const char *dst;
	int nsrc, opt, rc = 0;

	while ((opt = getopt_long(argc, argv, "rRm:N:B:C:", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
		case 'R':
			c.recursive = true;
			break;
		case 'm':
			if (gw_parse_mode(optarg, &c.mode)) {
				gw_error("cp", "mode '%s' is not octal 0..07777", optarg);
				return GW_EXIT_USAGE;
			}
			c.have_mode = true;
			break;
		case 'N':
		case 'B':
		case 'C':
		case 'S':
			if (gw_parse_alloc_opt("cp", opt, optarg, &c.ap))
				return GW_EXIT_USAGE;
			break;
		case 'U':
			c.ap.pack = false; /* small files too in upstream form (2 MiB each) */
			break;
		case 'D':
			c.xo.direct = XFER_DIRECT_ALWAYS;
			break;
		case 'b':
			c.xo.direct = XFER_DIRECT_NEVER;
			break;
		case 'u':
			c.xo.no_uring = true;
			break;
		case 'j':
			c.json = true;
			break;
		default:
			return gw_usage("cp", true);
		}
	}
	nsrc = argc - optind - 1;
	if (nsrc < 1) {
		gw_error("cp", "need at least one SRC and a DST");
		return gw_usage("cp", true);
	}
	dst = argv[argc - 1];
	for (int a = optind; a < argc - 1; a++) {
		if (is_famfs(argv[a]) == is_famfs(dst)) {
			gw_error("cp",
				 "'%s' -> '%s': one side must be a famfs path (':' prefix) "
				 "and the other a host path",
				 argv[a], dst);
			return GW_EXIT_USAGE;
		}
	}
	c.xo.progress = progress;
	c.xo.arg = &c;
	/* Into famfs: the log lock is taken per file (copy_in_file) and per directory. */
	if (is_famfs(dst) ? gw_open_locked(ctx, "cp", &c.fs) : gw_open(ctx, "cp", false, &c.fs))
		return GW_EXIT_FAIL;
	if (!famfs_fs_dev(c.fs)->is_dax) {
		c.xo.dev_file = true; /* copies out: file to file (xfer.h) */
		c.xo.dev_fd = famfs_fs_dev(c.fs)->fd;
		c.xo.dev_offset = famfs_fs_dev(c.fs)->offset;
	}
	if (is_famfs(dst)) {
		const char *dst_rel = gw_relpath(dst + 1);
		struct famfs_inode *dino;
		bool dst_is_dir;

		dst_is_dir = famfs_fs_resolve(c.fs, dst_rel, &dino) == 0 && S_ISDIR(dino->mode);
		famfs_fs_unlock(c.fs); /* gw_open_locked: a master, replayed; now per file */
		if (nsrc > 1 && !dst_is_dir) {
			gw_error("cp",
				 "%s: with several sources the target must be an existing "
				 "famfs directory",
				 dst);
			rc = -ENOTDIR;
			goto out;
		}
		for (int a = optind; a < argc - 1; a++) {
			char rel[FAMFS_PATH_MAX + 2];

			if (target_in(&c, argv[a], dst_rel, dst_is_dir, rel, sizeof(rel))) {
				gw_error("cp", "%s: the famfs path would exceed %d bytes", argv[a],
					 FAMFS_RELPATH_MAX);
				c.errors++;
				continue;
			}
			if (copy_in(&c, argv[a], rel))
				c.errors++;
		}
	} else {
		struct stat st;
		bool dst_is_dir = stat(dst, &st) == 0 && S_ISDIR(st.st_mode);

		if (nsrc > 1 && !dst_is_dir) {
			gw_error("cp", "%s: with several sources the target must be a directory",
				 dst);
			rc = -ENOTDIR;
			goto out;
		}
		for (int a = optind; a < argc - 1; a++) {
			const char *rel = gw_relpath(argv[a] + 1);
			struct famfs_inode *ino;
			char target[4096];

			if (gw_resolve(c.fs, "cp", argv[a] + 1, &ino)) {
				c.errors++;
				continue;
			}
			if (dst_is_dir)
				snprintf(target, sizeof(target), "%s/%s", dst,
					 ino->parent ? ino->name : ".");
			else
				snprintf(target, sizeof(target), "%s", dst);
			if (copy_out(&c, ino, rel, target))
				c.errors++;
		}
	}
out:
	famfs_fs_close(c.fs);
	if (c.json) {
		double dt = now_s() - t0;
		struct jw w;

		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "files", c.files);
		jw_u64(&w, "bytes", c.bytes);
		jw_u64(&w, "microseconds", (uint64_t)(dt * 1e6));
		jw_u64(&w, "mib_per_s", dt > 0 ? (uint64_t)((double)c.bytes / (1 << 20) / dt) : 0);
		jw_str(&w, "engine",
		       c.any_cfr     ? "copy_file_range"
		       : c.any_uring ? (c.any_plain ? "io_uring+pread" : "io_uring")
				     : "pread");
		jw_bool(&w, "direct", c.any_direct);
		jw_str(&w, "note", c.note);
		jw_u64(&w, "errors", (uint64_t)c.errors + (rc ? 1 : 0));
		jw_obj_end(&w);
		jw_finish(&w);
	}
	return rc || c.errors ? GW_EXIT_FAIL : GW_EXIT_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file gw.h
 * @brief famfs-gw: the command table and helpers shared by the command sources.
 *
 * Each command is a row {name, fn, summary, usage} in main.c; cmd_X(argc, argv, ctx)
 * gets argv[0] = the command name, parses its own options and returns the exit status
 * (0 success, 1 failure, 2 usage error). Errors are printed once, to stderr, naming the
 * problem; the library's own diagnostics arrive through its message callback.
 */
#ifndef FAMFS_GW_H
#define FAMFS_GW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "famfs/fs.h"
#include "famfs/msg.h"
#include <stddef.h>

#define GW_EXIT_OK    0
#define GW_EXIT_FAIL  1
#define GW_EXIT_USAGE 2

/** What every command shares: global options. */
struct gw_ctx {
	const char *device;	 /* -d/--device or FAMFS_GW_DEVICE */
	const char *system_uuid; /* --system-uuid */
	uint64_t dev_offset;	 /* --offset */
	int verbose;
};

struct gw_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct gw_ctx *ctx);
	const char *summary;
	const char *usage;
};

int cmd_mkfs(int argc, char **argv, struct gw_ctx *ctx);
int cmd_info(int argc, char **argv, struct gw_ctx *ctx);
int cmd_fsck(int argc, char **argv, struct gw_ctx *ctx);
int cmd_log(int argc, char **argv, struct gw_ctx *ctx);
int cmd_ls(int argc, char **argv, struct gw_ctx *ctx);
int cmd_stat(int argc, char **argv, struct gw_ctx *ctx);
int cmd_mkdir(int argc, char **argv, struct gw_ctx *ctx);
int cmd_creat(int argc, char **argv, struct gw_ctx *ctx);
int cmd_cp(int argc, char **argv, struct gw_ctx *ctx);
int cmd_cat(int argc, char **argv, struct gw_ctx *ctx);
int cmd_rm(int argc, char **argv, struct gw_ctx *ctx);
int cmd_mv(int argc, char **argv, struct gw_ctx *ctx);
int cmd_truncate(int argc, char **argv, struct gw_ctx *ctx);
int cmd_chmod(int argc, char **argv, struct gw_ctx *ctx);
int cmd_chown(int argc, char **argv, struct gw_ctx *ctx);
int cmd_touch(int argc, char **argv, struct gw_ctx *ctx);
int cmd_ln(int argc, char **argv, struct gw_ctx *ctx);
/** "directory", "regular file", "symbolic link"... (@p json: "dir", "file", "symlink"...). */
const char *gw_type_name(mode_t mode, bool json);
int cmd_hosts(int argc, char **argv, struct gw_ctx *ctx);
int cmd_compact(int argc, char **argv, struct gw_ctx *ctx);
int cmd_serve(int argc, char **argv, struct gw_ctx *ctx);
int cmd_status(int argc, char **argv, struct gw_ctx *ctx);
int cmd_mount(int argc, char **argv, struct gw_ctx *ctx);
int cmd_umount(int argc, char **argv, struct gw_ctx *ctx);

/** The mount daemon's messages (and famfs-core's): stderr, a log file or syslog. */
void gw_mount_log(enum famfs_msg_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** The run directory: /run/famfs-gw for root, else $TMPDIR/famfs-gw-UID. */
void gw_run_dir(char *buf, size_t len);
/**
 * Create @p dir and its parents (mkdir -p; the default non-root run directory with mode
 * 0700, anything else 0755), then check it: a directory, not a symlink, owned by the
 * effective user. 0; -ELOOP a symlink; -ENOTDIR not a directory; -EPERM owned by another
 * user; else mkdir's or lstat's -errno. gw_run_dir_strerror() says which in words.
 */
int gw_run_dir_make(const char *dir);
/** A phrase for a gw_run_dir_make() error. */
const char *gw_run_dir_strerror(int rc);
/** @p pid is a running process (a zombie, waiting to be reaped, has finished). */
bool gw_pid_alive(pid_t pid);
/**
 * Look @p mp (absolute, as mountinfo shows it) up in /proc/self/mountinfo; the last
 * matching mount wins. Its "major:minor" goes to @p devno and its file-system type to
 * @p fstype (either may be NULL). 1 found, 0 not mounted, or -errno.
 */
int gw_mountinfo_find(const char *mp, char *devno, size_t devlen, char *fstype, size_t typelen);

/** Print "famfs-gw: <cmd>: message" to stderr. */
void gw_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Print the usage of @p cmd to stdout (help) or stderr (error); returns the exit code. */
int gw_usage(const char *cmd, bool error);

/** The device from the context, or an error message and NULL. */
const char *gw_device(struct gw_ctx *ctx, const char *cmd);
/** Open the famfs named by the context. */
int gw_open(struct gw_ctx *ctx, const char *cmd, bool readonly, struct famfs_fs **fs);
/**
 * Open the famfs read-write and take its log lock (famfs_fs_lock, which reports why it
 * cannot); on failure nothing stays open. 0 or -errno.
 */
int gw_open_locked(struct gw_ctx *ctx, const char *cmd, struct famfs_fs **fs);

/** Parse "4096", "8M", "4G", "2MiB" (binary units). 0 or -EINVAL. */
int gw_parse_size(const char *s, uint64_t *out);
/** Parse an octal mode of at most 07777. 0 or -EINVAL. */
int gw_parse_mode(const char *s, mode_t *out);
/**
 * Turn a user's famfs path into a log relpath: one leading '/' names the famfs root
 * ("/a/b" is "a/b", "/" and "" are the root) and trailing '/'s are dropped. Returns
 * one of four rotating per-thread buffers.
 */
const char *gw_relpath(const char *path);
/** Resolve a user path; prints "<cmd>: <path>: reason" on failure. */
int gw_resolve(struct famfs_fs *fs, const char *cmd, const char *path, struct famfs_inode **out);
/** "drwxr-xr-x" for @p mode into @p buf (11 bytes). */
void gw_mode_string(mode_t mode, char buf[11]);
/** Interleave options -N/-B/-C/--seed (c = 'N', 'B', 'C', 'S'), shared by creat and cp. */
int gw_parse_alloc_opt(const char *cmd, int c, const char *arg, struct famfs_alloc_params *ap);

struct jw;
/** The extent map in the manifest's shape (cmd_admin.c); shared by log and stat --json. */
void gw_json_fmap(struct jw *w, const struct famfs_omf_fmap *m);

#endif /* FAMFS_GW_H */

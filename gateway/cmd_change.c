/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file cmd_change.c
 * @brief famfs-gw rm, mv, truncate, chmod, chown, touch, hosts and compact: the changes
 *        that upstream famfs cannot make, carried by extension log entries.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "famfs/path.h"
#include "famfs/omf_ext.h"
#include "gw.h"
#include "json.h"

/* Split a user path into its directory inode and last name. */
static int parent_and_name(struct famfs_fs *fs, const char *cmd, const char *user,
			   struct famfs_inode **dir, char *name, size_t len)
{
	char parent[4096];
	const char *rel = gw_relpath(user), *base;
	int rc;

	if (!*rel) {
		gw_error(cmd, "%s: the famfs root cannot be changed this way", user);
		return -EINVAL;
	}
	base = famfs_relpath_split(rel, parent);
	if (strlen(base) >= len) {
		gw_error(cmd, "%s: name too long", user);
		return -ENAMETOOLONG;
	}
	snprintf(name, len, "%s", base);
	rc = famfs_fs_resolve(fs, parent, dir);
	if (rc == 0 && !S_ISDIR((*dir)->mode))
		rc = -ENOTDIR;
	if (rc)
		gw_error(cmd, "%s: parent directory: %s", user, strerror(-rc));
	return rc;
}

static int rm_tree(struct famfs_fs *fs, struct famfs_inode *dir, const char *name, const char *user,
		   bool recursive)
{
	struct famfs_inode *obj = famfs_ns_lookup(famfs_fs_ns(fs), dir, name, strlen(name));
	int rc;

	if (!obj) {
		gw_error("rm", "%s: no such file or directory in famfs", user);
		return -ENOENT;
	}
	if (S_ISDIR(obj->mode)) {
		if (!recursive) {
			gw_error("rm", "%s: is a directory (use -r)", user);
			return -EISDIR;
		}
		uint64_t ino = obj->ino;

		/* By number each time: a compaction in the middle rebuilds the view. */
		while ((obj = famfs_fs_get(fs, ino)) && obj->child_head) {
			char child[FAMFS_NAME_MAX + 1];

			snprintf(child, sizeof(child), "%s", obj->child_head->name);
			rc = rm_tree(fs, obj, child, user, true);
			if (rc)
				return rc;
		}
	}
	rc = famfs_fs_remove(fs, dir, name);
	if (rc)
		gw_error("rm", "%s: %s", user, strerror(-rc));
	return rc;
}

int cmd_rm(int argc, char **argv, struct gw_ctx *ctx)
{
	bool recursive = false, force = false;
	struct famfs_fs *fs;
	int c, rc = GW_EXIT_OK;

	while ((c = getopt(argc, argv, "rRf")) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'r' || c == 'R')
			recursive = true;
		else
			return gw_usage("rm", true);
	}
	if (optind >= argc) {
		gw_error("rm", "missing PATH");
		return gw_usage("rm", true);
	}
	if (gw_open_locked(ctx, "rm", &fs))
		return GW_EXIT_FAIL;
	for (int a = optind; a < argc; a++) {
		struct famfs_inode *dir;
		char name[FAMFS_NAME_MAX + 1];

		if (parent_and_name(fs, "rm", argv[a], &dir, name, sizeof(name))) {
			rc = GW_EXIT_FAIL;
			continue;
		}
		if (force && !famfs_ns_lookup(famfs_fs_ns(fs), dir, name, strlen(name)))
			continue;
		if (rm_tree(fs, dir, name, argv[a], recursive))
			rc = GW_EXIT_FAIL;
	}
	famfs_fs_unlock(fs);
	famfs_fs_close(fs);
	return rc;
}

int cmd_mv(int argc, char **argv, struct gw_ctx *ctx)
{
	struct famfs_inode *sdir, *ddir, *dst;
	char sname[FAMFS_NAME_MAX + 1], dname[FAMFS_NAME_MAX + 1];
	struct famfs_fs *fs;
	int rc = GW_EXIT_OK;

	if (argc < 3) {
		gw_error("mv", "need SRC... DST");
		return gw_usage("mv", true);
	}
	if (gw_open_locked(ctx, "mv", &fs))
		return GW_EXIT_FAIL;
	/* DST an existing directory: move into it, under the source's name. */
	bool into =
	    famfs_fs_resolve(fs, gw_relpath(argv[argc - 1]), &dst) == 0 && S_ISDIR(dst->mode);

	if (argc > 3 && !into) {
		gw_error("mv", "%s: with several sources the target must be a directory",
			 argv[argc - 1]);
		rc = GW_EXIT_FAIL;
		goto out;
	}
	for (int a = 1; a < argc - 1; a++) {
		int r;

		if (parent_and_name(fs, "mv", argv[a], &sdir, sname, sizeof(sname))) {
			rc = GW_EXIT_FAIL;
			continue;
		}
		if (into) {
			ddir = dst;
			snprintf(dname, sizeof(dname), "%s", sname);
		} else if (parent_and_name(fs, "mv", argv[argc - 1], &ddir, dname, sizeof(dname))) {
			rc = GW_EXIT_FAIL;
			continue;
		}
		r = famfs_fs_rename(fs, sdir, sname, ddir, dname);
		if (r) {
			gw_error("mv", "%s -> %s: %s", argv[a], argv[argc - 1],
				 r == -ENOENT ? "no such file or directory in famfs"
					      : strerror(-r));
			rc = GW_EXIT_FAIL;
		}
	}
out:
	famfs_fs_unlock(fs);
	famfs_fs_close(fs);
	return rc;
}

int cmd_truncate(int argc, char **argv, struct gw_ctx *ctx)
{
	struct famfs_inode *ino;
	struct famfs_fs *fs;
	uint64_t size = 0;
	bool have = false;
	int c, rc = GW_EXIT_OK;

	while ((c = getopt(argc, argv, "s:")) != -1) {
		if (c != 's' || gw_parse_size(optarg, &size)) {
			gw_error("truncate", "-s needs a size");
			return GW_EXIT_USAGE;
		}
		have = true;
	}
	if (!have || optind >= argc) {
		gw_error("truncate", "usage: truncate -s SIZE PATH...");
		return GW_EXIT_USAGE;
	}
	if (gw_open(ctx, "truncate", false, &fs))
		return GW_EXIT_FAIL;
	for (int a = optind; a < argc; a++) {
		int r;

		if (gw_resolve(fs, "truncate", argv[a], &ino)) {
			rc = GW_EXIT_FAIL;
			continue;
		}
		r = famfs_fs_resize(fs, ino, size);
		if (r) {
			gw_error("truncate", "%s: %s", argv[a], strerror(-r));
			rc = GW_EXIT_FAIL;
		}
	}
	famfs_fs_close(fs);
	return rc;
}

/* chmod, chown and touch: one setattr per path. */
static int setattr_paths(struct gw_ctx *ctx, const char *cmd, char **paths, int n, uint32_t valid,
			 mode_t mode, uint32_t uid, uint32_t gid, bool create)
{
	struct famfs_inode *ino;
	struct famfs_fs *fs;
	int rc = GW_EXIT_OK;
	uint64_t now;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (gw_open(ctx, cmd, false, &fs))
		return GW_EXIT_FAIL;
	for (int a = 0; a < n; a++) {
		int r = famfs_fs_resolve(fs, gw_relpath(paths[a]), &ino);

		if (r == -ENOENT && create) {
			r = famfs_fs_create(fs, gw_relpath(paths[a]), 0, 0644, getuid(), getgid(),
					    NULL, NULL);
			if (r)
				gw_error(cmd, "%s: %s", paths[a], strerror(-r));
			rc = r ? GW_EXIT_FAIL : rc;
			continue;
		}
		if (r) {
			gw_error(cmd, "%s: %s", paths[a],
				 r == -ENOENT ? "no such file or directory in famfs"
					      : strerror(-r));
			rc = GW_EXIT_FAIL;
			continue;
		}
		r = famfs_fs_setattr(fs, ino, valid, mode, uid, gid, now, now);
		if (r) {
			gw_error(cmd, "%s: %s", paths[a], strerror(-r));
			rc = GW_EXIT_FAIL;
		}
	}
	famfs_fs_close(fs);
	return rc;
}

int cmd_chmod(int argc, char **argv, struct gw_ctx *ctx)
{
	mode_t mode;

	if (argc < 3) {
		gw_error("chmod", "need MODE PATH...");
		return gw_usage("chmod", true);
	}
	if (gw_parse_mode(argv[1], &mode)) {
		gw_error("chmod", "mode '%s' is not octal 0..07777", argv[1]);
		return GW_EXIT_USAGE;
	}
	return setattr_paths(ctx, "chmod", argv + 2, argc - 2, FAMFS_ATTR_MODE, mode, 0, 0, false);
}

int cmd_chown(int argc, char **argv, struct gw_ctx *ctx)
{
	uint32_t valid = 0, uid = 0, gid = 0;
	char *colon, *end;

	if (argc < 3) {
		gw_error("chown", "need UID[:GID] PATH...");
		return gw_usage("chown", true);
	}
	colon = strchr(argv[1], ':');
	if (colon != argv[1]) {
		unsigned long v = strtoul(argv[1], &end, 10);

		if (end != (colon ? colon : argv[1] + strlen(argv[1])) || v > UINT32_MAX) {
			gw_error("chown", "'%s': owner must be numeric UID[:GID]", argv[1]);
			return GW_EXIT_USAGE;
		}
		uid = (uint32_t)v;
		valid |= FAMFS_ATTR_UID;
	}
	if (colon && colon[1]) {
		unsigned long v = strtoul(colon + 1, &end, 10);

		if (*end || v > UINT32_MAX) {
			gw_error("chown", "'%s': group must be numeric", argv[1]);
			return GW_EXIT_USAGE;
		}
		gid = (uint32_t)v;
		valid |= FAMFS_ATTR_GID;
	}
	if (!valid) {
		gw_error("chown", "'%s': nothing to change", argv[1]);
		return GW_EXIT_USAGE;
	}
	return setattr_paths(ctx, "chown", argv + 2, argc - 2, valid, 0, uid, gid, false);
}

int cmd_touch(int argc, char **argv, struct gw_ctx *ctx)
{
	if (argc < 2) {
		gw_error("touch", "missing PATH");
		return gw_usage("touch", true);
	}
	return setattr_paths(ctx, "touch", argv + 1, argc - 1, FAMFS_ATTR_MTIME | FAMFS_ATTR_ATIME,
			     0, 0, 0, true);
}

int cmd_ln(int argc, char **argv, struct gw_ctx *ctx)
{
	bool sym = argc == 4 && !strcmp(argv[1], "-s");
	struct famfs_inode *t;
	struct famfs_fs *fs;
	const char *rel;
	int rc;

	if (!sym && argc != 3) {
		gw_error("ln", "usage: ln TARGET PATH (a hard link) or ln -s TARGET PATH");
		return gw_usage("ln", true);
	}
	if (gw_open_locked(ctx, "ln", &fs))
		return GW_EXIT_FAIL;
	rel = gw_relpath(argv[sym ? 3 : 2]);
	if (sym) {
		rc = famfs_fs_mknod(fs, rel, S_IFLNK | 0777, getuid(), getgid(), 0, argv[2], NULL);
	} else {
		/* A hard link: TARGET is a famfs path of an object that is not a directory. */
		rc = famfs_fs_resolve(fs, gw_relpath(argv[1]), &t);
		if (rc == 0)
			rc = famfs_fs_link(fs, rel, famfs_ns_target(t)->ino, NULL);
		if (rc == -EPERM)
			gw_error("ln", "%s: hard links to directories are not allowed", argv[1]);
	}
	if (rc == -ENAMETOOLONG && sym && strlen(argv[2]) > FAMFS_XE_TARGET_MAX)
		gw_error("ln", "%s: the target is %zu bytes; famfs holds at most %d", argv[3],
			 strlen(argv[2]), FAMFS_XE_TARGET_MAX);
	else if (rc && rc != -EPERM)
		gw_error("ln", "%s: %s", rc == -ENOENT && !sym ? argv[1] : argv[sym ? 3 : 2],
			 strerror(-rc));
	famfs_fs_unlock(fs);
	famfs_fs_close(fs);
	return rc ? GW_EXIT_FAIL : GW_EXIT_OK;
}

int cmd_compact(int argc, char **argv, struct gw_ctx *ctx)
{
	struct famfs_fs *fs;
	uint64_t before;
	int rc;

	(void)argv;
	if (argc != 1)
		return gw_usage("compact", true);
	if (gw_open(ctx, "compact", false, &fs))
		return GW_EXIT_FAIL;
	before = famfs_fs_log(fs)->lh_next_index;
	rc = famfs_fs_compact(fs);
	if (rc)
		gw_error("compact", "%s", strerror(-rc));
	else
		printf("log compacted: %llu -> %llu entries, generation %llu\n",
		       (unsigned long long)before,
		       (unsigned long long)famfs_fs_log(fs)->lh_next_index,
		       (unsigned long long)famfs_fs_generation(fs));
	famfs_fs_close(fs);
	return rc ? GW_EXIT_FAIL : GW_EXIT_OK;
}

int cmd_hosts(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"no-upstream", no_argument, NULL, 'n'},
	    {"upstream", no_argument, NULL, 'u'},
	    {"evict", required_argument, NULL, 'e'},
	    {NULL, 0, NULL, 0},
	};
	static struct famfs_host_info hi[256];
	static struct famfs_pending_info pend[4096];
	int c, n, set = -1, evict = -1, rc = GW_EXIT_OK;
	struct famfs_fs *fs;
	bool json = false;
	unsigned long v;
	char *end;
	size_t np;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			set = 1;
			break;
		case 'u':
			set = 0;
			break;
		case 'e':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (!isdigit((unsigned char)optarg[0]) || errno || *end || v > INT_MAX) {
				gw_error("hosts", "--evict '%s' is not a slot number", optarg);
				return GW_EXIT_USAGE;
			}
			evict = (int)v;
			break;
		default:
			return gw_usage("hosts", true);
		}
	}
	if (gw_open(ctx, "hosts", false, &fs))
		return GW_EXIT_FAIL;
	if (set >= 0 && famfs_fs_set_no_upstream(fs, set == 1)) {
		gw_error("hosts", "cannot change the upstream declaration (only the master can)");
		rc = GW_EXIT_FAIL;
	}
	if (evict >= 0) {
		int r = famfs_fs_evict_host(fs, (unsigned int)evict);

		if (r) {
			gw_error("hosts", "evict slot %d: %s", evict, strerror(-r));
			rc = GW_EXIT_FAIL;
		}
	}
	famfs_fs_refresh(fs);
	n = famfs_fs_hosts(fs, hi, 256);
	np = famfs_fs_pending(fs, pend, 4096);
	if (np > 4096)
		np = 4096;
	if (n < 0) {
		gw_error("hosts", "no host table on this device");
		famfs_fs_close(fs);
		return GW_EXIT_FAIL;
	}
	if (json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "log_entries", famfs_fs_log(fs)->lh_next_index);
		jw_u64(&w, "generation", famfs_fs_generation(fs));
		jw_bool(&w, "no_upstream", famfs_fs_no_upstream(fs));
		jw_u64(&w, "pending_bytes", famfs_fs_pending_bytes(fs));
		jw_arr_begin(&w, "hosts");
		for (int i = 0; i < n; i++) {
			char u[37];
			uint64_t waits = 0;

			for (size_t p = 0; p < np; p++)
				waits += pend[p].freed_at >= hi[i].safe ? pend[p].len : 0;
			famfs_uuid_format(hi[i].uuid, u);
			jw_obj_begin(&w, NULL);
			jw_u64(&w, "slot", hi[i].slot);
			jw_str(&w, "system_uuid", u);
			jw_u64(&w, "pid", hi[i].pid);
			jw_u64(&w, "generation", hi[i].generation);
			jw_u64(&w, "replayed", hi[i].replayed);
			jw_u64(&w, "safe", hi[i].safe);
			jw_u64(&w, "heartbeat_ns", hi[i].heartbeat_ns);
			jw_bool(&w, "self", hi[i].self);
			jw_bool(&w, "dead", hi[i].dead);
			jw_u64(&w, "holds_back_bytes", waits);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_finish(&w);
	} else {
		printf("log: %llu entries, generation %llu\n",
		       (unsigned long long)famfs_fs_log(fs)->lh_next_index,
		       (unsigned long long)famfs_fs_generation(fs));
		printf("upstream famfs hosts: %s\n",
		       famfs_fs_no_upstream(fs)
			   ? "declared absent (freed space is reused behind the slowest host)"
			   : "may exist (freed space is never reused; 'famfs-gw hosts "
			     "--no-upstream' if none mounts this file system)");
		printf("freed space waiting: %llu bytes in %zu extent(s)\n",
		       (unsigned long long)famfs_fs_pending_bytes(fs), np);
		printf("%4s  %-36s %8s %10s %10s %12s  %s\n", "slot", "system uuid", "pid",
		       "replayed", "safe", "holds back", "state");
		for (int i = 0; i < n; i++) {
			char u[37];
			uint64_t waits = 0;

			for (size_t p = 0; p < np; p++)
				waits += pend[p].freed_at >= hi[i].safe ? pend[p].len : 0;
			famfs_uuid_format(hi[i].uuid, u);
			printf("%4u  %-36s %8u %10llu %10llu %12llu  %s\n", hi[i].slot, u,
			       hi[i].pid, (unsigned long long)hi[i].replayed,
			       (unsigned long long)hi[i].safe, (unsigned long long)waits,
			       hi[i].self    ? "this process"
			       : hi[i].dead  ? "dead (freed at next allocation)"
			       : hi[i].local ? "this host"
					     : "other host");
		}
	}
	famfs_fs_close(fs);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file cmd_files.c
 * @brief famfs-gw ls, stat, mkdir, creat and cat.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sys/sysmacros.h>

#include "famfs/io.h"
#include "famfs/path.h"
#include "gw.h"
#include "json.h"

static void ls_line(const struct famfs_inode *i, const char *name, bool lng)
{
	char mode[11];

	if (!lng) {
		printf("%s%s\n", name, S_ISDIR(i->mode) ? "/" : "");
		return;
	}
	gw_mode_string(i->mode, mode);
	printf("%s %6u %6u %12llu %8llu %s%s%s%s\n", mode, i->uid, i->gid,
	       (unsigned long long)i->size, (unsigned long long)i->ino, name,
	       S_ISDIR(i->mode) ? "/" : "", i->target ? " -> " : "", i->target ? i->target : "");
}

int cmd_ls(int argc, char **argv, struct gw_ctx *ctx)
{
	struct famfs_inode *ino, *child;
	struct famfs_fs *fs;
	bool lng = false;
	int c, rc = GW_EXIT_OK;

	while ((c = getopt(argc, argv, "l")) != -1) {
		if (c != 'l')
			return gw_usage("ls", true);
		lng = true;
	}
	if (gw_open(ctx, "ls", false, &fs))
		return GW_EXIT_FAIL;
	for (int a = optind; a < argc || a == optind; a++) {
		const char *path = a < argc ? argv[a] : "/";

		if (gw_resolve(fs, "ls", path, &ino)) {
			rc = GW_EXIT_FAIL;
			continue;
		}
		if (argc - optind > 1)
			printf("%s:\n", path);
		if (!S_ISDIR(ino->mode)) {
			ls_line(ino, path, lng);
			continue;
		}
		famfs_ns_foreach_child(ino, child)
		    ls_line(famfs_ns_target(child), child->name, lng);
	}
	famfs_fs_close(fs);
	return rc;
}

int cmd_stat(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct famfs_inode *ino;
	struct famfs_fs *fs;
	bool json = false;
	struct jw w;
	int c, rc = GW_EXIT_OK;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c != 'j')
			return gw_usage("stat", true);
		json = true;
	}
	if (optind >= argc) {
		gw_error("stat", "missing PATH");
		return gw_usage("stat", true);
	}
	if (gw_open(ctx, "stat", false, &fs))
		return GW_EXIT_FAIL;
	if (json) {
		jw_init(&w, stdout);
		jw_arr_begin(&w, NULL);
	}
	for (int a = optind; a < argc; a++) {
		char mode[11];

		if (gw_resolve(fs, "stat", argv[a], &ino)) {
			rc = GW_EXIT_FAIL;
			continue;
		}
		gw_mode_string(ino->mode, mode);
		if (json) {
			jw_obj_begin(&w, NULL);
			jw_str(&w, "path", argv[a]);
			jw_str(&w, "type", gw_type_name(ino->mode, true));
			if (ino->target)
				jw_str(&w, "target", ino->target);
			if (S_ISCHR(ino->mode) || S_ISBLK(ino->mode))
				jw_u64(&w, "rdev", ino->rdev);
			jw_u64(&w, "ino", ino->ino);
			if (!S_ISDIR(ino->mode))
				jw_u64(&w, "nlink", (ino->nameless ? 0 : 1) + ino->nlinks);
			jw_u64(&w, "size", ino->size);
			jw_oct(&w, "mode", ino->mode & 07777);
			jw_u64(&w, "uid", ino->uid);
			jw_u64(&w, "gid", ino->gid);
			jw_u64(&w, "mtime_ns", ino->mtime_ns);
			jw_u64(&w, "ctime_ns", ino->ctime_ns);
			if (ino->log_index != UINT64_MAX)
				jw_u64(&w, "log_index", ino->log_index);
			if (S_ISREG(ino->mode)) {
				jw_u64(&w, "flags", ino->flags);
				gw_json_fmap(&w, &ino->fmap);
			} else if (S_ISDIR(ino->mode)) {
				jw_u64(&w, "entries", ino->nchildren);
			}
			jw_obj_end(&w);
			continue;
		}
		printf("  path: %s\n  type: %s\n   ino: %llu\n  size: %llu\n  mode: %04o (%s)\n"
		       " owner: uid %u gid %u\n",
		       argv[a], gw_type_name(ino->mode, false), (unsigned long long)ino->ino,
		       (unsigned long long)ino->size, ino->mode & 07777, mode, ino->uid, ino->gid);
		if (ino->target)
			printf("target: %s\n", ino->target);
		if (!S_ISDIR(ino->mode) && (ino->nlinks || ino->nameless))
			printf(" links: %u (hard links)\n", (ino->nameless ? 0 : 1) + ino->nlinks);
		if (S_ISCHR(ino->mode) || S_ISBLK(ino->mode))
			printf("  rdev: %u:%u\n", major((dev_t)ino->rdev), minor((dev_t)ino->rdev));
		if (ino->log_index != UINT64_MAX)
			printf("   log: created by entry %llu\n",
			       (unsigned long long)ino->log_index);
		if (ino->mtime_ns) {
			time_t t = (time_t)(ino->mtime_ns / 1000000000ULL);
			char when[64];

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", localtime(&t));
			printf(" mtime: %s\n", when);
		}
		if (S_ISREG(ino->mode)) {
			const struct famfs_omf_fmap *m = &ino->fmap;

			if (m->fmap_ext_type == FAMFS_EXT_INTERLEAVE) {
				printf("  map: interleaved, %llu strips, chunk 0x%llx\n",
				       (unsigned long long)m->ie[0].ie_nstrips,
				       (unsigned long long)m->ie[0].ie_chunk_size);
				for (uint64_t k = 0;
				     k < m->ie[0].ie_nstrips && k < FAMFS_MAX_STRIPS; k++)
					printf("    strip %llu: offset 0x%llx length 0x%llx\n",
					       (unsigned long long)k,
					       (unsigned long long)m->ie[0].ie_strips[k].ext_offset,
					       (unsigned long long)m->ie[0].ie_strips[k].ext_len);
			} else {
				printf("  map: %u simple extent(s)\n", m->fmap_count);
				for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT;
				     k++)
					printf("    extent %u: offset 0x%llx length 0x%llx\n", k,
					       (unsigned long long)m->se[k].ext_offset,
					       (unsigned long long)m->se[k].ext_len);
			}
		} else {
			printf("  entries: %llu\n", (unsigned long long)ino->nchildren);
		}
	}
	if (json) {
		jw_arr_end(&w);
		jw_finish(&w);
	}
	famfs_fs_close(fs);
	return rc;
}

/* -u/-g parsing shared by mkdir and creat. */
static int parse_id(const char *cmd, const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > UINT32_MAX) {
		gw_error(cmd, "'%s' is not a numeric id", s);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cmd_mkdir(int argc, char **argv, struct gw_ctx *ctx)
{
	mode_t mode = 0755;
	uint32_t uid = getuid(), gid = getgid();
	bool parents = false;
	struct famfs_fs *fs;
	int c, rc = GW_EXIT_OK;

	while ((c = getopt(argc, argv, "pm:u:g:")) != -1) {
		switch (c) {
		case 'p':
			parents = true;
			break;
		case 'm':
			if (gw_parse_mode(optarg, &mode)) {
				gw_error("mkdir", "mode '%s' is not octal 0..07777", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'u':
			if (parse_id("mkdir", optarg, &uid))
				return GW_EXIT_USAGE;
			break;
		case 'g':
			if (parse_id("mkdir", optarg, &gid))
				return GW_EXIT_USAGE;
			break;
		default:
			return gw_usage("mkdir", true);
		}
	}
	if (optind >= argc) {
		gw_error("mkdir", "missing PATH");
		return gw_usage("mkdir", true);
	}
	if (gw_open(ctx, "mkdir", false, &fs))
		return GW_EXIT_FAIL;
	for (int a = optind; a < argc; a++) {
		const char *rel = gw_relpath(argv[a]);
		int r = parents ? famfs_fs_mkdir_p(fs, rel, mode, uid, gid, NULL)
				: famfs_fs_mkdir(fs, rel, mode, uid, gid, NULL);

		if (r) {
			gw_error("mkdir", "%s: %s", argv[a], strerror(-r));
			rc = GW_EXIT_FAIL;
		}
	}
	famfs_fs_close(fs);
	return rc;
}

int gw_parse_alloc_opt(const char *cmd, int c, const char *arg, struct famfs_alloc_params *ap)
{
	uint64_t v;

	if (gw_parse_size(arg, &v) || (c != 'C' && v > UINT32_MAX)) {
		gw_error(cmd, "'%s' is not a valid number", arg);
		return -EINVAL;
	}
	switch (c) {
	case 'N':
		ap->nstrips = (uint32_t)v;
		break;
	case 'B':
		ap->nbuckets = (uint32_t)v;
		break;
	case 'C':
		ap->chunk_size = v;
		break;
	default:
		ap->seed = (unsigned int)v;
		break;
	}
	return 0;
}

struct creat_job {
	const char *cmd;
	struct famfs_fs *fs;
	mode_t mode;
	uint32_t uid, gid;
	const struct famfs_alloc_params *ap;
	unsigned long created, failed;
};

static void creat_one(struct creat_job *j, const char *path, uint64_t size)
{
	int r = famfs_fs_creat(j->fs, gw_relpath(path), size, j->mode, j->uid, j->gid, j->ap, NULL);

	if (r) {
		gw_error(j->cmd, "%s: %s", path, strerror(-r));
		j->failed++;
	} else {
		j->created++;
	}
}

static int creat_from(struct creat_job *j, const char *list, uint64_t dflt)
{
	FILE *f = strcmp(list, "-") ? fopen(list, "r") : stdin;
	char line[4096];
	unsigned long lineno = 0;

	if (!f) {
		gw_error(j->cmd, "%s: %s", list, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *path, *sz, *save = NULL;
		uint64_t size = dflt;

		lineno++;
		path = strtok_r(line, " \t\r\n", &save);
		if (!path || path[0] == '#')
			continue;
		sz = strtok_r(NULL, " \t\r\n", &save);
		if (sz && gw_parse_size(sz, &size)) {
			gw_error(j->cmd, "%s:%lu: '%s' is not a size", list, lineno, sz);
			j->failed++;
			continue;
		}
		if (!size) {
			gw_error(j->cmd, "%s:%lu: no size for '%s' (give -s or a size column)",
				 list, lineno, path);
			j->failed++;
			continue;
		}
		creat_one(j, path, size);
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int cmd_creat(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"size", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},
	    {"from", required_argument, NULL, 'f'},
	    {"nstrips", required_argument, NULL, 'N'},
	    {"nbuckets", required_argument, NULL, 'B'},
	    {"chunk-size", required_argument, NULL, 'C'},
	    {"seed", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	struct famfs_alloc_params ap = {0};
	struct creat_job j = {.cmd = "creat", .mode = 0644, .ap = &ap};
	const char *from = NULL;
	uint64_t size = 0;
	int c;

	j.uid = getuid();
	j.gid = getgid();
	while ((c = getopt_long(argc, argv, "s:m:u:g:N:B:C:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (gw_parse_size(optarg, &size)) {
				gw_error("creat", "size '%s' is not a size", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'm':
			if (gw_parse_mode(optarg, &j.mode)) {
				gw_error("creat", "mode '%s' is not octal 0..07777", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'u':
			if (parse_id("creat", optarg, &j.uid))
				return GW_EXIT_USAGE;
			break;
		case 'g':
			if (parse_id("creat", optarg, &j.gid))
				return GW_EXIT_USAGE;
			break;
		case 'f':
			from = optarg;
			break;
		case 'N':
		case 'B':
		case 'C':
		case 'S':
			if (gw_parse_alloc_opt("creat", c, optarg, &ap))
				return GW_EXIT_USAGE;
			break;
		default:
			return gw_usage("creat", true);
		}
	}
	if (optind >= argc && !from) {
		gw_error("creat", "missing PATH (or --from FILE)");
		return gw_usage("creat", true);
	}
	if (!size && optind < argc) {
		gw_error("creat", "-s SIZE is required and must be greater than 0");
		return GW_EXIT_USAGE;
	}
	/* One lock for the whole batch: one replay, one allocation session. */
	if (gw_open_locked(ctx, "creat", &j.fs))
		return GW_EXIT_FAIL;
	for (int a = optind; a < argc; a++)
		creat_one(&j, argv[a], size);
	if (from)
		creat_from(&j, from, size);
	famfs_fs_unlock(j.fs);
	famfs_fs_close(j.fs);
	if (ctx->verbose || j.created + j.failed > 1)
		fprintf(stderr, "famfs-gw: creat: %lu created, %lu failed\n", j.created, j.failed);
	return j.failed ? GW_EXIT_FAIL : GW_EXIT_OK;
}

int cmd_cat(int argc, char **argv, struct gw_ctx *ctx)
{
	static char buf[1 << 20];
	struct famfs_inode *ino;
	struct famfs_fs *fs;
	int rc = GW_EXIT_OK;

	if (argc < 2) {
		gw_error("cat", "missing PATH");
		return gw_usage("cat", true);
	}
	if (gw_open(ctx, "cat", false, &fs))
		return GW_EXIT_FAIL;
	for (int a = 1; a < argc; a++) {
		uint64_t off = 0;

		if (gw_resolve(fs, "cat", argv[a], &ino)) {
			rc = GW_EXIT_FAIL;
			continue;
		}
		if (S_ISDIR(ino->mode)) {
			gw_error("cat", "%s: is a directory", argv[a]);
			rc = GW_EXIT_FAIL;
			continue;
		}
		for (;;) {
			ssize_t n =
			    famfs_file_read(fs, ino, off, buf, sizeof(buf), FAMFS_IO_INVALIDATE);

			if (n < 0) {
				gw_error("cat", "%s: read at %llu: %s", argv[a],
					 (unsigned long long)off, strerror((int)-n));
				rc = GW_EXIT_FAIL;
				break;
			}
			if (n == 0)
				break;
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
				gw_error("cat", "write to standard output: %s", strerror(errno));
				famfs_fs_close(fs);
				return GW_EXIT_FAIL;
			}
			off += (uint64_t)n;
		}
	}
	fflush(stdout);
	famfs_fs_close(fs);
	return rc;
}

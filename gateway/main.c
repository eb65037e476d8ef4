/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file main.c
 * @brief famfs-gw: global options, the command table and shared helpers.
 *
 * Usage: famfs-gw [-d DEVICE] [--system-uuid UUID] [-v] COMMAND [OPTIONS] [ARGS]
 * The device may also come from FAMFS_GW_DEVICE.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "famfs/msg.h"
#include "gw.h"

static const struct gw_cmd commands[] = {
    {"mkfs", cmd_mkfs, "make a famfs on a device or file",
     "mkfs [--force] [--log-size N] [--size N] [--fs-uuid UUID] [--no-upstream]\n"
     "  Write a superblock and an empty log; this host becomes the master.\n"
     "  --size N      create the device as a regular file of N bytes if it does not exist\n"
     "  --log-size N  log length, a power of two of at least 8M (default 8M)\n"
     "  --force       overwrite an existing famfs\n"
     "  --no-upstream declare that no upstream famfs host will mount it (space reuse)\n"},
    {"info", cmd_info, "show the superblock and log header",
     "info [--json]\n  Superblock, log header, role of this host and space.\n"},
    {"fsck", cmd_fsck, "check the superblock, log and allocations",
     "fsck [--json]\n"
     "  Read-only check. Exit status 0 when clean, 1 when errors were found.\n"},
    {"log", cmd_log, "print every log entry",
     "log [--json]\n  Every committed log entry, in order.\n"},
    {"ls", cmd_ls, "list a directory",
     "ls [-l] [PATH...]\n  PATH is inside famfs ('/' or nothing is the root).\n"},
    {"stat", cmd_stat, "show a file's size, mode, owner and extents", "stat [--json] PATH...\n"},
    {"mkdir", cmd_mkdir, "create directories",
     "mkdir [-p] [-m MODE] [-u UID] [-g GID] PATH...\n"
     "  -p  create missing parents, no error if the directory exists\n"
     "  -m  permission bits in octal (default 0755)\n"},
    {"creat", cmd_creat, "allocate and log files (one or a batch)",
     "creat -s SIZE [-m MODE] [-u UID] [-g GID] [-N NSTRIPS -B NBUCKETS -C CHUNK]\n"
     "      [--seed N] [--from FILE] [PATH...]\n"
     "  Every PATH gets a file of SIZE bytes; all are created under one log lock.\n"
     "  --from FILE  read more files from FILE ('-' = stdin), one per line: PATH [SIZE]\n"
     "  -N/-B/-C     interleaved allocation: strips, buckets, chunk size\n"},
    {"cp", cmd_cp, "copy files into famfs or out of it",
     "cp [-r] [-m MODE] [--upstream] [-N NSTRIPS -B NBUCKETS -C CHUNK] SRC... DST\n"
     "  Famfs paths start with ':' (':/dir/file' or ':dir/file').\n"
     "  Into famfs:   famfs-gw cp host1 host2 :/dir    (DST a famfs directory or file)\n"
     "  Out of famfs: famfs-gw cp :/dir/file ./here    (DST a host file or directory)\n"
     "  -r copies directories recursively. A progress bar is shown on a terminal.\n"
     "  A file under 2 MiB is packed into 4 KiB pages (one extension log entry; upstream\n"
     "  famfs hosts do not see it); --upstream gives it a 2 MiB unit in upstream form.\n"},
    {"cat", cmd_cat, "write files' content to standard output", "cat PATH...\n"},
    {"rm", cmd_rm, "remove files and directories",
     "rm [-r] [-f] PATH...\n"
     "  Space is reused only when every host is done with it (see 'hosts').\n"},
    {"mv", cmd_mv, "rename or move (replacing an existing target)",
     "mv SRC... DST\n  DST an existing directory: move into it.\n"},
    {"truncate", cmd_truncate, "grow or shrink files", "truncate -s SIZE PATH...\n"},
    {"chmod", cmd_chmod, "change permission bits", "chmod MODE PATH...\n"},
    {"chown", cmd_chown, "change owner and group", "chown UID[:GID] PATH...\n"},
    {"touch", cmd_touch, "create empty files or set their times to now", "touch PATH...\n"},
    {"ln", cmd_ln, "make a hard or a symbolic link",
     "ln TARGET PATH | ln -s TARGET PATH\n  A hard link: PATH becomes one more name of the famfs "
     "file TARGET (not a directory;\n  upstream hosts see only its first name). -s: a symbolic "
     "link; TARGET is stored as\n  given (at most 375 bytes).\n"},
    {"hosts", cmd_hosts, "registered hosts, their log positions, waiting freed space",
     "hosts [--json] [--no-upstream | --upstream] [--evict SLOT]\n"
     "  --no-upstream  declare that no upstream famfs host mounts this file system,\n"
     "                 so freed space may be reused behind the slowest registered host\n"
     "  --upstream     withdraw that declaration (freed space is then never reused)\n"
     "  --evict SLOT   forget a registered process of a host that is gone\n"},
    {"serve", cmd_serve, "run nfs-ganesha with the FAMFS FSAL and supervise it",
     "serve [-d DEVICE [--path DIR] [--pseudo PATH] [--read-only]] [--config GW.CONF]\n"
     "      [--ganesha-conf FILE] [--port N] [--bind ADDR] [--run-dir DIR]\n"
     "      [--plugin-dir DIR] [--log-follow-ms N] [--system-uuid UUID]\n"
     "      [--protocols 3,4|4] [--background] [--dry-run]\n"
     "  Exports come from -d (one export), a gateway config (--config, see\n"
     "  config/famfs-gw.conf) or a ganesha.conf used as is (--ganesha-conf).\n"
     "  -d DEVICE        serve this famfs (relative paths: from the current directory)\n"
     "  --path DIR       directory inside famfs to export (default /)\n"
     "  --pseudo PATH    NFSv4 pseudo path, also the NFSv3 mount path (default /famfs)\n"
     "  --read-only      export read-only (a host that is not the master always is)\n"
     "  --port N         NFS port (default 2049); the MOUNT port is N+1\n"
     "  --bind ADDR      listen address (default 127.0.0.1)\n"
     "  --run-dir DIR    ganesha.conf, logs, serve.json (default /run/famfs-gw as root,\n"
     "                   else $TMPDIR/famfs-gw-$UID)\n"
     "  --plugin-dir DIR where libfsalfamfs.so is (default $FAMFS_GW_PLUGIN_DIR, the\n"
     "                   build tree next to famfs-gw, /usr/lib/x86_64-linux-gnu/ganesha)\n"
     "  --log-follow-ms N how often the FSAL polls the famfs log (default 1000,\n"
     "                   50..60000)\n"
     "  --protocols V    3,4 (default; NFSv3 needs rpcbind, else NFSv4 only) or 4\n"
     "  --background     detach once the NFS port accepts connections\n"
     "  --dry-run        check and write ganesha.conf, but start nothing\n"
     "  Runs until SIGTERM/SIGINT, which stop ganesha; exits with ganesha's status.\n"},
    {"status", cmd_status, "show whether the gateway runs, its exports and clients",
     "status [--run-dir DIR] [--json]\n"
     "  Exit status 0 when the gateway runs, 3 when it does not.\n"},
    {"mount", cmd_mount, "mount famfs with FUSE on a host attached to the memory",
     "mount [-f] [-r] [-o OPTS] [--follow-ms N] [--timeout SECS] [--kernel-cache]\n"
     "      [--invalidate-reads] [--read-ahead KB] [--log FILE] [DEVICE] MOUNTPOINT\n"
     "  Serve the famfs on DEVICE (or -d) at MOUNTPOINT through /dev/fuse, straight from\n"
     "  the mapped memory. On the famfs master the mount is read-write (create, mkdir,\n"
     "  write, remove, rename, truncate, chmod, chown); on any other host read-only.\n"
     "  New log entries of other hosts are replayed and shown within --follow-ms.\n"
     "  -f                 stay in the foreground (default: detach once mounted)\n"
     "  -r                 mount read-only even on the master\n"
     "  -o OPTS            more FUSE/kernel mount options (comma separated)\n"
     "  --follow-ms N      how often the log is replayed (default 1000, 10..60000)\n"
     "  --commit-ms N      a written file is logged at its last close or fsync, and at\n"
     "                     the latest N ms after its first change (default 800; 0 logs\n"
     "                     every change at once)\n"
     "  --timeout SECS     attribute and name cache time in the kernel (default 1)\n"
     "  --kernel-cache     keep a file's cached pages across opens while its map is\n"
     "                     unchanged (default: dropped at every open, like NFS)\n"
     "  --invalidate-reads evict each range from the CPU cache before reading it\n"
     "                     (memory that other hosts write without coherence)\n"
     "  --read-ahead KB    the mount's kernel read-ahead (default 1024; 0 = kernel's)\n"
     "  --log FILE         messages to FILE (default: stderr in the foreground, else\n"
     "                     syslog)\n"
     "  SIGTERM, SIGINT or 'famfs-gw umount MOUNTPOINT' unmount and stop the daemon.\n"},
    {"umount", cmd_umount, "unmount a famfs FUSE mount and wait for its daemon",
     "umount [--timeout SECS] MOUNTPOINT\n"},
    {"compact", cmd_compact, "rewrite the log as the namespace it describes",
     "compact\n  The master also does this by itself when the log is full.\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_main_usage(FILE *f)
{
	fprintf(f, "usage: famfs-gw [-d DEVICE] [--system-uuid UUID] [-v] COMMAND [ARGS]\n\n"
		   "  -d, --device PATH   devdax device or file (default: $FAMFS_GW_DEVICE)\n"
		   "  --system-uuid UUID  act as the host with this system UUID\n"
		   "  --offset N          famfs starts N bytes into the device\n"
		   "  -v, --verbose       more messages\n"
		   "  -V, --version       print the version and exit\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'famfs-gw COMMAND --help' shows a command's options.\n");
}

int gw_usage(const char *cmd, bool error)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, cmd) == 0) {
			fprintf(error ? stderr : stdout, "usage: famfs-gw [-d DEVICE] %s",
				commands[i].usage);
			return error ? GW_EXIT_USAGE : GW_EXIT_OK;
		}
	}
	return GW_EXIT_USAGE;
}

void gw_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "famfs-gw: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int verbosity;

static void lib_msg(enum famfs_msg_level level, const char *msg, void *arg)
{
	(void)arg;
	if ((int)level <= FAMFS_MSG_NOTICE + verbosity)
		fprintf(stderr, "famfs-gw: %s%s\n", level == FAMFS_MSG_WARNING ? "warning: " : "",
			msg);
}

const char *gw_device(struct gw_ctx *ctx, const char *cmd)
{
	if (!ctx->device || !*ctx->device) {
		gw_error(cmd, "no device: give -d/--device PATH or set FAMFS_GW_DEVICE");
		return NULL;
	}
	return ctx->device;
}

int gw_open(struct gw_ctx *ctx, const char *cmd, bool readonly, struct famfs_fs **fs)
{
	struct famfs_fs_opts o = {
	    .readonly = readonly, .system_uuid = ctx->system_uuid, .dev_offset = ctx->dev_offset};
	const char *dev = gw_device(ctx, cmd);
	int rc;

	if (!dev)
		return -EINVAL;
	rc = famfs_fs_open(dev, &o, fs);
	if (rc)
		gw_error(cmd, "%s: cannot open famfs: %s", dev, strerror(-rc));
	return rc;
}

int gw_open_locked(struct gw_ctx *ctx, const char *cmd, struct famfs_fs **fs)
{
	int rc = gw_open(ctx, cmd, false, fs);

	if (rc)
		return rc;
	rc = famfs_fs_lock(*fs); /* says why through the message callback */
	if (rc) {
		famfs_fs_close(*fs);
		*fs = NULL;
	}
	return rc;
}

void gw_run_dir(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	if (geteuid() == 0)
		snprintf(buf, len, "/run/famfs-gw");
	else
		snprintf(buf, len, "%s/famfs-gw-%u", tmp && *tmp ? tmp : "/tmp",
			 (unsigned int)getuid());
}

int gw_run_dir_make(const char *dir)
{
	char buf[PATH_MAX], dflt[PATH_MAX];
	size_t len = strlen(dir);
	bool private;
	struct stat st;

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	while (len > 1 && buf[len - 1] == '/') /* "dir/" would follow a symlink */
		buf[--len] = '\0';
	gw_run_dir(dflt, sizeof(dflt));
	/* Anyone may create names in $TMPDIR: the default directory there is private. */
	private = geteuid() != 0 && strcmp(buf, dflt) == 0;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, private ? 0700 : 0755) && errno != EEXIST)
		return -errno;
	if (lstat(buf, &st))
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid())
		return -EPERM;
	if (private && (st.st_mode & 077) && chmod(buf, 0700))
		return -errno;
	return 0;
}

const char *gw_run_dir_strerror(int rc)
{
	switch (rc) {
	case -ELOOP:
		return "is a symbolic link (refused: remove it or give another run directory)";
	case -ENOTDIR:
		return "is not a directory";
	case -EPERM:
		return "belongs to another user (refused: remove it or give another run "
		       "directory)";
	default:
		return strerror(-rc);
	}
}

bool gw_pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true; /* no /proc (or hidden): trust kill() */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the state follows the command name */
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* Decode mountinfo's octal escapes (\040 for a space) in place. */
static void mountinfo_unescape(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

int gw_mountinfo_find(const char *mp, char *devno, size_t devlen, char *fstype, size_t typelen)
{
	char line[8192], point[PATH_MAX], dev[64], type[256];
	bool whole = true; /* the previous read ended a line */
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	/* mount-id parent-id major:minor root mount-point options... - fstype source ... */
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		bool start = whole;

		whole = strchr(line, '\n') != NULL;
		if (!start || !sep || sscanf(line, "%*s %*s %63s %*s %4095s", dev, point) != 2 ||
		    sscanf(sep + 3, "%255s", type) != 1)
			continue;
		mountinfo_unescape(point);
		if (strcmp(point, mp))
			continue;
		found = 1; /* the last one wins: it is the one on top */
		if (devno && devlen)
			snprintf(devno, devlen, "%s", dev);
		if (fstype && typelen)
			snprintf(fstype, typelen, "%s", type);
	}
	fclose(f);
	return found;
}

int gw_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	case 'T':
		mul = 1ULL << 40;
		end++;
		break;
	default:
		break;
	}
	if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end || (v && mul > UINT64_MAX / v))
		return -EINVAL;
	*out = v * mul;
	return 0;
}

int gw_parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || *end || v > 07777)
		return -EINVAL;
	*out = (mode_t)v;
	return 0;
}

const char *gw_relpath(const char *path)
{
	static __thread char ring[4][4096];
	static __thread unsigned int next;
	char *out = ring[next++ % 4];
	size_t len;

	if (path[0] == '/')
		path++;
	snprintf(out, sizeof(ring[0]), "%s", path);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '/')
		out[--len] = '\0';
	return out;
}

int gw_resolve(struct famfs_fs *fs, const char *cmd, const char *path, struct famfs_inode **out)
{
	int rc = famfs_fs_resolve(fs, gw_relpath(path), out);

	if (rc)
		gw_error(cmd, "%s: %s", path,
			 rc == -ENOENT ? "no such file or directory in famfs" : strerror(-rc));
	else
		*out = famfs_ns_target(*out); /* a hard link stands for its object */
	return rc;
}

const char *gw_type_name(mode_t mode, bool json)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return json ? "dir" : "directory";
	case S_IFLNK:
		return json ? "symlink" : "symbolic link";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return json ? "chardev" : "character device";
	case S_IFBLK:
		return json ? "blockdev" : "block device";
	default:
		return json ? "file" : "regular file";
	}
}

void gw_mode_string(mode_t mode, char buf[11])
{
	static const char rwx[] = "rwxrwxrwx";

	switch (mode & S_IFMT) {
	case S_IFDIR:
		buf[0] = 'd';
		break;
	case S_IFLNK:
		buf[0] = 'l';
		break;
	case S_IFIFO:
		buf[0] = 'p';
		break;
	case S_IFSOCK:
		buf[0] = 's';
		break;
	case S_IFCHR:
		buf[0] = 'c';
		break;
	case S_IFBLK:
		buf[0] = 'b';
		break;
	default:
		buf[0] = '-';
	}
	for (int i = 0; i < 9; i++)
		buf[i + 1] = (mode & (1u << (8 - i))) ? rwx[i] : '-';
	if (mode & S_ISUID)
		buf[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		buf[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		buf[9] = (mode & S_IXOTH) ? 't' : 'T';
	buf[10] = '\0';
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"device", required_argument, NULL, 'd'},
	    {"system-uuid", required_argument, NULL, 'U'},
	    {"offset", required_argument, NULL, 'O'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct gw_ctx ctx = {.device = getenv("FAMFS_GW_DEVICE")};
	int c;

	famfs_set_msg_fn(lib_msg, NULL);
	while ((c = getopt_long(argc, argv, "+d:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ctx.device = optarg;
			break;
		case 'U':
			ctx.system_uuid = optarg;
			break;
		case 'O':
			if (gw_parse_size(optarg, &ctx.dev_offset)) {
				gw_error("offset", "'%s' is not a size", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'v':
			ctx.verbose++;
			verbosity++;
			break;
		case 'h':
			print_main_usage(stdout);
			return GW_EXIT_OK;
		case 'V':
			printf("famfs-gw 0.1.0 (famfs superblock version %d, reads 47 and 48)\n",
			       FAMFS_CURRENT_VERSION);
			return GW_EXIT_OK;
		default:
			print_main_usage(stderr);
			return GW_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_main_usage(stderr);
		return GW_EXIT_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[optind]) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;

			for (int a = 1; a < sub_argc; a++) {
				if (!strcmp(sub_argv[a], "--"))
					break;
				if (!strcmp(sub_argv[a], "--help") || !strcmp(sub_argv[a], "-h"))
					return gw_usage(commands[i].name, false);
			}
			optind = 0; /* reset getopt for the command's own options */
			return commands[i].fn(sub_argc, sub_argv, &ctx);
		}
	}
	gw_error(argv[optind], "unknown command (see famfs-gw --help)");
	return GW_EXIT_USAGE;
}

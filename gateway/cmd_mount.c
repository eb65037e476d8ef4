// SPDX-License-Identifier: Apache-2.0
/**
 * @file cmd_mount.c
 * @brief famfs-gw mount / umount: start the FUSE daemon (fuse_fs.c) and stop it.
 *
 * mount forks before it opens the device, so that the process registered in the famfs
 * host table (by pid) is the daemon itself; the parent waits until the daemon says the
 * mount is up (a byte on a pipe) or has failed (the pipe closes), and exits 0 or 1. The
 * daemon's messages go to the terminal until then, afterwards to --log FILE or syslog.
 * The daemon records its pid in RUN_DIR/mount<escaped mount point>.pid so that umount
 * can wait for it to finish (space it held open is released by then).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "famfs/ll.h"
#include "fuse/fuse_fs.h"
#include "gw.h"

/* Where the daemon's messages go; set before any thread starts. */
static struct {
	FILE *file;    /* --log FILE */
	bool syslog;   /* detached without --log */
	bool detached; /* stderr is gone */
	int verbose;
} mlog;

void gw_mount_log(enum famfs_msg_level level, const char *fmt, ...)
{
	char msg[1024], when[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if ((int)level > FAMFS_MSG_NOTICE + mlog.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!mlog.detached && (level <= FAMFS_MSG_WARNING || !mlog.file))
		fprintf(stderr, "famfs-gw: mount: %s%s\n",
			level == FAMFS_MSG_ERR	     ? "error: "
			: level == FAMFS_MSG_WARNING ? "warning: "
						     : "",
			msg);
	if (mlog.syslog) {
		syslog((int)level, "%s", msg);
		return;
	}
	if (mlog.file) {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(mlog.file, "%s.%03ld famfs-gw[%d]: %s%s\n", when, ts.tv_nsec / 1000000,
			(int)getpid(),
			level == FAMFS_MSG_ERR	     ? "error: "
			: level == FAMFS_MSG_WARNING ? "warning: "
						     : "",
			msg);
		fflush(mlog.file);
	}
}

static void mount_lib_msg(enum famfs_msg_level level, const char *msg, void *arg)
{
	(void)arg;
	gw_mount_log(level, "%s", msg);
}

/* RUN_DIR/mount<mount point with '%' and '/' escaped>.pid */
static int mount_pid_path(const char *mp, char *buf, size_t len)
{
	char dir[PATH_MAX];
	size_t n;
	int k;

	gw_run_dir(dir, sizeof(dir));
	k = snprintf(buf, len, "%s/mount", dir);
	if (k < 0 || (size_t)k >= len)
		return -ENAMETOOLONG;
	n = (size_t)k;
	for (; *mp; mp++) {
		const char *rep = *mp == '/' ? "%2F" : *mp == '%' ? "%25" : NULL;
		size_t need = rep ? 3 : 1;

		if (n + need + 5 >= len)
			return -ENAMETOOLONG;
		if (rep)
			memcpy(buf + n, rep, 3);
		else
			buf[n] = *mp;
		n += need;
	}
	memcpy(buf + n, ".pid", 5);
	return 0;
}

struct mount_ready {
	int fd;		 /* the pipe to the waiting parent, or -1 */
	const char *log; /* --log FILE */
};

/* The mount is up: release the parent and leave the terminal. */
static void mount_on_ready(void *arg)
{
	struct mount_ready *r = arg;
	char ok = '0';
	int null;

	if (r->fd < 0)
		return;
	if (!r->log) {
		openlog("famfs-gw", LOG_PID, LOG_DAEMON);
		mlog.syslog = true;
	}
	mlog.detached = true;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(r->fd, &ok, 1) != 1)
		gw_mount_log(FAMFS_MSG_WARNING, "cannot tell the parent that the mount is up");
	close(r->fd);
	r->fd = -1;
}

/* The parent of a detaching mount: wait for the daemon's word. */
static int mount_wait_child(pid_t child, int fd, const char *mp)
{
	char c = 0;
	ssize_t n;
	int status;

	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n == 1 && c == '0') {
		printf("famfs mounted on %s (daemon pid %d)\n", mp, (int)child);
		return GW_EXIT_OK;
	}
	waitpid(child, &status, 0);
	return GW_EXIT_FAIL;
}

/* The "major:minor" of the mount at @mp (the FUSE daemon sets its read-ahead by it). */
static int mount_devno(const char *mp, char *buf, size_t len)
{
	return gw_mountinfo_find(mp, buf, len, NULL, 0);
}

int cmd_mount(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"follow-ms", required_argument, NULL, 'F'},
	    {"commit-ms", required_argument, NULL, 'C'},
	    {"timeout", required_argument, NULL, 't'},
	    {"kernel-cache", no_argument, NULL, 'k'},
	    {"invalidate-reads", no_argument, NULL, 'i'},
	    {"log", required_argument, NULL, 'l'},
	    {"read-ahead", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	struct famfs_fs_opts fo = {.system_uuid = ctx->system_uuid, .dev_offset = ctx->dev_offset};
	struct fm_opts o = {.follow_ms = 1000,
			    .commit_ms = FAMFS_LL_COMMIT_MS,
			    .timeout = 1.0,
			    .read_ahead_kb = 1024};
	struct mount_ready ready = {.fd = -1};
	char mp[PATH_MAX], pidf[PATH_MAX], devpath[PATH_MAX], *end;
	bool foreground = false, force_ro = false;
	struct famfs_fs *fs = NULL;
	struct stat st;
	const char *dev;
	unsigned long v;
	int c, rc, pfd[2];
	pid_t child;
	FILE *f;

	while ((c = getopt_long(argc, argv, "+fro:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'r':
			force_ro = true;
			break;
		case 'o':
			o.fuse_opts = optarg;
			break;
		case 'F':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || v < 10 || v > 60000) {
				gw_error("mount", "--follow-ms '%s': give 10 to 60000", optarg);
				return GW_EXIT_USAGE;
			}
			o.follow_ms = (unsigned int)v;
			break;
		case 'C':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || v > 60000) {
				gw_error("mount", "--commit-ms '%s': give 0 to 60000", optarg);
				return GW_EXIT_USAGE;
			}
			o.commit_ms = (unsigned int)v;
			break;
		case 't':
			o.timeout = strtod(optarg, &end);
			if (*end || !(o.timeout >= 0 && o.timeout <= 3600)) {
				gw_error("mount", "--timeout '%s': give 0 to 3600 seconds", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'k':
			o.kernel_cache = true;
			break;
		case 'i':
			o.invalidate_reads = true;
			break;
		case 'l':
			ready.log = optarg;
			break;
		case 'a':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || v > 65536) {
				gw_error("mount", "--read-ahead '%s': give 0 to 65536 KiB", optarg);
				return GW_EXIT_USAGE;
			}
			o.read_ahead_kb = (unsigned int)v;
			break;
		default:
			return gw_usage("mount", true);
		}
	}
	if (argc - optind == 2) {
		dev = argv[optind];
	} else if (argc - optind == 1) {
		dev = gw_device(ctx, "mount");
		if (!dev)
			return GW_EXIT_USAGE;
	} else {
		return gw_usage("mount", true);
	}
	if (!realpath(dev, devpath)) {
		gw_error("mount", "%s: %s", dev, strerror(errno));
		return GW_EXIT_FAIL;
	}
	dev = devpath; /* the daemon leaves the current directory */
	if (!realpath(argv[argc - 1], mp)) {
		gw_error("mount", "%s: %s", argv[argc - 1], strerror(errno));
		return GW_EXIT_FAIL;
	}
	if (stat(mp, &st) || !S_ISDIR(st.st_mode)) {
		gw_error("mount", "%s: the mount point is not a directory", mp);
		return GW_EXIT_FAIL;
	}
	if (mount_pid_path(mp, pidf, sizeof(pidf))) {
		gw_error("mount", "%s: mount point path too long", mp);
		return GW_EXIT_FAIL;
	}
	mlog.verbose = ctx->verbose;
	if (ready.log) {
		mlog.file = fopen(ready.log, "a");
		if (!mlog.file) {
			gw_error("mount", "--log %s: %s", ready.log, strerror(errno));
			return GW_EXIT_FAIL;
		}
	}
	famfs_set_msg_fn(mount_lib_msg, NULL);

	if (!foreground) {
		if (pipe(pfd)) {
			gw_error("mount", "pipe: %s", strerror(errno));
			return GW_EXIT_FAIL;
		}
		fflush(NULL);
		child = fork();
		if (child < 0) {
			gw_error("mount", "fork: %s", strerror(errno));
			return GW_EXIT_FAIL;
		}
		if (child > 0) {
			close(pfd[1]);
			return mount_wait_child(child, pfd[0], mp);
		}
		close(pfd[0]);
		ready.fd = pfd[1];
		setsid();
		if (chdir("/"))
			gw_mount_log(FAMFS_MSG_WARNING, "chdir /: %s", strerror(errno));
	}

	rc = famfs_fs_open(dev, &fo, &fs);
	if (rc == -EACCES || rc == -EROFS || rc == -EPERM) {
		fo.readonly = true; /* a read-only device: serve it read-only */
		rc = famfs_fs_open(dev, &fo, &fs);
	}
	if (rc) {
		gw_mount_log(FAMFS_MSG_ERR, "%s: cannot open famfs: %s", dev, strerror(-rc));
		return GW_EXIT_FAIL;
	}
	o.device = dev;
	o.mountpoint = mp;
	o.readonly = force_ro || famfs_fs_role(fs) != FAMFS_ROLE_MASTER;
	if (famfs_fs_role(fs) != FAMFS_ROLE_MASTER && !force_ro)
		gw_mount_log(FAMFS_MSG_NOTICE,
			     "%s: this host is not the famfs master: the mount is read-only", dev);
	o.on_ready = mount_on_ready;
	o.ready_arg = &ready;
	o.log = gw_mount_log;
	o.devno_of = mount_devno;

	{
		char dir[PATH_MAX];
		int r;

		gw_run_dir(dir, sizeof(dir));
		r = gw_run_dir_make(dir);
		if (r) {
			gw_mount_log(FAMFS_MSG_WARNING,
				     "run directory %s: %s; no pid file, so umount will not wait "
				     "for this daemon",
				     dir, gw_run_dir_strerror(r));
			pidf[0] = '\0';
		}
	}
	if (pidf[0] && (f = fopen(pidf, "we"))) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	rc = fm_serve(fs, &o);
	if (pidf[0])
		unlink(pidf);
	famfs_fs_close(fs);
	if (mlog.file)
		fclose(mlog.file);
	return rc ? GW_EXIT_FAIL : GW_EXIT_OK;
}

/* 1 when @mp is a famfs FUSE mount, 0 when it is something else, -ENOENT not a mount. */
static int is_famfs_mount(const char *mp)
{
	char type[256];
	int rc = gw_mountinfo_find(mp, NULL, 0, type, sizeof(type));

	if (rc <= 0)
		return rc ? rc : -ENOENT;
	return strcmp(type, "fuse.famfs") == 0;
}

int cmd_umount(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"timeout", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	char mp[PATH_MAX], pidf[PATH_MAX];
	double timeout = 10.0, waited = 0;
	pid_t pid = 0;
	char *end;
	int c, rc;
	FILE *f;

	(void)ctx;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || !(timeout >= 0 && timeout <= 3600)) {
				gw_error("umount", "--timeout '%s': give 0 to 3600 seconds",
					 optarg);
				return GW_EXIT_USAGE;
			}
			break;
		default:
			return gw_usage("umount", true);
		}
	}
	if (argc - optind != 1)
		return gw_usage("umount", true);
	if (!realpath(argv[optind], mp)) {
		gw_error("umount", "%s: %s", argv[optind], strerror(errno));
		return GW_EXIT_FAIL;
	}
	rc = is_famfs_mount(mp);
	if (rc <= 0) {
		gw_error("umount", "%s: %s", mp, rc == 0 ? "not a famfs mount" : "not mounted");
		return GW_EXIT_FAIL;
	}
	if (mount_pid_path(mp, pidf, sizeof(pidf)) == 0 && (f = fopen(pidf, "r"))) {
		int p;

		if (fscanf(f, "%d", &p) == 1 && p > 0)
			pid = p;
		fclose(f);
	}
	if (geteuid() == 0) {
		if (umount2(mp, 0)) {
			gw_error("umount", "%s: %s", mp,
				 errno == EBUSY ? "busy (files are open or a process is inside)"
						: strerror(errno));
			return GW_EXIT_FAIL;
		}
	} else {
		pid_t k = fork();
		int status;

		if (k == 0) {
			execlp("fusermount3", "fusermount3", "-u", mp, (char *)NULL);
			_exit(127);
		}
		if (k < 0 || waitpid(k, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			gw_error("umount", "%s: fusermount3 -u failed", mp);
			return GW_EXIT_FAIL;
		}
	}
	/* The daemon sees the end of its session and exits; wait for it. */
	while (pid && gw_pid_alive(pid) && waited < timeout) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
		waited += 0.02;
	}
	if (pid && gw_pid_alive(pid)) {
		gw_error("umount", "%s: unmounted, but daemon %d is still running", mp, (int)pid);
		return GW_EXIT_FAIL;
	}
	return GW_EXIT_OK;
}

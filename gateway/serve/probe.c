// SPDX-License-Identifier: Apache-2.0
/**
 * @file probe.c
 * @brief Probes of this host and of famfs devices for serve and status (see probe.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gw.h"
#include "config.h"
#include "probe.h"

/** Ganesha 4.3 must register NFSv3 and MOUNT with rpcbind, or it exits. */
bool rpcbind_running(void)
{
	struct sockaddr_un su = {.sun_family = AF_UNIX, .sun_path = "/run/rpcbind.sock"};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up = false;

	if (fd >= 0) {
		up = connect(fd, (struct sockaddr *)&su, sizeof(su)) == 0;
		close(fd);
	}
	return up || tcp_probe("127.0.0.1", 111) == 0;
}

bool file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *default_run_dir(void)
{
	char buf[PATH_MAX];

	gw_run_dir(buf, sizeof(buf));
	return xstrdup(buf);
}

/** 0 when something accepts TCP connections on addr:port. */
int tcp_probe(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd, rc;

	if (!addr || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    sa.sin_addr.s_addr == htonl(INADDR_ANY))
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(fd);
	return rc;
}

/** 0 when addr:port can be bound for listening (TIME_WAIT leftovers do not count). */
int port_free(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd, rc = 0;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		rc = -errno;
	close(fd);
	if (!rc && tcp_probe(addr, port) == 0) /* someone on 0.0.0.0 or the other way round */
		rc = -EADDRINUSE;
	return rc;
}

/** The pid runs a program whose name contains @p what (guards against pid reuse). */
bool pid_runs(pid_t pid, const char *what)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;

	if (!gw_pid_alive(pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* no /proc: trust kill() */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false; /* a zombie */
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

/** Established TCP connections whose local port is @p port (/proc/net/tcp and tcp6). */
int count_clients(int port)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	int count = 0;

	for (size_t f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "re");
		char line[512];

		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			char local[128], remote[128];
			unsigned int st, lport;
			char *colon;

			if (sscanf(line, " %*d: %127s %127s %x", local, remote, &st) != 3)
				continue;
			colon = strrchr(local, ':');
			if (!colon || sscanf(colon + 1, "%x", &lport) != 1)
				continue;
			if (st == 0x01 && (int)lport == port)
				count++;
		}
		fclose(fp);
	}
	return count;
}

const char *find_ganesha(void)
{
	static char found[PATH_MAX];
	const char *env = getenv("FAMFS_GW_GANESHA");
	const char *path = getenv("PATH");
	char *dup, *save = NULL;

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	dup = xasprintf("%s:/usr/bin:/usr/sbin", path && *path ? path : "/bin");
	for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(found, sizeof(found), "%s/ganesha.nfsd", *d ? d : ".");
		if (access(found, X_OK) == 0) {
			free(dup);
			return found;
		}
	}
	free(dup);
	return NULL;
}

/**
 * What serve and status tell of an open famfs: whether this host is its master (by the
 * system UUIDs: the device is open read-only, so famfs_fs_role() says client) and the
 * log position.
 */
void probe_fs(const struct famfs_fs *fs, bool *master, uint64_t *log_next, uint64_t *generation)
{
	*master =
	    memcmp(famfs_fs_system_uuid(fs), famfs_fs_sb(fs)->sb_system_uuid, FAMFS_UUID_LEN) == 0;
	*log_next = famfs_fs_log(fs)->lh_next_index;
	*generation = famfs_fs_generation(fs);
}

/**
 * Open the export's famfs read-only: is it a famfs, does the path exist, is this host
 * the master? Prints one line per export.
 */
int check_device(struct serve_cfg *c, struct export_def *e)
{
	struct famfs_fs_opts o = {.readonly = true, .dev_offset = e->offset};
	struct famfs_inode *ino;
	struct famfs_fs *fs;
	char me[37], master[37], abs[PATH_MAX];
	int rc;

	o.system_uuid = e->system_uuid ? e->system_uuid : c->system_uuid;
	if (!file_exists(e->device)) {
		gw_error(SERVE, "%s: %s", e->device, strerror(errno));
		return GW_EXIT_FAIL;
	}
	if (!realpath(e->device, abs)) {
		gw_error(SERVE, "%s: %s", e->device, strerror(errno));
		return GW_EXIT_FAIL;
	}
	e->device_abs = xstrdup(abs);
	rc = famfs_fs_open(e->device_abs, &o, &fs);
	if (rc) {
		gw_error(SERVE, "%s: not a usable famfs: %s", e->device, strerror(-rc));
		return GW_EXIT_FAIL;
	}
	rc = famfs_fs_resolve(fs, gw_relpath(e->path), &ino);
	if (rc || !S_ISDIR(ino->mode)) {
		gw_error(SERVE, "%s: export path '%s' %s in the famfs", e->device, e->path,
			 rc ? "does not exist" : "is not a directory");
		famfs_fs_close(fs);
		return GW_EXIT_FAIL;
	}
	probe_fs(fs, &e->master, &e->log_next, &e->generation);
	famfs_uuid_format(famfs_fs_system_uuid(fs), me);
	famfs_uuid_format(famfs_fs_sb(fs)->sb_system_uuid, master);
	e->checked = true;
	famfs_fs_close(fs);
	printf("famfs-gw: export %s: %s%s%s -> %s\n", e->pseudo, e->device_abs,
	       strcmp(e->path, "/") ? " directory " : "", strcmp(e->path, "/") ? e->path : "",
	       e->master
		   ? (e->ro ? "master, exported read-only as configured" : "master: read-write")
		   : "not the master: read-only");
	if (!e->master)
		printf("famfs-gw:   this host (%s) is a client; the master is %s. "
		       "NFS clients get a read-only export.\n",
		       me, master);
	return 0;
}

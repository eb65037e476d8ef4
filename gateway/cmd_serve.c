/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file cmd_serve.c
 * @brief famfs-gw serve and status: run nfs-ganesha with the FAMFS FSAL, and report on it.
 *
 * serve gathers exports from one of three sources: a gateway config (--config GW.CONF,
 * format in config/famfs-gw.conf), a ganesha.conf used as is (--ganesha-conf FILE), or
 * the command line (-d DEV [--path P] [--pseudo P] [--read-only]). It checks every famfs
 * device (and says whether this host is the master, i.e. serves read-write, or a client
 * that serves read-only), that the ports are free and that ganesha.nfsd exists, renders
 * <run>/ganesha.conf (with a Plugins_Dir of symlinks, so that the stock FSALs stay
 * loadable), and starts "ganesha.nfsd -F" as its child. Once the NFS port accepts TCP
 * connections it writes <run>/serve.json and supervises: SIGTERM/SIGINT are forwarded to
 * ganesha, SIGHUP too (ganesha reloads its exports), and serve exits with ganesha's status.
 *
 * status reads <run>/serve.json, checks that the processes live and the port answers,
 * and shows each export's device, role and log position, and the NFS clients connected.
 * Exit status: 0 running, 3 not running (1 for other errors, 2 usage).
 */
#define _GNU_SOURCE /* vasprintf, pipe2, strsignal */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gw.h"
#include "json.h"

#define SERVE		    "serve"
#define STATUS		    "status"
#define GW_EXIT_NOT_RUNNING 3

#define MAX_EXPORTS	  64
#define DEFAULT_PORT	  2049
#define DEFAULT_PSEUDO	  "/famfs"
#define DEFAULT_BIND	  "127.0.0.1"
#define DEFAULT_FOLLOW_MS 1000
#define MIN_FOLLOW_MS	  50 /* what the FSAL's Log_Follow_Interval_Ms accepts */
#define MAX_FOLLOW_MS	  60000
#define START_TIMEOUT_MS  20000
#define STOP_TIMEOUT_MS	  15000
#define DEBIAN_FSAL_DIR	  "/usr/lib/x86_64-linux-gnu/ganesha"
#define FAMFS_PLUGIN	  "libfsalfamfs.so"
#define TAIL_LINES	  25

struct export_def {
	char name[64];
	char *device;	   /* as given */
	char *device_abs;  /* absolute, for ganesha.conf */
	char *path;	   /* directory inside famfs ("/" = all) */
	char *pseudo;	   /* NFSv4 pseudo path (also the v3 mount path) */
	char *fsal;	   /* FSAL name; "FAMFS" unless read from a ganesha.conf */
	char *system_uuid; /* System_UUID for the FSAL block, or NULL */
	bool ro;	   /* Access_Type = RO asked for */
	uint64_t offset;   /* Device_Offset */
	unsigned int id;   /* Export_Id */
	int line;	   /* where it was defined (config files) */
	/* what the device check found */
	bool checked;
	bool master;
	uint64_t log_next;
	uint64_t generation;
};

struct serve_cfg {
	int port;
	int mnt_port;	    /* 0: ganesha picks one (and registers it with rpcbind) */
	char protocols[16]; /* "3, 4" or "4" or "3" */
	bool protocols_set; /* given by the user (else chosen by rpcbind's presence) */
	time_t started;
	char bind[64];
	char *run_dir;
	unsigned int follow_ms;
	char *system_uuid;
	char *plugin_dir;
	char *ganesha_conf; /* the file ganesha reads */
	const char *source; /* "command line", GW.CONF or the ganesha.conf */
	bool as_is;	    /* --ganesha-conf */
	bool background;
	bool dry_run;
	struct export_def ex[MAX_EXPORTS];
	size_t nex;
};

/* ------------------------------------------------------------------ small helpers */

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p) {
		gw_error(SERVE, "out of memory");
		exit(GW_EXIT_FAIL);
	}
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		gw_error(SERVE, "out of memory");
		exit(GW_EXIT_FAIL);
	}
	return p;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_port(const char *s, int *port)
{
	unsigned long v;

	if (parse_uint(s, 65534, &v) || v == 0)
		return -EINVAL;
	*port = (int)v;
	return 0;
}

static bool valid_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/** "3,4", "4", "3" (any spacing, either order) into ganesha's "3, 4" form. */
static int parse_protocols(const char *s, char out[16])
{
	bool v3 = false, v4 = false;

	for (; *s; s++) {
		if (*s == '3' && !v3)
			v3 = true;
		else if (*s == '4' && !v4)
			v4 = true;
		else if (*s != ',' && !isspace((unsigned char)*s))
			return -EINVAL;
	}
	if (!v3 && !v4)
		return -EINVAL;
	snprintf(out, 16, "%s", v3 && v4 ? "3, 4" : v3 ? "3" : "4");
	return 0;
}

static int tcp_probe(const char *addr, int port);

/** Ganesha 4.3 must register NFSv3 and MOUNT with rpcbind, or it exits. */
static bool rpcbind_running(void)
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

static bool file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *default_run_dir(void)
{
	char buf[PATH_MAX];

	gw_run_dir(buf, sizeof(buf));
	return xstrdup(buf);
}

/** Print the last @p nlines lines of @p path to stderr, each indented. */
static void print_tail(const char *path, int nlines)
{
	char buf[16384];
	ssize_t n;
	off_t size, start;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *p;
	int seen = 0;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	start = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(fd, buf, sizeof(buf) - 1, start);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = buf + n;
	if (p > buf && p[-1] == '\n')
		p--;
	while (p > buf) {
		if (p[-1] == '\n' && ++seen >= nlines)
			break;
		p--;
	}
	fprintf(stderr, "---- last lines of %s ----\n", path);
	for (char *line = p; *line;) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);

		fprintf(stderr, "  %.*s\n", (int)l, line);
		line += l + (nl ? 1 : 0);
	}
	fprintf(stderr, "----\n");
}

/** 0 when something accepts TCP connections on addr:port. */
static int tcp_probe(const char *addr, int port)
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
static int port_free(const char *addr, int port)
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
static bool pid_runs(pid_t pid, const char *what)
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
static int count_clients(int port)
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

static const char *find_ganesha(void)
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

/* ------------------------------------------------------------------ gateway config */

static int conf_err(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int conf_err(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "famfs-gw: %s: %s:", SERVE, file);
	if (line > 0)
		fprintf(stderr, "%d:", line);
	fputc(' ', stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return GW_EXIT_USAGE;
}

static const char *const global_keys[] = {"port",	 "bind",       "run_dir",   "log_follow_ms",
					  "system_uuid", "plugin_dir", "protocols", NULL};
static const char *const export_keys[] = {"device",	   "path",	  "pseudo", "access",
					  "device_offset", "system_uuid", NULL};

static bool in_list(const char *const *list, const char *k)
{
	for (; *list; list++)
		if (!strcmp(*list, k))
			return true;
	return false;
}

static int conf_global(struct serve_cfg *c, const char *file, int ln, const char *k, const char *v)
{
	uint8_t uuid[FAMFS_UUID_LEN];
	unsigned long u;

	if (!strcmp(k, "port")) {
		if (parse_port(v, &c->port))
			return conf_err(file, ln, "port '%s' is not a number from 1 to 65534", v);
	} else if (!strcmp(k, "bind")) {
		if (!valid_ipv4(v) || strlen(v) >= sizeof(c->bind))
			return conf_err(file, ln, "bind '%s' is not an IPv4 address", v);
		snprintf(c->bind, sizeof(c->bind), "%s", v);
	} else if (!strcmp(k, "run_dir")) {
		c->run_dir = xstrdup(v);
	} else if (!strcmp(k, "log_follow_ms")) {
		if (parse_uint(v, MAX_FOLLOW_MS, &u) || u < MIN_FOLLOW_MS)
			return conf_err(file, ln,
					"log_follow_ms '%s' is not a number of milliseconds "
					"from %d to %d",
					v, MIN_FOLLOW_MS, MAX_FOLLOW_MS);
		c->follow_ms = (unsigned int)u;
	} else if (!strcmp(k, "system_uuid")) {
		if (famfs_uuid_parse(v, uuid))
			return conf_err(file, ln,
					"system_uuid '%s' is not a UUID "
					"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
					v);
		c->system_uuid = xstrdup(v);
	} else if (!strcmp(k, "plugin_dir")) {
		c->plugin_dir = xstrdup(v);
	} else if (!strcmp(k, "protocols")) {
		if (parse_protocols(v, c->protocols))
			return conf_err(file, ln, "protocols '%s' must be 3, 4 or 3,4", v);
		c->protocols_set = true;
	}
	return 0;
}

static int conf_export(struct export_def *e, const char *file, int ln, const char *k, const char *v)
{
	uint8_t uuid[FAMFS_UUID_LEN];

	if (!strcmp(k, "device")) {
		e->device = xstrdup(v);
	} else if (!strcmp(k, "path") || !strcmp(k, "pseudo")) {
		if (v[0] != '/')
			return conf_err(file, ln, "%s '%s' must start with '/'", k, v);
		if (strchr(v, '"'))
			return conf_err(file, ln, "%s '%s' must not contain '\"'", k, v);
		if (!strcmp(k, "path"))
			e->path = xstrdup(v);
		else
			e->pseudo = xstrdup(v);
	} else if (!strcmp(k, "access")) {
		if (!strcasecmp(v, "rw"))
			e->ro = false;
		else if (!strcasecmp(v, "ro"))
			e->ro = true;
		else
			return conf_err(file, ln, "access '%s' must be rw or ro", v);
	} else if (!strcmp(k, "device_offset")) {
		if (gw_parse_size(v, &e->offset))
			return conf_err(file, ln, "device_offset '%s' is not a size", v);
	} else if (!strcmp(k, "system_uuid")) {
		if (famfs_uuid_parse(v, uuid))
			return conf_err(file, ln, "system_uuid '%s' is not a UUID", v);
		e->system_uuid = xstrdup(v);
	}
	return 0;
}

/** Read a gateway config (format: config/famfs-gw.conf). 0 or GW_EXIT_USAGE. */
static int conf_load(struct serve_cfg *c, const char *file)
{
	struct export_def *cur = NULL;
	char line[4096];
	int ln = 0, rc;
	FILE *f = fopen(file, "re");

	if (!f) {
		gw_error(SERVE, "%s: %s", file, strerror(errno));
		return GW_EXIT_USAGE;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *k, *v;

		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			fclose(f);
			return conf_err(file, ln, "line too long");
		}
		s = line;
		for (char *h = s; (h = strchr(h, '#')); h++) {
			if (h == s || isspace((unsigned char)h[-1])) {
				*h = '\0';
				break;
			}
		}
		s = trim(s);
		if (!*s)
			continue;
		if (*s == '[') {
			char name[64];
			size_t len = strlen(s);

			if (s[len - 1] != ']') {
				fclose(f);
				return conf_err(file, ln, "section header '%s' has no closing ']'",
						s);
			}
			s[len - 1] = '\0';
			s = trim(s + 1);
			if (strncmp(s, "export", 6) || !isspace((unsigned char)s[6])) {
				fclose(f);
				return conf_err(
				    file, ln, "unknown section '[%s]' (expected [export NAME])", s);
			}
			if (strlen(trim(s + 6)) >= sizeof(name)) {
				fclose(f);
				return conf_err(file, ln, "export name longer than %zu characters",
						sizeof(name) - 1);
			}
			snprintf(name, sizeof(name), "%s", trim(s + 6));
			for (char *p = name; *p; p++) {
				if (!isalnum((unsigned char)*p) && !strchr("_.-", *p)) {
					fclose(f);
					return conf_err(file, ln,
							"export name '%s': use letters, "
							"digits, '_', '.' and '-'",
							name);
				}
			}
			if (!*name || strlen(name) >= sizeof(cur->name)) {
				fclose(f);
				return conf_err(file, ln,
						"an export needs a name of 1 to 63 "
						"characters: [export NAME]");
			}
			for (size_t i = 0; i < c->nex; i++) {
				if (!strcmp(c->ex[i].name, name)) {
					fclose(f);
					return conf_err(file, ln,
							"export '%s' is defined twice "
							"(first on line %d)",
							name, c->ex[i].line);
				}
			}
			if (c->nex >= MAX_EXPORTS) {
				fclose(f);
				return conf_err(file, ln, "more than %d exports", MAX_EXPORTS);
			}
			cur = &c->ex[c->nex++];
			memset(cur, 0, sizeof(*cur));
			snprintf(cur->name, sizeof(cur->name), "%s", name);
			cur->line = ln;
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			fclose(f);
			return conf_err(file, ln,
					"expected 'key = value' or '[export NAME]', got '%s'", s);
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		if (!*k) {
			fclose(f);
			return conf_err(file, ln, "a setting without a name");
		}
		for (char *p = k; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[strlen(v) - 1] == v[0]) {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		if (!in_list(global_keys, k) && !in_list(export_keys, k)) {
			fclose(f);
			return conf_err(
			    file, ln,
			    "unknown setting '%s' (global: port, bind, run_dir, "
			    "log_follow_ms, system_uuid, plugin_dir, protocols; in [export NAME]: "
			    "device, path, pseudo, access, device_offset, system_uuid)",
			    k);
		}
		if (!*v) {
			fclose(f);
			return conf_err(file, ln, "'%s' has no value", k);
		}
		if (cur && !in_list(export_keys, k)) {
			fclose(f);
			return conf_err(file, ln,
					"'%s' is a global setting: put it before the "
					"first [export NAME] section",
					k);
		}
		if (!cur && !in_list(global_keys, k)) {
			fclose(f);
			return conf_err(file, ln, "'%s' belongs in an [export NAME] section", k);
		}
		rc = cur ? conf_export(cur, file, ln, k, v) : conf_global(c, file, ln, k, v);
		if (rc) {
			fclose(f);
			return rc;
		}
	}
	fclose(f);
	if (c->nex == 0)
		return conf_err(file, 0, "no [export NAME] section: nothing to serve");
	for (size_t i = 0; i < c->nex; i++) {
		struct export_def *e = &c->ex[i];

		if (!e->device)
			return conf_err(file, e->line, "export '%s' has no device", e->name);
		if (!e->path)
			e->path = xstrdup("/");
		if (!e->pseudo)
			e->pseudo = c->nex == 1 ? xstrdup(DEFAULT_PSEUDO)
						: xasprintf("%s/%s", DEFAULT_PSEUDO, e->name);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(c->ex[j].pseudo, e->pseudo))
				return conf_err(file, e->line,
						"export '%s' has the same pseudo path "
						"'%s' as export '%s'",
						e->name, e->pseudo, c->ex[j].name);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ ganesha.conf scan */

/*
 * Just enough of ganesha's config syntax to find what serve must check and report:
 * NFS_CORE_PARAM { NFS_Port; Bind_addr; Plugins_Dir; } and each EXPORT's Export_Id, Path,
 * Pseudo, Access_Type and FSAL { Name; Device; System_UUID; Device_Offset; }.
 */
struct gscan {
	const char *p;
	int line;
	char tok[1024];
	bool str;
};

/** Next token into s->tok: a word, a string, or one of { } = ; , ; "" at the end. */
static int gs_next(struct gscan *s)
{
	size_t n = 0;

	s->str = false;
	for (;;) {
		while (isspace((unsigned char)*s->p)) {
			if (*s->p == '\n')
				s->line++;
			s->p++;
		}
		if (*s->p != '#')
			break;
		while (*s->p && *s->p != '\n')
			s->p++;
	}
	if (!*s->p) {
		s->tok[0] = '\0';
		return 0;
	}
	if (strchr("{}=;,", *s->p)) {
		s->tok[0] = *s->p++;
		s->tok[1] = '\0';
		return 1;
	}
	if (*s->p == '"' || *s->p == '\'') {
		char q = *s->p++;

		while (*s->p && *s->p != q) {
			if (*s->p == '\\' && s->p[1])
				s->p++;
			if (*s->p == '\n')
				s->line++;
			if (n + 1 < sizeof(s->tok))
				s->tok[n++] = *s->p;
			s->p++;
		}
		if (*s->p)
			s->p++;
		s->tok[n] = '\0';
		s->str = true;
		return 1;
	}
	while (*s->p && !isspace((unsigned char)*s->p) && !strchr("{}=;,#\"'", *s->p)) {
		if (n + 1 < sizeof(s->tok))
			s->tok[n++] = *s->p;
		s->p++;
	}
	s->tok[n] = '\0';
	return 1;
}

static int gs_block(struct gscan *s, struct serve_cfg *c, const char *file, char *blocks[4],
		    int depth, struct export_def *e)
{
	char key[128];

	while (gs_next(s)) {
		if (!strcmp(s->tok, "}"))
			return depth > 0 ? 0 : conf_err(file, s->line, "unbalanced '}'");
		if (strchr("{=;,", s->tok[0]) && !s->str)
			return conf_err(file, s->line, "unexpected '%s'", s->tok);
		snprintf(key, sizeof(key), "%.127s", s->tok);
		if (key[0] == '%') { /* %include and friends: skip the line */
			while (*s->p && *s->p != '\n')
				s->p++;
			continue;
		}
		if (!gs_next(s))
			return conf_err(file, s->line, "'%s' ends the file", key);
		if (!strcmp(s->tok, "{")) {
			struct export_def *sub = e;
			int rc;

			if (depth >= 3)
				return conf_err(file, s->line, "blocks nested too deep");
			if (depth == 0 && !strcasecmp(key, "EXPORT")) {
				if (c->nex >= MAX_EXPORTS)
					return conf_err(file, s->line, "more than %d exports",
							MAX_EXPORTS);
				sub = &c->ex[c->nex++];
				memset(sub, 0, sizeof(*sub));
				sub->line = s->line;
				snprintf(sub->name, sizeof(sub->name), "export%zu", c->nex);
			}
			blocks[depth] = key;
			rc = gs_block(s, c, file, blocks, depth + 1, sub);
			if (rc)
				return rc;
			continue;
		}
		if (strcmp(s->tok, "="))
			return conf_err(file, s->line, "expected '=' or '{' after '%s'", key);
		/* the value: first token kept, the rest up to ';' skipped */
		if (!gs_next(s))
			return conf_err(file, s->line, "'%s' has no value", key);
		{
			char val[1024];

			char list[256];

			snprintf(val, sizeof(val), "%s", s->tok);
			snprintf(list, sizeof(list), "%.255s", s->tok);
			while (gs_next(s) && strcmp(s->tok, ";")) {
				if (!strcmp(s->tok, "}")) {
					s->p--; /* let the caller see it */
					break;
				}
				if (strlen(list) + strlen(s->tok) + 1 < sizeof(list))
					strcat(list, s->tok);
			}
			if (depth == 1 && !strcasecmp(blocks[0], "NFS_CORE_PARAM")) {
				if (!strcasecmp(key, "NFS_Port") && parse_port(val, &c->port))
					return conf_err(file, s->line,
							"NFS_Port '%s' is not a port", val);
				if (!strcasecmp(key, "MNT_Port") && strcmp(val, "0") &&
				    parse_port(val, &c->mnt_port))
					return conf_err(file, s->line,
							"MNT_Port '%s' is not a port", val);
				if (!strcasecmp(key, "Protocols") ||
				    !strcasecmp(key, "NFS_Protocols")) {
					char *v3 = strchr(list, '3');

					/* only whether NFSv3 (which needs rpcbind) is on matters */
					snprintf(c->protocols, sizeof(c->protocols), "%s",
						 v3 ? "3, 4" : "4");
					c->protocols_set = true;
				}
				if (!strcasecmp(key, "Bind_addr")) {
					if (!valid_ipv4(val))
						return conf_err(file, s->line,
								"Bind_addr '%s' is "
								"not an IPv4 address",
								val);
					snprintf(c->bind, sizeof(c->bind), "%.63s", val);
				}
				if (!strcasecmp(key, "Plugins_Dir"))
					c->plugin_dir = xstrdup(val);
			} else if (depth == 1 && e && !strcasecmp(blocks[0], "EXPORT")) {
				unsigned long u;

				if (!strcasecmp(key, "Export_Id") && !parse_uint(val, 65535, &u))
					e->id = (unsigned int)u;
				else if (!strcasecmp(key, "Path"))
					e->path = xstrdup(val);
				else if (!strcasecmp(key, "Pseudo"))
					e->pseudo = xstrdup(val);
				else if (!strcasecmp(key, "Access_Type"))
					e->ro = strcasecmp(val, "RW") != 0;
			} else if (depth == 2 && e && !strcasecmp(blocks[0], "EXPORT") &&
				   !strcasecmp(blocks[1], "FSAL")) {
				if (!strcasecmp(key, "Name"))
					e->fsal = xstrdup(val);
				else if (!strcasecmp(key, "Device"))
					e->device = xstrdup(val);
				else if (!strcasecmp(key, "System_UUID"))
					e->system_uuid = xstrdup(val);
				else if (!strcasecmp(key, "Device_Offset") &&
					 gw_parse_size(val, &e->offset))
					return conf_err(file, s->line,
							"Device_Offset '%s' is not a "
							"size",
							val);
			} else if (depth == 1 && !strcasecmp(blocks[0], "FAMFS") &&
				   !strcasecmp(key, "Log_Follow_Interval_Ms")) {
				unsigned long u;

				if (!parse_uint(val, 3600000, &u))
					c->follow_ms = (unsigned int)u;
			}
		}
	}
	return depth > 0 ? conf_err(file, s->line, "a block is not closed with '}'") : 0;
}

static int ganesha_conf_scan(struct serve_cfg *c, const char *file)
{
	struct gscan s = {.line = 1};
	char *blocks[4] = {NULL};
	char *text;
	long size;
	FILE *f = fopen(file, "re");
	int rc;

	if (!f) {
		gw_error(SERVE, "%s: %s", file, strerror(errno));
		return GW_EXIT_USAGE;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		gw_error(SERVE, "%s: cannot read: %s", file, strerror(errno));
		fclose(f);
		return GW_EXIT_FAIL;
	}
	text = calloc(1, (size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		gw_error(SERVE, "%s: cannot read it", file);
		free(text);
		fclose(f);
		return GW_EXIT_FAIL;
	}
	fclose(f);
	s.p = text;
	rc = gs_block(&s, c, file, blocks, 0, NULL);
	free(text);
	if (rc)
		return rc;
	if (c->nex == 0)
		return conf_err(file, 0, "no EXPORT block: nothing to serve");
	for (size_t i = 0; i < c->nex; i++) {
		struct export_def *e = &c->ex[i];

		if (!e->fsal)
			return conf_err(file, e->line, "EXPORT has no FSAL { Name = ...; } block");
		if (!e->pseudo)
			e->pseudo = xstrdup(e->path ? e->path : "/");
		if (!e->path)
			e->path = xstrdup("/");
		if (!strcasecmp(e->fsal, "FAMFS") && !e->device)
			return conf_err(file, e->line, "FAMFS export '%s' has no Device",
					e->pseudo);
	}
	return 0;
}

/* ------------------------------------------------------------------ checks */

static bool is_famfs(const struct export_def *e)
{
	return e->fsal && !strcasecmp(e->fsal, "FAMFS");
}

/**
 * What serve and status tell of an open famfs: whether this host is its master (by the
 * system UUIDs: the device is open read-only, so famfs_fs_role() says client) and the
 * log position.
 */
static void probe_fs(const struct famfs_fs *fs, bool *master, uint64_t *log_next,
		     uint64_t *generation)
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
static int check_device(struct serve_cfg *c, struct export_def *e)
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

static int check_fsal_plugin(const char *dir, const char *fsal)
{
	char lower[64], *p;

	snprintf(lower, sizeof(lower), "%s", fsal);
	for (p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!strcmp(lower, "pseudo") || !strcmp(lower, "mdcache"))
		return 0; /* built into ganesha */
	p = xasprintf("%s/libfsal%s.so", dir, lower);
	if (!file_exists(p)) {
		gw_error(SERVE, "FSAL %s: %s not found%s", fsal, p,
			 strcmp(lower, "famfs") ? ""
						: " (build the target fsalfamfs, or give "
						  "--plugin-dir or FAMFS_GW_PLUGIN_DIR)");
		free(p);
		return GW_EXIT_FAIL;
	}
	free(p);
	return 0;
}

/** Where libfsalfamfs.so comes from (see the serve usage). */
static char *find_plugin_dir(const struct serve_cfg *c)
{
	const char *env = getenv("FAMFS_GW_PLUGIN_DIR");
	char exe[PATH_MAX], cand[PATH_MAX + 32], real[PATH_MAX];
	ssize_t n;

	if (c->plugin_dir)
		return xstrdup(c->plugin_dir);
	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%s/../fsal_famfs/" FAMFS_PLUGIN, exe);
			if (file_exists(cand) && realpath(cand, real)) {
				*strrchr(real, '/') = '\0';
				return xstrdup(real);
			}
		}
	}
	return xstrdup(DEBIAN_FSAL_DIR);
}

/** <run>/libfsal*.so: libfsalfamfs.so from @p plugin_dir plus Debian's stock FSALs. */
static int link_plugins(const char *run, const char *plugin_dir)
{
	static const char *const stock[] = {"vfs",     "mem",	"null",	    "proxy_v4", "proxy_v3",
					    "gluster", "ceph",	"rgw",	    "xfs",	"lustre",
					    "gpfs",    "kvsfs", "lizardfs", "saunafs",	NULL};
	char src[PATH_MAX + 64], dst[PATH_MAX + 64], real[PATH_MAX];

	snprintf(src, sizeof(src), "%s/" FAMFS_PLUGIN, plugin_dir);
	if (!realpath(src, real)) {
		gw_error(SERVE,
			 "FSAL plugin %s: %s (build the target fsalfamfs, or give "
			 "--plugin-dir or FAMFS_GW_PLUGIN_DIR)",
			 src, strerror(errno));
		return GW_EXIT_FAIL;
	}
	snprintf(dst, sizeof(dst), "%s/" FAMFS_PLUGIN, run);
	unlink(dst);
	if (symlink(real, dst)) {
		gw_error(SERVE, "%s: %s", dst, strerror(errno));
		return GW_EXIT_FAIL;
	}
	for (size_t i = 0; stock[i]; i++) {
		snprintf(src, sizeof(src), "%s/libfsal%s.so", DEBIAN_FSAL_DIR, stock[i]);
		snprintf(dst, sizeof(dst), "%s/libfsal%s.so", run, stock[i]);
		unlink(dst);
		if (file_exists(src) && symlink(src, dst)) {
			gw_error(SERVE, "%s: %s", dst, strerror(errno));
			return GW_EXIT_FAIL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ rendering */

static int render_conf(const struct serve_cfg *c, const char *out)
{
	char tmp[PATH_MAX + 8];
	time_t now = time(NULL);
	char when[64];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	f = fopen(tmp, "we");
	if (!f) {
		gw_error(SERVE, "%s: %s", tmp, strerror(errno));
		return GW_EXIT_FAIL;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", localtime(&now));
	fprintf(f,
		"# Written by 'famfs-gw serve' from %s on %s.\n"
		"# It is rewritten at every start: change the source instead.\n\n",
		c->source, when);
	fprintf(f,
		"NFS_CORE_PARAM {\n"
		"\tProtocols = %s;\n"
		"\tNFS_Port = %d;\n"
		"\tMNT_Port = %d;\n"
		"\tBind_addr = %s;\n"
		"\tEnable_NLM = false;\n"
		"\tEnable_RQUOTA = false;\n"
		"\tEnable_UDP = false;\n"
		"\t# NFSv3 clients mount the same path as NFSv4 ones: the Pseudo path.\n"
		"\tMount_Path_Pseudo = true;\n"
		"\tPlugins_Dir = \"%s\";\n"
		"}\n\n",
		c->protocols, c->port, c->mnt_port, c->bind, c->run_dir);
	fprintf(f, "NFSV4 {\n\tGraceless = true;\n\tOnly_Numeric_Owners = true;\n}\n\n");
	fprintf(f, "FAMFS {\n\tLog_Follow_Interval_Ms = %u;\n}\n", c->follow_ms);
	for (size_t i = 0; i < c->nex; i++) {
		const struct export_def *e = &c->ex[i];
		const char *uuid = e->system_uuid ? e->system_uuid : c->system_uuid;
		bool ro = e->ro || !e->master;

		fprintf(f,
			"\n# export '%s'%s\nEXPORT {\n"
			"\tExport_Id = %u;\n"
			"\tPath = \"%s\";\n"
			"\tPseudo = \"%s\";\n"
			"\tAccess_Type = %s;\n"
			"\tSquash = No_Root_Squash;\n"
			"\tProtocols = %s;\n"
			"\tTransports = TCP;\n"
			"\tSecType = sys;\n"
			"\tFSAL {\n"
			"\t\tName = FAMFS;\n"
			"\t\tDevice = \"%s\";\n",
			e->name,
			!e->ro && !e->master ? " (read-only: this host is not the master)" : "",
			e->id, e->path, e->pseudo, ro ? "RO" : "RW", c->protocols, e->device_abs);
		if (uuid)
			fprintf(f, "\t\tSystem_UUID = \"%s\";\n", uuid);
		if (e->offset)
			fprintf(f, "\t\tDevice_Offset = %" PRIu64 ";\n", e->offset);
		fprintf(f, "\t}\n}\n");
	}
	if (fclose(f) || rename(tmp, out)) {
		gw_error(SERVE, "%s: %s", out, strerror(errno));
		unlink(tmp);
		return GW_EXIT_FAIL;
	}
	return 0;
}

static int write_state(const struct serve_cfg *c, pid_t ganesha, const char *state, int exit_status)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	struct jw w;
	FILE *f;

	snprintf(path, sizeof(path), "%s/serve.json", c->run_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		gw_error(SERVE, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	jw_init(&w, f);
	jw_obj_begin(&w, NULL);
	jw_u64(&w, "version", 1);
	jw_str(&w, "state", state);
	jw_u64(&w, "pid", (uint64_t)getpid());
	jw_u64(&w, "ganesha_pid", (uint64_t)ganesha);
	if (exit_status >= 0)
		jw_u64(&w, "exit_status", (uint64_t)exit_status);
	jw_u64(&w, "port", (uint64_t)c->port);
	if (c->mnt_port)
		jw_u64(&w, "mnt_port", (uint64_t)c->mnt_port);
	jw_str(&w, "protocols", c->protocols);
	jw_str(&w, "bind", c->bind);
	jw_str(&w, "run_dir", c->run_dir);
	jw_str(&w, "ganesha_conf", c->ganesha_conf);
	{
		char *log = xasprintf("%s/ganesha.log", c->run_dir);

		jw_str(&w, "ganesha_log", log);
		free(log);
	}
	jw_str(&w, "source", c->source);
	jw_u64(&w, "started", (uint64_t)c->started);
	jw_arr_begin(&w, "exports");
	for (size_t i = 0; i < c->nex; i++) {
		const struct export_def *e = &c->ex[i];
		const char *uuid = e->system_uuid ? e->system_uuid : c->system_uuid;

		jw_obj_begin(&w, NULL);
		jw_str(&w, "name", e->name);
		jw_u64(&w, "export_id", e->id);
		jw_str(&w, "fsal", e->fsal);
		jw_str(&w, "path", e->path);
		jw_str(&w, "pseudo", e->pseudo);
		jw_str(&w, "access", e->ro || (e->checked && !e->master) ? "ro" : "rw");
		if (is_famfs(e)) {
			jw_str(&w, "device", e->device_abs ? e->device_abs : e->device);
			jw_u64(&w, "device_offset", e->offset);
			if (uuid)
				jw_str(&w, "system_uuid", uuid);
			jw_str(&w, "role", e->master ? "master" : "read-only");
		}
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_finish(&w);
	if (fclose(f) || rename(tmp, path)) {
		gw_error(SERVE, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* ------------------------------------------------------------------ running ganesha */

static volatile sig_atomic_t g_child = -1;
static volatile sig_atomic_t g_stop_sig;

static void on_signal(int sig)
{
	if (sig != SIGHUP)
		g_stop_sig = sig;
	if (g_child > 0)
		kill((pid_t)g_child, sig);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static pid_t start_ganesha(const struct serve_cfg *c, const char *ganesha)
{
	char *log = xasprintf("%s/ganesha.log", c->run_dir);
	char *pidf = xasprintf("%s/ganesha.pid", c->run_dir);
	char *out = xasprintf("%s/ganesha.out", c->run_dir);
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		gw_error(SERVE, "fork: %s", strerror(errno));
	} else if (pid == 0) {
		char *const args[] = {
		    (char *)"ganesha.nfsd", (char *)"-F", (char *)"-L", log, (char *)"-f",
		    c->ganesha_conf,	    (char *)"-p", pidf,		NULL};
		int in = open("/dev/null", O_RDONLY);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		sigset_t none;

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (in >= 0)
			dup2(in, STDIN_FILENO);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (c->system_uuid)
			setenv("FAMFS_SYSTEM_UUID", c->system_uuid, 1);
		execv(ganesha, args);
		fprintf(stderr, "famfs-gw: serve: cannot run %s: %s\n", ganesha, strerror(errno));
		_exit(127);
	}
	free(log);
	free(pidf);
	free(out);
	return pid;
}

static void msleep(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", st);
}

static int exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return GW_EXIT_FAIL;
}

static void show_logs(const struct serve_cfg *c)
{
	char *log = xasprintf("%s/ganesha.log", c->run_dir);
	char *out = xasprintf("%s/ganesha.out", c->run_dir);
	struct stat st;

	print_tail(log, TAIL_LINES);
	if (stat(out, &st) == 0 && st.st_size > 0)
		print_tail(out, TAIL_LINES);
	free(log);
	free(out);
}

/** Stop ganesha (SIGTERM, then SIGKILL) and reap it. */
static void kill_ganesha(pid_t pid)
{
	uint64_t t0 = now_ms();
	int st;

	kill(pid, SIGTERM);
	while (now_ms() - t0 < STOP_TIMEOUT_MS) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		msleep(100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/** Wait until the NFS port answers. 0, or 1 after printing why not. */
static int wait_for_port(const struct serve_cfg *c, pid_t pid, const char *ganesha)
{
	uint64_t t0 = now_ms();
	char why[128];
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid) {
			describe_status(st, why, sizeof(why));
			gw_error(SERVE, "%s exited before it served port %d (%s)", ganesha, c->port,
				 why);
			show_logs(c);
			return GW_EXIT_FAIL;
		}
		if (g_stop_sig) {
			gw_error(SERVE, "stopped by signal %d while ganesha was starting",
				 (int)g_stop_sig);
			kill_ganesha(pid);
			return GW_EXIT_FAIL;
		}
		if (tcp_probe(c->bind, c->port) == 0)
			return 0;
		if (now_ms() - t0 > START_TIMEOUT_MS) {
			gw_error(SERVE,
				 "%s did not accept connections on port %d within %d s; "
				 "stopping it",
				 ganesha, c->port, START_TIMEOUT_MS / 1000);
			kill_ganesha(pid);
			show_logs(c);
			return GW_EXIT_FAIL;
		}
		msleep(100);
	}
}

static void print_reach(const struct serve_cfg *c)
{
	const char *host = strcmp(c->bind, "0.0.0.0") ? c->bind : "127.0.0.1";

	printf("famfs-gw: serving NFS on %s port %d (ganesha log: %s/ganesha.log)\n", c->bind,
	       c->port, c->run_dir);
	for (size_t i = 0; i < c->nex; i++) {
		const struct export_def *e = &c->ex[i];

		printf("  %s (%s%s%s)\n", e->pseudo, is_famfs(e) ? "famfs " : e->fsal,
		       is_famfs(e) ? e->device_abs ? e->device_abs : e->device : "",
		       e->ro || (is_famfs(e) && e->checked && !e->master) ? ", read-only" : "");
		printf("    nfs-ls 'nfs://%s%s?version=4&nfsport=%d'\n", host, e->pseudo, c->port);
		if (strchr(c->protocols, '3') && c->mnt_port)
			printf("    nfs-ls 'nfs://%s%s?version=3&nfsport=%d&mountport=%d'\n", host,
			       e->pseudo, c->port, c->mnt_port);
		printf("    mount -t nfs -o vers=4.1,port=%d %s:%s /mnt\n", c->port, host,
		       e->pseudo);
	}
	fflush(stdout);
}

/** Supervise the running ganesha until it exits. Returns serve's exit status. */
static int supervise(const struct serve_cfg *c, pid_t pid, const char *ganesha)
{
	char why[128];
	int st = 0;

	for (;;) {
		pid_t w = waitpid(pid, &st, 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			gw_error(SERVE, "waitpid: %s", strerror(errno));
			return GW_EXIT_FAIL;
		}
	}
	g_child = -1;
	describe_status(st, why, sizeof(why));
	if (g_stop_sig) {
		write_state(c, pid, "stopped", exit_code(st));
		fprintf(stderr, "famfs-gw: serve: %s stopped on signal %d (%s)\n", ganesha,
			(int)g_stop_sig, why);
		return exit_code(st);
	}
	write_state(c, pid, "died", exit_code(st) ? exit_code(st) : GW_EXIT_FAIL);
	gw_error(SERVE, "%s (pid %d) died unexpectedly: %s", ganesha, (int)pid, why);
	show_logs(c);
	return exit_code(st) ? exit_code(st) : GW_EXIT_FAIL;
}

/** Refuse to start twice in one run directory. */
static int check_not_running(const char *run)
{
	char *pidf = xasprintf("%s/ganesha.pid", run);
	FILE *f = fopen(pidf, "re");
	int pid = 0;

	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	free(pidf);
	if (pid > 0 && pid_runs(pid, "ganesha")) {
		gw_error(SERVE,
			 "a gateway already runs in %s (ganesha.nfsd pid %d); stop it or "
			 "give another --run-dir",
			 run, pid);
		return GW_EXIT_FAIL;
	}
	return 0;
}

/* ------------------------------------------------------------------ serve */

int cmd_serve(int argc, char **argv, struct gw_ctx *ctx)
{
	enum {
		OPT_PATH = 256,
		OPT_PSEUDO,
		OPT_RO,
		OPT_RUNDIR,
		OPT_PLUGIN,
		OPT_FOLLOW,
		OPT_BG,
		OPT_UUID,
		OPT_DRY,
		OPT_PROTO
	};
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"ganesha-conf", required_argument, NULL, 'g'},
	    {"device", required_argument, NULL, 'd'},
	    {"port", required_argument, NULL, 'p'},
	    {"bind", required_argument, NULL, 'b'},
	    {"path", required_argument, NULL, OPT_PATH},
	    {"pseudo", required_argument, NULL, OPT_PSEUDO},
	    {"read-only", no_argument, NULL, OPT_RO},
	    {"run-dir", required_argument, NULL, OPT_RUNDIR},
	    {"plugin-dir", required_argument, NULL, OPT_PLUGIN},
	    {"log-follow-ms", required_argument, NULL, OPT_FOLLOW},
	    {"system-uuid", required_argument, NULL, OPT_UUID},
	    {"background", no_argument, NULL, OPT_BG},
	    {"dry-run", no_argument, NULL, OPT_DRY},
	    {"protocols", required_argument, NULL, OPT_PROTO},
	    {NULL, 0, NULL, 0},
	};
	static struct serve_cfg cfg;
	struct serve_cfg *c = &cfg;
	const char *gw_conf = NULL, *g_conf = NULL, *device = NULL, *path = NULL;
	const char *pseudo = NULL, *bind_opt = NULL, *run_opt = NULL, *plugin_opt = NULL;
	const char *uuid_opt = NULL, *ganesha;
	int port_opt = 0, ch, rc, sync_pipe[2] = {-1, -1};
	long follow_opt = -1;
	char proto_opt[16] = "";
	uint8_t uuid[FAMFS_UUID_LEN];
	bool ro = false, quick_opts = false;
	unsigned long u;
	pid_t pid;

	while ((ch = getopt_long(argc, argv, "c:g:d:p:b:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			gw_conf = optarg;
			break;
		case 'g':
			g_conf = optarg;
			break;
		case 'd':
			device = optarg;
			break;
		case 'p':
			if (parse_port(optarg, &port_opt)) {
				gw_error(SERVE, "--port '%s' is not a number from 1 to 65534",
					 optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'b':
			if (!valid_ipv4(optarg)) {
				gw_error(SERVE, "--bind '%s' is not an IPv4 address", optarg);
				return GW_EXIT_USAGE;
			}
			bind_opt = optarg;
			break;
		case OPT_PATH:
		case OPT_PSEUDO:
			if (optarg[0] != '/' || strchr(optarg, '"')) {
				gw_error(SERVE, "--%s '%s' must start with '/' (and hold no '\"')",
					 ch == OPT_PATH ? "path" : "pseudo", optarg);
				return GW_EXIT_USAGE;
			}
			*(ch == OPT_PATH ? &path : &pseudo) = optarg;
			quick_opts = true;
			break;
		case OPT_RO:
			ro = true;
			quick_opts = true;
			break;
		case OPT_RUNDIR:
			run_opt = optarg;
			break;
		case OPT_PLUGIN:
			plugin_opt = optarg;
			break;
		case OPT_FOLLOW:
			if (parse_uint(optarg, MAX_FOLLOW_MS, &u) || u < MIN_FOLLOW_MS) {
				gw_error(SERVE,
					 "--log-follow-ms '%s' is not a number from %d to %d",
					 optarg, MIN_FOLLOW_MS, MAX_FOLLOW_MS);
				return GW_EXIT_USAGE;
			}
			follow_opt = (long)u;
			break;
		case OPT_UUID:
			uuid_opt = optarg;
			break;
		case OPT_BG:
			c->background = true;
			break;
		case OPT_DRY:
			c->dry_run = true;
			break;
		case OPT_PROTO:
			if (parse_protocols(optarg, proto_opt)) {
				gw_error(SERVE, "--protocols '%s' must be 3, 4 or 3,4", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		default:
			return gw_usage(SERVE, true);
		}
	}
	if (optind < argc) {
		gw_error(SERVE, "unexpected argument '%s'", argv[optind]);
		return gw_usage(SERVE, true);
	}
	if (!uuid_opt)
		uuid_opt = ctx->system_uuid;
	if (uuid_opt && famfs_uuid_parse(uuid_opt, uuid)) {
		gw_error(SERVE, "--system-uuid '%s' is not a UUID", uuid_opt);
		return GW_EXIT_USAGE;
	}
	if (gw_conf && g_conf) {
		gw_error(SERVE, "give either --config or --ganesha-conf, not both");
		return GW_EXIT_USAGE;
	}
	if ((gw_conf || g_conf) && (device || quick_opts)) {
		gw_error(SERVE,
			 "-d/--path/--pseudo/--read-only describe an export on the command "
			 "line; the exports of --%s come from the file",
			 gw_conf ? "config" : "ganesha-conf");
		return GW_EXIT_USAGE;
	}
	if (!device && !gw_conf && !g_conf)
		device = ctx->device;
	if (!device && !gw_conf && !g_conf) {
		gw_error(SERVE, "nothing to serve: give -d DEVICE, --config GW.CONF or "
				"--ganesha-conf FILE");
		return GW_EXIT_USAGE;
	}

	c->port = DEFAULT_PORT;
	snprintf(c->bind, sizeof(c->bind), "%s", DEFAULT_BIND);
	c->follow_ms = DEFAULT_FOLLOW_MS;
	snprintf(c->protocols, sizeof(c->protocols), "3, 4");
	c->started = time(NULL);
	if (gw_conf) {
		c->source = gw_conf;
		rc = conf_load(c, gw_conf);
		if (rc)
			return rc;
	} else if (g_conf) {
		char real[PATH_MAX];

		if (!realpath(g_conf, real)) {
			gw_error(SERVE, "%s: %s", g_conf, strerror(errno));
			return GW_EXIT_USAGE;
		}
		c->source = g_conf;
		c->as_is = true;
		snprintf(c->bind, sizeof(c->bind), "0.0.0.0"); /* ganesha's default */
		rc = ganesha_conf_scan(c, real);
		if (rc)
			return rc;
		c->ganesha_conf = xstrdup(real);
		if (port_opt || bind_opt || follow_opt >= 0 || *proto_opt) {
			gw_error(SERVE, "--port, --bind, --protocols and --log-follow-ms do not "
					"change a "
					"--ganesha-conf file: edit it instead");
			return GW_EXIT_USAGE;
		}
	} else {
		struct export_def *e = &c->ex[c->nex++];

		c->source = "the command line";
		snprintf(e->name, sizeof(e->name), "famfs");
		e->device = xstrdup(device);
		e->path = xstrdup(path ? path : "/");
		e->pseudo = xstrdup(pseudo ? pseudo : DEFAULT_PSEUDO);
		e->ro = ro;
		e->offset = ctx->dev_offset;
	}
	if (port_opt)
		c->port = port_opt;
	if (*proto_opt) {
		snprintf(c->protocols, sizeof(c->protocols), "%s", proto_opt);
		c->protocols_set = true;
	}
	if (bind_opt)
		snprintf(c->bind, sizeof(c->bind), "%s", bind_opt);
	if (follow_opt >= 0)
		c->follow_ms = (unsigned int)follow_opt;
	if (uuid_opt)
		c->system_uuid = xstrdup(uuid_opt);
	if (plugin_opt)
		c->plugin_dir = xstrdup(plugin_opt);
	if (run_opt)
		c->run_dir = xstrdup(run_opt);
	if (!c->run_dir)
		c->run_dir = default_run_dir();
	for (size_t i = 0; i < c->nex; i++) {
		if (!c->ex[i].fsal)
			c->ex[i].fsal = xstrdup("FAMFS");
		if (!c->ex[i].id)
			c->ex[i].id = (unsigned int)i + 1;
	}

	/* checks, before anything is started */
	ganesha = find_ganesha();
	if (!ganesha) {
		gw_error(SERVE, "ganesha.nfsd not found (install the nfs-ganesha package, or set "
				"FAMFS_GW_GANESHA)");
		return GW_EXIT_FAIL;
	}
	if (is_dir(c->run_dir) && check_not_running(c->run_dir))
		return GW_EXIT_FAIL;
	for (size_t i = 0; i < c->nex; i++) {
		if (is_famfs(&c->ex[i]) && check_device(c, &c->ex[i]))
			return GW_EXIT_FAIL;
	}
	if (c->as_is) {
		const char *dir = c->plugin_dir ? c->plugin_dir : DEBIAN_FSAL_DIR;

		for (size_t i = 0; i < c->nex; i++)
			if (check_fsal_plugin(dir, c->ex[i].fsal))
				return GW_EXIT_FAIL;
	} else {
		char *pd = find_plugin_dir(c);

		if (check_fsal_plugin(pd, "FAMFS")) {
			free(pd);
			return GW_EXIT_FAIL;
		}
		free(c->plugin_dir);
		c->plugin_dir = pd;
	}
	if (!valid_ipv4(c->bind)) {
		gw_error(SERVE, "bind address '%s' is not an IPv4 address", c->bind);
		return GW_EXIT_USAGE;
	}
	if (!c->as_is)
		c->mnt_port = c->port + 1;
	for (int k = 0; k < 2; k++) {
		int p = k ? c->mnt_port : c->port;

		if (!p || (k && !strchr(c->protocols, '3')))
			continue;
		rc = port_free(c->bind, p);
		if (rc) {
			gw_error(SERVE, "port %d on %s is not free: %s%s", p, c->bind,
				 strerror(-rc),
				 k && !c->as_is ? " (the MOUNT port is the NFS port + 1)" : "");
			return GW_EXIT_FAIL;
		}
	}
	if (strchr(c->protocols, '3') && !rpcbind_running()) {
		if (c->protocols_set) {
			gw_error(SERVE,
				 "NFSv3 needs rpcbind, which is not running: start it "
				 "('rpcbind -w' or 'systemctl start rpcbind'), or serve NFSv4 only "
				 "(%s)",
				 c->as_is ? "Protocols = 4 in NFS_CORE_PARAM" : "--protocols 4");
			return GW_EXIT_FAIL;
		}
		fprintf(stderr, "famfs-gw: serve: warning: rpcbind is not running, so NFSv3 is "
				"off (ganesha must register it); serving NFSv4 only. Start rpcbind "
				"('rpcbind -w') for NFSv3.\n");
		snprintf(c->protocols, sizeof(c->protocols), "4");
	}
	rc = gw_run_dir_make(c->run_dir);
	if (rc) {
		gw_error(SERVE, "run directory %s: %s", c->run_dir, gw_run_dir_strerror(rc));
		return GW_EXIT_FAIL;
	}
	{
		char real[PATH_MAX];

		if (realpath(c->run_dir, real)) {
			free(c->run_dir);
			c->run_dir = xstrdup(real);
		}
	}
	if (!c->as_is) {
		if (link_plugins(c->run_dir, c->plugin_dir))
			return GW_EXIT_FAIL;
		c->ganesha_conf = xasprintf("%s/ganesha.conf", c->run_dir);
		if (render_conf(c, c->ganesha_conf))
			return GW_EXIT_FAIL;
	}
	if (c->dry_run) {
		printf("famfs-gw: dry run: %s would run %s -F -L %s/ganesha.log -f %s\n", SERVE,
		       ganesha, c->run_dir, c->ganesha_conf);
		return GW_EXIT_OK;
	}

	/* --background: the parent waits for the word of the supervisor, then leaves */
	if (c->background) {
		if (pipe2(sync_pipe, O_CLOEXEC)) {
			gw_error(SERVE, "pipe: %s", strerror(errno));
			return GW_EXIT_FAIL;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			gw_error(SERVE, "fork: %s", strerror(errno));
			return GW_EXIT_FAIL;
		}
		if (pid > 0) {
			char msg[32] = "";
			ssize_t n;
			int st;

			close(sync_pipe[1]);
			do
				n = read(sync_pipe[0], msg, sizeof(msg) - 1);
			while (n < 0 && errno == EINTR);
			close(sync_pipe[0]);
			if (n > 0 && !strncmp(msg, "ok", 2)) {
				printf(
				    "famfs-gw: serve: running in the background, supervisor pid %d "
				    "(stop: kill %d; state: famfs-gw status --run-dir %s)\n",
				    (int)pid, (int)pid, c->run_dir);
				return GW_EXIT_OK;
			}
			waitpid(pid, &st, 0);
			return exit_code(st) ? exit_code(st) : GW_EXIT_FAIL;
		}
		close(sync_pipe[0]);
		setsid();
	}

	install_signals();
	pid = start_ganesha(c, ganesha);
	if (pid < 0)
		return GW_EXIT_FAIL;
	g_child = pid;
	if (g_stop_sig) /* a signal before g_child was set */
		kill(pid, (int)g_stop_sig);
	rc = wait_for_port(c, pid, ganesha);
	if (rc)
		return rc;
	print_reach(c);
	if (write_state(c, pid, "running", -1)) {
		kill_ganesha(pid);
		return GW_EXIT_FAIL;
	}
	if (c->background) {
		char *slog = xasprintf("%s/serve.log", c->run_dir);
		int fd = open(slog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

		fflush(NULL);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if (in >= 0) {
			dup2(in, STDIN_FILENO);
			close(in);
		}
		free(slog);
		if (write(sync_pipe[1], "ok", 2) != 2)
			kill_ganesha(pid);
		close(sync_pipe[1]);
	} else {
		printf("famfs-gw: supervising ganesha.nfsd pid %d; Ctrl-C or SIGTERM stops it\n",
		       (int)pid);
		fflush(stdout);
	}
	return supervise(c, pid, ganesha);
}

/* ------------------------------------------------------------------ a small JSON reader */

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type type;
	char *key;	  /* member name inside an object */
	char *str;	  /* JV_STR */
	double num;	  /* JV_NUM, JV_BOOL */
	struct jv *child; /* JV_ARR, JV_OBJ: first element */
	struct jv *next;
};

static void jv_free(struct jv *v)
{
	while (v) {
		struct jv *n = v->next;

		jv_free(v->child);
		free(v->key);
		free(v->str);
		free(v);
		v = n;
	}
}

static void jr_ws(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static char *jr_string(const char **p)
{
	size_t cap = 64, n = 0;
	char *out;

	if (**p != '"')
		return NULL;
	(*p)++;
	out = malloc(cap);
	if (!out)
		return NULL;
	while (**p && **p != '"') {
		char ch = *(*p)++;

		if (ch == '\\') {
			ch = *(*p)++;
			switch (ch) {
			case 'n':
				ch = '\n';
				break;
			case 't':
				ch = '\t';
				break;
			case 'r':
				ch = '\r';
				break;
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'u': {
				unsigned int cp = 0;

				if (sscanf(*p, "%4x", &cp) != 1) {
					free(out);
					return NULL;
				}
				*p += 4;
				ch = cp < 0x80 ? (char)cp : '?';
				break;
			}
			case '\0':
				free(out);
				return NULL;
			default:
				break;
			}
		}
		if (n + 2 > cap) {
			char *bigger = realloc(out, cap *= 2);

			if (!bigger) {
				free(out);
				return NULL;
			}
			out = bigger;
		}
		out[n++] = ch;
	}
	if (**p != '"') {
		free(out);
		return NULL;
	}
	(*p)++;
	out[n] = '\0';
	return out;
}

static struct jv *jr_value(const char **p, int depth)
{
	struct jv *v = calloc(1, sizeof(*v));

	if (!v || depth > 32)
		goto bad;
	jr_ws(p);
	if (**p == '{' || **p == '[') {
		bool obj = **p == '{';
		struct jv **tail = &v->child;

		v->type = obj ? JV_OBJ : JV_ARR;
		(*p)++;
		jr_ws(p);
		if (**p == (obj ? '}' : ']')) {
			(*p)++;
			return v;
		}
		for (;;) {
			char *key = NULL;
			struct jv *item;

			jr_ws(p);
			if (obj) {
				key = jr_string(p);
				jr_ws(p);
				if (!key || **p != ':') {
					free(key);
					goto bad;
				}
				(*p)++;
			}
			item = jr_value(p, depth + 1);
			if (!item) {
				free(key);
				goto bad;
			}
			item->key = key;
			*tail = item;
			tail = &item->next;
			jr_ws(p);
			if (**p == ',') {
				(*p)++;
				continue;
			}
			if (**p != (obj ? '}' : ']'))
				goto bad;
			(*p)++;
			return v;
		}
	}
	if (**p == '"') {
		v->type = JV_STR;
		v->str = jr_string(p);
		if (!v->str)
			goto bad;
		return v;
	}
	if (!strncmp(*p, "true", 4) || !strncmp(*p, "false", 5)) {
		v->type = JV_BOOL;
		v->num = **p == 't';
		*p += **p == 't' ? 4 : 5;
		return v;
	}
	if (!strncmp(*p, "null", 4)) {
		*p += 4;
		return v;
	}
	{
		char *end;

		v->type = JV_NUM;
		v->num = strtod(*p, &end);
		if (end == *p)
			goto bad;
		*p = end;
		return v;
	}
bad:
	jv_free(v);
	return NULL;
}

static const struct jv *jv_get(const struct jv *o, const char *key)
{
	if (!o || o->type != JV_OBJ)
		return NULL;
	for (const struct jv *m = o->child; m; m = m->next)
		if (m->key && !strcmp(m->key, key))
			return m;
	return NULL;
}

static const char *jv_str(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_STR ? v->str : NULL;
}

static long long jv_num(const struct jv *o, const char *key, long long dflt)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_NUM ? (long long)v->num : dflt;
}

/* ------------------------------------------------------------------ status */

struct export_state {
	bool open_ok;
	bool master;
	uint64_t log_next;
	uint64_t generation;
	char err[128];
};

static void probe_export(const struct jv *e, struct export_state *s)
{
	struct famfs_fs_opts o = {.readonly = true};
	const char *dev = jv_str(e, "device");
	struct famfs_fs *fs;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!dev)
		return;
	o.system_uuid = jv_str(e, "system_uuid");
	o.dev_offset = (uint64_t)jv_num(e, "device_offset", 0);
	rc = famfs_fs_open(dev, &o, &fs);
	if (rc) {
		snprintf(s->err, sizeof(s->err), "%s", strerror(-rc));
		return;
	}
	probe_fs(fs, &s->master, &s->log_next, &s->generation);
	s->open_ok = true;
	famfs_fs_close(fs);
}

int cmd_status(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"run-dir", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *run_opt = NULL, *bind, *state;
	char *run, *path, *text = NULL;
	struct jv *root;
	const struct jv *exports;
	bool json = false, sup_alive, gan_alive, accepting, running;
	long long pid, gpid, port;
	int ch, clients;
	size_t cap = 0;
	FILE *f;

	(void)ctx;
	while ((ch = getopt_long(argc, argv, "r:j", opts, NULL)) != -1) {
		if (ch == 'r')
			run_opt = optarg;
		else if (ch == 'j')
			json = true;
		else
			return gw_usage(STATUS, true);
	}
	if (optind < argc) {
		gw_error(STATUS, "unexpected argument '%s'", argv[optind]);
		return gw_usage(STATUS, true);
	}
	run = run_opt ? xstrdup(run_opt) : default_run_dir();
	path = xasprintf("%s/serve.json", run);
	f = fopen(path, "re");
	if (!f) {
		if (json) {
			struct jw w;

			jw_init(&w, stdout);
			jw_obj_begin(&w, NULL);
			jw_bool(&w, "running", false);
			jw_str(&w, "state", "absent");
			jw_str(&w, "run_dir", run);
			jw_obj_end(&w);
			jw_finish(&w);
		} else {
			printf("famfs-gw: not running: no gateway state in %s (%s)\n", run,
			       strerror(errno));
		}
		free(path);
		free(run);
		return GW_EXIT_NOT_RUNNING;
	}
	if (getdelim(&text, &cap, '\0', f) < 0) {
		fclose(f);
		gw_error(STATUS, "%s: cannot read it", path);
		free(text);
		free(path);
		free(run);
		return GW_EXIT_FAIL;
	}
	fclose(f);
	{
		const char *p = text;

		root = jr_value(&p, 0);
	}
	free(text);
	if (!root || root->type != JV_OBJ) {
		gw_error(STATUS, "%s: not a gateway state file (bad JSON)", path);
		jv_free(root);
		free(path);
		free(run);
		return GW_EXIT_FAIL;
	}
	pid = jv_num(root, "pid", 0);
	gpid = jv_num(root, "ganesha_pid", 0);
	port = jv_num(root, "port", 0);
	bind = jv_str(root, "bind");
	state = jv_str(root, "state");
	exports = jv_get(root, "exports");
	sup_alive = pid > 0 && gw_pid_alive((pid_t)pid);
	gan_alive = gpid > 0 && pid_runs((pid_t)gpid, "ganesha");
	accepting = gan_alive && port > 0 && tcp_probe(bind, (int)port) == 0;
	running = gan_alive && accepting;
	clients = port > 0 ? count_clients((int)port) : 0;

	if (json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_bool(&w, "running", running);
		jw_str(&w, "state",
		       running				   ? "running"
		       : state && strcmp(state, "running") ? state
							   : "dead");
		jw_u64(&w, "pid", (uint64_t)pid);
		jw_bool(&w, "supervisor_alive", sup_alive);
		jw_u64(&w, "ganesha_pid", (uint64_t)gpid);
		jw_bool(&w, "ganesha_alive", gan_alive);
		jw_u64(&w, "port", (uint64_t)port);
		jw_bool(&w, "accepting", accepting);
		jw_str(&w, "bind", bind ? bind : "");
		jw_str(&w, "run_dir", run);
		if (jv_str(root, "ganesha_log"))
			jw_str(&w, "ganesha_log", jv_str(root, "ganesha_log"));
		if (jv_get(root, "exit_status"))
			jw_u64(&w, "exit_status", (uint64_t)jv_num(root, "exit_status", 0));
		jw_u64(&w, "clients", (uint64_t)clients);
		jw_arr_begin(&w, "exports");
		for (const struct jv *e = exports ? exports->child : NULL; e; e = e->next) {
			struct export_state s;

			probe_export(e, &s);
			jw_obj_begin(&w, NULL);
			jw_u64(&w, "export_id", (uint64_t)jv_num(e, "export_id", 0));
			jw_str(&w, "name", jv_str(e, "name") ? jv_str(e, "name") : "");
			jw_str(&w, "fsal", jv_str(e, "fsal") ? jv_str(e, "fsal") : "");
			jw_str(&w, "path", jv_str(e, "path") ? jv_str(e, "path") : "");
			jw_str(&w, "pseudo", jv_str(e, "pseudo") ? jv_str(e, "pseudo") : "");
			jw_str(&w, "access", jv_str(e, "access") ? jv_str(e, "access") : "");
			if (jv_str(e, "device")) {
				jw_str(&w, "device", jv_str(e, "device"));
				jw_str(&w, "role", jv_str(e, "role") ? jv_str(e, "role") : "");
				if (s.open_ok) {
					jw_u64(&w, "log_next_index", s.log_next);
					jw_u64(&w, "generation", s.generation);
				} else {
					jw_str(&w, "error", s.err);
				}
			}
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_finish(&w);
	} else {
		if (running)
			printf("famfs-gw: running (supervisor pid %lld%s, ganesha.nfsd pid %lld)\n",
			       pid, sup_alive ? "" : ", gone!", gpid);
		else if (gan_alive)
			printf("famfs-gw: NOT running: ganesha.nfsd pid %lld lives but port %lld "
			       "does not accept connections\n",
			       gpid, port);
		else if (state && strcmp(state, "running"))
			printf("famfs-gw: not running: %s (exit status %lld)\n", state,
			       jv_num(root, "exit_status", -1));
		else
			printf("famfs-gw: not running: ganesha.nfsd pid %lld is gone\n", gpid);
		printf("  port:     %lld on %s%s\n", port, bind ? bind : "?",
		       accepting ? ", accepting connections" : "");
		printf("  clients:  %d established TCP connection%s\n", clients,
		       clients == 1 ? "" : "s");
		printf("  run dir:  %s\n", run);
		if (jv_str(root, "ganesha_log"))
			printf("  log:      %s\n", jv_str(root, "ganesha_log"));
		for (const struct jv *e = exports ? exports->child : NULL; e; e = e->next) {
			const char *role = jv_str(e, "role");
			struct export_state s;

			probe_export(e, &s);
			printf("  export %lld: %s -> %s %s (%s)\n", jv_num(e, "export_id", 0),
			       jv_str(e, "pseudo") ? jv_str(e, "pseudo") : "?",
			       jv_str(e, "fsal") ? jv_str(e, "fsal") : "?",
			       jv_str(e, "path") ? jv_str(e, "path") : "?",
			       jv_str(e, "access") ? jv_str(e, "access") : "?");
			if (!jv_str(e, "device"))
				continue;
			printf("            device %s, role %s\n", jv_str(e, "device"),
			       role && !strcmp(role, "master")
				   ? jv_str(e, "access") && !strcmp(jv_str(e, "access"), "ro")
					 ? "master (exported read-only as configured)"
					 : "master (read-write)"
				   : "read-only (not the master)");
			if (s.open_ok)
				printf("            log next index %" PRIu64 ", generation %" PRIu64
				       "\n",
				       s.log_next, s.generation);
			else
				printf("            device cannot be opened: %s\n", s.err);
		}
	}
	jv_free(root);
	free(path);
	free(run);
	return running ? GW_EXIT_OK : GW_EXIT_NOT_RUNNING;
}

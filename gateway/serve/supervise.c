// SPDX-License-Identifier: Apache-2.0
/**
 * @file supervise.c
 * @brief ganesha.nfsd as serve's child: start, wait, supervise, state file (see
 *        supervise.h).
 */
#define _GNU_SOURCE /* pipe2, strsignal */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gw.h"
#include "json.h"
#include "config.h"
#include "probe.h"
#include "supervise.h"

#define START_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS	 15000
#define TAIL_LINES	 25

/* ------------------------------------------------------------------ ganesha's logs */

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

/* ------------------------------------------------------------------ the state file */

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

/*
 * The environment ganesha runs fastest with (kept where the caller set them): glibc
 * otherwise serves every 1 MiB READ buffer with a fresh mmap and gives it back at free,
 * and the page faults of those mappings dominate (measured: 180-300 MiB/s sequential
 * NFS reads as shipped before, 1,490-1,880 MiB/s with these; config/ carries the same
 * for Debian's nfs-ganesha.service).
 */
void serve_fast_env(void)
{
	setenv("MALLOC_MMAP_THRESHOLD_", SERVE_MALLOC_MMAP_THRESHOLD, 0);
	setenv("MALLOC_TRIM_THRESHOLD_", SERVE_MALLOC_TRIM_THRESHOLD, 0);
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
		serve_fast_env();
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
int check_not_running(const char *run)
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
/* ------------------------------------------------------------------ serve_run */

/**
 * --background: the parent waits for the word of the supervisor, then leaves. Returns
 * the parent's exit status, or -1 in the supervisor, which goes on (in a new session)
 * holding @p sync_pipe[1].
 */
static int background_fork(const struct serve_cfg *c, int sync_pipe[2])
{
	pid_t pid;

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
			printf("famfs-gw: serve: running in the background, supervisor pid %d "
			       "(stop: kill %d; state: famfs-gw status --run-dir %s)\n",
			       (int)pid, (int)pid, c->run_dir);
			return GW_EXIT_OK;
		}
		waitpid(pid, &st, 0);
		return exit_code(st) ? exit_code(st) : GW_EXIT_FAIL;
	}
	close(sync_pipe[0]);
	setsid();
	return -1;
}

/** --background, once ganesha serves: output to <run>/serve.log, then "ok" to the parent. */
static void background_detach(const struct serve_cfg *c, pid_t pid, int sync_fd)
{
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
	if (write(sync_fd, "ok", 2) != 2)
		kill_ganesha(pid);
	close(sync_fd);
}

int serve_run(const struct serve_cfg *c, const char *ganesha)
{
	int rc, sync_pipe[2] = {-1, -1};
	pid_t pid;

	if (c->background) {
		rc = background_fork(c, sync_pipe);
		if (rc >= 0)
			return rc;
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
		background_detach(c, pid, sync_pipe[1]);
	} else {
		printf("famfs-gw: supervising ganesha.nfsd pid %d; Ctrl-C or SIGTERM stops it\n",
		       (int)pid);
		fflush(stdout);
	}
	return supervise(c, pid, ganesha);
}

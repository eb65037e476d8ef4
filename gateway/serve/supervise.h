/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file supervise.h
 * @brief famfs-gw serve: run ganesha.nfsd as a child, wait until it serves, supervise it
 *        and keep <run>/serve.json, the state that famfs-gw status reads.
 *
 * Owns: the ganesha.nfsd child ("ganesha.nfsd -F -L <run>/ganesha.log -f CONF -p
 * <run>/ganesha.pid", its output in <run>/ganesha.out; it gets SIGTERM when serve dies),
 * serve's signal handlers (SIGTERM/SIGINT stop ganesha, SIGHUP is forwarded so that
 * ganesha reloads its exports) and <run>/serve.json (state running, then stopped or
 * died; written to a .tmp file and renamed). With --background, the process that serve
 * started leaves once the supervisor (its child, in a new session) says ganesha serves;
 * the supervisor's output then goes to <run>/serve.log.
 * Invariants: serve.json says "running" only once the NFS port accepts connections;
 * ganesha is reaped before serve returns; serve exits with ganesha's status (128 +
 * signal when killed; 1 when it died with status 0).
 * serve.json: one object with version (1), state ("running", "stopped", "died"), pid
 * (serve's supervisor), ganesha_pid, exit_status (once ganesha has exited), port,
 * mnt_port (when fixed), protocols, bind, run_dir, ganesha_conf, ganesha_log, source,
 * started (Unix time), and exports: objects with name, export_id, fsal, path, pseudo,
 * access ("rw" or "ro") and, for FAMFS exports, device, device_offset, system_uuid (when
 * set) and role ("master" or "read-only").
 * Locking: none; one supervisor per run directory (check_not_running). The signal
 * handlers share only two sig_atomic_t variables (the child's pid, the stop signal)
 * with the main flow.
 */
#ifndef FAMFS_GW_SERVE_SUPERVISE_H
#define FAMFS_GW_SERVE_SUPERVISE_H

struct serve_cfg;

/* The glibc allocator settings ganesha gets (unless its environment sets them already):
 * 1 MiB READ buffers come from the heap, not from a fresh mmap each. */
#define SERVE_MALLOC_MMAP_THRESHOLD "4194304"
#define SERVE_MALLOC_TRIM_THRESHOLD "1073741824"
/** Put those settings into this process's environment (the child about to exec ganesha). */
void serve_fast_env(void);

/** Refuse to start twice in one run directory. 0 or GW_EXIT_FAIL (after a message). */
int check_not_running(const char *run);
/**
 * Start @p ganesha on the rendered config of @p c and supervise it until it exits (or,
 * with --background, until it serves: the caller's process then returns). Returns
 * serve's exit status.
 */
int serve_run(const struct serve_cfg *c, const char *ganesha);

#endif /* FAMFS_GW_SERVE_SUPERVISE_H */

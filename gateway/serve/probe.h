/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file probe.h
 * @brief famfs-gw serve and status: looks at this host (ports, processes, programs, files)
 *        and at the famfs devices of the exports.
 *
 * Owns: nothing that lasts; each call looks, answers and closes what it opened. A famfs
 * is only ever opened read-only here (famfs_fs_role() then says client, so the role is
 * told by comparing system UUIDs). Addresses are IPv4; 0.0.0.0 and a bad address are
 * probed on 127.0.0.1.
 * Locking: none; serve and status are single-threaded. find_ganesha() returns a static
 * buffer.
 */
#ifndef FAMFS_GW_SERVE_PROBE_H
#define FAMFS_GW_SERVE_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct famfs_fs;
struct serve_cfg;
struct export_def;

/** 0 when something accepts TCP connections on addr:port, else -errno. */
int tcp_probe(const char *addr, int port);
/** 0 when addr:port can be bound for listening (TIME_WAIT leftovers do not count). */
int port_free(const char *addr, int port);
/** rpcbind answers (its socket or port 111): ganesha 4.3 needs it for NFSv3. */
bool rpcbind_running(void);
/** The pid runs a program whose name contains @p what (guards against pid reuse). */
bool pid_runs(pid_t pid, const char *what);
/** Established TCP connections whose local port is @p port (/proc/net/tcp and tcp6). */
int count_clients(int port);
/** $FAMFS_GW_GANESHA, else ganesha.nfsd in $PATH, /usr/bin or /usr/sbin; NULL if none. */
const char *find_ganesha(void);
bool file_exists(const char *p);
bool is_dir(const char *p);
/** gw_run_dir() in a new string. */
char *default_run_dir(void);

/** Whether this host is the master of the open famfs, and its log position. */
void probe_fs(const struct famfs_fs *fs, bool *master, uint64_t *log_next, uint64_t *generation);
/**
 * Open export @p e's famfs read-only: is it a famfs, does the path exist, is this host
 * the master? Fills e->device_abs, checked, master, log_next and generation; prints one
 * line per export. 0 or GW_EXIT_FAIL (after a message).
 */
int check_device(struct serve_cfg *c, struct export_def *e);

#endif /* FAMFS_GW_SERVE_PROBE_H */

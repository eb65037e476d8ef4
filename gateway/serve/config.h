/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file config.h
 * @brief famfs-gw serve: what to serve (struct serve_cfg) and the two config parsers.
 *
 * Owns: struct serve_cfg and its exports, the parsing of a gateway config (conf_load,
 * format in config/famfs-gw.conf) and the scan of a ganesha.conf (ganesha_conf_scan: just
 * enough of ganesha's syntax to find NFS_CORE_PARAM's ports, address and plugin
 * directory, the FAMFS block's follow interval and each EXPORT with its FSAL block), and
 * the small value parsers the command line shares with them. The parsers only read the
 * named file: they start no process and open no device. A bad line is reported once on
 * stderr as "famfs-gw: serve: FILE:LINE: what is wrong" and returns GW_EXIT_USAGE.
 * Invariants: after a successful load, 1 <= nex <= MAX_EXPORTS and every export has a
 * path and a pseudo path (conf_load: a device too, and pseudo paths differ; the scan: an
 * FSAL name, and a FAMFS export has a device). Strings in a serve_cfg are owned by it
 * (malloc'd), except source, which points at the caller's string.
 * Locking: none; serve_cfg belongs to the one thread of famfs-gw serve.
 */
#ifndef FAMFS_GW_SERVE_CONFIG_H
#define FAMFS_GW_SERVE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define SERVE "serve"

#define MAX_EXPORTS	  64
#define DEFAULT_PORT	  2049
#define DEFAULT_PSEUDO	  "/famfs"
#define DEFAULT_BIND	  "127.0.0.1"
#define DEFAULT_FOLLOW_MS 1000
#define MIN_FOLLOW_MS	  50 /* what the FSAL's Log_Follow_Interval_Ms accepts */
#define MAX_FOLLOW_MS	  60000

struct export_def {
	char name[64];
	char *device;			 /* as given */
	char *device_abs;		 /* absolute, for ganesha.conf */
	char *path;			 /* directory inside famfs ("/" = all) */
	char *pseudo;			 /* NFSv4 pseudo path (also the v3 mount path) */
	char *fsal;			 /* FSAL name; "FAMFS" unless read from a ganesha.conf */
	char *system_uuid;		 /* System_UUID for the FSAL block, or NULL */
	bool ro;			 /* Access_Type = RO asked for */
	const char *squash;		 /* ganesha's Squash value: "No_Root_Squash" unless set */
	bool anon_uid_set, anon_gid_set; /* Anonymous_Uid/Gid given (else ganesha's) */
	uint32_t anon_uid, anon_gid;
	char *clients;	 /* the only clients allowed (ganesha Clients list), or NULL */
	uint64_t offset; /* Device_Offset */
	unsigned int id; /* Export_Id */
	int line;	 /* where it was defined (config files) */
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

/** Read a gateway config (format: config/famfs-gw.conf) into @p c. 0 or GW_EXIT_USAGE. */
int conf_load(struct serve_cfg *c, const char *file);
/**
 * Scan a ganesha.conf into @p c: its ports, Bind_addr, Protocols, Plugins_Dir,
 * Log_Follow_Interval_Ms and exports. 0, GW_EXIT_USAGE (bad syntax or value) or
 * GW_EXIT_FAIL (the file cannot be read).
 */
int ganesha_conf_scan(struct serve_cfg *c, const char *file);
/** Free what @p c owns and zero it (serve exits without; for tests and reuse). */
void serve_cfg_free(struct serve_cfg *c);

/** The export is served by the FAMFS FSAL. */
bool is_famfs(const struct export_def *e);

/** strdup (NULL as ""); out of memory: a message and exit(GW_EXIT_FAIL). */
char *xstrdup(const char *s);
/** asprintf into a new string; out of memory: a message and exit(GW_EXIT_FAIL). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** A decimal number from 0 to @p max, nothing else. 0 or -EINVAL. */
int parse_uint(const char *s, unsigned long max, unsigned long *out);
/** A TCP port from 1 to 65534 (the MOUNT port is the NFS port + 1). 0 or -EINVAL. */
int parse_port(const char *s, int *port);
/** A dotted IPv4 address. */
bool valid_ipv4(const char *s);
/** "3,4", "4", "3" (any spacing, either order) into ganesha's "3, 4" form. 0 or -EINVAL. */
int parse_protocols(const char *s, char out[16]);

#endif /* FAMFS_GW_SERVE_CONFIG_H */

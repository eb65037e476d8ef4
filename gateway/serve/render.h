/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file render.h
 * @brief famfs-gw serve: the ganesha.conf it renders and the FSAL plugin directory.
 *
 * Owns: the files serve writes into the run directory for ganesha, i.e. ganesha.conf
 * (rendered from a serve_cfg; rewritten at every start, through a .tmp file and a rename,
 * so ganesha never reads half a file) and the libfsal*.so symlinks that make the run
 * directory ganesha's Plugins_Dir: libfsalfamfs.so from the plugin directory plus
 * Debian's stock FSALs, so that they stay loadable.
 * Invariants: the rendered config holds absolute paths only (device_abs, run_dir); an
 * export is RO when asked for or when this host is not the device's master.
 * Locking: none; one serve per run directory (check_not_running in supervise.h).
 */
#ifndef FAMFS_GW_SERVE_RENDER_H
#define FAMFS_GW_SERVE_RENDER_H

#define DEBIAN_FSAL_DIR "/usr/lib/x86_64-linux-gnu/ganesha"
#define FAMFS_PLUGIN	"libfsalfamfs.so"

struct serve_cfg;

/** libfsal<fsal>.so is in @p dir (PSEUDO and MDCACHE are built in). 0 or GW_EXIT_FAIL. */
int check_fsal_plugin(const char *dir, const char *fsal);
/**
 * Where libfsalfamfs.so comes from: plugin_dir, else $FAMFS_GW_PLUGIN_DIR, else
 * ../fsal_famfs next to the famfs-gw binary, else DEBIAN_FSAL_DIR. A new string.
 */
char *find_plugin_dir(const struct serve_cfg *c);
/** <run>/libfsal*.so: libfsalfamfs.so from @p plugin_dir plus Debian's stock FSALs. */
int link_plugins(const char *run, const char *plugin_dir);
/** Write the ganesha.conf for @p c to @p out. 0 or GW_EXIT_FAIL. */
int render_conf(const struct serve_cfg *c, const char *out);

#endif /* FAMFS_GW_SERVE_RENDER_H */

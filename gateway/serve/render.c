// SPDX-License-Identifier: Apache-2.0
/**
 * @file render.c
 * @brief The ganesha.conf that serve renders, and its plugin directory (see render.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw.h"
#include "config.h"
#include "probe.h"
#include "render.h"

/* ------------------------------------------------------------------ plugin directory */

int check_fsal_plugin(const char *dir, const char *fsal)
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
char *find_plugin_dir(const struct serve_cfg *c)
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
int link_plugins(const char *run, const char *plugin_dir)
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

int render_conf(const struct serve_cfg *c, const char *out)
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
			"\tSquash = %s;\n"
			"\tProtocols = %s;\n"
			"\tTransports = TCP;\n"
			"\tSecType = sys;\n"
			"\tFSAL {\n"
			"\t\tName = FAMFS;\n"
			"\t\tDevice = \"%s\";\n",
			e->name,
			!e->ro && !e->master ? " (read-only: this host is not the master)" : "",
			e->id, e->path, e->pseudo,
			e->clients ? "None"
			: ro	   ? "RO"
				   : "RW",
			e->squash ? e->squash : "No_Root_Squash", c->protocols, e->device_abs);
		if (uuid)
			fprintf(f, "\t\tSystem_UUID = \"%s\";\n", uuid);
		if (e->offset)
			fprintf(f, "\t\tDevice_Offset = %" PRIu64 ";\n", e->offset);
		fprintf(f, "\t}\n");
		if (e->anon_uid_set)
			fprintf(f, "\tAnonymous_Uid = %" PRIu32 ";\n", e->anon_uid);
		if (e->anon_gid_set)
			fprintf(f, "\tAnonymous_Gid = %" PRIu32 ";\n", e->anon_gid);
		/* Only the listed clients get in: the export's own access is None. */
		if (e->clients)
			fprintf(f, "\tCLIENT {\n\t\tClients = %s;\n\t\tAccess_Type = %s;\n\t}\n",
				e->clients, ro ? "RO" : "RW");
		fprintf(f, "}\n");
	}
	if (fclose(f) || rename(tmp, out)) {
		gw_error(SERVE, "%s: %s", out, strerror(errno));
		unlink(tmp);
		return GW_EXIT_FAIL;
	}
	return 0;
}

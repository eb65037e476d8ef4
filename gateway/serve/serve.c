// SPDX-License-Identifier: Apache-2.0
/**
 * @file serve.c
 * @brief famfs-gw serve: run nfs-ganesha with the FAMFS FSAL.
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
 * The parts live in serve/: config.c (what to serve), probe.c (this host and its
 * devices), render.c (ganesha.conf), supervise.c (ganesha's process); this file holds
 * the command line and the order of the steps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"
#include "config.h"
#include "probe.h"
#include "render.h"
#include "supervise.h"

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

/** The command line, before it is merged with the config it names. */
struct serve_opts {
	const char *gw_conf, *g_conf, *device, *path, *pseudo;
	const char *bind_opt, *run_opt, *plugin_opt, *uuid_opt;
	int port_opt;
	long follow_opt; /* -1: not given */
	char proto_opt[16];
	bool ro, quick_opts; /* quick_opts: --path, --pseudo or --read-only given */
};

/** One option @p ch (its argument in optarg). 0 or the exit status. */
static int parse_one(int ch, struct serve_opts *o, struct serve_cfg *c)
{
	unsigned long u;

	switch (ch) {
	case 'c':
		o->gw_conf = optarg;
		break;
	case 'g':
		o->g_conf = optarg;
		break;
	case 'd':
		o->device = optarg;
		break;
	case 'p':
		if (parse_port(optarg, &o->port_opt)) {
			gw_error(SERVE, "--port '%s' is not a number from 1 to 65534", optarg);
			return GW_EXIT_USAGE;
		}
		break;
	case 'b':
		if (!valid_ipv4(optarg)) {
			gw_error(SERVE, "--bind '%s' is not an IPv4 address", optarg);
			return GW_EXIT_USAGE;
		}
		o->bind_opt = optarg;
		break;
	case OPT_PATH:
	case OPT_PSEUDO:
		if (optarg[0] != '/' || strchr(optarg, '"')) {
			gw_error(SERVE, "--%s '%s' must start with '/' (and hold no '\"')",
				 ch == OPT_PATH ? "path" : "pseudo", optarg);
			return GW_EXIT_USAGE;
		}
		*(ch == OPT_PATH ? &o->path : &o->pseudo) = optarg;
		o->quick_opts = true;
		break;
	case OPT_RO:
		o->ro = true;
		o->quick_opts = true;
		break;
	case OPT_RUNDIR:
		o->run_opt = optarg;
		break;
	case OPT_PLUGIN:
		o->plugin_opt = optarg;
		break;
	case OPT_FOLLOW:
		if (parse_uint(optarg, MAX_FOLLOW_MS, &u) || u < MIN_FOLLOW_MS) {
			gw_error(SERVE, "--log-follow-ms '%s' is not a number from %d to %d",
				 optarg, MIN_FOLLOW_MS, MAX_FOLLOW_MS);
			return GW_EXIT_USAGE;
		}
		o->follow_opt = (long)u;
		break;
	case OPT_UUID:
		o->uuid_opt = optarg;
		break;
	case OPT_BG:
		c->background = true;
		break;
	case OPT_DRY:
		c->dry_run = true;
		break;
	case OPT_PROTO:
		if (parse_protocols(optarg, o->proto_opt)) {
			gw_error(SERVE, "--protocols '%s' must be 3, 4 or 3,4", optarg);
			return GW_EXIT_USAGE;
		}
		break;
	default:
		return gw_usage(SERVE, true);
	}
	return 0;
}

/** The command line into @p o (and --background, --dry-run into @p c). 0 or exit status. */
static int parse_args(int argc, char **argv, struct gw_ctx *ctx, struct serve_opts *o,
		      struct serve_cfg *c)
{
	uint8_t uuid[FAMFS_UUID_LEN];
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:g:d:p:b:", opts, NULL)) != -1) {
		rc = parse_one(ch, o, c);
		if (rc)
			return rc;
	}
	if (optind < argc) {
		gw_error(SERVE, "unexpected argument '%s'", argv[optind]);
		return gw_usage(SERVE, true);
	}
	if (!o->uuid_opt)
		o->uuid_opt = ctx->system_uuid;
	if (o->uuid_opt && famfs_uuid_parse(o->uuid_opt, uuid)) {
		gw_error(SERVE, "--system-uuid '%s' is not a UUID", o->uuid_opt);
		return GW_EXIT_USAGE;
	}
	if (o->gw_conf && o->g_conf) {
		gw_error(SERVE, "give either --config or --ganesha-conf, not both");
		return GW_EXIT_USAGE;
	}
	if ((o->gw_conf || o->g_conf) && (o->device || o->quick_opts)) {
		gw_error(SERVE,
			 "-d/--path/--pseudo/--read-only describe an export on the command "
			 "line; the exports of --%s come from the file",
			 o->gw_conf ? "config" : "ganesha-conf");
		return GW_EXIT_USAGE;
	}
	if (!o->device && !o->gw_conf && !o->g_conf)
		o->device = ctx->device;
	if (!o->device && !o->gw_conf && !o->g_conf) {
		gw_error(SERVE, "nothing to serve: give -d DEVICE, --config GW.CONF or "
				"--ganesha-conf FILE");
		return GW_EXIT_USAGE;
	}
	return 0;
}

/** The defaults, then the exports from --config, --ganesha-conf or -d. 0 or exit status. */
static int load_exports(struct serve_cfg *c, const struct serve_opts *o, struct gw_ctx *ctx)
{
	int rc;

	c->port = DEFAULT_PORT;
	snprintf(c->bind, sizeof(c->bind), "%s", DEFAULT_BIND);
	c->follow_ms = DEFAULT_FOLLOW_MS;
	snprintf(c->protocols, sizeof(c->protocols), "3, 4");
	c->started = time(NULL);
	if (o->gw_conf) {
		c->source = o->gw_conf;
		rc = conf_load(c, o->gw_conf);
		if (rc)
			return rc;
	} else if (o->g_conf) {
		char real[PATH_MAX];

		if (!realpath(o->g_conf, real)) {
			gw_error(SERVE, "%s: %s", o->g_conf, strerror(errno));
			return GW_EXIT_USAGE;
		}
		c->source = o->g_conf;
		c->as_is = true;
		snprintf(c->bind, sizeof(c->bind), "0.0.0.0"); /* ganesha's default */
		rc = ganesha_conf_scan(c, real);
		if (rc)
			return rc;
		c->ganesha_conf = xstrdup(real);
		if (o->port_opt || o->bind_opt || o->follow_opt >= 0 || *o->proto_opt) {
			gw_error(SERVE, "--port, --bind, --protocols and --log-follow-ms do not "
					"change a "
					"--ganesha-conf file: edit it instead");
			return GW_EXIT_USAGE;
		}
	} else {
		struct export_def *e = &c->ex[c->nex++];

		c->source = "the command line";
		snprintf(e->name, sizeof(e->name), "famfs");
		e->device = xstrdup(o->device);
		e->path = xstrdup(o->path ? o->path : "/");
		e->pseudo = xstrdup(o->pseudo ? o->pseudo : DEFAULT_PSEUDO);
		e->ro = o->ro;
		e->offset = ctx->dev_offset;
	}
	return 0;
}

/** Options on the command line override the config's settings; the last defaults. */
static void apply_opts(struct serve_cfg *c, const struct serve_opts *o)
{
	if (o->port_opt)
		c->port = o->port_opt;
	if (*o->proto_opt) {
		snprintf(c->protocols, sizeof(c->protocols), "%s", o->proto_opt);
		c->protocols_set = true;
	}
	if (o->bind_opt)
		snprintf(c->bind, sizeof(c->bind), "%s", o->bind_opt);
	if (o->follow_opt >= 0)
		c->follow_ms = (unsigned int)o->follow_opt;
	if (o->uuid_opt)
		c->system_uuid = xstrdup(o->uuid_opt);
	if (o->plugin_opt)
		c->plugin_dir = xstrdup(o->plugin_opt);
	if (o->run_opt)
		c->run_dir = xstrdup(o->run_opt);
	if (!c->run_dir)
		c->run_dir = default_run_dir();
	for (size_t i = 0; i < c->nex; i++) {
		if (!c->ex[i].fsal)
			c->ex[i].fsal = xstrdup("FAMFS");
		if (!c->ex[i].id)
			c->ex[i].id = (unsigned int)i + 1;
	}
}

/** The FSAL plugins that ganesha will load are there; sets plugin_dir unless as is. */
static int check_plugins(struct serve_cfg *c)
{
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
	return 0;
}

/** The NFS (and MOUNT) ports are free, and rpcbind runs if NFSv3 is asked for. */
static int check_network(struct serve_cfg *c)
{
	int rc;

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
	return 0;
}

/** The run directory, its plugin links and the rendered ganesha.conf. */
static int prepare_run_dir(struct serve_cfg *c)
{
	char real[PATH_MAX];
	int rc = gw_run_dir_make(c->run_dir);

	if (rc) {
		gw_error(SERVE, "run directory %s: %s", c->run_dir, gw_run_dir_strerror(rc));
		return GW_EXIT_FAIL;
	}
	if (realpath(c->run_dir, real)) {
		free(c->run_dir);
		c->run_dir = xstrdup(real);
	}
	if (!c->as_is) {
		if (link_plugins(c->run_dir, c->plugin_dir))
			return GW_EXIT_FAIL;
		c->ganesha_conf = xasprintf("%s/ganesha.conf", c->run_dir);
		if (render_conf(c, c->ganesha_conf))
			return GW_EXIT_FAIL;
	}
	return 0;
}

int cmd_serve(int argc, char **argv, struct gw_ctx *ctx)
{
	static struct serve_cfg cfg;
	struct serve_cfg *c = &cfg;
	struct serve_opts o = {.follow_opt = -1};
	const char *ganesha;
	int rc;

	rc = parse_args(argc, argv, ctx, &o, c);
	if (rc)
		return rc;
	rc = load_exports(c, &o, ctx);
	if (rc)
		return rc;
	apply_opts(c, &o);

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
	if (check_plugins(c))
		return GW_EXIT_FAIL;
	rc = check_network(c);
	if (rc)
		return rc;
	if (prepare_run_dir(c))
		return GW_EXIT_FAIL;
	if (c->dry_run) {
		printf("famfs-gw: dry run: %s would run %s -F -L %s/ganesha.log -f %s\n", SERVE,
		       ganesha, c->run_dir, c->ganesha_conf);
		return GW_EXIT_OK;
	}
	return serve_run(c, ganesha);
}

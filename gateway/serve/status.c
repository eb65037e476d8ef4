// SPDX-License-Identifier: Apache-2.0
/**
 * @file status.c
 * @brief famfs-gw status: whether the gateway runs, its exports and NFS clients.
 *
 * status reads <run>/serve.json (written by serve, see supervise.h), checks that the
 * processes live and the port answers, and shows each export's device, role and log
 * position, and the NFS clients connected.
 * Exit status: 0 running, 3 not running (1 for other errors, 2 usage).
 *
 * Owns: a small JSON reader (gateway/json.h only writes JSON) that parses serve.json
 * into a tree of struct jv; the tree is freed before cmd_status returns. Devices are
 * opened read-only, one at a time. Locking: none; a single thread.
 */
#define _GNU_SOURCE /* getdelim */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "json.h"
#include "config.h"
#include "probe.h"

#define STATUS		    "status"
#define GW_EXIT_NOT_RUNNING 3

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

/** What status found: the state file's words and what runs now. */
struct status {
	const char *run;
	const struct jv *root;
	const struct jv *exports;
	const char *bind, *state;
	long long pid, gpid, port;
	bool sup_alive, gan_alive, accepting, running;
	int clients;
};

static void print_json(const struct status *st)
{
	const struct jv *root = st->root;
	struct jw w;

	jw_init(&w, stdout);
	jw_obj_begin(&w, NULL);
	jw_bool(&w, "running", st->running);
	jw_str(&w, "state",
	       st->running				   ? "running"
	       : st->state && strcmp(st->state, "running") ? st->state
							   : "dead");
	jw_u64(&w, "pid", (uint64_t)st->pid);
	jw_bool(&w, "supervisor_alive", st->sup_alive);
	jw_u64(&w, "ganesha_pid", (uint64_t)st->gpid);
	jw_bool(&w, "ganesha_alive", st->gan_alive);
	jw_u64(&w, "port", (uint64_t)st->port);
	jw_bool(&w, "accepting", st->accepting);
	jw_str(&w, "bind", st->bind ? st->bind : "");
	jw_str(&w, "run_dir", st->run);
	if (jv_str(root, "ganesha_log"))
		jw_str(&w, "ganesha_log", jv_str(root, "ganesha_log"));
	if (jv_get(root, "exit_status"))
		jw_u64(&w, "exit_status", (uint64_t)jv_num(root, "exit_status", 0));
	jw_u64(&w, "clients", (uint64_t)st->clients);
	jw_arr_begin(&w, "exports");
	for (const struct jv *e = st->exports ? st->exports->child : NULL; e; e = e->next) {
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
}

static void print_text(const struct status *st)
{
	const struct jv *root = st->root;
	const char *bind = st->bind;
	int clients = st->clients;

	if (st->running)
		printf("famfs-gw: running (supervisor pid %lld%s, ganesha.nfsd pid %lld)\n",
		       st->pid, st->sup_alive ? "" : ", gone!", st->gpid);
	else if (st->gan_alive)
		printf("famfs-gw: NOT running: ganesha.nfsd pid %lld lives but port %lld "
		       "does not accept connections\n",
		       st->gpid, st->port);
	else if (st->state && strcmp(st->state, "running"))
		printf("famfs-gw: not running: %s (exit status %lld)\n", st->state,
		       jv_num(root, "exit_status", -1));
	else
		printf("famfs-gw: not running: ganesha.nfsd pid %lld is gone\n", st->gpid);
	printf("  port:     %lld on %s%s\n", st->port, bind ? bind : "?",
	       st->accepting ? ", accepting connections" : "");
	printf("  clients:  %d established TCP connection%s\n", clients, clients == 1 ? "" : "s");
	printf("  run dir:  %s\n", st->run);
	if (jv_str(root, "ganesha_log"))
		printf("  log:      %s\n", jv_str(root, "ganesha_log"));
	for (const struct jv *e = st->exports ? st->exports->child : NULL; e; e = e->next) {
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
			printf("            log next index %" PRIu64 ", generation %" PRIu64 "\n",
			       s.log_next, s.generation);
		else
			printf("            device cannot be opened: %s\n", s.err);
	}
}

/**
 * Read and parse <run>/serve.json into @p root. 0; GW_EXIT_NOT_RUNNING when there is
 * none (said on stdout, in JSON with @p json); GW_EXIT_FAIL after a message.
 */
static int read_state(const char *run, bool json, struct jv **root)
{
	char *path = xasprintf("%s/serve.json", run), *text = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "re");

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
		return GW_EXIT_NOT_RUNNING;
	}
	if (getdelim(&text, &cap, '\0', f) < 0) {
		fclose(f);
		gw_error(STATUS, "%s: cannot read it", path);
		free(text);
		free(path);
		return GW_EXIT_FAIL;
	}
	fclose(f);
	{
		const char *p = text;

		*root = jr_value(&p, 0);
	}
	free(text);
	if (!*root || (*root)->type != JV_OBJ) {
		gw_error(STATUS, "%s: not a gateway state file (bad JSON)", path);
		jv_free(*root);
		free(path);
		return GW_EXIT_FAIL;
	}
	free(path);
	return 0;
}

int cmd_status(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"run-dir", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *run_opt = NULL;
	struct status st = {0};
	struct jv *root = NULL;
	bool json = false;
	char *run;
	int ch, rc;

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
	rc = read_state(run, json, &root);
	if (rc) {
		free(run);
		return rc;
	}
	st.run = run;
	st.root = root;
	st.pid = jv_num(root, "pid", 0);
	st.gpid = jv_num(root, "ganesha_pid", 0);
	st.port = jv_num(root, "port", 0);
	st.bind = jv_str(root, "bind");
	st.state = jv_str(root, "state");
	st.exports = jv_get(root, "exports");
	st.sup_alive = st.pid > 0 && gw_pid_alive((pid_t)st.pid);
	st.gan_alive = st.gpid > 0 && pid_runs((pid_t)st.gpid, "ganesha");
	st.accepting = st.gan_alive && st.port > 0 && tcp_probe(st.bind, (int)st.port) == 0;
	st.running = st.gan_alive && st.accepting;
	st.clients = st.port > 0 ? count_clients((int)st.port) : 0;
	if (json)
		print_json(&st);
	else
		print_text(&st);
	jv_free(root);
	free(run);
	return st.running ? GW_EXIT_OK : GW_EXIT_NOT_RUNNING;
}

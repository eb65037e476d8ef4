// SPDX-License-Identifier: Apache-2.0
/**
 * @file config.c
 * @brief The gateway config and ganesha.conf parsers of famfs-gw serve (see config.h).
 */
#define _GNU_SOURCE /* vasprintf */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw.h"
#include "config.h"

/* ------------------------------------------------------------------ small helpers */

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p) {
		gw_error(SERVE, "out of memory");
		exit(GW_EXIT_FAIL);
	}
	return p;
}

char *xasprintf(const char *fmt, ...)
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

int parse_uint(const char *s, unsigned long max, unsigned long *out)
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

int parse_port(const char *s, int *port)
{
	unsigned long v;

	if (parse_uint(s, 65534, &v) || v == 0)
		return -EINVAL;
	*port = (int)v;
	return 0;
}

bool valid_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/** "3,4", "4", "3" (any spacing, either order) into ganesha's "3, 4" form. */
int parse_protocols(const char *s, char out[16])
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
					  "device_offset", "system_uuid", "squash", "anonymous_uid",
					  "anonymous_gid", "clients",	  NULL};

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
	} else if (!strcmp(k, "squash")) {
		if (!strcasecmp(v, "none"))
			e->squash = "No_Root_Squash";
		else if (!strcasecmp(v, "root"))
			e->squash = "Root_Squash";
		else if (!strcasecmp(v, "all"))
			e->squash = "All_Squash";
		else
			return conf_err(file, ln, "squash '%s' must be none, root or all", v);
	} else if (!strcmp(k, "anonymous_uid") || !strcmp(k, "anonymous_gid")) {
		unsigned long id;

		if (parse_uint(v, 4294967294UL, &id))
			return conf_err(file, ln, "%s '%s' is not a number (0..4294967294)", k, v);
		if (k[10] == 'u') {
			e->anon_uid = (uint32_t)id;
			e->anon_uid_set = true;
		} else {
			e->anon_gid = (uint32_t)id;
			e->anon_gid_set = true;
		}
	} else if (!strcmp(k, "clients")) {
		if (!*v || strspn(v, "0123456789abcdefABCDEF.:/, *-_") != strlen(v))
			return conf_err(file, ln,
					"clients '%s': a comma-separated list of addresses, "
					"networks (10.0.0.0/8) or host names",
					v);
		free(e->clients);
		e->clients = xstrdup(v);
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

/** A line "[export NAME]" (@p s, trimmed): start export NAME. 0 or GW_EXIT_USAGE. */
static int conf_section(struct serve_cfg *c, const char *file, int ln, char *s,
			struct export_def **cur)
{
	char name[64];
	size_t len = strlen(s);

	if (s[len - 1] != ']')
		return conf_err(file, ln, "section header '%s' has no closing ']'", s);
	s[len - 1] = '\0';
	s = trim(s + 1);
	if (strncmp(s, "export", 6) || !isspace((unsigned char)s[6]))
		return conf_err(file, ln, "unknown section '[%s]' (expected [export NAME])", s);
	if (strlen(trim(s + 6)) >= sizeof(name))
		return conf_err(file, ln, "export name longer than %zu characters",
				sizeof(name) - 1);
	snprintf(name, sizeof(name), "%s", trim(s + 6));
	for (char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return conf_err(file, ln,
					"export name '%s': use letters, "
					"digits, '_', '.' and '-'",
					name);
	}
	if (!*name || strlen(name) >= sizeof((*cur)->name))
		return conf_err(file, ln,
				"an export needs a name of 1 to 63 "
				"characters: [export NAME]");
	for (size_t i = 0; i < c->nex; i++) {
		if (!strcmp(c->ex[i].name, name))
			return conf_err(file, ln,
					"export '%s' is defined twice "
					"(first on line %d)",
					name, c->ex[i].line);
	}
	if (c->nex >= MAX_EXPORTS)
		return conf_err(file, ln, "more than %d exports", MAX_EXPORTS);
	*cur = &c->ex[c->nex++];
	memset(*cur, 0, sizeof(**cur));
	snprintf((*cur)->name, sizeof((*cur)->name), "%s", name);
	(*cur)->line = ln;
	return 0;
}

/**
 * A line "key = value" (@p s, trimmed), a global setting while @p cur is NULL, else one
 * of export @p cur. 0 or GW_EXIT_USAGE.
 */
static int conf_setting(struct serve_cfg *c, const char *file, int ln, char *s,
			struct export_def *cur)
{
	char *eq = strchr(s, '='), *k, *v;

	if (!eq)
		return conf_err(file, ln, "expected 'key = value' or '[export NAME]', got '%s'", s);
	*eq = '\0';
	k = trim(s);
	v = trim(eq + 1);
	if (!*k)
		return conf_err(file, ln, "a setting without a name");
	for (char *p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[strlen(v) - 1] == v[0]) {
		v[strlen(v) - 1] = '\0';
		v++;
	}
	if (!in_list(global_keys, k) && !in_list(export_keys, k))
		return conf_err(file, ln,
				"unknown setting '%s' (global: port, bind, run_dir, "
				"log_follow_ms, system_uuid, plugin_dir, protocols; in [export "
				"NAME]: device, path, pseudo, access, device_offset, system_uuid, "
				"squash, anonymous_uid, anonymous_gid, clients)",
				k);
	if (!*v)
		return conf_err(file, ln, "'%s' has no value", k);
	if (cur && !in_list(export_keys, k))
		return conf_err(file, ln,
				"'%s' is a global setting: put it before the "
				"first [export NAME] section",
				k);
	if (!cur && !in_list(global_keys, k))
		return conf_err(file, ln, "'%s' belongs in an [export NAME] section", k);
	return cur ? conf_export(cur, file, ln, k, v) : conf_global(c, file, ln, k, v);
}

/** After the last line: every export has a device; defaults; pseudo paths differ. */
static int conf_finish(struct serve_cfg *c, const char *file)
{
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

/** Read a gateway config (format: config/famfs-gw.conf). 0 or GW_EXIT_USAGE. */
int conf_load(struct serve_cfg *c, const char *file)
{
	struct export_def *cur = NULL;
	char line[4096];
	int ln = 0, rc = 0;
	FILE *f = fopen(file, "re");

	if (!f) {
		gw_error(SERVE, "%s: %s", file, strerror(errno));
		return GW_EXIT_USAGE;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		char *s;

		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = conf_err(file, ln, "line too long");
			break;
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
		rc = *s == '[' ? conf_section(c, file, ln, s, &cur)
			       : conf_setting(c, file, ln, s, cur);
	}
	fclose(f);
	return rc ? rc : conf_finish(c, file);
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

/**
 * The value of @p key (after its '='; s->tok holds the first token) inside @p blocks:
 * the first token is kept, the rest up to ';' skipped (kept in a list for Protocols).
 */
static int gs_setting(struct gscan *s, struct serve_cfg *c, const char *file, char *blocks[4],
		      int depth, struct export_def *e, const char *key)
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
			return conf_err(file, s->line, "NFS_Port '%s' is not a port", val);
		if (!strcasecmp(key, "MNT_Port") && strcmp(val, "0") &&
		    parse_port(val, &c->mnt_port))
			return conf_err(file, s->line, "MNT_Port '%s' is not a port", val);
		if (!strcasecmp(key, "Protocols") || !strcasecmp(key, "NFS_Protocols")) {
			char *v3 = strchr(list, '3');

			/* only whether NFSv3 (which needs rpcbind) is on matters */
			snprintf(c->protocols, sizeof(c->protocols), "%s", v3 ? "3, 4" : "4");
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
		else if (!strcasecmp(key, "Device_Offset") && gw_parse_size(val, &e->offset))
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
	return 0;
}

static int gs_block(struct gscan *s, struct serve_cfg *c, const char *file, char *blocks[4],
		    int depth, struct export_def *e)
{
	char key[128];
	int rc;

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
		rc = gs_setting(s, c, file, blocks, depth, e, key);
		if (rc)
			return rc;
	}
	return depth > 0 ? conf_err(file, s->line, "a block is not closed with '}'") : 0;
}

int ganesha_conf_scan(struct serve_cfg *c, const char *file)
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

bool is_famfs(const struct export_def *e)
{
	return e->fsal && !strcasecmp(e->fsal, "FAMFS");
}

void serve_cfg_free(struct serve_cfg *c)
{
	for (size_t i = 0; i < c->nex; i++) {
		struct export_def *e = &c->ex[i];

		free(e->device);
		free(e->device_abs);
		free(e->path);
		free(e->pseudo);
		free(e->fsal);
		free(e->system_uuid);
		free(e->clients);
	}
	free(c->run_dir);
	free(c->system_uuid);
	free(c->plugin_dir);
	free(c->ganesha_conf);
	memset(c, 0, sizeof(*c));
}

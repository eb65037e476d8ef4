// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_serve_config.c
 * @brief famfs-gw serve's config parsers (gateway/serve/config.c): the gateway config
 *        (conf_load) and the ganesha.conf scan (ganesha_conf_scan).
 *
 * config.c is compiled into this test on its own, with famfs-core for the UUID parser.
 * gateway/main.c (which holds main()) is not linked: gw_error() and gw_parse_size() are
 * stood in for below. Error messages go to stderr, which each test captures into a
 * temporary file to check that a bad line is named as FILE:LINE.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw.h"
#include "config.h"

#ifndef FAMFS_SRC_DIR
#error "FAMFS_SRC_DIR: the repository's top directory"
#endif

/* ------------------------------------------------------------------ link seams */

void gw_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "famfs-gw: %s: %s\n", cmd, msg);
}

/* Plain numbers only: the units of the real one are not under test here. */
int gw_parse_size(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

/* ------------------------------------------------------------------ helpers */

static struct serve_cfg cfg; /* about 10 KB: not on the stack */
static char conf_path[64];
static char err_text[4096];
static int saved_stderr = -1;
static FILE *err_file;

/* Write @p text to a new temporary config file (its name in conf_path). */
static void write_conf(const char *text)
{
	int fd;

	snprintf(conf_path, sizeof(conf_path), "/tmp/serve-conf-XXXXXX");
	fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void capture_stderr(void)
{
	fflush(stderr);
	err_file = tmpfile();
	assert_non_null(err_file);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(err_file), STDERR_FILENO) >= 0);
}

/* Restore stderr; what was written meanwhile goes to err_text. */
static void release_stderr(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(err_file);
	n = fread(err_text, 1, sizeof(err_text) - 1, err_file);
	err_text[n] = '\0';
	fclose(err_file);
}

/* conf_load() on @p text: its return value, stderr in err_text. */
static int load_text(const char *text)
{
	int rc;

	write_conf(text);
	capture_stderr();
	rc = conf_load(&cfg, conf_path);
	release_stderr();
	unlink(conf_path);
	return rc;
}

/* err_text is "famfs-gw: serve: <conf_path>:<line>: " followed by @p what. */
static void assert_error_at(int line, const char *what)
{
	char want[512];

	snprintf(want, sizeof(want), "famfs-gw: serve: %s:%d: %s", conf_path, line, what);
	if (strncmp(err_text, want, strlen(want)))
		fail_msg("stderr: '%s', expected it to start with '%s'", err_text, want);
}

static int reset(void **state)
{
	(void)state;
	serve_cfg_free(&cfg);
	err_text[0] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ conf_load */

static void conf_load_sample_config(void **state)
{
	(void)state;
	assert_int_equal(conf_load(&cfg, FAMFS_SRC_DIR "/config/famfs-gw.conf"), 0);
	assert_int_equal(cfg.port, 20490);
	assert_string_equal(cfg.bind, "127.0.0.1");
	assert_int_equal(cfg.follow_ms, 1000);
	assert_null(cfg.run_dir);
	assert_null(cfg.system_uuid);
	assert_int_equal(cfg.nex, 1);
	assert_string_equal(cfg.ex[0].name, "demo");
	assert_string_equal(cfg.ex[0].device, "build/demo/famfs-demo.img");
	assert_string_equal(cfg.ex[0].path, "/");
	assert_string_equal(cfg.ex[0].pseudo, "/famfs");
	assert_false(cfg.ex[0].ro);
	assert_int_equal(cfg.ex[0].offset, 0);
	assert_true(cfg.ex[0].line > 0);
}

static void conf_load_settings_and_defaults(void **state)
{
	(void)state;
	assert_int_equal(load_text("port = 3049  # a comment\n"
				   "bind = \"10.0.0.1\"\n"
				   "PROTOCOLS = 4\n"
				   "log_follow_ms = 50\n"
				   "[export one]\n"
				   "device = a.img\n"
				   "access = RO\n"
				   "device_offset = 4096\n"
				   "[ export two ]\n"
				   "device = b#c.img\n"
				   "path = /dir\n"),
			 0);
	assert_int_equal(cfg.port, 3049);
	assert_string_equal(cfg.bind, "10.0.0.1");
	assert_string_equal(cfg.protocols, "4");
	assert_true(cfg.protocols_set);
	assert_int_equal(cfg.follow_ms, 50);
	assert_int_equal(cfg.nex, 2);
	assert_true(cfg.ex[0].ro);
	assert_int_equal(cfg.ex[0].offset, 4096);
	assert_string_equal(cfg.ex[0].pseudo, "/famfs/one"); /* several exports */
	assert_string_equal(cfg.ex[1].device, "b#c.img");    /* '#' only after a space */
	assert_string_equal(cfg.ex[1].path, "/dir");
	assert_string_equal(cfg.ex[1].pseudo, "/famfs/two");
}

static void conf_load_bad_line_names_file_and_line(void **state)
{
	(void)state;
	assert_int_equal(load_text("port = 20490\n\n# fine so far\nnot a setting\n"),
			 GW_EXIT_USAGE);
	assert_error_at(4, "expected 'key = value' or '[export NAME]', got 'not a setting'");
}

static void conf_load_unknown_key_refused(void **state)
{
	(void)state;
	assert_int_equal(load_text("[export a]\ndevice = d\ncolour = blue\n"), GW_EXIT_USAGE);
	assert_error_at(3, "unknown setting 'colour' (global: port, bind, run_dir, ");
}

static void conf_load_bad_port_refused(void **state)
{
	static const char *const bad[] = {"70000", "65535", "0", "-1", "20x", "port"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128], what[128];

		snprintf(text, sizeof(text), "port = %s\n[export a]\ndevice = d\n", bad[i]);
		assert_int_equal(load_text(text), GW_EXIT_USAGE);
		snprintf(what, sizeof(what), "port '%s' is not a number from 1 to 65534", bad[i]);
		assert_error_at(1, what);
		serve_cfg_free(&cfg);
	}
}

static void conf_load_misplaced_and_duplicate_refused(void **state)
{
	(void)state;
	assert_int_equal(load_text("[export a]\ndevice = d\nport = 1\n"), GW_EXIT_USAGE);
	assert_error_at(3, "'port' is a global setting");
	serve_cfg_free(&cfg);
	assert_int_equal(load_text("device = d\n"), GW_EXIT_USAGE);
	assert_error_at(1, "'device' belongs in an [export NAME] section");
	serve_cfg_free(&cfg);
	assert_int_equal(load_text("[export a]\ndevice = d\n[export a]\n"), GW_EXIT_USAGE);
	assert_error_at(3, "export 'a' is defined twice (first on line 1)");
	serve_cfg_free(&cfg);
	assert_int_equal(load_text("[export a]\ndevice = d\npseudo = /p\n"
				   "[export b]\ndevice = d\npseudo = /p\n"),
			 GW_EXIT_USAGE);
	assert_error_at(4, "export 'b' has the same pseudo path '/p' as export 'a'");
}

static void conf_load_no_export_refused(void **state)
{
	char want[128];

	(void)state;
	assert_int_equal(load_text("port = 1\n"), GW_EXIT_USAGE);
	snprintf(want, sizeof(want), "famfs-gw: serve: %s: no [export NAME] section", conf_path);
	assert_non_null(strstr(err_text, want));
}

static void conf_load_missing_file(void **state)
{
	(void)state;
	capture_stderr();
	assert_int_equal(conf_load(&cfg, "/nonexistent/famfs-gw.conf"), GW_EXIT_USAGE);
	release_stderr();
	assert_string_equal(err_text, "famfs-gw: serve: /nonexistent/famfs-gw.conf: "
				      "No such file or directory\n");
}

/* ------------------------------------------------------------------ ganesha_conf_scan */

static void ganesha_conf_scan_single_sample(void **state)
{
	const struct export_def *e = &cfg.ex[0];

	(void)state;
	assert_int_equal(ganesha_conf_scan(&cfg, FAMFS_SRC_DIR "/config/ganesha-famfs-single.conf"),
			 0);
	assert_int_equal(cfg.port, 20490);
	assert_int_equal(cfg.mnt_port, 20491);
	assert_string_equal(cfg.bind, "127.0.0.1");
	assert_string_equal(cfg.protocols, "3, 4");
	assert_true(cfg.protocols_set);
	assert_string_equal(cfg.plugin_dir, "/usr/lib/x86_64-linux-gnu/ganesha");
	assert_int_equal(cfg.follow_ms, 1000);
	assert_int_equal(cfg.nex, 1);
	assert_true(is_famfs(e));
	assert_int_equal(e->id, 1);
	assert_string_equal(e->device, "/var/lib/famfs-gw/famfs.img");
	assert_string_equal(e->path, "/");
	assert_string_equal(e->pseudo, "/famfs");
	assert_false(e->ro);
	assert_null(e->system_uuid); /* commented out in the sample */
}

static void ganesha_conf_scan_multi_sample(void **state)
{
	(void)state;
	assert_int_equal(ganesha_conf_scan(&cfg, FAMFS_SRC_DIR "/config/ganesha-famfs-multi.conf"),
			 0);
	assert_int_equal(cfg.nex, 3);
	for (size_t i = 0; i < cfg.nex; i++) {
		assert_true(is_famfs(&cfg.ex[i]));
		assert_int_equal(cfg.ex[i].id, i + 1);
	}
	assert_string_equal(cfg.ex[0].pseudo, "/famfs/a");
	assert_string_equal(cfg.ex[1].device, "/var/lib/famfs-gw/famfs-b.img");
	assert_string_equal(cfg.ex[2].pseudo, "/projects");
}

static void ganesha_conf_scan_errors_name_line(void **state)
{
	(void)state;
	write_conf("EXPORT {\n\tFSAL { Name = VFS; }\n");
	capture_stderr();
	assert_int_equal(ganesha_conf_scan(&cfg, conf_path), GW_EXIT_USAGE);
	release_stderr();
	assert_error_at(3, "a block is not closed with '}'");
	unlink(conf_path);
	serve_cfg_free(&cfg);

	write_conf("NFS_CORE_PARAM {\n\tNFS_Port = 99999;\n}\n");
	capture_stderr();
	assert_int_equal(ganesha_conf_scan(&cfg, conf_path), GW_EXIT_USAGE);
	release_stderr();
	assert_error_at(2, "NFS_Port '99999' is not a port");
	unlink(conf_path);
	serve_cfg_free(&cfg);

	write_conf("EXPORT { Export_Id = 1; FSAL { Name = FAMFS; } }\n");
	capture_stderr();
	assert_int_equal(ganesha_conf_scan(&cfg, conf_path), GW_EXIT_USAGE);
	release_stderr();
	assert_error_at(1, "FAMFS export '/' has no Device");
	unlink(conf_path);
}

/* Who may do what: squash, anonymous ids and the clients list of an export. */
static void conf_load_export_rules(void **state)
{
	(void)state;
	assert_int_equal(load_text("[export one]\n"
				   "device = a.img\n"
				   "squash = all\n"
				   "anonymous_uid = 4000\n"
				   "anonymous_gid = 4001\n"
				   "clients = 127.0.0.1, 10.0.0.0/8\n"
				   "[export two]\n"
				   "device = b.img\n"
				   "squash = Root\n"),
			 0);
	assert_string_equal(cfg.ex[0].squash, "All_Squash");
	assert_true(cfg.ex[0].anon_uid_set && cfg.ex[0].anon_gid_set);
	assert_int_equal(cfg.ex[0].anon_uid, 4000);
	assert_int_equal(cfg.ex[0].anon_gid, 4001);
	assert_string_equal(cfg.ex[0].clients, "127.0.0.1, 10.0.0.0/8");
	assert_string_equal(cfg.ex[1].squash, "Root_Squash");
	assert_false(cfg.ex[1].anon_uid_set);
	assert_null(cfg.ex[1].clients);
	serve_cfg_free(&cfg);
	assert_int_equal(load_text("[export one]\ndevice = a.img\nsquash = some\n"), GW_EXIT_USAGE);
	assert_error_at(3, "squash 'some' must be none, root or all");
	serve_cfg_free(&cfg);
	assert_int_equal(load_text("[export one]\ndevice = a.img\nanonymous_uid = -1\n"),
			 GW_EXIT_USAGE);
	assert_error_at(3, "anonymous_uid '-1' is not a number");
	serve_cfg_free(&cfg);
	assert_int_equal(load_text("[export one]\ndevice = a.img\nclients = a;b\n"), GW_EXIT_USAGE);
	assert_error_at(3, "clients 'a;b'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(conf_load_sample_config, reset),
	    cmocka_unit_test_teardown(conf_load_settings_and_defaults, reset),
	    cmocka_unit_test_teardown(conf_load_bad_line_names_file_and_line, reset),
	    cmocka_unit_test_teardown(conf_load_unknown_key_refused, reset),
	    cmocka_unit_test_teardown(conf_load_bad_port_refused, reset),
	    cmocka_unit_test_teardown(conf_load_misplaced_and_duplicate_refused, reset),
	    cmocka_unit_test_teardown(conf_load_no_export_refused, reset),
	    cmocka_unit_test_teardown(conf_load_missing_file, reset),
	    cmocka_unit_test_teardown(conf_load_export_rules, reset),
	    cmocka_unit_test_teardown(ganesha_conf_scan_single_sample, reset),
	    cmocka_unit_test_teardown(ganesha_conf_scan_multi_sample, reset),
	    cmocka_unit_test_teardown(ganesha_conf_scan_errors_name_line, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

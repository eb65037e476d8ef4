/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_dev.c
 * @brief famfs_dev_open() on devdax devices in every state, through a libdaxctl seam.
 *
 * No machine here has a real /dev/daxX.Y, so libdaxctl's enumeration is replaced at link
 * time (-Wl,--wrap) by one fake device whose major:minor is that of /dev/null, a real
 * character device. The test then drives the device code through system-ram mode, a
 * disabled device, an unaligned size, a device too small, and a character device that
 * libdaxctl does not know.
 */
/* WRAP: daxctl_new daxctl_unref daxctl_region_get_first daxctl_region_get_next */
/* WRAP: daxctl_dev_get_first daxctl_dev_get_next daxctl_dev_get_devname */
/* WRAP: daxctl_dev_get_major daxctl_dev_get_minor daxctl_dev_is_enabled */
/* WRAP: daxctl_dev_get_size daxctl_dev_get_align daxctl_dev_get_memory */
/* WRAP: daxctl_dev_has_online_memory */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmocka.h>
#include <daxctl/libdaxctl.h>

#include "famfs/dev.h"
#include "famfs/msg.h"

static struct {
	int present; /* enumerate one device */
	unsigned int major, minor;
	int enabled;
	int system_ram;
	unsigned long long size;
	unsigned long align;
} fake;

static char last_msg[512];

static void capture(enum famfs_msg_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

/* Opaque handles: any distinct non-NULL pointers will do. */
static int ctx_token, region_token, dev_token, mem_token;

int __wrap_daxctl_new(struct daxctl_ctx **ctx);
int __wrap_daxctl_new(struct daxctl_ctx **ctx)
{
	*ctx = (struct daxctl_ctx *)&ctx_token;
	return 0;
}

struct daxctl_ctx *__wrap_daxctl_unref(struct daxctl_ctx *ctx);
struct daxctl_ctx *__wrap_daxctl_unref(struct daxctl_ctx *ctx)
{
	(void)ctx;
	return NULL;
}

struct daxctl_region *__wrap_daxctl_region_get_first(struct daxctl_ctx *ctx);
struct daxctl_region *__wrap_daxctl_region_get_first(struct daxctl_ctx *ctx)
{
	(void)ctx;
	return fake.present ? (struct daxctl_region *)&region_token : NULL;
}

struct daxctl_region *__wrap_daxctl_region_get_next(struct daxctl_region *r);
struct daxctl_region *__wrap_daxctl_region_get_next(struct daxctl_region *r)
{
	(void)r;
	return NULL;
}

struct daxctl_dev *__wrap_daxctl_dev_get_first(struct daxctl_region *r);
struct daxctl_dev *__wrap_daxctl_dev_get_first(struct daxctl_region *r)
{
	(void)r;
	return (struct daxctl_dev *)&dev_token;
}

struct daxctl_dev *__wrap_daxctl_dev_get_next(struct daxctl_dev *d);
struct daxctl_dev *__wrap_daxctl_dev_get_next(struct daxctl_dev *d)
{
	(void)d;
	return NULL;
}

const char *__wrap_daxctl_dev_get_devname(struct daxctl_dev *d);
const char *__wrap_daxctl_dev_get_devname(struct daxctl_dev *d)
{
	(void)d;
	return "dax9.0";
}

int __wrap_daxctl_dev_get_major(struct daxctl_dev *d);
int __wrap_daxctl_dev_get_major(struct daxctl_dev *d)
{
	(void)d;
	return (int)fake.major;
}

int __wrap_daxctl_dev_get_minor(struct daxctl_dev *d);
int __wrap_daxctl_dev_get_minor(struct daxctl_dev *d)
{
	(void)d;
	return (int)fake.minor;
}

int __wrap_daxctl_dev_is_enabled(struct daxctl_dev *d);
int __wrap_daxctl_dev_is_enabled(struct daxctl_dev *d)
{
	(void)d;
	return fake.enabled;
}

unsigned long long __wrap_daxctl_dev_get_size(struct daxctl_dev *d);
unsigned long long __wrap_daxctl_dev_get_size(struct daxctl_dev *d)
{
	(void)d;
	return fake.size;
}

unsigned long __wrap_daxctl_dev_get_align(struct daxctl_dev *d);
unsigned long __wrap_daxctl_dev_get_align(struct daxctl_dev *d)
{
	(void)d;
	return fake.align;
}

struct daxctl_memory *__wrap_daxctl_dev_get_memory(struct daxctl_dev *d);
struct daxctl_memory *__wrap_daxctl_dev_get_memory(struct daxctl_dev *d)
{
	(void)d;
	return fake.system_ram ? (struct daxctl_memory *)&mem_token : NULL;
}

int __wrap_daxctl_dev_has_online_memory(struct daxctl_dev *d);
int __wrap_daxctl_dev_has_online_memory(struct daxctl_dev *d)
{
	(void)d;
	return fake.system_ram;
}

static int setup(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat("/dev/null", &st), 0);
	memset(&fake, 0, sizeof(fake));
	fake.present = 1;
	fake.major = major(st.st_rdev);
	fake.minor = minor(st.st_rdev);
	fake.enabled = 1;
	fake.size = 4ULL << 30;
	fake.align = 2 << 20;
	last_msg[0] = '\0';
	famfs_set_msg_fn(capture, NULL);
	return 0;
}

static void famfs_dev_open_refuses_system_ram_mode(void **state)
{
	struct famfs_dev *dev = NULL;
	(void)state;

	fake.system_ram = 1;
	assert_int_equal(famfs_dev_open("/dev/null", NULL, &dev), -ENODEV);
	assert_null(dev);
	assert_non_null(strstr(last_msg, "system-ram mode"));
	assert_non_null(strstr(last_msg, "daxctl reconfigure-device --mode=devdax"));
}

static void famfs_dev_open_refuses_disabled_device(void **state)
{
	struct famfs_dev *dev = NULL;
	(void)state;

	fake.enabled = 0;
	assert_int_equal(famfs_dev_open("/dev/null", NULL, &dev), -ENODEV);
	assert_non_null(strstr(last_msg, "not enabled"));
}

static void famfs_dev_open_refuses_unaligned_size(void **state)
{
	struct famfs_dev *dev = NULL;
	(void)state;

	fake.size = (4ULL << 30) + 4096;
	assert_int_equal(famfs_dev_open("/dev/null", NULL, &dev), -EINVAL);
	assert_non_null(strstr(last_msg, "not a multiple of 2 MiB"));
	fake.size = 3ULL << 30;
	fake.align = 1UL << 30;
	fake.size += 2 << 20; /* 2 MiB-aligned, not 1 GiB-aligned */
	assert_int_equal(famfs_dev_open("/dev/null", NULL, &dev), -EINVAL);
	assert_non_null(strstr(last_msg, "device alignment"));
}

static void famfs_dev_open_refuses_too_small(void **state)
{
	struct famfs_dev *dev = NULL;
	(void)state;

	fake.size = 8ULL << 20;
	assert_int_equal(famfs_dev_open("/dev/null", NULL, &dev), -ENOSPC);
	assert_non_null(strstr(last_msg, "too small"));
}

static void famfs_dev_open_refuses_non_dax_chardev(void **state)
{
	struct famfs_dev *dev = NULL;
	(void)state;

	fake.present = 0;
	assert_int_equal(famfs_dev_open("/dev/null", NULL, &dev), -ENODEV);
	assert_non_null(strstr(last_msg, "is not a devdax device"));
}

static void famfs_dev_open_maps_a_valid_devdax(void **state)
{
	struct famfs_dev *dev = NULL;
	int rc;
	(void)state;

	/* A valid device gets as far as mmap, which /dev/null itself refuses. */
	rc = famfs_dev_open("/dev/null", NULL, &dev);
	assert_int_equal(rc, -ENODEV);
	assert_non_null(strstr(last_msg, "cannot map"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(famfs_dev_open_refuses_system_ram_mode, setup),
	    cmocka_unit_test_setup(famfs_dev_open_refuses_disabled_device, setup),
	    cmocka_unit_test_setup(famfs_dev_open_refuses_unaligned_size, setup),
	    cmocka_unit_test_setup(famfs_dev_open_refuses_too_small, setup),
	    cmocka_unit_test_setup(famfs_dev_open_refuses_non_dax_chardev, setup),
	    cmocka_unit_test_setup(famfs_dev_open_maps_a_valid_devdax, setup),
	};

	return cmocka_run_group_tests_name("dev", tests, NULL, NULL);
}

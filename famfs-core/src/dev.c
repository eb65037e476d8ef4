/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dev.c
 * @brief Open and map a devdax device (through libdaxctl) or a regular file.
 */
#include <daxctl/libdaxctl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "famfs/dev.h"
#include "famfs/omf.h"
#include "internal.h"

uint64_t famfs_dev_min_size(uint64_t log_len)
{
	return FAMFS_LOG_OFFSET + log_len + FAMFS_ALLOC_UNIT;
}

struct dax_info {
	bool found;
	bool enabled;
	bool system_ram;
	uint64_t size;
	uint64_t align;
};

/* Find the devdax device named @name (e.g. "dax0.0") or with @major:@minor. */
static int dax_lookup(const char *name, int major, int minor, struct dax_info *info)
{
	struct daxctl_region *region;
	struct daxctl_ctx *ctx;
	struct daxctl_dev *dev;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = daxctl_new(&ctx);
	if (rc < 0)
		return rc;
	daxctl_region_foreach(ctx, region)
	{
		daxctl_dev_foreach(region, dev)
		{
			const char *dn = daxctl_dev_get_devname(dev);
			bool by_name = dn && strcmp(dn, name) == 0;
			bool by_num = major >= 0 && daxctl_dev_get_major(dev) == major &&
				      daxctl_dev_get_minor(dev) == minor;

			if (!by_name && !by_num)
				continue;
			info->found = true;
			info->enabled = daxctl_dev_is_enabled(dev);
			info->size = daxctl_dev_get_size(dev);
			info->align = daxctl_dev_get_align(dev);
			/* A device handed to the kmem driver has memory blocks. */
			info->system_ram = daxctl_dev_get_memory(dev) != NULL &&
					   daxctl_dev_has_online_memory(dev) > 0;
			goto out;
		}
	}
out:
	daxctl_unref(ctx);
	return 0;
}

int famfs_dev_create_file(const char *path, uint64_t size)
{
	int fd;

	if (size % FAMFS_ALLOC_UNIT) {
		famfs_err("%s: size %llu is not a multiple of 2 MiB", path,
			  (unsigned long long)size);
		return -EINVAL;
	}
	if (size < famfs_dev_min_size(FAMFS_LOG_LEN_MIN)) {
		famfs_err("%s: size %llu is too small (at least %llu bytes)", path,
			  (unsigned long long)size,
			  (unsigned long long)famfs_dev_min_size(FAMFS_LOG_LEN_MIN));
		return -EINVAL;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int rc = -errno;

		famfs_err("%s: cannot create: %s", path, strerror(errno));
		return rc;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		int rc = -errno;

		famfs_err("%s: cannot size to %llu bytes: %s", path, (unsigned long long)size,
			  strerror(errno));
		close(fd);
		unlink(path);
		return rc;
	}
	close(fd);
	return 0;
}

/* Size and alignment of a character device: libdaxctl, or an error that says why not. */
static int dev_probe_chr(const char *path, const struct stat *st, struct famfs_dev *dev)
{
	const char *base = strrchr(path, '/');
	struct dax_info info;
	int rc;

	base = base ? base + 1 : path;
	rc = dax_lookup(base, (int)major(st->st_rdev), (int)minor(st->st_rdev), &info);
	if (rc < 0) {
		famfs_err("%s: libdaxctl cannot enumerate dax devices: %s", path, strerror(-rc));
		return rc;
	}
	if (!info.found) {
		famfs_err("%s: character device %u:%u is not a devdax device", path,
			  major(st->st_rdev), minor(st->st_rdev));
		return -ENODEV;
	}
	if (info.system_ram) {
		famfs_err("%s: dax device is in system-ram mode; switch it with "
			  "'daxctl reconfigure-device --mode=devdax %s'",
			  path, base);
		return -ENODEV;
	}
	if (!info.enabled) {
		famfs_err("%s: dax device is not enabled", path);
		return -ENODEV;
	}
	dev->is_dax = true;
	dev->size = info.size;
	dev->align = info.align;
	return 0;
}

/* Explain why a missing /dev/daxX.Y is missing when libdaxctl knows the device. */
static void explain_missing(const char *path)
{
	const char *base = strrchr(path, '/');
	struct dax_info info;

	base = base ? base + 1 : path;
	if (strncmp(base, "dax", 3) || dax_lookup(base, -1, -1, &info) < 0 || !info.found)
		return;
	if (info.system_ram || !info.enabled)
		famfs_err("%s: the dax device exists but is not in devdax mode (system-ram or "
			  "disabled); use 'daxctl reconfigure-device --mode=devdax %s'",
			  path, base);
}

int famfs_dev_open(const char *path, const struct famfs_dev_opts *opts, struct famfs_dev **out)
{
	static const struct famfs_dev_opts defaults;
	struct famfs_dev *dev;
	struct stat st;
	int prot, rc;

	if (!opts)
		opts = &defaults;
	*out = NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->fd = -1;
	dev->readonly = opts->readonly;
	dev->offset = opts->offset;
	snprintf(dev->path, sizeof(dev->path), "%s", path);

	/* Refuse what cannot be a device before open() (a FIFO would block it). */
	if (stat(path, &st) == 0 && !S_ISCHR(st.st_mode) && !S_ISREG(st.st_mode)) {
		famfs_err("%s: neither a devdax character device nor a regular file", path);
		rc = -ENODEV;
		goto err_free;
	}
	dev->fd = open(path, (opts->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (dev->fd < 0) {
		rc = -errno;
		famfs_err("%s: cannot open: %s", path, strerror(errno));
		if (rc == -ENOENT)
			explain_missing(path);
		goto err_free;
	}
	if (fstat(dev->fd, &st) < 0) {
		rc = -errno;
		famfs_err("%s: cannot stat: %s", path, strerror(errno));
		goto err_close;
	}
	if (S_ISCHR(st.st_mode)) {
		rc = dev_probe_chr(path, &st, dev);
		if (rc)
			goto err_close;
	} else if (S_ISREG(st.st_mode)) {
		dev->size = (uint64_t)st.st_size;
	} else {
		famfs_err("%s: neither a devdax character device nor a regular file", path);
		rc = -ENODEV;
		goto err_close;
	}
	if (dev->offset % FAMFS_ALLOC_UNIT || dev->offset >= dev->size) {
		famfs_err("%s: offset %llu is not a multiple of 2 MiB inside the device", path,
			  (unsigned long long)dev->offset);
		rc = -EINVAL;
		goto err_close;
	}
	dev->map_len = dev->size;
	dev->size -= dev->offset;
	if (dev->size % FAMFS_ALLOC_UNIT || (dev->align && dev->map_len % dev->align)) {
		famfs_err("%s: size %llu is not a multiple of 2 MiB%s", path,
			  (unsigned long long)dev->size,
			  dev->align ? " and of the device alignment" : "");
		rc = -EINVAL;
		goto err_close;
	}
	if (dev->size < famfs_dev_min_size(FAMFS_LOG_LEN_MIN)) {
		famfs_err("%s: %llu bytes is too small for famfs (at least %llu)", path,
			  (unsigned long long)dev->size,
			  (unsigned long long)famfs_dev_min_size(FAMFS_LOG_LEN_MIN));
		rc = -ENOSPC;
		goto err_close;
	}
	prot = PROT_READ | (opts->readonly ? 0 : PROT_WRITE);
	dev->map_addr = mmap(NULL, dev->map_len, prot, MAP_SHARED, dev->fd, 0);
	if (dev->map_addr == MAP_FAILED) {
		rc = -errno;
		famfs_err("%s: cannot map %llu bytes: %s", path, (unsigned long long)dev->map_len,
			  strerror(errno));
		goto err_close;
	}
	dev->base = (uint8_t *)dev->map_addr + dev->offset;
	*out = dev;
	return 0;

err_close:
	close(dev->fd);
err_free:
	free(dev);
	return rc;
}

void famfs_dev_close(struct famfs_dev *dev)
{
	if (!dev)
		return;
	if (dev->map_addr && dev->map_addr != MAP_FAILED)
		munmap(dev->map_addr, dev->map_len);
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev);
}

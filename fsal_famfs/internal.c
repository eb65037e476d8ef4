/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file internal.c
 * @brief FSAL_FAMFS helpers: the shared device table, paths, attributes.
 *
 * Devices: every export names a device (and optionally an offset and a system
 * UUID). Exports that name the same triple share one famfs_fs, so one process
 * registers one host slot per device and follows each log once. The table is
 * protected by FAMFS.lock; a device is closed when its last export and its last
 * object handle have let go of it.
 */

#include "internal.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static bool same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/**
 * @brief Open a device, or take another reference on it when it is open.
 *
 * @param[in]  path         device or file
 * @param[in]  offset       famfs byte 0 inside it
 * @param[in]  system_uuid  host identity override, or NULL
 * @param[out] out          the device, with a reference
 *
 * @return 0 or -errno from famfs_fs_open() / the log follower.
 */
int famfs_device_get(const char *path, uint64_t offset, const char *system_uuid,
		     struct famfs_device **out)
{
	struct famfs_fs_opts opts = {
	    .readonly = false,
	    .system_uuid = system_uuid,
	    .dev_offset = offset,
	};
	struct famfs_device *dev;
	struct glist_head *node;
	const uint8_t *u;
	int rc;

	pthread_mutex_lock(&FAMFS.lock);
	glist_for_each(node, &FAMFS.devices)
	{
		dev = glist_entry(node, struct famfs_device, node);
		if (strcmp(dev->path, path) == 0 && dev->offset == offset &&
		    same_str(dev->system_uuid, system_uuid)) {
			dev->refcount++;
			pthread_mutex_unlock(&FAMFS.lock);
			*out = dev;
			return 0;
		}
	}

	dev = gsh_calloc(1, sizeof(*dev));
	rc = famfs_fs_open(path, &opts, &dev->fs);
	if (rc) {
		pthread_mutex_unlock(&FAMFS.lock);
		gsh_free(dev);
		return rc;
	}
	dev->path = gsh_strdup(path);
	dev->system_uuid = system_uuid ? gsh_strdup(system_uuid) : NULL;
	dev->offset = offset;
	dev->refcount = 1;
	dev->master = famfs_fs_role(dev->fs) == FAMFS_ROLE_MASTER;
	memcpy(dev->fs_uuid, famfs_fs_sb(dev->fs)->sb_uuid, FAMFS_UUID_LEN);
	u = dev->fs_uuid;
	memcpy(&dev->fsid.major, u, sizeof(uint64_t));
	memcpy(&dev->fsid.minor, u + 8, sizeof(uint64_t));
	pthread_mutex_init(&dev->exp_lock, NULL);
	glist_init(&dev->exports);

	rc = famfs_ll_new(dev->fs, false, &dev->ll);
	if (rc == 0)
		famfs_ll_set_commit(dev->ll, FAMFS.commit_ms, false); /* SETATTR logs at once */
	if (rc == 0) {
		rc = famfs_ll_follow(dev->ll, FAMFS.follow_ms, famfs_up_changed, dev);
		if (rc)
			LogCrit(COMPONENT_FSAL, "FAMFS: %s: cannot start the log follower: %s",
				path, strerror(-rc));
	}
	if (rc) {
		pthread_mutex_unlock(&FAMFS.lock);
		famfs_ll_free(dev->ll);
		famfs_fs_close(dev->fs);
		pthread_mutex_destroy(&dev->exp_lock);
		gsh_free(dev->system_uuid);
		gsh_free(dev->path);
		gsh_free(dev);
		return rc;
	}
	glist_add_tail(&FAMFS.devices, &dev->node);
	pthread_mutex_unlock(&FAMFS.lock);
	LogEvent(COMPONENT_FSAL, "FAMFS: opened %s (%s, %llu log entries)", path,
		 dev->master ? "master" : "client, read-only",
		 (unsigned long long)famfs_fs_stats(dev->fs)->entries);
	*out = dev;
	return 0;
}

/**
 * @brief Drop a reference; the last one stops the follower and closes the fs.
 *
 * @param[in] dev  the device
 */
void famfs_device_put(struct famfs_device *dev)
{
	pthread_mutex_lock(&FAMFS.lock);
	if (--dev->refcount > 0) {
		pthread_mutex_unlock(&FAMFS.lock);
		return;
	}
	glist_del(&dev->node);
	pthread_mutex_unlock(&FAMFS.lock);

	famfs_ll_free(dev->ll); /* stops the follower first */
	famfs_fs_close(dev->fs);
	LogEvent(COMPONENT_FSAL, "FAMFS: closed %s", dev->path);
	pthread_mutex_destroy(&dev->exp_lock);
	gsh_free(dev->system_uuid);
	gsh_free(dev->path);
	gsh_free(dev);
}

/**
 * @brief Turn an export Path ("/", "/dir1/", "dir1") into a famfs relpath.
 *
 * @param[in]  path  the path
 * @param[out] buf   the relpath ("" for the root), no leading or trailing '/'
 * @param[in]  len   size of @p buf
 *
 * @return 0 or -ENAMETOOLONG.
 */
int famfs_path_to_relpath(const char *path, char *buf, size_t len)
{
	size_t n;

	while (*path == '/')
		path++;
	n = strlen(path);
	while (n && path[n - 1] == '/')
		n--;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

/**
 * @brief The ganesha object type of a famfs mode.
 *
 * @param[in] mode  type and permission bits
 * @return the object type
 */
object_file_type_t famfs_obj_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return DIRECTORY;
	case S_IFLNK:
		return SYMBOLIC_LINK;
	case S_IFIFO:
		return FIFO_FILE;
	case S_IFSOCK:
		return SOCKET_FILE;
	case S_IFCHR:
		return CHARACTER_FILE;
	case S_IFBLK:
		return BLOCK_FILE;
	default:
		return REGULAR_FILE;
	}
}

static void ns_to_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

/**
 * @brief Fill ganesha attributes from famfs-core's.
 *
 * @param[in]     dev    the device (fsid)
 * @param[in]     a      the object's attributes
 * @param[in,out] attrs  request_mask in, values and valid_mask out
 */
void famfs_fill_attrs(const struct famfs_device *dev, const struct famfs_attr *a,
		      struct fsal_attrlist *attrs)
{
	attrs->valid_mask = ATTRS_POSIX;
	attrs->supported = ATTRS_POSIX;
	attrs->type = famfs_obj_type(a->mode);
	attrs->filesize = a->size;
	attrs->spaceused = a->space;
	attrs->fsid = dev->fsid;
	attrs->fileid = a->ino;
	attrs->mode = a->mode & 07777;
	attrs->numlinks = a->nlink;
	attrs->owner = a->uid;
	attrs->group = a->gid;
	attrs->rawdev.major = major((dev_t)a->rdev);
	attrs->rawdev.minor = minor((dev_t)a->rdev);
	ns_to_timespec(a->mtime_ns, &attrs->mtime);
	ns_to_timespec(a->ctime_ns, &attrs->ctime);
	ns_to_timespec(a->atime_ns, &attrs->atime);
	attrs->change = a->change;
}

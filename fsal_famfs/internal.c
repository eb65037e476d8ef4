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

#include "famfs/alloc.h"
#include "famfs/io.h"

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
	pthread_mutex_init(&dev->up_lock, NULL);
	pthread_cond_init(&dev->up_cond, NULL);
	pthread_mutex_init(&dev->exp_lock, NULL);
	glist_init(&dev->exports);

	rc = famfs_up_start(dev);
	if (rc) {
		pthread_mutex_unlock(&FAMFS.lock);
		famfs_fs_close(dev->fs);
		pthread_cond_destroy(&dev->up_cond);
		pthread_mutex_destroy(&dev->up_lock);
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

	famfs_up_stop(dev);
	famfs_fs_close(dev->fs);
	LogEvent(COMPONENT_FSAL, "FAMFS: closed %s", dev->path);
	pthread_cond_destroy(&dev->up_cond);
	pthread_mutex_destroy(&dev->up_lock);
	pthread_mutex_destroy(&dev->exp_lock);
	gsh_free(dev->changes);
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
 * @param[in] mode  S_IFDIR or S_IFREG plus permission bits
 * @return DIRECTORY or REGULAR_FILE
 */
object_file_type_t famfs_obj_type(mode_t mode)
{
	return S_ISDIR(mode) ? DIRECTORY : REGULAR_FILE;
}

static void ns_to_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

/**
 * @brief Fill ganesha attributes from a famfs inode.
 *
 * The caller holds famfs_fs_rdlock(). Space used is the allocated bytes, the
 * change attribute the later of ctime and mtime (ns), the fsid the fs UUID.
 *
 * @param[in]     dev    the device (fsid)
 * @param[in]     ino    the inode
 * @param[in,out] attrs  request_mask in, values and valid_mask out
 */
void famfs_fill_attrs(const struct famfs_device *dev, const struct famfs_inode *ino,
		      struct fsal_attrlist *attrs)
{
	bool dir = S_ISDIR(ino->mode);
	uint64_t change;

	attrs->valid_mask = ATTRS_POSIX;
	attrs->supported = ATTRS_POSIX;
	attrs->type = famfs_obj_type(ino->mode);
	attrs->filesize = dir ? 4096 : ino->size;
	attrs->spaceused = dir ? 4096 : famfs_fmap_capacity(&ino->fmap);
	attrs->fsid = dev->fsid;
	attrs->fileid = ino->ino;
	attrs->mode = ino->mode & 07777;
	/* A removed file still held open has no name left. */
	attrs->numlinks = dir ? 2 : (ino->removed_at != UINT64_MAX ? 0 : 1);
	attrs->owner = ino->uid;
	attrs->group = ino->gid;
	attrs->rawdev.major = 0;
	attrs->rawdev.minor = 0;
	ns_to_timespec(ino->mtime_ns, &attrs->mtime);
	ns_to_timespec(ino->ctime_ns, &attrs->ctime);
	ns_to_timespec(ino->atime_ns ? ino->atime_ns : ino->mtime_ns, &attrs->atime);
	change = ino->ctime_ns > ino->mtime_ns ? ino->ctime_ns : ino->mtime_ns;
	/* Never-set times: fall back to the creating entry so changes still show. */
	attrs->change = change ? change : (ino->log_index == UINT64_MAX ? 1 : ino->log_index + 2);
	if (dir)
		attrs->change += ino->nchildren;
}

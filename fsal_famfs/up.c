/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file up.c
 * @brief FSAL_FAMFS up-calls: tell MDCACHE what the log follower replayed.
 *
 * Shared CXL memory sends no notifications; famfs-core's shared layer (famfs/ll.h)
 * replays the log every FAMFS { Log_Follow_Interval_Ms } on its follower thread and
 * hands each batch of changes, sorted by inode number, to famfs_up_changed() with no
 * famfs-core lock held. The up-calls go through the up vector of one export of the
 * device (MDCACHE keys entries by handle key, which is the same for every export of a
 * device):
 *  - a directory, when a name in it came or went: FSAL_UP_INVALIDATE_DIR_POPULATED |
 *    DIR_CHUNKS | ATTRS;
 *  - any other changed object: FSAL_UP_INVALIDATE_ATTRS | CONTENT;
 * merged into one up-call per object and batch. A rebuilt view (log compaction) or too
 * many changes at once invalidate every object of the device.
 *
 * Locks: dev->exp_lock protects the export list only. It is held just long enough to
 * take a reference on the chosen export (exports leave the list at prepare_unexport,
 * before their references drain), never across an up-call: an up-call may drop the last
 * reference of an export, whose release takes exp_lock again.
 */

#include "internal.h"

#include <string.h>

#include "export_mgr.h"

/* The MDCACHE invalidation a change asks for. */
static uint32_t famfs_up_flags(unsigned int what)
{
	uint32_t flags = 0;

	if (what & FAMFS_LL_ENTRIES)
		flags |= FSAL_UP_INVALIDATE_DIR_POPULATED | FSAL_UP_INVALIDATE_DIR_CHUNKS |
			 FSAL_UP_INVALIDATE_ATTRS;
	if (what & ~(unsigned int)FAMFS_LL_ENTRIES)
		flags |= FSAL_UP_INVALIDATE_ATTRS | FSAL_UP_INVALIDATE_CONTENT;
	return flags;
}

/* Send one invalidate (the caller holds a reference on the export of @up). */
static void famfs_up_invalidate(struct famfs_device *dev, const struct fsal_up_vector *up,
				uint64_t ino, uint32_t flags)
{
	struct famfs_fh key;
	struct gsh_buffdesc desc = {.addr = &key, .len = sizeof(key)};
	fsal_status_t st;

	key.ino = htole64(ino);
	memcpy(key.fs_uuid, dev->fs_uuid, FAMFS_UUID_LEN);
	st = up->invalidate(up, &desc, flags);
	/* NOENT: MDCACHE holds no entry for it, nothing to do. */
	if (FSAL_IS_ERROR(st) && st.major != ERR_FSAL_NOENT)
		LogDebug(COMPONENT_FSAL_UP, "FAMFS: invalidate of inode %llu: %s",
			 (unsigned long long)ino, msg_fsal_err(st.major));
}

/**
 * @brief The shared layer's change callback: send the up-calls of one batch.
 *
 * @param[in] arg    the device
 * @param[in] c      changes sorted by inode number
 * @param[in] n      how many
 * @param[in] reset  the whole view changed: invalidate every object
 */
void famfs_up_changed(void *arg, const struct famfs_ll_change *c, size_t n, bool reset)
{
	struct famfs_device *dev = arg;
	const struct fsal_up_vector *up = NULL;
	struct gsh_export *gexp = NULL;
	uint64_t *all = NULL;
	size_t nall, k;

	pthread_mutex_lock(&dev->exp_lock);
	if (!glist_empty(&dev->exports)) {
		up = glist_first_entry(&dev->exports, struct famfs_fsal_export, dev_node)
			 ->export.up_ops;
		gexp = up ? up->up_gsh_export : NULL;
		if (gexp)
			get_gsh_export_ref(gexp);
	}
	pthread_mutex_unlock(&dev->exp_lock);
	if (!up)
		return;

	if (reset) {
		nall = famfs_ll_inodes(dev->ll, &all);
		LogEvent(COMPONENT_FSAL_UP, "FAMFS: %s: view rebuilt, invalidating %zu objects",
			 dev->path, nall);
		for (k = 0; k < nall; k++)
			famfs_up_invalidate(dev, up, all[k], FSAL_UP_INVALIDATE_CACHE);
		free(all);
	}
	for (k = 0; k < n; k++) {
		uint64_t ino = c[k].ino;
		uint32_t flags = 0;

		for (; k < n && c[k].ino == ino; k++)
			flags |= famfs_up_flags(c[k].what);
		k--;
		LogFullDebug(COMPONENT_FSAL_UP, "FAMFS: invalidate inode %llu flags 0x%x",
			     (unsigned long long)ino, flags);
		famfs_up_invalidate(dev, up, ino, flags);
	}
	if (gexp)
		put_gsh_export(gexp); /* may release the export: it takes exp_lock itself */
}

/**
 * @brief Let the follower of @p dev send up-calls through @p exp.
 */
void famfs_up_attach(struct famfs_device *dev, struct famfs_fsal_export *exp)
{
	pthread_mutex_lock(&dev->exp_lock);
	glist_add_tail(&dev->exports, &exp->dev_node);
	pthread_mutex_unlock(&dev->exp_lock);
}

/**
 * @brief Stop using @p exp for up-calls (unexport, or release).
 */
void famfs_up_detach(struct famfs_device *dev, struct famfs_fsal_export *exp)
{
	pthread_mutex_lock(&dev->exp_lock);
	if (!glist_null(&exp->dev_node)) {
		glist_del(&exp->dev_node); /* leaves it null: a second detach does nothing */
	}
	pthread_mutex_unlock(&dev->exp_lock);
}

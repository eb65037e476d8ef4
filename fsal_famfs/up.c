/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file up.c
 * @brief FSAL_FAMFS log follower: replay what other hosts logged, tell MDCACHE.
 *
 * Shared CXL memory sends no notifications, so every open device has a thread
 * that calls famfs_fs_refresh() every FAMFS { Log_Follow_Interval_Ms }. The
 * change callback (famfs_fs_set_change_fn) runs inside replay with the
 * namespace write-locked: it only records the change. After refresh returns
 * the thread sends the up-calls, through the up vector of one export of the
 * device (MDCACHE keys entries by handle key, which is the same for every
 * export of a device):
 *  - the directory, when a name in it came or went: FSAL_UP_INVALIDATE_DIR_POPULATED |
 *    DIR_CHUNKS | ATTRS;
 *  - the object: FSAL_UP_INVALIDATE_ATTRS | CONTENT;
 * merged into one up-call per object and step.
 * A rebuilt view (log compaction) or too many changes at once invalidate
 * every object of the device.
 *
 * Locks: dev->up_lock protects the change list and the stop flag; the change
 * callback takes it inside replay (namespace write-locked), so nothing that
 * may wait for the namespace lock is ever done while holding it. dev->exp_lock
 * protects the export list and is held while sending up-calls, so that an
 * export cannot be freed under its up vector; the change callback never takes
 * it.
 */

#include "internal.h"

#include <string.h>
#include <time.h>

/** More pending changes than this: invalidate everything instead. */
#define FAMFS_UP_MAX_CHANGES 8192

/** A recorded change to a directory's entries (beside the FAMFS_CHANGE_* bits). */
#define FAMFS_UP_DIR_ENTRIES 0x100

/* Record one change; the caller holds up_lock. */
static void famfs_up_record(struct famfs_device *dev, uint64_t ino, unsigned int what)
{
	if (dev->nchanges == dev->capchanges) {
		dev->capchanges = dev->capchanges ? 2 * dev->capchanges : 64;
		dev->changes = gsh_realloc(dev->changes, dev->capchanges * sizeof(*dev->changes));
	}
	dev->changes[dev->nchanges].ino = ino;
	dev->changes[dev->nchanges].what = what;
	dev->nchanges++;
}

/**
 * @brief famfs change callback: record the change (namespace write-locked).
 *
 * A name that came or went also changes its directory's entries; a resize or setattr
 * changes the object alone.
 *
 * @param[in] arg     the device
 * @param[in] ino     the object
 * @param[in] parent  its directory (0 when unknown)
 * @param[in] what    FAMFS_CHANGE_* bits
 */
void famfs_up_change(void *arg, uint64_t ino, uint64_t parent, unsigned int what)
{
	struct famfs_device *dev = arg;

	pthread_mutex_lock(&dev->up_lock);
	if (dev->reset) {
		/* everything is invalidated anyway */
	} else if ((what & FAMFS_CHANGE_RESET) || dev->nchanges >= FAMFS_UP_MAX_CHANGES) {
		dev->reset = true;
	} else {
		famfs_up_record(dev, ino, what);
		if (parent && (what & (FAMFS_CHANGE_CREATED | FAMFS_CHANGE_REMOVED)))
			famfs_up_record(dev, parent, FAMFS_UP_DIR_ENTRIES);
	}
	pthread_mutex_unlock(&dev->up_lock);
}

static int famfs_change_cmp(const void *a, const void *b)
{
	const struct famfs_change *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The MDCACHE invalidation a recorded change asks for. */
static uint32_t famfs_up_flags(unsigned int what)
{
	if (what & FAMFS_UP_DIR_ENTRIES)
		return FSAL_UP_INVALIDATE_DIR_POPULATED | FSAL_UP_INVALIDATE_DIR_CHUNKS |
		       FSAL_UP_INVALIDATE_ATTRS;
	return FSAL_UP_INVALIDATE_ATTRS | FSAL_UP_INVALIDATE_CONTENT;
}

/* Send one invalidate; the caller holds exp_lock (the export cannot go away). */
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

/* Every inode number of the current view (for a reset). */
static size_t famfs_up_all_inodes(struct famfs_fs *fs, uint64_t **out)
{
	struct famfs_inode **stack, *i, *c;
	uint64_t *nums;
	size_t n = 0, sp = 0, cap;

	famfs_fs_rdlock(fs);
	cap = famfs_fs_ns(fs)->count + 1;
	nums = gsh_malloc(cap * sizeof(*nums));
	stack = gsh_malloc(cap * sizeof(*stack));
	stack[sp++] = famfs_fs_ns(fs)->root;
	while (sp && n < cap) {
		i = stack[--sp];
		nums[n++] = i->ino;
		famfs_ns_foreach_child(i, c)
		{
			if (sp < cap)
				stack[sp++] = c;
		}
	}
	famfs_fs_rdunlock(fs);
	gsh_free(stack);
	*out = nums;
	return n;
}

/* One follow step: refresh, then send the recorded changes. */
static void famfs_up_step(struct famfs_device *dev)
{
	struct famfs_change *changes;
	const struct fsal_up_vector *up = NULL;
	uint64_t *all = NULL;
	size_t n, nall = 0, k;
	bool reset;
	int rc;

	rc = famfs_fs_refresh(dev->fs);
	if (rc < 0)
		LogDebug(COMPONENT_FSAL_UP, "FAMFS: %s: refresh: %s", dev->path, strerror(-rc));

	pthread_mutex_lock(&dev->up_lock);
	changes = dev->changes;
	n = dev->nchanges;
	reset = dev->reset;
	dev->changes = NULL;
	dev->nchanges = dev->capchanges = 0;
	dev->reset = false;
	pthread_mutex_unlock(&dev->up_lock);

	if (!n && !reset)
		return;
	if (reset)
		nall = famfs_up_all_inodes(dev->fs, &all);

	pthread_mutex_lock(&dev->exp_lock);
	if (!glist_empty(&dev->exports))
		up = glist_first_entry(&dev->exports, struct famfs_fsal_export, dev_node)
			 ->export.up_ops;
	if (up && reset) {
		LogEvent(COMPONENT_FSAL_UP, "FAMFS: %s: view rebuilt, invalidating %zu objects",
			 dev->path, nall);
		for (k = 0; k < nall; k++)
			famfs_up_invalidate(dev, up, all[k], FSAL_UP_INVALIDATE_CACHE);
	} else if (up) {
		/* One up-call per object and step. A directory's listing changes only when a
		 * name comes or goes; a resize or setattr changes the object alone. */
		qsort(changes, n, sizeof(*changes), famfs_change_cmp);
		for (k = 0; k < n; k++) {
			uint32_t flags = 0;
			uint64_t ino = changes[k].ino;

			for (; k < n && changes[k].ino == ino; k++)
				flags |= famfs_up_flags(changes[k].what);
			k--;
			LogFullDebug(COMPONENT_FSAL_UP, "FAMFS: invalidate inode %llu flags 0x%x",
				     (unsigned long long)ino, flags);
			famfs_up_invalidate(dev, up, ino, flags);
		}
	}
	pthread_mutex_unlock(&dev->exp_lock);
	gsh_free(changes);
	gsh_free(all);
}

/* The follower thread of one device. */
static void *famfs_up_thread(void *arg)
{
	struct famfs_device *dev = arg;
	struct timespec ts;
	uint32_t ms;

	pthread_mutex_lock(&dev->up_lock);
	while (!dev->stop) {
		ms = FAMFS.follow_ms; /* the config keeps it within 50..60000 */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&dev->up_cond, &dev->up_lock, &ts);
		if (dev->stop)
			break;
		pthread_mutex_unlock(&dev->up_lock);
		famfs_up_step(dev);
		pthread_mutex_lock(&dev->up_lock);
	}
	pthread_mutex_unlock(&dev->up_lock);
	return NULL;
}

/**
 * @brief Register the change callback and start the follower of @p dev.
 *
 * @param[in] dev  a device just opened
 * @return 0 or -errno
 */
int famfs_up_start(struct famfs_device *dev)
{
	int rc;

	famfs_fs_set_change_fn(dev->fs, famfs_up_change, dev);
	dev->stop = false;
	rc = pthread_create(&dev->thread, NULL, famfs_up_thread, dev);
	if (rc) {
		famfs_fs_set_change_fn(dev->fs, NULL, NULL);
		LogCrit(COMPONENT_FSAL, "FAMFS: %s: cannot start the log follower: %s", dev->path,
			strerror(rc));
		return -rc;
	}
	dev->thread_running = true;
	return 0;
}

/**
 * @brief Stop the follower of @p dev and wait for it.
 *
 * @param[in] dev  the device (no export attached any more)
 */
void famfs_up_stop(struct famfs_device *dev)
{
	if (!dev->thread_running)
		return;
	pthread_mutex_lock(&dev->up_lock);
	dev->stop = true;
	pthread_cond_broadcast(&dev->up_cond);
	pthread_mutex_unlock(&dev->up_lock);
	pthread_join(dev->thread, NULL);
	dev->thread_running = false;
	famfs_fs_set_change_fn(dev->fs, NULL, NULL);
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
 * @brief Stop using @p exp for up-calls (export release).
 */
void famfs_up_detach(struct famfs_device *dev, struct famfs_fsal_export *exp)
{
	pthread_mutex_lock(&dev->exp_lock);
	if (!glist_null(&exp->dev_node))
		glist_del(&exp->dev_node);
	pthread_mutex_unlock(&dev->exp_lock);
}

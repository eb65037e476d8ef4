/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file internal.h
 * @brief FSAL_FAMFS private declarations: module, device, export, object handle.
 *
 * Object model:
 *  - struct famfs_fsal_module (one, static): the global FAMFS { } config, the
 *    list of open devices.
 *  - struct famfs_device: one open famfs (famfs_fs) per (device path, offset,
 *    system UUID), shared and refcounted by the exports that serve it; it owns
 *    the log-follower thread (up.c) and the list of pending changes.
 *  - struct famfs_fsal_export: one per EXPORT block; holds a device reference
 *    and the inode number of the exported directory.
 *  - struct famfs_fsal_obj_handle: one per object handed to MDCACHE; it names
 *    its famfs inode by number only and re-gets the inode on every call
 *    (a log compaction rebuilds the whole view).
 *
 * Locking:
 *  - famfs_fs_rdlock() is taken around every namespace read; it is never held
 *    while calling a famfs_fs_* mutator (they take the namespace write lock).
 *  - A mutation takes famfs_fs_lock() first (the host's appender lock, which
 *    is recursive per thread): while it is held no other process can append,
 *    so inode pointers fetched under it stay current until famfs_fs_unlock().
 *  - obj_handle->obj_lock protects the share counters, the global fd and the
 *    open count of a file.
 */
#ifndef FSAL_FAMFS_INTERNAL_H
#define FSAL_FAMFS_INTERNAL_H

#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fsal.h"
#include "fsal_api.h"
#include "fsal_convert.h"
#include "fsal_types.h"
#include "fsal_up.h"
#include "FSAL/fsal_commonlib.h"
#include "gsh_list.h"
#include "sal_data.h"

#include "famfs/fs.h"
#include "famfs/ns.h"

/** Default and range of FAMFS { Log_Follow_Interval_Ms }. */
#define FAMFS_FOLLOW_MS_DEFAULT 1000
#define FAMFS_FOLLOW_MS_MIN	50
#define FAMFS_FOLLOW_MS_MAX	60000

/** readdir cookies are the child's inode number plus this (0..2 are reserved). */
#define FAMFS_COOKIE_BIAS 2

/** The module object (struct fsal_module embedded first). */
struct famfs_fsal_module {
	struct fsal_module fsal;
	struct fsal_obj_ops handle_ops;
	/** FAMFS { Log_Follow_Interval_Ms } */
	uint32_t follow_ms;
	/**
	 * FAMFS { Invalidate_Reads }: evict the bytes of every READ from the CPU cache
	 * first. Needed only when other hosts write file data into memory that is not
	 * cache-coherent with this one; metadata is always read after invalidation.
	 */
	bool invalidate_reads;
	/** Protects @c devices and every device's refcount. */
	pthread_mutex_t lock;
	/** Open devices (struct famfs_device.node). */
	struct glist_head devices;
};

extern struct famfs_fsal_module FAMFS;

/** One change recorded by the change callback, sent as up-calls later. */
struct famfs_change {
	uint64_t ino;
	unsigned int what; /* FAMFS_CHANGE_* bits, or the directory-entries mark (up.c) */
};

/** One open famfs, shared by the exports that name the same device. */
struct famfs_device {
	struct glist_head node; /**< in FAMFS.devices */
	unsigned int refcount;	/**< exports holding it; FAMFS.lock */
	char *path;
	char *system_uuid; /**< NULL: the host's */
	uint64_t offset;
	struct famfs_fs *fs;
	bool master; /**< this host may change the file system */
	uint8_t fs_uuid[FAMFS_UUID_LEN];
	fsal_fsid_t fsid;

	/* log follower (up.c) */
	pthread_t thread;
	bool thread_running;
	bool stop;		 /**< up_lock */
	pthread_mutex_t up_lock; /**< protects stop, changes, reset */
	pthread_cond_t up_cond;
	pthread_mutex_t exp_lock;     /**< protects exports; held while sending up-calls */
	struct glist_head exports;    /**< famfs_fsal_export.dev_node */
	struct famfs_change *changes; /**< recorded by the change callback */
	size_t nchanges, capchanges;
	bool reset; /**< the view was rebuilt */
};

/** The export (struct fsal_export embedded first). */
struct famfs_fsal_export {
	struct fsal_export export;
	/* FSAL { } block */
	char *device;
	char *system_uuid;
	uint64_t dev_offset;

	struct famfs_device *dev;
	struct glist_head dev_node; /**< in dev->exports, dev->exp_lock */
	bool readonly;		    /**< not the famfs master */
};

/** Wire handle and handle key: inode number (little endian) and fs UUID. */
struct famfs_fh {
	uint64_t ino;
	uint8_t fs_uuid[FAMFS_UUID_LEN];
} __attribute__((packed));

/** The per-open descriptor; ganesha requires openflags first. */
struct famfs_fsal_fd {
	fsal_openflags_t openflags;
};

/** What alloc_state allocates: the state followed by its descriptor. */
struct famfs_state_fd {
	struct state_t state;
	struct famfs_fsal_fd fd;
};

/** The object handle (struct fsal_obj_handle embedded first). */
struct famfs_fsal_obj_handle {
	struct fsal_obj_handle obj_handle;
	struct famfs_device *dev; /**< a reference (device refcount) */
	uint64_t ino;
	struct famfs_fh fh;
	/* regular files; obj_lock */
	struct fsal_share share;
	struct famfs_fsal_fd fd;    /**< the global (stateless) descriptor */
	unsigned int opens;	    /**< open states + global fd */
	struct famfs_inode *pinned; /**< the inode famfs_fs_pin() was given */
};

/**
 * @brief Convert a famfs-core result (0 or -errno) into an FSAL status.
 *
 * The one place where famfs errors are translated: the major code comes from
 * posix2fsal_error() and the errno is kept as the minor code.
 *
 * @param[in] rc  0 or a negative errno
 * @return the FSAL status
 */
static inline fsal_status_t famfs2fsal_error(int rc)
{
	if (rc >= 0)
		return fsalstat(ERR_FSAL_NO_ERROR, 0);
	return fsalstat(posix2fsal_error(-rc), -rc);
}

/* main.c */
void famfs_core_log_init(void);

/* internal.c */
int famfs_device_get(const char *path, uint64_t offset, const char *system_uuid,
		     struct famfs_device **out);
void famfs_device_put(struct famfs_device *dev);
int famfs_path_to_relpath(const char *path, char *buf, size_t len);
/* The relpath of a new object @name in directory @dir_ino (a gone directory: -ESTALE). */
static inline int famfs_child_relpath(struct famfs_fs *fs, uint64_t dir_ino, const char *name,
				      char *buf, size_t len)
{
	int rc = famfs_fs_child_relpath(fs, dir_ino, name, buf, len);

	return rc == -ENOENT ? -ESTALE : rc;
}
void famfs_fill_attrs(const struct famfs_device *dev, const struct famfs_inode *ino,
		      struct fsal_attrlist *attrs);
object_file_type_t famfs_obj_type(mode_t mode);

/* handle.c */
void famfs_handle_ops_init(struct fsal_obj_ops *ops);
struct famfs_fsal_obj_handle *famfs_alloc_handle(struct famfs_fsal_export *exp, uint64_t ino,
						 mode_t mode);
fsal_status_t famfs_handle_from_ino(struct famfs_fsal_export *exp, uint64_t ino,
				    struct fsal_obj_handle **handle,
				    struct fsal_attrlist *attrs_out);

/* export.c */
fsal_status_t famfs_create_export(struct fsal_module *fsal_hdl, void *parse_node,
				  struct config_error_type *err_type,
				  const struct fsal_up_vector *up_ops);

/* up.c */
void famfs_up_change(void *arg, uint64_t ino, uint64_t parent, unsigned int what);
int famfs_up_start(struct famfs_device *dev);
void famfs_up_stop(struct famfs_device *dev);
void famfs_up_attach(struct famfs_device *dev, struct famfs_fsal_export *exp);
void famfs_up_detach(struct famfs_device *dev, struct famfs_fsal_export *exp);

#endif /* FSAL_FAMFS_INTERNAL_H */

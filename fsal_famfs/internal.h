/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file internal.h
 * @brief FSAL_FAMFS private declarations: module, device, export, object handle.
 *
 * Object model:
 *  - struct famfs_fsal_module (one, static): the global FAMFS { } config, the
 *    list of open devices.
 *  - struct famfs_device: one open famfs (famfs_fs) and its shared file-system
 *    layer (famfs_ll, famfs/ll.h) per (device path, offset, system UUID), shared
 *    and refcounted by the exports that serve it; the layer's log follower reports
 *    changes that up.c turns into MDCACHE up-calls.
 *  - struct famfs_fsal_export: one per EXPORT block; holds a device reference
 *    and the inode number of the exported directory.
 *  - struct famfs_fsal_obj_handle: one per object handed to MDCACHE; it names
 *    its famfs inode by number only (a log compaction rebuilds the whole view).
 *
 * This FSAL is a translation of famfs_ll_* calls: ganesha attributes to and
 * from struct famfs_attr, op_ctx->creds to struct famfs_cred (every change is
 * checked against the caller's credentials there, after the export's squashing),
 * and -errno to FSAL status in famfs2fsal_error() only. It takes no famfs-core
 * lock itself.
 *
 * Locking:
 *  - obj_handle->obj_lock protects the share counters, the global fd and the
 *    open count of a file.
 *  - dev->exp_lock protects the device's export list; it is never held across
 *    an up-call (up.c takes an export reference instead).
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
#include "famfs/ll.h"

/** Default and range of FAMFS { Log_Follow_Interval_Ms }. */
#define FAMFS_FOLLOW_MS_DEFAULT 1000
#define FAMFS_FOLLOW_MS_MIN	50
#define FAMFS_FOLLOW_MS_MAX	60000
/** Range of FAMFS { Commit_Interval_Ms } (0: every write is logged at once). */
#define FAMFS_COMMIT_MS_MAX 60000

/** The module object (struct fsal_module embedded first). */
struct famfs_fsal_module {
	struct fsal_module fsal;
	struct fsal_obj_ops handle_ops;
	/** FAMFS { Log_Follow_Interval_Ms } */
	uint32_t follow_ms;
	/** FAMFS { Commit_Interval_Ms }: a written file's size and map are logged at
	 *  COMMIT, CLOSE, a stable WRITE or a SETATTR, and at the latest after this. */
	uint32_t commit_ms;
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

/** One open famfs, shared by the exports that name the same device. */
struct famfs_device {
	struct glist_head node; /**< in FAMFS.devices */
	unsigned int refcount;	/**< exports and handles holding it; FAMFS.lock */
	char *path;
	char *system_uuid; /**< NULL: the host's */
	uint64_t offset;
	struct famfs_fs *fs;
	struct famfs_ll *ll; /**< the shared file-system layer over @c fs */
	bool master;	     /**< this host may change the file system */
	uint8_t fs_uuid[FAMFS_UUID_LEN];
	fsal_fsid_t fsid;
	pthread_mutex_t exp_lock;  /**< protects exports */
	struct glist_head exports; /**< famfs_fsal_export.dev_node */
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
	struct famfs_fsal_fd fd; /**< the global (stateless) descriptor */
	unsigned int opens;	 /**< open states + global fd */
	bool pinned;		 /**< famfs_ll_pin() holds the inode */
};

/**
 * @brief Convert a famfs-core result (0 or -errno) into an FSAL status.
 *
 * The one place where famfs errors are translated; the errno is kept as the
 * minor code. Damage the core found (a bad CRC, counters that disagree) is an
 * I/O error to the client, a busy appender lock a "retry later".
 *
 * @param[in] rc  0 or a negative errno
 * @return the FSAL status
 */
static inline fsal_status_t famfs2fsal_error(int rc)
{
	switch (rc) {
	case 0:
		return fsalstat(ERR_FSAL_NO_ERROR, 0);
	case -EBADMSG:
	case -EUCLEAN:
	case -ENODATA:
	case -EPROTO:
		return fsalstat(ERR_FSAL_IO, -rc);
	case -EAGAIN:
	case -EBUSY:
		return fsalstat(ERR_FSAL_DELAY, -rc);
	default:
		return fsalstat(rc > 0 ? ERR_FSAL_NO_ERROR : posix2fsal_error(-rc), -rc);
	}
}

/** The caller of the current request, as famfs-core checks it. */
static inline struct famfs_cred famfs_op_cred(void)
{
	struct famfs_cred c = {
	    .uid = op_ctx->creds.caller_uid,
	    .gid = op_ctx->creds.caller_gid,
	    .groups = op_ctx->creds.caller_garray,
	    .ngroups = op_ctx->creds.caller_glen > 0 ? (size_t)op_ctx->creds.caller_glen : 0,
	};

	return c;
}

/* main.c */
void famfs_core_log_init(void);

/* internal.c */
int famfs_device_get(const char *path, uint64_t offset, const char *system_uuid,
		     struct famfs_device **out);
void famfs_device_put(struct famfs_device *dev);
int famfs_path_to_relpath(const char *path, char *buf, size_t len);
void famfs_fill_attrs(const struct famfs_device *dev, const struct famfs_attr *a,
		      struct fsal_attrlist *attrs);
object_file_type_t famfs_obj_type(mode_t mode);

/* Helpers of the object operations (handle.c, file.c). */
static inline struct famfs_fsal_obj_handle *famfs_hdl(const struct fsal_obj_handle *obj)
{
	return container_of(obj, struct famfs_fsal_obj_handle, obj_handle);
}

static inline struct famfs_fsal_export *famfs_op_export(void)
{
	return container_of(op_ctx->fsal_export, struct famfs_fsal_export, export);
}

/** ERR_FSAL_ROFS unless this export may change the file system. */
static inline bool famfs_readonly(const struct famfs_fsal_obj_handle *h)
{
	return !famfs_ll_writable(h->dev->ll);
}

/* handle.c */
void famfs_handle_ops_init(struct fsal_obj_ops *ops);
struct famfs_fsal_obj_handle *famfs_alloc_handle(struct famfs_fsal_export *exp, uint64_t ino,
						 mode_t mode);
fsal_status_t famfs_handle_from_ino(struct famfs_fsal_export *exp, uint64_t ino,
				    struct fsal_obj_handle **handle,
				    struct fsal_attrlist *attrs_out);
fsal_status_t famfs_handle_from_attr(struct famfs_fsal_export *exp, const struct famfs_attr *a,
				     struct fsal_obj_handle **handle,
				     struct fsal_attrlist *attrs_out);
fsal_status_t famfs_getattrs(struct fsal_obj_handle *obj_hdl, struct fsal_attrlist *attrs_out);
fsal_status_t famfs_setattr2(struct fsal_obj_handle *obj_hdl, bool bypass, struct state_t *state,
			     struct fsal_attrlist *attrib_set);
void famfs_new_of(const struct fsal_attrlist *attrs, mode_t type, mode_t def_mode,
		  struct famfs_ll_new *nw);

/* file.c */
void famfs_file_ops_init(struct fsal_obj_ops *ops);

/* export.c */
fsal_status_t famfs_create_export(struct fsal_module *fsal_hdl, void *parse_node,
				  struct config_error_type *err_type,
				  const struct fsal_up_vector *up_ops);

/* up.c */
void famfs_up_changed(void *arg, const struct famfs_ll_change *c, size_t n, bool reset);
void famfs_up_attach(struct famfs_device *dev, struct famfs_fsal_export *exp);
void famfs_up_detach(struct famfs_device *dev, struct famfs_fsal_export *exp);

#endif /* FSAL_FAMFS_INTERNAL_H */

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file handle.c
 * @brief FSAL_FAMFS object operations: namespace, attributes, open state, I/O.
 *
 * Every operation names its object by famfs inode number and re-gets the inode
 * from the namespace (famfs_ns_get) under famfs_fs_rdlock(); an inode that is
 * gone answers ERR_FSAL_STALE, except that getattrs, read and write (within the
 * size) of a file removed while it is open use the pinned inode (POSIX). Changes take the host's
 * appender lock (famfs_fs_lock) first, re-get their inodes under it, and call the famfs_fs_*
 * mutator without holding the read lock. Exports on a host that is not the
 * famfs master answer ERR_FSAL_ROFS to every change.
 *
 * Reads copy once from the mapped extents into ganesha's buffers
 * (famfs_file_read); writes go through famfs_file_write, which flushes the CPU
 * cache before returning, so every write is stable and COMMIT has nothing to
 * do. A write past EOF first grows the file with famfs_fs_grow (the appender lock
 * is held only for that, not for the copy).
 *
 * A file is pinned (famfs_fs_pin) while it has an open state or an open global
 * descriptor, so its space outlives a remove until the last close.
 */

#include "internal.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "famfs/io.h"

/* ------------------------------------------------------------------ helpers */

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
	return !h->dev->master;
}

static uint64_t famfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

/**
 * @brief Allocate an object handle for inode @p ino (takes a device reference).
 *
 * @param[in] exp   the export the object is found through
 * @param[in] ino   the inode number
 * @param[in] mode  its mode (type)
 *
 * @return the handle
 */
struct famfs_fsal_obj_handle *famfs_alloc_handle(struct famfs_fsal_export *exp, uint64_t ino,
						 mode_t mode)
{
	struct famfs_fsal_obj_handle *h = gsh_calloc(1, sizeof(*h));

	fsal_obj_handle_init(&h->obj_handle, &exp->export, famfs_obj_type(mode));
	h->obj_handle.obj_ops = &FAMFS.handle_ops;
	h->obj_handle.fsid = exp->dev->fsid;
	h->obj_handle.fileid = ino;
	h->ino = ino;
	h->fh.ino = htole64(ino);
	memcpy(h->fh.fs_uuid, exp->dev->fs_uuid, FAMFS_UUID_LEN);
	h->fd.openflags = FSAL_O_CLOSED;

	pthread_mutex_lock(&FAMFS.lock);
	exp->dev->refcount++;
	pthread_mutex_unlock(&FAMFS.lock);
	h->dev = exp->dev;
	return h;
}

/**
 * @brief A new handle for inode @p ino, with its attributes.
 *
 * @param[in]  exp        the export
 * @param[in]  ino        the inode number
 * @param[out] handle     the handle
 * @param[out] attrs_out  attributes (optional)
 *
 * @return FSAL status; ERR_FSAL_STALE when the inode does not exist.
 */
fsal_status_t famfs_handle_from_ino(struct famfs_fsal_export *exp, uint64_t ino,
				    struct fsal_obj_handle **handle,
				    struct fsal_attrlist *attrs_out)
{
	struct famfs_fs *fs = exp->dev->fs;
	struct famfs_fsal_obj_handle *h;
	struct famfs_inode *i;
	mode_t mode;

	famfs_fs_rdlock(fs);
	i = famfs_ns_get(famfs_fs_ns(fs), ino);
	if (!i) {
		famfs_fs_rdunlock(fs);
		return fsalstat(ERR_FSAL_STALE, ESTALE);
	}
	mode = i->mode;
	if (attrs_out)
		famfs_fill_attrs(exp->dev, i, attrs_out);
	famfs_fs_rdunlock(fs);

	h = famfs_alloc_handle(exp, ino, mode);
	*handle = &h->obj_handle;
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief The inode of @p h; the caller holds famfs_fs_rdlock().
 *
 * The linked inode, or, while the file is held open (pinned), the removed one:
 * famfs-core keeps unlinked inodes in the graveyard as valid memory and
 * famfs_fs_pin keeps their space, so POSIX "removed but still open" I/O works.
 *
 * @param[in] h  the handle
 * @return the inode, or NULL (removed and not open: stale)
 */
static struct famfs_inode *famfs_hdl_inode(struct famfs_fsal_obj_handle *h)
{
	struct famfs_inode *i = famfs_ns_get(famfs_fs_ns(h->dev->fs), h->ino);

	if (i)
		return i;
	i = __atomic_load_n(&h->pinned, __ATOMIC_ACQUIRE);
	if (i && i->ino == h->ino && i->removed_at != UINT64_MAX)
		return i;
	return NULL;
}

/* Count an open of @h (a state or the global fd); the first one pins the inode. */
static void famfs_open_ref(struct famfs_fsal_obj_handle *h)
{
	struct famfs_fs *fs = h->dev->fs;
	struct famfs_inode *i;

	if (h->opens++ > 0)
		return;
	i = famfs_fs_get(fs, h->ino);
	if (i) {
		famfs_fs_pin(fs, i);
		__atomic_store_n(&h->pinned, i, __ATOMIC_RELEASE);
	}
}

/* Drop an open of @h; the last one unpins the inode. */
static void famfs_open_unref(struct famfs_fsal_obj_handle *h)
{
	if (h->opens == 0 || --h->opens > 0)
		return;
	if (h->pinned) {
		famfs_fs_unpin(h->dev->fs, h->pinned);
		__atomic_store_n(&h->pinned, NULL, __ATOMIC_RELEASE);
	}
}

/* ------------------------------------------------------------------ lookup, readdir */

/**
 * @brief Look up a name in a directory ("." and ".." included).
 *
 * @param[in]  dir_hdl    the directory
 * @param[in]  path       one component
 * @param[out] handle     the object found
 * @param[out] attrs_out  its attributes (optional)
 *
 * @return FSAL status: ERR_FSAL_NOENT, ERR_FSAL_NOTDIR, ERR_FSAL_STALE.
 */
static fsal_status_t famfs_lookup(struct fsal_obj_handle *dir_hdl, const char *path,
				  struct fsal_obj_handle **handle, struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(dir_hdl);
	struct famfs_fs *fs = dir->dev->fs;
	struct famfs_inode *d, *c = NULL;
	uint64_t num;
	int rc;

	*handle = NULL;
	famfs_fs_rdlock(fs);
	rc = famfs_ns_get_dir(famfs_fs_ns(fs), dir->ino, &d);
	if (rc) {
		famfs_fs_rdunlock(fs);
		return famfs2fsal_error(rc == -ENOENT ? -ESTALE : rc);
	}
	if (strcmp(path, ".") == 0)
		c = d;
	else if (strcmp(path, "..") == 0)
		c = d->parent ? d->parent : d;
	else
		c = famfs_ns_lookup(famfs_fs_ns(fs), d, path, strlen(path));
	if (!c) {
		famfs_fs_rdunlock(fs);
		return fsalstat(ERR_FSAL_NOENT, ENOENT);
	}
	num = c->ino;
	famfs_fs_rdunlock(fs);
	return famfs_handle_from_ino(famfs_op_export(), num, handle, attrs_out);
}

/** A directory entry copied out under the read lock. */
struct famfs_dent {
	uint64_t ino;
	char name[FAMFS_MAX_PATHLEN];
};

static int famfs_dent_cmp(const void *a, const void *b)
{
	const struct famfs_dent *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/**
 * @brief List a directory in inode-number order; an entry's cookie is its inode
 *        number plus FAMFS_COOKIE_BIAS and listing resumes at the first child
 *        with a larger number.
 *
 * Inode numbers never change (a rename keeps it), so a cookie stays valid when
 * its entry is renamed or removed: nothing is skipped, nothing listed twice, and
 * entries created meanwhile (larger numbers) come at the end.
 *
 * @param[in]     dir_hdl    the directory
 * @param[in]     whence     resume after this cookie (NULL or 0: from the start)
 * @param[in]     dir_state  passed to @p cb
 * @param[in]     cb         called once per entry with a new handle
 * @param[in]     attrmask   attributes wanted for each entry
 * @param[out]    eof        true when the listing reached the end
 *
 * @return FSAL status
 */
static fsal_status_t famfs_readdir(struct fsal_obj_handle *dir_hdl, fsal_cookie_t *whence,
				   void *dir_state, fsal_readdir_cb cb, attrmask_t attrmask,
				   bool *eof)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(dir_hdl);
	struct famfs_fsal_export *exp = famfs_op_export();
	struct famfs_fs *fs = dir->dev->fs;
	fsal_cookie_t start = whence ? *whence : 0;
	uint64_t after = start > FAMFS_COOKIE_BIAS ? start - FAMFS_COOKIE_BIAS : 0;
	struct famfs_dent *ents = NULL;
	struct famfs_inode *d, *c;
	size_t n = 0, k;
	int rc;

	*eof = false;
	famfs_fs_rdlock(fs);
	rc = famfs_ns_get_dir(famfs_fs_ns(fs), dir->ino, &d);
	if (rc) {
		famfs_fs_rdunlock(fs);
		return famfs2fsal_error(rc == -ENOENT ? -ESTALE : rc);
	}
	if (d->nchildren)
		ents = gsh_malloc(d->nchildren * sizeof(*ents));
	famfs_ns_foreach_child(d, c)
	{
		if (n >= d->nchildren)
			break;
		if (c->ino <= after)
			continue;
		ents[n].ino = c->ino;
		memcpy(ents[n].name, c->name, c->namelen);
		ents[n].name[c->namelen] = '\0';
		n++;
	}
	famfs_fs_rdunlock(fs);
	if (n > 1)
		qsort(ents, n, sizeof(*ents), famfs_dent_cmp);

	for (k = 0; k < n; k++) {
		struct fsal_obj_handle *obj;
		struct fsal_attrlist attrs;
		enum fsal_dir_result r;
		fsal_status_t st;

		fsal_prepare_attrs(&attrs, attrmask);
		st = famfs_handle_from_ino(exp, ents[k].ino, &obj, &attrs);
		if (FSAL_IS_ERROR(st)) {
			/* Removed since the copy: skip it. */
			fsal_release_attrs(&attrs);
			continue;
		}
		r = cb(ents[k].name, obj, &attrs, dir_state, ents[k].ino + FAMFS_COOKIE_BIAS);
		fsal_release_attrs(&attrs);
		if (r >= DIR_TERMINATE)
			break;
	}
	if (k >= n)
		*eof = true;
	gsh_free(ents);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/* ------------------------------------------------------------------ attributes */

/**
 * @brief Attributes of an object, read from the namespace.
 *
 * @param[in]     obj_hdl    the object
 * @param[in,out] attrs_out  request_mask in, attributes out
 *
 * @return FSAL status; ERR_FSAL_STALE for a removed inode.
 */
static fsal_status_t famfs_getattrs(struct fsal_obj_handle *obj_hdl,
				    struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_fs *fs = h->dev->fs;
	struct famfs_inode *i;

	famfs_fs_rdlock(fs);
	i = famfs_hdl_inode(h);
	if (i)
		famfs_fill_attrs(h->dev, i, attrs_out);
	famfs_fs_rdunlock(fs);
	if (!i) {
		if (attrs_out->request_mask & ATTR_RDATTR_ERR)
			attrs_out->valid_mask = ATTR_RDATTR_ERR;
		return fsalstat(ERR_FSAL_STALE, ESTALE);
	}
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief Apply size, mode, owner and times; the caller holds famfs_fs_lock().
 *
 * @param[in] fs     the famfs
 * @param[in] i      the object's inode (valid while famfs_fs_lock() is held: resize and
 *                   setattr change it in place)
 * @param[in] attrs  what to set (valid_mask)
 *
 * @return 0 or -errno
 */
static int famfs_apply_attrs_locked(struct famfs_fs *fs, struct famfs_inode *i,
				    const struct fsal_attrlist *attrs)
{
	uint32_t valid = 0;
	uint64_t mtime = 0, atime = 0;
	mode_t mode = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	int rc = 0;

	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_SIZE)) {
		if (attrs->filesize != i->size) {
			rc = famfs_fs_resize(fs, i, attrs->filesize);
			if (rc)
				return rc;
		}
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MODE)) {
		valid |= FAMFS_ATTR_MODE;
		mode = attrs->mode & 07777;
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_OWNER)) {
		valid |= FAMFS_ATTR_UID;
		uid = (uid_t)attrs->owner;
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_GROUP)) {
		valid |= FAMFS_ATTR_GID;
		gid = (gid_t)attrs->group;
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MTIME_SERVER)) {
		valid |= FAMFS_ATTR_MTIME;
		mtime = famfs_now_ns();
	} else if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MTIME)) {
		valid |= FAMFS_ATTR_MTIME;
		mtime = timespec_ns(&attrs->mtime);
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_ATIME_SERVER)) {
		valid |= FAMFS_ATTR_ATIME;
		atime = famfs_now_ns();
	} else if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_ATIME)) {
		valid |= FAMFS_ATTR_ATIME;
		atime = timespec_ns(&attrs->atime);
	}
	if (!valid)
		return 0;
	return famfs_fs_setattr(fs, i, valid, mode, uid, gid, mtime, atime);
}

/**
 * @brief Set attributes: size (famfs_fs_resize), mode/owner/times (famfs_fs_setattr).
 *
 * @param[in] obj_hdl     the object
 * @param[in] bypass      bypass deny-write share reservations
 * @param[in] state       the state the change comes with, or NULL
 * @param[in] attrib_set  what to set
 *
 * @return FSAL status; ERR_FSAL_ROFS on a non-master export.
 */
static fsal_status_t famfs_setattr2(struct fsal_obj_handle *obj_hdl, bool bypass,
				    struct state_t *state, struct fsal_attrlist *attrib_set)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_fs *fs = h->dev->fs;
	int rc;

	(void)state;
	if (famfs_readonly(h))
		return fsalstat(ERR_FSAL_ROFS, EROFS);
	if (FSAL_TEST_MASK(attrib_set->valid_mask, ATTR_SIZE) && obj_hdl->type == REGULAR_FILE) {
		fsal_status_t st;

		/* A size change is a write: respect deny-write shares. */
		PTHREAD_RWLOCK_rdlock(&obj_hdl->obj_lock);
		st = check_share_conflict(&h->share, FSAL_O_WRITE, bypass);
		PTHREAD_RWLOCK_unlock(&obj_hdl->obj_lock);
		if (FSAL_IS_ERROR(st) && state == NULL)
			return st;
	}
	rc = famfs_fs_lock(fs);
	if (rc == 0) {
		struct famfs_inode *i = famfs_fs_get(fs, h->ino);

		rc = i ? famfs_apply_attrs_locked(fs, i, attrib_set) : -ESTALE;
		famfs_fs_unlock(fs);
	}
	return famfs2fsal_error(rc);
}

/* ------------------------------------------------------------------ namespace changes */

/* Mode, owner and group for a new object: from @attrs when set, else defaults. */
static void famfs_new_attrs(const struct fsal_attrlist *attrs, mode_t def_mode, mode_t *mode,
			    uid_t *uid, gid_t *gid)
{
	*mode = def_mode;
	*uid = op_ctx->creds.caller_uid;
	*gid = op_ctx->creds.caller_gid;
	if (!attrs)
		return;
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MODE))
		*mode = attrs->mode & 07777;
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_OWNER))
		*uid = (uid_t)attrs->owner;
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_GROUP))
		*gid = (gid_t)attrs->group;
}

/**
 * @brief Create a directory (famfs_fs_mkdir with the parent's relpath + name).
 *
 * @param[in]  dir_hdl    the parent
 * @param[in]  name       the new name
 * @param[in]  attrs_in   mode, owner (optional)
 * @param[out] new_obj    the directory
 * @param[out] attrs_out  its attributes (optional)
 *
 * @return FSAL status
 */
static fsal_status_t famfs_mkdir(struct fsal_obj_handle *dir_hdl, const char *name,
				 struct fsal_attrlist *attrs_in, struct fsal_obj_handle **new_obj,
				 struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(dir_hdl);
	struct famfs_fs *fs = dir->dev->fs;
	char rel[FAMFS_MAX_PATHLEN + 1];
	struct famfs_inode *out;
	uint64_t num = 0;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int rc;

	*new_obj = NULL;
	if (famfs_readonly(dir))
		return fsalstat(ERR_FSAL_ROFS, EROFS);
	famfs_new_attrs(attrs_in, 0755, &mode, &uid, &gid);
	rc = famfs_fs_lock(fs);
	if (rc)
		return famfs2fsal_error(rc);
	rc = famfs_child_relpath(fs, dir->ino, name, rel, sizeof(rel));
	if (rc == 0)
		rc = famfs_fs_mkdir(fs, rel, mode, uid, gid, &out);
	if (rc == 0)
		num = out->ino;
	famfs_fs_unlock(fs);
	if (rc)
		return famfs2fsal_error(rc);
	return famfs_handle_from_ino(famfs_op_export(), num, new_obj, attrs_out);
}

/**
 * @brief Remove a file or an empty directory (famfs_fs_remove).
 *
 * @param[in] dir_hdl  the directory
 * @param[in] obj_hdl  the object (unused: the name decides)
 * @param[in] name     the name
 *
 * @return FSAL status: ERR_FSAL_NOTEMPTY, ERR_FSAL_NOENT, ERR_FSAL_ROFS...
 */
static fsal_status_t famfs_unlink(struct fsal_obj_handle *dir_hdl, struct fsal_obj_handle *obj_hdl,
				  const char *name)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(dir_hdl);
	struct famfs_fs *fs = dir->dev->fs;
	struct famfs_inode *d;
	int rc;

	(void)obj_hdl;
	if (famfs_readonly(dir))
		return fsalstat(ERR_FSAL_ROFS, EROFS);
	rc = famfs_fs_lock(fs);
	if (rc)
		return famfs2fsal_error(rc);
	d = famfs_fs_get(fs, dir->ino);
	rc = d ? famfs_fs_remove(fs, d, name) : -ESTALE;
	famfs_fs_unlock(fs);
	return famfs2fsal_error(rc);
}

/**
 * @brief Rename (famfs_fs_rename; an existing target of the same kind is replaced).
 *
 * @param[in] obj_hdl     the object (unused: the old name decides)
 * @param[in] olddir_hdl  the old directory
 * @param[in] old_name    the old name
 * @param[in] newdir_hdl  the new directory
 * @param[in] new_name    the new name
 *
 * @return FSAL status
 */
static fsal_status_t famfs_rename(struct fsal_obj_handle *obj_hdl,
				  struct fsal_obj_handle *olddir_hdl, const char *old_name,
				  struct fsal_obj_handle *newdir_hdl, const char *new_name)
{
	struct famfs_fsal_obj_handle *od = famfs_hdl(olddir_hdl), *nd = famfs_hdl(newdir_hdl);
	struct famfs_fs *fs = od->dev->fs;
	struct famfs_inode *o, *n;
	int rc;

	(void)obj_hdl;
	if (famfs_readonly(od))
		return fsalstat(ERR_FSAL_ROFS, EROFS);
	if (od->dev != nd->dev)
		return fsalstat(ERR_FSAL_XDEV, EXDEV);
	rc = famfs_fs_lock(fs);
	if (rc)
		return famfs2fsal_error(rc);
	o = famfs_fs_get(fs, od->ino);
	n = famfs_fs_get(fs, nd->ino);
	rc = (o && n) ? famfs_fs_rename(fs, o, old_name, n, new_name) : -ESTALE;
	famfs_fs_unlock(fs);
	return famfs2fsal_error(rc);
}

static fsal_status_t famfs_symlink(struct fsal_obj_handle *dir_hdl, const char *name,
				   const char *link_path, struct fsal_attrlist *attrs_in,
				   struct fsal_obj_handle **new_obj,
				   struct fsal_attrlist *attrs_out)
{
	(void)dir_hdl;
	(void)link_path;
	(void)attrs_in;
	(void)attrs_out;
	*new_obj = NULL;
	LogInfo(COMPONENT_FSAL, "FAMFS: symlink %s: famfs holds only files and directories", name);
	return fsalstat(ERR_FSAL_PERM, EPERM);
}

static fsal_status_t famfs_link(struct fsal_obj_handle *obj_hdl,
				struct fsal_obj_handle *destdir_hdl, const char *name)
{
	(void)obj_hdl;
	(void)destdir_hdl;
	LogInfo(COMPONENT_FSAL, "FAMFS: link %s: famfs has no hard links", name);
	return fsalstat(ERR_FSAL_PERM, EPERM);
}

static fsal_status_t famfs_mknode(struct fsal_obj_handle *dir_hdl, const char *name,
				  object_file_type_t nodetype, struct fsal_attrlist *attrs_in,
				  struct fsal_obj_handle **new_obj, struct fsal_attrlist *attrs_out)
{
	(void)dir_hdl;
	(void)nodetype;
	(void)attrs_in;
	(void)attrs_out;
	*new_obj = NULL;
	LogInfo(COMPONENT_FSAL, "FAMFS: mknod %s: famfs holds only files and directories", name);
	return fsalstat(ERR_FSAL_PERM, EPERM);
}

/* ------------------------------------------------------------------ open state */

/* fsal_find_fd callbacks: our descriptor is only the open mode. */
static fsal_status_t famfs_open_func(struct fsal_obj_handle *obj_hdl, fsal_openflags_t openflags,
				     struct fsal_fd *fd)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);

	if ((openflags & FSAL_O_WRITE) && famfs_readonly(h))
		return fsalstat(ERR_FSAL_ROFS, EROFS);
	if (fd == (struct fsal_fd *)&h->fd && fd->openflags == FSAL_O_CLOSED)
		famfs_open_ref(h); /* the global descriptor opens */
	fd->openflags = FSAL_O_NFS_FLAGS(openflags);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

static fsal_status_t famfs_close_func(struct fsal_obj_handle *obj_hdl, struct fsal_fd *fd)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);

	if (fd->openflags == FSAL_O_CLOSED)
		return fsalstat(ERR_FSAL_NOT_OPENED, 0);
	if (fd == (struct fsal_fd *)&h->fd)
		famfs_open_unref(h);
	fd->openflags = FSAL_O_CLOSED;
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/* Open @fd of @h with @openflags under obj_lock (write); counts the open. */
static void famfs_fd_open_locked(struct famfs_fsal_obj_handle *h, struct famfs_fsal_fd *fd,
				 fsal_openflags_t openflags)
{
	if (fd->openflags == FSAL_O_CLOSED)
		famfs_open_ref(h);
	fd->openflags = FSAL_O_NFS_FLAGS(openflags);
}

/* Truncate @h to 0 for FSAL_O_TRUNC. */
static int famfs_truncate0(struct famfs_fsal_obj_handle *h)
{
	struct famfs_inode *i = famfs_fs_get(h->dev->fs, h->ino);

	return i ? famfs_fs_resize(h->dev->fs, i, 0) : -ESTALE;
}

/* Open an existing file by handle: shares, descriptor, truncate, verifier. */
static fsal_status_t famfs_open_by_handle(struct famfs_fsal_obj_handle *h, struct state_t *state,
					  fsal_openflags_t openflags,
					  enum fsal_create_mode createmode,
					  fsal_verifier_t verifier, struct fsal_attrlist *attrs_out)
{
	struct fsal_obj_handle *obj = &h->obj_handle;
	struct famfs_fsal_fd *fd;
	fsal_status_t st = fsalstat(ERR_FSAL_NO_ERROR, 0);
	int rc = 0;

	if (obj->type != REGULAR_FILE)
		return fsalstat(obj->type == DIRECTORY ? ERR_FSAL_ISDIR : ERR_FSAL_INVAL, 0);
	if ((openflags & (FSAL_O_WRITE | FSAL_O_TRUNC)) && famfs_readonly(h))
		return fsalstat(ERR_FSAL_ROFS, EROFS);

	PTHREAD_RWLOCK_wrlock(&obj->obj_lock);
	if (state) {
		st = check_share_conflict(&h->share, openflags, false);
		if (FSAL_IS_ERROR(st)) {
			PTHREAD_RWLOCK_unlock(&obj->obj_lock);
			return st;
		}
		update_share_counters(&h->share, FSAL_O_CLOSED, openflags);
		fd = &container_of(state, struct famfs_state_fd, state)->fd;
	} else {
		fd = &h->fd;
	}
	famfs_fd_open_locked(h, fd, openflags);
	PTHREAD_RWLOCK_unlock(&obj->obj_lock);

	if (openflags & FSAL_O_TRUNC)
		rc = famfs_truncate0(h);
	if (rc == 0 && (createmode >= FSAL_EXCLUSIVE || attrs_out)) {
		struct fsal_attrlist tmp, *a = attrs_out;

		if (!a) {
			fsal_prepare_attrs(&tmp, ATTRS_POSIX);
			a = &tmp;
		}
		st = famfs_getattrs(obj, a);
		if (!FSAL_IS_ERROR(st) && createmode >= FSAL_EXCLUSIVE &&
		    createmode != FSAL_EXCLUSIVE_9P && !check_verifier_attrlist(a, verifier, false))
			st = fsalstat(ERR_FSAL_EXIST, EEXIST);
		if (a == &tmp)
			fsal_release_attrs(&tmp);
	} else if (rc) {
		st = famfs2fsal_error(rc);
	}
	if (!FSAL_IS_ERROR(st))
		return st;

	/* Undo the open. */
	PTHREAD_RWLOCK_wrlock(&obj->obj_lock);
	if (state)
		update_share_counters(&h->share, openflags, FSAL_O_CLOSED);
	if (fd->openflags != FSAL_O_CLOSED) {
		fd->openflags = FSAL_O_CLOSED;
		famfs_open_unref(h);
	}
	PTHREAD_RWLOCK_unlock(&obj->obj_lock);
	return st;
}

/**
 * @brief Open (and maybe create) a file.
 *
 * By handle when @p name is NULL; otherwise by name in directory @p obj_hdl:
 * an existing file is opened unless @p createmode is GUARDED (EXIST) or
 * EXCLUSIVE with another verifier (EXIST); a missing one is created with
 * famfs_fs_create (size 0), and the verifier of an EXCLUSIVE create is kept
 * in atime/mtime.
 *
 * @return FSAL status
 */
static fsal_status_t famfs_open2(struct fsal_obj_handle *obj_hdl, struct state_t *state,
				 fsal_openflags_t openflags, enum fsal_create_mode createmode,
				 const char *name, struct fsal_attrlist *attrs_set,
				 fsal_verifier_t verifier, struct fsal_obj_handle **new_obj,
				 struct fsal_attrlist *attrs_out, bool *caller_perm_check)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(obj_hdl), *h;
	struct famfs_fsal_export *exp = famfs_op_export();
	struct famfs_fs *fs = dir->dev->fs;
	struct fsal_attrlist verifier_attrs;
	char rel[FAMFS_MAX_PATHLEN + 1];
	struct fsal_obj_handle *obj;
	struct famfs_inode *d, *c;
	uint64_t num = 0;
	fsal_status_t st;
	bool created = false;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int rc;

	if (createmode >= FSAL_EXCLUSIVE) {
		if (!attrs_set) {
			memset(&verifier_attrs, 0, sizeof(verifier_attrs));
			attrs_set = &verifier_attrs;
		}
		set_common_verifier(attrs_set, verifier, false);
	}

	if (!name) {
		return famfs_open_by_handle(dir, state, openflags, createmode, verifier, attrs_out);
	}

	/* By name: find the child, or create it. */
	famfs_fs_rdlock(fs);
	d = famfs_ns_get(famfs_fs_ns(fs), dir->ino);
	c = d ? famfs_ns_lookup(famfs_fs_ns(fs), d, name, strlen(name)) : NULL;
	if (c)
		num = c->ino;
	famfs_fs_rdunlock(fs);
	if (!d)
		return fsalstat(ERR_FSAL_STALE, ESTALE);

	if (!num) {
		if (createmode == FSAL_NO_CREATE)
			return fsalstat(ERR_FSAL_NOENT, ENOENT);
		if (famfs_readonly(dir))
			return fsalstat(ERR_FSAL_ROFS, EROFS);
		famfs_new_attrs(attrs_set, 0644, &mode, &uid, &gid);
		rc = famfs_fs_lock(fs);
		if (rc)
			return famfs2fsal_error(rc);
		rc = famfs_child_relpath(fs, dir->ino, name, rel, sizeof(rel));
		if (rc == 0)
			rc = famfs_fs_create(fs, rel, 0, mode, uid, gid, NULL, &c);
		if (rc == 0 && attrs_set) {
			struct fsal_attrlist rest = *attrs_set;

			num = c->ino;
			/* Mode and owner went into the create; times (verifier) now. */
			rest.valid_mask &=
			    ATTR_ATIME | ATTR_MTIME | ATTR_ATIME_SERVER | ATTR_MTIME_SERVER;
			rest.acl = NULL;
			if (rest.valid_mask)
				rc = famfs_apply_attrs_locked(fs, c, &rest);
		} else if (rc == 0) {
			num = c->ino;
		}
		famfs_fs_unlock(fs);
		if (rc == -EEXIST && createmode == FSAL_UNCHECKED) {
			/* Lost a race with another creator: open theirs. */
			return famfs_open2(obj_hdl, state, openflags, FSAL_NO_CREATE, name, NULL,
					   verifier, new_obj, attrs_out, caller_perm_check);
		}
		if (rc)
			return famfs2fsal_error(rc);
		created = true;
	} else if (createmode == FSAL_GUARDED) {
		return fsalstat(ERR_FSAL_EXIST, EEXIST);
	}

	st = famfs_handle_from_ino(exp, num, &obj, NULL);
	if (FSAL_IS_ERROR(st))
		return st;
	h = famfs_hdl(obj);
	*caller_perm_check = !created;
	st = famfs_open_by_handle(h, state, openflags & ~(created ? FSAL_O_TRUNC : 0),
				  created ? FSAL_NO_CREATE : createmode, verifier, attrs_out);
	if (FSAL_IS_ERROR(st)) {
		obj->obj_ops->release(obj);
		return st;
	}
	if (!created && attrs_set && (attrs_set->valid_mask & ATTR_SIZE) &&
	    createmode == FSAL_UNCHECKED) {
		st = famfs_setattr2(obj, false, state, attrs_set);
		if (!FSAL_IS_ERROR(st) && attrs_out)
			st = famfs_getattrs(obj, attrs_out);
	}
	*new_obj = obj;
	return st;
}

/**
 * @brief Change the open mode of a share state.
 *
 * @param[in] obj_hdl    the file
 * @param[in] state      the share state
 * @param[in] openflags  the new mode
 *
 * @return FSAL status
 */
static fsal_status_t famfs_reopen2(struct fsal_obj_handle *obj_hdl, struct state_t *state,
				   fsal_openflags_t openflags)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_fsal_fd *fd = &container_of(state, struct famfs_state_fd, state)->fd;
	fsal_openflags_t old;
	fsal_status_t st;
	int rc;

	if ((openflags & (FSAL_O_WRITE | FSAL_O_TRUNC)) && famfs_readonly(h))
		return fsalstat(ERR_FSAL_ROFS, EROFS);
	PTHREAD_RWLOCK_wrlock(&obj_hdl->obj_lock);
	old = fd->openflags;
	st = check_share_conflict(&h->share, openflags, false);
	if (FSAL_IS_ERROR(st)) {
		PTHREAD_RWLOCK_unlock(&obj_hdl->obj_lock);
		return st;
	}
	update_share_counters(&h->share, old, openflags);
	famfs_fd_open_locked(h, fd, openflags);
	PTHREAD_RWLOCK_unlock(&obj_hdl->obj_lock);
	if (openflags & FSAL_O_TRUNC) {
		rc = famfs_truncate0(h);
		if (rc)
			return famfs2fsal_error(rc);
	}
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief Close a state's descriptor and drop its share reservation.
 *
 * @param[in] obj_hdl  the file
 * @param[in] state    the state
 *
 * @return FSAL status
 */
static fsal_status_t famfs_close2(struct fsal_obj_handle *obj_hdl, struct state_t *state)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_fsal_fd *fd = &container_of(state, struct famfs_state_fd, state)->fd;

	PTHREAD_RWLOCK_wrlock(&obj_hdl->obj_lock);
	if (state->state_type == STATE_TYPE_SHARE || state->state_type == STATE_TYPE_NLM_SHARE ||
	    state->state_type == STATE_TYPE_9P_FID)
		update_share_counters(&h->share, fd->openflags, FSAL_O_CLOSED);
	if (fd->openflags != FSAL_O_CLOSED) {
		fd->openflags = FSAL_O_CLOSED;
		famfs_open_unref(h);
	}
	PTHREAD_RWLOCK_unlock(&obj_hdl->obj_lock);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief Close the global (stateless) descriptor.
 *
 * @param[in] obj_hdl  the file
 *
 * @return FSAL status; ERR_FSAL_NOT_OPENED when it was not open.
 */
static fsal_status_t famfs_close(struct fsal_obj_handle *obj_hdl)
{
	fsal_status_t st;

	PTHREAD_RWLOCK_wrlock(&obj_hdl->obj_lock);
	st = famfs_close_func(obj_hdl, (struct fsal_fd *)&famfs_hdl(obj_hdl)->fd);
	PTHREAD_RWLOCK_unlock(&obj_hdl->obj_lock);
	return st;
}

/* ------------------------------------------------------------------ I/O */

/* Find a usable descriptor for I/O (state, global or temporary). */
static fsal_status_t famfs_io_begin(struct famfs_fsal_obj_handle *h, bool bypass,
				    struct state_t *state, fsal_openflags_t mode,
				    struct famfs_fsal_fd *tmp, bool *has_lock, bool *closefd)
{
	struct fsal_fd *out = (struct fsal_fd *)tmp;
	bool reusing = false;

	tmp->openflags = FSAL_O_CLOSED;
	*has_lock = false;
	*closefd = false;
	return fsal_find_fd(&out, &h->obj_handle, (struct fsal_fd *)&h->fd, &h->share, bypass,
			    state, mode, famfs_open_func, famfs_close_func, has_lock, closefd,
			    false, &reusing);
}

static void famfs_io_end(struct famfs_fsal_obj_handle *h, struct famfs_fsal_fd *tmp, bool has_lock,
			 bool closefd)
{
	if (closefd)
		(void)famfs_close_func(&h->obj_handle, (struct fsal_fd *)tmp);
	if (has_lock)
		PTHREAD_RWLOCK_unlock(&h->obj_handle.obj_lock);
}

/**
 * @brief Read: one copy from the mapped extents into the iovecs.
 *
 * Sets io_amount and end_of_file, then calls @p done_cb exactly once.
 */
static void famfs_read2(struct fsal_obj_handle *obj_hdl, bool bypass, fsal_async_cb done_cb,
			struct fsal_io_arg *arg, void *caller_arg)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_fs *fs = h->dev->fs;
	struct famfs_fsal_fd tmp;
	bool has_lock, closefd;
	struct famfs_inode *i;
	fsal_status_t st;
	uint64_t off = arg->offset;
	int k;

	arg->io_amount = 0;
	arg->end_of_file = false;
	if (arg->info != NULL) {
		/* READ_PLUS is not supported */
		done_cb(obj_hdl, fsalstat(ERR_FSAL_NOTSUPP, 0), arg, caller_arg);
		return;
	}
	st = famfs_io_begin(h, bypass, arg->state, FSAL_O_READ, &tmp, &has_lock, &closefd);
	if (FSAL_IS_ERROR(st)) {
		done_cb(obj_hdl, st, arg, caller_arg);
		return;
	}

	famfs_fs_rdlock(fs);
	i = famfs_hdl_inode(h);
	if (!i) {
		st = fsalstat(ERR_FSAL_STALE, ESTALE);
	} else {
		for (k = 0; k < arg->iov_count; k++) {
			ssize_t n =
			    famfs_file_read(fs, i, off, arg->iov[k].iov_base, arg->iov[k].iov_len,
					    FAMFS.invalidate_reads ? FAMFS_IO_INVALIDATE : 0);

			if (n < 0) {
				st = famfs2fsal_error((int)n);
				break;
			}
			arg->io_amount += (size_t)n;
			off += (uint64_t)n;
			if ((size_t)n < arg->iov[k].iov_len)
				break;
		}
		arg->end_of_file = off >= i->size;
	}
	famfs_fs_rdunlock(fs);
	famfs_io_end(h, &tmp, has_lock, closefd);
	done_cb(obj_hdl, st, arg, caller_arg);
}

/**
 * @brief Write: grow the file first when the write passes EOF, then write
 *        through the extents (flushed, so always stable).
 *
 * Calls @p done_cb exactly once.
 */
static void famfs_write2(struct fsal_obj_handle *obj_hdl, bool bypass, fsal_async_cb done_cb,
			 struct fsal_io_arg *arg, void *caller_arg)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_fs *fs = h->dev->fs;
	struct famfs_fsal_fd tmp;
	bool has_lock, closefd;
	struct famfs_inode *i;
	fsal_status_t st;
	uint64_t off = arg->offset, end = arg->offset;
	int k, rc = 0;

	arg->io_amount = 0;
	arg->fsal_stable = false;
	if (famfs_readonly(h)) {
		done_cb(obj_hdl, fsalstat(ERR_FSAL_ROFS, EROFS), arg, caller_arg);
		return;
	}
	for (k = 0; k < arg->iov_count; k++)
		end += arg->iov[k].iov_len;

	st = famfs_io_begin(h, bypass, arg->state, FSAL_O_WRITE, &tmp, &has_lock, &closefd);
	if (FSAL_IS_ERROR(st)) {
		done_cb(obj_hdl, st, arg, caller_arg);
		return;
	}

	famfs_fs_rdlock(fs);
	i = famfs_hdl_inode(h);
	if (i && end > i->size) {
		/* Grow first (appender lock, one XE_RESIZE), then copy under the read lock. */
		famfs_fs_rdunlock(fs);
		rc = famfs_fs_grow(fs, h->ino, end);
		if (rc)
			goto out;
		famfs_fs_rdlock(fs);
		i = famfs_hdl_inode(h);
	}
	if (!i)
		rc = -ESTALE;
	for (k = 0; i && k < arg->iov_count; k++) {
		ssize_t n = famfs_file_write(fs, i, off, arg->iov[k].iov_base, arg->iov[k].iov_len);

		if (n < 0) {
			rc = (int)n;
			break;
		}
		arg->io_amount += (size_t)n;
		off += (uint64_t)n;
		if ((size_t)n < arg->iov[k].iov_len)
			break;
	}
	famfs_fs_rdunlock(fs);
	arg->fsal_stable = true;
out:
	famfs_io_end(h, &tmp, has_lock, closefd);
	if (rc == -ENOENT) /* removed before it could grow */
		rc = -ESTALE;
	if (rc && arg->io_amount == 0)
		st = famfs2fsal_error(rc);
	else
		st = fsalstat(ERR_FSAL_NO_ERROR, 0);
	done_cb(obj_hdl, st, arg, caller_arg);
}

/**
 * @brief Commit: famfs_file_write already flushed the data; the metadata
 *        (size, map) was logged by the resize. Nothing is left to do.
 */
static fsal_status_t famfs_commit2(struct fsal_obj_handle *obj_hdl, off_t offset, size_t len)
{
	(void)obj_hdl;
	(void)offset;
	(void)len;
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/* ------------------------------------------------------------------ handles */

/**
 * @brief The wire handle: inode number (little endian) and fs UUID, 24 bytes.
 */
static fsal_status_t famfs_handle_to_wire(const struct fsal_obj_handle *obj_hdl,
					  fsal_digesttype_t output_type,
					  struct gsh_buffdesc *fh_desc)
{
	const struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);

	switch (output_type) {
	case FSAL_DIGEST_NFSV3:
	case FSAL_DIGEST_NFSV4:
		if (fh_desc->len < sizeof(h->fh)) {
			LogMajor(COMPONENT_FSAL, "FAMFS: handle space %zu < %zu", fh_desc->len,
				 sizeof(h->fh));
			return fsalstat(ERR_FSAL_TOOSMALL, 0);
		}
		memcpy(fh_desc->addr, &h->fh, sizeof(h->fh));
		fh_desc->len = sizeof(h->fh);
		return fsalstat(ERR_FSAL_NO_ERROR, 0);
	default:
		return fsalstat(ERR_FSAL_SERVERFAULT, 0);
	}
}

/**
 * @brief The handle key MDCACHE hashes on: the same 24 bytes as the wire handle.
 */
static void famfs_handle_to_key(struct fsal_obj_handle *obj_hdl, struct gsh_buffdesc *fh_desc)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);

	fh_desc->addr = &h->fh;
	fh_desc->len = sizeof(h->fh);
}

/**
 * @brief MDCACHE found a duplicate handle: keep its share reservations.
 */
static fsal_status_t famfs_merge(struct fsal_obj_handle *orig_hdl, struct fsal_obj_handle *dupe_hdl)
{
	if (orig_hdl->type == REGULAR_FILE && dupe_hdl->type == REGULAR_FILE)
		return merge_share(orig_hdl, &famfs_hdl(orig_hdl)->share,
				   &famfs_hdl(dupe_hdl)->share);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief Free a handle (unpins a file still held open, drops the device).
 */
static void famfs_release(struct fsal_obj_handle *obj_hdl)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_device *dev = h->dev;

	if (h->pinned) {
		famfs_fs_unpin(dev->fs, h->pinned);
		__atomic_store_n(&h->pinned, NULL, __ATOMIC_RELEASE);
	}
	fsal_obj_handle_fini(obj_hdl);
	gsh_free(h);
	famfs_device_put(dev);
}

/**
 * @brief The object operations of FSAL_FAMFS.
 *
 * @param[in,out] ops  filled with the defaults, then the FAMFS operations
 */
void famfs_handle_ops_init(struct fsal_obj_ops *ops)
{
	fsal_default_obj_ops_init(ops);

	ops->release = famfs_release;
	ops->merge = famfs_merge;
	ops->lookup = famfs_lookup;
	ops->readdir = famfs_readdir;
	ops->getattrs = famfs_getattrs;
	ops->setattr2 = famfs_setattr2;
	ops->mkdir = famfs_mkdir;
	ops->mknode = famfs_mknode;
	ops->symlink = famfs_symlink;
	ops->link = famfs_link;
	ops->unlink = famfs_unlink;
	ops->rename = famfs_rename;
	ops->open2 = famfs_open2;
	ops->reopen2 = famfs_reopen2;
	ops->close2 = famfs_close2;
	ops->close = famfs_close;
	ops->read2 = famfs_read2;
	ops->write2 = famfs_write2;
	ops->commit2 = famfs_commit2;
	ops->handle_to_wire = famfs_handle_to_wire;
	ops->handle_to_key = famfs_handle_to_key;
}

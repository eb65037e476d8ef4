/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file handle.c
 * @brief FSAL_FAMFS object operations: handles, lookup, readdir, attributes and
 *        namespace changes (open files and I/O: file.c).
 *
 * Every operation is one call of famfs-core's shared file-system layer
 * (famfs/ll.h) by inode number, with the caller's credentials (famfs_op_cred):
 * that layer resolves the inode, checks POSIX permissions, takes the locks and
 * answers -ESTALE for an object that is gone (a file removed while it is open
 * keeps working until its last close: it is pinned). This file only translates
 * attributes and errors (famfs2fsal_error).
 */

#include "internal.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "famfs/omf_ext.h"

/* ------------------------------------------------------------------ helpers */

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

/* A new handle for the object of @a (and its attributes in @attrs_out). */
fsal_status_t famfs_handle_from_attr(struct famfs_fsal_export *exp, const struct famfs_attr *a,
				     struct fsal_obj_handle **handle,
				     struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_obj_handle *h = famfs_alloc_handle(exp, a->ino, a->mode);

	if (attrs_out)
		famfs_fill_attrs(exp->dev, a, attrs_out);
	*handle = &h->obj_handle;
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
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
	struct famfs_attr a;
	int rc = famfs_ll_getattr(exp->dev->ll, ino, &a);

	if (rc)
		return famfs2fsal_error(rc);
	return famfs_handle_from_attr(exp, &a, handle, attrs_out);
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
 * @return FSAL status: ERR_FSAL_NOENT, ERR_FSAL_NOTDIR, ERR_FSAL_STALE, ERR_FSAL_ACCESS.
 */
static fsal_status_t famfs_lookup(struct fsal_obj_handle *dir_hdl, const char *path,
				  struct fsal_obj_handle **handle, struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(dir_hdl);
	struct famfs_cred cr = famfs_op_cred();
	struct famfs_attr a;
	int rc;

	*handle = NULL;
	rc = famfs_ll_lookup(dir->dev->ll, dir->ino, path, &cr, &a);
	if (rc)
		return famfs2fsal_error(rc);
	return famfs_handle_from_attr(famfs_op_export(), &a, handle, attrs_out);
}

/**
 * @brief List a directory in inode-number order; an entry's cookie is
 *        FAMFS_DIR_COOKIE(its inode number) and listing resumes at the first
 *        child with a larger one (stable across renames and removals).
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
	struct famfs_cred cr = famfs_op_cred();
	struct famfs_dirsnap snap = {0};
	size_t k;
	int rc;

	*eof = false;
	rc = famfs_ll_readdir(dir->dev->ll, dir->ino, whence ? *whence : 0, &cr, &snap);
	if (rc) {
		famfs_dirsnap_free(&snap);
		return famfs2fsal_error(rc);
	}
	for (k = 0; k < snap.n; k++) {
		struct fsal_obj_handle *obj = NULL;
		struct fsal_attrlist attrs;
		enum fsal_dir_result r;
		fsal_status_t st;

		fsal_prepare_attrs(&attrs, attrmask);
		st = famfs_handle_from_ino(exp, snap.ents[k].ino, &obj, &attrs);
		if (FSAL_IS_ERROR(st)) {
			/* Removed since the snapshot: skip it. */
			fsal_release_attrs(&attrs);
			continue;
		}
		r = cb(snap.ents[k].name, obj, &attrs, dir_state, snap.ents[k].cookie);
		fsal_release_attrs(&attrs);
		if (r >= DIR_TERMINATE)
			break;
	}
	if (k >= snap.n)
		*eof = true;
	famfs_dirsnap_free(&snap);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/* ------------------------------------------------------------------ attributes */

/**
 * @brief Attributes of an object.
 *
 * @param[in]     obj_hdl    the object
 * @param[in,out] attrs_out  request_mask in, attributes out
 *
 * @return FSAL status; ERR_FSAL_STALE for a removed inode.
 */
fsal_status_t famfs_getattrs(struct fsal_obj_handle *obj_hdl, struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_attr a;
	int rc = famfs_ll_getattr(h->dev->ll, h->ino, &a);

	if (rc) {
		if (attrs_out->request_mask & ATTR_RDATTR_ERR)
			attrs_out->valid_mask = ATTR_RDATTR_ERR;
		return famfs2fsal_error(rc);
	}
	famfs_fill_attrs(h->dev, &a, attrs_out);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

/* The famfs-core form of what @attrs asks to set. */
static void famfs_setattr_of(const struct fsal_attrlist *attrs, struct famfs_ll_setattr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_SIZE)) {
		sa->valid |= FAMFS_SET_SIZE;
		sa->size = attrs->filesize;
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MODE)) {
		sa->valid |= FAMFS_SET_MODE;
		sa->mode = attrs->mode & 07777;
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_OWNER)) {
		sa->valid |= FAMFS_SET_UID;
		sa->uid = (uid_t)attrs->owner;
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_GROUP)) {
		sa->valid |= FAMFS_SET_GID;
		sa->gid = (gid_t)attrs->group;
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MTIME_SERVER)) {
		sa->valid |= FAMFS_SET_MTIME | FAMFS_SET_MTIME_NOW;
	} else if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MTIME)) {
		sa->valid |= FAMFS_SET_MTIME;
		sa->mtime_ns = timespec_ns(&attrs->mtime);
	}
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_ATIME_SERVER)) {
		sa->valid |= FAMFS_SET_ATIME | FAMFS_SET_ATIME_NOW;
	} else if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_ATIME)) {
		sa->valid |= FAMFS_SET_ATIME;
		sa->atime_ns = timespec_ns(&attrs->atime);
	}
}

/**
 * @brief Set attributes: size, mode, owner and times, as the caller may.
 *
 * @param[in] obj_hdl     the object
 * @param[in] bypass      bypass deny-write share reservations
 * @param[in] state       the state the change comes with, or NULL
 * @param[in] attrib_set  what to set
 *
 * @return FSAL status; ERR_FSAL_ROFS on a non-master export.
 */
fsal_status_t famfs_setattr2(struct fsal_obj_handle *obj_hdl, bool bypass, struct state_t *state,
			     struct fsal_attrlist *attrib_set)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_cred cr = famfs_op_cred();
	struct famfs_ll_setattr sa;

	if (FSAL_TEST_MASK(attrib_set->valid_mask, ATTR_SIZE) && obj_hdl->type == REGULAR_FILE) {
		fsal_status_t st;

		/* A size change is a write: respect deny-write shares. */
		PTHREAD_RWLOCK_rdlock(&obj_hdl->obj_lock);
		st = check_share_conflict(&h->share, FSAL_O_WRITE, bypass);
		PTHREAD_RWLOCK_unlock(&obj_hdl->obj_lock);
		if (FSAL_IS_ERROR(st) && state == NULL)
			return st;
	}
	famfs_setattr_of(attrib_set, &sa);
	return famfs2fsal_error(famfs_ll_setattr(h->dev->ll, h->ino, &sa, &cr, NULL));
}

/* ------------------------------------------------------------------ namespace changes */

static fsal_status_t famfs_make(struct fsal_obj_handle *dir_hdl, const char *name,
				const struct famfs_ll_new *nw, struct fsal_obj_handle **new_obj,
				struct fsal_attrlist *attrs_out);

/* What a create makes: from @attrs when set, else @def_mode, owned by the caller. */
void famfs_new_of(const struct fsal_attrlist *attrs, mode_t type, mode_t def_mode,
		  struct famfs_ll_new *nw)
{
	memset(nw, 0, sizeof(*nw));
	nw->mode = type | def_mode;
	nw->uid = op_ctx->creds.caller_uid;
	nw->gid = op_ctx->creds.caller_gid;
	if (!attrs)
		return;
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MODE))
		nw->mode = type | (attrs->mode & 07777);
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_OWNER))
		nw->uid = (uid_t)attrs->owner;
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_GROUP))
		nw->gid = (gid_t)attrs->group;
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_MTIME))
		nw->mtime_ns = timespec_ns(&attrs->mtime);
	if (FSAL_TEST_MASK(attrs->valid_mask, ATTR_ATIME))
		nw->atime_ns = timespec_ns(&attrs->atime);
	if (type == S_IFREG && FSAL_TEST_MASK(attrs->valid_mask, ATTR_SIZE))
		nw->size = attrs->filesize;
}

/**
 * @brief Create a directory.
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
	struct famfs_ll_new nw;

	famfs_new_of(attrs_in, S_IFDIR, 0755, &nw);
	return famfs_make(dir_hdl, name, &nw, new_obj, attrs_out);
}

/**
 * @brief Remove a file or an empty directory.
 *
 * @param[in] dir_hdl  the directory
 * @param[in] obj_hdl  the object (unused: the name decides)
 * @param[in] name     the name
 *
 * @return FSAL status: ERR_FSAL_NOTEMPTY, ERR_FSAL_NOENT, ERR_FSAL_ROFS, ERR_FSAL_ACCESS...
 */
static fsal_status_t famfs_unlink(struct fsal_obj_handle *dir_hdl, struct fsal_obj_handle *obj_hdl,
				  const char *name)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(dir_hdl);
	struct famfs_cred cr = famfs_op_cred();

	(void)obj_hdl;
	return famfs2fsal_error(famfs_ll_unlink(dir->dev->ll, dir->ino, name, FAMFS_LL_ANY, &cr));
}

/**
 * @brief Rename (an existing target of the same kind is replaced).
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
	struct famfs_cred cr = famfs_op_cred();

	(void)obj_hdl;
	if (od->dev != nd->dev)
		return fsalstat(ERR_FSAL_XDEV, EXDEV);
	return famfs2fsal_error(
	    famfs_ll_rename(od->dev->ll, od->ino, old_name, nd->ino, new_name, 0, &cr));
}

/* Create @nw as @name in @dir_hdl for the caller; the new handle and its attributes. */
static fsal_status_t famfs_make(struct fsal_obj_handle *dir_hdl, const char *name,
				const struct famfs_ll_new *nw, struct fsal_obj_handle **new_obj,
				struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_obj_handle *dir = famfs_hdl(dir_hdl);
	struct famfs_cred cr = famfs_op_cred();
	struct famfs_attr a;
	int rc;

	*new_obj = NULL;
	rc = famfs_ll_create(dir->dev->ll, dir->ino, name, nw, FAMFS_LL_EXCL, &cr, &a, NULL);
	if (rc)
		return famfs2fsal_error(rc);
	return famfs_handle_from_attr(famfs_op_export(), &a, new_obj, attrs_out);
}

/**
 * @brief Create a symbolic link (its target up to FAMFS_XE_TARGET_MAX bytes).
 */
static fsal_status_t famfs_symlink(struct fsal_obj_handle *dir_hdl, const char *name,
				   const char *link_path, struct fsal_attrlist *attrs_in,
				   struct fsal_obj_handle **new_obj,
				   struct fsal_attrlist *attrs_out)
{
	struct famfs_ll_new nw;

	famfs_new_of(attrs_in, S_IFLNK, 0777, &nw);
	nw.target = link_path;
	return famfs_make(dir_hdl, name, &nw, new_obj, attrs_out);
}

/**
 * @brief The target of a symbolic link, in a buffer the caller frees.
 */
static fsal_status_t famfs_readlink(struct fsal_obj_handle *obj_hdl,
				    struct gsh_buffdesc *link_content, bool refresh)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	char buf[FAMFS_XE_TARGET_MAX + 1];
	ssize_t n = famfs_ll_readlink(h->dev->ll, h->ino, buf, sizeof(buf));

	(void)refresh;
	if (n < 0)
		return famfs2fsal_error((int)n);
	link_content->len = (size_t)n + 1;
	link_content->addr = gsh_malloc(link_content->len);
	memcpy(link_content->addr, buf, link_content->len);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

static fsal_status_t famfs_link(struct fsal_obj_handle *obj_hdl,
				struct fsal_obj_handle *destdir_hdl, const char *name)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl), *dir = famfs_hdl(destdir_hdl);
	struct famfs_cred cr = famfs_op_cred();

	if (h->dev != dir->dev)
		return fsalstat(ERR_FSAL_XDEV, EXDEV); /* another export's famfs */
	return famfs2fsal_error(famfs_ll_link(dir->dev->ll, h->ino, dir->ino, name, &cr, NULL));
}

/**
 * @brief Create a fifo, a socket or (root only) a device node.
 */
static fsal_status_t famfs_mknode(struct fsal_obj_handle *dir_hdl, const char *name,
				  object_file_type_t nodetype, struct fsal_attrlist *attrs_in,
				  struct fsal_obj_handle **new_obj, struct fsal_attrlist *attrs_out)
{
	struct famfs_ll_new nw;
	mode_t type;

	switch (nodetype) {
	case CHARACTER_FILE:
		type = S_IFCHR;
		break;
	case BLOCK_FILE:
		type = S_IFBLK;
		break;
	case SOCKET_FILE:
		type = S_IFSOCK;
		break;
	case FIFO_FILE:
		type = S_IFIFO;
		break;
	default:
		*new_obj = NULL;
		return fsalstat(ERR_FSAL_BADTYPE, EINVAL);
	}
	famfs_new_of(attrs_in, type, 0644, &nw);
	if (attrs_in && (type == S_IFCHR || type == S_IFBLK))
		nw.rdev = makedev(attrs_in->rawdev.major, attrs_in->rawdev.minor);
	return famfs_make(dir_hdl, name, &nw, new_obj, attrs_out);
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
		famfs_ll_unpin(dev->ll, h->ino);
		h->pinned = false;
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
	ops->readlink = famfs_readlink;
	ops->link = famfs_link;
	ops->unlink = famfs_unlink;
	ops->rename = famfs_rename;
	ops->handle_to_wire = famfs_handle_to_wire;
	ops->handle_to_key = famfs_handle_to_key;
	famfs_file_ops_init(ops);
}

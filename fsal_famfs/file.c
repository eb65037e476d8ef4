/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file file.c
 * @brief FSAL_FAMFS open files: open state (shares, the global descriptor, open2 by
 *        name or handle, reopen, close) and I/O (read2, write2, commit2).
 *
 * A file is pinned (famfs_ll_pin) while it has an open state or an open global
 * descriptor, so its space and bytes outlive a remove until the last close. Reads copy
 * once from the mapped extents into ganesha's buffers; writes go into the extents,
 * growing the file first when they pass its end, and are flushed before they return,
 * Data is flushed before a WRITE replies; the file's new size and map are logged (in
 * one entry with its attributes) at COMMIT, at the close of the open, for a stable
 * (FILE_SYNC/DATA_SYNC) WRITE before its reply, and at the latest after FAMFS {
 * Commit_Interval_Ms }. An UNSTABLE WRITE is answered UNSTABLE until then: a gateway
 * that dies before the COMMIT loses it, and the new write verifier tells the client to
 * send it again.
 *
 * Locking: obj_handle->obj_lock protects the share counters, the descriptors and the
 * open count; everything else is famfs-core's shared layer.
 */

#include "internal.h"

#include <string.h>
#include <sys/stat.h>

#include "famfs/io.h"

/* Count an open of @h (a state or the global fd); the first one pins the inode. */
static void famfs_open_ref(struct famfs_fsal_obj_handle *h)
{
	if (h->opens++ > 0)
		return;
	h->pinned = famfs_ll_pin(h->dev->ll, h->ino) == 0;
}

/* Drop an open of @h; the last one unpins the inode. */
static void famfs_open_unref(struct famfs_fsal_obj_handle *h)
{
	if (h->opens == 0 || --h->opens > 0)
		return;
	if (h->pinned) {
		famfs_ll_unpin(h->dev->ll, h->ino);
		h->pinned = false;
	}
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

/* Truncate @h to 0 for FSAL_O_TRUNC (the open checked the caller's right to write). */
static int famfs_truncate0(struct famfs_fsal_obj_handle *h)
{
	static const struct famfs_ll_setattr trunc = {.valid = FAMFS_SET_SIZE, .size = 0};

	return famfs_ll_setattr(h->dev->ll, h->ino, &trunc, NULL, NULL);
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
 * EXCLUSIVE with another verifier (EXIST); a missing one is created with its
 * mode, owner, size and times in one step (the verifier of an EXCLUSIVE create
 * is kept in atime/mtime).
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
	struct famfs_cred cr = famfs_op_cred();
	struct fsal_attrlist verifier_attrs;
	struct fsal_obj_handle *obj;
	struct famfs_ll_new nw;
	struct famfs_attr a;
	fsal_status_t st;
	bool created = false;
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

	/* By name: the child, or a new one with every attribute of the create at once. */
	if (createmode == FSAL_NO_CREATE) {
		rc = famfs_ll_lookup(dir->dev->ll, dir->ino, name, &cr, &a);
	} else {
		famfs_new_of(attrs_set, S_IFREG, 0644, &nw);
		rc = famfs_ll_create(dir->dev->ll, dir->ino, name, &nw,
				     createmode == FSAL_GUARDED ? FAMFS_LL_EXCL : 0, &cr, &a,
				     &created);
	}
	if (rc)
		return famfs2fsal_error(rc);
	(void)famfs_handle_from_attr(exp, &a, &obj, NULL);
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
	if (fd->openflags & FSAL_O_WRITE)
		(void)famfs_ll_commit(h->dev->ll, h->ino); /* CLOSE: what was written is logged */
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

	(void)famfs_ll_commit(famfs_hdl(obj_hdl)->dev->ll, famfs_hdl(obj_hdl)->ino);
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
	struct famfs_fsal_fd tmp;
	bool has_lock, closefd, eof = false;
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
	for (k = 0; k < arg->iov_count && !eof; k++) {
		ssize_t n = famfs_ll_read(h->dev->ll, h->ino, off, arg->iov[k].iov_base,
					  arg->iov[k].iov_len,
					  FAMFS.invalidate_reads ? FAMFS_IO_INVALIDATE : 0, &eof);

		if (n < 0) {
			st = famfs2fsal_error((int)n);
			break;
		}
		arg->io_amount += (size_t)n;
		off += (uint64_t)n;
	}
	arg->end_of_file = eof;
	famfs_io_end(h, &tmp, has_lock, closefd);
	done_cb(obj_hdl, st, arg, caller_arg);
}

/**
 * @brief Write into the extents, growing the file first when the write passes
 *        EOF (flushed, so always stable).
 *
 * Calls @p done_cb exactly once.
 */
static void famfs_write2(struct fsal_obj_handle *obj_hdl, bool bypass, fsal_async_cb done_cb,
			 struct fsal_io_arg *arg, void *caller_arg)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);
	struct famfs_fsal_fd tmp;
	bool has_lock, closefd;
	fsal_status_t st;
	uint64_t off = arg->offset;
	bool stable = arg->fsal_stable; /* FILE_SYNC or DATA_SYNC asked */
	int k, rc = 0;

	arg->io_amount = 0;
	arg->fsal_stable = false;
	st = famfs_io_begin(h, bypass, arg->state, FSAL_O_WRITE, &tmp, &has_lock, &closefd);
	if (FSAL_IS_ERROR(st)) {
		done_cb(obj_hdl, st, arg, caller_arg);
		return;
	}
	for (k = 0; k < arg->iov_count; k++) {
		ssize_t n = famfs_ll_write(h->dev->ll, h->ino, off, arg->iov[k].iov_base,
					   arg->iov[k].iov_len);

		if (n < 0) {
			rc = (int)n;
			break;
		}
		arg->io_amount += (size_t)n;
		off += (uint64_t)n;
		if ((size_t)n < arg->iov[k].iov_len)
			break;
	}
	/* The data is in the memory; stable once the new size and map are logged. */
	if (arg->io_amount && stable) {
		int c = famfs_ll_commit(h->dev->ll, h->ino);

		if (c && !rc)
			rc = c;
		if (c)
			arg->io_amount = 0; /* nothing is stable: the client writes it again */
	}
	arg->fsal_stable = stable || !famfs_fs_uncommitted(h->dev->fs);
	famfs_io_end(h, &tmp, has_lock, closefd);
	if (rc && arg->io_amount == 0)
		st = famfs2fsal_error(rc);
	else
		st = fsalstat(ERR_FSAL_NO_ERROR, 0);
	done_cb(obj_hdl, st, arg, caller_arg);
}

/**
 * @brief COMMIT: the writes already flushed the data; the file's new size, map and
 *        attributes are logged now, in one entry.
 */
static fsal_status_t famfs_commit2(struct fsal_obj_handle *obj_hdl, off_t offset, size_t len)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);

	(void)offset;
	(void)len;
	return famfs2fsal_error(famfs_ll_commit(h->dev->ll, h->ino));
}

/**
 * @brief ALLOCATE (grow the file over the range: famfs files are allocated up to their
 *        size) and DEALLOCATE (the range reads zeros; its extents stay).
 */
static fsal_status_t famfs_fallocate(struct fsal_obj_handle *obj_hdl, struct state_t *state,
				     uint64_t offset, uint64_t length, bool allocate)
{
	struct famfs_fsal_obj_handle *h = famfs_hdl(obj_hdl);

	(void)state;
	return famfs2fsal_error(famfs_ll_fallocate(
	    h->dev->ll, h->ino, allocate ? 0 : FAMFS_FALLOC_PUNCH | FAMFS_FALLOC_KEEP_SIZE, offset,
	    length));
}

/**
 * @brief The open-file operations of FSAL_FAMFS.
 *
 * @param[in,out] ops  the object operations being filled
 */
void famfs_file_ops_init(struct fsal_obj_ops *ops)
{
	ops->open2 = famfs_open2;
	ops->reopen2 = famfs_reopen2;
	ops->close2 = famfs_close2;
	ops->close = famfs_close;
	ops->read2 = famfs_read2;
	ops->write2 = famfs_write2;
	ops->commit2 = famfs_commit2;
	ops->fallocate = famfs_fallocate;
}

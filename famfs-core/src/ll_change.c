// SPDX-License-Identifier: Apache-2.0
/**
 * @file ll_change.c
 * @brief The shared layer's changes (famfs/ll.h): POSIX permission with the caller's
 *        credentials, then create, unlink, rename and setattr under the appender lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "famfs/ll.h"
#include "famfs/omf_ext.h"
#include "famfs/path.h"
#include "internal.h"
#include "ll_priv.h"

/* ------------------------------------------------------------------ permission */

bool famfs_cred_in_group(const struct famfs_cred *cr, gid_t gid)
{
	if (cr->gid == gid)
		return true;
	for (size_t k = 0; k < cr->ngroups; k++)
		if (cr->groups[k] == gid)
			return true;
	return false;
}

int famfs_permit(const struct famfs_cred *cr, mode_t mode, uid_t uid, gid_t gid, int mask)
{
	unsigned int bits;

	if (!cr || !mask)
		return 0;
	if (cr->uid == 0) {
		/* root: everything but executing a file nobody may execute */
		if ((mask & FAMFS_MAY_EXEC) && !S_ISDIR(mode) && !(mode & 0111))
			return -EACCES;
		return 0;
	}
	if (cr->uid == uid)
		bits = (mode >> 6) & 7;
	else if (famfs_cred_in_group(cr, gid))
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	return ((unsigned int)mask & ~bits) ? -EACCES : 0;
}

int ll_permit_inode(const struct famfs_cred *cr, const struct famfs_inode *i, int mask)
{
	return famfs_permit(cr, i->mode, i->uid, i->gid, mask);
}

/* The sticky rule: in a sticky directory only the owner of @victim or of @dir, or root. */
static int permit_sticky(const struct famfs_cred *cr, const struct famfs_inode *dir,
			 const struct famfs_inode *victim)
{
	if (!cr || !(dir->mode & S_ISVTX) || cr->uid == 0 || cr->uid == victim->uid ||
	    cr->uid == dir->uid)
		return 0;
	return -EPERM;
}

/* Remove @victim from @dir: write and search on @dir, then the sticky rule. */
static int permit_remove(const struct famfs_cred *cr, const struct famfs_inode *dir,
			 const struct famfs_inode *victim)
{
	int rc = ll_permit_inode(cr, dir, FAMFS_MAY_WRITE | FAMFS_MAY_EXEC);

	return rc ? rc : permit_sticky(cr, dir, victim);
}

/* ------------------------------------------------------------------ changes */

uint64_t ll_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Become the appender for a change: -EROFS on a read-only layer; -EAGAIN when another
 * process of this host holds the log lock longer than the layer waits (a server's
 * request must not hang behind, say, a long `famfs-gw cp`: NFS clients retry).
 */
int ll_begin(struct famfs_ll *ll)
{
	return ll->readonly ? -EROFS : famfs_fs_lock_timed(ll->fs, ll->lock_ms);
}

/* A name a directory may hold: -EINVAL empty, ".", ".." or with a '/'; -ENAMETOOLONG. */
static int ll_name_check(const char *name)
{
	size_t len = strlen(name);

	if (!len || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return len > FAMFS_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Owner, group and mode of a new object in @d (POSIX inode_init_owner rules). */
static int new_owner(const struct famfs_cred *cr, const struct famfs_inode *d,
		     const struct famfs_ll_new *nw, mode_t *mode, uid_t *uid, gid_t *gid)
{
	*mode = nw->mode;
	*uid = nw->uid;
	*gid = nw->gid;
	if (cr && cr->uid != 0) {
		if (*uid != cr->uid)
			return -EPERM;
		if (*gid != cr->gid && !famfs_cred_in_group(cr, *gid) && !(d->mode & S_ISGID))
			return -EPERM;
	}
	if (d->mode & S_ISGID) {
		*gid = d->gid;
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
		else if ((*mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && cr &&
			 cr->uid != 0 && !famfs_cred_in_group(cr, *gid))
			*mode &= ~(mode_t)S_ISGID;
	}
	return 0;
}

int famfs_ll_create(struct famfs_ll *ll, uint64_t dir, const char *name,
		    const struct famfs_ll_new *nw, unsigned int flags, const struct famfs_cred *cr,
		    struct famfs_attr *out, bool *created)
{
	char rel[FAMFS_PATH_MAX + 1];
	struct famfs_inode *d, *c = NULL;
	bool isdir = S_ISDIR(nw->mode);
	mode_t mode = nw->mode;
	uid_t uid = nw->uid;
	gid_t gid = nw->gid;
	int rc;

	if (created)
		*created = false;
	switch (nw->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFLNK:
		if (!nw->target || !*nw->target)
			return -ENOENT;
		if (strlen(nw->target) > FAMFS_XE_TARGET_MAX)
			return -ENAMETOOLONG; /* the format's limit: nothing is logged */
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (cr && cr->uid != 0)
			return -EPERM; /* device nodes are root's (CAP_MKNOD) */
		break;
	default:
		return -EINVAL;
	}
	rc = ll_begin(ll);
	if (rc)
		return rc;
	/* Under the appender lock nothing else changes the view: pointers stay valid. */
	famfs_fs_rdlock(ll->fs);
	rc = ll_dir(ll, dir, &d);
	if (!rc)
		rc = ll_permit_inode(cr, d, FAMFS_MAY_EXEC);
	if (!rc)
		rc = ll_name_check(name);
	if (!rc)
		c = famfs_ns_lookup(famfs_fs_ns(ll->fs), d, name, strlen(name));
	/* Opening an existing file needs no write permission on the directory. */
	if (!rc && !c)
		rc = ll_permit_inode(cr, d, FAMFS_MAY_WRITE);
	if (!rc && !c)
		rc = new_owner(cr, d, nw, &mode, &uid, &gid);
	famfs_fs_rdunlock(ll->fs);
	if (!rc && c) {
		c = famfs_ns_target(c); /* a hard link opens its object */
		if ((flags & FAMFS_LL_EXCL) || !S_ISREG(nw->mode))
			rc = -EEXIST;
		else if (S_ISDIR(c->mode))
			rc = -EISDIR;
		goto out_fill;
	}
	if (!rc)
		rc = famfs_fs_child_relpath(ll->fs, dir, name, rel, sizeof(rel));
	if (rc)
		goto out_unlock;
	if (isdir)
		rc = famfs_fs_mkdir(ll->fs, rel, mode & 07777, uid, gid, &c);
	else if (S_ISREG(mode))
		rc = famfs_fs_create(ll->fs, rel, nw->size, mode & 07777, uid, gid, NULL, &c);
	else
		rc = famfs_fs_mknod(ll->fs, rel, mode, uid, gid, nw->rdev, nw->target, &c);
	if (!rc && (nw->atime_ns || nw->mtime_ns))
		rc = famfs_fs_setattr(ll->fs, c, FAMFS_ATTR_ATIME | FAMFS_ATTR_MTIME, 0, 0, 0,
				      nw->mtime_ns ? nw->mtime_ns : ll_now_ns(),
				      nw->atime_ns ? nw->atime_ns : ll_now_ns());
	if (!rc && created)
		*created = true;
out_fill:
	if (!rc && out) {
		famfs_fs_rdlock(ll->fs);
		ll_fill(ll, c, out);
		famfs_fs_rdunlock(ll->fs);
	}
out_unlock:
	famfs_fs_unlock(ll->fs);
	return rc;
}

int famfs_ll_unlink(struct famfs_ll *ll, uint64_t dir, const char *name, enum famfs_ll_kind kind,
		    const struct famfs_cred *cr)
{
	struct famfs_inode *d, *c = NULL;
	int rc = ll_begin(ll);

	if (rc)
		return rc;
	ll_repin(ll); /* open descriptors keep the file as it is now */
	famfs_fs_rdlock(ll->fs);
	rc = ll_dir(ll, dir, &d);
	if (!rc && !(c = famfs_ns_lookup(famfs_fs_ns(ll->fs), d, name, strlen(name))))
		rc = -ENOENT;
	if (!rc && kind == FAMFS_LL_DIR && !S_ISDIR(c->mode))
		rc = -ENOTDIR;
	if (!rc && kind == FAMFS_LL_FILE && S_ISDIR(c->mode))
		rc = -EISDIR;
	if (!rc)
		rc = permit_remove(cr, d, famfs_ns_target(c));
	if (!rc && S_ISDIR(c->mode) && c->nchildren)
		rc = -ENOTEMPTY;
	famfs_fs_rdunlock(ll->fs);
	if (!rc)
		rc = famfs_fs_remove(ll->fs, d, name);
	famfs_fs_unlock(ll->fs);
	return rc;
}

int famfs_ll_link(struct famfs_ll *ll, uint64_t ino, uint64_t newdir, const char *newname,
		  const struct famfs_cred *cr, struct famfs_attr *out)
{
	char rel[FAMFS_PATH_MAX + 2];
	struct famfs_inode *d, *t, *c = NULL;
	int rc = ll_begin(ll);

	if (rc)
		return rc;
	famfs_fs_rdlock(ll->fs);
	t = ll_inode(ll, ino);
	if (!t || t->removed_at != UINT64_MAX || t->link_of)
		rc = t ? -ENOENT : -ESTALE; /* a removed file gets no new name */
	else if (S_ISDIR(t->mode))
		rc = -EPERM;
	if (!rc)
		rc = ll_dir(ll, newdir, &d);
	if (!rc)
		rc = ll_permit_inode(cr, d, FAMFS_MAY_WRITE | FAMFS_MAY_EXEC);
	if (!rc)
		rc = ll_name_check(newname);
	if (!rc && famfs_ns_lookup(famfs_fs_ns(ll->fs), d, newname, strlen(newname)))
		rc = -EEXIST;
	famfs_fs_rdunlock(ll->fs);
	if (!rc)
		rc = famfs_fs_child_relpath(ll->fs, newdir, newname, rel, sizeof(rel));
	if (!rc)
		rc = famfs_fs_link(ll->fs, rel, ino, &c);
	if (!rc && out) {
		famfs_fs_rdlock(ll->fs);
		ll_fill(ll, famfs_ns_target(c), out);
		famfs_fs_rdunlock(ll->fs);
	}
	famfs_fs_unlock(ll->fs);
	return rc;
}

int famfs_ll_rename(struct famfs_ll *ll, uint64_t olddir, const char *oldname, uint64_t newdir,
		    const char *newname, unsigned int flags, const struct famfs_cred *cr)
{
	struct famfs_inode *od, *nd = NULL, *obj = NULL, *target = NULL;
	int rc = ll_begin(ll);

	if (rc)
		return rc;
	ll_repin(ll); /* a replaced target's descriptors keep it as it is now */
	famfs_fs_rdlock(ll->fs);
	rc = ll_dir(ll, olddir, &od);
	if (!rc)
		rc = ll_dir(ll, newdir, &nd);
	if (!rc && !(obj = famfs_ns_lookup(famfs_fs_ns(ll->fs), od, oldname, strlen(oldname))))
		rc = -ENOENT;
	if (!rc)
		rc = ll_name_check(newname); /* a client's bad name is refused, not logged */
	if (!rc)
		target = famfs_ns_lookup(famfs_fs_ns(ll->fs), nd, newname, strlen(newname));
	if (!rc && target && (flags & FAMFS_LL_NOREPLACE))
		rc = -EEXIST;
	if (!rc)
		rc = permit_remove(cr, od, famfs_ns_target(obj));
	if (!rc)
		rc = ll_permit_inode(cr, nd, FAMFS_MAY_WRITE | FAMFS_MAY_EXEC);
	if (!rc && target && famfs_ns_target(target) != famfs_ns_target(obj))
		rc = permit_sticky(cr, nd, famfs_ns_target(target));
	/* A directory that changes parent rewrites its "..": write permission on it. */
	if (!rc && S_ISDIR(obj->mode) && od != nd)
		rc = ll_permit_inode(cr, obj, FAMFS_MAY_WRITE);
	famfs_fs_rdunlock(ll->fs);
	if (!rc)
		rc = famfs_fs_rename(ll->fs, od, oldname, nd, newname);
	famfs_fs_unlock(ll->fs);
	return rc;
}

/* May @cr make the changes @sa asks of @i? Adjusts the mode (setgid) as POSIX does. */
static int permit_setattr(const struct famfs_cred *cr, const struct famfs_inode *i,
			  struct famfs_ll_setattr *sa)
{
	bool owner = !cr || cr->uid == 0 || cr->uid == i->uid;
	int rc;

	if (!cr || cr->uid == 0)
		return 0;
	if ((sa->valid & FAMFS_SET_UID) && sa->uid != i->uid)
		return -EPERM;
	if ((sa->valid & FAMFS_SET_GID) && sa->gid != i->gid &&
	    (!owner || !famfs_cred_in_group(cr, sa->gid)))
		return -EPERM;
	if (sa->valid & FAMFS_SET_MODE) {
		gid_t g = (sa->valid & FAMFS_SET_GID) ? sa->gid : i->gid;

		if (!owner)
			return -EPERM;
		if (!famfs_cred_in_group(cr, g))
			sa->mode &= ~(mode_t)S_ISGID;
	}
	if (sa->valid & (FAMFS_SET_MTIME | FAMFS_SET_ATIME)) {
		bool now_only =
		    !((sa->valid & FAMFS_SET_MTIME) && !(sa->valid & FAMFS_SET_MTIME_NOW)) &&
		    !((sa->valid & FAMFS_SET_ATIME) && !(sa->valid & FAMFS_SET_ATIME_NOW));

		if (!owner && !now_only)
			return -EPERM;
		if (!owner && (rc = ll_permit_inode(cr, i, FAMFS_MAY_WRITE)))
			return rc;
	}
	if (sa->valid & FAMFS_SET_SIZE) {
		rc = ll_permit_inode(cr, i, FAMFS_MAY_WRITE);
		if (rc)
			return rc;
	}
	return 0;
}

int famfs_ll_setattr(struct famfs_ll *ll, uint64_t ino, const struct famfs_ll_setattr *req,
		     const struct famfs_cred *cr, struct famfs_attr *out)
{
	struct famfs_ll_setattr sa = *req;
	struct famfs_inode *i;
	uint32_t valid = 0;
	uint64_t now = ll_now_ns();
	int rc = ll_begin(ll);

	if (rc)
		return rc;
	famfs_fs_rdlock(ll->fs);
	i = ll_inode(ll, ino);
	rc = i ? permit_setattr(cr, i, &sa) : -ESTALE;
	if (!rc && (sa.valid & FAMFS_SET_SIZE) && !S_ISREG(i->mode))
		rc = S_ISDIR(i->mode) ? -EISDIR : -EINVAL;
	famfs_fs_rdunlock(ll->fs);
	if (!rc && (sa.valid & FAMFS_SET_SIZE) && sa.size != i->size)
		rc = famfs_fs_resize(ll->fs, i, sa.size);
	if (sa.valid & FAMFS_SET_MODE)
		valid |= FAMFS_ATTR_MODE;
	if (sa.valid & FAMFS_SET_UID)
		valid |= FAMFS_ATTR_UID;
	if (sa.valid & FAMFS_SET_GID)
		valid |= FAMFS_ATTR_GID;
	if (sa.valid & FAMFS_SET_MTIME)
		valid |= FAMFS_ATTR_MTIME;
	if (sa.valid & FAMFS_SET_ATIME)
		valid |= FAMFS_ATTR_ATIME;
	if (!rc && valid) {
		uint64_t mt = (sa.valid & FAMFS_SET_MTIME_NOW) ? now : sa.mtime_ns;
		uint64_t at = (sa.valid & FAMFS_SET_ATIME_NOW) ? now : sa.atime_ns;

		rc = -EOPNOTSUPP;
		if (ll->defer_attrs) /* logged with the next commit */
			rc = famfs_fs_setattr_deferred(ll->fs, ino, valid, sa.mode & 07777, sa.uid,
						       sa.gid, mt, at);
		if (rc == -EOPNOTSUPP)
			rc = famfs_fs_setattr(ll->fs, i, valid, sa.mode & 07777, sa.uid, sa.gid, mt,
					      at);
	}
	if (!rc && out) {
		famfs_fs_rdlock(ll->fs);
		ll_fill(ll, i, out);
		famfs_fs_rdunlock(ll->fs);
	}
	famfs_fs_unlock(ll->fs);
	return rc;
}

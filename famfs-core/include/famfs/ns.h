/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file ns.h
 * @brief The namespace that log replay builds: directories, files and their extent maps.
 *
 * Owns: every famfs_inode and the two indexes over them, by inode number and by
 * (parent, name). Inode numbers are stable across processes and hosts because they come
 * from the log: the root is 1 and the object created by log entry i is ino_base + i + 2
 * (ino_base is 0 until the log is compacted; compaction keeps every number), so any host
 * that replays the same log hands out the same numbers (fit for an NFS file handle).
 * Invariants: a linked child is under exactly one directory; names are unique within a
 * directory; children are kept in creation order (a rename appends). An unlinked inode
 * leaves both indexes and moves to the graveyard, where it stays valid memory while it is
 * pinned (an open file) and until famfs_ns_reap() frees it after its last pin.
 * Hard links (XE_LINK): a *link name* is an inode of its own in both indexes (so the log
 * can name it), with @link_of set to its target; it holds nothing else. The target counts
 * its link names in @nlinks. A target whose own name was removed while link names remain
 * is *nameless*: out of its directory and the name index, still in the number index,
 * alive; it goes to the graveyard with its last link name. Link names never point at
 * link names or directories.
 * Locking: none inside; the owner (famfs_fs) serialises writers against readers.
 */
#ifndef FAMFS_NS_H
#define FAMFS_NS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "famfs/omf.h"
#include "famfs/path.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FAMFS_ROOT_INO	      1ULL
#define FAMFS_INO_OF_INDEX(i) ((uint64_t)(i) + 2)

struct famfs_inode {
	uint64_t ino;
	uint64_t log_index; /* the entry that created it; UINT64_MAX for the root */
	mode_t mode;	    /* S_IFDIR, S_IFREG or (XE_MKNOD) another type, plus bits */
	uint32_t uid;
	uint32_t gid;
	uint64_t size;		    /* file size in bytes; 0 for directories */
	uint32_t flags;		    /* fm_flags of the FILE entry */
	struct famfs_omf_fmap fmap; /* files: the extent map exactly as logged */
	uint64_t mtime_ns;	    /* 0 when the log never set it */
	uint64_t ctime_ns;
	uint64_t atime_ns;
	uint64_t rdev;		     /* a device node's dev_t */
	char *target;		     /* a symbolic link's target (malloc'd), else NULL */
	uint64_t removed_at;	     /* log index of the removal; UINT64_MAX while linked */
	uint32_t pins;		     /* opens held by this process (famfs_fs_pin) */
	bool upstream;		     /* an upstream host replaying the log has it at this path */
	bool memerr;		     /* a memory error hit its extents: I/O answers -EIO */
	bool compact_up;	     /* compaction's mark: written in upstream form */
	bool compact_inline;	     /* compaction's mark: its map and times went with it */
	bool nameless;		     /* its own name removed; alive under link names */
	struct famfs_inode *link_of; /* a link name: the object it names (else NULL) */
	struct famfs_inode *compact_home; /* compaction: the link name a nameless one takes */
	uint32_t nlinks;		  /* link names of this object */
	uint64_t writes;		  /* data writes here: the change attribute moves */
	struct famfs_inode *parent;	  /* NULL for the root and for unlinked inodes */
	struct famfs_inode *child_head, *child_tail, *next_sibling, *prev_sibling;
	uint64_t nchildren;
	struct famfs_inode *hash_next;
	struct famfs_inode *ino_next;
	uint16_t namelen;
	char name[FAMFS_NAME_MAX + 1];
};

struct famfs_ns {
	struct famfs_inode *root;
	struct famfs_inode **by_ino;   /* hash of the inode number */
	size_t by_ino_cap;	       /* buckets of by_ino */
	struct famfs_inode *graveyard; /* unlinked inodes, chained by ino_next */
	struct famfs_inode **buckets;  /* hash of (parent ino, name) */
	size_t nbuckets;
	size_t count; /* inodes, root included */
};

/** Initialise with an empty root directory (mode 0755 | S_IFDIR). 0 or -ENOMEM. */
int famfs_ns_init(struct famfs_ns *ns);
/** Free every inode. */
void famfs_ns_fini(struct famfs_ns *ns);

/** The child @p name (of @p len bytes) of @p dir, or NULL. */
struct famfs_inode *famfs_ns_lookup(const struct famfs_ns *ns, const struct famfs_inode *dir,
				    const char *name, size_t len);
/** The inode numbered @p ino, or NULL. */
struct famfs_inode *famfs_ns_get(const struct famfs_ns *ns, uint64_t ino);
/** The directory numbered @p ino: 0, -ENOENT (no such inode) or -ENOTDIR. */
int famfs_ns_get_dir(const struct famfs_ns *ns, uint64_t ino, struct famfs_inode **out);
/**
 * Resolve a relpath ("" is the root).
 * @return 0; -ENOENT a component is missing; -ENOTDIR a non-final component is a file.
 */
int famfs_ns_resolve(const struct famfs_ns *ns, const char *path, struct famfs_inode **out);

/**
 * Add a child under @p dir, copying attributes (mode, uid, gid, size, flags, fmap, times,
 * rdev, a copy of the target, log_index) from @p tmpl; its inode number is tmpl->ino, or
 * FAMFS_INO_OF_INDEX(tmpl->log_index) when that is 0.
 * @return 0; -EEXIST name taken or number in use; -ENOTDIR @p dir is not a directory;
 *         -ENAMETOOLONG; -ENOMEM.
 */
int famfs_ns_add(struct famfs_ns *ns, struct famfs_inode *dir, const char *name,
		 const struct famfs_inode *tmpl, struct famfs_inode **out);

/**
 * Unlink @p ino from its directory (unless nameless) and both indexes; it moves to the
 * graveyard. A link name's target loses one link.
 * @return 0, -EINVAL the root or already unlinked, -ENOTEMPTY a directory with children.
 */
int famfs_ns_unlink(struct famfs_ns *ns, struct famfs_inode *ino, uint64_t removed_at);

/**
 * Move @p ino to (@p dir, @p name). The name must be free (unlink a target first).
 * @return 0, -EEXIST, -ENOTDIR, -EINVAL (the root, or a directory into itself),
 *         -ENAMETOOLONG.
 */
int famfs_ns_move(struct famfs_ns *ns, struct famfs_inode *ino, struct famfs_inode *dir,
		  const char *name);

/**
 * Take @p ino's own name away while link names keep it (@p ino->nlinks > 0): it leaves its
 * directory and the name index and becomes nameless. 0 or -EINVAL.
 */
int famfs_ns_unname(struct famfs_ns *ns, struct famfs_inode *ino);

/**
 * The object a name stands for: the target of a link name, else the inode itself (as
 * strchr() does, it hands back what it was given without the const).
 */
static inline struct famfs_inode *famfs_ns_target(const struct famfs_inode *i)
{
	return (struct famfs_inode *)(i && i->link_of ? i->link_of : i);
}

/** Free the graveyard's inodes that nobody pins (the owner knows no pointer is held). */
void famfs_ns_reap(struct famfs_ns *ns);
/** Does any inode of @p ns, linked or not, have pins? */
bool famfs_ns_pinned(const struct famfs_ns *ns);

/** Write the relpath of @p ino ("" for the root) into @p buf. 0 or -ENAMETOOLONG. */
int famfs_ns_path(const struct famfs_inode *ino, char *buf, size_t len);

#define famfs_ns_foreach_child(dir, child)                                                         \
	for ((child) = (dir)->child_head; (child); (child) = (child)->next_sibling)

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_NS_H */

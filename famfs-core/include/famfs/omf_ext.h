/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file omf_ext.h
 * @brief famfs-gateway extensions to the famfs on-media format (extension version 1).
 *
 * Upstream famfs files are created once and never change. NFS clients need remove,
 * rename, resize, chmod/chown/utimes and empty files, and space that is reused. These
 * come as **extension log entries** (types 0x4701..0x4709): ordinary 544-byte log entries (same
 * seqnum and CRC rules as upstream's, omf.h) whose type codes upstream does not know. Upstream
 * logplay skips unknown types, so an upstream host sees the namespace as if only the upstream
 * entries existed: an older but consistent view (a removed file is still there with its
 * old bytes, a renamed one under its old name, a resized one at its old size; files
 * under renamed directories and empty files are not there). Upstream's bitmap builder
 * reports unknown types as "bad type"; upstream fsck may count them. A log with only FILE and MKDIR
 * entries stays pure upstream: the gateway writes a FILE entry for every file of size > 0 whose map
 * upstream can express, and an extension entry only for what upstream cannot.
 *
 * Upstream's rules, which every FILE and MKDIR entry we write (creates and compaction)
 * keeps: (1) a path that an earlier FILE or MKDIR entry of the log named is never named
 * again in upstream form, whatever happened to that object since (upstream hosts skip
 * XE_REMOVE/XE_RENAME and still hold it there; a FILE over their directory or a MKDIR
 * over their file fails their logplay, which unmounts them): the new object goes to
 * XE_CREATE, and so does everything created under it (its parent is not upstream's);
 * (2) a FILE entry holds at most 2 simple extents or one interleaved extent (what the
 * kernels upstream pairs with map); a file with a longer map is written by compaction as
 * XE_CREATE + XE_RESIZE. tests/tools/upstream_check.py checks both on every test's log.
 *
 * Objects are named by inode number. The object created by the entry at index i has the
 * inode number ino_base + i + 2, where ino_base is 0 in a log that was never compacted
 * (see XE_LOGINFO); the root is 1. Inode numbers never change for the life of an object.
 *
 * Every extension payload starts with the same 32-byte header (entry offsets 16..47):
 *
 *   | off | size | field      | meaning                                               |
 *   |-----|------|------------|-------------------------------------------------------|
 *   |  16 |    2 | xh_version | extension format version of this entry (1 or 2)       |
 *   |  18 |    2 | xh_flags   | per-type flags                                        |
 *   |  20 |    4 | (pad, 0)   |                                                       |
 *   |  24 |    8 | xh_ino     | the object the entry acts on (0: none)                |
 *   |  32 |    8 | xh_time_ns | wall-clock time of the change, ns since the epoch     |
 *   |  40 |    8 | (pad, 0)   |                                                       |
 *
 * The CRC covers the whole entry as for every entry (bytes [0, 536), zero padding).
 * A reader that meets an extension entry with a version it does not know stops replay
 * there and says so (it cannot know what the entry changed).
 *
 * Versions. 1: every extent is a multiple of the superblock's allocation unit (2 MiB).
 * 2 (FAMFS_XE_VERSION_PACKED): the entry's extents are multiples of 4 KiB. Files smaller
 * than 2 MiB that NFS or FUSE clients write are *packed*: they get 4 KiB-granular space
 * inside 2 MiB blocks that other small files share, never crossing a 2 MiB boundary.
 * Their XE_RESIZE (and an XE_RESERVE that holds such space) is written as version 2;
 * every other entry stays version 1, so a log without packed files reads as before.
 * Packed files stay in extension form: upstream kernels map only 2 MiB-aligned extents,
 * and upstream's 2 MiB bitmap would count two files in one block as cross-linked.
 * 3 (FAMFS_XE_VERSION_LONG): a name of 80 to 255 bytes (Linux's NAME_MAX). An object's
 * path may be up to 4095 bytes (PATH_MAX): extension entries name it by its parent's
 * inode and its own name, so only upstream's FILE and MKDIR entries (80-byte path field)
 * limit a path to 79 bytes, and an object whose path is longer is created in extension
 * form (so is everything below it). Layouts of version 3 (entry offsets):
 *   XE_CREATE: as version 1, the name field at 80 is 256 bytes.
 *   XE_REMOVE: as version 1, the name field at 56 is 256 bytes.
 *   XE_RENAME: 48 old parent | 56 new parent | 64 replaced | 72 new name (256); the old
 *     name is not kept (the object is xh_ino, in the old parent).
 *   XE_MKNOD: as version 1 up to 80, then 80 name (256) | 336 target (200: at most
 *     FAMFS_XE_TARGET3_MAX bytes and the NUL).
 * A writer uses version 3 only where a name is longer than 79 bytes.
 *
 * Types, payloads (entry offsets) and replay rules:
 *
 *  XE_CREATE 0x4701: an object upstream cannot express or could not place: an empty
 *    file, or a file or directory under a directory that was renamed (upstream still
 *    knows that directory by its old name, so a FILE/MKDIR entry would fail there).
 *    48 parent ino (8) | 56 mode (4: permission bits, plus S_IFDIR for a directory) |
 *    60 uid (4) | 64 gid (4) | 68 pad | 72 reserved (8, 0) | 80 name (80, one component).
 *    The map of a non-empty file follows in an XE_RESIZE entry, or, with xh_flags
 *    FAMFS_XC_MAP (version 2 or 3 entries), in the entry itself, right after the name
 *    field (at 160, or 336 in version 3): size (8) | mtime ns (8) | atime ns (8) |
 *    extent count (4) | pad (4) | extents (16 each: device offset (8), length (8); at most
 *    FAMFS_XC_MAP_MAX (16), 10 in version 3), a simple map with 4 KiB multiples. A small
 *    file is then one entry: `famfs-gw cp` writes packed files this way, and compaction
 *    every file in extension form whose map fits.
 *    Replay: like FILE/MKDIR: the parent must be a directory, the name free.
 *  XE_REMOVE 0x4702: unlink a file or remove an empty directory.
 *    48 parent ino (8) | 56 name (80). Replay: the object must be the child @name of
 *    @parent; a directory must be empty. A file's extents become *pending free* at this
 *    entry's index (see below).
 *  XE_RENAME 0x4703: move xh_ino from (old parent, old name) to (new parent, new name).
 *    48 old parent (8) | 56 new parent (8) | 64 replaced ino (8, 0 when the target did not
 *    exist) | 72 old name (80) | 152 new name (80). Replay: the replaced object (a file or
 *    an empty directory) is removed as by XE_REMOVE, atomically in the same entry; a
 *    directory may not move under itself.
 *  XE_RESIZE 0x4704: set a file's size and its whole extent map.
 *    48 new size (8) | 56 pad (8) | 64 fmap (416, struct famfs_omf_fmap). Replay: extents
 *    of the old map that the new map does not hold become pending free; extents the new
 *    map adds are claimed. Growth adds extents; a shrink may keep the allocation.
 *    Version 2 adds attributes set with the map, as XE_SETATTR's: 480 valid mask (4) |
 *    484 mode (4) | 488 uid (4) | 492 gid (4) | 496 mtime ns (8) | 504 atime ns (8) (zero
 *    in version 1 entries). This is how a file written by a client is committed in one
 *    entry: its final size, map and attributes (see "Deferred commit" below).
 *  XE_SETATTR 0x4705: set attributes.
 *    48 valid mask (4: 1 mode, 2 uid, 4 gid, 8 mtime, 16 atime) | 52 mode (4) | 56 uid (4)
 *    | 60 gid (4) | 64 mtime ns (8) | 72 atime ns (8).
 *  XE_LOGINFO 0x4706: written at index 0 of a compacted log.
 *    48 generation (8) | 56 ino_base (8) | 64 entries before compaction (8).
 *  XE_INOMAP 0x4707: in a compacted log, the inode numbers of the entries that follow.
 *    48 first index (8) | 56 count (4) | 60 pad (4) | 64 ino[count] (8 each, count <= 59).
 *  XE_RESERVE 0x4708: in a compacted log, space that stays allocated though no file
 *    holds it (space freed while upstream hosts may still map it).
 *    48 count (4) | 52 pad (4) | 56 extents[count] (24 each, count <= 20).
 *  XE_MKNOD 0x4709: an object that holds no data: a symbolic link, a fifo, a socket, a
 *    character or block device node.
 *    48 parent ino (8) | 56 mode (4: S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR or S_IFBLK plus
 *    permission bits) | 60 uid (4) | 64 gid (4) | 68 target length (4: a symlink's, 1 ..
 *    FAMFS_XE_TARGET_MAX; 0 otherwise) | 72 rdev (8: a device node's Linux dev_t; 0
 *    otherwise) | 80 name (80, one component) | 160 target (376: the symlink's target,
 *    NUL-terminated, exactly @target length bytes before the NUL).
 *    Replay: like XE_CREATE (parent a directory, the name free). The object is named,
 *    removed (XE_REMOVE) and renamed (XE_RENAME) like a file; it never has extents, and
 *    its size is its target's length. Compaction writes it again as XE_MKNOD. Older
 *    famfs-gw builds and upstream hosts skip the type (the object is not there for them).
 *  XE_LINK 0x470a: a hard link: one more name for an existing object that is not a
 *    directory. xh_ino and the target field name that object.
 *    48 parent ino (8) | 56 target ino (8) | 64 name (80; version 3: 256).
 *    Replay: the target must be a linked (or still named-elsewhere) object that is not a
 *    directory and not itself a link name; the name must be free in the parent. The entry
 *    creates a *link name*: an object of its own (its number from the entry's index, as
 *    any create) that XE_REMOVE and XE_RENAME name like any other object, but whose
 *    attributes, size, extents and number, as clients see them, are the target's. The
 *    target's link count is 1 for its own name plus one per link name. An XE_REMOVE of
 *    the target's own name while link names remain only takes the name away: the object
 *    and its extents live on under the link names; the last name's removal frees it.
 *    XE_RESIZE and XE_SETATTR act on the target. Compaction writes every link name as an
 *    XE_LINK after all other objects; an object whose own name was removed is written
 *    under one of its link names. Older famfs-gw builds and upstream hosts skip the type
 *    (they see only the target's own name).
 *
 * Deferred commit. A file that an NFS or FUSE client writes is logged when it is
 * committed (NFS COMMIT, CLOSE, a stable WRITE, a SETATTR; FUSE release and fsync; at the
 * latest after a short interval), not at every growing write: the serving process keeps
 * the file's new size, map and attributes in memory and logs them in one XE_RESIZE. A
 * crash loses what was not committed; the space it had taken was never logged and is
 * free. Until then the space is *reserved*: the process lists it in its reservation area
 * so that no other process of the master host hands it out.
 *
 * Publication. A file that clients created (XE_CREATE) is logged in upstream's FILE form
 * at its first commit when upstream can express it: a regular file with a size, nothing
 * of its map logged yet, 1 or 2 2 MiB-aligned simple extents, a path of at most 79 bytes
 * under directories upstream holds that no earlier FILE or MKDIR named. The commit then
 * writes that FILE entry instead of the XE_RESIZE (times follow in an XE_SETATTR), and
 * upstream hosts see the file. Replay: a FILE entry whose path names an existing regular
 * file in extension form with no size and no map gives that same inode the entry's size,
 * map, mode and owner (older famfs-gw builds skip it, the name being taken).
 *
 * Publication. A file that clients created (XE_CREATE) is logged in upstream's FILE form
 * at its first commit when upstream can express it: a regular file with a size, nothing
 * of its map logged yet, 1 or 2 2 MiB-aligned simple extents, a path of at most 79 bytes
 * under directories upstream holds that no earlier FILE or MKDIR named. The commit then
 * writes that FILE entry instead of the XE_RESIZE (times follow in an XE_SETATTR), and
 * upstream hosts see the file. Replay: a FILE entry whose path names an existing regular
 * file in extension form with no size and no map gives that same inode the entry's size,
 * map, mode and owner (older famfs-gw builds skip it, the name being taken).
 *
 * Reservation areas (superblock region offset FAMFS_RESV_OFFSET = 1 MiB, upstream never
 * reads it): FAMFS_HT_SLOTS areas of 4096 bytes, area i belongs to host-table slot i:
 *   0 key (8: the owning slot's key when written; an area whose key is not its slot's
 *   current key is empty) | 8 count (4, <= FAMFS_RESV_MAX) | 12 pad (20) |
 *   32 extents[count] (16 each: device offset (8), length (8)).
 * Only the owner writes its area, and only while it holds the host's appender lock;
 * every allocation (under the same lock) treats the extents of the other live slots'
 * areas as used. A process that cannot list more (FAMFS_RESV_MAX) logs at once.
 *
 * Safe space reuse. Space a file gives up (remove, shrink, a replaced rename target) is
 * *pending free* from the index R of the entry that freed it. The master hands it out
 * again only when (a) the host table (below) says no upstream host uses this file
 * system, and (b) every registered host process has published a safe position > R: it
 * has replayed past R and holds no file open that was removed at or before R. Until
 * then the space stays marked used. fsck reports pending space, and reports an error if
 * space was reused while a registered host's safe position is still <= R.
 *
 * Host table (superblock region offset 0x1000; upstream leaves [200, 2 MiB) unused and
 * never reads it). A 64-byte header then FAMFS_HT_SLOTS (256) slots of 64 bytes, one
 * cache line each, so every process writes only its own line:
 *
 *   header: 0 magic (8) | 8 version (4) | 12 nslots (4) | 16 flags (4) | 20 pad (4) |
 *           24 generation (8, the log's compaction generation) | 32 crc of [0, 32) (8) |
 *           40 journal record (24: device offset (8), entry count (8), CRC-32 of the
 *           journal bytes (8); see below; not covered by the header crc)
 *   slot:   0 key (8, 0 = free; claimed by compare-and-swap with the claim's wall-clock
 *           time in ns, odd; a slot whose pid is still 0 a minute after its claim was
 *           left by a process killed while registering, and is free again) | 8 system
 *           uuid (16) |
 *           24 pid (4) | 28 slot flags (4) | 32 generation (8) | 40 replayed (8) |
 *           48 safe (8) | 56 heartbeat (8, wall clock ns)
 *
 * Header flags: FAMFS_HT_NO_UPSTREAM 0x1 and FAMFS_HT_COMPACTING 0x2 (both below).
 *
 * The first read-write open of an upstream-made famfs (no table magic) creates the
 * table: slots zeroed, flags 0, the magic written last. Every read-write open then
 * claims a free slot, or one left by a process that died on this host; a process that
 * finds all 256 taken runs unregistered (with a warning), and reuse does not wait for
 * it. Read-only opens never create the table and never register. A process that finds
 * the header damaged (version, slot count or crc) does not register, never reuses freed
 * space and cannot compact the log. One exception: a header whose version and slot count
 * are right and only the crc is wrong was torn by a master killed between storing a
 * field and storing the crc; the master host's next read-write open, holding the
 * appender lock, stores the crc again, keeping the generation and COMPACTING (the
 * compaction is then finished) and withdrawing FAMFS_HT_NO_UPSTREAM, which it cannot
 * vouch for.
 *
 * Header flag FAMFS_HT_NO_UPSTREAM: an admin declared that no upstream famfs host mounts
 * this file system (`famfs-gw hosts --no-upstream`, or mkfs --no-upstream). Upstream
 * hosts cannot publish; without that declaration freed space is never reused, so nothing
 * an upstream host maps is ever given to another file. `famfs-gw hosts` shows the waiting
 * space, and each slot's position; a slot of a process that died on this host is freed
 * automatically, a slot of another host that stopped publishing stays until an admin
 * evicts it (`famfs-gw hosts --evict N`).
 *
 * Log capacity: when the log is full, the master compacts it under the log lock: it
 * builds a new log that describes the current namespace (XE_LOGINFO, XE_INOMAP, then
 * MKDIR/FILE entries as upstream would, XE_CREATE/XE_SETATTR for what upstream cannot
 * express, XE_RESERVE for space still pending) and increments the generation. Inode
 * numbers are kept. Hosts that see a new generation replay the new log from the start.
 * Compaction waits while any other registered process has not replayed the whole log or
 * holds a removed file open (its view would be lost); the append then fails with -ENOSPC
 * ("log is full") and a message naming the host. It gives up the same way when the new
 * log would not be shorter than the old one, or no free space holds the journal.
 *
 * Compaction journal (crash safety). The new log is first written whole, with its CRCs,
 * into free data space (the journal). Then one header commit stores the journal record
 * (bytes 40..63), sets FAMFS_HT_COMPACTING and increments the generation; the log is
 * copied from the journal, COMPACTING is cleared, and the journal's space is zeroed. A
 * memory error (SIGBUS) while writing the journal abandons the compaction: nothing refers
 * to the journal yet and the old log stands. One while zeroing the journal afterwards is
 * only a warning (the compaction is complete). The next read-write open on the master
 * host that finds COMPACTING set and gets the appender lock (never while the compacting
 * process holds it) finishes an interrupted compaction by copying the journal again (the
 * copy is idempotent) and zeroing the journal's space. A journal whose record (range-
 * checked without overflow) or CRC is bad: when the old log is still whole (every entry
 * up to next_index valid: the copy never started) the flag is cleared and the old log
 * stands; otherwise the log is left untouched (and the flag set) and fsck says so. Readers stop
 * replaying while COMPACTING is set, then replay the new log from the start. fsck reports a
 * COMPACTING flag as an error.
 */
#ifndef FAMFS_OMF_EXT_H
#define FAMFS_OMF_EXT_H

#include <stdint.h>

#include "famfs/omf.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version every extension entry is written with unless it needs a newer one. */
#define FAMFS_XE_VERSION 1
/** Version 2: the entry (XE_RESIZE, XE_RESERVE) holds packed extents (4 KiB multiples). */
#define FAMFS_XE_VERSION_PACKED 2
/** Version 3: the entry (XE_CREATE, XE_MKNOD, XE_REMOVE, XE_RENAME) holds a long name. */
#define FAMFS_XE_VERSION_LONG 3
/** The newest version this build reads. */
#define FAMFS_XE_VERSION_MAX 3

/** XE_CREATE xh_flags: a file's size, times and map follow the name (see above). */
#define FAMFS_XC_MAP	 0x1
#define FAMFS_XC_MAP_MAX 16

/** The map part of an XE_CREATE with FAMFS_XC_MAP. */
struct famfs_xc_map {
	uint64_t xm_size;
	uint64_t xm_mtime_ns;
	uint64_t xm_atime_ns;
	uint32_t xm_count;
	uint32_t xm_pad;
	struct {
		uint64_t off;
		uint64_t len;
	} xm_ext[];
};

/** A name field of version 3 entries: FAMFS_NAME_MAX (255) bytes and the NUL. */
#define FAMFS_XE_LONG_NAME 256
/** The longest symbolic link target an XE_MKNOD version 3 (long name) holds. */
#define FAMFS_XE_TARGET3_MAX 199

enum famfs_xe_type {
	FAMFS_XE_CREATE = 0x4701,
	FAMFS_XE_REMOVE = 0x4702,
	FAMFS_XE_RENAME = 0x4703,
	FAMFS_XE_RESIZE = 0x4704,
	FAMFS_XE_SETATTR = 0x4705,
	FAMFS_XE_LOGINFO = 0x4706,
	FAMFS_XE_INOMAP = 0x4707,
	FAMFS_XE_RESERVE = 0x4708,
	FAMFS_XE_MKNOD = 0x4709,
	FAMFS_XE_LINK = 0x470a,
};

static inline int famfs_xe_is_ext(uint32_t type)
{
	return type >= FAMFS_XE_CREATE && type <= FAMFS_XE_LINK;
}

/** The longest symbolic link target an XE_MKNOD holds (bytes, without the NUL). */
#define FAMFS_XE_TARGET_MAX 375

#define FAMFS_XE_SET_MODE  0x01
#define FAMFS_XE_SET_UID   0x02
#define FAMFS_XE_SET_GID   0x04
#define FAMFS_XE_SET_MTIME 0x08
#define FAMFS_XE_SET_ATIME 0x10

#define FAMFS_XE_INOMAP_MAX  59
#define FAMFS_XE_RESERVE_MAX 20

struct famfs_xe_hdr {
	uint16_t xh_version;
	uint16_t xh_flags;
	uint32_t xh_pad;
	uint64_t xh_ino;
	uint64_t xh_time_ns;
	uint64_t xh_pad2;
};

struct famfs_xe_create {
	struct famfs_xe_hdr xc_hdr;
	uint64_t xc_parent;
	uint32_t xc_mode;
	uint32_t xc_uid;
	uint32_t xc_gid;
	uint32_t xc_pad;
	uint64_t xc_size;
	char xc_name[FAMFS_MAX_PATHLEN];
};

struct famfs_xe_remove {
	struct famfs_xe_hdr xr_hdr;
	uint64_t xr_parent;
	char xr_name[FAMFS_MAX_PATHLEN];
};

struct famfs_xe_rename {
	struct famfs_xe_hdr xn_hdr;
	uint64_t xn_old_parent;
	uint64_t xn_new_parent;
	uint64_t xn_replaced;
	char xn_old_name[FAMFS_MAX_PATHLEN];
	char xn_new_name[FAMFS_MAX_PATHLEN];
};

struct famfs_xe_resize {
	struct famfs_xe_hdr xz_hdr;
	uint64_t xz_size;
	uint64_t xz_pad;
	struct famfs_omf_fmap xz_fmap;
	/* version 2: attributes committed with the map (xz_valid 0: none) */
	uint32_t xz_valid;
	uint32_t xz_mode;
	uint32_t xz_uid;
	uint32_t xz_gid;
	uint64_t xz_mtime_ns;
	uint64_t xz_atime_ns;
};

struct famfs_xe_setattr {
	struct famfs_xe_hdr xs_hdr;
	uint32_t xs_valid;
	uint32_t xs_mode;
	uint32_t xs_uid;
	uint32_t xs_gid;
	uint64_t xs_mtime_ns;
	uint64_t xs_atime_ns;
};

struct famfs_xe_loginfo {
	struct famfs_xe_hdr xl_hdr;
	uint64_t xl_generation;
	uint64_t xl_ino_base;
	uint64_t xl_prev_entries;
};

struct famfs_xe_inomap {
	struct famfs_xe_hdr xm_hdr;
	uint64_t xm_first;
	uint32_t xm_count;
	uint32_t xm_pad;
	uint64_t xm_ino[FAMFS_XE_INOMAP_MAX];
};

struct famfs_xe_reserve {
	struct famfs_xe_hdr xv_hdr;
	uint32_t xv_count;
	uint32_t xv_pad;
	struct famfs_omf_extent xv_ext[FAMFS_XE_RESERVE_MAX];
};

struct famfs_xe_mknod {
	struct famfs_xe_hdr xk_hdr;
	uint64_t xk_parent;
	uint32_t xk_mode;
	uint32_t xk_uid;
	uint32_t xk_gid;
	uint32_t xk_target_len;
	uint64_t xk_rdev;
	char xk_name[FAMFS_MAX_PATHLEN];
	char xk_target[FAMFS_XE_TARGET_MAX + 1];
};

/* Version 3: long names (see above). */
struct famfs_xe_create3 {
	struct famfs_xe_hdr xc_hdr;
	uint64_t xc_parent;
	uint32_t xc_mode;
	uint32_t xc_uid;
	uint32_t xc_gid;
	uint32_t xc_pad;
	uint64_t xc_size;
	char xc_name[FAMFS_XE_LONG_NAME];
};

struct famfs_xe_link {
	struct famfs_xe_hdr xl_hdr;
	uint64_t xl_parent;
	uint64_t xl_target;
	char xl_name[FAMFS_MAX_PATHLEN];
};

struct famfs_xe_link3 {
	struct famfs_xe_hdr xl_hdr;
	uint64_t xl_parent;
	uint64_t xl_target;
	char xl_name[FAMFS_XE_LONG_NAME];
};

struct famfs_xe_remove3 {
	struct famfs_xe_hdr xr_hdr;
	uint64_t xr_parent;
	char xr_name[FAMFS_XE_LONG_NAME];
};

struct famfs_xe_rename3 {
	struct famfs_xe_hdr xn_hdr;
	uint64_t xn_old_parent;
	uint64_t xn_new_parent;
	uint64_t xn_replaced;
	char xn_new_name[FAMFS_XE_LONG_NAME];
};

struct famfs_xe_mknod3 {
	struct famfs_xe_hdr xk_hdr;
	uint64_t xk_parent;
	uint32_t xk_mode;
	uint32_t xk_uid;
	uint32_t xk_gid;
	uint32_t xk_target_len;
	uint64_t xk_rdev;
	char xk_name[FAMFS_XE_LONG_NAME];
	char xk_target[FAMFS_XE_TARGET3_MAX + 1];
};

#define FAMFS_XE_OFF(s, m) (16 + offsetof(struct s, m))
_Static_assert(FAMFS_XE_OFF(famfs_xe_create3, xc_name) == 80, "create3 name");
_Static_assert(sizeof(struct famfs_xc_map) == 32, "map part header");
_Static_assert(160 + 32 + 16 * FAMFS_XC_MAP_MAX <= 536, "v1 create map fits");
_Static_assert(336 + 32 + 16 * 10 <= 536, "v3 create map fits");
_Static_assert(FAMFS_XE_OFF(famfs_xe_remove3, xr_name) == 56, "remove3 name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_rename3, xn_new_name) == 72, "rename3 new name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_mknod3, xk_name) == 80, "mknod3 name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_mknod3, xk_target) == 336, "mknod3 target");
_Static_assert(sizeof(struct famfs_xe_mknod3) == 520, "mknod3 fills the payload exactly");
_Static_assert(sizeof(struct famfs_xe_create3) <= 520 && sizeof(struct famfs_xe_remove3) <= 520 &&
		   sizeof(struct famfs_xe_rename3) <= 520,
	       "long-name entries fit");
_Static_assert(sizeof(struct famfs_xe_hdr) == 32, "xe header");
_Static_assert(FAMFS_XE_OFF(famfs_xe_hdr, xh_ino) == 24, "xh_ino");
_Static_assert(FAMFS_XE_OFF(famfs_xe_hdr, xh_time_ns) == 32, "xh_time_ns");
_Static_assert(FAMFS_XE_OFF(famfs_xe_create, xc_parent) == 48, "xc_parent");
_Static_assert(FAMFS_XE_OFF(famfs_xe_create, xc_size) == 72, "xc_size");
_Static_assert(FAMFS_XE_OFF(famfs_xe_create, xc_name) == 80, "xc_name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_remove, xr_name) == 56, "xr_name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_link, xl_parent) == 48, "xl_parent");
_Static_assert(FAMFS_XE_OFF(famfs_xe_link, xl_target) == 56, "xl_target");
_Static_assert(FAMFS_XE_OFF(famfs_xe_link, xl_name) == 64, "xl_name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_link3, xl_name) == 64 && sizeof(struct famfs_xe_link3) <= 520,
	       "xl_name (version 3)");
_Static_assert(FAMFS_XE_OFF(famfs_xe_rename, xn_replaced) == 64, "xn_replaced");
_Static_assert(FAMFS_XE_OFF(famfs_xe_rename, xn_old_name) == 72, "xn_old_name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_rename, xn_new_name) == 152, "xn_new_name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_resize, xz_fmap) == 64, "xz_fmap");
_Static_assert(FAMFS_XE_OFF(famfs_xe_resize, xz_valid) == 480, "xz_valid");
_Static_assert(FAMFS_XE_OFF(famfs_xe_resize, xz_mtime_ns) == 496, "xz_mtime_ns");
_Static_assert(FAMFS_XE_OFF(famfs_xe_resize, xz_atime_ns) == 504, "xz_atime_ns");
_Static_assert(FAMFS_XE_OFF(famfs_xe_setattr, xs_mtime_ns) == 64, "xs_mtime_ns");
_Static_assert(FAMFS_XE_OFF(famfs_xe_loginfo, xl_ino_base) == 56, "xl_ino_base");
_Static_assert(FAMFS_XE_OFF(famfs_xe_inomap, xm_ino) == 64, "xm_ino");
_Static_assert(FAMFS_XE_OFF(famfs_xe_reserve, xv_ext) == 56, "xv_ext");
_Static_assert(FAMFS_XE_OFF(famfs_xe_mknod, xk_target_len) == 68, "xk_target_len");
_Static_assert(FAMFS_XE_OFF(famfs_xe_mknod, xk_rdev) == 72, "xk_rdev");
_Static_assert(FAMFS_XE_OFF(famfs_xe_mknod, xk_name) == 80, "xk_name");
_Static_assert(FAMFS_XE_OFF(famfs_xe_mknod, xk_target) == 160, "xk_target");
_Static_assert(sizeof(struct famfs_xe_mknod) == 520, "mknod fills the payload exactly");
_Static_assert(sizeof(struct famfs_xe_create) <= 520, "create fits");
_Static_assert(sizeof(struct famfs_xe_rename) <= 520, "rename fits");
_Static_assert(sizeof(struct famfs_xe_resize) <= 520, "resize fits");
_Static_assert(sizeof(struct famfs_xe_inomap) <= 520, "inomap fits");
_Static_assert(sizeof(struct famfs_xe_reserve) <= 520, "reserve fits");

/* ---- host table ---- */
#define FAMFS_HT_OFFSET	     0x1000ULL
#define FAMFS_HT_MAGIC	     0x5441424854534f48ULL /* "HOSTHBAT" */
#define FAMFS_HT_VERSION     1
#define FAMFS_HT_SLOTS	     256
#define FAMFS_HT_NO_UPSTREAM 0x1
#define FAMFS_HT_COMPACTING  0x2 /* the log is being rewritten from the journal */

struct famfs_ht_header {
	uint64_t ht_magic;
	uint32_t ht_version;
	uint32_t ht_nslots;
	uint32_t ht_flags;
	uint32_t ht_pad;
	uint64_t ht_generation;
	uint64_t ht_crc; /* covers [0, 32) */
	uint8_t ht_pad2[24];
};

struct famfs_ht_slot {
	uint64_t hs_key;
	uint8_t hs_uuid[FAMFS_UUID_LEN];
	uint32_t hs_pid;
	uint32_t hs_flags;
	uint64_t hs_generation;
	uint64_t hs_replayed;
	uint64_t hs_safe;
	uint64_t hs_heartbeat_ns;
};

#define FAMFS_RESV_OFFSET 0x100000ULL
#define FAMFS_RESV_AREA	  4096
#define FAMFS_RESV_MAX	  254

struct famfs_resv_extent {
	uint64_t re_off;
	uint64_t re_len;
};

struct famfs_resv_area {
	uint64_t ra_key;
	uint32_t ra_count;
	uint32_t ra_pad;
	uint64_t ra_pad2[2];
	struct famfs_resv_extent ra_ext[FAMFS_RESV_MAX];
};

_Static_assert(sizeof(struct famfs_resv_area) == FAMFS_RESV_AREA, "an area is one page");
_Static_assert(offsetof(struct famfs_resv_area, ra_ext) == 32, "ra_ext");
_Static_assert(FAMFS_RESV_OFFSET + FAMFS_RESV_AREA * FAMFS_HT_SLOTS <= FAMFS_SUPERBLOCK_SIZE,
	       "reservation areas end where the log begins");
_Static_assert(sizeof(struct famfs_ht_header) == 64, "host table header is one line");
_Static_assert(sizeof(struct famfs_ht_slot) == 64, "a host slot is one cache line");
_Static_assert(offsetof(struct famfs_ht_slot, hs_safe) == 48, "hs_safe");
_Static_assert(FAMFS_HT_OFFSET + 64 * (FAMFS_HT_SLOTS + 1) <= FAMFS_SUPERBLOCK_SIZE,
	       "host table fits the superblock region");

#ifdef __cplusplus
}
#endif
#endif /* FAMFS_OMF_EXT_H */

// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_ll.c
 * @brief The shared file-system layer (famfs/ll.h): POSIX permissions with a caller's
 *        credentials, ownership of new objects, removed-but-open files, readdir
 *        cookies, the follower's batches, a create racing a rename of its directory, and
 *        reused space zeroed while readers go on.
 */
/* WRAP: fs_dev_fill */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "famfs/fsck.h"
#include "famfs/ll.h"
#include "famfs/omf_ext.h"
#include "fs_priv.h"
#include "helpers.h"

struct fx {
	struct test_dev dev;
	struct famfs_fs *fs;
	struct famfs_ll *ll;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	test_dev_make(&f->dev, 1 * TEST_GIB, 8 << 20);
	f->fs = test_dev_open(&f->dev, 0);
	assert_int_equal(famfs_ll_new(f->fs, false, &f->ll), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	famfs_ll_free(f->ll);
	famfs_fs_close(f->fs);
	test_dev_remove(&f->dev);
	free(f);
	return 0;
}

static const struct famfs_cred root = {0, 0, NULL, 0};
static const gid_t user_groups[] = {3000};
static const struct famfs_cred user = {1000, 1000, user_groups, 1};
static const struct famfs_cred other = {2000, 2000, NULL, 0};

/* Make @name in @dir (as root, no check) with @mode, owned by @uid:@gid. */
static uint64_t make(struct fx *f, uint64_t dir, const char *name, mode_t mode, uid_t uid,
		     gid_t gid)
{
	struct famfs_ll_new nw = {.mode = mode, .uid = uid, .gid = gid};
	struct famfs_attr a;

	assert_int_equal(famfs_ll_create(f->ll, dir, name, &nw, FAMFS_LL_EXCL, NULL, &a, NULL), 0);
	return a.ino;
}

static void test_permit_rules(void **state)
{
	(void)state;
	/* owner, group (primary and supplementary), other */
	assert_int_equal(famfs_permit(&user, 0600, 1000, 0, FAMFS_MAY_READ | FAMFS_MAY_WRITE), 0);
	assert_int_equal(famfs_permit(&user, 0060, 0, 3000, FAMFS_MAY_WRITE), 0);
	assert_int_equal(famfs_permit(&user, 0606, 1000, 0, FAMFS_MAY_EXEC), -EACCES);
	/* the owner class decides even when "other" would allow */
	assert_int_equal(famfs_permit(&user, 0007, 1000, 0, FAMFS_MAY_READ), -EACCES);
	assert_int_equal(famfs_permit(&other, 0755, 0, 0, FAMFS_MAY_WRITE), -EACCES);
	/* root: anything but executing what nobody may execute */
	assert_int_equal(famfs_permit(&root, 0, 5, 5, FAMFS_MAY_READ | FAMFS_MAY_WRITE), 0);
	assert_int_equal(famfs_permit(&root, S_IFREG | 0644, 5, 5, FAMFS_MAY_EXEC), -EACCES);
	assert_int_equal(famfs_permit(&root, S_IFDIR | 0600, 5, 5, FAMFS_MAY_EXEC), 0);
	assert_int_equal(famfs_permit(NULL, 0, 5, 5, FAMFS_MAY_WRITE), 0);
}

/* The table of issue 14: a user in root's 0755 directory is refused every change. */
static void test_root_dir_refuses_user(void **state)
{
	struct fx *f = *state;
	struct famfs_ll_new nw = {.mode = S_IFREG | 0644, .uid = 1000, .gid = 1000};
	uint64_t d = make(f, FAMFS_ROOT_INO, "rootdir", S_IFDIR | 0755, 0, 0);
	uint64_t fi = make(f, d, "f", S_IFREG | 0644, 0, 0);
	struct famfs_ll_setattr sa = {.valid = FAMFS_SET_MODE, .mode = 0777};
	struct famfs_attr a;

	assert_int_equal(famfs_ll_create(f->ll, d, "new", &nw, FAMFS_LL_EXCL, &user, &a, NULL),
			 -EACCES);
	nw.mode = S_IFDIR | 0755;
	assert_int_equal(famfs_ll_create(f->ll, d, "sub", &nw, FAMFS_LL_EXCL, &user, &a, NULL),
			 -EACCES);
	assert_int_equal(famfs_ll_unlink(f->ll, d, "f", FAMFS_LL_ANY, &user), -EACCES);
	assert_int_equal(famfs_ll_rename(f->ll, d, "f", FAMFS_ROOT_INO, "g", 0, &user), -EACCES);
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), -EPERM);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_UID, .uid = 1000};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), -EPERM);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_SIZE, .size = 0};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), -EACCES);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_MTIME | FAMFS_SET_MTIME_NOW};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), -EACCES);
	assert_int_equal(famfs_ll_access(f->ll, fi, FAMFS_MAY_WRITE, &user), -EACCES);
	assert_int_equal(famfs_ll_access(f->ll, fi, FAMFS_MAY_READ, &user), 0);
	/* nothing changed, and root may do all of it */
	assert_int_equal(famfs_ll_lookup(f->ll, d, "f", &user, &a), 0);
	assert_int_equal(famfs_ll_rename(f->ll, d, "f", d, "g", 0, &root), 0);
	assert_int_equal(famfs_ll_unlink(f->ll, d, "g", FAMFS_LL_FILE, &root), 0);
	/* no search permission: no lookup */
	make(f, FAMFS_ROOT_INO, "closed", S_IFDIR | 0700, 0, 0);
	assert_int_equal(famfs_ll_lookup(f->ll, FAMFS_ROOT_INO, "closed", &user, &a), 0);
	assert_int_equal(famfs_ll_lookup(f->ll, a.ino, "x", &user, &a), -EACCES);
}

static void test_sticky_and_setgid(void **state)
{
	struct fx *f = *state;
	uint64_t t = make(f, FAMFS_ROOT_INO, "tmp", S_IFDIR | 01777, 0, 0);
	uint64_t g = make(f, FAMFS_ROOT_INO, "sgid", S_IFDIR | 02777, 0, 3000);
	struct famfs_ll_new nw = {.mode = S_IFREG | 02755, .uid = 2000, .gid = 2000};
	struct famfs_attr a;

	make(f, t, "other", S_IFREG | 0666, 2000, 2000);
	make(f, t, "mine", S_IFREG | 0600, 1000, 1000);
	assert_int_equal(famfs_ll_unlink(f->ll, t, "other", FAMFS_LL_ANY, &user), -EPERM);
	assert_int_equal(famfs_ll_rename(f->ll, t, "other", t, "x", 0, &user), -EPERM);
	assert_int_equal(famfs_ll_rename(f->ll, t, "mine", t, "other", 0, &user), -EPERM);
	assert_int_equal(famfs_ll_rename(f->ll, t, "mine", t, "mine2", 0, &user), 0);
	assert_int_equal(famfs_ll_unlink(f->ll, t, "mine2", FAMFS_LL_ANY, &user), 0);
	assert_int_equal(famfs_ll_unlink(f->ll, t, "other", FAMFS_LL_ANY, &other), 0);

	/* setgid directory: the group is the directory's; a subdirectory inherits the bit;
	 * a file's setgid bit drops when its creator is not in that group */
	assert_int_equal(famfs_ll_create(f->ll, g, "f", &nw, FAMFS_LL_EXCL, &other, &a, NULL), 0);
	assert_int_equal(a.gid, 3000);
	assert_int_equal(a.uid, 2000);
	assert_int_equal(a.mode & 07777, 0755);
	nw = (struct famfs_ll_new){.mode = S_IFDIR | 0755, .uid = 1000, .gid = 1000};
	assert_int_equal(famfs_ll_create(f->ll, g, "d", &nw, FAMFS_LL_EXCL, &user, &a, NULL), 0);
	assert_int_equal(a.gid, 3000);
	assert_int_equal(a.mode & 07777, 02755);
	/* a user may not give a new object away */
	nw = (struct famfs_ll_new){.mode = S_IFREG | 0644, .uid = 0, .gid = 0};
	assert_int_equal(famfs_ll_create(f->ll, t, "z", &nw, FAMFS_LL_EXCL, &user, &a, NULL),
			 -EPERM);
}

static void test_setattr_rules(void **state)
{
	struct fx *f = *state;
	uint64_t fi = make(f, FAMFS_ROOT_INO, "f", S_IFREG | 02770, 1000, 1000);
	struct famfs_ll_setattr sa = {.valid = FAMFS_SET_GID, .gid = 3000};
	struct famfs_attr a;

	/* the owner may move the file to a group it is in, not to another */
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, &a), 0);
	assert_int_equal(a.gid, 3000);
	sa.gid = 5000;
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), -EPERM);
	/* chmod by the owner keeps setgid in a group it is in, drops it outside */
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_MODE, .mode = 02770};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, &a), 0);
	assert_int_equal(a.mode & 07777, 02770);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_GID, .gid = 5000};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &root, NULL), 0);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_MODE, .mode = 02770};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, &a), 0);
	assert_int_equal(a.mode & 07777, 0770);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_UID, .uid = 2000};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &root, NULL), 0);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_MODE, .mode = 02770};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), -EPERM);
	/* "now" needs write permission; explicit times need the owner */
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_GID, .gid = 3000};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &root, NULL), 0);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_MTIME | FAMFS_SET_MTIME_NOW};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), 0); /* group rwx */
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_MTIME, .mtime_ns = 12345};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, NULL), -EPERM);
	sa = (struct famfs_ll_setattr){.valid = FAMFS_SET_SIZE, .size = 4096};
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, &user, &a), 0);
	assert_int_equal(a.size, 4096);
}

/* A file removed while open keeps its attributes and bytes; once unpinned it is stale. */
static void test_removed_open_file(void **state)
{
	struct fx *f = *state;
	uint64_t fi = make(f, FAMFS_ROOT_INO, "f", S_IFREG | 0644, 0, 0);
	char buf[8] = {0};
	struct famfs_attr a;
	bool eof = false;

	assert_int_equal(famfs_ll_write(f->ll, fi, 0, "abcdef", 6), 6);
	assert_int_equal(famfs_ll_pin(f->ll, fi), 0);
	assert_int_equal(famfs_ll_unlink(f->ll, FAMFS_ROOT_INO, "f", FAMFS_LL_FILE, NULL), 0);
	assert_int_equal(famfs_ll_getattr(f->ll, fi, &a), 0);
	assert_int_equal(a.nlink, 0);
	assert_int_equal(famfs_ll_read(f->ll, fi, 0, buf, sizeof(buf), 0, &eof), 6);
	assert_true(eof);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(famfs_ll_lookup(f->ll, FAMFS_ROOT_INO, "f", NULL, &a), -ENOENT);
	famfs_ll_unpin(f->ll, fi);
	assert_int_equal(famfs_ll_getattr(f->ll, fi, &a), -ESTALE);
	assert_int_equal(famfs_ll_read(f->ll, fi, 0, buf, 1, 0, NULL), -ESTALE);
	assert_int_equal(famfs_ll_unlink(f->ll, 9999, "x", FAMFS_LL_ANY, NULL), -ESTALE);
}

/* Cookies survive renames and removals: a resumed listing skips and repeats nothing. */
static void test_readdir_cookies(void **state)
{
	struct fx *f = *state;
	struct famfs_dirsnap s = {0};
	uint64_t d = make(f, FAMFS_ROOT_INO, "d", S_IFDIR | 0755, 0, 0), mid;
	char name[16];

	for (int k = 0; k < 10; k++) {
		snprintf(name, sizeof(name), "n%d", k);
		make(f, d, name, S_IFREG | 0644, 0, 0);
	}
	assert_int_equal(famfs_ll_readdir(f->ll, d, 0, NULL, &s), 0);
	assert_int_equal(s.n, 10);
	mid = FAMFS_DIR_COOKIE(s.ents[4].ino);
	/* rename one seen before the cookie to the end, remove one after it */
	assert_int_equal(famfs_ll_rename(f->ll, d, s.ents[1].name, d, "zz", 0, NULL), 0);
	assert_int_equal(famfs_ll_unlink(f->ll, d, s.ents[7].name, FAMFS_LL_ANY, NULL), 0);
	assert_int_equal(famfs_ll_readdir(f->ll, d, mid, NULL, &s), 0);
	assert_int_equal(s.n, 4); /* 5, 6, 8, 9 */
	assert_int_equal(famfs_dirsnap_seek(&s, 0), 0);
	assert_int_equal(famfs_dirsnap_seek(&s, FAMFS_DIR_COOKIE(s.ents[3].ino)), 4);
	famfs_dirsnap_free(&s);
}

struct change_log {
	size_t batches, changes;
	bool created_seen, entries_seen;
	uint64_t want;
};

static void on_changes(void *arg, const struct famfs_ll_change *c, size_t n, bool reset)
{
	struct change_log *l = arg;

	assert_false(reset);
	l->batches++;
	l->changes += n;
	for (size_t k = 0; k < n; k++) {
		if (k)
			assert_true(c[k - 1].ino <= c[k].ino); /* sorted */
		if (c[k].ino == l->want && (c[k].what & FAMFS_CHANGE_CREATED))
			l->created_seen = true;
		if (c[k].ino == FAMFS_ROOT_INO && (c[k].what & FAMFS_LL_ENTRIES))
			l->entries_seen = true;
	}
}

/* Another host's (process's) create reaches the callback, batched and sorted. */
static void test_follower_batches(void **state)
{
	struct fx *f = *state;
	struct famfs_fs *other_fs = test_dev_open(&f->dev, 0);
	struct famfs_inode *out;
	struct change_log l = {0};

	assert_int_equal(famfs_ll_follow(f->ll, 60000, on_changes, &l), 0);
	assert_int_equal(famfs_ll_follow(f->ll, 60000, on_changes, &l), -EBUSY);
	assert_int_equal(famfs_fs_mkdir(other_fs, "fromafar", 0755, 0, 0, &out), 0);
	l.want = out->ino;
	famfs_ll_follow_step(f->ll);
	assert_int_equal(l.batches, 1);
	assert_true(l.created_seen);
	assert_true(l.entries_seen);
	famfs_ll_follow_step(f->ll); /* nothing new: no call */
	assert_int_equal(l.batches, 1);
	famfs_ll_follow_stop(f->ll);
	famfs_fs_close(other_fs);
}

/*
 * Creates in a directory while another thread renames that directory back and forth:
 * every create lands in the directory it named (by inode number), none fails. A path
 * computed before the appender lock would land on the directory's old name.
 */
struct race {
	struct famfs_ll *ll;
	uint64_t dir;
	volatile bool stop;
};

static void *renamer(void *arg)
{
	struct race *r = arg;

	for (int k = 0; !r->stop && k < 4000; k++)
		assert_int_equal(famfs_ll_rename(r->ll, FAMFS_ROOT_INO, k % 2 ? "b" : "a",
						 FAMFS_ROOT_INO, k % 2 ? "a" : "b", 0, NULL),
				 0);
	return NULL;
}

static void test_create_races_rename(void **state)
{
	struct fx *f = *state;
	struct race r = {.ll = f->ll};
	struct famfs_ll_new nw = {.mode = S_IFREG | 0644};
	struct famfs_attr a;
	pthread_t t;
	char name[32];

	r.dir = make(f, FAMFS_ROOT_INO, "a", S_IFDIR | 0755, 0, 0);
	assert_int_equal(pthread_create(&t, NULL, renamer, &r), 0);
	for (int k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "f%d", k);
		assert_int_equal(
		    famfs_ll_create(f->ll, r.dir, name, &nw, FAMFS_LL_EXCL, NULL, &a, NULL), 0);
		assert_int_equal(a.parent, r.dir);
	}
	r.stop = true;
	pthread_join(t, NULL);
	for (int k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "f%d", k);
		assert_int_equal(famfs_ll_lookup(f->ll, r.dir, name, NULL, &a), 0);
	}
	/* nothing landed at the root under a stale path */
	assert_int_equal(famfs_ll_lookup(f->ll, FAMFS_ROOT_INO, "f0", NULL, &a), -ENOENT);
}

/* Another process holding the log lock (a long `famfs-gw cp`) delays a change, within a bound. */
static void test_bounded_lock_wait(void **state)
{
	struct fx *f = *state;
	struct famfs_fs *holder = test_dev_open(&f->dev, 0);
	struct famfs_ll_new nw = {.mode = S_IFREG | 0644};
	struct famfs_attr a;

	uint64_t fi = make(f, FAMFS_ROOT_INO, "f", S_IFREG | 0644, 0, 0);

	famfs_ll_set_lock_wait(f->ll, 50);
	assert_int_equal(famfs_fs_lock(holder), 0);
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "x", &nw, 0, NULL, &a, NULL),
			 -EAGAIN);
	assert_int_equal(famfs_ll_write(f->ll, fi, 0, "x", 1), -EAGAIN); /* must grow */
	famfs_fs_unlock(holder);
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "x", &nw, 0, NULL, &a, NULL), 0);
	famfs_fs_close(holder);
}

/* The seam: while zeroing reused space, may a reader take the namespace lock? */
static struct famfs_fs *zero_fs;
static int zero_calls, zero_readers_blocked;
int __real_fs_dev_fill(void *dst, const void *src, size_t n, void **fault);
int __wrap_fs_dev_fill(void *dst, const void *src, size_t n, void **fault)
{
	if (zero_fs && !src) {
		zero_calls++;
		if (pthread_rwlock_tryrdlock(&zero_fs->ns_lock) == 0)
			pthread_rwlock_unlock(&zero_fs->ns_lock);
		else
			zero_readers_blocked++;
	}
	return __real_fs_dev_fill(dst, src, n, fault);
}

/* Space reused for a new file is zeroed with the namespace lock free: reads go on. */
static void test_zeroing_leaves_readers_alone(void **state)
{
	struct fx *f = *state;
	struct famfs_ll_setattr grow = {.valid = FAMFS_SET_SIZE, .size = 8 << 20};
	static char pattern[1 << 20];
	uint64_t a, d;
	char buf[16];

	assert_int_equal(famfs_fs_set_no_upstream(f->fs, true), 0);
	a = make(f, FAMFS_ROOT_INO, "a", S_IFREG | 0644, 0, 0);
	memset(pattern, 0xA5, sizeof(pattern));
	for (int k = 0; k < 8; k++)
		assert_int_equal(
		    famfs_ll_write(f->ll, a, (uint64_t)k << 20, pattern, sizeof(pattern)),
		    (ssize_t)sizeof(pattern));
	assert_int_equal(famfs_ll_unlink(f->ll, FAMFS_ROOT_INO, "a", FAMFS_LL_FILE, NULL), 0);
	d = make(f, FAMFS_ROOT_INO, "d", S_IFREG | 0644, 0, 0);
	zero_fs = f->fs;
	assert_int_equal(famfs_ll_setattr(f->ll, d, &grow, NULL, NULL), 0);
	zero_fs = NULL;
	assert_true(zero_calls > 0);		   /* a's old units were reused and zeroed */
	assert_int_equal(zero_readers_blocked, 0); /* ... with readers free to go on */
	assert_int_equal(famfs_ll_read(f->ll, d, 4 << 20, buf, sizeof(buf), 0, NULL), 16);
	for (size_t k = 0; k < sizeof(buf); k++)
		assert_int_equal(buf[k], 0);
}

/* Removed inodes and compacted-away views are freed when their last pin goes. */
static void test_memory_returned(void **state)
{
	struct fx *f = *state;
	struct famfs_ll_new nw = {.mode = S_IFREG | 0644};
	struct mallinfo2 m0, m1;
	struct famfs_attr a;
	uint64_t kept;

	assert_int_equal(famfs_fs_set_no_upstream(f->fs, true), 0);
	for (int k = 0; k < 20000; k++) {
		if (k == 2000)
			m0 = mallinfo2();
		assert_int_equal(
		    famfs_ll_create(f->ll, FAMFS_ROOT_INO, "f", &nw, FAMFS_LL_EXCL, NULL, &a, NULL),
		    0);
		assert_int_equal(famfs_ll_pin(f->ll, a.ino), 0);
		assert_int_equal(famfs_ll_write(f->ll, a.ino, 0, "x", 1), 1);
		assert_int_equal(famfs_ll_unlink(f->ll, FAMFS_ROOT_INO, "f", FAMFS_LL_FILE, NULL),
				 0);
		assert_int_equal(famfs_ll_read(f->ll, a.ino, 0, &(char){0}, 1, 0, NULL), 1);
		famfs_ll_unpin(f->ll, a.ino);
	}
	m1 = mallinfo2();
	print_message("heap in use after 2,000 and 20,000 create/open/remove/close: %zu, %zu "
		      "bytes; %llu compactions\n",
		      m0.uordblks, m1.uordblks, (unsigned long long)famfs_fs_generation(f->fs));
	assert_true(famfs_fs_generation(f->fs) > 0); /* the loop filled the log */
	assert_null(f->fs->ns.graveyard);
	assert_int_equal(f->fs->nretired, 0);

	/* A file held open across a compaction keeps its old view until it is closed. */
	kept = make(f, FAMFS_ROOT_INO, "kept", S_IFREG | 0644, 0, 0);
	assert_int_equal(famfs_ll_pin(f->ll, kept), 0);
	assert_int_equal(famfs_ll_unlink(f->ll, FAMFS_ROOT_INO, "kept", FAMFS_LL_FILE, NULL), 0);
	assert_int_equal(famfs_fs_compact(f->fs), 0);
	assert_int_equal(f->fs->nretired, 1);
	assert_int_equal(famfs_ll_getattr(f->ll, kept, &a), 0);
	famfs_ll_unpin(f->ll, kept);
	assert_int_equal(f->fs->nretired, 0);
	assert_int_equal(famfs_ll_getattr(f->ll, kept, &a), -ESTALE);
}

/* Symbolic links, fifos, sockets and device nodes: made, read back, replayed elsewhere,
 * kept by compaction, renamed and removed like files; bad input logs nothing. */
static void test_special_objects(void **state)
{
	struct fx *f = *state;
	struct famfs_ll_new nw = {.mode = S_IFLNK | 0777, .target = "../share/zoneinfo/UTC"};
	struct famfs_fsck_report r;
	char buf[FAMFS_XE_TARGET_MAX + 1], big[FAMFS_XE_TARGET_MAX + 2];
	struct famfs_attr a;
	struct famfs_fs *peer;
	struct famfs_inode *oi;
	uint64_t l, dev, entries;

	assert_int_equal(
	    famfs_ll_create(f->ll, FAMFS_ROOT_INO, "l", &nw, FAMFS_LL_EXCL, NULL, &a, NULL), 0);
	l = a.ino;
	assert_int_equal(a.mode, S_IFLNK | 0777);
	assert_int_equal(a.size, strlen(nw.target));
	assert_int_equal(a.space, 0);
	assert_int_equal(famfs_ll_readlink(f->ll, l, buf, sizeof(buf)), (ssize_t)strlen(nw.target));
	assert_string_equal(buf, nw.target);
	assert_int_equal(famfs_ll_read(f->ll, l, 0, buf, 1, 0, NULL), -EINVAL);
	assert_int_equal(famfs_ll_readlink(f->ll, FAMFS_ROOT_INO, buf, sizeof(buf)), -EINVAL);

	/* a fifo and a socket for anyone who may write the directory; a device node: root */
	nw = (struct famfs_ll_new){.mode = S_IFIFO | 0644, .uid = 1000, .gid = 1000};
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "p", &nw, 0, NULL, &a, NULL), 0);
	nw.mode = S_IFSOCK | 0755;
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "s", &nw, 0, NULL, &a, NULL), 0);
	nw = (struct famfs_ll_new){.mode = S_IFCHR | 0600, .rdev = makedev(1, 3)};
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "null", &nw, 0, &user, &a, NULL),
			 -EPERM);
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "null", &nw, 0, &root, &a, NULL),
			 0);
	dev = a.ino;
	assert_int_equal(a.rdev, makedev(1, 3));
	assert_int_equal(famfs_ll_setattr(f->ll, dev,
					  &(struct famfs_ll_setattr){.valid = FAMFS_SET_SIZE}, NULL,
					  NULL),
			 -EINVAL);

	/* bad input: nothing is logged */
	entries = famfs_fs_log(f->fs)->lh_next_index;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	nw = (struct famfs_ll_new){.mode = S_IFLNK | 0777, .target = big};
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "long", &nw, 0, NULL, &a, NULL),
			 -ENAMETOOLONG);
	nw.target = "";
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "empty", &nw, 0, NULL, &a, NULL),
			 -ENOENT);
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "l", &nw, 0, NULL, &a, NULL),
			 -ENOENT);
	assert_int_equal(famfs_fs_log(f->fs)->lh_next_index, entries);
	big[FAMFS_XE_TARGET_MAX] = '\0'; /* the longest target the format holds */
	nw.target = big;
	assert_int_equal(famfs_ll_create(f->ll, FAMFS_ROOT_INO, "longest", &nw, 0, NULL, &a, NULL),
			 0);

	/* another host replays them */
	peer = test_dev_open(&f->dev, 1);
	assert_int_equal(famfs_fs_resolve(peer, "l", &oi), 0);
	assert_true(S_ISLNK(oi->mode));
	assert_string_equal(oi->target, "../share/zoneinfo/UTC");
	assert_int_equal(famfs_fs_resolve(peer, "null", &oi), 0);
	assert_int_equal(oi->rdev, makedev(1, 3));
	famfs_fs_close(peer);

	/* renamed and removed like files; a compaction keeps them */
	assert_int_equal(famfs_ll_rename(f->ll, FAMFS_ROOT_INO, "l", FAMFS_ROOT_INO, "l2", 0, NULL),
			 0);
	assert_int_equal(famfs_ll_unlink(f->ll, FAMFS_ROOT_INO, "s", FAMFS_LL_FILE, NULL), 0);
	for (int k = 0; k < 40; k++) /* churn, so that compaction shortens the log */
		assert_int_equal(
		    famfs_ll_setattr(f->ll, dev,
				     &(struct famfs_ll_setattr){.valid = FAMFS_SET_MODE,
								.mode = k % 2 ? 0600 : 0640},
				     NULL, NULL),
		    0);
	assert_int_equal(famfs_fs_compact(f->fs), 0);
	assert_int_equal(famfs_ll_lookup(f->ll, FAMFS_ROOT_INO, "l2", NULL, &a), 0);
	assert_int_equal(a.ino, l);
	assert_int_equal(famfs_ll_readlink(f->ll, l, buf, sizeof(buf)), 21);
	assert_string_equal(buf, "../share/zoneinfo/UTC");
	assert_int_equal(famfs_ll_lookup(f->ll, FAMFS_ROOT_INO, "longest", NULL, &a), 0);
	assert_int_equal(a.size, FAMFS_XE_TARGET_MAX);
	assert_int_equal(famfs_ll_getattr(f->ll, dev, &a), 0);
	assert_int_equal(a.rdev, makedev(1, 3));
	assert_int_equal(famfs_ll_lookup(f->ll, FAMFS_ROOT_INO, "s", NULL, &a), -ENOENT);
	assert_int_equal(famfs_fsck(famfs_fs_dev(f->fs), &r), 0);
	assert_int_equal(r.collisions, 0);
	famfs_fsck_report_free(&r);
}

/* ALLOCATE grows a file over the range; DEALLOCATE makes a range read zeros. */
static void test_fallocate(void **state)
{
	struct fx *f = *state;
	uint64_t fi = make(f, FAMFS_ROOT_INO, "f", S_IFREG | 0644, 0, 0);
	char buf[8192];
	struct famfs_attr a;

	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(famfs_ll_write(f->ll, fi, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(famfs_ll_fallocate(f->ll, fi, 0, 4096, 3 << 20), 0);
	assert_int_equal(famfs_ll_getattr(f->ll, fi, &a), 0);
	assert_int_equal(a.size, 4096 + (3 << 20));
	assert_true(a.space >= a.size);
	/* inside the file: nothing to do; past the allocation without growing: not sayable */
	assert_int_equal(famfs_ll_fallocate(f->ll, fi, FAMFS_FALLOC_KEEP_SIZE, 0, 4096), 0);
	assert_int_equal(famfs_ll_fallocate(f->ll, fi, FAMFS_FALLOC_KEEP_SIZE, 0, 1ULL << 30),
			 -EOPNOTSUPP);
	/* a hole: zeros inside, the size kept */
	assert_int_equal(
	    famfs_ll_fallocate(f->ll, fi, FAMFS_FALLOC_PUNCH | FAMFS_FALLOC_KEEP_SIZE, 100, 1000),
	    0);
	assert_int_equal(famfs_ll_read(f->ll, fi, 0, buf, sizeof(buf), 0, NULL),
			 (ssize_t)sizeof(buf));
	assert_int_equal(buf[99], 0x77);
	for (int k = 100; k < 1100; k++)
		assert_int_equal(buf[k], 0);
	assert_int_equal(buf[1100], 0x77);
	assert_int_equal(famfs_ll_getattr(f->ll, fi, &a), 0);
	assert_int_equal(a.size, 4096 + (3 << 20));
	assert_int_equal(famfs_ll_fallocate(f->ll, fi, FAMFS_FALLOC_PUNCH, 0, 1), -EOPNOTSUPP);
	assert_int_equal(famfs_ll_fallocate(f->ll, FAMFS_ROOT_INO, 0, 0, 1), -EISDIR);
	assert_int_equal(famfs_ll_fallocate(f->ll, fi, 0, 0, 0), -EINVAL);
}

static void test_readonly_layer(void **state)
{
	struct fx *f = *state;
	struct famfs_ll *ro;
	struct famfs_ll_new nw = {.mode = S_IFREG | 0644};
	struct famfs_attr a;

	assert_int_equal(famfs_ll_new(f->fs, true, &ro), 0);
	assert_false(famfs_ll_writable(ro));
	assert_int_equal(famfs_ll_create(ro, FAMFS_ROOT_INO, "x", &nw, 0, NULL, &a, NULL), -EROFS);
	assert_int_equal(famfs_ll_unlink(ro, FAMFS_ROOT_INO, "x", FAMFS_LL_ANY, NULL), -EROFS);
	assert_int_equal(famfs_ll_write(ro, FAMFS_ROOT_INO, 0, "x", 1), -EROFS);
	nw.mode = S_IFLNK | 0777;
	nw.target = "x";
	assert_int_equal(famfs_ll_create(ro, FAMFS_ROOT_INO, "l", &nw, 0, NULL, &a, NULL), -EROFS);
	famfs_ll_free(ro);
}

/* The change attribute moves with every write, growing or not (NFS clients' caches watch
 * it: pynfs WRT18); a size past the device is EFBIG (pynfs SATT12x: SETATTR of 2^64-1). */
static void test_change_moves_with_writes(void **state)
{
	struct fx *f = *state;
	uint64_t fi = make(f, FAMFS_ROOT_INO, "w", S_IFREG | 0644, 0, 0);
	struct famfs_ll_setattr sa = {.valid = FAMFS_SET_SIZE, .size = UINT64_MAX};
	struct famfs_attr a, b;

	assert_int_equal(famfs_ll_write(f->ll, fi, 0, "0123456789", 10), 10);
	assert_int_equal(famfs_ll_getattr(f->ll, fi, &a), 0);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(famfs_ll_write(f->ll, fi, 2, "ab", 2), 2); /* inside the size */
		assert_int_equal(famfs_ll_getattr(f->ll, fi, &b), 0);
		assert_true(b.change > a.change);
		a = b;
	}
	assert_int_equal(famfs_ll_setattr(f->ll, fi, &sa, NULL, &b), -EFBIG);
	assert_int_equal(famfs_ll_getattr(f->ll, fi, &b), 0);
	assert_int_equal(b.size, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_permit_rules),
	    cmocka_unit_test_setup_teardown(test_root_dir_refuses_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sticky_and_setgid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setattr_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_open_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readdir_cookies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_follower_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_races_rename, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_change_moves_with_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounded_lock_wait, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zeroing_leaves_readers_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memory_returned, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_special_objects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fallocate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly_layer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

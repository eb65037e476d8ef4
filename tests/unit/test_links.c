// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_links.c
 * @brief Hard links (XE_LINK) through the shared layer: one object under several names
 *        (one inode number, a link count, distinct readdir cookies), writes seen through
 *        every name, the first name removed (the object lives on, nameless, and a
 *        compaction writes it under a link name), the last name removed (the space is
 *        freed), rename between names of one object (nothing happens), refusals
 *        (directories, removed files, taken names, a user without write permission), and
 *        another host replaying the same log sees the same names and numbers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "famfs/fsck.h"
#include "famfs/ll.h"
#include "helpers.h"

struct fx {
	struct test_dev dev;
	struct famfs_fs *fs, *cfs;
	struct famfs_ll *ll, *cll; /* the master, another host */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	test_dev_make(&f->dev, 1 * TEST_GIB, 8 << 20);
	f->fs = test_dev_open(&f->dev, 0);
	assert_int_equal(famfs_ll_new(f->fs, false, &f->ll), 0);
	f->cfs = test_dev_open(&f->dev, 1);
	assert_int_equal(famfs_ll_new(f->cfs, true, &f->cll), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	famfs_ll_free(f->cll);
	famfs_fs_close(f->cfs);
	famfs_ll_free(f->ll);
	famfs_fs_close(f->fs);
	test_dev_remove(&f->dev);
	free(f);
	return 0;
}

static uint64_t make(struct fx *f, uint64_t dir, const char *name, mode_t mode)
{
	struct famfs_ll_new nw = {.mode = mode, .uid = 1000, .gid = 1000};
	struct famfs_attr a;

	assert_int_equal(famfs_ll_create(f->ll, dir, name, &nw, FAMFS_LL_EXCL, NULL, &a, NULL), 0);
	return a.ino;
}

static struct famfs_attr look(struct famfs_ll *ll, uint64_t dir, const char *name)
{
	struct famfs_attr a;

	assert_int_equal(famfs_ll_lookup(ll, dir, name, NULL, &a), 0);
	return a;
}

/* The entries of @dir as "name=ino" joined, in cookie order; and the cookies distinct. */
static void listing(struct famfs_ll *ll, uint64_t dir, char *out, size_t len)
{
	struct famfs_dirsnap snap = {0};

	assert_int_equal(famfs_ll_readdir(ll, dir, 0, NULL, &snap), 0);
	out[0] = '\0';
	for (size_t k = 0; k < snap.n; k++) {
		char one[300];

		if (k)
			assert_true(snap.ents[k].cookie > snap.ents[k - 1].cookie);
		snprintf(one, sizeof(one), "%s%s=%llu", k ? " " : "", snap.ents[k].name,
			 (unsigned long long)snap.ents[k].ino);
		strncat(out, one, len - strlen(out) - 1);
	}
	famfs_dirsnap_free(&snap);
}

static void test_names_of_one_object(void **state)
{
	struct fx *f = *state;
	uint64_t d = make(f, FAMFS_ROOT_INO, "d", S_IFDIR | 0755);
	uint64_t a = make(f, FAMFS_ROOT_INO, "a", S_IFREG | 0644);
	char want[200], got[200], buf[16];
	struct famfs_attr x;

	assert_int_equal(famfs_ll_write(f->ll, a, 0, "hello", 5), 5);
	assert_int_equal(famfs_ll_link(f->ll, a, d, "b", NULL, &x), 0);
	assert_int_equal(x.ino, a);
	assert_int_equal(x.nlink, 2);
	assert_int_equal(famfs_ll_link(f->ll, a, d, "c", NULL, &x), 0);
	assert_int_equal(x.nlink, 3);
	x = look(f->ll, d, "b");
	assert_int_equal(x.ino, a);
	assert_int_equal(x.size, 5);
	assert_int_equal(x.uid, 1000);
	/* Two names of one file in one directory: one number, two cookies. */
	listing(f->ll, d, got, sizeof(got));
	snprintf(want, sizeof(want), "b=%llu c=%llu", (unsigned long long)a, (unsigned long long)a);
	assert_string_equal(got, want);

	/* Writes through one name read through the others. */
	assert_int_equal(famfs_ll_write(f->ll, a, 5, " world", 6), 6);
	assert_int_equal(famfs_ll_commit(f->ll, a), 0);
	assert_int_equal(famfs_ll_read(f->ll, look(f->ll, d, "c").ino, 0, buf, 11, 0, NULL), 11);
	assert_memory_equal(buf, "hello world", 11);

	/* Refusals: a directory, a taken name, no write permission, a bad name. */
	{
		const struct famfs_cred user = {2000, 2000, NULL, 0};

		assert_int_equal(famfs_ll_link(f->ll, d, FAMFS_ROOT_INO, "dl", NULL, &x), -EPERM);
		assert_int_equal(famfs_ll_link(f->ll, a, d, "b", NULL, &x), -EEXIST);
		assert_int_equal(famfs_ll_link(f->ll, a, d, "u", &user, &x), -EACCES);
		assert_int_equal(famfs_ll_link(f->ll, a, d, "x/y", NULL, &x), -EINVAL);
		assert_int_equal(famfs_ll_link(f->ll, 999999, d, "z", NULL, &x), -ESTALE);
	}
	/* Rename of one name over another of the same file: nothing happens. */
	assert_int_equal(famfs_ll_rename(f->ll, d, "b", d, "c", 0, NULL), 0);
	assert_int_equal(look(f->ll, d, "b").nlink, 3);

	/* Another host replays the same names and numbers. */
	assert_true(famfs_fs_refresh(f->cfs) >= 0);
	x = look(f->cll, d, "c");
	assert_int_equal(x.ino, a);
	assert_int_equal(x.nlink, 3);
	listing(f->cll, d, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_first_name_removed(void **state)
{
	struct fx *f = *state;
	uint64_t d = make(f, FAMFS_ROOT_INO, "d", S_IFDIR | 0755);
	uint64_t a = make(f, FAMFS_ROOT_INO, "a", S_IFREG | 0644);
	struct famfs_fsck_report r;
	struct famfs_attr x;
	char buf[8];

	assert_int_equal(famfs_ll_write(f->ll, a, 0, "kept!", 5), 5);
	assert_int_equal(famfs_ll_commit(f->ll, a), 0);
	assert_int_equal(famfs_ll_link(f->ll, a, d, "b", NULL, &x), 0);
	assert_int_equal(famfs_ll_link(f->ll, a, d, "c", NULL, &x), 0);
	/* The first name goes; the object stays, with its number and bytes. */
	assert_int_equal(famfs_ll_unlink(f->ll, FAMFS_ROOT_INO, "a", FAMFS_LL_FILE, NULL), 0);
	assert_int_equal(famfs_ll_lookup(f->ll, FAMFS_ROOT_INO, "a", NULL, &x), -ENOENT);
	x = look(f->ll, d, "b");
	assert_int_equal(x.ino, a);
	assert_int_equal(x.nlink, 2);
	assert_int_equal(famfs_ll_getattr(f->ll, a, &x), 0);
	assert_int_equal(famfs_ll_read(f->ll, a, 0, buf, 5, 0, NULL), 5);
	assert_memory_equal(buf, "kept!", 5);
	/* It can still grow (a nameless object is alive). */
	assert_int_equal(famfs_ll_write(f->ll, a, 5, "+", 1), 1);
	assert_int_equal(famfs_ll_commit(f->ll, a), 0);
	assert_int_equal(famfs_ll_link(f->ll, a, FAMFS_ROOT_INO, "a2", NULL, &x), 0);
	assert_int_equal(x.nlink, 3);
	assert_int_equal(famfs_ll_unlink(f->ll, FAMFS_ROOT_INO, "a2", FAMFS_LL_FILE, NULL), 0);

	/* A compaction writes it under one of its link names, with the same number. */
	assert_true(famfs_fs_refresh(f->cfs) >= 0);
	assert_int_equal(famfs_fs_compact(f->fs), 0);
	assert_true(famfs_fs_refresh(f->fs) >= 0);
	assert_true(famfs_fs_refresh(f->cfs) >= 0);
	for (int h = 0; h < 2; h++) {
		struct famfs_ll *ll = h ? f->cll : f->ll;

		x = look(ll, d, "c");
		assert_int_equal(x.ino, a);
		assert_int_equal(x.nlink, 2);
		assert_int_equal(x.size, 6);
		assert_int_equal(famfs_ll_read(ll, a, 0, buf, 6, 0, NULL), 6);
		assert_memory_equal(buf, "kept!+", 6);
	}
	assert_int_equal(famfs_fsck(famfs_fs_dev(f->fs), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);

	/* The last name goes: the object with it. */
	assert_int_equal(famfs_ll_unlink(f->ll, d, "b", FAMFS_LL_FILE, NULL), 0);
	assert_int_equal(look(f->ll, d, "c").nlink, 1);
	assert_int_equal(famfs_ll_unlink(f->ll, d, "c", FAMFS_LL_FILE, NULL), 0);
	assert_int_equal(famfs_ll_getattr(f->ll, a, &x), -ESTALE);
	assert_int_equal(famfs_ll_link(f->ll, a, d, "again", NULL, &x), -ESTALE);
	assert_true(famfs_fs_refresh(f->cfs) >= 0);
	assert_int_equal(famfs_ll_getattr(f->cll, a, &x), -ESTALE);
	assert_int_equal(famfs_fsck(famfs_fs_dev(f->fs), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	assert_true(r.pending > 0); /* its space waits for reuse like any removed file's */
	famfs_fsck_report_free(&r);
}

static void test_symlink_links(void **state)
{
	struct fx *f = *state;
	struct famfs_ll_new nw = {.mode = S_IFLNK | 0777, .target = "there"};
	struct famfs_attr s, x;
	char buf[16];

	assert_int_equal(
	    famfs_ll_create(f->ll, FAMFS_ROOT_INO, "sl", &nw, FAMFS_LL_EXCL, NULL, &s, NULL), 0);
	assert_int_equal(famfs_ll_link(f->ll, s.ino, FAMFS_ROOT_INO, "sl2", NULL, &x), 0);
	assert_true(S_ISLNK(x.mode));
	assert_int_equal(
	    famfs_ll_readlink(f->ll, look(f->ll, FAMFS_ROOT_INO, "sl2").ino, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "there");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_names_of_one_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_first_name_removed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_links, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

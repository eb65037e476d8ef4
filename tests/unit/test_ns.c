/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_ns.c
 * @brief The replayed namespace: inode numbers from log indexes, the (parent, name) and
 *        inode-number indexes, relpath resolution, path reconstruction, child order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "famfs/ns.h"
#include "famfs/path.h"

static struct famfs_inode dir_tmpl(uint64_t index)
{
	struct famfs_inode t;

	memset(&t, 0, sizeof(t));
	t.log_index = index;
	t.mode = S_IFDIR | 0750;
	t.uid = 10;
	t.gid = 20;
	return t;
}

static struct famfs_inode file_tmpl(uint64_t index, uint64_t size)
{
	struct famfs_inode t;

	memset(&t, 0, sizeof(t));
	t.log_index = index;
	t.mode = S_IFREG | 0640;
	t.uid = 30;
	t.gid = 40;
	t.size = size;
	t.flags = FAMFS_FM_ALL_HOSTS_RW;
	t.fmap.fmap_ext_type = FAMFS_EXT_SIMPLE;
	t.fmap.fmap_count = 1;
	t.fmap.se[0].ext_offset = 0xa00000 + index * 0x200000;
	t.fmap.se[0].ext_len = 0x200000;
	return t;
}

static int setup(void **state)
{
	static struct famfs_ns ns;

	assert_int_equal(famfs_ns_init(&ns), 0);
	*state = &ns;
	return 0;
}

static int teardown(void **state)
{
	famfs_ns_fini(*state);
	return 0;
}

/* Add under @dir; the caller expects success. */
static struct famfs_inode *add(struct famfs_ns *ns, struct famfs_inode *dir, const char *name,
			       struct famfs_inode t)
{
	struct famfs_inode *out = NULL;

	assert_int_equal(famfs_ns_add(ns, dir, name, &t, &out), 0);
	assert_non_null(out);
	return out;
}

static void famfs_ns_init_makes_root(void **state)
{
	struct famfs_ns *ns = *state;

	assert_non_null(ns->root);
	assert_int_equal(ns->root->ino, FAMFS_ROOT_INO);
	assert_int_equal(FAMFS_ROOT_INO, 1);
	assert_int_equal(ns->root->log_index, UINT64_MAX);
	assert_int_equal(ns->root->mode, S_IFDIR | 0755);
	assert_null(ns->root->parent);
	assert_null(ns->root->child_head);
	assert_int_equal(ns->root->nchildren, 0);
	assert_int_equal(ns->count, 1);
	assert_ptr_equal(famfs_ns_get(ns, 1), ns->root);
	assert_null(famfs_ns_get(ns, 0));
	assert_null(famfs_ns_get(ns, 2));
	assert_null(famfs_ns_get(ns, UINT64_MAX));
}

static void famfs_ns_add_numbers_from_log_index(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode ft = file_tmpl(5, 12345);
	struct famfs_inode *d, *f;

	d = add(ns, ns->root, "dir", dir_tmpl(0));
	assert_int_equal(d->ino, FAMFS_INO_OF_INDEX(0));
	assert_int_equal(d->ino, 2);
	assert_int_equal(d->log_index, 0);
	assert_int_equal(d->mode, S_IFDIR | 0750);
	assert_int_equal(d->uid, 10);
	assert_int_equal(d->gid, 20);
	assert_int_equal(d->size, 0);
	assert_ptr_equal(d->parent, ns->root);
	assert_string_equal(d->name, "dir");
	assert_int_equal(d->namelen, 3);

	f = add(ns, d, "file", ft);
	assert_int_equal(f->ino, 7);
	assert_int_equal(f->log_index, 5);
	assert_int_equal(f->mode, S_IFREG | 0640);
	assert_int_equal(f->uid, 30);
	assert_int_equal(f->gid, 40);
	assert_int_equal(f->size, 12345);
	assert_int_equal(f->flags, FAMFS_FM_ALL_HOSTS_RW);
	assert_memory_equal(&f->fmap, &ft.fmap, sizeof(ft.fmap));
	assert_ptr_equal(f->parent, d);
	assert_int_equal(d->nchildren, 1);
	assert_int_equal(ns->root->nchildren, 1);

	assert_ptr_equal(famfs_ns_get(ns, 2), d);
	assert_ptr_equal(famfs_ns_get(ns, 7), f);
	assert_null(famfs_ns_get(ns, 3));
	assert_int_equal(ns->count, 3);

	/* @out may be NULL; a large log index grows the inode index. */
	ft = file_tmpl(15419, 1);
	assert_int_equal(famfs_ns_add(ns, ns->root, "last", &ft, NULL), 0);
	f = famfs_ns_get(ns, FAMFS_INO_OF_INDEX(15419));
	assert_non_null(f);
	assert_string_equal(f->name, "last");
	assert_ptr_equal(famfs_ns_get(ns, 2), d);
	assert_ptr_equal(famfs_ns_get(ns, 1), ns->root);
}

static void famfs_ns_add_duplicate_name_eexist(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode t;
	struct famfs_inode *a, *b;

	a = add(ns, ns->root, "a", dir_tmpl(0));
	b = add(ns, ns->root, "b", dir_tmpl(1));
	add(ns, a, "x", file_tmpl(2, 1));

	t = file_tmpl(3, 1);
	assert_int_equal(famfs_ns_add(ns, a, "x", &t, NULL), -EEXIST);
	t = dir_tmpl(3);
	assert_int_equal(famfs_ns_add(ns, ns->root, "a", &t, NULL), -EEXIST);
	assert_int_equal(ns->count, 4);
	assert_int_equal(a->nchildren, 1);

	/* The same name in another directory is a different entry. */
	add(ns, b, "x", file_tmpl(3, 1));
	/* A log index already in use is refused as well. */
	t = file_tmpl(2, 1);
	assert_int_equal(famfs_ns_add(ns, b, "y", &t, NULL), -EEXIST);
	assert_int_equal(ns->count, 5);
	assert_null(famfs_ns_lookup(ns, b, "y", 1));
}

static void famfs_ns_add_under_file_enotdir(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *f = add(ns, ns->root, "f", file_tmpl(0, 10));
	struct famfs_inode t = file_tmpl(1, 10);

	assert_int_equal(famfs_ns_add(ns, f, "g", &t, NULL), -ENOTDIR);
	t = dir_tmpl(1);
	assert_int_equal(famfs_ns_add(ns, f, "d", &t, NULL), -ENOTDIR);
	assert_int_equal(ns->count, 2);
	assert_null(famfs_ns_get(ns, FAMFS_INO_OF_INDEX(1)));
	assert_null(f->child_head);
}

static void famfs_ns_add_name_length_limits(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode t = file_tmpl(0, 1);
	char name[FAMFS_NAME_MAX + 2];

	memset(name, 'n', FAMFS_NAME_MAX + 1);
	name[FAMFS_NAME_MAX + 1] = '\0'; /* 256 bytes */
	assert_int_equal(famfs_ns_add(ns, ns->root, name, &t, NULL), -ENAMETOOLONG);
	name[FAMFS_NAME_MAX] = '\0'; /* 255 bytes */
	assert_int_equal(famfs_ns_add(ns, ns->root, name, &t, NULL), 0);
	assert_non_null(famfs_ns_lookup(ns, ns->root, name, FAMFS_NAME_MAX));
	t = file_tmpl(1, 1);
	assert_true(famfs_ns_add(ns, ns->root, "", &t, NULL) < 0);
	assert_int_equal(ns->count, 2);
}

static void famfs_ns_lookup_matches_name_and_length(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *d, *ab, *abc, *inner;

	d = add(ns, ns->root, "d", dir_tmpl(0));
	ab = add(ns, ns->root, "ab", file_tmpl(1, 1));
	abc = add(ns, ns->root, "abc", file_tmpl(2, 1));
	inner = add(ns, d, "ab", file_tmpl(3, 1));

	assert_ptr_equal(famfs_ns_lookup(ns, ns->root, "ab", 2), ab);
	assert_ptr_equal(famfs_ns_lookup(ns, ns->root, "abc", 3), abc);
	/* @len bounds the name: "abc" with 2 bytes is "ab". */
	assert_ptr_equal(famfs_ns_lookup(ns, ns->root, "abc", 2), ab);
	assert_ptr_equal(famfs_ns_lookup(ns, ns->root, "ab/x", 2), ab);
	assert_ptr_equal(famfs_ns_lookup(ns, d, "ab", 2), inner);
	assert_null(famfs_ns_lookup(ns, ns->root, "a", 1));
	assert_null(famfs_ns_lookup(ns, ns->root, "abcd", 4));
	assert_null(famfs_ns_lookup(ns, d, "abc", 3));
	/* A file has no children. */
	assert_null(famfs_ns_lookup(ns, ab, "ab", 2));
}

static void famfs_ns_resolve_walks_components(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *a, *b, *c, *f, *out;

	a = add(ns, ns->root, "a", dir_tmpl(0));
	b = add(ns, a, "b", dir_tmpl(1));
	c = add(ns, b, "c", dir_tmpl(2));
	f = add(ns, c, "file", file_tmpl(3, 4096));

	out = NULL;
	assert_int_equal(famfs_ns_resolve(ns, "", &out), 0);
	assert_ptr_equal(out, ns->root);
	assert_int_equal(famfs_ns_resolve(ns, "a", &out), 0);
	assert_ptr_equal(out, a);
	assert_int_equal(famfs_ns_resolve(ns, "a/b", &out), 0);
	assert_ptr_equal(out, b);
	assert_int_equal(famfs_ns_resolve(ns, "a/b/c", &out), 0);
	assert_ptr_equal(out, c);
	assert_int_equal(famfs_ns_resolve(ns, "a/b/c/file", &out), 0);
	assert_ptr_equal(out, f);
}

static void famfs_ns_resolve_missing_enoent(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *a, *out = NULL;

	a = add(ns, ns->root, "a", dir_tmpl(0));
	add(ns, a, "f", file_tmpl(1, 1));
	assert_int_equal(famfs_ns_resolve(ns, "missing", &out), -ENOENT);
	assert_int_equal(famfs_ns_resolve(ns, "a/missing", &out), -ENOENT);
	assert_int_equal(famfs_ns_resolve(ns, "missing/f", &out), -ENOENT);
	assert_int_equal(famfs_ns_resolve(ns, "a/missing/f", &out), -ENOENT);
	assert_int_equal(famfs_ns_resolve(ns, "A", &out), -ENOENT);
	assert_int_equal(famfs_ns_resolve(ns, "f", &out), -ENOENT);
}

static void famfs_ns_resolve_through_file_enotdir(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *a, *out = NULL;

	a = add(ns, ns->root, "a", dir_tmpl(0));
	add(ns, a, "f", file_tmpl(1, 1));
	add(ns, ns->root, "top", file_tmpl(2, 1));
	assert_int_equal(famfs_ns_resolve(ns, "top/x", &out), -ENOTDIR);
	assert_int_equal(famfs_ns_resolve(ns, "a/f/x", &out), -ENOTDIR);
	assert_int_equal(famfs_ns_resolve(ns, "a/f/x/y", &out), -ENOTDIR);
}

static void famfs_ns_path_round_trips(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *nodes[6], *out;
	char buf[FAMFS_MAX_PATHLEN];
	uint64_t idx = 0;

	nodes[0] = add(ns, ns->root, "a", dir_tmpl(idx++));
	nodes[1] = add(ns, nodes[0], "bb", dir_tmpl(idx++));
	nodes[2] = add(ns, nodes[1], "ccc", dir_tmpl(idx++));
	nodes[3] = add(ns, nodes[2], "file.txt", file_tmpl(idx++, 1));
	nodes[4] = add(ns, nodes[0], "sibling", file_tmpl(idx++, 1));
	nodes[5] = add(ns, ns->root, "top", file_tmpl(idx++, 1));

	assert_int_equal(famfs_ns_path(ns->root, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(famfs_ns_path(nodes[3], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a/bb/ccc/file.txt");
	assert_int_equal(famfs_ns_path(nodes[4], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a/sibling");
	for (size_t k = 0; k < sizeof(nodes) / sizeof(nodes[0]); k++) {
		assert_int_equal(famfs_ns_path(nodes[k], buf, sizeof(buf)), 0);
		assert_int_equal(famfs_ns_resolve(ns, buf, &out), 0);
		assert_ptr_equal(out, nodes[k]);
	}
}

static void famfs_ns_path_small_buffer_enametoolong(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *a, *f;
	char buf[FAMFS_MAX_PATHLEN];

	a = add(ns, ns->root, "abc", dir_tmpl(0));
	f = add(ns, a, "defg", file_tmpl(1, 1));
	/* "abc/defg" needs 9 bytes. */
	assert_int_equal(famfs_ns_path(f, buf, 8), -ENAMETOOLONG);
	assert_int_equal(famfs_ns_path(f, buf, 4), -ENAMETOOLONG);
	assert_int_equal(famfs_ns_path(f, buf, 0), -ENAMETOOLONG);
	assert_int_equal(famfs_ns_path(f, buf, 9), 0);
	assert_string_equal(buf, "abc/defg");
}

/* A buffer of exactly strlen(path) + 1 bytes holds the path, whatever its depth. */
static void famfs_ns_path_fits_exact_buffer(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *top, *d, *f;
	char buf[FAMFS_MAX_PATHLEN];

	top = add(ns, ns->root, "top", file_tmpl(0, 1));
	d = add(ns, ns->root, "d", dir_tmpl(1));
	f = add(ns, d, "f", file_tmpl(2, 1));
	assert_int_equal(famfs_ns_path(f, buf, 4), 0);
	assert_string_equal(buf, "d/f");
	assert_int_equal(famfs_ns_path(d, buf, 2), 0);
	assert_string_equal(buf, "d");
	assert_int_equal(famfs_ns_path(top, buf, 4), 0);
	assert_string_equal(buf, "top");
	assert_int_equal(famfs_ns_path(ns->root, buf, 1), 0);
	assert_string_equal(buf, "");
}

/* The longest relpath the log holds (79 bytes) fits FAMFS_MAX_PATHLEN bytes. */
static void famfs_ns_path_longest_relpath(void **state)
{
	struct famfs_ns *ns = *state;
	struct famfs_inode *dir = ns->root, *f, *out;
	char name[FAMFS_RELPATH_MAX + 1], want[FAMFS_RELPATH_MAX + 1];
	char buf[FAMFS_MAX_PATHLEN];

	/* 40 components "a/a/.../a": 79 bytes. */
	for (int k = 0; k < 40; k++)
		dir =
		    add(ns, dir, "a", k == 39 ? file_tmpl((uint64_t)k, 1) : dir_tmpl((uint64_t)k));
	for (int k = 0; k < 40; k++) {
		want[2 * k] = 'a';
		if (k < 39)
			want[2 * k + 1] = '/';
	}
	want[79] = '\0';
	assert_int_equal(strlen(want), FAMFS_RELPATH_MAX);
	assert_int_equal(famfs_ns_path(dir, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	assert_int_equal(famfs_ns_resolve(ns, buf, &out), 0);
	assert_ptr_equal(out, dir);

	/* One component of 79 bytes directly under the root. */
	memset(name, 'z', FAMFS_RELPATH_MAX);
	name[FAMFS_RELPATH_MAX] = '\0';
	f = add(ns, ns->root, name, file_tmpl(100, 1));
	assert_int_equal(famfs_ns_path(f, buf, sizeof(buf)), 0);
	assert_string_equal(buf, name);
}

static void famfs_ns_foreach_child_insertion_order(void **state)
{
	struct famfs_ns *ns = *state;
	static const char *const names[] = {"zeta", "alpha", "mid", "beta", "0", "Zz"};
	const size_t n = sizeof(names) / sizeof(names[0]);
	struct famfs_inode *d, *c;
	size_t k = 0;

	d = add(ns, ns->root, "d", dir_tmpl(0));
	add(ns, ns->root, "other", dir_tmpl(1));
	for (size_t i = 0; i < n; i++) {
		/* Log indexes deliberately not in name order, nor increasing. */
		uint64_t idx = 100 - i * 7;

		if (i % 2)
			add(ns, d, names[i], file_tmpl(idx, 1));
		else
			add(ns, d, names[i], dir_tmpl(idx));
	}
	assert_int_equal(d->nchildren, n);
	famfs_ns_foreach_child(d, c)
	{
		assert_true(k < n);
		assert_string_equal(c->name, names[k]);
		assert_ptr_equal(c->parent, d);
		k++;
	}
	assert_int_equal(k, n);
	assert_ptr_equal(d->child_tail, famfs_ns_lookup(ns, d, "Zz", 2));

	k = 0;
	famfs_ns_foreach_child(ns->root, c)
	{
		assert_string_equal(c->name, k == 0 ? "d" : "other");
		k++;
	}
	assert_int_equal(k, 2);
}

static void famfs_ns_lookup_100000_children(void **state)
{
	enum { N = 100000 };
	struct famfs_ns *ns = *state;
	struct famfs_inode *d, *c, *out;
	size_t nbuckets0 = ns->nbuckets;
	char name[32], path[40];
	uint64_t k = 0;

	d = add(ns, ns->root, "big", dir_tmpl(0));
	add(ns, ns->root, "small", dir_tmpl(1));
	for (uint64_t i = 0; i < N; i++) {
		struct famfs_inode t = file_tmpl(i + 2, i + 1);

		snprintf(name, sizeof(name), "file-%llu", (unsigned long long)i);
		assert_int_equal(famfs_ns_add(ns, d, name, &t, NULL), 0);
	}
	assert_int_equal(d->nchildren, N);
	assert_int_equal(ns->count, N + 3);
	assert_true(ns->nbuckets > nbuckets0);

	for (uint64_t i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-%llu", (unsigned long long)i);
		c = famfs_ns_lookup(ns, d, name, strlen(name));
		assert_non_null(c);
		assert_int_equal(c->ino, FAMFS_INO_OF_INDEX(i + 2));
		assert_int_equal(c->size, i + 1);
		assert_ptr_equal(famfs_ns_get(ns, c->ino), c);
		/* Not visible under the other directory. */
		assert_null(famfs_ns_lookup(ns, ns->root, name, strlen(name)));
	}
	snprintf(path, sizeof(path), "big/file-%d", N - 1);
	assert_int_equal(famfs_ns_resolve(ns, path, &out), 0);
	assert_int_equal(out->ino, FAMFS_INO_OF_INDEX(N + 1));
	snprintf(path, sizeof(path), "big/file-%d", N);
	assert_int_equal(famfs_ns_resolve(ns, path, &out), -ENOENT);
	/* The directories added before the growth are still found. */
	assert_int_equal(famfs_ns_resolve(ns, "small", &out), 0);
	assert_ptr_equal(out, famfs_ns_get(ns, FAMFS_INO_OF_INDEX(1)));

	/* Still in insertion order. */
	famfs_ns_foreach_child(d, c)
	{
		assert_int_equal(c->log_index, k + 2);
		k++;
	}
	assert_int_equal(k, N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(famfs_ns_init_makes_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_add_numbers_from_log_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_add_duplicate_name_eexist, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_add_under_file_enotdir, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_add_name_length_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_lookup_matches_name_and_length, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_resolve_walks_components, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_resolve_missing_enoent, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_resolve_through_file_enotdir, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_path_round_trips, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_path_small_buffer_enametoolong, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_path_fits_exact_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_path_longest_relpath, setup, teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_foreach_child_insertion_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(famfs_ns_lookup_100000_children, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

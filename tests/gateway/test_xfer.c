// SPDX-License-Identifier: Apache-2.0
/**
 * @file test_xfer.c
 * @brief famfs-gw cp's data mover (gateway/xfer.c) on real files and a mapped device
 *        file: bytes land where the extent map says (simple and interleaved), both ways,
 *        with io_uring and with plain reads; out of a device file with
 *        copy_file_range(2); O_DIRECT on request; a source shorter than
 *        its announced size is an error that says so (never a silent short file); a
 *        kernel that refuses io_uring (link seam on io_uring_queue_init) falls back to
 *        plain reads and says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "famfs/io.h"
#include "xfer.h"

#define MIB	 (1024ULL * 1024)
#define DEV_SIZE (64 * MIB)

/* The seam: a kernel that refuses io_uring when set. */
static int refuse_uring;
int __real_io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags);
int __wrap_io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
	if (refuse_uring)
		return -ENOSYS;
	return __real_io_uring_queue_init(entries, ring, flags);
}

struct fx {
	char dir[64], dev[96], src[96], out[96];
	uint8_t *base;
	uint8_t *data;
	size_t len;
};

static void pattern(uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(k * 7 + (k >> 13));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(f->dir, sizeof(f->dir), "%s/xferXXXXXX", tmp);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->dev, sizeof(f->dev), "%s/dev", f->dir);
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
	fd = open(f->dev, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DEV_SIZE), 0);
	f->base = mmap(NULL, DEV_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(f->base != MAP_FAILED);
	close(fd);
	f->len = 9 * MIB + 4321; /* not a multiple of anything */
	f->data = malloc(f->len);
	pattern(f->data, f->len);
	fd = open(f->src, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, f->data, f->len), (ssize_t)f->len);
	close(fd);
	refuse_uring = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	munmap(f->base, DEV_SIZE);
	unlink(f->dev);
	unlink(f->src);
	unlink(f->out);
	rmdir(f->dir);
	free(f->data);
	free(f);
	return 0;
}

/* Two simple extents, the second one before the first on the device. */
static struct famfs_omf_fmap simple_map(void)
{
	struct famfs_omf_fmap m = {.fmap_ext_type = FAMFS_EXT_SIMPLE, .fmap_count = 2};

	m.se[0].ext_offset = 40 * MIB;
	m.se[0].ext_len = 6 * MIB;
	m.se[1].ext_offset = 4 * MIB;
	m.se[1].ext_len = 4 * MIB;
	return m;
}

/* 3 strips of 4 MiB, 1 MiB chunks. */
static struct famfs_omf_fmap interleaved_map(void)
{
	struct famfs_omf_fmap m = {.fmap_ext_type = FAMFS_EXT_INTERLEAVE, .fmap_count = 1};

	m.ie[0].ie_nstrips = 3;
	m.ie[0].ie_chunk_size = 1 * MIB;
	for (int k = 0; k < 3; k++) {
		m.ie[0].ie_strips[k].ext_offset = (uint64_t)(8 + 12 * k) * MIB;
		m.ie[0].ie_strips[k].ext_len = 4 * MIB;
	}
	return m;
}

/* Every byte of the file sits where @m says. */
static void check_placed(struct fx *f, const struct famfs_omf_fmap *m)
{
	for (uint64_t off = 0; off < f->len;) {
		uint64_t doff, contig, n;

		assert_int_equal(famfs_fmap_resolve(m, off, &doff, &contig), 0);
		n = f->len - off < contig ? f->len - off : contig;
		assert_memory_equal(f->base + doff, f->data + off, n);
		off += n;
	}
}

static void check_out(struct fx *f)
{
	uint8_t *got = malloc(f->len + 1);
	int fd = open(f->out, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, f->len + 1), (ssize_t)f->len);
	assert_memory_equal(got, f->data, f->len);
	close(fd);
	free(got);
}

static void round_trip(struct fx *f, const struct famfs_omf_fmap *m, const struct xfer_opts *o,
		       bool want_uring)
{
	struct xfer_stats st;
	int fd;

	memset(f->base, 0, DEV_SIZE);
	assert_int_equal(xfer_in(f->base, m, f->len, f->src, o, &st), 0);
	assert_int_equal(st.bytes, f->len);
	assert_int_equal(st.uring, want_uring);
	check_placed(f, m);
	fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(xfer_out(f->base, m, f->len, fd, o, &st), 0);
	assert_int_equal(st.bytes, f->len);
	close(fd);
	check_out(f);
}

static void test_uring_simple_and_interleaved(void **state)
{
	struct fx *f = *state;
	struct famfs_omf_fmap s = simple_map(), i = interleaved_map();
	struct xfer_opts o = {.direct = XFER_DIRECT_NEVER};

	round_trip(f, &s, &o, true);
	round_trip(f, &i, &o, true);
}

static void test_plain(void **state)
{
	struct fx *f = *state;
	struct famfs_omf_fmap s = simple_map(), i = interleaved_map();
	struct xfer_opts o = {.no_uring = true};

	round_trip(f, &s, &o, false);
	round_trip(f, &i, &o, false);
}

static void test_direct(void **state)
{
	struct fx *f = *state;
	struct famfs_omf_fmap s = simple_map();
	struct xfer_opts o = {.direct = XFER_DIRECT_ALWAYS};
	struct xfer_stats st;

	assert_int_equal(xfer_in(f->base, &s, f->len, f->src, &o, &st), 0);
	/* O_DIRECT where the file system takes it (tmpfs does not: then it says so). */
	assert_true(st.direct || st.note[0]);
	check_placed(f, &s);
}

static void test_source_shrank(void **state)
{
	struct fx *f = *state;
	struct famfs_omf_fmap s = simple_map();
	struct xfer_opts o = {.direct = XFER_DIRECT_NEVER};
	struct xfer_stats st;

	/* The size cp saw is larger than what the source holds by the time it reads. */
	assert_int_equal(xfer_in(f->base, &s, f->len + 300000, f->src, &o, &st), -EIO);
	assert_non_null(strstr(st.error, "shrank"));
	o.no_uring = true;
	assert_int_equal(xfer_in(f->base, &s, f->len + 300000, f->src, &o, &st), -EIO);
	assert_non_null(strstr(st.error, "shrank"));
	/* A source that cannot be opened. */
	assert_int_equal(xfer_in(f->base, &s, 10, "/nonexistent/src", &o, &st), -ENOENT);
}

static void test_out_of_device_file(void **state)
{
	struct fx *f = *state;
	struct famfs_omf_fmap s = simple_map(), i = interleaved_map();
	struct xfer_opts o = {.dev_file = true};
	struct xfer_stats st;
	int fd;

	o.dev_fd = open(f->dev, O_RDONLY);
	assert_true(o.dev_fd >= 0);
	for (int k = 0; k < 2; k++) {
		const struct famfs_omf_fmap *m = k ? &i : &s;

		memset(f->base, 0, DEV_SIZE);
		assert_int_equal(xfer_in(f->base, m, f->len, f->src, &o, &st), 0);
		fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_int_equal(xfer_out(f->base, m, f->len, fd, &o, &st), 0);
		close(fd);
		assert_true(st.cfr);
		assert_false(st.uring);
		assert_int_equal(st.bytes, f->len);
		check_out(f);
	}
	close(o.dev_fd);
}

static void test_uring_refused(void **state)
{
	struct fx *f = *state;
	struct famfs_omf_fmap i = interleaved_map();
	struct xfer_opts o = {0};
	struct xfer_stats st;

	refuse_uring = 1;
	round_trip(f, &i, &o, false);
	assert_int_equal(xfer_in(f->base, &i, f->len, f->src, &o, &st), 0);
	assert_false(st.uring);
	assert_non_null(strstr(st.note, "refused io_uring"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_uring_simple_and_interleaved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_direct, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_source_shrank, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_device_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uring_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

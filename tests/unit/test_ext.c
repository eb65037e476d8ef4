/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file test_ext.c
 * @brief The famfs-gateway extension log entries (omf_ext.h): their byte layout, replay
 *        on another host, replay from any cursor, safe space reuse behind lagging hosts
 *        and pinned files, log compaction, and fsck over extension entries.
 *
 * Every test makes its own 4 GiB sparse device with the minimum (8 MiB, 15420-slot) log,
 * so the tests are independent. "Another host" is a second handle opened with a client
 * system UUID (test_dev_open(t, 1), here xopen(state, 1)); it replays the log exactly as
 * a host sharing the device would. Raw entries are read from the mapped log at the
 * offsets that omf_ext.h documents, not through the structs, so a layout change shows.
 *
 * The ext_compaction_* tests and ext_resize_pending_list_matches_pending_bytes check
 * promises of omf_ext.h and fs.h (stable inode numbers, pins, scrubbed reuse, the pending
 * list) in corners the main scenarios do not reach.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "famfs/fs.h"
#include "famfs/fsck.h"
#include "famfs/io.h"
#include "famfs/msg.h"
#include "famfs/ns.h"
#include "famfs/omf_ext.h"
#include "helpers.h"

#define MIB	  (1024ULL * 1024)
#define LOG_SLOTS 15420 /* an 8 MiB log */

/* ------------------------------------------------------------------ fixtures */

/* The device, and every handle a test opened, closed by the teardown if a test fails. */
struct fixture {
	struct test_dev t; /* first: *state is also a struct test_dev */
	struct famfs_fs *open[128];
	size_t nopen;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	test_dev_make(&f->t, 4 * TEST_GIB, 8 * MIB);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	famfs_set_msg_fn(NULL, NULL);
	for (size_t i = 0; i < f->nopen; i++)
		famfs_fs_close(f->open[i]);
	test_dev_remove(&f->t);
	free(f);
	return 0;
}

/* Open the test's device as the master (0) or as a client host (1). */
static struct famfs_fs *xopen(void **state, int client)
{
	struct fixture *f = *state;
	struct famfs_fs *fs;

	assert_true(f->nopen < sizeof(f->open) / sizeof(f->open[0]));
	fs = test_dev_open(&f->t, client);
	f->open[f->nopen++] = fs;
	return fs;
}

static void xclose(void **state, struct famfs_fs *fs)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < f->nopen; i++) {
		if (f->open[i] == fs) {
			f->open[i] = f->open[--f->nopen];
			break;
		}
	}
	famfs_fs_close(fs);
}

/* ------------------------------------------------------------------ raw log access */

static struct famfs_log_header *raw_log(struct famfs_fs *fs)
{
	return (struct famfs_log_header *)(famfs_fs_dev(fs)->base + FAMFS_LOG_OFFSET);
}

static uint64_t next_index(struct famfs_fs *fs)
{
	return raw_log(fs)->lh_next_index;
}

/* Entry @i of the log as bytes, after checking its seqnum and CRC. */
static const uint8_t *entry_at(struct famfs_fs *fs, uint64_t i)
{
	const struct famfs_log_entry *le = &raw_log(fs)->lh_entries[i];
	char why[200] = "";
	int rc = famfs_log_entry_check(le, i, why, sizeof(why));

	if (rc)
		fail_msg("log entry %llu: %s", (unsigned long long)i, why);
	return (const uint8_t *)le;
}

/* The last committed entry (index lh_next_index - 1). */
static const uint8_t *last_entry(struct famfs_fs *fs, uint64_t *index)
{
	uint64_t n = next_index(fs);

	assert_true(n > 0);
	if (index)
		*index = n - 1;
	return entry_at(fs, n - 1);
}

static uint64_t rd64(const uint8_t *e, size_t off)
{
	uint64_t v;

	memcpy(&v, e + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *e, size_t off)
{
	uint32_t v;

	memcpy(&v, e + off, sizeof(v));
	return v;
}

static uint16_t rd16(const uint8_t *e, size_t off)
{
	uint16_t v;

	memcpy(&v, e + off, sizeof(v));
	return v;
}

/* Bytes [from, to) of entry @e are all zero. */
static void assert_zero_bytes(const uint8_t *e, size_t from, size_t to)
{
	for (size_t k = from; k < to; k++) {
		if (e[k])
			fail_msg("entry byte %zu is 0x%02x, expected 0", k, e[k]);
	}
}

/* A name field at @off: @name, NUL, then zeros to the end of its 80 bytes. */
static void assert_name_field(const uint8_t *e, size_t off, const char *name)
{
	size_t n = strlen(name);

	assert_memory_equal(e + off, name, n);
	assert_zero_bytes(e, off + n, off + FAMFS_MAX_PATHLEN);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The 32-byte extension header (entry offsets 8..47): type, version 1, object, time. */
static void assert_xe_hdr(const uint8_t *e, uint32_t type, uint64_t ino)
{
	uint64_t t = rd64(e, 32), now = now_ns();

	assert_int_equal(rd32(e, 8), type);
	assert_int_equal(rd32(e, 12), 0); /* le_pad */
	assert_int_equal(rd16(e, 16), FAMFS_XE_VERSION);
	assert_int_equal(rd16(e, 16), 1);   /* xh_version */
	assert_int_equal(rd32(e, 20), 0);   /* pad */
	assert_int_equal(rd64(e, 24), ino); /* xh_ino */
	/* xh_time_ns: the wall clock of the change */
	assert_true(t > now - 60ULL * 1000000000ULL && t <= now);
	assert_int_equal(rd64(e, 40), 0); /* pad */
}

/* The fmap at entry offset @off equals @m, field by field (omf.h layout). */
static void assert_raw_fmap(const uint8_t *e, size_t off, const struct famfs_omf_fmap *m)
{
	assert_int_equal(rd32(e, off), m->fmap_ext_type);
	assert_int_equal(rd32(e, off + 4), 0);
	assert_int_equal(rd32(e, off + 8), m->fmap_count);
	assert_int_equal(rd32(e, off + 12), 0);
	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t k = 0; k < m->fmap_count; k++) {
			assert_int_equal(rd64(e, off + 16 + 24 * k), 0);
			assert_int_equal(rd64(e, off + 24 + 24 * k), m->se[k].ext_offset);
			assert_int_equal(rd64(e, off + 32 + 24 * k), m->se[k].ext_len);
		}
		assert_zero_bytes(e, off + 16 + 24 * m->fmap_count, off + 16 + 24 * 16);
	}
}

/* ------------------------------------------------------------------ views */

/* Two views of one object agree on everything replay derives from the log. */
static void assert_same_inode(const struct famfs_inode *a, const struct famfs_inode *b)
{
	assert_int_equal(a->ino, b->ino);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->mtime_ns, b->mtime_ns);
	assert_int_equal(a->atime_ns, b->atime_ns);
	assert_int_equal(a->log_index, b->log_index);
	assert_memory_equal(&a->fmap, &b->fmap, sizeof(a->fmap));
	assert_string_equal(a->name, b->name);
}

/* A host that opens the device now sees @path as the master does. */
static void client_sees(void **state, struct famfs_fs *m, const char *path)
{
	struct famfs_fs *c = xopen(state, 1);
	struct famfs_inode *mi, *ci;

	assert_int_equal(famfs_fs_role(c), FAMFS_ROLE_CLIENT);
	assert_int_equal(famfs_fs_stats(c)->entries, next_index(m));
	assert_int_equal(famfs_fs_stats(c)->rejected, 0);
	assert_int_equal(famfs_fs_resolve(m, path, &mi), 0);
	if (famfs_fs_resolve(c, path, &ci))
		fail_msg("the client does not see '%s'", path);
	assert_same_inode(mi, ci);
	xclose(state, c);
}

/* A host that opens the device now does not see @path, nor the object numbered @ino. */
static void client_lacks(void **state, const char *path, uint64_t ino)
{
	struct famfs_fs *c = xopen(state, 1);
	struct famfs_inode *ci;

	assert_int_equal(famfs_fs_stats(c)->rejected, 0);
	assert_int_equal(famfs_fs_resolve(c, path, &ci), -ENOENT);
	if (ino)
		assert_null(famfs_ns_get(famfs_fs_ns(c), ino));
	xclose(state, c);
}

static struct famfs_inode *must_resolve(struct famfs_fs *fs, const char *path)
{
	struct famfs_inode *ino = NULL;
	int rc = famfs_fs_resolve(fs, path, &ino);

	if (rc)
		fail_msg("'%s' does not resolve: %d", path, rc);
	return ino;
}

static uint64_t ino_of(struct famfs_fs *fs, const char *path)
{
	return must_resolve(fs, path)->ino;
}

/* Do extents [a, a+alen) and [b, b+blen) share a byte? */
static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Does any extent of @m touch [off, off+len)? */
static int fmap_overlaps(const struct famfs_omf_fmap *m, uint64_t off, uint64_t len)
{
	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t k = 0; k < m->fmap_count; k++)
			if (overlaps(m->se[k].ext_offset, m->se[k].ext_len, off, len))
				return 1;
		return 0;
	}
	for (uint64_t k = 0; k < m->ie[0].ie_nstrips; k++)
		if (overlaps(m->ie[0].ie_strips[k].ext_offset, m->ie[0].ie_strips[k].ext_len, off,
			     len))
			return 1;
	return 0;
}

/* ---- a canonical dump of a namespace: one sorted line per object ---- */

struct lines {
	char **v;
	size_t n, cap;
};

static void fmap_text(const struct famfs_omf_fmap *m, char *buf, size_t len)
{
	size_t o = 0;

	if (m->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		o += (size_t)snprintf(buf + o, len - o, "simple/%u", m->fmap_count);
		for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			o += (size_t)snprintf(buf + o, len - o, " %llu:%llx+%llx",
					      (unsigned long long)m->se[k].ext_devindex,
					      (unsigned long long)m->se[k].ext_offset,
					      (unsigned long long)m->se[k].ext_len);
	} else {
		const struct famfs_omf_interleave *ie = &m->ie[0];

		o += (size_t)snprintf(buf + o, len - o, "interleave/%u strips %llu chunk %llx",
				      m->fmap_count, (unsigned long long)ie->ie_nstrips,
				      (unsigned long long)ie->ie_chunk_size);
		for (uint64_t k = 0; k < ie->ie_nstrips && k < FAMFS_MAX_STRIPS; k++)
			o += (size_t)snprintf(buf + o, len - o, " %llx+%llx",
					      (unsigned long long)ie->ie_strips[k].ext_offset,
					      (unsigned long long)ie->ie_strips[k].ext_len);
	}
}

static void dump_obj(const struct famfs_inode *i, const char *path, int times, struct lines *l)
{
	char fm[1024], *line;
	size_t len = 1400;

	fmap_text(&i->fmap, fm, sizeof(fm));
	line = malloc(len);
	assert_non_null(line);
	snprintf(line, len, "'%s' ino=%llu mode=%o uid=%u gid=%u size=%llu", path,
		 (unsigned long long)i->ino, (unsigned int)i->mode, i->uid, i->gid,
		 (unsigned long long)i->size);
	if (times)
		snprintf(line + strlen(line), len - strlen(line),
			 " mtime=%llu ctime=%llu atime=%llu", (unsigned long long)i->mtime_ns,
			 (unsigned long long)i->ctime_ns, (unsigned long long)i->atime_ns);
	if (S_ISREG(i->mode))
		snprintf(line + strlen(line), len - strlen(line), " fmap=%s", fm);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n++] = line;
}

static void dump_walk(const struct famfs_inode *dir, const char *prefix, int times, struct lines *l)
{
	const struct famfs_inode *c;

	famfs_ns_foreach_child(dir, c)
	{
		char path[FAMFS_PATH_MAX + 1];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", c->name);
		assert_true(c->parent == dir);
		dump_obj(c, path, times, l);
		if (S_ISDIR(c->mode))
			dump_walk(c, path, times, l);
	}
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The namespace of @fs as text: path, ino, mode, uid, gid, size, (times,) extent map of
 * every object, sorted by path. The root is included (with @times: its times too).
 */
static char *dump(struct famfs_fs *fs, int times)
{
	struct famfs_ns *ns = famfs_fs_ns(fs);
	struct lines l = {0};
	size_t total = 1;
	char *out;

	dump_obj(ns->root, "", times, &l);
	dump_walk(ns->root, "", times, &l);
	assert_int_equal(l.n, ns->count); /* every indexed inode is in the tree */
	qsort(l.v, l.n, sizeof(*l.v), cmp_line);
	for (size_t i = 0; i < l.n; i++)
		total += strlen(l.v[i]) + 1;
	out = malloc(total);
	assert_non_null(out);
	out[0] = '\0';
	for (size_t i = 0, o = 0; i < l.n; i++) {
		size_t n = strlen(l.v[i]);

		memcpy(out + o, l.v[i], n);
		out[o + n] = '\n';
		o += n + 1;
		out[o] = '\0';
		free(l.v[i]);
	}
	free(l.v);
	return out;
}

/* @a and @b hold the same namespace. */
static void assert_same_ns(struct famfs_fs *a, struct famfs_fs *b, const char *what)
{
	char *da = dump(a, 1), *db = dump(b, 1);

	int differ = strcmp(da, db) != 0;

	if (differ)
		print_message("---- expected\n%s---- %s\n%s", da, what, db);
	free(da);
	free(db);
	if (differ)
		fail_msg("%s: the namespace differs", what);
}

/*
 * @a and @b hold the same namespace, the same used space and the same pending space.
 * (Only while no upstream host may exist does the master hand pending space out again,
 * so there this holds for a master only where the test knows nothing was released.)
 */
static void assert_same_view(struct famfs_fs *a, struct famfs_fs *b, const char *what)
{
	const struct famfs_bitmap *ba = famfs_fs_bitmap(a), *bb = famfs_fs_bitmap(b);

	assert_same_ns(a, b, what);
	assert_int_equal(ba->nbits, bb->nbits);
	for (uint64_t u = 0; u < ba->nbits; u++) {
		int ua = (ba->words[u / 64] >> (u % 64)) & 1,
		    ub = (bb->words[u / 64] >> (u % 64)) & 1;

		if (ua != ub)
			fail_msg("%s: allocation unit at 0x%llx is %s here but %s there", what,
				 (unsigned long long)(u * ba->unit), ua ? "used" : "free",
				 ub ? "used" : "free");
	}
	assert_int_equal(ba->nset, bb->nset);
	if (famfs_fs_pending_bytes(a) != famfs_fs_pending_bytes(b))
		fail_msg("%s: %llu bytes pending here, %llu there", what,
			 (unsigned long long)famfs_fs_pending_bytes(a),
			 (unsigned long long)famfs_fs_pending_bytes(b));
}

/* ---- file contents ---- */

static void fill_pattern(uint64_t *buf, size_t words, uint64_t tag)
{
	for (size_t k = 0; k < words; k++)
		buf[k] = tag << 32 | k;
}

static void write_pattern(struct famfs_fs *fs, const char *path, uint64_t tag)
{
	struct famfs_inode *ino = must_resolve(fs, path);
	size_t words = (size_t)(ino->size / 8);
	uint64_t *buf = malloc(words * 8 + 8);

	assert_non_null(buf);
	fill_pattern(buf, words, tag);
	assert_int_equal(famfs_file_write(fs, ino, 0, buf, words * 8), (ssize_t)(words * 8));
	free(buf);
}

static void check_pattern(struct famfs_fs *fs, const char *path, uint64_t tag)
{
	struct famfs_inode *ino = must_resolve(fs, path);
	size_t words = (size_t)(ino->size / 8);
	uint64_t *buf = malloc(words * 8 + 8), *want = malloc(words * 8 + 8);

	assert_non_null(buf);
	assert_non_null(want);
	fill_pattern(want, words, tag);
	ssize_t got = famfs_file_read(fs, ino, 0, buf, words * 8, 0);
	int differ = got != (ssize_t)(words * 8) || memcmp(buf, want, words * 8) != 0;

	free(buf);
	free(want);
	if (differ)
		fail_msg("'%s': contents changed (read %zd bytes)", path, got);
}

/* Bytes of @path that are not zero (a new file must read as zeros). */
static uint64_t nonzero_bytes(struct famfs_fs *fs, const char *path)
{
	struct famfs_inode *ino = must_resolve(fs, path);
	uint8_t *buf = malloc(ino->size + 1);
	uint64_t n = 0;

	assert_non_null(buf);
	assert_int_equal(famfs_file_read(fs, ino, 0, buf, ino->size, 0), (ssize_t)ino->size);
	for (uint64_t k = 0; k < ino->size; k++)
		n += buf[k] != 0;
	free(buf);
	return n;
}

/*
 * Log @n changes that leave no trace in a compacted log (the root's times), so that an
 * explicit compaction has something to shrink: a log shorter than the namespace it
 * describes is not compacted (-ENOSPC).
 */
static void pad_log(struct famfs_fs *m, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		assert_int_equal(
		    famfs_fs_setattr(m, famfs_fs_ns(m)->root, FAMFS_ATTR_MTIME, 0, 0, 0, k + 1, 0),
		    0);
}

/* ---- messages ---- */

static char msgs[16384];
static size_t msgs_len;

static void capture(enum famfs_msg_level level, const char *msg, void *arg)
{
	size_t n = strlen(msg);

	(void)arg;
	if (level > FAMFS_MSG_WARNING || msgs_len + n + 2 > sizeof(msgs))
		return;
	memcpy(msgs + msgs_len, msg, n);
	msgs_len += n;
	msgs[msgs_len++] = '\n';
	msgs[msgs_len] = '\0';
}

static void capture_start(void)
{
	msgs_len = 0;
	msgs[0] = '\0';
	famfs_set_msg_fn(capture, NULL);
}

/* ------------------------------------------------------------------ 1. per entry type */

static void ext_create_empty_file_logs_xe_create(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *d, *f;
	const uint8_t *e;
	uint64_t idx;

	assert_int_equal(famfs_fs_mkdir(m, "d", 0750, 0, 0, &d), 0);
	assert_int_equal(famfs_fs_create(m, "d/empty", 0, 0640, 5, 6, NULL, &f), 0);
	e = last_entry(m, &idx);
	assert_xe_hdr(e, FAMFS_XE_CREATE, 0);
	assert_int_equal(rd64(e, 48), d->ino); /* parent */
	assert_int_equal(rd32(e, 56), 0640);   /* mode: permission bits, no S_IFDIR */
	assert_int_equal(rd32(e, 60), 5);      /* uid */
	assert_int_equal(rd32(e, 64), 6);      /* gid */
	assert_int_equal(rd32(e, 68), 0);      /* pad */
	assert_int_equal(rd64(e, 72), 0);      /* reserved */
	assert_name_field(e, 80, "empty");     /* one component */
	assert_zero_bytes(e, 160, 536);
	assert_int_equal(rd64(e, 536), famfs_log_entry_crc((const void *)e));
	/* The master's own view. */
	assert_int_equal(f->ino, FAMFS_INO_OF_INDEX(idx));
	assert_int_equal(f->mode, S_IFREG | 0640);
	assert_int_equal(f->size, 0);
	assert_int_equal(f->fmap.fmap_count, 0);
	assert_true(f->parent == d);
	/* Another host. */
	client_sees(state, m, "d/empty");
	xclose(state, m);
}

static void ext_create_sized_file_logs_upstream_file(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *f;
	const uint8_t *e;
	uint64_t idx;

	assert_int_equal(famfs_fs_mkdir(m, "d", 0755, 0, 0, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "d/f", 3 * MIB + 1, 0604, 7, 8, NULL, &f), 0);
	e = last_entry(m, &idx);
	assert_int_equal(rd32(e, 8), FAMFS_LOG_FILE);
	assert_int_equal(rd64(e, 16), 3 * MIB + 1);	      /* fm_size */
	assert_int_equal(rd32(e, 24), FAMFS_FM_ALL_HOSTS_RW); /* fm_flags */
	assert_int_equal(rd32(e, 28), 7);		      /* fm_uid */
	assert_int_equal(rd32(e, 32), 8);		      /* fm_gid */
	assert_int_equal(rd32(e, 36), 0604);		      /* fm_mode */
	assert_name_field(e, 40, "d/f");		      /* fm_relpath */
	assert_int_equal(rd32(e, 128), 1);		      /* one extent */
	assert_int_equal(rd64(e, 152), 4 * MIB);	      /* of two units */
	assert_raw_fmap(e, 120, &f->fmap);
	assert_int_equal(f->ino, FAMFS_INO_OF_INDEX(idx));
	assert_int_equal(f->mode, S_IFREG | 0604);
	assert_true(f->upstream);
	client_sees(state, m, "d/f");
	xclose(state, m);
}

static void ext_create_under_renamed_dir_logs_xe_create_and_resize(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *root = famfs_fs_ns(m)->root, *r, *x, *sub;
	const uint8_t *e;
	uint64_t idx;

	assert_int_equal(famfs_fs_mkdir(m, "r1", 0755, 0, 0, &r), 0);
	assert_int_equal(famfs_fs_rename(m, root, "r1", root, "r2"), 0);
	/* A sized file: one XE_CREATE that holds its map (upstream knows r2 only as r1). */
	assert_int_equal(famfs_fs_create(m, "r2/x", 3 * MIB, 0644, 1, 2, NULL, &x), 0);
	assert_false(x->upstream);
	e = last_entry(m, &idx);
	assert_int_equal(rd32(e, 8), FAMFS_XE_CREATE);
	assert_int_equal(rd16(e, 16), FAMFS_XE_VERSION_PACKED);
	assert_int_equal(rd16(e, 18), FAMFS_XC_MAP);
	assert_int_equal(rd64(e, 48), r->ino);
	assert_int_equal(rd32(e, 56), 0644);
	assert_name_field(e, 80, "x");
	assert_int_equal(rd64(e, 160), 3 * MIB); /* size */
	assert_int_equal(rd32(e, 184), 1);	 /* one extent */
	assert_int_equal(x->fmap.fmap_count, 1);
	assert_int_equal(rd64(e, 192), x->fmap.se[0].ext_offset);
	assert_int_equal(rd64(e, 200), 4 * MIB);
	assert_int_equal(x->ino, FAMFS_INO_OF_INDEX(idx));
	/* A directory: XE_CREATE with S_IFDIR in the mode. */
	assert_int_equal(famfs_fs_mkdir(m, "r2/sub", 0711, 3, 4, &sub), 0);
	e = last_entry(m, &idx);
	assert_xe_hdr(e, FAMFS_XE_CREATE, 0);
	assert_int_equal(rd32(e, 56), S_IFDIR | 0711);
	assert_name_field(e, 80, "sub");
	assert_int_equal(sub->mode, S_IFDIR | 0711);
	client_sees(state, m, "r2/x");
	client_sees(state, m, "r2/sub");
	xclose(state, m);
}

static void ext_remove_logs_xe_remove(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *root = famfs_fs_ns(m)->root, *d, *f;
	struct famfs_pending_info pi[4];
	uint64_t idx, n, fino, foff, dino;
	struct famfs_fs *c;
	const uint8_t *e;

	assert_int_equal(famfs_fs_mkdir(m, "d", 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_fs_create(m, "d/f", 4 * MIB, 0644, 0, 0, NULL, &f), 0);
	fino = f->ino;
	foff = f->fmap.se[0].ext_offset;
	dino = d->ino;
	n = next_index(m);
	/* Refusals write nothing. */
	assert_int_equal(famfs_fs_remove(m, root, "d"), -ENOTEMPTY);
	assert_int_equal(famfs_fs_remove(m, d, "nope"), -ENOENT);
	assert_int_equal(next_index(m), n);

	assert_int_equal(famfs_fs_remove(m, d, "f"), 0);
	e = last_entry(m, &idx);
	assert_xe_hdr(e, FAMFS_XE_REMOVE, fino);
	assert_int_equal(rd64(e, 48), dino);
	assert_name_field(e, 56, "f");
	assert_zero_bytes(e, 136, 536);
	assert_int_equal(famfs_fs_resolve(m, "d/f", &f), -ENOENT);
	/* The file's space is pending free from this entry on, on every host. */
	assert_int_equal(famfs_fs_pending_bytes(m), 4 * MIB);
	assert_int_equal(famfs_fs_pending(m, pi, 4), 1);
	assert_int_equal(pi[0].off, foff);
	assert_int_equal(pi[0].len, 4 * MIB);
	assert_int_equal(pi[0].freed_at, idx);
	client_lacks(state, "d/f", fino);
	c = xopen(state, 1);
	assert_int_equal(famfs_fs_pending_bytes(c), 4 * MIB);
	assert_int_equal(famfs_fs_pending(c, pi, 4), 1);
	assert_int_equal(pi[0].freed_at, idx);
	xclose(state, c);

	/* An empty directory. */
	assert_int_equal(famfs_fs_remove(m, root, "d"), 0);
	e = last_entry(m, &idx);
	assert_xe_hdr(e, FAMFS_XE_REMOVE, dino);
	assert_int_equal(rd64(e, 48), FAMFS_ROOT_INO);
	assert_name_field(e, 56, "d");
	client_lacks(state, "d", dino);
	xclose(state, m);
}

/* Check the last entry is an XE_RENAME of @ino with these fields. */
static void assert_rename_entry(struct famfs_fs *m, uint64_t ino, uint64_t oldp, uint64_t newp,
				uint64_t replaced, const char *oldname, const char *newname)
{
	const uint8_t *e = last_entry(m, NULL);

	assert_xe_hdr(e, FAMFS_XE_RENAME, ino);
	assert_int_equal(rd64(e, 48), oldp);
	assert_int_equal(rd64(e, 56), newp);
	assert_int_equal(rd64(e, 64), replaced);
	assert_name_field(e, 72, oldname);
	assert_name_field(e, 152, newname);
	assert_zero_bytes(e, 232, 536);
}

static void ext_rename_within_and_across_dirs(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *old = xopen(state, 1);
	struct famfs_inode *d, *e2, *a;
	uint64_t aino;

	assert_int_equal(famfs_fs_mkdir(m, "d", 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_fs_mkdir(m, "e", 0755, 0, 0, &e2), 0);
	assert_int_equal(famfs_fs_create(m, "d/a", 2 * MIB, 0644, 0, 0, NULL, &a), 0);
	aino = a->ino;
	assert_int_equal(famfs_fs_refresh(old), 3);

	/* Within a directory. */
	assert_int_equal(famfs_fs_rename(m, d, "a", d, "b"), 0);
	assert_rename_entry(m, aino, d->ino, d->ino, 0, "a", "b");
	assert_int_equal(ino_of(m, "d/b"), aino);
	client_sees(state, m, "d/b");
	client_lacks(state, "d/a", 0);

	/* Across directories. */
	assert_int_equal(famfs_fs_rename(m, d, "b", e2, "c"), 0);
	assert_rename_entry(m, aino, d->ino, e2->ino, 0, "b", "c");
	assert_int_equal(ino_of(m, "e/c"), aino);
	assert_int_equal(d->nchildren, 0);
	client_sees(state, m, "e/c");
	client_lacks(state, "d/b", 0);

	/* A host that replays both renames incrementally gets there too. */
	assert_int_equal(famfs_fs_refresh(old), 2);
	assert_same_view(m, old, "incremental replay of two renames");
	/* The same object: nothing to log. */
	{
		uint64_t n = next_index(m);

		assert_int_equal(famfs_fs_rename(m, e2, "c", e2, "c"), 0);
		assert_int_equal(next_index(m), n);
	}
	xclose(state, old);
	xclose(state, m);
}

static void ext_rename_replaces_file_atomically(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *old = xopen(state, 1);
	struct famfs_inode *d, *src, *tgt;
	struct famfs_pending_info pi[4];
	uint64_t sino, tino, toff, n, idx;

	assert_int_equal(famfs_fs_mkdir(m, "d", 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_fs_create(m, "d/new", 2 * MIB, 0600, 1, 1, NULL, &src), 0);
	assert_int_equal(famfs_fs_create(m, "d/cur", 6 * MIB, 0644, 2, 2, NULL, &tgt), 0);
	sino = src->ino;
	tino = tgt->ino;
	toff = tgt->fmap.se[0].ext_offset;
	assert_int_equal(famfs_fs_refresh(old), 3);
	n = next_index(m);

	assert_int_equal(famfs_fs_rename(m, d, "new", d, "cur"), 0);
	assert_int_equal(next_index(m), n + 1); /* one entry: no moment without "cur" */
	last_entry(m, &idx);
	assert_rename_entry(m, sino, d->ino, d->ino, tino, "new", "cur");
	assert_int_equal(ino_of(m, "d/cur"), sino);
	assert_null(famfs_ns_get(famfs_fs_ns(m), tino));
	assert_int_equal(d->nchildren, 1);
	/* The replaced file's space is pending from the rename on. */
	assert_int_equal(famfs_fs_pending_bytes(m), 6 * MIB);
	assert_int_equal(famfs_fs_pending(m, pi, 4), 1);
	assert_int_equal(pi[0].off, toff);
	assert_int_equal(pi[0].freed_at, idx);
	client_sees(state, m, "d/cur");
	client_lacks(state, "d/new", tino);
	/* Incrementally: the one entry does both. */
	assert_int_equal(famfs_fs_refresh(old), 1);
	assert_same_view(m, old, "incremental replay of a replacing rename");
	xclose(state, old);
	xclose(state, m);
}

static void ext_rename_dir_over_empty_dir(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *root = famfs_fs_ns(m)->root, *p, *q;
	uint64_t pino, qino;

	assert_int_equal(famfs_fs_mkdir(m, "p", 0755, 0, 0, &p), 0);
	assert_int_equal(famfs_fs_create(m, "p/f", 2 * MIB, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_mkdir(m, "q", 0700, 0, 0, &q), 0);
	pino = p->ino;
	qino = q->ino;
	assert_int_equal(famfs_fs_rename(m, root, "p", root, "q"), 0);
	assert_rename_entry(m, pino, FAMFS_ROOT_INO, FAMFS_ROOT_INO, qino, "p", "q");
	assert_int_equal(ino_of(m, "q"), pino);
	assert_int_equal(must_resolve(m, "q")->mode, S_IFDIR | 0755);
	assert_int_equal(famfs_fs_resolve(m, "p", &p), -ENOENT);
	assert_null(famfs_ns_get(famfs_fs_ns(m), qino));
	assert_int_equal(famfs_fs_pending_bytes(m), 0); /* a directory holds no space */
	client_sees(state, m, "q");
	client_sees(state, m, "q/f");
	client_lacks(state, "p", qino);
	xclose(state, m);
}

static void ext_rename_refusals_write_nothing(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *root = famfs_fs_ns(m)->root, *a, *s, *x;
	char longname[FAMFS_NAME_MAX + 8];
	uint64_t n;

	assert_int_equal(famfs_fs_mkdir(m, "a", 0755, 0, 0, &a), 0);
	assert_int_equal(famfs_fs_mkdir(m, "a/s", 0755, 0, 0, &s), 0);
	assert_int_equal(famfs_fs_create(m, "a/f", 1, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_mkdir(m, "b", 0755, 0, 0, NULL), 0);
	assert_int_equal(famfs_fs_mkdir(m, "c", 0755, 0, 0, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "c/g", 0, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "x", 2 * MIB, 0644, 0, 0, NULL, &x), 0);
	n = next_index(m);

	/* A directory over a non-empty directory. */
	assert_int_equal(famfs_fs_rename(m, root, "b", root, "c"), -ENOTEMPTY);
	/* A file over a directory, a directory over a file. */
	assert_int_equal(famfs_fs_rename(m, root, "x", root, "b"), -EISDIR);
	assert_int_equal(famfs_fs_rename(m, root, "b", root, "x"), -ENOTDIR);
	/* A directory into itself, or below itself. */
	assert_int_equal(famfs_fs_rename(m, root, "a", a, "inner"), -EINVAL);
	assert_int_equal(famfs_fs_rename(m, root, "a", s, "deeper"), -EINVAL);
	/* A new name longer than Linux's 255 bytes. */
	memset(longname, 'n', 256);
	longname[256] = '\0';
	assert_int_equal(famfs_fs_rename(m, a, "f", a, longname), -ENAMETOOLONG);
	/* A name that is not one component; a source that does not exist. */
	assert_int_equal(famfs_fs_rename(m, root, "x", root, "b/y"), -EINVAL);
	assert_int_equal(famfs_fs_rename(m, root, "nope", root, "y"), -ENOENT);
	assert_int_equal(next_index(m), n);
	assert_int_equal(ino_of(m, "x"), x->ino);

	/* The limit itself: a 79-byte path is fine, and another host sees it. */
	memset(longname, 'k', 79);
	longname[79] = '\0';
	assert_int_equal(famfs_fs_rename(m, root, "x", root, longname), 0);
	assert_int_equal(next_index(m), n + 1);
	client_sees(state, m, longname);
	xclose(state, m);
}

static void ext_resize_grow_shrink(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *old = xopen(state, 1);
	struct famfs_inode *z, *blk, *d;
	const uint8_t *e;
	uint64_t z0, zino;

	assert_int_equal(famfs_fs_create(m, "z", 0, 0644, 0, 0, NULL, &z), 0);
	zino = z->ino;
	/* Grow a 0-byte file: one extent. */
	assert_int_equal(famfs_fs_resize(m, z, 3 * MIB), 0);
	e = last_entry(m, NULL);
	assert_xe_hdr(e, FAMFS_XE_RESIZE, zino);
	assert_int_equal(rd64(e, 48), 3 * MIB); /* new size */
	assert_int_equal(rd64(e, 56), 0);	/* pad */
	assert_int_equal(rd32(e, 64), FAMFS_EXT_SIMPLE);
	assert_int_equal(rd32(e, 72), 1);
	assert_int_equal(rd64(e, 96), 4 * MIB);
	assert_raw_fmap(e, 64, &z->fmap);
	assert_int_equal(z->size, 3 * MIB);
	z0 = z->fmap.se[0].ext_offset;
	assert_int_equal(rd64(e, 88), z0);
	assert_int_equal(famfs_fs_pending_bytes(m), 0);
	client_sees(state, m, "z");

	/* Grow past one extent: the next unit is taken, so a second extent is added. */
	assert_int_equal(famfs_fs_create(m, "blk", 2 * MIB, 0644, 0, 0, NULL, &blk), 0);
	assert_int_equal(blk->fmap.se[0].ext_offset, z0 + 4 * MIB);
	assert_int_equal(famfs_fs_resize(m, z, 5 * MIB), 0);
	e = last_entry(m, NULL);
	assert_xe_hdr(e, FAMFS_XE_RESIZE, zino);
	assert_int_equal(rd64(e, 48), 5 * MIB);
	assert_int_equal(rd32(e, 72), 2);
	assert_int_equal(rd64(e, 88), z0);
	assert_int_equal(rd64(e, 96), 4 * MIB);
	assert_int_equal(rd64(e, 112), z0 + 6 * MIB);
	assert_int_equal(rd64(e, 120), 2 * MIB);
	assert_raw_fmap(e, 64, &z->fmap);
	assert_int_equal(famfs_fs_pending_bytes(m), 0);
	client_sees(state, m, "z");

	/* Shrink: whole units past the new end are given up (the second extent). */
	assert_int_equal(famfs_fs_resize(m, z, 3 * MIB), 0);
	e = last_entry(m, NULL);
	assert_int_equal(rd64(e, 48), 3 * MIB);
	assert_int_equal(rd32(e, 72), 1);
	assert_int_equal(rd64(e, 96), 4 * MIB);
	assert_zero_bytes(e, 104, 128);
	assert_int_equal(famfs_fs_pending_bytes(m), 2 * MIB);
	client_sees(state, m, "z");

	/* Shrink inside an extent: it is cut to whole units. */
	assert_int_equal(famfs_fs_resize(m, z, 1 * MIB), 0);
	e = last_entry(m, NULL);
	assert_int_equal(rd64(e, 48), 1 * MIB);
	assert_int_equal(rd32(e, 72), 1);
	assert_int_equal(rd64(e, 88), z0);
	assert_int_equal(rd64(e, 96), 2 * MIB);
	assert_int_equal(famfs_fs_pending_bytes(m), 4 * MIB);
	client_sees(state, m, "z");

	/* Shrink to 0: no extent left. */
	assert_int_equal(famfs_fs_resize(m, z, 0), 0);
	e = last_entry(m, NULL);
	assert_xe_hdr(e, FAMFS_XE_RESIZE, zino);
	assert_int_equal(rd64(e, 48), 0);
	assert_int_equal(rd32(e, 72), 0);
	assert_zero_bytes(e, 80, 480);
	assert_int_equal(z->size, 0);
	assert_int_equal(z->fmap.fmap_count, 0);
	assert_int_equal(famfs_fs_pending_bytes(m), 6 * MIB);
	client_sees(state, m, "z");
	assert_int_equal(ino_of(m, "z"), zino);

	/* Every step, incrementally. */
	assert_int_equal(famfs_fs_refresh(old), 7);
	assert_same_view(m, old, "incremental replay of resizes");
	assert_int_equal(famfs_fs_pending_bytes(old), 6 * MIB);

	/* A directory has no size. */
	assert_int_equal(famfs_fs_mkdir(m, "dir", 0755, 0, 0, &d), 0);
	assert_int_equal(famfs_fs_resize(m, d, MIB), -EISDIR);
	xclose(state, old);
	xclose(state, m);
}

/* Files under 2 MiB that clients grow are packed at 4 KiB, logged as version 2. */
static void ext_small_files_are_packed(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c;
	struct famfs_fsck_report r;
	struct famfs_inode *a, *b;
	const uint8_t *e;
	uint64_t aoff, n;
	char *before, *after;

	assert_int_equal(famfs_fs_create(m, "a", 0, 0644, 0, 0, NULL, &a), 0);
	assert_int_equal(famfs_fs_resize(m, a, 5000), 0);
	e = last_entry(m, NULL);
	assert_int_equal(rd32(e, 8), FAMFS_XE_RESIZE);
	assert_int_equal(rd16(e, 16), FAMFS_XE_VERSION_PACKED);
	a = must_resolve(m, "a");
	assert_int_equal(a->fmap.fmap_count, 1);
	assert_int_equal(a->fmap.se[0].ext_len, 8192);
	aoff = a->fmap.se[0].ext_offset;
	assert_int_equal(aoff % 4096, 0);

	/* The next small file shares the block, right after it. */
	assert_int_equal(famfs_fs_create(m, "b", 0, 0644, 0, 0, NULL, &b), 0);
	assert_int_equal(famfs_fs_resize(m, b, 100), 0);
	b = must_resolve(m, "b");
	assert_int_equal(b->fmap.se[0].ext_offset, aoff + 8192);
	assert_int_equal(b->fmap.se[0].ext_len, 4096);
	/* b grows in place (its next pages are free); a cannot, so it gets a second extent. */
	assert_int_equal(famfs_fs_resize(m, b, 9000), 0);
	b = must_resolve(m, "b");
	assert_int_equal(b->fmap.fmap_count, 1);
	assert_int_equal(b->fmap.se[0].ext_len, 12288);
	assert_int_equal(famfs_fs_resize(m, a, 20000), 0);
	a = must_resolve(m, "a");
	assert_int_equal(a->fmap.fmap_count, 2);
	assert_int_equal(famfs_fmap_capacity(&a->fmap), 20480);
	assert_int_equal(a->fmap.se[0].ext_offset, aoff);
	/* Past 2 MiB a packed file continues in aligned blocks. */
	assert_int_equal(famfs_fs_resize(m, b, 3 * MIB), 0);
	b = must_resolve(m, "b");
	assert_int_equal(b->fmap.fmap_count, 2);
	assert_int_equal(b->fmap.se[1].ext_offset % (2 * MIB), 0);
	assert_int_equal(b->fmap.se[1].ext_len % (2 * MIB), 0);
	/* The grown ranges read as zeros. */
	assert_int_equal(nonzero_bytes(m, "a"), 0);
	assert_int_equal(nonzero_bytes(m, "b"), 0);
	/* A shrink of a packed map keeps pages, not blocks. */
	assert_int_equal(famfs_fs_resize(m, a, 4097), 0);
	a = must_resolve(m, "a");
	assert_int_equal(famfs_fmap_capacity(&a->fmap), 8192);

	/* Another host replays the same maps; nothing collides; fsck is clean. */
	c = xopen(state, 1);
	assert_same_view(m, c, "a client replaying packed files");
	assert_int_equal(famfs_fs_stats(c)->collisions, 0);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);
	xclose(state, c);

	/* Compaction keeps them packed and in extension form: no FILE entry appears. */
	pad_log(m, 64);
	before = dump(m, 0);
	assert_int_equal(famfs_fs_compact(m), 0);
	after = dump(m, 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
	n = next_index(m);
	for (uint64_t i = 0; i < n; i++)
		assert_int_not_equal(rd32(entry_at(m, i), 8), FAMFS_LOG_FILE);
	c = xopen(state, 1);
	assert_same_view(m, c, "a client after compaction");
	xclose(state, c);
	xclose(state, m);
}

/* ---- deferred commit ---- */

/* A growth and attributes kept in memory are logged in one entry at the commit. */
static void ext_deferred_commit_logs_one_entry(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *m2 = xopen(state, 0); /* another process of the master host */
	struct famfs_fs *c = xopen(state, 1);
	struct famfs_fsck_report r;
	struct famfs_inode *f, *g;
	const uint8_t *e;
	uint64_t n0, ino;

	assert_int_equal(famfs_fs_create(m, "f", 0, 0644, 0, 0, NULL, &f), 0);
	ino = f->ino;
	n0 = next_index(m);
	assert_int_equal(famfs_fs_grow_deferred(m, ino, 0, 5000), 0);
	assert_int_equal(famfs_fs_grow_deferred(m, ino, 5000, 9000), 0);
	assert_int_equal(famfs_fs_setattr_deferred(m, ino, FAMFS_ATTR_MODE | FAMFS_ATTR_MTIME, 0600,
						   0, 0, 123456789, 0),
			 0);
	assert_int_equal(next_index(m), n0); /* nothing logged yet */
	assert_int_equal(famfs_fs_uncommitted(m), 1);
	f = must_resolve(m, "f");
	assert_int_equal(f->size, 9000);
	assert_int_equal(f->mode & 07777, 0600);
	write_pattern(m, "f", 0xf);

	/* Another process of the host allocates meanwhile: never the reserved pages. */
	assert_true(famfs_fs_refresh(m2) >= 0);
	assert_int_equal(famfs_fs_create(m2, "g", 0, 0644, 0, 0, NULL, &g), 0);
	assert_int_equal(famfs_fs_resize(m2, g, 20000), 0);
	g = must_resolve(m2, "g");
	for (uint32_t k = 0; k < f->fmap.fmap_count; k++)
		assert_false(
		    fmap_overlaps(&g->fmap, f->fmap.se[k].ext_offset, f->fmap.se[k].ext_len));
	/* ... and sees the file as the log has it. */
	assert_int_equal(must_resolve(m2, "f")->size, 0);

	/* The commit: one entry with the size, the map and the attributes. */
	assert_int_equal(famfs_fs_refresh(m), 2);
	n0 = next_index(m);
	assert_int_equal(famfs_fs_commit(m, ino), 0);
	assert_int_equal(next_index(m), n0 + 1);
	assert_int_equal(famfs_fs_uncommitted(m), 0);
	e = last_entry(m, NULL);
	assert_int_equal(rd32(e, 8), FAMFS_XE_RESIZE);
	assert_int_equal(rd16(e, 16), FAMFS_XE_VERSION_PACKED);
	assert_int_equal(rd64(e, 48), 9000);
	assert_int_equal(rd32(e, 480), FAMFS_XE_SET_MODE | FAMFS_XE_SET_MTIME);
	assert_int_equal(rd32(e, 484), 0600);
	assert_int_equal(rd64(e, 496), 123456789);
	assert_int_equal(famfs_fs_commit(m, ino), 0); /* nothing left: nothing logged */
	assert_int_equal(next_index(m), n0 + 1);

	/* Every other process now sees what was written. */
	assert_true(famfs_fs_refresh(c) >= 1);
	assert_true(famfs_fs_refresh(m2) >= 1);
	f = must_resolve(c, "f");
	assert_int_equal(f->size, 9000);
	assert_int_equal(f->mode & 07777, 0600);
	assert_int_equal(f->mtime_ns, 123456789);
	check_pattern(c, "f", 0xf);
	assert_same_view(m, c, "a client after the commit");
	assert_int_equal(famfs_fs_stats(c)->collisions, 0);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);
	xclose(state, c);
	xclose(state, m2);
	xclose(state, m);
}

/* A file written in 128 KiB pieces to 5 MB keeps a short map (writers grow in place). */
static void ext_deferred_sequential_growth_keeps_few_extents(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *f;
	uint64_t ino;

	assert_int_equal(famfs_fs_create(m, "seq", 0, 0644, 0, 0, NULL, &f), 0);
	ino = f->ino;
	for (uint64_t sz = 128 << 10; sz <= 5 * MIB; sz += 128 << 10) {
		assert_int_equal(famfs_fs_grow_deferred(m, ino, sz - (128 << 10), sz), 0);
		f = famfs_fs_get(m, ino);
		assert_true(famfs_fmap_capacity(&f->fmap) >= sz);
	}
	assert_true(f->fmap.fmap_count <= 3);
	assert_int_equal(famfs_fs_commit(m, ino), 0);
	f = must_resolve(m, "seq");
	assert_int_equal(f->size, 5 * MIB);
	assert_true(f->fmap.fmap_count <= 3);
	assert_true(famfs_fmap_capacity(&f->fmap) < 5 * MIB + 2 * MIB); /* trimmed */
	xclose(state, m);
}

/* A file clients made is published in upstream form at its first commit, when it can be. */
static void ext_deferred_first_commit_publishes_upstream_form(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c;
	struct famfs_fsck_report r;
	struct famfs_inode *f, *s;
	const uint8_t *e;
	uint64_t ino, n0, sino;

	assert_int_equal(famfs_fs_create(m, "pub", 0, 0644, 0, 0, NULL, &f), 0);
	ino = f->ino;
	assert_int_equal(famfs_fs_grow_deferred(m, ino, 0, 3 * MIB), 0);
	write_pattern(m, "pub", 0x9);
	assert_int_equal(famfs_fs_setattr_deferred(m, ino, FAMFS_ATTR_MODE | FAMFS_ATTR_MTIME, 0600,
						   0, 0, 987654321, 0),
			 0);
	n0 = next_index(m);
	assert_int_equal(famfs_fs_commit(m, ino), 0);
	assert_int_equal(next_index(m), n0 + 2); /* FILE, then the times */
	e = entry_at(m, n0);
	assert_int_equal(rd32(e, 8), FAMFS_LOG_FILE);
	assert_int_equal(rd64(e, 16), 3 * MIB);
	assert_int_equal(rd32(e, 36), 0600);
	assert_name_field(e, 40, "pub");
	e = entry_at(m, n0 + 1);
	assert_int_equal(rd32(e, 8), FAMFS_XE_SETATTR);
	f = must_resolve(m, "pub");
	assert_int_equal(f->ino, ino); /* the same inode */
	assert_true(f->upstream);
	assert_int_equal(f->size, 3 * MIB);
	assert_int_equal(f->mtime_ns, 987654321);
	/* A file written from nothing in 128 KiB pieces moves out of its packed pages when
	 * it passes 2 MiB, and is published too. */
	assert_int_equal(famfs_fs_create(m, "grown", 0, 0644, 0, 0, NULL, &s), 0);
	sino = s->ino;
	for (uint64_t sz = 128 << 10; sz <= 3 * MIB; sz += 128 << 10)
		assert_int_equal(famfs_fs_grow_deferred(m, sino, sz - (128 << 10), sz), 0);
	write_pattern(m, "grown", 0x5);
	s = must_resolve(m, "grown");
	assert_int_equal(s->fmap.fmap_count, 1);
	assert_int_equal(s->fmap.se[0].ext_offset % (2 * MIB), 0);
	n0 = next_index(m);
	assert_int_equal(famfs_fs_commit(m, sino), 0);
	assert_int_equal(rd32(entry_at(m, n0), 8), FAMFS_LOG_FILE);
	assert_true(must_resolve(m, "grown")->upstream);
	/* A small (packed) file stays in extension form. */
	assert_int_equal(famfs_fs_create(m, "small", 0, 0644, 0, 0, NULL, &s), 0);
	sino = s->ino;
	assert_int_equal(famfs_fs_grow_deferred(m, sino, 0, 5000), 0);
	n0 = next_index(m);
	assert_int_equal(famfs_fs_commit(m, sino), 0);
	assert_int_equal(rd32(entry_at(m, n0), 8), FAMFS_XE_RESIZE);
	assert_false(must_resolve(m, "small")->upstream);
	/* A second commit of the published file is an extension entry. */
	assert_int_equal(famfs_fs_grow_deferred(m, ino, 3 * MIB, 5 * MIB), 0);
	write_pattern(m, "pub", 0x9);
	n0 = next_index(m);
	assert_int_equal(famfs_fs_commit(m, ino), 0);
	assert_int_equal(rd32(entry_at(m, n0), 8), FAMFS_XE_RESIZE);

	c = xopen(state, 1);
	assert_same_view(m, c, "a client after a publication");
	check_pattern(c, "pub", 0x9);
	check_pattern(c, "grown", 0x5);
	assert_int_equal(famfs_fs_stats(c)->collisions, 0);
	xclose(state, c);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);
	xclose(state, m);
}

/* Another process changes or removes a file with pending changes. */
static void ext_deferred_meets_other_processes(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *m2 = xopen(state, 0);
	struct famfs_fsck_report r;
	struct famfs_inode *f, *h;
	uint64_t fino, hino;

	assert_int_equal(famfs_fs_create(m, "f", 0, 0644, 0, 0, NULL, &f), 0);
	assert_int_equal(famfs_fs_create(m, "h", 0, 0644, 0, 0, NULL, &h), 0);
	fino = f->ino;
	hino = h->ino;
	assert_int_equal(famfs_fs_grow_deferred(m, fino, 0, 3000), 0);
	assert_int_equal(famfs_fs_grow_deferred(m, hino, 0, 7000), 0);
	assert_int_equal(famfs_fs_uncommitted(m), 2);

	/* m2 changes f's mode and removes h. */
	assert_true(famfs_fs_refresh(m2) >= 0);
	assert_int_equal(
	    famfs_fs_setattr(m2, must_resolve(m2, "f"), FAMFS_ATTR_MODE, 0640, 0, 0, 0, 0), 0);
	assert_int_equal(famfs_fs_remove(m2, famfs_fs_ns(m2)->root, "h"), 0);
	assert_int_equal(famfs_fs_refresh(m), 2);
	/* f keeps its pending size and takes the logged mode; h's pending change is gone. */
	f = must_resolve(m, "f");
	assert_int_equal(f->size, 3000);
	assert_int_equal(f->mode & 07777, 0640);
	assert_int_equal(famfs_fs_uncommitted(m), 1);

	/* A compaction by m2 (m is caught up): m's pending change survives the new log. */
	pad_log(m2, 64);
	assert_true(famfs_fs_refresh(m) > 0);
	assert_int_equal(famfs_fs_compact(m2), 0);
	assert_true(famfs_fs_refresh(m) > 0);
	f = must_resolve(m, "f");
	assert_int_equal(f->ino, fino);
	assert_int_equal(f->size, 3000);
	assert_int_equal(famfs_fs_commit(m, fino), 0);
	assert_true(famfs_fs_refresh(m2) >= 1);
	assert_int_equal(must_resolve(m2, "f")->size, 3000);
	assert_int_equal(must_resolve(m2, "f")->mode & 07777, 0640);
	assert_same_view(m, m2, "two master processes after the commit");
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);

	/* A truncate by this process logs the pending growth first: one consistent map. */
	assert_int_equal(famfs_fs_grow_deferred(m, fino, 3000, 12000), 0);
	assert_int_equal(famfs_fs_resize(m, must_resolve(m, "f"), 100), 0);
	assert_int_equal(famfs_fs_uncommitted(m), 0);
	assert_int_equal(must_resolve(m, "f")->size, 100);
	/* Closing commits what is pending. */
	assert_int_equal(famfs_fs_grow_deferred(m, fino, 100, 6000), 0);
	xclose(state, m);
	assert_true(famfs_fs_refresh(m2) >= 1);
	assert_int_equal(must_resolve(m2, "f")->size, 6000);
	xclose(state, m2);
}

/* Names up to 255 bytes and paths up to 4095, in extension entries (version 3). */
static void ext_long_names_and_paths(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c;
	struct famfs_fsck_report r;
	struct famfs_inode *root = famfs_fs_ns(m)->root, *d, *f;
	char name[FAMFS_NAME_MAX + 1], deep[FAMFS_PATH_MAX + 1], file[FAMFS_PATH_MAX + 300];
	char target[FAMFS_XE_TARGET3_MAX + 2];
	char *before, *after;
	size_t len = 0;
	uint64_t n;

	memset(name, 'L', FAMFS_NAME_MAX);
	name[FAMFS_NAME_MAX] = '\0';
	/* A directory with a 255-byte name: version 3, extension form. */
	assert_int_equal(famfs_fs_mkdir(m, name, 0755, 0, 0, &d), 0);
	assert_int_equal(rd32(last_entry(m, NULL), 8), FAMFS_XE_CREATE);
	assert_int_equal(rd16(last_entry(m, NULL), 16), FAMFS_XE_VERSION_LONG);
	/* A path of 1,000+ bytes below it, and a file at its end. */
	len = (size_t)snprintf(deep, sizeof(deep), "%s", name);
	for (int k = 0; k < 3; k++)
		len += (size_t)snprintf(deep + len, sizeof(deep) - len, "/%s", name);
	assert_true(len > 1000);
	assert_int_equal(famfs_fs_mkdir_p(m, deep, 0755, 0, 0, NULL), 0);
	snprintf(file, sizeof(file), "%s/short", deep);
	assert_int_equal(famfs_fs_create(m, file, 5000, 0644, 0, 0, NULL, &f), 0);
	write_pattern(m, file, 0x7);
	/* A short name under a short path stays upstream's. */
	assert_int_equal(famfs_fs_mkdir(m, "s", 0755, 0, 0, NULL), 0);
	assert_int_equal(rd32(last_entry(m, NULL), 8), FAMFS_LOG_MKDIR);
	/* Symbolic links: a long name leaves room for a 199-byte target. */
	memset(target, 't', sizeof(target) - 1);
	target[FAMFS_XE_TARGET3_MAX] = '\0';
	snprintf(file, sizeof(file), "s/%s", name);
	assert_int_equal(famfs_fs_mknod(m, file, S_IFLNK | 0777, 0, 0, 0, target, NULL), 0);
	target[FAMFS_XE_TARGET3_MAX] = 't';
	target[FAMFS_XE_TARGET3_MAX + 1] = '\0';
	n = next_index(m);
	name[FAMFS_NAME_MAX - 1] = 'M';
	snprintf(file, sizeof(file), "s/%s", name);
	assert_int_equal(famfs_fs_mknod(m, file, S_IFLNK | 0777, 0, 0, 0, target, NULL),
			 -ENAMETOOLONG);
	assert_int_equal(next_index(m), n); /* nothing logged */
	/* Rename to and from long names; remove a long name. */
	name[FAMFS_NAME_MAX - 1] = 'R';
	assert_int_equal(famfs_fs_rename(m, must_resolve(m, "s"), "L" /* no such */, root, name),
			 -ENOENT);
	assert_int_equal(famfs_fs_create(m, "s/x", 100, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_rename(m, must_resolve(m, "s"), "x", root, name), 0);
	assert_int_equal(rd16(last_entry(m, NULL), 16), FAMFS_XE_VERSION_LONG);
	assert_int_equal(famfs_fs_rename(m, root, name, root, "back"), 0);
	assert_int_equal(famfs_fs_rename(m, root, "back", root, name), 0);
	assert_int_equal(famfs_fs_remove(m, root, name), 0);
	assert_int_equal(rd16(last_entry(m, NULL), 16), FAMFS_XE_VERSION_LONG);

	/* Another host replays all of it; fsck is clean; a compaction keeps it. */
	c = xopen(state, 1);
	assert_same_view(m, c, "a client replaying long names");
	snprintf(file, sizeof(file), "%s/short", deep);
	check_pattern(c, file, 0x7);
	xclose(state, c);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.nerrors, 0);
	famfs_fsck_report_free(&r);
	pad_log(m, 64);
	before = dump(m, 0);
	assert_int_equal(famfs_fs_compact(m), 0);
	after = dump(m, 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
	c = xopen(state, 1);
	assert_same_view(m, c, "a client after compacting long names");
	check_pattern(c, file, 0x7);
	xclose(state, c);
	xclose(state, m);
}

/* A grown file reads as zeros between its old and its new end (POSIX truncate). */
static void ext_resize_regrown_tail_reads_zeros(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *z;
	uint8_t *buf = malloc(4 * MIB);

	assert_non_null(buf);
	assert_int_equal(famfs_fs_create(m, "z", 4 * MIB, 0644, 0, 0, NULL, &z), 0);
	memset(buf, 0xa5, 4 * MIB);
	assert_int_equal(famfs_file_write(m, z, 0, buf, 4 * MIB), (ssize_t)(4 * MIB));
	assert_int_equal(famfs_fs_resize(m, z, MIB), 0);
	assert_int_equal(famfs_fs_resize(m, z, 4 * MIB), 0);
	z = must_resolve(m, "z");
	assert_int_equal(famfs_file_read(m, z, 0, buf, 4 * MIB, 0), (ssize_t)(4 * MIB));
	for (uint64_t k = 0; k < 4 * MIB; k++) {
		if (buf[k] != (k < MIB ? 0xa5 : 0))
			fail_msg("byte %llu of the regrown file is 0x%02x", (unsigned long long)k,
				 buf[k]);
	}
	free(buf);
	xclose(state, m);
}

/* famfs_fs_pending() lists exactly the pending space famfs_fs_pending_bytes() counts. */
static void ext_resize_pending_list_matches_pending_bytes(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_pending_info pi[16];
	struct famfs_inode *z;
	size_t n;
	uint64_t sum = 0;

	assert_int_equal(famfs_fs_create(m, "z", 4 * MIB, 0644, 0, 0, NULL, &z), 0);
	/* Growth that extends the last extent in place: nothing is freed. */
	assert_int_equal(famfs_fs_resize(m, z, 6 * MIB), 0);
	assert_int_equal(z->fmap.fmap_count, 1);
	assert_int_equal(famfs_fs_pending_bytes(m), 0);
	n = famfs_fs_pending(m, pi, 16);
	if (n)
		fail_msg("after a growth that freed nothing, famfs_fs_pending lists %zu extent(s), "
			 "the first [0x%llx, +0x%llx) freed at %llu, though that space belongs to "
			 "the live file 'z'",
			 n, (unsigned long long)pi[0].off, (unsigned long long)pi[0].len,
			 (unsigned long long)pi[0].freed_at);
	/* A shrink inside the extent frees only the units past the end. */
	assert_int_equal(famfs_fs_resize(m, z, 2 * MIB), 0);
	n = famfs_fs_pending(m, pi, 16);
	for (size_t k = 0; k < n && k < 16; k++) {
		sum += pi[k].len;
		assert_false(fmap_overlaps(&z->fmap, pi[k].off, pi[k].len));
	}
	assert_int_equal(famfs_fs_pending_bytes(m), 4 * MIB);
	assert_int_equal(sum, 4 * MIB);
	xclose(state, m);
}

static void ext_setattr_logs_xe_setattr(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *f, *d;
	const uint8_t *e;
	uint64_t mt = 1700000000123456789ULL;

	assert_int_equal(famfs_fs_mkdir(m, "d", 0755, 1, 1, &d), 0);
	assert_int_equal(famfs_fs_create(m, "d/s", MIB, 0644, 1, 2, NULL, &f), 0);
	/* mode, uid, gid and mtime at once */
	assert_int_equal(
	    famfs_fs_setattr(m, f,
			     FAMFS_ATTR_MODE | FAMFS_ATTR_UID | FAMFS_ATTR_GID | FAMFS_ATTR_MTIME,
			     S_IFREG | 0600, 10, 20, mt, 99),
	    0);
	e = last_entry(m, NULL);
	assert_xe_hdr(e, FAMFS_XE_SETATTR, f->ino);
	assert_int_equal(rd32(e, 48), 0x0f); /* valid */
	assert_int_equal(rd32(e, 52), 0600); /* mode: permission bits */
	assert_int_equal(rd32(e, 56), 10);   /* uid */
	assert_int_equal(rd32(e, 60), 20);   /* gid */
	assert_int_equal(rd64(e, 64), mt);   /* mtime */
	assert_zero_bytes(e, 80, 536);
	assert_int_equal(f->mode, S_IFREG | 0600);
	assert_int_equal(f->uid, 10);
	assert_int_equal(f->gid, 20);
	assert_int_equal(f->mtime_ns, mt);
	assert_int_equal(f->atime_ns, 0);
	client_sees(state, m, "d/s");

	/* One attribute at a time; the others stay. */
	assert_int_equal(famfs_fs_setattr(m, f, FAMFS_ATTR_MODE, 04751, 0, 0, 0, 0), 0);
	assert_int_equal(rd32(last_entry(m, NULL), 48), FAMFS_XE_SET_MODE);
	assert_int_equal(f->mode, S_IFREG | 04751);
	assert_int_equal(f->uid, 10);
	client_sees(state, m, "d/s");
	assert_int_equal(famfs_fs_setattr(m, f, FAMFS_ATTR_UID, 0, 33, 0, 0, 0), 0);
	assert_int_equal(rd32(last_entry(m, NULL), 48), FAMFS_XE_SET_UID);
	assert_int_equal(f->uid, 33);
	assert_int_equal(f->gid, 20);
	client_sees(state, m, "d/s");
	assert_int_equal(famfs_fs_setattr(m, f, FAMFS_ATTR_GID, 0, 0, 44, 0, 0), 0);
	assert_int_equal(f->gid, 44);
	assert_int_equal(f->uid, 33);
	client_sees(state, m, "d/s");
	assert_int_equal(famfs_fs_setattr(m, f, FAMFS_ATTR_MTIME, 0, 0, 0, mt + 1, 0), 0);
	assert_int_equal(rd64(last_entry(m, NULL), 64), mt + 1);
	assert_int_equal(f->mtime_ns, mt + 1);
	assert_int_equal(f->mode, S_IFREG | 04751);
	client_sees(state, m, "d/s");
	/* A directory keeps S_IFDIR. */
	assert_int_equal(famfs_fs_setattr(m, d, FAMFS_ATTR_MODE, 0700, 0, 0, 0, 0), 0);
	assert_int_equal(d->mode, S_IFDIR | 0700);
	client_sees(state, m, "d");
	xclose(state, m);
}

/* ------------------------------------------------------------------ 2. replay cursors */

enum op_kind { MKDIR, CREATE, REMOVE, RENAME, RESIZE, SETATTR };

struct op {
	enum op_kind k;
	const char *a, *b;
	uint64_t n;
};

/* A mix of every kind of change, with replaced targets and renamed directories. */
static const struct op script[] = {
    {MKDIR, "a", NULL, 0755},
    {MKDIR, "b", NULL, 0750},
    {MKDIR, "a/x", NULL, 0700},
    {CREATE, "a/f1", NULL, 3 * MIB},
    {CREATE, "a/f2", NULL, 0},
    {CREATE, "b/g1", NULL, MIB},
    {CREATE, "top", NULL, 5 * MIB},
    {SETATTR, "a/f1", NULL, 0600},
    {RESIZE, "a/f2", NULL, 3 * MIB},
    {CREATE, "a/x/h", NULL, 2 * MIB},
    {RENAME, "a/f1", "b/f1", 0},
    {RENAME, "b/g1", "b/g2", 0},
    {CREATE, "b/g1", NULL, 1},
    {RENAME, "b/g2", "b/g1", 0},
    {RESIZE, "a/f2", NULL, MIB},
    {RESIZE, "top", NULL, 9 * MIB},
    {MKDIR, "c", NULL, 0755},
    {RENAME, "a/x", "c/x", 0},
    {CREATE, "c/x/new", NULL, 2 * MIB},
    {MKDIR, "c/x/sub", NULL, 0755},
    {CREATE, "c/x/sub/deep", NULL, 0},
    {REMOVE, "c/x/h", NULL, 0},
    {MKDIR, "e", NULL, 0755},
    {RENAME, "c/x/sub", "e", 0},
    {SETATTR, "e", NULL, 0711},
    {CREATE, "e/more", NULL, 4 * MIB},
    {REMOVE, "a/f2", NULL, 0},
    {REMOVE, "b/f1", NULL, 0},
    {RESIZE, "top", NULL, 0},
    {RESIZE, "top", NULL, 6 * MIB},
    {RENAME, "top", "a/top", 0},
    {REMOVE, "b/g1", NULL, 0},
    {REMOVE, "b", NULL, 0},
    {MKDIR, "b", NULL, 0755},
    {CREATE, "b/n1", NULL, MIB},
    {CREATE, "b/n2", NULL, 2 * MIB},
    {RENAME, "b/n1", "b/n2", 0},
    {RENAME, "b", "a/bb", 0},
    {CREATE, "a/bb/n3", NULL, 0},
    {SETATTR, "a/bb/n3", NULL, 0640},
    {RESIZE, "a/bb/n3", NULL, 8 * MIB},
    {RESIZE, "a/bb/n3", NULL, 3 * MIB},
    {REMOVE, "a/bb/n2", NULL, 0},
    {REMOVE, "e/deep", NULL, 0},
    {RENAME, "e/more", "c/x/more", 0},
    {REMOVE, "e", NULL, 0},
    {MKDIR, "e", NULL, 0755},
    {CREATE, "e/z", NULL, 2 * MIB},
    {RENAME, "a/top", "e/z", 0},
    {SETATTR, "c", NULL, 0711},
    {SETATTR, "", NULL, 0755},
    {RENAME, "c/x", "c/y", 0},
    {CREATE, "c/y/q", NULL, MIB},
    {RESIZE, "c/y/q", NULL, 20 * MIB},
    {REMOVE, "c/y/new", NULL, 0},
    {RENAME, "c/y/more", "e/more", 0},
    {CREATE, "f0", NULL, 0},
    {CREATE, "f1", NULL, 0},
    {CREATE, "f2", NULL, 0},
    {RENAME, "f0", "f1", 0},
    {REMOVE, "f2", NULL, 0},
    {MKDIR, "d1", NULL, 0755},
    {MKDIR, "d1/d2", NULL, 0755},
    {RENAME, "d1/d2", "d3", 0},
    {REMOVE, "d1", NULL, 0},
    {RENAME, "d3", "d1", 0},
    {SETATTR, "d1", NULL, 0701},
};
#define NSCRIPT (sizeof(script) / sizeof(script[0]))

/* The directory of @path and its last component. */
static struct famfs_inode *split(struct famfs_fs *fs, const char *path, const char **name)
{
	char parent[FAMFS_MAX_PATHLEN];
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*name = path;
		return famfs_fs_ns(fs)->root;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	*name = slash + 1;
	return must_resolve(fs, parent);
}

static void run_op(struct famfs_fs *m, const struct op *o, size_t step)
{
	const char *n1, *n2;
	struct famfs_inode *d1, *d2;
	int rc = -1;

	switch (o->k) {
	case MKDIR:
		rc = famfs_fs_mkdir(m, o->a, (mode_t)o->n, (uid_t)step, (gid_t)(step + 1), NULL);
		break;
	case CREATE:
		rc = famfs_fs_create(m, o->a, o->n, 0644, (uid_t)step, (gid_t)(step + 2), NULL,
				     NULL);
		break;
	case REMOVE:
		d1 = split(m, o->a, &n1);
		rc = famfs_fs_remove(m, d1, n1);
		break;
	case RENAME:
		d1 = split(m, o->a, &n1);
		d2 = split(m, o->b, &n2);
		rc = famfs_fs_rename(m, d1, n1, d2, n2);
		break;
	case RESIZE:
		rc = famfs_fs_resize(m, must_resolve(m, o->a), o->n);
		break;
	case SETATTR:
		rc = famfs_fs_setattr(m, must_resolve(m, o->a),
				      FAMFS_ATTR_MODE | FAMFS_ATTR_UID | FAMFS_ATTR_GID |
					  FAMFS_ATTR_MTIME | FAMFS_ATTR_ATIME,
				      (mode_t)o->n, (uid_t)(100 + step), (gid_t)(200 + step),
				      1000000000ULL * step, 7ULL * step);
		break;
	}
	if (rc)
		fail_msg("script step %zu (%d '%s' '%s'): %d", step, o->k, o->a, o->b ? o->b : "",
			 rc);
}

static void run_script(struct famfs_fs *m)
{
	for (size_t s = 0; s < NSCRIPT; s++)
		run_op(m, &script[s], s);
}

static void ext_replay_from_every_cursor_gives_same_namespace(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *kept[NSCRIPT + 1];
	struct famfs_log_header *lh = raw_log(m);
	uint64_t n, cursors[NSCRIPT + 1];
	char what[64];

	/* A host that opens before each step replays the rest incrementally later. */
	for (size_t s = 0; s < NSCRIPT; s++) {
		kept[s] = xopen(state, 1);
		cursors[s] = famfs_fs_stats(kept[s])->entries;
		assert_int_equal(cursors[s], next_index(m));
		run_op(m, &script[s], s);
	}
	kept[NSCRIPT] = xopen(state, 1);
	cursors[NSCRIPT] = famfs_fs_stats(kept[NSCRIPT])->entries;
	n = next_index(m);
	assert_true(n >= NSCRIPT);
	assert_int_equal(famfs_fs_stats(m)->rejected, 0);
	assert_true(famfs_fs_pending_bytes(m) > 0);

	for (size_t s = 0; s <= NSCRIPT; s++) {
		int got = famfs_fs_refresh(kept[s]);

		assert_int_equal(got, (int)(n - cursors[s]));
		assert_int_equal(famfs_fs_stats(kept[s])->rejected, 0);
		snprintf(what, sizeof(what), "replay from cursor %llu (step %zu)",
			 (unsigned long long)cursors[s], s);
		assert_same_view(m, kept[s], what);
	}
	for (size_t s = 0; s <= NSCRIPT; s++)
		xclose(state, kept[s]);

	/*
	 * Every cursor, including those between the two entries of one step: a host that
	 * opened when the log held c entries (the header said so) and refreshes now.
	 */
	for (uint64_t c = 0; c <= n; c++) {
		struct famfs_fs *h;

		lh->lh_next_index = c;
		lh->lh_next_seqnum = c;
		h = xopen(state, 1);
		lh->lh_next_index = n;
		lh->lh_next_seqnum = n;
		assert_int_equal(famfs_fs_stats(h)->entries, c);
		assert_int_equal(famfs_fs_refresh(h), (int)(n - c));
		snprintf(what, sizeof(what), "replay from cursor %llu", (unsigned long long)c);
		assert_same_view(m, h, what);
		xclose(state, h);
	}

	/* And a host that opens after the end. */
	{
		struct famfs_fs *h = xopen(state, 1);

		assert_int_equal(famfs_fs_stats(h)->entries, n);
		assert_same_view(m, h, "a fresh open");
		xclose(state, h);
	}
	xclose(state, m);
}

/* ------------------------------------------------------------------ 3. space reuse */

static void ext_reuse_waits_for_lagging_host(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c;
	struct famfs_host_info hi[8];
	struct famfs_pending_info pi[4];
	struct famfs_fsck_report r;
	struct famfs_inode *a, *b, *dd;
	uint64_t aoff, alen, rm_idx;
	int nh, self = 0, other = 0;

	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	assert_true(famfs_fs_no_upstream(m));
	c = xopen(state, 1);
	nh = famfs_fs_hosts(m, hi, 8);
	assert_int_equal(nh, 2);
	for (int i = 0; i < nh; i++) {
		self += hi[i].self;
		other += !hi[i].self && !hi[i].dead;
	}
	assert_int_equal(self, 1);
	assert_int_equal(other, 1);

	assert_int_equal(famfs_fs_create(m, "A", 8 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	alen = a->fmap.se[0].ext_len;
	write_pattern(m, "A", 0xA);
	assert_int_equal(famfs_fs_refresh(c), 1);
	assert_int_equal(famfs_fs_resolve(c, "A", &a), 0);
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "A"), 0);
	rm_idx = next_index(m) - 1;
	assert_int_equal(famfs_fs_pending(m, pi, 4), 1);
	assert_int_equal(pi[0].freed_at, rm_idx);

	/* The client has not replayed the remove: A's space is not handed out. */
	assert_int_equal(famfs_fs_create(m, "B", 8 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_false(fmap_overlaps(&b->fmap, aoff, alen));
	assert_int_equal(famfs_fs_pending_bytes(m), 8 * MIB);
	nh = famfs_fs_hosts(m, hi, 8);
	for (int i = 0; i < nh; i++) {
		if (!hi[i].self)
			assert_true(hi[i].safe <= rm_idx);
	}

	/* The client catches up: now the space is reusable, first fit. */
	assert_true(famfs_fs_refresh(c) >= 2);
	nh = famfs_fs_hosts(m, hi, 8);
	for (int i = 0; i < nh; i++)
		assert_true(hi[i].safe > rm_idx);
	assert_int_equal(famfs_fs_create(m, "D", 8 * MIB, 0644, 0, 0, NULL, &dd), 0);
	assert_true(fmap_overlaps(&dd->fmap, aoff, alen));
	assert_int_equal(dd->fmap.se[0].ext_offset, aoff);
	assert_int_equal(famfs_fs_pending_bytes(m), 0);
	/* Reused space is scrubbed: D does not show A's bytes. */
	assert_int_equal(nonzero_bytes(m, "D"), 0);
	/* A legitimate reuse is no fsck error. */
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.pending, 0);
	famfs_fsck_report_free(&r);
	/* The client sees D where A was, with no collision. */
	assert_true(famfs_fs_refresh(c) >= 1);
	assert_int_equal(famfs_fs_stats(c)->collisions, 0);
	assert_same_ns(m, c, "client after reuse");
	xclose(state, c);
	xclose(state, m);
}

static void ext_reuse_never_without_no_upstream(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c = xopen(state, 1);
	struct famfs_fsck_report r;
	struct famfs_inode *a, *b;
	uint64_t aoff, alen;

	assert_false(famfs_fs_no_upstream(m));
	assert_int_equal(famfs_fs_create(m, "A", 8 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	alen = a->fmap.se[0].ext_len;
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "A"), 0);
	assert_int_equal(famfs_fs_refresh(c), 2);
	for (int i = 0; i < 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "B%d", i);
		assert_int_equal(famfs_fs_create(m, name, 8 * MIB, 0644, 0, 0, NULL, &b), 0);
		assert_false(fmap_overlaps(&b->fmap, aoff, alen));
		assert_true(famfs_fs_refresh(c) >= 1);
	}
	/* Not even with no other host at all, nor after a compaction. */
	xclose(state, c);
	assert_int_equal(famfs_fs_create(m, "C", 8 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_false(fmap_overlaps(&b->fmap, aoff, alen));
	pad_log(m, 64);
	assert_int_equal(famfs_fs_compact(m), 0);
	assert_int_equal(famfs_fs_generation(m), 1);
	assert_int_equal(famfs_fs_pending_bytes(m), 8 * MIB);
	assert_int_equal(famfs_fs_create(m, "D", 8 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_false(fmap_overlaps(&b->fmap, aoff, alen));
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.pending, 8 * MIB);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);
	xclose(state, m);
}

static void ext_reuse_waits_for_pinned_file(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c;
	struct famfs_inode *a, *ca, *b;
	uint64_t aoff, alen;

	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	c = xopen(state, 1);
	assert_int_equal(famfs_fs_create(m, "A", 8 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	alen = a->fmap.se[0].ext_len;
	assert_int_equal(famfs_fs_refresh(c), 1);
	ca = must_resolve(c, "A");
	famfs_fs_pin(c, ca); /* the client holds A open */
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "A"), 0);
	assert_int_equal(famfs_fs_refresh(c), 1); /* replayed past the remove */
	assert_int_equal(famfs_fs_resolve(c, "A", &b), -ENOENT);
	assert_int_equal(ca->pins, 1);
	/* Still readable by the client, still not reused by the master. */
	assert_int_equal(famfs_fs_create(m, "B", 8 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_false(fmap_overlaps(&b->fmap, aoff, alen));
	assert_true(famfs_fs_refresh(c) >= 1);
	assert_int_equal(famfs_fs_create(m, "B2", 8 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_false(fmap_overlaps(&b->fmap, aoff, alen));
	assert_int_equal(famfs_fs_pending_bytes(m), 8 * MIB);
	/* The client closes A: unpin publishes, and the space comes back. */
	assert_true(famfs_fs_refresh(c) >= 1);
	famfs_fs_unpin(c, ca);
	assert_int_equal(famfs_fs_create(m, "D", 8 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_int_equal(b->fmap.se[0].ext_offset, aoff);
	assert_int_equal(famfs_fs_pending_bytes(m), 0);

	/* The master's own pin holds space back just the same. */
	assert_int_equal(famfs_fs_create(m, "E", 4 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	alen = a->fmap.se[0].ext_len;
	famfs_fs_pin(m, a);
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "E"), 0);
	assert_true(famfs_fs_refresh(c) >= 2);
	assert_int_equal(famfs_fs_create(m, "F", 4 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_false(fmap_overlaps(&b->fmap, aoff, alen));
	assert_true(famfs_fs_refresh(c) >= 1);
	famfs_fs_unpin(m, a);
	assert_int_equal(famfs_fs_create(m, "G", 4 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_int_equal(b->fmap.se[0].ext_offset, aoff);
	xclose(state, c);
	xclose(state, m);
}

/* The master holds a removed file open across a compaction: its space stays held. */
static void ext_compaction_keeps_master_pin(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *a, *b;
	uint64_t aoff, alen;

	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	assert_int_equal(famfs_fs_create(m, "A", 4 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	alen = a->fmap.se[0].ext_len;
	famfs_fs_pin(m, a);
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "A"), 0);
	assert_int_equal(famfs_fs_create(m, "B", 4 * MIB, 0644, 0, 0, NULL, &b), 0);
	assert_false(fmap_overlaps(&b->fmap, aoff, alen));
	pad_log(m, 64);
	assert_int_equal(famfs_fs_compact(m), 0);
	assert_int_equal(famfs_fs_generation(m), 1);
	assert_int_equal(famfs_fs_pending_bytes(m), 4 * MIB);
	/* A is still pinned: its space must not go to D. */
	assert_int_equal(famfs_fs_create(m, "D", 4 * MIB, 0644, 0, 0, NULL, &b), 0);
	if (fmap_overlaps(&b->fmap, aoff, alen))
		fail_msg("after a compaction, the space of the removed file A (pinned by this "
			 "process) at 0x%llx went to D",
			 (unsigned long long)aoff);
	famfs_fs_unpin(m, a);
	xclose(state, m);
}

/* A client holds a file open across a compaction, then the master removes the file. */
static void ext_compaction_keeps_client_pin(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c;
	struct famfs_inode *a, *ca, *b;
	uint64_t aoff, alen;

	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	c = xopen(state, 1);
	assert_int_equal(famfs_fs_create(m, "A", 4 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	alen = a->fmap.se[0].ext_len;
	assert_int_equal(famfs_fs_refresh(c), 1);
	ca = must_resolve(c, "A");
	famfs_fs_pin(c, ca);
	pad_log(m, 64);
	assert_int_equal(famfs_fs_refresh(c), 64);
	assert_int_equal(famfs_fs_compact(m), 0); /* the client is caught up: allowed */
	assert_true(famfs_fs_refresh(c) > 0);	  /* new generation */
	assert_int_equal(famfs_fs_generation(c), 1);
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "A"), 0);
	assert_int_equal(famfs_fs_refresh(c), 1);
	/* The client still holds A open: its space must not go to D. */
	assert_int_equal(famfs_fs_create(m, "D", 4 * MIB, 0644, 0, 0, NULL, &b), 0);
	if (fmap_overlaps(&b->fmap, aoff, alen))
		fail_msg("the space of A, held open by a client since before a compaction, "
			 "went to D after A's removal");
	famfs_fs_unpin(c, ca);
	xclose(state, c);
	xclose(state, m);
}

/* ------------------------------------------------------------------ 4. a full log */

static const char *const keep_paths[] = {
    "keep", "keep/data", "keep/sub2", "keep/sub2/empty", "keep/sub2/late", "top",
};
#define NKEEP (sizeof(keep_paths) / sizeof(keep_paths[0]))

static void make_keepers(struct famfs_fs *m, uint64_t inos[NKEEP])
{
	struct famfs_inode *keep;

	assert_int_equal(famfs_fs_mkdir(m, "keep", 0750, 1, 2, &keep), 0);
	assert_int_equal(famfs_fs_mkdir(m, "keep/sub", 0755, 0, 0, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "keep/data", 3 * MIB + 100, 0640, 3, 4, NULL, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "keep/sub/empty", 0, 0600, 5, 6, NULL, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "top", 5 * MIB, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_setattr(m, must_resolve(m, "top"),
					  FAMFS_ATTR_MODE | FAMFS_ATTR_UID | FAMFS_ATTR_MTIME, 0600,
					  7, 0, 42, 0),
			 0);
	assert_int_equal(famfs_fs_rename(m, keep, "sub", keep, "sub2"), 0);
	assert_int_equal(famfs_fs_create(m, "keep/sub2/late", 2 * MIB, 0644, 0, 0, NULL, NULL), 0);
	write_pattern(m, "keep/data", 1);
	write_pattern(m, "top", 2);
	write_pattern(m, "keep/sub2/late", 3);
	for (size_t k = 0; k < NKEEP; k++)
		inos[k] = ino_of(m, keep_paths[k]);
}

static void check_keepers(struct famfs_fs *fs, const uint64_t inos[NKEEP])
{
	struct famfs_inode *top;

	for (size_t k = 0; k < NKEEP; k++) {
		if (ino_of(fs, keep_paths[k]) != inos[k])
			fail_msg("'%s': inode number %llu became %llu", keep_paths[k],
				 (unsigned long long)inos[k],
				 (unsigned long long)ino_of(fs, keep_paths[k]));
	}
	check_pattern(fs, "keep/data", 1);
	check_pattern(fs, "top", 2);
	check_pattern(fs, "keep/sub2/late", 3);
	top = must_resolve(fs, "top");
	assert_int_equal(top->mode, S_IFREG | 0600);
	assert_int_equal(top->uid, 7);
	assert_int_equal(top->mtime_ns, 42);
	assert_int_equal(must_resolve(fs, "keep")->mode, S_IFDIR | 0750);
	assert_int_equal(must_resolve(fs, "keep/sub2/empty")->size, 0);
	assert_int_equal(must_resolve(fs, "keep/data")->size, 3 * MIB + 100);
}

static void ext_log_fills_compacts_and_goes_on(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_log_header *lh = raw_log(m);
	struct famfs_fsck_report r;
	uint64_t inos[NKEEP], gen, ops = 0, setattrs = 0, start;
	uint64_t first_off = 0, same_off = 0, gen_prev = 0;
	struct famfs_fs *c;
	struct famfs_inode *top;
	char *before, *after;
	int rc, checked = 0;

	assert_int_equal(lh->lh_last_index + 1, LOG_SLOTS);
	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	make_keepers(m, inos);
	before = dump(m, 0);

	/* create/remove far past the log's capacity: compaction keeps the log going. */
	while (ops < 40000) {
		struct famfs_inode *f;
		uint64_t word = 0, g0 = famfs_fs_generation(m);

		rc = famfs_fs_create(m, "f", 2 * MIB, 0644, 0, 0, NULL, &f);
		if (rc)
			fail_msg("create %llu failed: %d", (unsigned long long)ops, rc);
		ops++;
		/* The space is reused (first fit) and scrubbed, whenever no compaction came
		 * in between (ext_compaction_* cover those). */
		if (!first_off)
			first_off = f->fmap.se[0].ext_offset;
		same_off += f->fmap.se[0].ext_offset == first_off;
		if (ops % 1001 == 0 && g0 == gen_prev && famfs_fs_generation(m) == g0) {
			assert_int_equal(famfs_file_read(m, f, 0, &word, 8, 0), 8);
			assert_int_equal(word, 0);
			word = ops;
			assert_int_equal(famfs_file_write(m, f, 0, &word, 8), 8);
		}
		gen_prev = famfs_fs_generation(m);
		rc = famfs_fs_remove(m, famfs_fs_ns(m)->root, "f");
		if (rc)
			fail_msg("remove %llu failed: %d", (unsigned long long)ops, rc);
		ops++;
		if (famfs_fs_generation(m) != gen_prev)
			gen_prev = UINT64_MAX; /* this remove compacted: skip the next check */
		if (!checked && famfs_fs_generation(m) == 1) {
			check_keepers(m, inos);
			checked = 1;
		}
	}
	gen = famfs_fs_generation(m);
	assert_true(gen >= 2);
	assert_true(same_off > 19000); /* freed space was reused, not leaked */
	assert_true(next_index(m) < LOG_SLOTS);
	check_keepers(m, inos);
	after = dump(m, 0);
	rc = strcmp(before, after); /* exactly the long-lived objects */
	if (rc)
		print_message("---- before\n%s---- after\n%s", before, after);
	free(before);
	free(after);
	assert_int_equal(rc, 0);
	assert_int_equal(famfs_fs_resolve(m, "f", &top), -ENOENT);

	/* A fresh host sees exactly that too. */
	c = xopen(state, 1);
	assert_int_equal(famfs_fs_generation(c), gen);
	assert_same_ns(m, c, "a fresh open after compactions");
	check_keepers(c, inos);
	xclose(state, c);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.generation, gen);
	assert_int_equal(r.bad_payloads, 0);
	assert_int_equal(r.live_files, 4);
	assert_int_equal(r.live_dirs, 2);
	assert_int_equal(r.collisions, 0);
	famfs_fsck_report_free(&r);

	/* A host that does not replay holds compaction back: -ENOSPC, not a crash. */
	c = xopen(state, 1);
	capture_start();
	top = must_resolve(m, "top");
	start = next_index(m);
	for (;;) {
		rc = famfs_fs_setattr(m, top, FAMFS_ATTR_MTIME, 0, 0, 0, 1000 + setattrs, 0);
		if (rc)
			break;
		setattrs++;
		assert_true(setattrs <= LOG_SLOTS);
	}
	assert_int_equal(rc, -ENOSPC);
	if (setattrs != LOG_SLOTS - start)
		fail_msg("%llu changes from index %llu before %d (log at %llu):\n%s",
			 (unsigned long long)setattrs, (unsigned long long)start, rc,
			 (unsigned long long)next_index(m), msgs);
	assert_int_equal(next_index(m), LOG_SLOTS);
	assert_int_equal(famfs_fs_generation(m), gen);
	if (!strstr(msgs, "host slot"))
		fail_msg("the -ENOSPC did not name the host that holds compaction back:\n%s", msgs);
	assert_int_equal(famfs_fs_create(m, "g", 0, 0644, 0, 0, NULL, NULL), -ENOSPC);
	assert_int_equal(famfs_fs_create(m, "g", 2 * MIB, 0644, 0, 0, NULL, NULL), -ENOSPC);
	assert_int_equal(famfs_fs_setattr(m, top, FAMFS_ATTR_MTIME, 0, 0, 0, 1, 0), -ENOSPC);
	famfs_set_msg_fn(NULL, NULL);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.log_used, LOG_SLOTS);
	assert_int_equal(r.bad_entries, 0);
	assert_int_equal(r.bad_payloads, 0);
	assert_int_equal(r.leaked, 0);
	famfs_fsck_report_free(&r);

	/* The host catches up: the next change compacts and succeeds. */
	assert_int_equal(famfs_fs_refresh(c), (int)(LOG_SLOTS - famfs_fs_stats(c)->entries));
	assert_same_ns(m, c, "the lagging host, caught up");
	assert_int_equal(famfs_fs_setattr(m, top, FAMFS_ATTR_MTIME, 0, 0, 0, 77, 0), 0);
	assert_int_equal(famfs_fs_generation(m), gen + 1);
	assert_true(next_index(m) < 64);
	assert_int_equal(must_resolve(m, "top")->mtime_ns, 77);
	assert_true(famfs_fs_refresh(c) > 0);
	assert_int_equal(famfs_fs_generation(c), gen + 1);
	assert_same_ns(m, c, "the host after the compaction");
	assert_int_equal(must_resolve(c, "top")->mtime_ns, 77);
	assert_int_equal(famfs_fs_create(m, "g", 2 * MIB, 0644, 0, 0, NULL, NULL), 0);
	xclose(state, c);
	xclose(state, m);
}

/* A compaction does not change inode numbers, whatever the objects look like. */
static void ext_compaction_keeps_inode_numbers(void **state)
{
	static const char *const paths[] = {"il", "after1", "after2", "after3", "d", "d/x"};
	static const struct famfs_alloc_params ap = {
	    .nbuckets = 4,
	    .nstrips = 2,
	    .chunk_size = 2 * MIB,
	    .seed = 7,
	};
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fs *c;
	struct famfs_inode *il;
	uint64_t inos[6];
	char *before, *after;
	int differ;

	/* An interleaved file truncated to 0 keeps its map. */
	assert_int_equal(famfs_fs_create(m, "il", 8 * MIB, 0644, 0, 0, &ap, &il), 0);
	assert_int_equal(il->fmap.fmap_ext_type, FAMFS_EXT_INTERLEAVE);
	assert_int_equal(famfs_fs_resize(m, il, 0), 0);
	assert_int_equal(famfs_fs_create(m, "after1", 2 * MIB, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_mkdir(m, "after2", 0755, 0, 0, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "after3", 0, 0644, 0, 0, NULL, NULL), 0);
	assert_int_equal(famfs_fs_mkdir(m, "d", 0755, 0, 0, NULL), 0);
	assert_int_equal(famfs_fs_create(m, "d/x", MIB, 0644, 0, 0, NULL, NULL), 0);
	for (size_t k = 0; k < 6; k++)
		inos[k] = ino_of(m, paths[k]);
	pad_log(m, 64);
	before = dump(m, 0);
	assert_int_equal(famfs_fs_compact(m), 0);
	assert_int_equal(famfs_fs_stats(m)->rejected, 0);
	after = dump(m, 0);
	differ = strcmp(before, after) != 0;
	if (differ)
		print_message("---- before\n%s---- after the compaction\n%s", before, after);
	free(before);
	free(after);
	if (differ)
		fail_msg("a compaction changed the namespace (inode numbers above)");
	for (size_t k = 0; k < 6; k++)
		assert_int_equal(ino_of(m, paths[k]), inos[k]);
	c = xopen(state, 1);
	assert_same_view(m, c, "a fresh open after the compaction");
	xclose(state, c);
	xclose(state, m);
}

/* A file created by the change that compacts the log reads as zeros. */
static void ext_compaction_inside_create_keeps_new_file_zero(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *top, *g;
	uint64_t nz;

	assert_int_equal(famfs_fs_create(m, "top", 2 * MIB, 0644, 0, 0, NULL, &top), 0);
	assert_int_equal(famfs_fs_lock(m), 0);
	while (next_index(m) < LOG_SLOTS)
		assert_int_equal(
		    famfs_fs_setattr(m, top, FAMFS_ATTR_MTIME, 0, 0, 0, next_index(m), 0), 0);
	famfs_fs_unlock(m);
	assert_int_equal(famfs_fs_generation(m), 0);
	assert_int_equal(famfs_fs_create(m, "g", 2 * MIB, 0644, 0, 0, NULL, &g), 0);
	assert_int_equal(famfs_fs_generation(m), 1);
	nz = nonzero_bytes(m, "g");
	if (nz) {
		/* Where compact.c put its journal (host table header, ht_pad2: offset first). */
		uint64_t jo = rd64(famfs_fs_dev(m)->base + FAMFS_HT_OFFSET,
				   offsetof(struct famfs_ht_header, ht_pad2));

		fail_msg("the new file 'g' (created by the append that compacted the log) holds "
			 "%llu non-zero bytes; its extent is at 0x%llx, the compaction journal was "
			 "written at 0x%llx",
			 (unsigned long long)nz,
			 (unsigned long long)must_resolve(m, "g")->fmap.se[0].ext_offset,
			 (unsigned long long)jo);
	}
	xclose(state, m);
}

/* Space released before a compaction is still scrubbed when it is reused after it. */
static void ext_compaction_keeps_reused_space_scrubbed(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *a, *d;
	uint64_t aoff, nz;

	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	assert_int_equal(famfs_fs_create(m, "A", 8 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	write_pattern(m, "A", 0xA);
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "A"), 0);
	assert_int_equal(famfs_fs_compact(m), 0);
	assert_int_equal(famfs_fs_create(m, "D", 8 * MIB, 0644, 0, 0, NULL, &d), 0);
	assert_int_equal(d->fmap.se[0].ext_offset, aoff); /* first fit: A's old space */
	nz = nonzero_bytes(m, "D");
	if (nz) {
		uint64_t w = 0, k = 4 * MIB / 8;

		assert_int_equal(famfs_file_read(m, d, k * 8, &w, 8, 0), 8);
		fail_msg("the new file 'D' in the space of the removed file 'A' holds %llu "
			 "non-zero bytes after a compaction (not scrubbed); at 4 MiB it reads "
			 "0x%llx, A's word there was 0x%llx",
			 (unsigned long long)nz, (unsigned long long)w,
			 (unsigned long long)(0xAULL << 32 | k));
	}
	xclose(state, m);
}

/* The same, with the master restarted between the compaction and the create: the new
 * log no longer says the space was used, so the compaction itself must have zeroed it. */
static void ext_compaction_then_restart_keeps_reused_space_scrubbed(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_inode *a, *d;
	uint64_t aoff;

	assert_int_equal(famfs_fs_set_no_upstream(m, true), 0);
	assert_int_equal(famfs_fs_create(m, "A", 8 * MIB, 0644, 0, 0, NULL, &a), 0);
	aoff = a->fmap.se[0].ext_offset;
	write_pattern(m, "A", 0xA);
	assert_int_equal(famfs_fs_remove(m, famfs_fs_ns(m)->root, "A"), 0);
	assert_int_equal(famfs_fs_compact(m), 0);
	xclose(state, m);
	m = xopen(state, 0);
	assert_int_equal(famfs_fs_create(m, "D", 8 * MIB, 0644, 0, 0, NULL, &d), 0);
	assert_int_equal(d->fmap.se[0].ext_offset, aoff); /* first fit: A's old space */
	assert_int_equal(nonzero_bytes(m, "D"), 0);
	xclose(state, m);
}

/* ------------------------------------------------------------------ 5. fsck */

static void ext_fsck_understands_extension_entries(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	struct famfs_fsck_report r;
	struct famfs_fs *c;
	uint64_t files = 0, dirs = 0;

	run_script(m);
	c = xopen(state, 1);
	{
		char *d = dump(c, 0);

		for (char *p = d; (p = strstr(p, " mode=")); p++) {
			unsigned int mode = (unsigned int)strtoul(p + 6, NULL, 8);

			files += S_ISREG(mode);
			dirs += S_ISDIR(mode);
		}
		free(d);
	}
	xclose(state, c);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.nerrors, 0);
	assert_int_equal(r.bad_entries, 0);
	assert_int_equal(r.bad_payloads, 0);
	assert_int_equal(r.collisions, 0);
	assert_int_equal(r.leaked, 0);
	assert_true(r.ext_entries > 0);
	assert_int_equal(r.log_used, next_index(m));
	assert_int_equal(r.entries_valid, next_index(m));
	assert_int_equal(r.files + r.dirs + r.ext_entries + r.other, next_index(m));
	assert_int_equal(r.live_files, files);
	assert_int_equal(r.live_dirs, dirs - 1); /* the root is not counted */
	assert_int_equal(r.pending, famfs_fs_pending_bytes(m));
	assert_true(r.pending > 0);
	famfs_fsck_report_free(&r);

	/* After a compaction (LOGINFO, INOMAP, RESERVE entries) as well. */
	assert_int_equal(famfs_fs_compact(m), 0);
	assert_int_equal(famfs_fsck(famfs_fs_dev(m), &r), 0);
	assert_int_equal(r.bad_payloads, 0);
	assert_int_equal(r.generation, 1);
	assert_int_equal(r.live_files, files);
	assert_int_equal(r.pending, famfs_fs_pending_bytes(m));
	famfs_fsck_report_free(&r);
	xclose(state, m);
}

/* Counts and offsets read from the media are bounded: replay rejects, never crashes. */
static void ext_replay_bounds_media_counts(void **state)
{
	struct famfs_fs *m = xopen(state, 0);
	const struct famfs_replay_stats *st = famfs_fs_stats(m);
	struct famfs_log_entry le;
	struct famfs_xe_inomap *im = (void *)le.le_payload;
	uint64_t rejected;

	assert_int_equal(famfs_fs_lock(m), 0);
	/* An empty inode map before any other: nothing to apply (found by fuzz_replay). */
	memset(&le, 0, sizeof(le));
	le.le_type = FAMFS_XE_INOMAP;
	im->xm_hdr.xh_version = FAMFS_XE_VERSION;
	im->xm_first = 1;
	rejected = st->rejected;
	assert_int_equal(famfs_fs_append(m, &le), 0);
	assert_int_equal(st->rejected, rejected);
	/* Inode maps for entries past the log (a huge allocation), or wrapping around. */
	im->xm_first = 1ULL << 40;
	im->xm_count = 1;
	assert_int_equal(famfs_fs_append(m, &le), 0);
	im->xm_first = UINT64_MAX - 1;
	im->xm_count = 3;
	assert_int_equal(famfs_fs_append(m, &le), 0);
	assert_int_equal(st->rejected, rejected + 2);
	famfs_fs_unlock(m);
	xclose(state, m);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(ext_create_empty_file_logs_xe_create),
	    T(ext_replay_bounds_media_counts),
	    T(ext_create_sized_file_logs_upstream_file),
	    T(ext_create_under_renamed_dir_logs_xe_create_and_resize),
	    T(ext_remove_logs_xe_remove),
	    T(ext_rename_within_and_across_dirs),
	    T(ext_rename_replaces_file_atomically),
	    T(ext_rename_dir_over_empty_dir),
	    T(ext_rename_refusals_write_nothing),
	    T(ext_resize_grow_shrink),
	    T(ext_small_files_are_packed),
	    T(ext_long_names_and_paths),
	    T(ext_deferred_commit_logs_one_entry),
	    T(ext_deferred_meets_other_processes),
	    T(ext_deferred_first_commit_publishes_upstream_form),
	    T(ext_deferred_sequential_growth_keeps_few_extents),
	    T(ext_resize_regrown_tail_reads_zeros),
	    T(ext_resize_pending_list_matches_pending_bytes),
	    T(ext_setattr_logs_xe_setattr),
	    T(ext_replay_from_every_cursor_gives_same_namespace),
	    T(ext_reuse_waits_for_lagging_host),
	    T(ext_reuse_never_without_no_upstream),
	    T(ext_reuse_waits_for_pinned_file),
	    T(ext_compaction_keeps_master_pin),
	    T(ext_compaction_keeps_client_pin),
	    T(ext_log_fills_compacts_and_goes_on),
	    T(ext_compaction_keeps_inode_numbers),
	    T(ext_compaction_inside_create_keeps_new_file_zero),
	    T(ext_compaction_keeps_reused_space_scrubbed),
	    T(ext_compaction_then_restart_keeps_reused_space_scrubbed),
	    T(ext_fsck_understands_extension_entries),
	};
#undef T

	return cmocka_run_group_tests_name("ext", tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file preload.c
 * @brief libfamfs_direct.so: unmodified programs on a CXL host read and map famfs files
 *        straight from the memory device instead of through the FUSE daemon.
 *
 * Under LD_PRELOAD it wraps a few libc calls; everything else goes to libc unchanged:
 *  - open/openat (and their 64-bit and fortified forms): a regular file of at least
 *    FAMFS_DIRECT_MIN bytes (default 256 KiB) on a famfs FUSE mount, opened for reading,
 *    gets its map from the daemon (famfs/direct.h) and, when its extents are 2 MiB
 *    aligned, a whole-file direct mapping, shared by every descriptor of that file whose
 *    map is the same, and kept after the last close for a next open (at most 8 idle).
 *  - read/pread: served from that mapping. Every FAMFS_DIRECT_RECHECK_MS (default 100),
 *    and at the first read after a change through the descriptor, the descriptor is
 *    checked to be the same file (fstat) and its map is asked for again: a file that
 *    another host resized or moved is mapped again; reads past the mapped size go to FUSE,
 *    so nothing is ever read past the extents that were mapped. A memory error under the
 *    mapping answers EIO for that read.
 *  - mmap of any file on the mount: the file's extents are mapped directly (MAP_FIXED per
 *    piece) where the device allows it; msync flushes (or with MS_INVALIDATE drops) the
 *    CPU cache lines of such a range, which is what makes stores visible to other hosts.
 *  - write/pwrite/ftruncate/fallocate on a served descriptor make the next read ask for
 *    the map again; close, close_range, closefrom and fclose forget the descriptors they
 *    close; dup/dup2/dup3 serve the copy like the original.
 * FAMFS_DIRECT=0 turns it off; FAMFS_DIRECT_VERBOSE=1 says on stderr why a file is not
 * mapped; FAMFS_DIRECT_STATS=1 (or =FILE, appended to) prints counters at exit.
 * Locking: one mutex for the descriptor table, the mapped files and the mmap regions;
 * never held across a call that can block on FUSE. Calls made by this library itself
 * (thread-local 'inside' flag) go straight to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "famfs/direct.h"

#define EXPORT		 __attribute__((visibility("default")))
#define FUSE_SUPER_MAGIC 0x65735546
#define FALL		 (-2) /* not served here: call libc */

/* ------------------------------------------------------------------ libc */

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_close_range)(unsigned int, unsigned int, int);
static void (*real_closefrom)(int);
static int (*real_fclose)(FILE *);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static int (*real_msync)(void *, size_t, int);

static bool disabled, verbose;
static uint64_t min_size = 256 << 10, recheck_ns = 100000000ULL;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static __thread int inside; /* this library is calling libc */

static void *sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, "libfamfs_direct: libc has no %s\n", name);
		abort();
	}
	return p;
}

static void resolve(void)
{
	const char *e;

	real_open = sym("open");
	real_openat = sym("openat");
	real_close = sym("close");
	real_close_range = dlsym(RTLD_NEXT, "close_range"); /* glibc 2.34 and later */
	real_closefrom = dlsym(RTLD_NEXT, "closefrom");
	real_fclose = sym("fclose");
	real_dup = sym("dup");
	real_dup2 = sym("dup2");
	real_dup3 = sym("dup3");
	real_read = sym("read");
	real_pread = sym("pread");
	real_write = sym("write");
	real_pwrite = sym("pwrite");
	real_ftruncate = sym("ftruncate");
	real_fallocate = sym("fallocate");
	real_mmap = sym("mmap");
	real_munmap = sym("munmap");
	real_msync = sym("msync");
	disabled = (e = getenv("FAMFS_DIRECT")) && !strcmp(e, "0");
	verbose = (e = getenv("FAMFS_DIRECT_VERBOSE")) && strcmp(e, "0");
	if ((e = getenv("FAMFS_DIRECT_MIN")))
		min_size = strtoull(e, NULL, 0);
	if ((e = getenv("FAMFS_DIRECT_RECHECK_MS")))
		recheck_ns = strtoull(e, NULL, 0) * 1000000ULL;
}

static inline void init(void)
{
	pthread_once(&once, resolve);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ counters */

static atomic_ulong n_reads, n_bytes, n_fell, n_mmaps, n_refused, n_remaps, n_memerr;

static void say_refused(int fd, const char *what)
{
	atomic_fetch_add(&n_refused, 1);
	if (verbose)
		fprintf(stderr, "libfamfs_direct: fd %d: %s: %s\n", fd, what, famfs_direct_error());
}

__attribute__((destructor)) static void report(void)
{
	const char *e = getenv("FAMFS_DIRECT_STATS");
	FILE *f;

	if (!e || !strcmp(e, "0"))
		return;
	f = strcmp(e, "1") ? fopen(e, "a") : stderr;
	if (!f)
		return;
	fprintf(f,
		"libfamfs_direct: pid %d: direct reads %lu (%lu bytes), reads through FUSE %lu, "
		"direct mmaps %lu, refused %lu, remapped %lu, memory errors %lu\n",
		(int)getpid(), atomic_load(&n_reads), atomic_load(&n_bytes), atomic_load(&n_fell),
		atomic_load(&n_mmaps), atomic_load(&n_refused), atomic_load(&n_remaps),
		atomic_load(&n_memerr));
	if (f != stderr)
		fclose(f);
}

/* ------------------------------------------------------------------ tables */

/* One directly mapped file, shared by its descriptors whose map is the same. */
struct mfile {
	struct famfs_direct *d;
	dev_t dev;
	ino_t ino;
	int refs;
	uint64_t idle_since; /* when refs last fell to 0 */
	struct mfile *next;
};

struct fdent {
	struct mfile *f; /* NULL: not served */
	uint64_t checked;
};

struct region {
	uintptr_t start, end;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fdent *fds;
static size_t nfds;
static struct mfile *files;
static uint64_t idle_clock;
static struct region *regions;
static size_t nregions, cregions;
/* File systems seen: +1 a famfs mount, -1 not one. */
static struct {
	dev_t dev;
	int kind;
} kinds[64];
static size_t nkinds;

static int kind_of(dev_t dev)
{
	for (size_t k = 0; k < nkinds; k++)
		if (kinds[k].dev == dev)
			return kinds[k].kind;
	return 0;
}

static void kind_set(dev_t dev, int kind)
{
	pthread_mutex_lock(&lock);
	if (!kind_of(dev) && nkinds < sizeof(kinds) / sizeof(kinds[0])) {
		kinds[nkinds].dev = dev;
		kinds[nkinds++].kind = kind;
	}
	pthread_mutex_unlock(&lock);
}

/* Ask the mount for @fd's map; false for files of other file systems. */
static bool query(int fd, const struct stat *st, struct famfs_direct_map *m)
{
	struct statfs sf;
	int kind, rc;

	pthread_mutex_lock(&lock);
	kind = kind_of(st->st_dev);
	pthread_mutex_unlock(&lock);
	if (kind < 0)
		return false;
	if (!kind && (fstatfs(fd, &sf) || sf.f_type != FUSE_SUPER_MAGIC)) {
		kind_set(st->st_dev, -1);
		return false;
	}
	rc = famfs_direct_query(fd, m);
	if (rc == -ENOTTY) {
		kind_set(st->st_dev, -1);
		return false;
	}
	if (!kind && !rc)
		kind_set(st->st_dev, 1);
	if (rc)
		say_refused(fd, "no map");
	return rc == 0;
}

/*
 * Drop one reference. A file nobody holds stays mapped, idle, for the next open of the
 * same map; beyond IDLE_MAX idle files the one idle longest is unmapped. Called with
 * @lock held.
 */
#define IDLE_MAX 8
static void mfile_put(struct mfile *f)
{
	struct mfile **pp, **oldest = NULL;
	size_t idle = 0;

	if (!f || --f->refs)
		return;
	f->idle_since = ++idle_clock;
	for (pp = &files; *pp; pp = &(*pp)->next)
		if (!(*pp)->refs) {
			idle++;
			if (!oldest || (*pp)->idle_since < (*oldest)->idle_since)
				oldest = pp;
		}
	if (idle <= IDLE_MAX)
		return;
	f = *oldest;
	*oldest = f->next;
	inside++;
	famfs_direct_close(f->d);
	inside--;
	free(f);
}

/* The mapping of @m (an existing one with the same map, or a new one); NULL if refused. */
static struct mfile *mfile_get(int fd, const struct famfs_direct_map *m, const struct stat *st)
{
	struct famfs_direct *d;
	struct mfile *f;
	int rc;

	pthread_mutex_lock(&lock);
	for (f = files; f; f = f->next)
		if (f->dev == st->st_dev && f->ino == st->st_ino &&
		    famfs_direct_same(&f->d->map, m)) {
			f->refs++;
			pthread_mutex_unlock(&lock);
			return f;
		}
	pthread_mutex_unlock(&lock);
	inside++;
	rc = famfs_direct_open(m, PROT_READ, &d);
	inside--;
	if (rc) {
		say_refused(fd, "not mapped");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		famfs_direct_close(d);
		return NULL;
	}
	f->d = d;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->refs = 1;
	pthread_mutex_lock(&lock);
	f->next = files;
	files = f;
	pthread_mutex_unlock(&lock);
	return f;
}

/* Point descriptor @fd at @f (NULL: forget it). */
static void fd_bind(int fd, struct mfile *f)
{
	struct mfile *old = NULL;

	if (fd < 0)
		return;
	pthread_mutex_lock(&lock);
	if ((size_t)fd >= nfds && f) {
		size_t n = (size_t)fd + 64;
		struct fdent *t = realloc(fds, n * sizeof(*t));

		if (!t) {
			mfile_put(f);
			pthread_mutex_unlock(&lock);
			return;
		}
		memset(t + nfds, 0, (n - nfds) * sizeof(*t));
		fds = t;
		nfds = n;
	}
	if ((size_t)fd < nfds) {
		old = fds[fd].f;
		fds[fd].f = f;
		fds[fd].checked = now_ns();
	}
	mfile_put(old);
	pthread_mutex_unlock(&lock);
}

/* Maps that upstream-sized pieces can never be moved under: 2 MiB-aligned extents. */
static bool stays_put(const struct famfs_direct_map *m)
{
	const struct famfs_omf_fmap *f = &m->dm_fmap;
	const uint64_t a = 2ULL << 20;

	if (f->fmap_ext_type == FAMFS_EXT_INTERLEAVE)
		return true;
	for (uint32_t k = 0; k < f->fmap_count; k++)
		if (f->se[k].ext_offset % a || f->se[k].ext_len % a)
			return false;
	return true;
}

/* A descriptor just opened: serve its reads if it is a large famfs file. */
static void track(int fd, int flags)
{
	struct famfs_direct_map m;
	struct stat st;

	if (fd < 0)
		return;
	fd_bind(fd, NULL); /* the number may have been closed behind our back */
	if (disabled || (flags & O_ACCMODE) == O_WRONLY || (flags & (O_PATH | O_DIRECTORY)))
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < min_size ||
	    !query(fd, &st, &m))
		return;
	if (!stays_put(&m)) {
		if (verbose)
			fprintf(stderr,
				"libfamfs_direct: fd %d: a packed small file stays on FUSE\n", fd);
		return;
	}
	fd_bind(fd, mfile_get(fd, &m, &st));
}

/*
 * The mapping that serves @fd now, referenced, after the identity and size check and,
 * when due, the map check; NULL to go through FUSE.
 */
static struct mfile *serving(int fd)
{
	struct famfs_direct_map m;
	struct mfile *f = NULL, *nf;
	struct stat st;
	bool due = false;

	pthread_mutex_lock(&lock);
	if (fd >= 0 && (size_t)fd < nfds && fds[fd].f) {
		f = fds[fd].f;
		f->refs++;
		due = now_ns() - fds[fd].checked >= recheck_ns;
	}
	pthread_mutex_unlock(&lock);
	if (!f)
		return NULL;
	if (!due)
		return f;
	/* Due: the same file still (not closed behind our back and the number reused)?
	 * Then ask for its map again, and map again if it changed. */
	if (fstat(fd, &st) || st.st_ino != f->ino || st.st_dev != f->dev) {
		fd_bind(fd, NULL);
		goto drop;
	}
	if (!query(fd, &st, &m)) {
		fd_bind(fd, NULL);
		goto drop;
	}
	if (famfs_direct_same(&m, &f->d->map)) {
		pthread_mutex_lock(&lock);
		if ((size_t)fd < nfds && fds[fd].f == f)
			fds[fd].checked = now_ns();
		pthread_mutex_unlock(&lock);
		return f;
	}
	atomic_fetch_add(&n_remaps, 1);
	nf = stays_put(&m) ? mfile_get(fd, &m, &st) : NULL;
	fd_bind(fd, nf);
	if (nf) {
		pthread_mutex_lock(&lock);
		nf->refs++;
		mfile_put(f);
		pthread_mutex_unlock(&lock);
		return nf;
	}
drop:
	pthread_mutex_lock(&lock);
	mfile_put(f);
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Read @len bytes at @off of @fd from its mapping; FALL to go through FUSE. */
static ssize_t serve(int fd, void *buf, size_t len, off_t off)
{
	struct mfile *f;
	ssize_t n = FALL;

	if (inside || !nfds || off < 0)
		return FALL;
	f = serving(fd);
	if (!f)
		return FALL;
	if ((uint64_t)off < f->d->map.dm_size) { /* past it: FUSE knows of any growth */
		n = famfs_direct_pread(f->d, buf, len, (uint64_t)off);
		if (n == -EIO) {
			atomic_fetch_add(&n_memerr, 1);
			if (verbose)
				fprintf(stderr, "libfamfs_direct: fd %d: %s\n", fd,
					famfs_direct_error());
			errno = EIO;
			n = -1;
		} else {
			atomic_fetch_add(&n_reads, 1);
			atomic_fetch_add(&n_bytes, (unsigned long)n);
		}
	}
	pthread_mutex_lock(&lock);
	mfile_put(f);
	pthread_mutex_unlock(&lock);
	return n;
}

/* Whether @fd has a mapping (a hint: serve() checks again). */
static bool fd_served(int fd)
{
	bool yes;

	pthread_mutex_lock(&lock);
	yes = fd >= 0 && (size_t)fd < nfds && fds[fd].f;
	pthread_mutex_unlock(&lock);
	return yes;
}

/*
 * After a change through @fd (write, truncate, fallocate): ask for the map at the next
 * read. Hands back the call's result @rc, errno untouched.
 */
static ssize_t after_change(int fd, ssize_t rc)
{
	int e = errno;

	if (nfds) {
		pthread_mutex_lock(&lock);
		if (fd >= 0 && (size_t)fd < nfds && fds[fd].f)
			fds[fd].checked = 0;
		pthread_mutex_unlock(&lock);
	}
	errno = e;
	return rc;
}

/* ------------------------------------------------------------------ opens and closes */

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	init();
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	fd = real_open(path, flags, mode);
	if (!inside)
		track(fd, flags);
	return fd;
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	init();
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	fd = real_openat(dirfd, path, flags, mode);
	if (!inside)
		track(fd, flags);
	return fd;
}

EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));
EXPORT int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
    __attribute__((alias("__openat_2")));

EXPORT int close(int fd)
{
	init();
	if (!inside && nfds)
		fd_bind(fd, NULL);
	return real_close(fd);
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	init();
	if (!real_close_range) {
		errno = ENOSYS;
		return -1;
	}
	if (!inside && !(flags & 4 /* CLOSE_RANGE_CLOEXEC */))
		for (size_t k = first; k < nfds && k <= last; k++)
			fd_bind((int)k, NULL);
	return real_close_range(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	init();
	if (!inside && nfds)
		for (size_t k = lowfd > 0 ? (size_t)lowfd : 0; k < nfds; k++)
			fd_bind((int)k, NULL);
	if (real_closefrom)
		real_closefrom(lowfd);
}

/* A stream made with fdopen() on a served descriptor closes it inside libc. */
EXPORT int fclose(FILE *fp)
{
	init();
	if (!inside && nfds && fp) {
		int fd = fileno(fp);

		if (fd >= 0)
			fd_bind(fd, NULL);
	}
	return real_fclose(fp);
}

/* @newfd is now a copy of @oldfd (dup, dup2, dup3): it is served the same way. */
static int fd_copy(int oldfd, int newfd)
{
	struct mfile *f = NULL;

	if (newfd < 0 || inside || !nfds || oldfd == newfd)
		return newfd;
	pthread_mutex_lock(&lock);
	if (oldfd >= 0 && (size_t)oldfd < nfds && (f = fds[oldfd].f))
		f->refs++;
	pthread_mutex_unlock(&lock);
	fd_bind(newfd, f);
	return newfd;
}

EXPORT int dup(int oldfd)
{
	init();
	return fd_copy(oldfd, real_dup(oldfd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	init();
	return fd_copy(oldfd, real_dup2(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	init();
	return fd_copy(oldfd, real_dup3(oldfd, newfd, flags));
}

/* ------------------------------------------------------------------ reads and writes */

EXPORT ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n;

	init();
	n = serve(fd, buf, len, off);
	if (n != FALL)
		return n;
	if (nfds)
		atomic_fetch_add(&n_fell, 1);
	return real_pread(fd, buf, len, off);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t len, off_t off) __attribute__((alias("pread")));

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	off_t off;
	ssize_t n = FALL;

	init();
	if (!inside && nfds && fd_served(fd) && (off = lseek(fd, 0, SEEK_CUR)) >= 0) {
		n = serve(fd, buf, len, off);
		if (n > 0 && lseek(fd, off + n, SEEK_SET) < 0)
			return -1;
	}
	return n != FALL ? n : real_read(fd, buf, len);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	init();
	return after_change(fd, real_write(fd, buf, len));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	init();
	return after_change(fd, real_pwrite(fd, buf, len, off));
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
    __attribute__((alias("pwrite")));

EXPORT int ftruncate(int fd, off_t len)
{
	init();
	return (int)after_change(fd, real_ftruncate(fd, len));
}

EXPORT int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	init();
	return (int)after_change(fd, real_fallocate(fd, mode, off, len));
}

EXPORT int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));

/* ------------------------------------------------------------------ mappings */

static void region_add(void *addr, size_t len)
{
	pthread_mutex_lock(&lock);
	if (nregions == cregions) {
		size_t n = cregions ? 2 * cregions : 16;
		struct region *t = realloc(regions, n * sizeof(*t));

		if (!t) {
			pthread_mutex_unlock(&lock);
			return;
		}
		regions = t;
		cregions = n;
	}
	regions[nregions].start = (uintptr_t)addr;
	regions[nregions++].end = (uintptr_t)addr + len;
	pthread_mutex_unlock(&lock);
}

/* Forget [s, e) of every region (munmap, or a new mapping over it). */
static void region_cut(uintptr_t s, uintptr_t e)
{
	pthread_mutex_lock(&lock);
	for (size_t k = 0; k < nregions;) {
		struct region *r = &regions[k];

		if (r->end <= s || r->start >= e) {
			k++;
		} else if (r->start >= s && r->end <= e) {
			*r = regions[--nregions];
		} else if (r->start < s && r->end > e) {
			struct region tail = {e, r->end};

			r->end = s;
			pthread_mutex_unlock(&lock);
			region_add((void *)tail.start, tail.end - tail.start);
			return;
		} else if (r->start < s) {
			r->end = s;
			k++;
		} else {
			r->start = e;
			k++;
		}
	}
	pthread_mutex_unlock(&lock);
}

/* Whether [s, e) lies inside one direct region. */
static bool region_has(uintptr_t s, uintptr_t e)
{
	bool in = false;

	pthread_mutex_lock(&lock);
	for (size_t k = 0; k < nregions && !in; k++)
		in = regions[k].start <= s && e <= regions[k].end;
	pthread_mutex_unlock(&lock);
	return in;
}

/* mmap of a famfs file straight from the device; NULL to let libc do it. */
static void *direct_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	const uint64_t huge = 2ULL << 20;
	int type = flags & MAP_TYPE, acc;
	uint64_t g, page = (uint64_t)sysconf(_SC_PAGESIZE), end, span, al;
	struct famfs_direct_map m;
	struct stat st;
	uint8_t *base, *a;
	int rc;

	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return NULL;
	if (flags & (MAP_FIXED_NOREPLACE | MAP_ANONYMOUS | MAP_GROWSDOWN))
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !query(fd, &st, &m))
		return NULL;
	acc = fcntl(fd, F_GETFL);
	if (acc < 0 || (type == MAP_SHARED && (prot & PROT_WRITE) && (acc & O_ACCMODE) != O_RDWR))
		return NULL; /* libc says EACCES */
	g = (m.dm_flags & FAMFS_DM_DAX) && m.dm_align > page ? m.dm_align : page;
	end = (m.dm_size + g - 1) / g * g; /* the mapped file ends here */
	if ((uint64_t)off % g || (uint64_t)off >= end ||
	    ((flags & MAP_FIXED) && (uintptr_t)addr % g))
		return NULL;
	span = (len + page - 1) / page * page;
	if (flags & MAP_FIXED) {
		a = addr;
	} else {
		al = span >= huge && g <= huge ? huge : g;
		base = real_mmap(NULL, span + al, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED)
			return NULL;
		a = (uint8_t *)(((uintptr_t)base + al - 1) / al * al);
		if (a > base)
			real_munmap(base, (size_t)(a - base));
		real_munmap(a + span, (size_t)(base + span + al - (a + span)));
	}
	inside++;
	rc = famfs_direct_map_range(&m, a, (uint64_t)off,
				    end - (uint64_t)off < span ? end - (uint64_t)off : span, prot,
				    type);
	inside--;
	if (rc) {
		say_refused(fd, "mmap not direct");
		if (!(flags & MAP_FIXED))
			real_munmap(a, span);
		return NULL; /* libc maps it (over the same range when MAP_FIXED) */
	}
	if (end - (uint64_t)off < span) /* past the end of the file: like a hole, no access */
		real_mmap(a + (end - (uint64_t)off), span - (end - (uint64_t)off), PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	region_cut((uintptr_t)a, (uintptr_t)a + span);
	region_add(a, span);
	atomic_fetch_add(&n_mmaps, 1);
	return a;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = NULL;

	init();
	if (!inside && !disabled && fd >= 0 && len)
		p = direct_mmap(addr, len, prot, flags, fd, off);
	if (p)
		return p;
	p = real_mmap(addr, len, prot, flags, fd, off);
	if (!inside && nregions && p != MAP_FAILED)
		region_cut((uintptr_t)p, (uintptr_t)p + len);
	return p;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
    __attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
	int rc;

	init();
	rc = real_munmap(addr, len);
	if (!rc && !inside && nregions)
		region_cut((uintptr_t)addr, (uintptr_t)addr + len);
	return rc;
}

EXPORT int msync(void *addr, size_t len, int flags)
{
	init();
	if (!inside && nregions && region_has((uintptr_t)addr, (uintptr_t)addr + len)) {
		if (flags & MS_INVALIDATE)
			famfs_direct_invalidate(addr, len);
		else
			famfs_direct_flush(addr, len);
		return 0;
	}
	return real_msync(addr, len, flags);
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file direct.c
 * @brief Direct mappings of famfs files (see famfs/direct.h).
 *
 * Built into famfs-core and, on its own with cache.c, fmap.c and guard.c, into the preload
 * library; it needs nothing else of famfs-core.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "famfs/cache.h"
#include "famfs/direct.h"
#include "famfs/guard.h"
#include "famfs/io.h"

#define HUGE_2M (2ULL << 20)

static __thread char err_msg[512];

const char *famfs_direct_error(void)
{
	return err_msg[0] ? err_msg : "no error";
}

__attribute__((format(printf, 2, 3))) static int fail(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	return rc;
}

int famfs_direct_check(const struct famfs_direct_map *m)
{
	const struct famfs_omf_fmap *f = &m->dm_fmap;

	if (m->dm_magic != FAMFS_DIRECT_MAGIC)
		return fail(-EBADMSG, "not a famfs direct map (magic 0x%08x)", m->dm_magic);
	if (m->dm_version != FAMFS_DIRECT_VERSION)
		return fail(-EPROTO, "famfs direct map version %u; this library reads version %u",
			    m->dm_version, FAMFS_DIRECT_VERSION);
	if (!memchr(m->dm_dev, '\0', sizeof(m->dm_dev)) || m->dm_dev[0] != '/')
		return fail(-EBADMSG, "famfs direct map of inode %llu: bad device path",
			    (unsigned long long)m->dm_ino);
	if (m->dm_align < 4096 || m->dm_align > (1ULL << 30) || (m->dm_align & (m->dm_align - 1)))
		return fail(-EBADMSG, "famfs direct map of inode %llu: bad alignment %llu",
			    (unsigned long long)m->dm_ino, (unsigned long long)m->dm_align);
	if (!((f->fmap_ext_type == FAMFS_EXT_SIMPLE && f->fmap_count <= FAMFS_MAX_SIMPLE_EXT) ||
	      (f->fmap_ext_type == FAMFS_EXT_INTERLEAVE && f->fmap_count == 1 &&
	       f->ie[0].ie_nstrips >= 1 && f->ie[0].ie_nstrips <= FAMFS_MAX_STRIPS &&
	       f->ie[0].ie_chunk_size)))
		return fail(-EBADMSG, "famfs direct map of inode %llu: bad extent map",
			    (unsigned long long)m->dm_ino);
	if (famfs_fmap_capacity(f) < m->dm_size)
		return fail(
		    -EBADMSG, "famfs direct map of inode %llu: extents hold %llu bytes, size %llu",
		    (unsigned long long)m->dm_ino, (unsigned long long)famfs_fmap_capacity(f),
		    (unsigned long long)m->dm_size);
	return 0;
}

bool famfs_direct_same(const struct famfs_direct_map *a, const struct famfs_direct_map *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

int famfs_direct_query(int fd, struct famfs_direct_map *m)
{
	memset(m, 0, sizeof(*m));
	if (ioctl(fd, FAMFS_DIRECT_IOC_MAP, m) < 0) {
		int e = errno;

		if (e == ENOSYS || e == EINVAL || e == ENOTTY || e == EOPNOTSUPP)
			return fail(-ENOTTY, "not a file of a famfs mount");
		return fail(-e, "the famfs mount refused the map: %s", strerror(e));
	}
	return famfs_direct_check(m);
}

/* ------------------------------------------------------------------ pieces */

static uint64_t granule(const struct famfs_direct_map *m)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (m->dm_flags & FAMFS_DM_DAX) && m->dm_align > page ? m->dm_align : page;
}

typedef int (*piece_fn)(void *arg, uint64_t foff, uint64_t doff, uint64_t n);

/*
 * Call @fn on each device-contiguous piece of file bytes [off, off+len) (both multiples
 * of the granule), merging pieces that continue each other on the device.
 * @return bytes covered (less than @len where the extents end) or -errno.
 */
static int64_t walk(const struct famfs_direct_map *m, uint64_t off, uint64_t len, piece_fn fn,
		    void *arg)
{
	uint64_t g = granule(m), done = 0, run_f = 0, run_d = 0, run_n = 0;
	int rc;

	while (done < len) {
		uint64_t doff, contig, n;

		if (famfs_fmap_resolve(&m->dm_fmap, off + done, &doff, &contig))
			break;
		n = contig < len - done ? contig : len - done;
		if (doff % g || n % g)
			return fail(
			    -EINVAL,
			    "inode %llu: extent piece at device offset 0x%llx (%llu bytes) is "
			    "not a multiple of the device's %llu-byte mapping granule",
			    (unsigned long long)m->dm_ino, (unsigned long long)doff,
			    (unsigned long long)n, (unsigned long long)g);
		if (run_n && run_d + run_n == doff) {
			run_n += n;
		} else {
			if (run_n && fn && (rc = fn(arg, run_f, run_d, run_n)))
				return rc;
			run_f = off + done;
			run_d = doff;
			run_n = n;
		}
		done += n;
	}
	if (run_n && fn && (rc = fn(arg, run_f, run_d, run_n)))
		return rc;
	return (int64_t)done;
}

static uint64_t round_up(uint64_t v, uint64_t g)
{
	return (v + g - 1) / g * g;
}

int famfs_direct_mappable(const struct famfs_direct_map *m, uint64_t len)
{
	int64_t r = walk(m, 0, round_up(len, granule(m)), NULL, NULL);

	return r < 0 ? (int)r : 0;
}

/* ------------------------------------------------------------------ devices */

struct dev_ent {
	char path[FAMFS_DIRECT_DEV_MAX];
	uint64_t offset;
	uint8_t uuid[FAMFS_UUID_LEN];
	bool rw;
	int fd;
};

#define DEV_SLOTS 16
static struct dev_ent devs[DEV_SLOTS];
static size_t ndevs;
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;

/* Open @m's device (read-write when @rw) and check that it holds @m's famfs. */
static int dev_open(const struct famfs_direct_map *m, bool rw, uint64_t g)
{
	const struct famfs_superblock *sb;
	int fd = open(m->dm_dev, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	void *p;
	bool ok;

	if (fd < 0)
		return fail(-errno, "cannot open the device %s for a direct mapping: %s", m->dm_dev,
			    strerror(errno));
	p = mmap(NULL, g, PROT_READ, MAP_SHARED, fd, (off_t)m->dm_dev_offset);
	if (p == MAP_FAILED) {
		int e = errno;

		close(fd);
		return fail(-e, "cannot map the device %s: %s", m->dm_dev, strerror(e));
	}
	sb = p;
	ok = sb->sb_magic == FAMFS_SUPER_MAGIC &&
	     !memcmp(sb->sb_uuid, m->dm_fs_uuid, FAMFS_UUID_LEN);
	munmap(p, g);
	if (!ok) {
		close(fd);
		return fail(-ENXIO,
			    "the device %s does not hold the famfs the mount serves (superblock at "
			    "offset %llu differs)",
			    m->dm_dev, (unsigned long long)m->dm_dev_offset);
	}
	return fd;
}

/* A descriptor of @m's device, opened once per device and access mode. */
static int dev_get(const struct famfs_direct_map *m, bool rw)
{
	int fd = -ENOENT;

	pthread_mutex_lock(&dev_lock);
	for (size_t k = 0; k < ndevs; k++) {
		struct dev_ent *d = &devs[k];

		if (d->rw == rw && d->offset == m->dm_dev_offset && !strcmp(d->path, m->dm_dev) &&
		    !memcmp(d->uuid, m->dm_fs_uuid, FAMFS_UUID_LEN)) {
			fd = d->fd;
			break;
		}
	}
	if (fd < 0) {
		fd = dev_open(m, rw, granule(m));
		if (fd >= 0 && ndevs < DEV_SLOTS) {
			struct dev_ent *d = &devs[ndevs++];

			memcpy(d->path, m->dm_dev, sizeof(d->path));
			d->offset = m->dm_dev_offset;
			memcpy(d->uuid, m->dm_fs_uuid, FAMFS_UUID_LEN);
			d->rw = rw;
			d->fd = fd;
		} else if (fd >= 0) {
			close(fd);
			fd =
			    fail(-EMFILE, "too many famfs devices mapped directly (%d)", DEV_SLOTS);
		}
	}
	pthread_mutex_unlock(&dev_lock);
	return fd;
}

/* ------------------------------------------------------------------ mappings */

struct map_arg {
	const struct famfs_direct_map *m;
	uint8_t *addr; /* where file byte @off goes */
	uint64_t off;
	int prot, flags, fd;
};

static int map_piece(void *arg, uint64_t foff, uint64_t doff, uint64_t n)
{
	struct map_arg *a = arg;
	void *want = a->addr + (foff - a->off);
	void *p = mmap(want, n, a->prot, a->flags | MAP_FIXED, a->fd,
		       (off_t)(a->m->dm_dev_offset + doff));

	if (p == MAP_FAILED)
		return fail(-errno, "cannot map %llu bytes of %s at offset 0x%llx: %s",
			    (unsigned long long)n, a->m->dm_dev,
			    (unsigned long long)(a->m->dm_dev_offset + doff), strerror(errno));
	return 0;
}

int famfs_direct_map_range(const struct famfs_direct_map *m, void *addr, uint64_t off, uint64_t len,
			   int prot, int flags)
{
	uint64_t g = granule(m);
	struct map_arg a = {m, addr, off, prot, flags & (MAP_SHARED | MAP_PRIVATE), -1};
	bool rw = (prot & PROT_WRITE) && (flags & MAP_SHARED);
	int64_t r;
	int rc;

	if ((rc = famfs_direct_check(m)))
		return rc;
	if (off % g || (uintptr_t)addr % g)
		return fail(-EINVAL, "a direct mapping must start on a %llu-byte boundary",
			    (unsigned long long)g);
	if (rw && (m->dm_flags & FAMFS_DM_RDONLY))
		return fail(-EROFS, "inode %llu: this host may not write famfs (not the master)",
			    (unsigned long long)m->dm_ino);
	/* Check the whole range before replacing anything. */
	r = walk(m, off, round_up(len, g), NULL, NULL);
	if (r < 0)
		return (int)r;
	a.fd = dev_get(m, rw);
	if (a.fd < 0)
		return a.fd;
	r = walk(m, off, round_up(len, g), map_piece, &a);
	return r < 0 ? (int)r : 0;
}

int famfs_direct_open(const struct famfs_direct_map *m, int prot, struct famfs_direct **out)
{
	uint64_t g = granule(m), al = g > HUGE_2M ? g : HUGE_2M, len;
	struct famfs_direct *d;
	uint8_t *base, *a;
	int rc;

	*out = NULL;
	if ((rc = famfs_direct_check(m)))
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return fail(-ENOMEM, "out of memory");
	d->map = *m;
	d->prot = prot;
	len = round_up(m->dm_size, g);
	if (len) {
		/* Reserve an aligned range, then lay the pieces into it. */
		base = mmap(NULL, len + al, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
		if (base == MAP_FAILED) {
			free(d);
			return fail(-ENOMEM, "no room for a %llu-byte mapping",
				    (unsigned long long)len);
		}
		a = (uint8_t *)round_up((uintptr_t)base, al);
		if (a > base)
			munmap(base, (size_t)(a - base));
		if (a + len < base + len + al)
			munmap(a + len, (size_t)(base + len + al - (a + len)));
		rc = famfs_direct_map_range(m, a, 0, len, prot, MAP_SHARED);
		if (rc) {
			munmap(a, len);
			free(d);
			return rc;
		}
		d->addr = a;
	}
	d->len = len;
	*out = d;
	return 0;
}

void famfs_direct_close(struct famfs_direct *d)
{
	if (!d)
		return;
	if (d->addr)
		munmap(d->addr, d->len);
	free(d);
}

ssize_t famfs_direct_pread(const struct famfs_direct *d, void *buf, size_t len, uint64_t off)
{
	void *fault = NULL;

	if (off >= d->map.dm_size)
		return 0;
	if (len > d->map.dm_size - off)
		len = (size_t)(d->map.dm_size - off);
	if (famfs_guarded_copy(buf, d->addr + off, len, &fault, false))
		return fail(-EIO,
			    "memory error (SIGBUS) under the direct mapping of inode %llu at "
			    "file offset %llu",
			    (unsigned long long)d->map.dm_ino,
			    (unsigned long long)((uint8_t *)fault - d->addr));
	return (ssize_t)len;
}

void famfs_direct_flush(const void *addr, size_t len)
{
	famfs_cache_flush(addr, len);
}

void famfs_direct_invalidate(const void *addr, size_t len)
{
	famfs_cache_invalidate(addr, len);
}

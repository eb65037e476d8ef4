/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file io.c
 * @brief Extent-mapped read and write (see famfs/io.h).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "famfs/cache.h"
#include "famfs/dev.h"
#include "famfs/fs.h"
#include "famfs/io.h"
#include "famfs/ns.h"
#include "internal.h"

int famfs_fmap_resolve(const struct famfs_omf_fmap *fmap, uint64_t off, uint64_t *dev_off,
		       uint64_t *contig)
{
	if (fmap->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		uint64_t base = 0;

		for (uint32_t k = 0; k < fmap->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++) {
			const struct famfs_omf_extent *e = &fmap->se[k];

			if (off < base + e->ext_len) {
				*dev_off = e->ext_offset + (off - base);
				*contig = e->ext_len - (off - base);
				return 0;
			}
			base += e->ext_len;
		}
		return -ERANGE;
	}
	if (fmap->fmap_ext_type == FAMFS_EXT_INTERLEAVE && fmap->fmap_count == 1) {
		const struct famfs_omf_interleave *ie = &fmap->ie[0];
		uint64_t n = ie->ie_nstrips, c = ie->ie_chunk_size;
		uint64_t chunk, stripe, strip, in;

		if (n == 0 || n > FAMFS_MAX_STRIPS || c == 0)
			return -EINVAL;
		chunk = off / c;
		stripe = chunk / n;
		strip = chunk % n;
		in = stripe * c + off % c;
		if (in >= ie->ie_strips[strip].ext_len)
			return -ERANGE;
		*dev_off = ie->ie_strips[strip].ext_offset + in;
		*contig = c - off % c;
		return 0;
	}
	return -EINVAL;
}

uint64_t famfs_fmap_capacity(const struct famfs_omf_fmap *fmap)
{
	uint64_t total = 0;

	if (fmap->fmap_ext_type == FAMFS_EXT_SIMPLE) {
		for (uint32_t k = 0; k < fmap->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			total += fmap->se[k].ext_len;
	} else if (fmap->fmap_count == 1 && fmap->ie[0].ie_nstrips <= FAMFS_MAX_STRIPS &&
		   fmap->ie[0].ie_chunk_size) {
		const struct famfs_omf_interleave *ie = &fmap->ie[0];
		uint64_t per = UINT64_MAX;

		/* Whole stripes only: chunk i lives in strip i % n. */
		for (uint64_t k = 0; k < ie->ie_nstrips; k++) {
			uint64_t s = ie->ie_strips[k].ext_len / ie->ie_chunk_size;

			if (s < per)
				per = s;
		}
		if (ie->ie_nstrips)
			total = per * ie->ie_nstrips * ie->ie_chunk_size;
	}
	return total;
}

/* ------------------------------------------------------------------ memory errors
 *
 * A load or store to the mapping can raise SIGBUS: poisoned memory on a CXL or devdax
 * device, or (tests) a backing file shrunk under the mapping. Every copy to or from the
 * device runs under a per-thread guard; the process-wide SIGBUS handler jumps back to
 * the guard, and the file that was hit answers -EIO from then on, without touching its
 * memory again. A SIGBUS outside a guard goes to the handler that was there before.
 */
static __thread sigjmp_buf *guard_jb;
static __thread volatile sig_atomic_t in_guard;
static __thread void *guard_addr;
static struct sigaction old_bus;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	if (in_guard) {
		in_guard = 0;
		guard_addr = si->si_addr;
		siglongjmp(*guard_jb, 1);
	}
	/* Not ours: restore the previous disposition and let the signal happen again. */
	sigaction(SIGBUS, &old_bus, NULL);
	if (old_bus.sa_flags & SA_SIGINFO) {
		if (old_bus.sa_sigaction)
			old_bus.sa_sigaction(sig, si, uc);
	} else if (old_bus.sa_handler != SIG_IGN && old_bus.sa_handler != SIG_DFL) {
		old_bus.sa_handler(sig);
	}
}

void famfs_io_guard_install(void)
{
	struct sigaction sa, prev;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &prev);
	if (!((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == on_sigbus))
		old_bus = prev; /* chain to whatever was there, never to ourselves */
}

/*
 * Copy @n bytes (evicting @src from the cache first when @inval), or zero @dst when @src
 * is NULL, surviving a memory error; 0 or -EIO with the faulting address in *@fault.
 */
static int guarded_copy(void *dst, const void *src, size_t n, void **fault, bool inval)
{
	sigjmp_buf jb;

	pthread_once(&guard_once, famfs_io_guard_install);
	guard_jb = &jb;
	if (sigsetjmp(jb, 1)) {
		*fault = guard_addr;
		return -EIO;
	}
	in_guard = 1;
	if (!src)
		memset(dst, 0, n);
	else if (inval)
		famfs_cache_invalidate(src, n);
	if (src)
		memcpy(dst, src, n);
	in_guard = 0;
	return 0;
}

int fs_dev_fill(void *dst, const void *src, size_t n, void **fault)
{
	int rc = guarded_copy(dst, src, n, fault, false);

	if (!rc)
		famfs_cache_flush(dst, n);
	return rc;
}

static void memerr(struct famfs_fs *fs, const struct famfs_inode *ino, const void *addr)
{
	struct famfs_inode *w = (struct famfs_inode *)ino; /* the flag is the inode's own */

	/* Readers in several threads may hit it at once: one of them says so. */
	if (!__atomic_exchange_n(&w->memerr, true, __ATOMIC_ACQ_REL))
		famfs_err("%s: memory error (SIGBUS) at device offset 0x%llx in inode %llu ('%s'); "
			  "the file now answers I/O errors",
			  famfs_fs_dev(fs)->path,
			  (unsigned long long)((const uint8_t *)addr - famfs_fs_dev(fs)->base),
			  (unsigned long long)ino->ino, ino->name);
}

/* Walk [off, off+len) of @ino, calling @fn on each device-contiguous piece. */
static ssize_t walk(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off, size_t len,
		    int (*fn)(uint8_t *dev, size_t n, size_t done, void *arg), void *arg)
{
	const struct famfs_dev *dev = famfs_fs_dev(fs);
	size_t done = 0;

	if (S_ISDIR(ino->mode))
		return -EISDIR;
	if (ino->memerr)
		return -EIO;
	if (off >= ino->size)
		return 0;
	if (len > ino->size - off)
		len = (size_t)(ino->size - off);
	while (done < len) {
		uint64_t doff, contig;
		size_t n;
		int rc = famfs_fmap_resolve(&ino->fmap, off + done, &doff, &contig);

		if (rc)
			return done ? (ssize_t)done : rc;
		n = len - done;
		if (n > contig)
			n = (size_t)contig;
		if (doff + n > dev->size)
			return done ? (ssize_t)done : -ERANGE;
		rc = fn(dev->base + doff, n, done, arg);
		if (rc == -EIO)
			memerr(fs, ino, *(void **)arg);
		if (rc)
			return done ? (ssize_t)done : rc;
		done += n;
	}
	return (ssize_t)done;
}

/* Piece arguments start with the fault address, which walk() reports. */
struct rd_arg {
	void *fault;
	uint8_t *buf;
	unsigned int flags;
};

static int rd_piece(uint8_t *dev, size_t n, size_t done, void *arg)
{
	struct rd_arg *a = arg;

	return guarded_copy(a->buf + done, dev, n, &a->fault, a->flags & FAMFS_IO_INVALIDATE);
}

ssize_t famfs_file_read(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off, void *buf,
			size_t len, unsigned int flags)
{
	struct rd_arg a = {NULL, buf, flags};

	return walk(fs, ino, off, len, rd_piece, &a);
}

struct wr_arg {
	void *fault;
	const uint8_t *buf;
};

static int wr_piece(uint8_t *dev, size_t n, size_t done, void *arg)
{
	struct wr_arg *a = arg;
	int rc = guarded_copy(dev, a->buf + done, n, &a->fault, false);

	if (!rc)
		famfs_cache_flush(dev, n);
	return rc;
}

ssize_t famfs_file_write(struct famfs_fs *fs, const struct famfs_inode *ino, uint64_t off,
			 const void *buf, size_t len)
{
	if (famfs_fs_dev(fs)->readonly)
		return -EROFS;
	if (len && off >= ino->size && !S_ISDIR(ino->mode))
		return -EFBIG;
	struct wr_arg a = {NULL, buf};

	return walk(fs, ino, off, len, wr_piece, &a);
}

int fs_fmap_zero(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, uint64_t off, uint64_t len,
		 uint64_t *bad_off)
{
	const struct famfs_dev *dev = famfs_fs_dev(fs);
	void *fault = NULL;

	while (len) {
		uint64_t doff, contig, n;
		int rc = famfs_fmap_resolve(fmap, off, &doff, &contig);

		if (rc)
			return rc;
		n = len < contig ? len : contig;
		if (doff + n > dev->size)
			return -ERANGE;
		if (fs_dev_fill(dev->base + doff, NULL, n, &fault)) {
			if (bad_off)
				*bad_off = (uint64_t)((uint8_t *)fault - dev->base);
			return -EIO;
		}
		off += n;
		len -= n;
	}
	return 0;
}

int famfs_fmap_zero(struct famfs_fs *fs, const struct famfs_omf_fmap *fmap, uint64_t off,
		    uint64_t len)
{
	return fs_fmap_zero(fs, fmap, off, len, NULL);
}

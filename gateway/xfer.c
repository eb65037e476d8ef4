/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file xfer.c
 * @brief famfs-gw cp's data mover: io_uring between a host file and mapped extents
 *        (see xfer.h).
 */
#define _GNU_SOURCE /* O_DIRECT, copy_file_range */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "famfs/cache.h"
#include "famfs/io.h"
#include "xfer.h"

#define DIO_ALIGN 4096u

/* One device-contiguous range of the file, moved by one request (or a few, if short). */
struct piece {
	uint64_t off;  /* file offset */
	uint64_t doff; /* device offset */
	uint64_t n;    /* bytes */
	uint64_t done; /* bytes moved so far */
	bool dio;      /* its request in flight reads with O_DIRECT */
};

struct job {
	bool in; /* host file -> famfs */
	int fd;	 /* the host file (buffered) */
	int dfd; /* the host file with O_DIRECT, or -1 */
	uint8_t *base;
	const struct famfs_omf_fmap *fmap;
	uint64_t size, next, total;
	const struct xfer_opts *o;
	struct xfer_stats *st;
};

__attribute__((format(printf, 3, 4))) static int fail(struct job *j, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->st->error, sizeof(j->st->error), fmt, ap);
	va_end(ap);
	return rc;
}

/* The next piece of the file; false when none is left. */
static bool next_piece(struct job *j, struct piece *p, int *rc)
{
	uint64_t doff, contig;

	*rc = 0;
	if (j->next >= j->size)
		return false;
	if (famfs_fmap_resolve(j->fmap, j->next, &doff, &contig)) {
		*rc = fail(j, -ERANGE, "file offset %llu lies past the extents",
			   (unsigned long long)j->next);
		return false;
	}
	p->off = j->next;
	p->doff = doff;
	p->n = j->size - j->next;
	if (p->n > contig)
		p->n = contig;
	if (p->n > XFER_CHUNK)
		p->n = XFER_CHUNK;
	p->done = 0;
	j->next += p->n;
	return true;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_READ  22 /* Linux 5.14 */
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Fault in the pages the kernel will copy into (@write) or from, in one call: its copy
 * would otherwise take one page fault per 4 KiB page of a file-backed device (O_DIRECT
 * pins the pages itself). Best effort: older kernels say EINVAL and the copy faults.
 */
static void populate(uint8_t *addr, unsigned len, bool write)
{
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)4095;

	(void)madvise((void *)a, len + ((uintptr_t)addr - a),
		      write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

/* What is left of @p as one request: descriptor, address, length (rounded for O_DIRECT). */
static void request(struct job *j, struct piece *p, int *fd, uint8_t **addr, unsigned *len)
{
	uint64_t left = p->n - p->done;

	*addr = j->base + p->doff + p->done;
	*fd = j->fd;
	*len = (unsigned)left;
	p->dio = false;
	if (j->in && j->dfd >= 0 && (p->off + p->done) % DIO_ALIGN == 0 &&
	    (uintptr_t)*addr % DIO_ALIGN == 0) {
		/* The last piece of a file rounds up into its last unit (allocated). */
		*fd = j->dfd;
		*len = (unsigned)((left + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN);
		p->dio = true;
	}
	if (!p->dio)
		populate(*addr, *len, j->in);
	if (!j->in)
		famfs_cache_invalidate(*addr, *len); /* another host may have stored it */
}

/* @got bytes of @p moved: flush them into the memory (in), count them. */
static void landed(struct job *j, struct piece *p, uint64_t got)
{
	if (got > p->n - p->done)
		got = p->n - p->done;
	if (j->in)
		famfs_cache_flush(j->base + p->doff + p->done, got);
	p->done += got;
	j->total += got;
	if (j->o && j->o->progress)
		j->o->progress(j->o->arg, j->total);
}

/* A result @res for @p: 0 to go on (short: the rest is asked again), or -errno. */
static int result(struct job *j, struct piece *p, ssize_t res)
{
	if (res < 0 && p->dio && (res == -EINVAL || res == -EOPNOTSUPP)) {
		/* The file system took the open but not the read: the page cache it is (the
		 * piece is asked again; other pieces in flight come back the same way). */
		if (j->dfd >= 0) {
			snprintf(j->st->note, sizeof(j->st->note),
				 "O_DIRECT read refused (%s): buffered", strerror((int)-res));
			close(j->dfd);
			j->dfd = -1;
			j->st->direct = false;
		}
		return 0;
	}
	if (res < 0)
		return fail(j, (int)res, "%s at offset %llu: %s", j->in ? "read" : "write",
			    (unsigned long long)(p->off + p->done), strerror((int)-res));
	if (res == 0)
		return j->in ? fail(j, -EIO,
				    "the file shrank while copying (end at offset %llu of %llu)",
				    (unsigned long long)(p->off + p->done),
				    (unsigned long long)j->size)
			     : fail(j, -EIO, "write at offset %llu wrote nothing",
				    (unsigned long long)(p->off + p->done));
	landed(j, p, (uint64_t)res);
	return 0;
}

/* The copy with plain pread/pwrite. */
static int run_plain(struct job *j)
{
	struct piece p;
	int rc;

	while (next_piece(j, &p, &rc)) {
		while (p.done < p.n) {
			unsigned len;
			uint8_t *addr;
			ssize_t res;
			int fd;

			request(j, &p, &fd, &addr, &len);
			res = j->in ? pread(fd, addr, len, (off_t)(p.off + p.done))
				    : pwrite(fd, addr, len, (off_t)(p.off + p.done));
			if (res < 0 && errno == EINTR)
				continue;
			rc = result(j, &p, res < 0 ? -errno : res);
			if (rc)
				return rc;
		}
	}
	return rc;
}

static void prep(struct io_uring *ring, struct job *j, struct piece *p, int slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring); /* never NULL: one per slot */
	unsigned len;
	uint8_t *addr;
	int fd;

	request(j, p, &fd, &addr, &len);
	if (j->in)
		io_uring_prep_read(sqe, fd, addr, len, p->off + p->done);
	else
		io_uring_prep_write(sqe, fd, addr, len, p->off + p->done);
	io_uring_sqe_set_data64(sqe, (uint64_t)slot);
}

/* The copy with XFER_DEPTH requests in flight. */
static int run_uring(struct job *j, struct io_uring *ring)
{
	struct piece pcs[XFER_DEPTH];
	int inflight = 0, rc = 0, err = 0;

	for (int s = 0; s < XFER_DEPTH && next_piece(j, &pcs[s], &rc); s++) {
		prep(ring, j, &pcs[s], s);
		inflight++;
	}
	while (inflight) {
		struct io_uring_cqe *cqe;
		struct piece *p;
		int s, res;

		if (io_uring_submit(ring) < 0 && !err)
			err = fail(j, -EIO, "io_uring submit failed");
		rc = io_uring_wait_cqe(ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			return fail(j, rc, "io_uring wait: %s", strerror(-rc));
		s = (int)io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		inflight--;
		p = &pcs[s];
		if (err)
			continue; /* collect what is in flight, then report */
		rc = result(j, p, res);
		if (rc) {
			err = rc;
			continue;
		}
		if (p->done < p->n || next_piece(j, p, &rc)) {
			prep(ring, j, p, s);
			inflight++;
		} else if (rc) {
			err = rc;
		}
	}
	return err ? err : rc;
}

/* Whether under half of @fd's first @size bytes are in the page cache. */
static bool mostly_cold(int fd, uint64_t size)
{
	size_t pages = (size_t)((size + 4095) / 4096), in = 0;
	unsigned char *v;
	void *p;

	p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return false;
	v = malloc(pages);
	if (v && mincore(p, (size_t)size, v) == 0)
		for (size_t k = 0; k < pages; k++)
			in += v[k] & 1;
	else
		in = pages;
	free(v);
	munmap(p, (size_t)size);
	return in * 2 < pages;
}

static int run(struct job *j)
{
	struct io_uring ring;
	int rc;

	if (j->o && j->o->no_uring) {
		snprintf(j->st->note, sizeof(j->st->note), "io_uring not used (--no-uring)");
		return run_plain(j);
	}
	rc = io_uring_queue_init(XFER_DEPTH, &ring, 0);
	if (rc < 0) {
		snprintf(j->st->note, sizeof(j->st->note),
			 "the kernel refused io_uring (%s): plain reads and writes", strerror(-rc));
		return run_plain(j);
	}
	j->st->uring = true;
	rc = run_uring(j, &ring);
	io_uring_queue_exit(&ring);
	return rc;
}

int xfer_in(uint8_t *base, const struct famfs_omf_fmap *fmap, uint64_t size, const char *src,
	    const struct xfer_opts *o, struct xfer_stats *st)
{
	enum xfer_direct d = o ? o->direct : XFER_DIRECT_AUTO;
	struct job j = {
	    .in = true, .dfd = -1, .base = base, .fmap = fmap, .size = size, .o = o, .st = st};
	int rc;

	memset(st, 0, sizeof(*st));
	j.fd = open(src, O_RDONLY | O_CLOEXEC);
	if (j.fd < 0)
		return fail(&j, -errno, "%s", strerror(errno));
	if (d == XFER_DIRECT_ALWAYS ||
	    (d == XFER_DIRECT_AUTO && size >= 8 * XFER_CHUNK && mostly_cold(j.fd, size))) {
		j.dfd = open(src, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (j.dfd < 0)
			snprintf(st->note, sizeof(st->note), "O_DIRECT refused (%s): buffered",
				 strerror(errno));
		st->direct = j.dfd >= 0;
	}
	rc = run(&j);
	st->bytes = j.total;
	if (j.dfd >= 0)
		close(j.dfd);
	close(j.fd);
	return rc;
}

/*
 * Out of a device file: each piece file to file in the kernel. 1 when the kernel cannot
 * do it for these two files (nothing was moved: take the other way), else 0 or -errno.
 */
static int run_cfr(struct job *j)
{
	struct piece p;
	int rc;

	while (next_piece(j, &p, &rc)) {
		while (p.done < p.n) {
			loff_t from = (loff_t)(j->o->dev_offset + p.doff + p.done);
			loff_t to = (loff_t)(p.off + p.done);
			ssize_t n =
			    copy_file_range(j->o->dev_fd, &from, j->fd, &to, p.n - p.done, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && !j->total &&
			    (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			     errno == EOPNOTSUPP)) {
				j->next = 0; /* nothing moved: the other way starts over */
				return 1;
			}
			rc = result(j, &p, n < 0 ? -errno : n);
			if (rc)
				return rc;
		}
	}
	return rc;
}

int xfer_out(const uint8_t *base, const struct famfs_omf_fmap *fmap, uint64_t size, int fd,
	     const struct xfer_opts *o, struct xfer_stats *st)
{
	struct job j = {.in = false,
			.fd = fd,
			.dfd = -1,
			.base = (uint8_t *)base,
			.fmap = fmap,
			.size = size,
			.o = o,
			.st = st};
	int rc = 1;

	memset(st, 0, sizeof(*st));
	if (o && o->dev_file && !o->no_uring) {
		rc = run_cfr(&j);
		st->cfr = rc != 1;
	}
	if (rc == 1)
		rc = run(&j);
	st->bytes = j.total;
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file hosts.c
 * @brief The host table: each process that maps the device publishes how far it has
 *        replayed the log and which freed space it may still read (see omf_ext.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include "famfs/cache.h"
#include "fs_priv.h"

static uint64_t ht_crc(const struct famfs_ht_header *h)
{
	return crc32(crc32(0L, Z_NULL, 0), (const Bytef *)h,
		     offsetof(struct famfs_ht_header, ht_crc));
}

static struct famfs_ht_slot *slots_of(struct famfs_ht_header *h)
{
	return (struct famfs_ht_slot *)(h + 1);
}

uint64_t fs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int fs_hosts_init_table(struct famfs_superblock *sb, uint32_t flags)
{
	struct famfs_ht_header *h = (void *)((uint8_t *)sb + FAMFS_HT_OFFSET);

	struct famfs_ht_header n;

	memset(&n, 0, sizeof(n));
	n.ht_magic = FAMFS_HT_MAGIC;
	n.ht_version = FAMFS_HT_VERSION;
	n.ht_nslots = FAMFS_HT_SLOTS;
	n.ht_flags = flags;
	n.ht_crc = ht_crc(&n);
	memset(slots_of(h), 0, FAMFS_HT_SLOTS * sizeof(struct famfs_ht_slot));
	famfs_cache_flush(slots_of(h), FAMFS_HT_SLOTS * sizeof(struct famfs_ht_slot));
	/* Everything but the magic first, so a reader never sees a half-made header. */
	memcpy((uint8_t *)h + sizeof(n.ht_magic), (uint8_t *)&n + sizeof(n.ht_magic),
	       sizeof(n) - sizeof(n.ht_magic));
	famfs_cache_flush(h, sizeof(*h));
	__atomic_store_n(&h->ht_magic, FAMFS_HT_MAGIC, __ATOMIC_RELEASE);
	famfs_cache_flush(h, sizeof(*h));
	return 0;
}

/* Rewrite the header's CRC after the master changed flags or generation. */
static void ht_commit(struct famfs_ht_header *h)
{
	h->ht_crc = ht_crc(h);
	famfs_cache_flush(h, sizeof(*h));
}

/*
 * A slot's key is the wall-clock time of its claim (ns, odd). Registration writes the
 * pid right after the claim, so a claimed slot without a pid for longer than this was
 * left by a process killed in between: nobody will ever publish through it.
 */
#define HT_CLAIM_NS (60ULL * 1000000000ULL)

static bool slot_abandoned(const struct famfs_ht_slot *s)
{
	uint64_t key = __atomic_load_n(&s->hs_key, __ATOMIC_ACQUIRE), now = fs_now_ns();

	return key && !s->hs_pid && (key > now || now - key > HT_CLAIM_NS);
}

/* Left by a process that died on this host, or abandoned in the middle of registration. */
static bool slot_is_dead(const struct famfs_fs *fs, const struct famfs_ht_slot *s)
{
	if (slot_abandoned(s))
		return true;
	return memcmp(s->hs_uuid, fs->system_uuid, FAMFS_UUID_LEN) == 0 && s->hs_pid &&
	       kill((pid_t)s->hs_pid, 0) < 0 && errno == ESRCH;
}

static struct famfs_resv_area *area_of(struct famfs_fs *fs, size_t slot)
{
	return (struct famfs_resv_area *)(fs->dev->base + FAMFS_RESV_OFFSET +
					  slot * FAMFS_RESV_AREA);
}

/* This process's area (it holds a slot, so fs->ht is set). */
static struct famfs_resv_area *own_area(struct famfs_fs *fs)
{
	return area_of(fs, (size_t)(fs->slot - slots_of(fs->ht)));
}

bool fs_resv_can(const struct famfs_fs *fs)
{
	return fs->slot && fs->ht && !fs->dev->readonly;
}

void fs_resv_publish(struct famfs_fs *fs, const struct famfs_resv_extent *e, uint32_t n)
{
	struct famfs_resv_area *a;

	if (!fs_resv_can(fs))
		return;
	a = own_area(fs);
	if (n > FAMFS_RESV_MAX)
		n = FAMFS_RESV_MAX;
	memcpy(a->ra_ext, e, n * sizeof(*e));
	a->ra_count = n;
	a->ra_key = fs->slot->hs_key;
	famfs_cache_flush(a, 32 + n * sizeof(*e));
}

size_t fs_resv_mark_foreign(struct famfs_fs *fs, struct famfs_resv_extent **out)
{
	struct famfs_resv_extent *set = NULL;
	size_t n = 0, cap = 0;
	uint64_t unit = fs->bm.unit;

	*out = NULL;
	if (!fs->ht)
		return 0;
	/* Only processes of this host (the master's) write areas, under the appender lock
	 * this one holds: its caches see their stores, nothing needs invalidating. */
	for (size_t i = 0; i < FAMFS_HT_SLOTS; i++) {
		struct famfs_ht_slot *s = &slots_of(fs->ht)[i];
		struct famfs_resv_area *a = area_of(fs, i);
		uint64_t key = __atomic_load_n(&s->hs_key, __ATOMIC_ACQUIRE);
		uint32_t cnt;

		if (!key || s == fs->slot)
			continue;
		if (a->ra_key != key || !a->ra_count)
			continue;
		cnt = a->ra_count < FAMFS_RESV_MAX ? a->ra_count : FAMFS_RESV_MAX;
		for (uint32_t k = 0; k < cnt; k++) {
			uint64_t off = a->ra_ext[k].re_off / unit * unit, end;

			if (a->ra_ext[k].re_len > fs->dev->size || off >= fs->dev->size)
				continue; /* damaged: not a range of this device */
			end = off + a->ra_ext[k].re_len;
			/* Mark what is free; remember it, to give it back after. */
			for (uint64_t b = off / unit;
			     b < (end + unit - 1) / unit && b < fs->bm.nbits; b++) {
				if ((fs->bm.words[b / 64] >> (b % 64)) & 1)
					continue;
				if (n && set[n - 1].re_off + set[n - 1].re_len == b * unit) {
					set[n - 1].re_len += unit;
				} else {
					if (n == cap) {
						void *g = realloc(set, (cap ? cap * 2 : 16) *
									   sizeof(*set));

						if (!g)
							goto out;
						set = g;
						cap = cap ? cap * 2 : 16;
					}
					set[n].re_off = b * unit;
					set[n++].re_len = unit;
				}
				famfs_bitmap_mark(&fs->bm, b * unit, unit);
			}
		}
	}
out:
	*out = set;
	return n;
}

void fs_resv_unmark(struct famfs_fs *fs, struct famfs_resv_extent *set, size_t n)
{
	for (size_t k = 0; k < n; k++)
		famfs_bitmap_clear(&fs->bm, set[k].re_off, set[k].re_len);
	free(set);
}

/*
 * A header whose fields are whole but whose CRC does not match: the master was killed
 * between storing flags or generation and storing the CRC (ht_commit). The master host's
 * read-write open, holding the appender lock (no commit can be under way), stores the CRC
 * again, so the log can still be compacted. What it cannot vouch for is made safe: known
 * flags only, and the no-upstream declaration withdrawn (freed space waits again until
 * an admin declares it anew).
 */
static void repair_torn(struct famfs_fs *fs, struct famfs_ht_header *h)
{
	int tries;

	if (fs->role != FAMFS_ROLE_MASTER || fs->dev->readonly)
		return;
	for (tries = 0; flock(fs->dev->fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || tries >= 200)
			return;
		usleep(10000);
	}
	famfs_cache_invalidate(h, sizeof(*h));
	if (h->ht_crc != ht_crc(h)) {
		bool declared = h->ht_flags & FAMFS_HT_NO_UPSTREAM;

		h->ht_flags &= FAMFS_HT_COMPACTING;
		ht_commit(h);
		famfs_warn("%s: the host table header's CRC did not match (an update was "
			   "interrupted); its CRC is stored again (generation %llu%s)%s",
			   fs->dev->path, (unsigned long long)h->ht_generation,
			   h->ht_flags & FAMFS_HT_COMPACTING ? ", a compaction to finish" : "",
			   declared ? "; the no-upstream declaration is withdrawn: run "
				      "'famfs-gw hosts --no-upstream' again if it holds"
				    : "");
	}
	flock(fs->dev->fd, LOCK_UN);
}

void fs_hosts_attach(struct famfs_fs *fs)
{
	struct famfs_ht_header *h = (void *)(fs->dev->base + FAMFS_HT_OFFSET);
	struct famfs_ht_slot *s;
	uint64_t key = 0;

	famfs_cache_invalidate(h, sizeof(*h));
	if (h->ht_magic != FAMFS_HT_MAGIC) {
		if (fs->dev->readonly)
			return;
		/* An upstream-made file system: the region is unused; start a table. */
		fs_hosts_init_table(fs->sb, 0);
		famfs_info("%s: host table created", fs->dev->path);
	}
	if (h->ht_version == FAMFS_HT_VERSION && h->ht_nslots == FAMFS_HT_SLOTS &&
	    h->ht_crc != ht_crc(h))
		repair_torn(fs, h);
	if (h->ht_version != FAMFS_HT_VERSION || h->ht_nslots != FAMFS_HT_SLOTS ||
	    h->ht_crc != ht_crc(h)) {
		famfs_warn("%s: host table header is damaged (version %u, %u slots); freed space "
			   "will not be reused",
			   fs->dev->path, h->ht_version, h->ht_nslots);
		return;
	}
	fs->ht = h;
	fs->generation = h->ht_generation;
	if (fs->dev->readonly)
		return;
	famfs_cache_invalidate(slots_of(h), FAMFS_HT_SLOTS * sizeof(*s));
	key = fs_now_ns() | 1; /* the claim's time: see slot_abandoned() */
	for (int pass = 0; pass < 2 && !fs->slot; pass++) {
		for (uint32_t i = 0; i < FAMFS_HT_SLOTS; i++) {
			uint64_t expect = 0;

			s = &slots_of(h)[i];
			if (pass == 1 && s->hs_key && slot_is_dead(fs, s))
				expect = s->hs_key; /* left behind by a process that died here */
			if ((pass == 0 && s->hs_key) || (pass == 1 && !expect))
				continue;
			if (__atomic_compare_exchange_n(&s->hs_key, &expect, key, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				fs->slot = s;
				break;
			}
		}
	}
	if (!fs->slot) {
		famfs_warn("%s: host table full (%d processes); this one is not registered",
			   fs->dev->path, FAMFS_HT_SLOTS);
		return;
	}
	{
		struct famfs_resv_area *a = own_area(fs);

		a->ra_count = 0;
		a->ra_key = key;
		famfs_cache_flush(a, 32);
	}
	memcpy(fs->slot->hs_uuid, fs->system_uuid, FAMFS_UUID_LEN);
	fs->slot->hs_pid = (uint32_t)getpid();
	fs->slot->hs_flags = 0;
	/* Nothing replayed yet: hold back all space until the first publish. */
	fs->slot->hs_generation = fs->generation;
	fs->slot->hs_replayed = 0;
	fs->slot->hs_safe = 0;
	fs->slot->hs_heartbeat_ns = fs_now_ns();
	famfs_cache_flush(fs->slot, sizeof(*fs->slot));
}

void fs_hosts_detach(struct famfs_fs *fs)
{
	if (!fs->slot)
		return;
	if (fs->ht) {
		own_area(fs)->ra_count = 0;
		famfs_cache_flush(own_area(fs), 32);
	}
	memset((uint8_t *)fs->slot + sizeof(uint64_t), 0, sizeof(*fs->slot) - sizeof(uint64_t));
	__atomic_store_n(&fs->slot->hs_key, 0, __ATOMIC_RELEASE);
	famfs_cache_flush(fs->slot, sizeof(*fs->slot));
	fs->slot = NULL;
}

uint64_t fs_own_safe(struct famfs_fs *fs)
{
	uint64_t safe = fs->stats.entries;

	if (!fs->npins)
		return safe;
	/* A file held open from before a log compaction: its old log position is gone, so
	 * hold back all reuse until it is closed. */
	for (size_t r = 0; r < fs->nretired; r++) {
		const struct famfs_ns *ns = &fs->retired[r];

		for (const struct famfs_inode *i = ns->graveyard; i; i = i->ino_next) {
			if (i->pins)
				return 0;
		}
		for (size_t b = 0; b < ns->by_ino_cap; b++) {
			for (const struct famfs_inode *i = ns->by_ino[b]; i; i = i->ino_next) {
				if (i->pins)
					return 0;
			}
		}
	}
	for (const struct famfs_inode *i = fs->ns.graveyard; i; i = i->ino_next) {
		if (i->pins && i->removed_at < safe)
			safe = i->removed_at;
	}
	return safe;
}

void fs_hosts_publish(struct famfs_fs *fs)
{
	if (!fs->slot)
		return;
	fs->slot->hs_generation = fs->generation;
	fs->slot->hs_replayed = fs->stats.entries;
	/* The graveyard and the retired views change under replay: read them locked. */
	pthread_rwlock_rdlock(&fs->ns_lock);
	fs->slot->hs_safe = fs_own_safe(fs);
	pthread_rwlock_unlock(&fs->ns_lock);
	fs->slot->hs_heartbeat_ns = fs_now_ns();
	famfs_cache_flush(fs->slot, sizeof(*fs->slot));
}

uint64_t fs_hosts_min_safe(struct famfs_fs *fs, char *who, size_t wholen)
{
	uint64_t min = UINT64_MAX;

	if (!fs->ht) {
		famfs_why(who, wholen, "no host table");
		return 0;
	}
	famfs_cache_invalidate(slots_of(fs->ht), FAMFS_HT_SLOTS * sizeof(struct famfs_ht_slot));
	for (uint32_t i = 0; i < FAMFS_HT_SLOTS; i++) {
		struct famfs_ht_slot *s = &slots_of(fs->ht)[i];
		uint64_t key = __atomic_load_n(&s->hs_key, __ATOMIC_ACQUIRE), safe;

		if (!key)
			continue;
		if (s == fs->slot) {
			safe = fs_own_safe(fs);
		} else if (slot_is_dead(fs, s)) {
			if (__atomic_compare_exchange_n(&s->hs_key, &key, 0, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				famfs_info("host slot %u: process %u is gone; slot freed", i,
					   s->hs_pid); /* pid 0: killed while registering */
			continue;
		} else {
			safe = s->hs_generation == fs->generation ? s->hs_safe : 0;
		}
		if (safe < min) {
			char u[37];

			min = safe;
			famfs_uuid_format(s->hs_uuid, u);
			famfs_why(who, wholen, "host slot %u (system %s, pid %u, safe at %llu)", i,
				  u, s->hs_pid, (unsigned long long)safe);
		}
	}
	return min;
}

/* ------------------------------------------------------------------ public API */

int famfs_fs_hosts(struct famfs_fs *fs, struct famfs_host_info *out, size_t max)
{
	size_t n = 0;

	if (!fs->ht)
		return -ENODATA;
	famfs_cache_invalidate(slots_of(fs->ht), FAMFS_HT_SLOTS * sizeof(struct famfs_ht_slot));
	for (uint32_t i = 0; i < FAMFS_HT_SLOTS && n < max; i++) {
		const struct famfs_ht_slot *s = &slots_of(fs->ht)[i];

		if (!__atomic_load_n(&s->hs_key, __ATOMIC_ACQUIRE))
			continue;
		out[n].slot = i;
		memcpy(out[n].uuid, s->hs_uuid, FAMFS_UUID_LEN);
		out[n].pid = s->hs_pid;
		out[n].generation = s->hs_generation;
		out[n].replayed = s->hs_replayed;
		if (s == fs->slot) {
			pthread_rwlock_rdlock(&fs->ns_lock);
			out[n].safe = fs_own_safe(fs);
			pthread_rwlock_unlock(&fs->ns_lock);
		} else {
			out[n].safe = s->hs_safe;
		}
		out[n].heartbeat_ns = s->hs_heartbeat_ns;
		out[n].self = s == fs->slot;
		out[n].local = memcmp(s->hs_uuid, fs->system_uuid, FAMFS_UUID_LEN) == 0;
		out[n].dead = slot_is_dead(fs, s);
		n++;
	}
	return (int)n;
}

int famfs_fs_set_no_upstream(struct famfs_fs *fs, bool no_upstream)
{
	int rc = famfs_fs_lock(fs);

	if (rc)
		return rc;
	if (!fs->ht) {
		famfs_fs_unlock(fs);
		return -ENODATA;
	}
	if (no_upstream)
		fs->ht->ht_flags |= FAMFS_HT_NO_UPSTREAM;
	else
		fs->ht->ht_flags &= ~(uint32_t)FAMFS_HT_NO_UPSTREAM;
	ht_commit(fs->ht);
	famfs_fs_unlock(fs);
	return 0;
}

bool famfs_fs_no_upstream(const struct famfs_fs *fs)
{
	return fs->ht && (fs->ht->ht_flags & FAMFS_HT_NO_UPSTREAM);
}

int famfs_fs_evict_host(struct famfs_fs *fs, unsigned int slot)
{
	struct famfs_ht_slot *s;
	int rc;

	if (!fs->ht || slot >= FAMFS_HT_SLOTS)
		return -EINVAL;
	s = &slots_of(fs->ht)[slot];
	if (s == fs->slot)
		return -EBUSY;
	rc = famfs_fs_lock(fs);
	if (rc)
		return rc;
	if (!__atomic_load_n(&s->hs_key, __ATOMIC_ACQUIRE)) {
		famfs_fs_unlock(fs);
		return -ENOENT;
	}
	memset((uint8_t *)s + sizeof(uint64_t), 0, sizeof(*s) - sizeof(uint64_t));
	__atomic_store_n(&s->hs_key, 0, __ATOMIC_RELEASE);
	famfs_cache_flush(s, sizeof(*s));
	famfs_fs_unlock(fs);
	return 0;
}

void fs_hosts_commit(struct famfs_fs *fs)
{
	ht_commit(fs->ht);
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file cmd_admin.c
 * @brief famfs-gw mkfs, info, fsck and log.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "famfs/cache.h"
#include "famfs/dev.h"
#include "famfs/fsck.h"
#include "famfs/omf_ext.h"
#include "gw.h"
#include "json.h"

static const struct option json_opts[] = {
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

/* Parse a command that takes only --json and no arguments. */
static int parse_json_only(int argc, char **argv, bool *json)
{
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "j", json_opts, NULL)) != -1) {
		if (c != 'j')
			return gw_usage(argv[0], true);
		*json = true;
	}
	if (optind != argc) {
		gw_error(argv[0], "unexpected argument '%s'", argv[optind]);
		return gw_usage(argv[0], true);
	}
	return 0;
}

int cmd_mkfs(int argc, char **argv, struct gw_ctx *ctx)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},	     {"log-size", required_argument, NULL, 'l'},
	    {"size", required_argument, NULL, 's'},  {"fs-uuid", required_argument, NULL, 'F'},
	    {"no-upstream", no_argument, NULL, 'n'}, {NULL, 0, NULL, 0},
	};
	struct famfs_mkfs_opts mo = {.system_uuid = ctx->system_uuid};
	struct famfs_dev_opts dopts = {.offset = ctx->dev_offset};
	struct famfs_dev *dev;
	uint64_t size = 0;
	bool created = false;
	const char *path;
	struct stat st;
	int c, rc;

	while ((c = getopt_long(argc, argv, "fl:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			mo.force = true;
			break;
		case 'l':
			if (gw_parse_size(optarg, &mo.log_len)) {
				gw_error("mkfs", "--log-size '%s' is not a size", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 's':
			if (gw_parse_size(optarg, &size)) {
				gw_error("mkfs", "--size '%s' is not a size", optarg);
				return GW_EXIT_USAGE;
			}
			break;
		case 'F':
			mo.fs_uuid = optarg;
			break;
		case 'n':
			mo.no_upstream = true;
			break;
		default:
			return gw_usage("mkfs", true);
		}
	}
	if (optind != argc) {
		gw_error("mkfs", "unexpected argument '%s' (the device comes from -d)",
			 argv[optind]);
		return GW_EXIT_USAGE;
	}
	path = gw_device(ctx, "mkfs");
	if (!path)
		return GW_EXIT_USAGE;
	if (mo.log_len && (mo.log_len < FAMFS_LOG_LEN_MIN || (mo.log_len & (mo.log_len - 1)))) {
		gw_error("mkfs", "--log-size %llu is not a power of two of at least 8M",
			 (unsigned long long)mo.log_len);
		return GW_EXIT_USAGE;
	}
	if (size && stat(path, &st) < 0 && errno == ENOENT) {
		rc = famfs_dev_create_file(path, size);
		if (rc)
			return GW_EXIT_FAIL;
		created = true;
	} else if (size) {
		gw_error("mkfs", "%s exists; --size only applies to a new file", path);
		return GW_EXIT_FAIL;
	}
	rc = famfs_dev_open(path, &dopts, &dev);
	if (rc) {
		gw_error("mkfs", "%s: cannot open the device: %s", path, strerror(-rc));
		if (created)
			unlink(path);
		return GW_EXIT_FAIL;
	}
	rc = famfs_mkfs(dev, &mo);
	if (rc && created)
		unlink(path);
	if (rc == 0) {
		char uuid[37];

		famfs_uuid_format(((const struct famfs_superblock *)dev->base)->sb_uuid, uuid);
		printf("famfs created on %s: %llu bytes, log %llu bytes, uuid %s\n", path,
		       (unsigned long long)dev->size,
		       (unsigned long long)((const struct famfs_superblock *)dev->base)->sb_log_len,
		       uuid);
	} else {
		gw_error("mkfs", "%s: %s", path, strerror(-rc));
	}
	famfs_dev_close(dev);
	return rc ? GW_EXIT_FAIL : GW_EXIT_OK;
}

int cmd_info(int argc, char **argv, struct gw_ctx *ctx)
{
	const struct famfs_superblock *sb;
	const struct famfs_log_header *lh;
	const struct famfs_bitmap *bm;
	struct famfs_fs *fs;
	char fsu[37], devu[37], sysu[37], ddu[37], me[37];
	bool json;
	int rc;

	rc = parse_json_only(argc, argv, &json);
	if (rc)
		return rc;
	if (gw_open(ctx, "info", false, &fs))
		return GW_EXIT_FAIL;
	sb = famfs_fs_sb(fs);
	lh = famfs_fs_log(fs);
	bm = famfs_fs_bitmap(fs);
	famfs_uuid_format(sb->sb_uuid, fsu);
	famfs_uuid_format(sb->sb_dev_uuid, devu);
	famfs_uuid_format(sb->sb_system_uuid, sysu);
	famfs_uuid_format(sb->sb_daxdev.dd_uuid, ddu);
	famfs_uuid_format(famfs_fs_system_uuid(fs), me);
	if (json) {
		struct jw w;
		char omf[24];

		snprintf(omf, sizeof(omf), "%u.%u", sb->sb_omf_major, sb->sb_omf_minor);
		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "device", famfs_fs_dev(fs)->path);
		jw_bool(&w, "devdax", famfs_fs_dev(fs)->is_dax);
		jw_str(&w, "role", famfs_fs_role(fs) == FAMFS_ROLE_MASTER ? "master" : "client");
		jw_str(&w, "host_system_uuid", me);
		jw_obj_begin(&w, "superblock");
		jw_hex(&w, "magic", sb->sb_magic);
		jw_u64(&w, "version", sb->sb_version);
		jw_hex(&w, "log_offset", sb->sb_log_offset);
		jw_hex(&w, "log_len", sb->sb_log_len);
		jw_hex(&w, "alloc_unit", sb->sb_alloc_unit);
		jw_str(&w, "omf", omf);
		jw_str(&w, "fs_uuid", fsu);
		jw_str(&w, "dev_uuid", devu);
		jw_str(&w, "system_uuid", sysu);
		jw_hex(&w, "crc", sb->sb_crc);
		jw_u64(&w, "sb_flags", sb->sb_flags);
		jw_obj_begin(&w, "daxdev");
		jw_u64(&w, "size", sb->sb_daxdev.dd_size);
		jw_str(&w, "uuid", ddu);
		jw_strn(&w, "name", sb->sb_daxdev.dd_name, sizeof(sb->sb_daxdev.dd_name));
		jw_obj_end(&w);
		jw_obj_end(&w);
		jw_obj_begin(&w, "log");
		jw_hex(&w, "magic", lh->lh_magic);
		jw_hex(&w, "len", lh->lh_len);
		jw_u64(&w, "last_index", lh->lh_last_index);
		jw_hex(&w, "crc", lh->lh_crc);
		jw_u64(&w, "next_seqnum", lh->lh_next_seqnum);
		jw_u64(&w, "next_index", lh->lh_next_index);
		jw_obj_end(&w);
		jw_obj_begin(&w, "space");
		jw_u64(&w, "capacity", bm->nbits * bm->unit);
		jw_u64(&w, "reserved", bm->reserved * bm->unit);
		jw_u64(&w, "used", (bm->nset - bm->reserved) * bm->unit);
		jw_u64(&w, "free", famfs_bitmap_free_bytes(bm));
		jw_obj_end(&w);
		jw_obj_end(&w);
		jw_finish(&w);
	} else {
		printf("device:        %s (%s)\n", famfs_fs_dev(fs)->path,
		       famfs_fs_dev(fs)->is_dax ? "devdax" : "file");
		printf("role:          %s (this host %s)\n",
		       famfs_fs_role(fs) == FAMFS_ROLE_MASTER ? "master" : "client", me);
		printf("superblock:    magic 0x%llx, version %llu, OMF %u.%u, crc 0x%llx\n",
		       (unsigned long long)sb->sb_magic, (unsigned long long)sb->sb_version,
		       sb->sb_omf_major, sb->sb_omf_minor, (unsigned long long)sb->sb_crc);
		printf("fs uuid:       %s\n", fsu);
		printf("dev uuid:      %s\n", devu);
		printf("master uuid:   %s\n", sysu);
		printf("daxdev:        %.64s, %llu bytes\n", sb->sb_daxdev.dd_name,
		       (unsigned long long)sb->sb_daxdev.dd_size);
		printf("alloc unit:    0x%llx\n", (unsigned long long)sb->sb_alloc_unit);
		printf("log:           offset 0x%llx, length 0x%llx, crc 0x%llx\n",
		       (unsigned long long)sb->sb_log_offset, (unsigned long long)lh->lh_len,
		       (unsigned long long)lh->lh_crc);
		printf("log entries:   %llu of %llu used (next seqnum %llu)\n",
		       (unsigned long long)lh->lh_next_index,
		       (unsigned long long)lh->lh_last_index + 1,
		       (unsigned long long)lh->lh_next_seqnum);
		printf("space:         %llu bytes, %llu used, %llu free\n",
		       (unsigned long long)(bm->nbits * bm->unit),
		       (unsigned long long)((bm->nset - bm->reserved) * bm->unit),
		       (unsigned long long)famfs_bitmap_free_bytes(bm));
		printf("cache flush:   %s\n", famfs_cache_flush_method());
	}
	famfs_fs_close(fs);
	return GW_EXIT_OK;
}

int cmd_fsck(int argc, char **argv, struct gw_ctx *ctx)
{
	struct famfs_dev_opts dopts = {.readonly = true, .offset = ctx->dev_offset};
	struct famfs_fsck_report r;
	struct famfs_dev *dev;
	const char *path;
	bool json;
	int rc;

	rc = parse_json_only(argc, argv, &json);
	if (rc)
		return rc;
	path = gw_device(ctx, "fsck");
	if (!path)
		return GW_EXIT_USAGE;
	rc = famfs_dev_open(path, &dopts, &dev);
	if (rc) {
		gw_error("fsck", "%s: cannot open the device: %s", path, strerror(-rc));
		return GW_EXIT_FAIL;
	}
	rc = famfs_fsck(dev, &r);
	if (rc < 0) {
		gw_error("fsck", "%s: %s", path, strerror(-rc));
		famfs_dev_close(dev);
		return GW_EXIT_FAIL;
	}
	if (json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "device", path);
		jw_bool(&w, "clean", r.nerrors == 0);
		jw_u64(&w, "errors", r.nerrors);
		jw_u64(&w, "warnings", r.nwarnings);
		jw_bool(&w, "superblock_valid", r.sb_valid);
		jw_bool(&w, "log_valid", r.log_valid);
		jw_u64(&w, "version", r.version);
		jw_u64(&w, "log_slots", r.log_slots);
		jw_u64(&w, "log_used", r.log_used);
		jw_u64(&w, "entries_valid", r.entries_valid);
		jw_u64(&w, "files", r.files);
		jw_u64(&w, "directories", r.dirs);
		jw_u64(&w, "other_entries", r.other);
		jw_u64(&w, "extension_entries", r.ext_entries);
		jw_u64(&w, "live_files", r.live_files);
		jw_u64(&w, "live_directories", r.live_dirs);
		jw_u64(&w, "pending", r.pending);
		jw_u64(&w, "leaked", r.leaked);
		jw_u64(&w, "generation", r.generation);
		jw_u64(&w, "bad_entries", r.bad_entries);
		jw_u64(&w, "bad_payloads", r.bad_payloads);
		jw_u64(&w, "collisions", r.collisions);
		jw_u64(&w, "capacity", r.capacity);
		jw_u64(&w, "reserved", r.reserved);
		jw_u64(&w, "used", r.used);
		jw_u64(&w, "free", r.free);
		jw_arr_begin(&w, "problems");
		for (size_t i = 0; i < r.nproblems; i++) {
			jw_obj_begin(&w, NULL);
			jw_str(&w, "severity",
			       r.problems[i].severity == FAMFS_FSCK_ERROR ? "error" : "warning");
			jw_str(&w, "where", r.problems[i].where);
			jw_str(&w, "what", r.problems[i].what);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_finish(&w);
	} else {
		for (size_t i = 0; i < r.nproblems; i++)
			printf("%s: %s: %s\n",
			       r.problems[i].severity == FAMFS_FSCK_ERROR ? "ERROR" : "warning",
			       r.problems[i].where, r.problems[i].what);
		if (r.sb_valid && r.log_valid) {
			printf("superblock: version %llu, valid\n", (unsigned long long)r.version);
			printf("log: %llu of %llu entries used (generation %llu); %llu valid (%llu "
			       "files, %llu directories, %llu extension, %llu other), %llu bad\n",
			       (unsigned long long)r.log_used, (unsigned long long)r.log_slots,
			       (unsigned long long)r.generation,
			       (unsigned long long)r.entries_valid, (unsigned long long)r.files,
			       (unsigned long long)r.dirs, (unsigned long long)r.ext_entries,
			       (unsigned long long)r.other,
			       (unsigned long long)(r.bad_entries + r.bad_payloads));
			printf("namespace: %llu files, %llu directories\n",
			       (unsigned long long)r.live_files, (unsigned long long)r.live_dirs);
			printf("allocation: %llu collisions; capacity %llu, reserved %llu, used "
			       "%llu (%llu waiting for reuse), free %llu, leaked %llu bytes\n",
			       (unsigned long long)r.collisions, (unsigned long long)r.capacity,
			       (unsigned long long)r.reserved, (unsigned long long)r.used,
			       (unsigned long long)r.pending, (unsigned long long)r.free,
			       (unsigned long long)r.leaked);
		}
		printf("%s: %zu error(s), %zu warning(s)\n", path, r.nerrors, r.nwarnings);
	}
	rc = r.nerrors ? GW_EXIT_FAIL : GW_EXIT_OK;
	famfs_fsck_report_free(&r);
	famfs_dev_close(dev);
	return rc;
}

static void json_extent(struct jw *w, const struct famfs_omf_extent *e)
{
	jw_obj_begin(w, NULL);
	jw_u64(w, "devindex", e->ext_devindex);
	jw_hex(w, "offset", e->ext_offset);
	jw_hex(w, "len", e->ext_len);
	jw_obj_end(w);
}

void gw_json_fmap(struct jw *w, const struct famfs_omf_fmap *m)
{
	jw_u64(w, "ext_type", m->fmap_ext_type);
	if (m->fmap_ext_type == FAMFS_EXT_INTERLEAVE) {
		const struct famfs_omf_interleave *ie = &m->ie[0];

		jw_u64(w, "niext", m->fmap_count);
		jw_u64(w, "nstrips", ie->ie_nstrips);
		jw_hex(w, "chunk_size", ie->ie_chunk_size);
		jw_arr_begin(w, "strips");
		for (uint64_t k = 0; k < ie->ie_nstrips && k < FAMFS_MAX_STRIPS; k++)
			json_extent(w, &ie->ie_strips[k]);
		jw_arr_end(w);
	} else {
		jw_arr_begin(w, "extents");
		for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			json_extent(w, &m->se[k]);
		jw_arr_end(w);
	}
}

static void print_fmap(const struct famfs_omf_fmap *m)
{
	if (m->fmap_ext_type == FAMFS_EXT_INTERLEAVE) {
		const struct famfs_omf_interleave *ie = &m->ie[0];

		printf(" interleaved: %llu strips, chunk 0x%llx:",
		       (unsigned long long)ie->ie_nstrips, (unsigned long long)ie->ie_chunk_size);
		for (uint64_t k = 0; k < ie->ie_nstrips && k < FAMFS_MAX_STRIPS; k++)
			printf(" [0x%llx +0x%llx]", (unsigned long long)ie->ie_strips[k].ext_offset,
			       (unsigned long long)ie->ie_strips[k].ext_len);
	} else {
		printf(" extents:");
		for (uint32_t k = 0; k < m->fmap_count && k < FAMFS_MAX_SIMPLE_EXT; k++)
			printf(" [0x%llx +0x%llx]", (unsigned long long)m->se[k].ext_offset,
			       (unsigned long long)m->se[k].ext_len);
	}
}

int cmd_log(int argc, char **argv, struct gw_ctx *ctx)
{
	const struct famfs_log_header *lh;
	struct famfs_fs *fs;
	struct jw w;
	bool json;
	int rc, bad = 0;

	rc = parse_json_only(argc, argv, &json);
	if (rc)
		return rc;
	if (gw_open(ctx, "log", false, &fs))
		return GW_EXIT_FAIL;
	lh = famfs_fs_log(fs);
	if (json) {
		jw_init(&w, stdout);
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "next_index", lh->lh_next_index);
		jw_u64(&w, "last_index", lh->lh_last_index);
		jw_arr_begin(&w, "entries");
	}
	for (uint64_t i = 0; i < lh->lh_next_index; i++) {
		const struct famfs_log_entry *le = &lh->lh_entries[i];
		char why[200];
		bool valid = famfs_log_entry_check(le, i, why, sizeof(why)) == 0;

		bad += !valid;
		if (json) {
			jw_obj_begin(&w, NULL);
			jw_u64(&w, "index", i);
			jw_u64(&w, "seqnum", le->le_seqnum);
			jw_hex(&w, "crc", le->le_crc);
			jw_bool(&w, "valid", valid);
			if (!valid)
				jw_str(&w, "error", why);
			if (le->le_type == FAMFS_LOG_MKDIR) {
				jw_str(&w, "type", "dir");
				jw_strn(&w, "path", le->le_mkdir.md_relpath, FAMFS_MAX_PATHLEN);
				jw_oct(&w, "mode", le->le_mkdir.md_mode);
				jw_u64(&w, "uid", le->le_mkdir.md_uid);
				jw_u64(&w, "gid", le->le_mkdir.md_gid);
			} else if (le->le_type == FAMFS_LOG_FILE) {
				const struct famfs_omf_file *f = &le->le_file;

				jw_str(&w, "type", "file");
				jw_strn(&w, "path", f->fm_relpath, FAMFS_MAX_PATHLEN);
				jw_u64(&w, "size", f->fm_size);
				jw_u64(&w, "flags", f->fm_flags);
				jw_oct(&w, "mode", f->fm_mode);
				jw_u64(&w, "uid", f->fm_uid);
				jw_u64(&w, "gid", f->fm_gid);
				gw_json_fmap(&w, &f->fm_fmap);
			} else if (le->le_type == FAMFS_LOG_ADD_DAXDEV) {
				char u[37];

				famfs_uuid_format(le->le_daxdev.ad_uuid, u);
				jw_str(&w, "type", "add_daxdev");
				jw_u64(&w, "dd_size", le->le_daxdev.ad_size);
				jw_str(&w, "dd_uuid", u);
				jw_u64(&w, "dd_index", le->le_daxdev.ad_index);
			} else {
				jw_str(&w, "type", famfs_log_entry_type_name(le->le_type));
				jw_u64(&w, "type_code", le->le_type);
				if (famfs_xe_is_ext(le->le_type))
					jw_u64(
					    &w, "ino",
					    ((const struct famfs_xe_hdr *)le->le_payload)->xh_ino);
			}
			jw_obj_end(&w);
			continue;
		}
		printf("%6llu %-9s ", (unsigned long long)i,
		       le->le_type == FAMFS_LOG_MKDIR ? "mkdir"
						      : famfs_log_entry_type_name(le->le_type));
		if (!valid) {
			printf("INVALID: %s\n", why);
			continue;
		}
		if (le->le_type == FAMFS_LOG_MKDIR) {
			printf("%.80s mode 0%o uid %u gid %u\n", le->le_mkdir.md_relpath,
			       le->le_mkdir.md_mode, le->le_mkdir.md_uid, le->le_mkdir.md_gid);
		} else if (le->le_type == FAMFS_LOG_FILE) {
			const struct famfs_omf_file *f = &le->le_file;

			printf("%.80s size %llu mode 0%o uid %u gid %u", f->fm_relpath,
			       (unsigned long long)f->fm_size, f->fm_mode, f->fm_uid, f->fm_gid);
			print_fmap(&f->fm_fmap);
			putchar('\n');
		} else if (le->le_type == FAMFS_LOG_ADD_DAXDEV) {
			printf("index %u size %llu\n", le->le_daxdev.ad_index,
			       (unsigned long long)le->le_daxdev.ad_size);
		} else if (famfs_xe_is_ext(le->le_type)) {
			const struct famfs_xe_hdr *h = (const void *)le->le_payload;

			printf("extension v%u, inode %llu\n", h->xh_version,
			       (unsigned long long)h->xh_ino);
		} else {
			printf("type %u\n", le->le_type);
		}
	}
	if (json) {
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_finish(&w);
	} else {
		printf("%llu entries, %d invalid\n", (unsigned long long)lh->lh_next_index, bad);
	}
	famfs_fs_close(fs);
	return bad ? GW_EXIT_FAIL : GW_EXIT_OK;
}

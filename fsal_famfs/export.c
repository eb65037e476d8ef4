/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file export.c
 * @brief FSAL_FAMFS exports: the FSAL { } block, create/release, root lookup,
 *        handle decoding, file-system statistics, state allocation.
 *
 * Export block:
 *
 *     EXPORT { Path = /dir1;  ...
 *              FSAL { Name = FAMFS; Device = "/dev/dax0.0";
 *                     System_UUID = "...";   # optional host identity
 *                     Device_Offset = 0; } }
 *
 * Path is the directory inside famfs that the export serves ("/" for all).
 * On a host that is not the famfs master the export is served read-only:
 * every change answers ERR_FSAL_ROFS and the log says so.
 */

#include "internal.h"

#include <string.h>
#include <sys/stat.h>

#include "config_parsing.h"
#include "export_mgr.h"
#include "famfs/alloc.h"
#include "nfs_exports.h"

static struct config_item famfs_export_params[] = {
    CONF_ITEM_NOOP("name"), CONF_MAND_PATH("Device", 1, 4095, NULL, famfs_fsal_export, device),
    CONF_ITEM_STR("System_UUID", 0, 36, NULL, famfs_fsal_export, system_uuid),
    CONF_ITEM_UI64("Device_Offset", 0, UINT64_MAX, 0, famfs_fsal_export, dev_offset), CONFIG_EOL};

static struct config_block famfs_export_block = {.dbus_interface_name =
						     "org.ganesha.nfsd.config.fsal.famfs-export%d",
						 .blk_desc.name = "FSAL",
						 .blk_desc.type = CONFIG_BLOCK,
						 .blk_desc.u.blk.init = noop_conf_init,
						 .blk_desc.u.blk.params = famfs_export_params,
						 .blk_desc.u.blk.commit = noop_conf_commit};

/**
 * @brief Unexport: stop sending up-calls through this export before its
 *        references drain (the follower never takes a reference on an export
 *        that is going away).
 *
 * @param[in] exp_hdl  the export
 */
static void famfs_prepare_unexport(struct fsal_export *exp_hdl)
{
	struct famfs_fsal_export *exp = container_of(exp_hdl, struct famfs_fsal_export, export);

	if (exp->dev)
		famfs_up_detach(exp->dev, exp);
}

/**
 * @brief Release an export: detach from the device's follower, drop the device.
 *
 * @param[in] exp_hdl  the export
 */
static void famfs_release_export(struct fsal_export *exp_hdl)
{
	struct famfs_fsal_export *exp = container_of(exp_hdl, struct famfs_fsal_export, export);

	LogDebug(COMPONENT_FSAL, "FAMFS: releasing export on %s", exp->device);
	if (exp->dev) {
		famfs_up_detach(exp->dev, exp);
		famfs_device_put(exp->dev);
		exp->dev = NULL;
	}
	fsal_detach_export(exp_hdl->fsal, &exp_hdl->exports);
	free_export_ops(exp_hdl);
	gsh_free(exp->device);
	gsh_free(exp->system_uuid);
	gsh_free(exp);
}

/**
 * @brief Resolve the export's Path inside famfs.
 *
 * @param[in]  exp_hdl    the export
 * @param[in]  path       the export Path ("/", "/dir1")
 * @param[out] handle     the directory's handle
 * @param[out] attrs_out  its attributes (optional)
 *
 * @return FSAL status; ERR_FSAL_NOENT / NOTDIR when Path is not a directory.
 */
static fsal_status_t famfs_lookup_path(struct fsal_export *exp_hdl, const char *path,
				       struct fsal_obj_handle **handle,
				       struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_export *exp = container_of(exp_hdl, struct famfs_fsal_export, export);
	char rel[FAMFS_MAX_PATHLEN + 1];
	struct famfs_attr a;
	int rc;

	rc = famfs_path_to_relpath(path, rel, sizeof(rel));
	if (rc == 0)
		rc = famfs_ll_resolve(exp->dev->ll, rel, &a);
	if (rc == 0 && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (rc) {
		LogCrit(COMPONENT_FSAL, "FAMFS: export path %s on %s: %s", path, exp->device,
			strerror(-rc));
		return famfs2fsal_error(rc);
	}
	return famfs_handle_from_ino(exp, a.ino, handle, attrs_out);
}

/**
 * @brief Check and normalise a wire handle in place.
 *
 * @param[in]     exp_hdl  the export
 * @param[in]     in_type  digest type (unused: one format)
 * @param[in,out] fh_desc  the handle
 * @param[in]     flags    FH_FSAL_BIG_ENDIAN when the handle came big-endian
 *
 * @return ERR_FSAL_BADHANDLE when it cannot be ours, ERR_FSAL_STALE when it
 *         names another file system.
 */
static fsal_status_t famfs_wire_to_host(struct fsal_export *exp_hdl, fsal_digesttype_t in_type,
					struct gsh_buffdesc *fh_desc, int flags)
{
	struct famfs_fsal_export *exp = container_of(exp_hdl, struct famfs_fsal_export, export);
	struct famfs_fh fh;

	(void)in_type;
	if (fh_desc->len < sizeof(fh)) {
		LogMajor(COMPONENT_FSAL, "FAMFS: handle of %zu bytes, expected %zu", fh_desc->len,
			 sizeof(fh));
		return fsalstat(ERR_FSAL_BADHANDLE, 0);
	}
	/* The wire form is the key (the inode number stays little endian in both). */
	(void)flags;
	memcpy(&fh, fh_desc->addr, sizeof(fh));
	if (memcmp(fh.fs_uuid, exp->dev->fs_uuid, FAMFS_UUID_LEN) != 0)
		return fsalstat(ERR_FSAL_STALE, ESTALE);
	fh_desc->len = sizeof(fh);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief Turn a host handle (as wire_to_host left it) into an object.
 *
 * @param[in]  exp_hdl    the export
 * @param[in]  fh_desc    the handle
 * @param[out] handle     the object
 * @param[out] attrs_out  its attributes (optional)
 *
 * @return FSAL status; ERR_FSAL_STALE for an inode that no longer exists.
 */
static fsal_status_t famfs_create_handle(struct fsal_export *exp_hdl, struct gsh_buffdesc *fh_desc,
					 struct fsal_obj_handle **handle,
					 struct fsal_attrlist *attrs_out)
{
	struct famfs_fsal_export *exp = container_of(exp_hdl, struct famfs_fsal_export, export);
	struct famfs_fh fh;

	*handle = NULL;
	if (fh_desc->len != sizeof(fh))
		return fsalstat(ERR_FSAL_BADHANDLE, 0);
	memcpy(&fh, fh_desc->addr, sizeof(fh));
	if (memcmp(fh.fs_uuid, exp->dev->fs_uuid, FAMFS_UUID_LEN) != 0)
		return fsalstat(ERR_FSAL_STALE, ESTALE);
	return famfs_handle_from_ino(exp, le64toh(fh.ino), handle, attrs_out);
}

/**
 * @brief Space and entry counts: data area from the allocation bitmap,
 *        "files" from the log's free slots.
 *
 * @param[in]  exp_hdl  the export
 * @param[in]  obj_hdl  unused
 * @param[out] info     the statistics
 *
 * @return FSAL status
 */
static fsal_status_t famfs_get_dynamic_info(struct fsal_export *exp_hdl,
					    struct fsal_obj_handle *obj_hdl,
					    fsal_dynamicfsinfo_t *info)
{
	struct famfs_fsal_export *exp = container_of(exp_hdl, struct famfs_fsal_export, export);
	struct famfs_ll_statfs s;

	(void)obj_hdl;
	famfs_ll_statfs(exp->dev->ll, &s);
	memset(info, 0, sizeof(*info));
	info->total_bytes = s.blocks * s.unit;
	info->free_bytes = s.bfree * s.unit;
	info->avail_bytes = info->free_bytes;
	info->total_files = s.files;
	info->free_files = s.ffree;
	info->avail_files = info->free_files;
	info->maxread = FSAL_MAXIOSIZE;
	info->maxwrite = FSAL_MAXIOSIZE;
	info->time_delta.tv_sec = 0;
	info->time_delta.tv_nsec = 1;
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief Allocate a state with the FSAL descriptor after it.
 *
 * @param[in] exp_hdl        the export
 * @param[in] state_type     the state type
 * @param[in] related_state  related state, or NULL
 *
 * @return the state (gsh_calloc aborts on out-of-memory)
 */
static struct state_t *famfs_alloc_state(struct fsal_export *exp_hdl, enum state_type state_type,
					 struct state_t *related_state)
{
	struct famfs_state_fd *s = gsh_calloc(1, sizeof(*s));

	s->fd.openflags = FSAL_O_CLOSED;
	return init_state(&s->state, exp_hdl, state_type, related_state);
}

/**
 * @brief Free a state allocated by famfs_alloc_state().
 *
 * @param[in] exp_hdl  the export
 * @param[in] state    the state
 */
static void famfs_free_state(struct fsal_export *exp_hdl, struct state_t *state)
{
	struct famfs_state_fd *s = container_of(state, struct famfs_state_fd, state);

	(void)exp_hdl;
	gsh_free(s);
}

/**
 * @brief The export operations of FSAL_FAMFS.
 *
 * @param[in,out] ops  defaults in, FAMFS operations out
 */
static void famfs_export_ops_init(struct export_ops *ops)
{
	ops->release = famfs_release_export;
	ops->prepare_unexport = famfs_prepare_unexport;
	ops->lookup_path = famfs_lookup_path;
	ops->wire_to_host = famfs_wire_to_host;
	ops->create_handle = famfs_create_handle;
	ops->get_fs_dynamic_info = famfs_get_dynamic_info;
	ops->alloc_state = famfs_alloc_state;
	ops->free_state = famfs_free_state;
}

static const char *famfs_open_reason(int rc)
{
	switch (rc) {
	case -ENODATA:
		return "no famfs superblock on the device (not a famfs)";
	case -EPROTONOSUPPORT:
		return "unsupported famfs version";
	case -EBADMSG:
		return "CRC mismatch in the superblock or log header";
	case -EINVAL:
		return "inconsistent superblock fields or bad offset";
	case -ENOSPC:
		return "too small to hold a famfs (not a famfs)";
	case -ENOENT:
		return "no such device or file";
	case -ENODEV:
		return "a character device that is not devdax";
	default:
		return strerror(-rc);
	}
}

/**
 * @brief Create an export from an EXPORT block's FSAL { } sub-block.
 *
 * @param[in]  fsal_hdl    this module
 * @param[in]  parse_node  the FSAL { } block
 * @param[out] err_type    configuration errors
 * @param[in]  up_ops      the export's up-call vector
 *
 * @return FSAL status; an error for a missing Device or one that holds no
 *         usable famfs (the reason is logged with LogCrit).
 */
fsal_status_t famfs_create_export(struct fsal_module *fsal_hdl, void *parse_node,
				  struct config_error_type *err_type,
				  const struct fsal_up_vector *up_ops)
{
	struct famfs_fsal_export *exp = gsh_calloc(1, sizeof(*exp));
	fsal_status_t status;
	bool want_rw;
	int rc;

	fsal_export_init(&exp->export);
	famfs_export_ops_init(&exp->export.exp_ops);
	glist_init(&exp->dev_node);

	rc = load_config_from_node(parse_node, &famfs_export_block, exp, true, err_type);
	if (rc != 0 || !exp->device) {
		LogCrit(COMPONENT_CONFIG,
			"FAMFS: export %s: invalid FSAL block (Device = \"/path\"; is required)",
			CTX_FULLPATH(op_ctx));
		status = fsalstat(ERR_FSAL_INVAL, EINVAL);
		goto err_free;
	}

	rc = famfs_device_get(exp->device, exp->dev_offset, exp->system_uuid, &exp->dev);
	if (rc) {
		LogCrit(COMPONENT_FSAL, "FAMFS: export %s: cannot use device %s: %s",
			CTX_FULLPATH(op_ctx), exp->device, famfs_open_reason(rc));
		status = famfs2fsal_error(rc);
		goto err_free;
	}

	rc = fsal_attach_export(fsal_hdl, &exp->export.exports);
	if (rc != 0) {
		LogCrit(COMPONENT_FSAL, "FAMFS: could not attach export %s", CTX_FULLPATH(op_ctx));
		status = posix2fsal_status(rc);
		goto err_put;
	}
	exp->export.fsal = fsal_hdl;
	exp->export.up_ops = up_ops;
	exp->readonly = !exp->dev->master;

	want_rw = op_ctx->ctx_export &&
		  (op_ctx->ctx_export->export_perms.options & EXPORT_OPTION_WRITE_ACCESS);
	if (exp->readonly) {
		if (want_rw)
			LogWarn(COMPONENT_FSAL,
				"FAMFS: export %s on %s is served read-only: this host is not "
				"the famfs master (Access_Type = RW ignored)",
				CTX_FULLPATH(op_ctx), exp->device);
		else
			LogEvent(COMPONENT_FSAL,
				 "FAMFS: export %s on %s: read-only: this host is not the famfs "
				 "master",
				 CTX_FULLPATH(op_ctx), exp->device);
	}

	famfs_up_attach(exp->dev, exp);
	op_ctx->fsal_export = &exp->export;
	LogEvent(COMPONENT_FSAL, "FAMFS: export of %s on %s (%s)", CTX_FULLPATH(op_ctx),
		 exp->device, exp->readonly ? "read-only" : "read-write");
	return fsalstat(ERR_FSAL_NO_ERROR, 0);

err_put:
	famfs_device_put(exp->dev);
err_free:
	free_export_ops(&exp->export);
	gsh_free(exp->device);
	gsh_free(exp->system_uuid);
	gsh_free(exp);
	return status;
}

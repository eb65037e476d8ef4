/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file main.c
 * @brief FSAL_FAMFS module: registration, the global FAMFS { } block, logging.
 *
 * ganesha.nfsd dlopens libfsalfamfs.so; the constructor registers the FSAL
 * "FAMFS" (API 11.0) and fills the module operations. The global block is
 *
 *     FAMFS { Log_Follow_Interval_Ms = 1000;   # 50..60000
 *             Commit_Interval_Ms = 800;      # 0..60000: unstable WRITEs are logged at
 *                                            # COMMIT/CLOSE, at the latest after this
 *             Invalidate_Reads = false; }    # evict file data from the CPU cache before
 *                                            # each READ (non-coherent shared memory)
 *
 * which sets how often each open famfs replays new log entries (up.c).
 * famfs-core reports through a settable callback; here it goes to the ganesha
 * log (COMPONENT_FSAL).
 */

#include "internal.h"

#include "config_parsing.h"
#include "FSAL/fsal_init.h"
#include "famfs/fs.h"
#include "famfs/msg.h"

static const char famfs_name[] = "FAMFS";

struct famfs_fsal_module FAMFS = {
    .fsal =
	{
	    .fs_info =
		{
		    .maxfilesize = INT64_MAX,
		    .maxlink = FAMFS_LINK_MAX, /* hard links: XE_LINK */
		    .maxnamelen = FAMFS_MAX_PATHLEN - 1,
		    .maxpathlen = FAMFS_MAX_PATHLEN - 1,
		    .no_trunc = true,
		    .chown_restricted = true,
		    .case_insensitive = false,
		    .case_preserving = true,
		    .link_support = true,
		    .symlink_support = true,
		    .lock_support = false,
		    .lock_support_async_block = false,
		    .named_attr = false,
		    .unique_handles = true,
		    .acl_support = 0,
		    .cansettime = true,
		    .homogenous = true,
		    .supported_attrs = ATTRS_POSIX,
		    .maxread = FSAL_MAXIOSIZE,
		    .maxwrite = FSAL_MAXIOSIZE,
		    .umask = 0,
		    .auth_exportpath_xdev = false,
		    .link_supports_permission_checks = false,
		    .readdir_plus = true,
		    .expire_time_parent = -1,
		},
	},
    .follow_ms = FAMFS_FOLLOW_MS_DEFAULT,
    .commit_ms = FAMFS_LL_COMMIT_MS,
};

static struct config_item famfs_items[] = {
    CONF_ITEM_UI32("Log_Follow_Interval_Ms", FAMFS_FOLLOW_MS_MIN, FAMFS_FOLLOW_MS_MAX,
		   FAMFS_FOLLOW_MS_DEFAULT, famfs_fsal_module, follow_ms),
    CONF_ITEM_UI32("Commit_Interval_Ms", 0, FAMFS_COMMIT_MS_MAX, FAMFS_LL_COMMIT_MS,
		   famfs_fsal_module, commit_ms),
    CONF_ITEM_BOOL("Invalidate_Reads", false, famfs_fsal_module, invalidate_reads), CONFIG_EOL};

static struct config_block famfs_block = {.dbus_interface_name =
					      "org.ganesha.nfsd.config.fsal.famfs",
					  .blk_desc.name = "FAMFS",
					  .blk_desc.type = CONFIG_BLOCK,
					  .blk_desc.flags = CONFIG_UNIQUE,
					  .blk_desc.u.blk.init = noop_conf_init,
					  .blk_desc.u.blk.params = famfs_items,
					  .blk_desc.u.blk.commit = noop_conf_commit};

/**
 * @brief famfs-core message callback: forward to the ganesha log.
 *
 * @param[in] level  syslog-style level
 * @param[in] msg    the message
 * @param[in] arg    unused
 */
static void famfs_core_msg(enum famfs_msg_level level, const char *msg, void *arg)
{
	(void)arg;
	switch (level) {
	case FAMFS_MSG_ERR: /* mostly a client's refused request: not critical */
	case FAMFS_MSG_WARNING:
		LogWarn(COMPONENT_FSAL, "famfs: %s", msg);
		break;
	case FAMFS_MSG_NOTICE:
		LogEvent(COMPONENT_FSAL, "famfs: %s", msg);
		break;
	case FAMFS_MSG_INFO:
		LogInfo(COMPONENT_FSAL, "famfs: %s", msg);
		break;
	default:
		LogDebug(COMPONENT_FSAL, "famfs: %s", msg);
		break;
	}
}

/**
 * @brief Route famfs-core messages to the ganesha log.
 */
void famfs_core_log_init(void)
{
	famfs_set_msg_fn(famfs_core_msg, NULL);
}

/**
 * @brief Parse the global FAMFS { } block.
 *
 * @param[in]  fsal_hdl       this module
 * @param[in]  config_struct  the parsed configuration
 * @param[out] err_type       configuration errors
 *
 * @return FSAL status
 */
static fsal_status_t famfs_init_config(struct fsal_module *fsal_hdl, config_file_t config_struct,
				       struct config_error_type *err_type)
{
	struct famfs_fsal_module *me = container_of(fsal_hdl, struct famfs_fsal_module, fsal);

	(void)load_config_from_parse(config_struct, &famfs_block, me, true, err_type);
	if (!config_error_is_harmless(err_type)) {
		LogCrit(COMPONENT_CONFIG, "FAMFS: the FAMFS { } block is not valid");
		return fsalstat(ERR_FSAL_INVAL, 0);
	}
	display_fsinfo(&me->fsal);
	LogEvent(COMPONENT_FSAL, "FAMFS: log follow interval %u ms, commit interval %u ms",
		 me->follow_ms, me->commit_ms);
	return fsalstat(ERR_FSAL_NO_ERROR, 0);
}

/**
 * @brief Module constructor: register the FSAL.
 */
MODULE_INIT void famfs_fsal_init(void)
{
	struct fsal_module *myself = &FAMFS.fsal;

	pthread_mutex_init(&FAMFS.lock, NULL);
	glist_init(&FAMFS.devices);
	famfs_core_log_init();
	if (register_fsal(myself, famfs_name, FSAL_MAJOR_VERSION, FSAL_MINOR_VERSION,
			  FSAL_ID_NO_PNFS) != 0) {
		LogCrit(COMPONENT_FSAL, "FAMFS module failed to register");
		return;
	}
	myself->m_ops.create_export = famfs_create_export;
	myself->m_ops.init_config = famfs_init_config;
	famfs_handle_ops_init(&FAMFS.handle_ops);
}

/**
 * @brief Module destructor: every export is gone by now; unregister.
 */
MODULE_FINI void famfs_fsal_fini(void)
{
	struct glist_head *node, *next;

	/* Devices still referenced by objects that were never released. */
	pthread_mutex_lock(&FAMFS.lock);
	glist_for_each_safe(node, next, &FAMFS.devices)
	{
		struct famfs_device *dev = glist_entry(node, struct famfs_device, node);

		LogWarn(COMPONENT_FSAL, "FAMFS: closing %s at unload (%u references)", dev->path,
			dev->refcount);
		dev->refcount = 1;
		pthread_mutex_unlock(&FAMFS.lock);
		famfs_device_put(dev);
		pthread_mutex_lock(&FAMFS.lock);
	}
	pthread_mutex_unlock(&FAMFS.lock);

	if (unregister_fsal(&FAMFS.fsal) != 0) {
		LogCrit(COMPONENT_FSAL, "FAMFS: unable to unload the FSAL, aborting");
		abort();
	}
	famfs_set_msg_fn(NULL, NULL);
}

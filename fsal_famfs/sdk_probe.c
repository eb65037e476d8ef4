/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file sdk_probe.c
 * @brief Build probe for the nfs-ganesha 4.3 FSAL SDK (not an FSAL).
 *
 * Compiled as libfsalsdkprobe.so with the same flags and link line as the
 * FAMFS FSAL, it proves three things before any FSAL code exists:
 *  - the SDK headers an FSAL uses compile (with -Wall -Wextra -Werror on this file);
 *  - config.h reproduces the struct layouts of Debian's libganesha_nfsd 4.3-2,
 *    checked against the sizes measured in ../shared/docs/ganesha-fsal-sdk.md
 *    (amd64). A wrong DEBUG_SAL, _USE_9P, _USE_NLM, ... fails the build here;
 *  - calls into libganesha_nfsd link with -z defs (tests/sdk/check_undefined.sh
 *    then checks each undefined symbol against the library's export list).
 *
 * It registers nothing and has no MODULE_INIT: loading it into ganesha.nfsd
 * does nothing.
 */

#include "config.h"

#include <errno.h>

#include "fsal.h"
#include "fsal_api.h"
#include "fsal_convert.h"
#include "fsal_up.h"
#include "FSAL/fsal_commonlib.h"
#include "sal_data.h"
#include "nfs_exports.h"
#include "export_mgr.h"
#include "config_parsing.h"
#include "gsh_config.h"
#include "mdcache_ext.h"

/* The state owner enum is renumbered by _USE_9P and _USE_NLM (doc section 2). */
_Static_assert(STATE_OPEN_OWNER_NFSV4 == 3, "state_owner_type_t differs from Debian's build");

#if defined(__x86_64__)
/* Sizes of Debian's nfs-ganesha 4.3-2 build on amd64. */
_Static_assert(sizeof(struct fsal_obj_handle) == 144, "struct fsal_obj_handle");
_Static_assert(sizeof(struct fsal_export) == 360, "struct fsal_export");
_Static_assert(sizeof(struct fsal_module) == 352, "struct fsal_module");
_Static_assert(sizeof(struct fsal_attrlist) == 248, "struct fsal_attrlist");
_Static_assert(sizeof(struct req_op_context) == 232, "struct req_op_context");
_Static_assert(sizeof(state_t) == 216, "state_t (DEBUG_SAL must be off)");
_Static_assert(sizeof(state_owner_t) == 480, "state_owner_t (DEBUG_SAL, _USE_9P)");
_Static_assert(sizeof(struct fsal_io_arg) == 48, "struct fsal_io_arg");
_Static_assert(sizeof(struct gsh_export) == 448, "struct gsh_export");
_Static_assert(sizeof(nfs_parameter_t) == 512, "nfs_parameter_t (protocol toggles)");
#endif

int famfs_sdk_probe(struct fsal_obj_ops *ops);

/**
 * @brief Exercise a few libganesha_nfsd exports, so -z defs has work to do.
 *
 * Uses fsal_default_obj_ops_init, posix2fsal_error, the op_ctx TLS variable and
 * the logging symbols behind LogDebug (component_log_level,
 * DisplayLogComponentLevel).
 *
 * @param[out] ops  filled with the default object operations
 *
 * @return 0 when the default ops and the errno translation look right, else -1.
 */
int famfs_sdk_probe(struct fsal_obj_ops *ops)
{
	fsal_default_obj_ops_init(ops);
	LogDebug(COMPONENT_FSAL, "sdk probe, op_ctx %p", (void *)op_ctx);
	if (ops->lookup == NULL || posix2fsal_error(EIO) != ERR_FSAL_IO)
		return -1;
	return 0;
}

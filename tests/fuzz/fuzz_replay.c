// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_replay.c - libFuzzer harness: a whole log replay by a read-only client, then fsck.
 *
 * The input is a sequence of 544-byte log entries (see fuzz_dev.h for the options in a
 * short tail). They go into the log of a device file in /dev/shm (seqnums and CRCs
 * fixed, so replay applies them); then famfs_fs_open() as a client (read-only, a system
 * UUID other than the master's) replays them, the namespace is walked, and famfs_fsck()
 * checks the device.
 */
#include <stddef.h>
#include <stdint.h>

#include "famfs/fs.h"
#include "famfs/ns.h"
#include "fuzz_dev.h"

static struct fuzz_dev dev;

/* Every linked inode is found again by its number and by its path. */
static void walk(struct famfs_fs *fs, struct famfs_inode *dir, int depth)
{
	struct famfs_inode *c, *r;
	char path[FAMFS_PATH_MAX + 1];

	if (depth > 64)
		return;
	famfs_ns_foreach_child(dir, c)
	{
		if (famfs_fs_get(fs, c->ino) != c)
			__builtin_trap();
		if (famfs_ns_path(c, path, sizeof(path)) == 0 &&
		    (famfs_fs_resolve(fs, path, &r) != 0 || r != c))
			__builtin_trap();
		walk(fs, c, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct famfs_fs_opts o = {.readonly = true, .system_uuid = FUZZ_CLIENT_UUID};
	struct famfs_fs *fs;

	if (!dev.base)
		fuzz_dev_init(&dev, "replay");
	fuzz_dev_load(&dev, data, size);
	if (famfs_fs_open(dev.path, &o, &fs) == 0) {
		walk(fs, famfs_fs_ns(fs)->root, 0);
		(void)famfs_fs_refresh(fs);
		(void)famfs_fs_pending_bytes(fs);
		famfs_fs_close(fs);
	}
	fuzz_dev_fsck(&dev);
	fuzz_dev_reset(&dev);
	return 0;
}

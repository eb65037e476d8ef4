// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_path.c - libFuzzer harness: the relpath rules of path.h on arbitrary strings.
 *
 * The input (cut at its first NUL) goes through famfs_relpath_check() with reason
 * buffers of several sizes; a path that passes is split with famfs_relpath_split(), and
 * the parts must put the path back together and pass the rules themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "famfs/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char parent[FAMFS_PATH_MAX + 1], why[160], tiny[4], joined[2 * FAMFS_PATH_MAX + 2];
	const char *name;
	char *path = malloc(size + 1);
	int rc;

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	rc = famfs_relpath_check(path, why, sizeof(why));
	if (famfs_relpath_check(path, tiny, sizeof(tiny)) != rc ||
	    famfs_relpath_check(path, NULL, 0) != rc)
		__builtin_trap(); /* the answer does not depend on the reason buffer */
	if (rc == 0) {
		name = famfs_relpath_split(path, parent);
		if (name < path || name >= path + strlen(path) || !*name || strchr(name, '/'))
			__builtin_trap(); /* the last component is a non-empty part of path */
		if (parent[0] && famfs_relpath_check(parent, NULL, 0) != 0)
			__builtin_trap(); /* the parent of a valid path is valid */
		if (famfs_relpath_check(name, NULL, 0) != 0)
			__builtin_trap();
		strcpy(joined, parent);
		if (parent[0])
			strcat(joined, "/");
		strcat(joined, name);
		if (strcmp(joined, path) != 0)
			__builtin_trap(); /* parent + '/' + name is the path again */
	}
	(void)famfs_relpath_check(NULL, why, sizeof(why));
	free(path);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file path.c
 * @brief Log relpath rules (see famfs/path.h).
 */
#include <errno.h>
#include <string.h>

#include "famfs/path.h"
#include "internal.h"

int famfs_relpath_check(const char *path, char *why, size_t whylen)
{
	size_t len = path ? strlen(path) : 0;
	const char *c;

	if (len == 0) {
		famfs_why(why, whylen, "empty path: famfs paths name a file or directory");
		return -EINVAL;
	}
	if (path[0] == '/') {
		famfs_why(why, whylen,
			  "'%s': absolute path; the log holds paths relative to the "
			  "famfs root",
			  path);
		return -EINVAL;
	}
	if (len > FAMFS_PATH_MAX) {
		famfs_why(why, whylen, "'%.40s...': path is %zu bytes; at most %d are possible",
			  path, len, FAMFS_PATH_MAX);
		return -ENAMETOOLONG;
	}
	for (c = path; *c;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (n > FAMFS_NAME_MAX) {
			famfs_why(why, whylen,
				  "'%.40s...': a name of %zu bytes; at most %d are possible", c, n,
				  FAMFS_NAME_MAX);
			return -ENAMETOOLONG;
		}
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
			famfs_why(why, whylen,
				  "'%s': empty, '.' or '..' component (or a trailing "
				  "'/')",
				  path);
			return -EINVAL;
		}
		if (!e)
			break;
		c = e + 1;
		if (!*c) {
			famfs_why(why, whylen, "'%s': trailing '/'", path);
			return -EINVAL;
		}
	}
	return 0;
}

const char *famfs_relpath_split(const char *path, char *parent)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		parent[0] = '\0';
		return path;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	return slash + 1;
}

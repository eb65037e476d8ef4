/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file role.c
 * @brief The host's system UUID, which decides master or client (see famfs/fs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "famfs/fs.h"
#include "internal.h"

#define SYSTEM_UUID_DIR	 "/opt/famfs"
#define SYSTEM_UUID_FILE SYSTEM_UUID_DIR "/system_uuid"

/* A random RFC-4122 version 4 UUID. */
int famfs_uuid_random(uint8_t uuid[FAMFS_UUID_LEN]);

int famfs_uuid_random(uint8_t uuid[FAMFS_UUID_LEN])
{
	size_t got = 0;

	while (got < FAMFS_UUID_LEN) {
		ssize_t n = getrandom(uuid + got, FAMFS_UUID_LEN - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
	return 0;
}

static int create_uuid_file(const char *path, uint8_t uuid[FAMFS_UUID_LEN])
{
	char text[37];
	int fd, rc;

	if (strcmp(path, SYSTEM_UUID_FILE) == 0 && mkdir(SYSTEM_UUID_DIR, 0755) < 0 &&
	    errno != EEXIST) {
		rc = -errno;
		famfs_err("cannot create %s: %s", SYSTEM_UUID_DIR, strerror(errno));
		return rc;
	}
	rc = famfs_uuid_random(uuid);
	if (rc)
		return rc;
	famfs_uuid_format(uuid, text);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0) {
		rc = -errno;
		famfs_err("cannot create the system UUID file %s: %s", path, strerror(errno));
		return rc;
	}
	/* Upstream writes the 36 characters and the NUL. */
	if (write(fd, text, sizeof(text)) != (ssize_t)sizeof(text)) {
		rc = -EIO;
		famfs_err("cannot write %s", path);
		close(fd);
		return rc;
	}
	close(fd);
	famfs_info("created system UUID %s in %s", text, path);
	return 0;
}

int famfs_system_uuid(const char *override, uint8_t uuid[FAMFS_UUID_LEN])
{
	const char *path = getenv("FAMFS_SYSTEM_UUID_FILE");
	char text[64];
	ssize_t n;
	int fd, rc;

	if (!override)
		override = getenv("FAMFS_SYSTEM_UUID");
	if (override && *override) {
		if (famfs_uuid_parse(override, uuid)) {
			famfs_err("system UUID override '%s' is not a UUID", override);
			return -EINVAL;
		}
		return 0;
	}
	if (!path || !*path)
		path = SYSTEM_UUID_FILE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return create_uuid_file(path, uuid);
		rc = -errno;
		famfs_err("cannot read the system UUID from %s: %s", path, strerror(errno));
		return rc;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 36) {
		famfs_err("%s: too short to hold a UUID", path);
		return -EINVAL;
	}
	text[36] = '\0';
	if (famfs_uuid_parse(text, uuid)) {
		famfs_err("%s: '%s' is not a UUID", path, text);
		return -EINVAL;
	}
	return 0;
}

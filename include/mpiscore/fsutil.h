/*
 * fsutil.h — the few file-system steps every store (the model registry,
 * endpoint state) takes to make a file appear whole or not at all.
 */
#ifndef MPISCORE_FSUTIL_H
#define MPISCORE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "mpiscore/status.h"

/* mkdir -p with `mode`: every missing component is created; existing ones
 * are fine. MS_EIO naming the component that failed. */
ms_status ms_make_dirs(const char *path, mode_t mode, ms_error *err);

/* write(2) until all n bytes are written (EINTR retried): 0, or -1 with errno. */
int ms_write_all(int fd, const void *data, size_t n);

/* Make a rename or mkdir inside dir durable; best effort on file systems
 * that cannot fsync a directory. */
void ms_fsync_dir(const char *dir);

#endif

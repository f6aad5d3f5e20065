/*
 * paths.h — which files a run reads and writes, compared by identity.
 *
 * A run writes several files (the output, its .partial and .journal, the
 * errors file, --metrics, --status-file and their .partial temporaries).
 * None of them may be a file the run reads (an input, a file inside an input
 * folder, the model) or another of them: two names for one file lose data.
 * Names are compared by what they point at, not by spelling: an existing
 * file by device + inode (symlinks and ./ resolved by stat), a file not yet
 * there by its folder's device + inode and its base name.
 */
#ifndef MPISCORE_PATHS_H
#define MPISCORE_PATHS_H

#include <stddef.h>

#include "mpiscore/status.h"

typedef struct ms_path_ref {
    const char *what; /* how the user named it: "--metrics", "input", "the model" */
    const char *path;
} ms_path_ref;

/* MS_EUSAGE "--metrics o/x.csv and --output o/x.csv are the same file" when
 * two entries of writes, or an entry of writes and one of reads, name the
 * same file; MS_OK otherwise (a folder that does not exist is left for the
 * writer to report). */
ms_status ms_paths_check_distinct(const ms_path_ref *writes, size_t n_writes,
                                  const ms_path_ref *reads, size_t n_reads, ms_error *err);

#endif

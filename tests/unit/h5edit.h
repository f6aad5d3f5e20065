/*
 * h5edit.h — raw HDF5 edits of a saved container, for the model tests.
 *
 * Editing a saved container invalidates its seal (the checksum in the user
 * block): the edit tests want the parser's verdict on the edited file, so
 * the seal is wiped first and the file loads as an unsealed (hand-made)
 * container does.
 */
#ifndef MS_TEST_H5EDIT_H
#define MS_TEST_H5EDIT_H

#include <hdf5.h>
#include <stdio.h>

#include "check.h"

static inline void unseal(const char *path)
{
    FILE *fp = fopen(path, "r+b");
    CHECK_FATAL(fp != NULL);
    char zero[64] = {0};
    CHECK_FATAL(fwrite(zero, 1, sizeof zero, fp) == sizeof zero);
    fclose(fp);
}

static inline hid_t open_rw(const char *path)
{
    unseal(path);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK_FATAL(f >= 0);
    return f;
}

#endif

/*
 * journal.h — the resume journal next to the output (OUTPUT.journal).
 *
 * A text file: a header naming everything the output depends on (model
 * bytes, each input's size and mtime, the options that shape batches and
 * output), then one record per durable commit point: the last committed
 * batch, where the next batch starts, and how many bytes of output and
 * errors file are valid. A record is written only after the output bytes it
 * covers were fsync'd, and carries a checksum, so the last intact record is
 * always a state the partial output really reached (a torn last line is
 * ignored). --resume truncates the partial files back to that record and
 * continues from the next batch: the result is byte-identical to an
 * uninterrupted run.
 */
#ifndef MPISCORE_JOURNAL_H
#define MPISCORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpiscore/status.h"

typedef struct ms_journal_rec {
    uint64_t next_seq; /* batches committed */
    uint32_t file;     /* where the next batch starts */
    int64_t offset;
    uint64_t line;
    uint64_t rows, bad; /* rows and bad rows committed */
    uint64_t out_bytes; /* valid bytes of OUTPUT.partial */
    uint64_t err_bytes; /* valid bytes of the errors file's .partial */
    uint64_t units;     /* progress units done */
} ms_journal_rec;

typedef struct ms_journal ms_journal;

/* Start a new journal at path with the given fingerprint (lines "key value",
 * no trailing newline needed), replacing any old one. */
ms_status ms_journal_create(const char *path, const char *fingerprint, ms_journal **out,
                            ms_error *err);
/* Open an existing journal for --resume: its fingerprint must equal
 * `fingerprint` line for line (else MS_EINPUT naming the first difference,
 * e.g. "scores.csv.journal: input data.csv changed since the interrupted
 * run"); *last gets its last intact record (all zero when there is none).
 * The journal stays open for appending. */
ms_status ms_journal_resume(const char *path, const char *fingerprint, ms_journal_rec *last,
                            ms_journal **out, ms_error *err);
/* The same, with a display name for each fingerprint line (NULL entries,
 * or names NULL: the line's first word), used when that line differs:
 * "scores.csv.journal: input ./big.csv changed ...". A line "inputs N"
 * that differs is named as a count: "inputs differ: the journal has 1
 * input, this run has 2". */
ms_status ms_journal_resume_named(const char *path, const char *fingerprint,
                                  const char *const *names, ms_journal_rec *last, ms_journal **out,
                                  ms_error *err);
/* Append a record and fsync it. */
ms_status ms_journal_append(ms_journal *j, const ms_journal_rec *r, ms_error *err);
/* Close; with remove, delete the file (the run completed). */
void ms_journal_close(ms_journal *j, int remove);

/* SHA-256 of a file's bytes (64 hex digits), for the model's fingerprint. */
ms_status ms_file_sha256(const char *path, char out[65], ms_error *err);
/* FNV-1a 64 of a file's bytes (hex), for the fingerprint. */
ms_status ms_file_fnv64(const char *path, char out[17], ms_error *err);

#endif

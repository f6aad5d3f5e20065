/*
 * parquet_codec.c — page compression through the Debian libraries: snappy
 * (snappy-c.h), zlib (GZIP), zstd, LZ4 (LZ4_RAW and Hadoop-framed LZ4) and
 * brotli (decoding only). A page must decompress to exactly the size its
 * header states; anything else is a failure with a short reason.
 */
#include "parquet_internal.h"

#include <brotli/decode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

int ms_pq_codec_supported(int codec)
{
    switch (codec) {
    case MS_PQ_UNCOMPRESSED:
    case MS_PQ_SNAPPY:
    case MS_PQ_GZIP:
    case MS_PQ_BROTLI:
    case MS_PQ_LZ4:
    case MS_PQ_ZSTD:
    case MS_PQ_LZ4_RAW:
        return 1;
    default:
        return 0;
    }
}

size_t ms_pq_max_expansion(ms_pq_codec codec, size_t n)
{
    size_t floor16 = (size_t)16 << 20;
    switch (codec) {
    case MS_PQ_UNCOMPRESSED:
        return n;
    case MS_PQ_SNAPPY: /* a 3-byte copy emits at most 64 bytes */
        return n * 22 + 64;
    case MS_PQ_LZ4:
    case MS_PQ_LZ4_RAW: /* LZ4's worst case is about 255:1 */
        return n * 256 + 64;
    case MS_PQ_GZIP: /* deflate's is 1032:1 */
        return n * 1032 + 64;
    default: {
        size_t b = n * 1032 + 64;
        return b > floor16 ? b : floor16;
    }
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop's framing: [u32 BE raw size][u32 BE compressed size][LZ4 block]... */
static int lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_n)
{
    size_t in = 0, out = 0;
    while (in < n) {
        if (n - in < 8)
            return 0;
        uint32_t raw = be32(src + in), comp = be32(src + in + 4);
        in += 8;
        if (comp > n - in || raw > dst_n - out || comp > INT32_MAX || raw > INT32_MAX)
            return 0;
        int got =
            LZ4_decompress_safe((const char *)src + in, (char *)dst + out, (int)comp, (int)raw);
        if (got < 0 || (uint32_t)got != raw)
            return 0;
        in += comp;
        out += raw;
    }
    return out == dst_n;
}

int ms_pq_decompress(ms_pq_codec codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_n,
                     const char **why)
{
    *why = "decompression failed";
    switch (codec) {
    case MS_PQ_UNCOMPRESSED:
        if (n != dst_n) {
            *why = "uncompressed page sizes differ";
            return 0;
        }
        memcpy(dst, src, n);
        return 1;
    case MS_PQ_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK) {
            *why = "snappy: corrupt input";
            return 0;
        }
        if (len != dst_n) {
            *why = "snappy: size differs from the page header";
            return 0;
        }
        if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK ||
            len != dst_n) {
            *why = "snappy: corrupt input";
            return 0;
        }
        return 1;
    }
    case MS_PQ_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK) /* gzip or zlib header */
            return 0;
        int ok = 0;
        size_t in = 0, out = 0;
        int rc = Z_OK;
        /* members may follow one another; the page ends where the input does */
        while (in < n) {
            z.next_in = (Bytef *)(src + in);
            z.avail_in = (uInt)((n - in) > UINT32_MAX ? UINT32_MAX : (n - in));
            z.next_out = dst + out;
            z.avail_out = (uInt)((dst_n - out) > UINT32_MAX ? UINT32_MAX : (dst_n - out));
            uInt ai = z.avail_in, ao = z.avail_out;
            rc = inflate(&z, Z_FINISH);
            in += ai - z.avail_in;
            out += ao - z.avail_out;
            if (rc == Z_STREAM_END) {
                if (in < n && inflateReset(&z) != Z_OK)
                    break;
                continue;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                break;
            if (ai == z.avail_in && ao == z.avail_out)
                break; /* no progress: truncated or output full */
        }
        ok = rc == Z_STREAM_END && in == n && out == dst_n;
        inflateEnd(&z);
        if (!ok)
            *why = "gzip: corrupt or truncated input";
        return ok;
    }
    case MS_PQ_ZSTD: {
        size_t got = ZSTD_decompress(dst, dst_n, src, n);
        if (ZSTD_isError(got) || got != dst_n) {
            *why = "zstd: corrupt input or size differs from the page header";
            return 0;
        }
        return 1;
    }
    case MS_PQ_LZ4_RAW: {
        if (n > INT32_MAX || dst_n > INT32_MAX)
            return 0;
        int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_n);
        if (got < 0 || (size_t)got != dst_n) {
            *why = "lz4: corrupt input or size differs from the page header";
            return 0;
        }
        return 1;
    }
    case MS_PQ_LZ4: {
        if (lz4_hadoop(src, n, dst, dst_n))
            return 1;
        /* some writers put a bare LZ4 block under this codec */
        if (n <= INT32_MAX && dst_n <= INT32_MAX) {
            int got = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_n);
            if (got >= 0 && (size_t)got == dst_n)
                return 1;
        }
        *why = "lz4: corrupt input (neither Hadoop frames nor a raw block)";
        return 0;
    }
    case MS_PQ_BROTLI: {
        size_t got = dst_n;
        if (BrotliDecoderDecompress(n, src, &got, dst) != BROTLI_DECODER_RESULT_SUCCESS ||
            got != dst_n) {
            *why = "brotli: corrupt input or size differs from the page header";
            return 0;
        }
        return 1;
    }
    default:
        *why = "unsupported codec";
        return 0;
    }
}

static int reserve(uint8_t **dst, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 1;
    uint8_t *b = realloc(*dst, need);
    if (!b)
        return 0;
    *dst = b;
    *cap = need;
    return 1;
}

size_t ms_pq_compress(ms_pq_codec codec, const uint8_t *src, size_t n, uint8_t **dst,
                      size_t *dst_cap)
{
    switch (codec) {
    case MS_PQ_UNCOMPRESSED:
        if (!reserve(dst, dst_cap, n ? n : 1))
            return (size_t)-1;
        memcpy(*dst, src, n);
        return n;
    case MS_PQ_SNAPPY: {
        size_t len = snappy_max_compressed_length(n);
        if (!reserve(dst, dst_cap, len))
            return (size_t)-1;
        if (snappy_compress((const char *)src, n, (char *)*dst, &len) != SNAPPY_OK)
            return (size_t)-1;
        return len;
    }
    case MS_PQ_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return (size_t)-1;
        size_t len = deflateBound(&z, (uLong)n) + 32;
        if (!reserve(dst, dst_cap, len)) {
            deflateEnd(&z);
            return (size_t)-1;
        }
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = *dst;
        z.avail_out = (uInt)len;
        int rc = deflate(&z, Z_FINISH);
        size_t out = z.total_out;
        deflateEnd(&z);
        return rc == Z_STREAM_END ? out : (size_t)-1;
    }
    case MS_PQ_ZSTD: {
        size_t len = ZSTD_compressBound(n);
        if (!reserve(dst, dst_cap, len))
            return (size_t)-1;
        size_t got = ZSTD_compress(*dst, len, src, n, 3);
        return ZSTD_isError(got) ? (size_t)-1 : got;
    }
    case MS_PQ_LZ4_RAW: {
        if (n > LZ4_MAX_INPUT_SIZE)
            return (size_t)-1;
        size_t len = (size_t)LZ4_compressBound((int)n);
        if (!reserve(dst, dst_cap, len ? len : 1))
            return (size_t)-1;
        int got = LZ4_compress_default((const char *)src, (char *)*dst, (int)n, (int)len);
        return got > 0 || n == 0 ? (size_t)got : (size_t)-1;
    }
    default:
        return (size_t)-1;
    }
}

uint32_t ms_pq_crc32(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

int ms_pq_codec_from_name(const char *name)
{
    if (!strcmp(name, "snappy"))
        return MS_PQ_SNAPPY;
    if (!strcmp(name, "zstd"))
        return MS_PQ_ZSTD;
    if (!strcmp(name, "gzip"))
        return MS_PQ_GZIP;
    if (!strcmp(name, "lz4"))
        return MS_PQ_LZ4_RAW;
    if (!strcmp(name, "none") || !strcmp(name, "uncompressed"))
        return MS_PQ_UNCOMPRESSED;
    return -1;
}

const char *ms_pq_codec_name(ms_pq_codec c)
{
    switch (c) {
    case MS_PQ_UNCOMPRESSED:
        return "UNCOMPRESSED";
    case MS_PQ_SNAPPY:
        return "SNAPPY";
    case MS_PQ_GZIP:
        return "GZIP";
    case MS_PQ_LZO:
        return "LZO";
    case MS_PQ_BROTLI:
        return "BROTLI";
    case MS_PQ_LZ4:
        return "LZ4";
    case MS_PQ_ZSTD:
        return "ZSTD";
    case MS_PQ_LZ4_RAW:
        return "LZ4_RAW";
    }
    return "unknown";
}

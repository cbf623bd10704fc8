// zlib from Debian's zlib1g-dev (pkg-config `zlib`): GZIP page decompression and page CRC32s.
#include <zlib.h>

// inflateInit2 is a macro, which Swift cannot call; 15 + 32 accepts both gzip and zlib headers.
static inline int parquet_inflate_init(z_stream *stream) {
    return inflateInit2(stream, 15 + 32);
}

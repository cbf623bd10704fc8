// Zstandard from Debian's libzstd-dev (pkg-config `libzstd`): ZSTD page decompression.
#include <zstd.h>

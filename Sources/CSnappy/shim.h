// Snappy's C API from Debian's libsnappy-dev. The module map links "snappy" itself because not every
// distribution ships a pkg-config file for it (Debian 12 does; older releases did not).
#include <snappy-c.h>

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Gives the physical pages of a range back to the OS and makes the range unreadable, so the memory
/// no longer counts in the process's footprint and a stray read crashes at once instead of
/// returning zeros. Only whole pages inside the range are affected; the partial pages at its ends
/// stay (and stay valid).
enum PageRelease {
    static let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The page-aligned interior of `[start, start + bytes)`, or nil when it holds no whole page.
    static func interior(_ start: UnsafeMutableRawPointer, bytes: Int) -> (UnsafeMutableRawPointer, Int)? {
        let a = Int(bitPattern: start)
        let lo = (a + pageSize - 1) / pageSize * pageSize
        let hi = (a + bytes) / pageSize * pageSize
        guard hi > lo, let p = UnsafeMutableRawPointer(bitPattern: lo) else { return nil }
        return (p, hi - lo)
    }

    /// Releases the interior of the range; returns what was released (to restore later), if anything.
    @discardableResult
    static func release(_ start: UnsafeMutableRawPointer, bytes: Int) -> (UnsafeMutableRawPointer, Int)? {
        guard let (p, n) = interior(start, bytes: bytes) else { return nil }
        _ = madvise(p, n, Int32(MADV_DONTNEED))
        _ = mprotect(p, n, PROT_NONE)
        return (p, n)
    }

    /// Asks for 2 MB pages where the kernel offers them on request (`transparent_hugepage=madvise`):
    /// weights are streamed front to back, and with 4 KB pages the hardware prefetchers stop at every
    /// page boundary and each page costs a TLB miss.
    static func preferHugePages(_ start: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
            _ = madvise(start, bytes, 14)  // MADV_HUGEPAGE
        #endif
    }

    /// Makes a released range readable and writable again (zero-filled) before its memory is freed.
    static func restore(_ range: (UnsafeMutableRawPointer, Int)) {
        _ = mprotect(range.0, range.1, PROT_READ | PROT_WRITE)
    }
}

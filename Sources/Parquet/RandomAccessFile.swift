#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file read with `pread`, so several threads can read different ranges at once and only
/// the ranges asked for are ever in memory (no whole-file loads, no mapped file pages kept resident
/// in RSS).
final class RandomAccessFile: @unchecked Sendable {
    // Immutable after init; pread does not move a shared file offset, so concurrent reads are safe.
    let path: String
    let size: Int
    private let descriptor: Int32

    init(path: String) throws(ParquetError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(path: path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .unreadable(path: path, reason: "not a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit {
        close(descriptor)
    }

    /// Reads exactly `destination.count` bytes starting at `offset`.
    func read(at offset: Int, into destination: UnsafeMutableRawBufferPointer) throws(ParquetError) {
        guard offset >= 0, offset <= size, destination.count <= size - offset else {
            throw .unreadable(path: path, reason: "read of \(destination.count) bytes at \(offset) "
                + "is outside the \(size)-byte file")
        }
        guard let base = destination.baseAddress else { return }
        var done = 0
        while done < destination.count {
            let n = pread(descriptor, base + done, destination.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 {
                throw .unreadable(path: path, reason: "file shrank while reading (ended at \(offset + done))")
            }
            done += n
        }
    }

    /// Reads `count` bytes starting at `offset` into a new buffer.
    func read(at offset: Int, count: Int) throws(ParquetError) -> OwnedBytes {
        let bytes = OwnedBytes(count: count)
        try read(at: offset, into: bytes.mutableBuffer)
        return bytes
    }
}

/// A heap buffer with a stable address, freed when the last reference goes away. Decoders borrow
/// raw pointers into it, which Swift arrays cannot promise outside `withUnsafe...` closures.
final class OwnedBytes {
    private(set) var mutableBuffer: UnsafeMutableRawBufferPointer

    init(count: Int) {
        mutableBuffer = .allocate(byteCount: max(count, 0), alignment: 16)
    }

    deinit {
        mutableBuffer.deallocate()
    }

    /// The bytes. Only valid while something keeps this object alive: callers that do not hold it
    /// in a stored property should use `withBuffer`.
    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(mutableBuffer) }
    var count: Int { mutableBuffer.count }

    /// Calls `body` with the bytes; the object stays alive for the duration of the call.
    func withBuffer<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(mutableBuffer))
    }

    /// Makes room for at least `count` bytes, discarding the contents when it has to grow.
    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if mutableBuffer.count < count {
            mutableBuffer.deallocate()
            mutableBuffer = .allocate(byteCount: max(count, mutableBuffer.count * 2), alignment: 16)
        }
        return UnsafeMutableRawBufferPointer(rebasing: mutableBuffer[0..<count])
    }
}

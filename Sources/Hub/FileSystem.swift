import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small file-system helpers that turn Foundation and POSIX failures into ``HubError/fileSystem(path:reason:)``.
enum FileSystem {
    static func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw HubError.fileSystem(path: url.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }

    /// Atomically moves `source` over `destination` (POSIX `rename`, same volume): readers see either the old
    /// file or the complete new one, never a partial file.
    static func replace(_ source: URL, with destination: URL) throws {
        if rename(source.path, destination.path) != 0 {
            let reason = String(cString: strerror(errno))
            throw HubError.fileSystem(
                path: destination.path, reason: "cannot move \(source.lastPathComponent) here: \(reason)")
        }
    }

    /// Size of a regular file (following symlinks), or nil when it does not exist.
    static func fileSize(_ url: URL) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.resolvingSymlinksInPath().path),
            let size = attributes[.size] as? NSNumber
        else { return nil }
        return size.int64Value
    }

    static func exists(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.path)
    }
}

/// An exclusive advisory lock on a file (`flock`), the same kind Python's `filelock` takes on Unix, so a
/// Swift and a Python process downloading the same blob wait for each other instead of interleaving.
///
/// Acquisition polls with `LOCK_NB` and sleeps between tries, so a waiting task never blocks a
/// cooperative thread.
final class FileLock {
    private let descriptor: Int32
    private let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Waits until the lock on `url` is held (creating the file and its folder if needed).
    static func acquire(_ url: URL, pollInterval: Duration = .milliseconds(50)) async throws -> FileLock {
        try FileSystem.createDirectory(url.deletingLastPathComponent())
        let descriptor = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw HubError.fileSystem(
                path: url.path, reason: "cannot open lock file: \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw HubError.fileSystem(path: url.path, reason: "cannot lock: \(reason)")
            }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                close(descriptor)
                throw error
            }
        }
        return FileLock(descriptor: descriptor, path: url.path)
    }

    /// Releases the lock. The lock file is left in place, as Python's `WeakFileLock` leaves it.
    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Runs `body` while holding the lock on `url`.
    static func withLock<T>(_ url: URL, _ body: () async throws -> T) async throws -> T {
        let lock = try await acquire(url)
        defer { lock.release() }
        return try await body()
    }
}

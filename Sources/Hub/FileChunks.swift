import Crypto
import Foundation
import NIOCore

/// Reads a file as a sequence of `ByteBuffer` chunks, for streaming uploads without loading the file.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let url: URL
    let chunkSize: Int

    init(url: URL, chunkSize: Int = 1 << 20) throws {
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw HubError.fileSystem(path: url.path, reason: "cannot read file")
        }
        self.url = url
        self.chunkSize = chunkSize
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let url: URL
        let chunkSize: Int
        var handle: FileHandle?
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            if finished { return nil }
            if handle == nil {
                do {
                    handle = try FileHandle(forReadingFrom: url)
                } catch {
                    throw HubError.fileSystem(path: url.path, reason: "cannot open: \(error.localizedDescription)")
                }
            }
            guard let handle else { return nil }
            let data: Data?
            do {
                data = try handle.read(upToCount: chunkSize)
            } catch {
                throw HubError.fileSystem(path: url.path, reason: "cannot read: \(error.localizedDescription)")
            }
            guard let data, !data.isEmpty else {
                finished = true
                try? handle.close()
                return nil
            }
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(url: url, chunkSize: chunkSize)
    }
}

/// Hashing and sampling of local files, read in chunks.
enum FileDigest {
    /// Lower-case hex sha256 of a file's contents.
    static func sha256(of url: URL) throws -> String {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw HubError.fileSystem(path: url.path, reason: "cannot open: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let data: Data?
            do {
                data = try handle.read(upToCount: 1 << 20)
            } catch {
                throw HubError.fileSystem(path: url.path, reason: "cannot read: \(error.localizedDescription)")
            }
            guard let data, !data.isEmpty else { break }
            hasher.update(data: data)
        }
        return hex(hasher.finalize())
    }

    static func sha256(of data: Data) -> String {
        hex(SHA256.hash(data: data))
    }

    /// The first `count` bytes of a file (the preupload "sample").
    static func prefix(of url: URL, count: Int) throws -> Data {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            return try handle.read(upToCount: count) ?? Data()
        } catch {
            throw HubError.fileSystem(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
    }

    /// True for a 64-hex lower-case string: an LFS etag, which is the file's sha256.
    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

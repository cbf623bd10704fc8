import FileMapping
import Foundation

/// A read-only view of the ZIP container `torch.save` writes (PyTorchStreamWriter: stored records,
/// 64-byte aligned data through local-header padding, data descriptors, ZIP64 end records). Only the
/// central directory is trusted for sizes; every offset and length is bounds-checked against the
/// mapped file. Compressed records are listed but refused when read.
struct ZipArchive {
    struct Entry {
        let name: String
        let flags: UInt16
        let method: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
        /// Start of the record's bytes (after the local header, its name and its extra field).
        let dataOffset: Int
    }

    let path: String
    let file: MappedFile
    /// In central-directory order.
    let entries: [Entry]
    let index: [String: Int]

    /// Central directories with more records than this are refused (a corrupt count field must not
    /// drive a huge allocation; torch archives hold one record per storage plus five).
    static let maxEntries = 4_000_000

    init(file: MappedFile, path: String) throws {
        self.file = file
        self.path = path
        let size = file.size
        let base = file.base

        func u16(_ o: Int) -> Int { Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
        func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
        func u64(_ o: Int) -> Int {
            Int(clamping: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
        }

        // End of central directory: 22 bytes + a comment of at most 65,535 bytes, found backwards.
        var eocd = -1
        if size >= 22 {
            var i = size - 22
            let lowest = max(0, size - 22 - 65_535)
            while i >= lowest {
                if base.load(fromByteOffset: i, as: UInt8.self) == 0x50 && u32(i) == 0x0605_4b50
                    && i + 22 + u16(i + 20) <= size
                {
                    eocd = i
                    break
                }
                i -= 1
            }
        }
        if eocd < 0 {
            throw Self.notAZip(base: base, size: size, path: path)
        }
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0 else {
            throw PickleError.invalidArchive(path: path, detail: "multi-disk archives are not supported")
        }
        var count = u16(eocd + 10)
        var cdSize = u32(eocd + 12)
        var cdOffset = u32(eocd + 16)
        var cdLimit = eocd  // the central directory ends before the (ZIP64) end records
        if count == 0xffff || cdSize == 0xffff_ffff || cdOffset == 0xffff_ffff {
            // ZIP64: locator (20 bytes) right before the classic record, pointing at the ZIP64 record.
            guard eocd >= 20, u32(eocd - 20) == 0x0706_4b50 else {
                throw PickleError.invalidArchive(
                    path: path, detail: "ZIP64 sizes without a ZIP64 end-of-central-directory locator")
            }
            let z = u64(eocd - 20 + 8)
            guard z <= eocd - 20 - 56, u32(z) == 0x0606_4b50 else {
                throw PickleError.invalidArchive(
                    path: path, detail: "ZIP64 end-of-central-directory record out of place")
            }
            count = u64(z + 32)
            cdSize = u64(z + 40)
            cdOffset = u64(z + 48)
            cdLimit = z
        } else if eocd >= 20, u32(eocd - 20) == 0x0706_4b50 {
            // torch writes ZIP64 end records even when the classic one suffices; skip over them.
            let z = u64(eocd - 20 + 8)
            if z <= eocd - 20 - 56, u32(z) == 0x0606_4b50 { cdLimit = z }
        }
        guard cdOffset <= cdLimit, cdSize <= cdLimit - cdOffset else {
            throw PickleError.truncated(
                path: path,
                detail:
                    "central directory (\(cdSize) bytes at offset \(cdOffset)) lies outside the file's \(size) bytes")
        }
        guard count <= Self.maxEntries, count <= cdSize / 46 else {
            throw PickleError.invalidArchive(
                path: path, detail: "\(count) records cannot fit a \(cdSize)-byte central directory")
        }

        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var index: [String: Int] = [:]
        var p = cdOffset
        let cdEnd = cdOffset + cdSize
        for n in 0..<count {
            guard p + 46 <= cdEnd, u32(p) == 0x0201_4b50 else {
                throw PickleError.invalidArchive(path: path, detail: "central directory record \(n) is malformed")
            }
            let flags = UInt16(u16(p + 8))
            let method = UInt16(u16(p + 10))
            let crc = UInt32(u32(p + 16))
            var compressed = u32(p + 20)
            var uncompressed = u32(p + 24)
            let nameLength = u16(p + 28)
            let extraLength = u16(p + 30)
            let commentLength = u16(p + 32)
            let disk = u16(p + 34)
            var local = u32(p + 42)
            let next = p + 46 + nameLength + extraLength + commentLength
            guard next <= cdEnd else {
                throw PickleError.invalidArchive(
                    path: path, detail: "central directory record \(n) runs past the directory")
            }
            let nameBytes = UnsafeRawBufferPointer(start: base + p + 46, count: nameLength)
            guard let name = String(bytes: nameBytes, encoding: .utf8) else {
                throw PickleError.invalidArchive(path: path, detail: "record \(n) has a name that is not UTF-8")
            }
            // ZIP64 extra field: the saturated 32-bit fields, in this order.
            if uncompressed == 0xffff_ffff || compressed == 0xffff_ffff || local == 0xffff_ffff {
                var e = p + 46 + nameLength
                let extraEnd = e + extraLength
                var found = false
                while e + 4 <= extraEnd {
                    let id = u16(e)
                    let length = u16(e + 2)
                    guard e + 4 + length <= extraEnd else { break }
                    if id == 0x0001 {
                        var q = e + 4
                        let end = q + length
                        func take() -> Int? {
                            guard q + 8 <= end else { return nil }
                            defer { q += 8 }
                            return u64(q)
                        }
                        if uncompressed == 0xffff_ffff { uncompressed = take() ?? -1 }
                        if compressed == 0xffff_ffff { compressed = take() ?? -1 }
                        if local == 0xffff_ffff { local = take() ?? -1 }
                        found = true
                        break
                    }
                    e += 4 + length
                }
                guard found, uncompressed >= 0, compressed >= 0, local >= 0 else {
                    throw PickleError.invalidArchive(path: path, detail: "record '\(name)' lacks its ZIP64 sizes")
                }
            }
            guard disk == 0 || disk == 0xffff else {
                throw PickleError.invalidArchive(path: path, detail: "record '\(name)' is on another disk")
            }
            // Local header: fixed 30 bytes, then its own name and extra lengths (torch pads the
            // extra field so that data starts 64-byte aligned).
            guard local <= cdOffset, cdOffset - local >= 30 else {
                throw PickleError.truncated(
                    path: path, detail: "record '\(name)' has its local header outside the data area")
            }
            guard u32(local) == 0x0403_4b50 else {
                throw PickleError.invalidArchive(
                    path: path, detail: "record '\(name)' has no local header at offset \(local)")
            }
            let dataOffset = local + 30 + u16(local + 26) + u16(local + 28)
            guard dataOffset <= cdOffset, compressed <= cdOffset - dataOffset else {
                throw PickleError.truncated(
                    path: path,
                    detail:
                        "record '\(name)' (\(compressed) bytes at offset \(dataOffset)) runs into the central directory"
                )
            }
            guard index[name] == nil else {
                throw PickleError.invalidArchive(path: path, detail: "record '\(name)' appears twice")
            }
            index[name] = entries.count
            entries.append(
                Entry(
                    name: name, flags: flags, method: method, crc32: crc, compressedSize: compressed,
                    size: uncompressed,
                    localHeaderOffset: local, dataOffset: dataOffset))
            p = next
        }
        self.entries = entries
        self.index = index
    }

    /// Why a file without an end-of-central-directory record is not read.
    private static func notAZip(base: UnsafeRawPointer, size: Int, path: String) -> PickleError {
        let head = Array(UnsafeRawBufferPointer(start: base, count: min(size, 16)))
        if head.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
            return .truncated(
                path: path, detail: "a ZIP archive without its central directory (\(size) bytes; the file is cut short)"
            )
        }
        // Legacy torch.save (before 1.6, or _use_new_zipfile_serialization=False): a pickled magic number.
        let legacyMagic: [UInt8] = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
        if head.starts(with: legacyMagic) {
            return .unsupportedFormat(
                path: path,
                detail: "legacy (pre-1.6, non-ZIP) torch.save format; re-save it with a current torch or as safetensors"
            )
        }
        if size == 0 { return .truncated(path: path, detail: "empty file") }
        return .invalidArchive(path: path, detail: "not a ZIP archive (no end-of-central-directory record)")
    }

    func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The bytes of a stored record, checked against its CRC-32 when `verify` and the archive
    /// recorded one (torch writes 0 when `torch.serialization.set_crc32_options(False)`).
    func bytes(of entry: Entry, verify: Bool) throws -> UnsafeRawBufferPointer {
        guard entry.flags & 1 == 0 else {
            throw PickleError.unsupportedFormat(path: path, detail: "record '\(entry.name)' is encrypted")
        }
        guard entry.method == 0 else {
            throw PickleError.compressedEntry(path: path, entry: entry.name, method: Int(entry.method))
        }
        guard entry.size == entry.compressedSize else {
            throw PickleError.invalidArchive(
                path: path,
                detail: "stored record '\(entry.name)' has size \(entry.size) but spans \(entry.compressedSize) bytes")
        }
        let buffer = UnsafeRawBufferPointer(start: file.base + entry.dataOffset, count: entry.size)
        if verify && entry.crc32 != 0 && CRC32.checksum(buffer) != entry.crc32 {
            throw PickleError.checksumMismatch(path: path, entry: entry.name)
        }
        return buffer
    }
}

/// CRC-32 (ISO-HDLC, as ZIP uses), slicing-by-4.
enum CRC32 {
    static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 4)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<4 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
        }
        return t
    }()

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
        var c: UInt32 = 0xffff_ffff
        var i = 0
        let n = bytes.count
        while i + 4 <= n {
            c ^= UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            c = t3[Int(c & 0xff)] ^ t2[Int((c >> 8) & 0xff)] ^ t1[Int((c >> 16) & 0xff)] ^ t0[Int(c >> 24)]
            i += 4
        }
        while i < n {
            c = t0[Int((c ^ UInt32(bytes[i])) & 0xff)] ^ (c >> 8)
            i += 1
        }
        return ~c
    }
}

import Foundation

/// The bytes of one tokenizer file plus its path, for error messages.
///
/// Files are read whole and validated as UTF-8 once, so that every later `String` made from a
/// slice of them is exact and every error can name a line.
struct TextFile {
    let path: String
    let bytes: [UInt8]

    /// Reads `url`, throwing `missingFile` / `unreadableFile` / `invalidUTF8`.
    init(_ url: URL) throws {
        path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TokenizerError.missingFile(path: path)
        }
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        if let line = UTF8Check.firstInvalidLine(bytes) {
            throw TokenizerError.invalidUTF8(path: path, line: line)
        }
    }

    /// Test hook: wraps bytes already in memory (validated the same way).
    init(path: String, bytes: [UInt8]) throws {
        self.path = path
        self.bytes = bytes
        if let line = UTF8Check.firstInvalidLine(bytes) {
            throw TokenizerError.invalidUTF8(path: path, line: line)
        }
    }

    /// Splits into lines on LF (a CR before it is kept, as Python's `split("\n")` keeps it),
    /// dropping the empty piece after a final newline. Each line is (1-based number, text).
    func lines() -> [(number: Int, text: String)] {
        var result: [(Int, String)] = []
        var start = 0
        var number = 1
        bytes.withUnsafeBufferPointer { buf in
            for i in 0..<buf.count where buf[i] == 0x0A {
                result.append((number, String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)))
                start = i + 1
                number += 1
            }
            if start < buf.count {
                result.append((number, String(decoding: UnsafeBufferPointer(rebasing: buf[start..<buf.count]), as: UTF8.self)))
            }
        }
        return result
    }
}

/// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF), shared by every
/// reader of text files (tokenizer files here, datasets in `Datasets`) so a bad byte is reported by line.
public enum UTF8Check {
    /// The 1-based line of the first invalid byte, or nil when `bytes` is valid UTF-8.
    @inlinable
    public static func firstInvalidLine<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8, Bytes.Index == Int {
        guard let offset = firstInvalidOffset(bytes) else { return nil }
        var line = 1
        for i in 0..<offset where bytes[bytes.startIndex + i] == 0x0A { line += 1 }
        return line
    }

    /// Offset (from `startIndex`) of the first byte of the first invalid sequence, or nil.
    @inlinable
    public static func firstInvalidOffset<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8, Bytes.Index == Int {
        let base = bytes.startIndex
        let n = bytes.count
        func b(_ k: Int) -> UInt8 { bytes[base + k] }
        var i = 0
        while i < n {
            let c = b(i)
            if c < 0x80 { i += 1; continue }
            let need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            guard i + need < n else { return i }
            let c1 = b(i + 1)
            if c1 < lo || c1 > hi { return i }
            for k in 2...max(2, need) where k <= need {
                if b(i + k) & 0xC0 != 0x80 { return i }
            }
            i += need + 1
        }
        return nil
    }
}

/// A forward reader over borrowed bytes; every read is bounds-checked and throws `CorruptData`
/// instead of trapping, because the bytes come from a file.
///
/// The cursor does not own its bytes: whoever creates it keeps them alive and unmodified for as long
/// as the cursor is used.
struct ByteCursor {
    let base: UnsafeRawPointer
    let count: Int
    private(set) var position: Int = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        // An empty buffer may have a nil base; any valid pointer works since nothing is ever read.
        self.base = buffer.baseAddress ?? ByteCursor.emptyBase
        self.count = buffer.count
    }

    private static let emptyBase = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1))

    var remaining: Int { count - position }
    var isAtEnd: Bool { position >= count }

    /// Pointer to the current position; valid for `remaining` bytes.
    var current: UnsafeRawPointer { base + position }

    mutating func require(_ n: Int, _ what: @autoclosure () -> String) throws(CorruptData) {
        if n < 0 || n > remaining {
            throw CorruptData("\(what()) needs \(n) bytes, only \(remaining) left")
        }
    }

    mutating func skip(_ n: Int, _ what: @autoclosure () -> String) throws(CorruptData) {
        try require(n, what())
        position += n
    }

    mutating func readByte(_ what: @autoclosure () -> String) throws(CorruptData) -> UInt8 {
        guard position < count else { throw CorruptData("\(what()): unexpected end of data") }
        let byte = base.load(fromByteOffset: position, as: UInt8.self)
        position += 1
        return byte
    }

    mutating func readUInt32LE(_ what: @autoclosure () -> String) throws(CorruptData) -> UInt32 {
        try require(4, what())
        let value = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return value
    }

    mutating func readUInt64LE(_ what: @autoclosure () -> String) throws(CorruptData) -> UInt64 {
        try require(8, what())
        let value = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return value
    }

    /// An unsigned LEB128 varint of at most 64 bits (10 bytes).
    mutating func readULEB128(_ what: @autoclosure () -> String) throws(CorruptData) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < count else { throw CorruptData("\(what()): varint runs past the end of data") }
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            if shift == 63 && byte > 1 { throw CorruptData("\(what()): varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Takes the next `n` bytes as a buffer and moves past them.
    mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws(CorruptData) -> UnsafeRawBufferPointer {
        try require(n, what())
        let slice = UnsafeRawBufferPointer(start: base + position, count: n)
        position += n
        return slice
    }
}

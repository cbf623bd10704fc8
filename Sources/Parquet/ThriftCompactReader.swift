/// Wire types of the Thrift compact protocol, as stored in the low nibble of a field header or
/// a list header.
enum ThriftType: UInt8 {
    case stop = 0
    case boolTrue = 1
    case boolFalse = 2
    case byte = 3
    case i16 = 4
    case i32 = 5
    case i64 = 6
    case double = 7
    case binary = 8
    case list = 9
    case set = 10
    case map = 11
    case structure = 12
    case uuid = 13

    var isBool: Bool { self == .boolTrue || self == .boolFalse }
}

/// A decoder for the Thrift compact protocol, enough to read Parquet's footer and page headers.
///
/// Callers walk a struct field by field and `skip` what they do not need, so fields added by newer
/// writers are passed over correctly. Because the input is untrusted: nesting is capped at
/// `maxDepth`, every length and element count is checked against the bytes that remain (each
/// element takes at least one byte, so a count can never make us allocate more than the input), and
/// integers that overflow their declared width are rejected.
struct ThriftCompactReader {
    static let maxDepth = 64

    private(set) var cursor: ByteCursor
    /// Last field id per open struct: compact field headers store ids as deltas from it.
    private var lastFieldIDs: [Int] = []

    init(_ bytes: UnsafeRawBufferPointer) {
        cursor = ByteCursor(bytes)
    }

    /// Bytes consumed so far.
    var position: Int { cursor.position }

    mutating func beginStruct() throws(CorruptData) {
        guard lastFieldIDs.count < Self.maxDepth else {
            throw CorruptData("Thrift structures nested deeper than \(Self.maxDepth) levels")
        }
        lastFieldIDs.append(0)
    }

    mutating func endStruct() {
        _ = lastFieldIDs.popLast()
    }

    /// Reads one struct: `field` decodes the fields it knows and returns true; the others are
    /// skipped. Returns the ids that `field` decoded (for the required-field checks).
    mutating func readStruct(
        _ field: (inout ThriftCompactReader, _ id: Int, _ type: ThriftType) throws(CorruptData) -> Bool
    ) throws(CorruptData) -> Set<Int> {
        var seen = Set<Int>()
        try beginStruct()
        while let header = try readFieldHeader() {
            if try field(&self, header.id, header.type) {
                seen.insert(header.id)
            } else {
                try skip(header.type)
            }
        }
        endStruct()
        return seen
    }

    /// The next field's id and type, or nil at the struct's STOP byte.
    mutating func readFieldHeader() throws(CorruptData) -> (id: Int, type: ThriftType)? {
        let byte = try cursor.readByte("Thrift field header")
        if byte == 0 { return nil }
        guard let type = ThriftType(rawValue: byte & 0x0F), type != .stop else {
            throw CorruptData("unknown Thrift field type \(byte & 0x0F)")
        }
        let delta = Int(byte >> 4)
        let id: Int
        if delta != 0 {
            id = (lastFieldIDs.last ?? 0) + delta
        } else {
            id = Int(try readI16())
        }
        if !lastFieldIDs.isEmpty { lastFieldIDs[lastFieldIDs.count - 1] = id }
        return (id, type)
    }

    private mutating func readZigZag(_ what: String) throws(CorruptData) -> Int64 {
        let raw = try cursor.readULEB128(what)
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func readI16() throws(CorruptData) -> Int16 {
        let value = try readZigZag("Thrift i16")
        guard let narrow = Int16(exactly: value) else { throw CorruptData("Thrift i16 out of range: \(value)") }
        return narrow
    }

    mutating func readI32() throws(CorruptData) -> Int32 {
        let value = try readZigZag("Thrift i32")
        guard let narrow = Int32(exactly: value) else { throw CorruptData("Thrift i32 out of range: \(value)") }
        return narrow
    }

    mutating func readI64() throws(CorruptData) -> Int64 {
        try readZigZag("Thrift i64")
    }

    /// A byte (`i8`) field.
    mutating func readI8() throws(CorruptData) -> Int8 {
        Int8(bitPattern: try cursor.readByte("Thrift byte"))
    }

    mutating func readDouble() throws(CorruptData) -> Double {
        Double(bitPattern: try cursor.readUInt64LE("Thrift double"))
    }

    /// Binary or string bytes, borrowed from the input.
    mutating func readBinary() throws(CorruptData) -> UnsafeRawBufferPointer {
        let length = try cursor.readULEB128("Thrift binary length")
        guard length <= UInt64(cursor.remaining) else {
            throw CorruptData("Thrift binary of \(length) bytes runs past the end (\(cursor.remaining) left)")
        }
        return try cursor.take(Int(length), "Thrift binary")
    }

    /// A string field; invalid UTF-8 is replaced rather than rejected since names are only displayed
    /// and compared.
    mutating func readString() throws(CorruptData) -> String {
        String(decoding: try readBinary(), as: UTF8.self)
    }

    /// A list or set header: element type and element count.
    mutating func readListHeader() throws(CorruptData) -> (elementType: ThriftType, count: Int) {
        let byte = try cursor.readByte("Thrift list header")
        guard let type = ThriftType(rawValue: byte & 0x0F), type != .stop else {
            throw CorruptData("unknown Thrift list element type \(byte & 0x0F)")
        }
        var count = UInt64(byte >> 4)
        if count == 15 { count = try cursor.readULEB128("Thrift list size") }
        // Every element occupies at least one byte, so a larger count cannot be honest.
        guard count <= UInt64(cursor.remaining) else {
            throw CorruptData("Thrift list of \(count) elements but only \(cursor.remaining) bytes left")
        }
        return (type, Int(count))
    }

    /// Reads a bool that is a list element (one byte) rather than a field (type nibble).
    mutating func readBoolElement() throws(CorruptData) -> Bool {
        try cursor.readByte("Thrift bool") == 1
    }

    /// Skips one value of `type`, including everything nested in it.
    mutating func skip(_ type: ThriftType) throws(CorruptData) {
        try skip(type, depth: 0)
    }

    private mutating func skip(_ type: ThriftType, depth: Int) throws(CorruptData) {
        guard lastFieldIDs.count + depth < Self.maxDepth else {
            throw CorruptData("Thrift values nested deeper than \(Self.maxDepth) levels")
        }
        switch type {
        case .stop:
            throw CorruptData("unexpected Thrift STOP")
        case .boolTrue, .boolFalse:
            break  // a bool field's value lives in its header
        case .byte:
            try cursor.skip(1, "Thrift byte")
        case .i16, .i32, .i64:
            _ = try cursor.readULEB128("Thrift integer")
        case .double:
            try cursor.skip(8, "Thrift double")
        case .uuid:
            try cursor.skip(16, "Thrift uuid")
        case .binary:
            _ = try readBinary()
        case .list, .set:
            let (elementType, count) = try readListHeader()
            for _ in 0..<count {
                if elementType.isBool {
                    try cursor.skip(1, "Thrift bool")
                } else {
                    try skip(elementType, depth: depth + 1)
                }
            }
        case .map:
            let size = try cursor.readULEB128("Thrift map size")
            guard size <= UInt64(cursor.remaining) else {
                throw CorruptData("Thrift map of \(size) entries but only \(cursor.remaining) bytes left")
            }
            if size == 0 { return }
            let types = try cursor.readByte("Thrift map types")
            guard let keyType = ThriftType(rawValue: types >> 4), keyType != .stop,
                  let valueType = ThriftType(rawValue: types & 0x0F), valueType != .stop
            else { throw CorruptData("unknown Thrift map types \(types)") }
            for _ in 0..<Int(size) {
                for elementType in [keyType, valueType] {
                    if elementType.isBool {
                        try cursor.skip(1, "Thrift bool")
                    } else {
                        try skip(elementType, depth: depth + 1)
                    }
                }
            }
        case .structure:
            try beginStruct()
            while let field = try readFieldHeader() {
                try skip(field.type, depth: depth + 1)
            }
            endStruct()
        }
    }
}

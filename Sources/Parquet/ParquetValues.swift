/// Variable-length values (BYTE_ARRAY) stored back to back in one buffer.
///
/// Value `i` is `bytes[offsets[i] ..< offsets[i + 1]]`; `offsets` has `count + 1` elements and starts
/// at 0. One buffer instead of one array per value keeps decoding free of per-value allocations.
public struct ByteArrayValues: Sendable, Equatable {
    public internal(set) var offsets: [Int]
    public internal(set) var bytes: [UInt8]

    public init() {
        offsets = [0]
        bytes = []
    }

    /// Values from explicit offsets and bytes; nil unless `offsets` starts at 0, never decreases and
    /// ends at `bytes.count`.
    public init?(offsets: [Int], bytes: [UInt8]) {
        guard offsets.first == 0, offsets.last == bytes.count,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 })
        else { return nil }
        self.offsets = offsets
        self.bytes = bytes
    }

    public var count: Int { offsets.count - 1 }

    /// Bytes of value `index` (no copy).
    public func bytes(at index: Int) -> ArraySlice<UInt8> {
        bytes[offsets[index]..<offsets[index + 1]]
    }

    /// Value `index` decoded as UTF-8; invalid sequences become U+FFFD (Parquet STRING columns must
    /// hold UTF-8, so that only happens in files that break the format's rules).
    public func string(at index: Int) -> String {
        let start = offsets[index]
        let end = offsets[index + 1]
        return bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
        }
    }

    /// Calls `body` with value `index`'s bytes, without copying them.
    public func withUnsafeBytes<R>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let start = offsets[index]
        let end = offsets[index + 1]
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }
}

/// The decoded values of one column chunk, one per row, in the column's physical type.
public enum ParquetValues: Sendable, Equatable {
    case boolean([Bool])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    case byteArray(ByteArrayValues)

    /// Number of values (rows), nulls included.
    public var count: Int {
        switch self {
        case .boolean(let values): values.count
        case .int32(let values): values.count
        case .int64(let values): values.count
        case .float(let values): values.count
        case .double(let values): values.count
        case .byteArray(let values): values.count
        }
    }
}

/// One column of one row group.
///
/// `values` holds a slot for every row. A null row's slot holds a placeholder: `false`, `0`, `0.0`,
/// or an empty byte array, so `values` alone cannot tell a null from a zero or empty string; check
/// `validity` (or `isNull(_:)`).
public struct ParquetColumn: Sendable, Equatable {
    public let descriptor: ParquetColumnDescriptor
    public let values: ParquetValues
    /// `validity[row]` is false for a null row (a list column: per element); nil when the chunk has no nulls.
    public let validity: [Bool]?
    /// A list column's rows: row r's elements are `values[offsets[r]..<offsets[r + 1]]` (an empty or null list has
    /// none). Nil for a flat column, whose `values` hold one slot per row.
    public let offsets: [Int]?

    public init(descriptor: ParquetColumnDescriptor, values: ParquetValues, validity: [Bool]?, offsets: [Int]? = nil) {
        self.descriptor = descriptor
        self.values = values
        self.validity = validity
        self.offsets = offsets
    }

    /// Number of rows.
    public var count: Int { offsets.map { $0.count - 1 } ?? values.count }

    /// The value slots of row `row`: the row itself for a flat column, its elements for a list.
    public func slots(of row: Int) -> Range<Int> {
        guard let offsets else { return row..<(row + 1) }
        return offsets[row]..<offsets[row + 1]
    }

    /// A list column's row as texts (nil for a null element); for a flat column, the row's one value.
    public func strings(at row: Int) -> [String?] { slots(of: row).map { string(at: $0) } }

    /// A list column's row as integers (INT32/INT64; nil for a null element).
    public func int64s(at row: Int) -> [Int64?] { slots(of: row).map { int64(at: $0) } }

    public var nullCount: Int { validity.map { $0.lazy.filter { !$0 }.count } ?? 0 }

    public func isNull(_ row: Int) -> Bool { validity.map { !$0[row] } ?? false }

    /// The text in slot `row` (a flat column's row, or a list column's element) for a BYTE_ARRAY column; nil for a
    /// null or another physical type.
    public func string(at row: Int) -> String? {
        guard !isNull(row), case .byteArray(let values) = values else { return nil }
        return values.string(at: row)
    }

    /// The integer in slot `row` (row or element) for an INT32 or INT64 column; nil for a null or another physical
    /// type.
    public func int64(at row: Int) -> Int64? {
        guard !isNull(row) else { return nil }
        switch values {
        case .int32(let values): return Int64(values[row])
        case .int64(let values): return values[row]
        default: return nil
        }
    }
}

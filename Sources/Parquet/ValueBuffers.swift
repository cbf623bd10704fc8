/// Accumulates one column chunk's values of one physical type, page by page.
///
/// Decoders append only the non-null values of a page ("dense"); `spreadNulls` then opens a
/// placeholder slot for every null row, so value decoding never looks at levels.
protocol ValueBuffer {
    associatedtype Dictionary

    init(reservingRows rows: Int, byteHint: Int)
    /// Values (slots) appended so far.
    var count: Int { get }

    /// Appends `count` PLAIN-encoded values from the cursor.
    mutating func appendPlain(_ data: inout ByteCursor, count: Int) throws(CorruptData)
    /// Decodes a dictionary page (PLAIN-encoded entries).
    static func decodeDictionary(_ data: inout ByteCursor, count: Int) throws(CorruptData) -> Dictionary
    static func entryCount(of dictionary: Dictionary) -> Int
    /// Appends the dictionary entries at `indices` (already checked to be in range).
    mutating func appendEntries(_ indices: UnsafeBufferPointer<UInt32>, of dictionary: Dictionary)

    /// Whether RLE (bit width 1, length-prefixed) is a valid value encoding: only for booleans.
    static var acceptsRLEValues: Bool { get }
    mutating func appendRLE(_ data: inout ByteCursor, count: Int) throws(CorruptData)

    /// Turns the last `dense` values into `validity.count` slots: valid rows get the values in order,
    /// null rows a placeholder.
    mutating func spreadNulls(validity: UnsafeBufferPointer<Bool>, dense: Int)

    func finish() -> ParquetValues
}

extension ValueBuffer {
    static var acceptsRLEValues: Bool { false }

    mutating func appendRLE(_ data: inout ByteCursor, count: Int) throws(CorruptData) {
        throw CorruptData("RLE is not a value encoding for this type")
    }
}

/// Moves the last `dense` elements of `array` apart so that they land on the valid rows of the
/// trailing `validity.count` slots, filling null rows with `placeholder`. Works backwards in place:
/// a value only ever moves to a later index.
private func spread<T>(_ array: inout [T], validity: UnsafeBufferPointer<Bool>, dense: Int, placeholder: T) {
    let base = array.count - dense
    let nulls = validity.count - dense
    array.append(contentsOf: repeatElement(placeholder, count: nulls))
    array.withUnsafeMutableBufferPointer { out in
        var source = base + dense - 1
        for row in stride(from: validity.count - 1, through: 0, by: -1) {
            if validity[row] {
                out[base + row] = out[source]
                source -= 1
            } else {
                out[base + row] = placeholder
            }
        }
    }
}

/// Appends `count` copies of `value`, growing geometrically (see `reserve`).
private func extend<T>(_ array: inout [T], by count: Int, with value: T) {
    reserve(&array, additional: count)
    array.append(contentsOf: repeatElement(value, count: count))
}

/// Makes room for `additional` more elements, growing geometrically: `reserveCapacity` alone
/// reallocates to the exact size asked, which page-by-page growth would turn into quadratic copying.
private func reserve<T>(_ array: inout [T], additional: Int) {
    let needed = array.count + additional
    if needed > array.capacity { array.reserveCapacity(max(needed, 2 * array.capacity)) }
}

// MARK: - Fixed-width numbers

/// INT32, INT64, FLOAT and DOUBLE: PLAIN is the little-endian bytes back to back.
protocol FixedWidthValue: Sendable {
    static var zero: Self { get }
    static func wrap(_ values: [Self]) -> ParquetValues
    /// Converts from little-endian storage (a no-op on little-endian hosts).
    init(littleEndianStorage: Self)
}

extension Int32: FixedWidthValue {
    static func wrap(_ values: [Int32]) -> ParquetValues { .int32(values) }
    init(littleEndianStorage value: Int32) { self.init(littleEndian: value) }
}

extension Int64: FixedWidthValue {
    static func wrap(_ values: [Int64]) -> ParquetValues { .int64(values) }
    init(littleEndianStorage value: Int64) { self.init(littleEndian: value) }
}

extension Float: FixedWidthValue {
    static func wrap(_ values: [Float]) -> ParquetValues { .float(values) }
    init(littleEndianStorage value: Float) { self.init(bitPattern: UInt32(littleEndian: value.bitPattern)) }
}

extension Double: FixedWidthValue {
    static func wrap(_ values: [Double]) -> ParquetValues { .double(values) }
    init(littleEndianStorage value: Double) { self.init(bitPattern: UInt64(littleEndian: value.bitPattern)) }
}

struct FixedWidthBuffer<T: FixedWidthValue>: ValueBuffer {
    private var values: [T] = []

    init(reservingRows rows: Int, byteHint: Int) {
        values.reserveCapacity(rows)
    }

    var count: Int { values.count }

    mutating func appendPlain(_ data: inout ByteCursor, count: Int) throws(CorruptData) {
        try Self.readPlain(into: &values, &data, count: count)
    }

    static func decodeDictionary(_ data: inout ByteCursor, count: Int) throws(CorruptData) -> [T] {
        var entries: [T] = []
        try Self.readPlain(into: &entries, &data, count: count)
        return entries
    }

    static func entryCount(of dictionary: [T]) -> Int { dictionary.count }

    mutating func appendEntries(_ indices: UnsafeBufferPointer<UInt32>, of dictionary: [T]) {
        dictionary.withUnsafeBufferPointer { entries in
            for index in indices { values.append(entries[Int(index)]) }
        }
    }

    mutating func spreadNulls(validity: UnsafeBufferPointer<Bool>, dense: Int) {
        spread(&values, validity: validity, dense: dense, placeholder: T.zero)
    }

    func finish() -> ParquetValues { T.wrap(values) }

    /// Copies `count` little-endian values from the cursor onto the end of `array`.
    static func readPlain(into array: inout [T], _ data: inout ByteCursor, count: Int) throws(CorruptData) {
        let size = MemoryLayout<T>.size
        guard count <= data.remaining / size else {
            throw CorruptData("PLAIN \(T.self) data holds \(data.remaining / size) values, \(count) needed")
        }
        let source = try data.take(count * size, "PLAIN values")
        let start = array.count
        array.append(contentsOf: repeatElement(T.zero, count: count))
        array.withUnsafeMutableBytes { out in
            guard let from = source.baseAddress, let to = out.baseAddress else { return }
            // memcpy: the source is not aligned for T.
            (to + start * size).copyMemory(from: from, byteCount: count * size)
        }
        #if _endian(big)
        for i in start..<array.count { array[i] = T(littleEndianStorage: array[i]) }
        #endif
    }
}

// MARK: - Booleans

struct BooleanBuffer: ValueBuffer {
    private var values: [Bool] = []

    init(reservingRows rows: Int, byteHint: Int) {
        values.reserveCapacity(rows)
    }

    var count: Int { values.count }

    mutating func appendPlain(_ data: inout ByteCursor, count: Int) throws(CorruptData) {
        try Self.readPlain(into: &values, &data, count: count)
    }

    /// PLAIN booleans are bit-packed LSB first, 8 to a byte.
    private static func readPlain(into values: inout [Bool], _ data: inout ByteCursor, count: Int) throws(CorruptData) {
        let bytes = try data.take((count + 7) / 8, "PLAIN booleans")
        reserve(&values, additional: count)
        for i in 0..<count {
            values.append(bytes[i >> 3] & (1 << UInt8(i & 7)) != 0)
        }
    }

    static func decodeDictionary(_ data: inout ByteCursor, count: Int) throws(CorruptData) -> [Bool] {
        var entries: [Bool] = []
        try readPlain(into: &entries, &data, count: count)
        return entries
    }

    static func entryCount(of dictionary: [Bool]) -> Int { dictionary.count }

    mutating func appendEntries(_ indices: UnsafeBufferPointer<UInt32>, of dictionary: [Bool]) {
        for index in indices { values.append(dictionary[Int(index)]) }
    }

    static var acceptsRLEValues: Bool { true }

    /// RLE booleans: a 4-byte length, then the hybrid encoding with bit width 1.
    mutating func appendRLE(_ data: inout ByteCursor, count: Int) throws(CorruptData) {
        let length = Int(try data.readUInt32LE("RLE boolean length"))
        var decoder = try RLEHybridDecoder(try data.take(length, "RLE booleans"), bitWidth: 1)
        let bits = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: count)
        defer { bits.deallocate() }
        if let base = bits.baseAddress { try decoder.decode(into: base, count: count) }
        reserve(&values, additional: count)
        for bit in bits { values.append(bit != 0) }
    }

    mutating func spreadNulls(validity: UnsafeBufferPointer<Bool>, dense: Int) {
        spread(&values, validity: validity, dense: dense, placeholder: false)
    }

    func finish() -> ParquetValues { .boolean(values) }
}

// MARK: - Byte arrays

struct ByteArrayBuffer: ValueBuffer {
    private var offsets: [Int] = [0]
    private var bytes: [UInt8] = []

    init(reservingRows rows: Int, byteHint: Int) {
        offsets.reserveCapacity(rows + 1)
        bytes.reserveCapacity(byteHint)
    }

    var count: Int { offsets.count - 1 }

    /// PLAIN byte arrays: a 4-byte little-endian length, then the bytes, for each value.
    mutating func appendPlain(_ data: inout ByteCursor, count: Int) throws(CorruptData) {
        try Self.readPlain(&data, count: count, offsets: &offsets, bytes: &bytes)
    }

    private static func readPlain(
        _ data: inout ByteCursor, count: Int, offsets: inout [Int], bytes: inout [UInt8]
    ) throws(CorruptData) {
        guard count <= data.remaining / 4 else {
            throw CorruptData("PLAIN BYTE_ARRAY data of \(data.remaining) bytes cannot hold \(count) values")
        }
        // One pass that checks and copies: grow both arrays once for the page (the value bytes are at
        // most the page's bytes minus the length prefixes), fill them through raw pointers, then trim.
        // Per-value appends, or a separate checking pass over the page, cost more than the copies.
        let byteStart = bytes.count
        let offsetStart = offsets.count
        extend(&bytes, by: data.remaining - 4 * count, with: 0)
        extend(&offsets, by: count, with: 0)
        let byteLimit = bytes.count
        let source = data.current
        let limit = data.remaining
        var position = 0
        var end = byteStart
        var decoded = 0
        bytes.withUnsafeMutableBytes { byteBuffer in
            offsets.withUnsafeMutableBufferPointer { offsetBuffer in
                let to = byteBuffer.baseAddress
                while decoded < count {
                    guard limit - position >= 4 else { return }
                    let length = Int(UInt32(
                        littleEndian: source.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
                    // Both bounds matter when the page is corrupt: a value must lie inside the page,
                    // and inside the room made above (which a too-long value would leave no room after).
                    guard length <= limit - position - 4, length <= byteLimit - end else { return }
                    if let to { (to + end).copyMemory(from: source + position + 4, byteCount: length) }
                    end += length
                    position += 4 + length
                    offsetBuffer[offsetStart + decoded] = end
                    decoded += 1
                }
            }
        }
        bytes.removeSubrange(end...)
        guard decoded == count else {
            offsets.removeSubrange(offsetStart...)
            bytes.removeSubrange(byteStart...)
            throw CorruptData("PLAIN BYTE_ARRAY value \(decoded) of \(count) runs past the end of the page")
        }
        try data.skip(position, "BYTE_ARRAY values")
    }

    static func decodeDictionary(_ data: inout ByteCursor, count: Int) throws(CorruptData) -> ByteArrayValues {
        var dictionary = ByteArrayValues()
        try readPlain(&data, count: count, offsets: &dictionary.offsets, bytes: &dictionary.bytes)
        return dictionary
    }

    static func entryCount(of dictionary: ByteArrayValues) -> Int { dictionary.count }

    mutating func appendEntries(_ indices: UnsafeBufferPointer<UInt32>, of dictionary: ByteArrayValues) {
        dictionary.offsets.withUnsafeBufferPointer { entryOffsets in
            dictionary.bytes.withUnsafeBytes { entryBytes in
                var total = 0
                for index in indices {
                    total += entryOffsets[Int(index) + 1] - entryOffsets[Int(index)]
                }
                let byteStart = bytes.count
                let offsetStart = offsets.count
                extend(&bytes, by: total, with: 0)
                extend(&offsets, by: indices.count, with: 0)
                bytes.withUnsafeMutableBytes { byteBuffer in
                    offsets.withUnsafeMutableBufferPointer { offsetBuffer in
                        guard let to = byteBuffer.baseAddress, let from = entryBytes.baseAddress else {
                            // Every entry is empty: each value ends where the page started.
                            for i in 0..<indices.count { offsetBuffer[offsetStart + i] = byteStart }
                            return
                        }
                        var end = byteStart
                        for (i, index) in indices.enumerated() {
                            let entryStart = entryOffsets[Int(index)]
                            let length = entryOffsets[Int(index) + 1] - entryStart
                            (to + end).copyMemory(from: from + entryStart, byteCount: length)
                            end += length
                            offsetBuffer[offsetStart + i] = end
                        }
                    }
                }
            }
        }
    }

    /// A null row gets an empty value: its end offset repeats the previous one.
    mutating func spreadNulls(validity: UnsafeBufferPointer<Bool>, dense: Int) {
        // Offsets of the page's rows are offsets[base + 1 ... base + rows]; offsets[base] is where the
        // page starts. Walking backwards, a null row ends where the last valid row before it ends.
        let base = offsets.count - 1 - dense
        offsets.append(contentsOf: repeatElement(0, count: validity.count - dense))
        offsets.withUnsafeMutableBufferPointer { out in
            var source = dense - 1
            for row in stride(from: validity.count - 1, through: 0, by: -1) {
                out[base + 1 + row] = out[base + 1 + source]
                if validity[row] { source -= 1 }
            }
        }
    }

    func finish() -> ParquetValues {
        var values = ByteArrayValues()
        values.offsets = offsets
        values.bytes = bytes
        return .byteArray(values)
    }
}

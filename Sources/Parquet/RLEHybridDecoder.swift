/// Decoder for Parquet's RLE / bit-packing hybrid (Encodings.md, "RLE = 3"), used for definition
/// levels, dictionary indices and RLE-encoded booleans.
///
/// The input is a sequence of runs: `varint(n << 1)` + one value in ceil(bitWidth / 8) bytes repeated
/// n times, or `varint(groups << 1 | 1)` + groups * 8 values bit-packed LSB first. The caller says
/// how many values it needs; a run that declares more than are left is cut short (writers pad the
/// last bit-packed group), but data that ends before the values needed is an error.
struct RLEHybridDecoder {
    private var cursor: ByteCursor
    let bitWidth: Int
    private let mask: UInt64

    // The run being consumed: a repeated value, or bit-packed values from `packed`.
    private var repeatCount = 0
    private var repeatValue: UInt32 = 0
    private var packed = UnsafeRawBufferPointer(start: nil, count: 0)
    private var packedCount = 0
    private var packedIndex = 0

    init(_ bytes: UnsafeRawBufferPointer, bitWidth: Int) throws(CorruptData) {
        guard (0...32).contains(bitWidth) else { throw CorruptData("RLE bit width \(bitWidth) is not in 0...32") }
        cursor = ByteCursor(bytes)
        self.bitWidth = bitWidth
        mask = (UInt64(1) << UInt64(bitWidth)) - 1
    }

    /// Bytes consumed by the runs read so far.
    var bytesConsumed: Int { cursor.position }

    /// Decodes the next `count` values into `out`.
    mutating func decode(into out: UnsafeMutablePointer<UInt32>, count: Int) throws(CorruptData) {
        var done = 0
        while done < count {
            if repeatCount > 0 {
                let n = min(repeatCount, count - done)
                (out + done).update(repeating: repeatValue, count: n)
                repeatCount -= n
                done += n
            } else if packedIndex < packedCount {
                let n = min(packedCount - packedIndex, count - done)
                try unpack(into: out + done, count: n)
                done += n
            } else {
                try nextRun()
            }
        }
    }

    /// Reads the next run header and sets up the run.
    private mutating func nextRun() throws(CorruptData) {
        guard !cursor.isAtEnd else { throw CorruptData("RLE data ends before all values were decoded") }
        let header = try cursor.readULEB128("RLE run header")
        let length = header >> 1
        guard length <= UInt64(Int32.max) else { throw CorruptData("RLE run length \(length) is too large") }
        if header & 1 == 0 {
            let width = (bitWidth + 7) / 8
            var value: UInt64 = 0
            for i in 0..<width {
                value |= UInt64(try cursor.readByte("RLE run value")) << UInt64(8 * i)
            }
            guard value <= mask else { throw CorruptData("RLE run value \(value) exceeds bit width \(bitWidth)") }
            repeatValue = UInt32(truncatingIfNeeded: value)
            repeatCount = Int(length)
        } else {
            let declaredBytes = Int(length) * bitWidth
            // The last run may be cut short of its declared groups; only values actually read must exist.
            let available = min(declaredBytes, cursor.remaining)
            packed = try cursor.take(available, "bit-packed run")
            packedCount = Int(length) * 8
            packedIndex = 0
        }
    }

    private mutating func unpack(into out: UnsafeMutablePointer<UInt32>, count: Int) throws(CorruptData) {
        let endBit = (packedIndex + count) * bitWidth
        guard (endBit + 7) / 8 <= packed.count else {
            throw CorruptData("bit-packed run ends after \(packed.count) bytes, \((endBit + 7) / 8) needed")
        }
        guard bitWidth > 0, let base = packed.baseAddress else {
            out.update(repeating: 0, count: count)
            packedIndex += count
            return
        }
        let byteCount = packed.count
        var bit = packedIndex * bitWidth
        for i in 0..<count {
            let byte = bit >> 3
            let word: UInt64
            if byte + 8 <= byteCount {
                word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: byte, as: UInt64.self))
            } else {
                var w: UInt64 = 0
                for k in 0..<(byteCount - byte) {
                    w |= UInt64(base.load(fromByteOffset: byte + k, as: UInt8.self)) << UInt64(8 * k)
                }
                word = w
            }
            out[i] = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
            bit += bitWidth
        }
        packedIndex += count
    }
}

/// Number of bits needed for values up to `maxValue` (0 for 0), as used for level bit widths.
func bitWidth(forMaxValue maxValue: Int) -> Int {
    maxValue <= 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount
}

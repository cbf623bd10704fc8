import Testing
@testable import Parquet

@Suite("RLE / bit-packing hybrid")
struct RLEHybridDecoderTests {
    func decode(_ bytes: [UInt8], bitWidth: Int, count: Int) throws(CorruptData) -> [UInt32] {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { input.deallocate() }
        input.copyBytes(from: bytes)
        var decoder = try RLEHybridDecoder(UnsafeRawBufferPointer(input), bitWidth: bitWidth)
        let out = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: count)
        defer { out.deallocate() }
        // Two calls, to check that a run carries over between them.
        let half = count / 2
        if let base = out.baseAddress {
            try decoder.decode(into: base, count: half)
            try decoder.decode(into: base + half, count: count - half)
        }
        return Array(out)
    }

    @Test("Encodings.md example: 0...7 bit-packed with width 3")
    func specExample() throws {
        #expect(try decode([0x03, 0b1000_1000, 0b1100_0110, 0b1111_1010], bitWidth: 3, count: 8) == Array(0...7))
    }

    @Test("RLE runs, multi-byte values and a bit-packed run cut short")
    func mixedRuns() throws {
        // 5 x 300 (width 9: two value bytes), then one bit-packed group of width 9 holding 1, 2, 3
        // of which only 3 values are needed (the rest of the group is absent, as writers may pad).
        let packed: [UInt8] = [0x01, 0x04, 0x0C, 0x00]  // 1 | 2 << 9 | 3 << 18, LSB first
        let values = try decode([0x0A, 0x2C, 0x01, 0x03] + packed, bitWidth: 9, count: 8)
        #expect(values == [300, 300, 300, 300, 300, 1, 2, 3])
    }

    @Test("Width 0 and width 32")
    func extremeWidths() throws {
        #expect(try decode([0x08], bitWidth: 0, count: 4) == [0, 0, 0, 0])
        #expect(try decode([0x04, 0xFF, 0xFF, 0xFF, 0xFF], bitWidth: 32, count: 2) == [.max, .max])
    }

    @Test("Malformed input throws", arguments: [
        ([0x04, 0x05], 2, 2),              // RLE value 5 does not fit in 2 bits
        ([0x04], 8, 2),                    // RLE value missing
        ([0x02, 0x01], 8, 3),              // runs end before 3 values
        ([0x03, 0xFF], 8, 2),              // bit-packed group shorter than the values needed
        ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], 1, 1),  // header overflows
    ] as [([UInt8], Int, Int)])
    func malformed(bytes: [UInt8], bitWidth: Int, count: Int) {
        #expect(throws: CorruptData.self) { _ = try decode(bytes, bitWidth: bitWidth, count: count) }
    }

    @Test("Bit widths over 32 are refused")
    func wideBitWidth() {
        #expect(throws: CorruptData.self) { _ = try decode([0x02, 0x01], bitWidth: 33, count: 1) }
    }

    @Test("Level bit widths")
    func levelWidths() {
        #expect([0, 1, 2, 3, 4, 7, 8].map { bitWidth(forMaxValue: $0) } == [0, 1, 2, 2, 3, 3, 4])
    }
}

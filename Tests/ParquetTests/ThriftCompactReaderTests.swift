import Testing
@testable import Parquet

@Suite("Thrift compact protocol")
struct ThriftCompactReaderTests {
    /// Runs `body` on a reader over `bytes`.
    func read<T>(
        _ bytes: [UInt8], _ body: (inout ThriftCompactReader) throws(CorruptData) -> T
    ) throws(CorruptData) -> T {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: bytes)
        var reader = ThriftCompactReader(UnsafeRawBufferPointer(copy))
        return try body(&reader)
    }

    @Test("Known fields are read and unknown ones of every type skipped")
    func skipsUnknownFields() throws {
        let bytes: [UInt8] = [
            0x15, 0x2A,                    // field 1, i32, zigzag 42 -> 21
            0x18, 0x02, 0x68, 0x69,        // field 2, binary "hi"
            0x1C,                          // field 3, struct {
            0x15, 0x04,                    //   field 1, i32
            0x19, 0x28, 0x00, 0x00,        //   field 2, list<binary> ["", ""]
            0x00,                          // }
            0x1B, 0x01, 0x55, 0x02, 0x04,  // field 4, map<i32, i32> {1: 2}
            0x17, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,  // field 5, double 1.0
            0x11,                          // field 6, bool true (in the header)
            0x03, 0x10, 0x07,              // field id 8 in long form, byte 7
            0x16, 0x7F,                    // field 9, i64 -64
            0x00,                          // STOP
        ]
        let (first, second, last, position) = try read(bytes) { r throws(CorruptData) in
            try r.beginStruct()
            var first: Int32 = 0
            var second = ""
            var last: Int64 = 0
            while let field = try r.readFieldHeader() {
                switch (field.id, field.type) {
                case (1, .i32): first = try r.readI32()
                case (2, .binary): second = try r.readString()
                case (9, .i64): last = try r.readI64()
                default: try r.skip(field.type)
                }
            }
            r.endStruct()
            return (first, second, last, r.position)
        }
        #expect(first == 21)
        #expect(second == "hi")
        #expect(last == -64)
        #expect(position == bytes.count)
    }

    @Test("Corrupt input is rejected, not trusted", arguments: [
        [0x19, 0xF5, 0xFF, 0xFF, 0x0F],        // list claiming 262,143 elements in 0 bytes
        [0x18, 0x80, 0x80, 0x80, 0x80, 0x01],  // binary claiming 256 MB
        [0x15, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // varint over 64 bits
        [0x15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // i32 out of range
        [0x1E],                                 // unknown type 14
        [0x15],                                 // value missing
        [0x1C, 0x1C, 0x1C],                     // struct never closed
    ] as [[UInt8]])
    func rejectsCorruptInput(bytes: [UInt8]) {
        #expect(throws: CorruptData.self) {
            try read(bytes) { r throws(CorruptData) in
                try r.beginStruct()
                while let field = try r.readFieldHeader() {
                    if field.id == 1 && field.type == .i32 { _ = try r.readI32() } else { try r.skip(field.type) }
                }
                r.endStruct()
            }
        }
    }

    @Test("Nesting deeper than the limit is rejected")
    func depthLimit() {
        // 200 nested structs: field 1 of type struct, over and over.
        let bytes = [UInt8](repeating: 0x1C, count: 200) + [UInt8](repeating: 0, count: 201)
        #expect(throws: CorruptData.self) {
            try read(bytes) { r throws(CorruptData) in
                try r.beginStruct()
                while let field = try r.readFieldHeader() { try r.skip(field.type) }
                r.endStruct()
            }
        }
    }
}

import Foundation
import Testing
@testable import Parquet

@Suite("Files written by pyarrow read back exactly")
struct FixtureReadTests {
    /// The parameterised tests take their cases from the indexes: every fixture file is listed, none is missing.
    @Test("The fixture indexes list every fixture file")
    func indexesAreComplete() throws {
        let readable = try Fixtures.readableFiles()
        #expect(readable.count == 19)
        #expect(readable == (try Fixtures.parquetFiles(in: ".")).filter { !$0.hasPrefix("lists_") })
        let broken = try Fixtures.brokenFiles()
        #expect(broken.count == 14)
        #expect(broken.map(\.file) == (try Fixtures.parquetFiles(in: "broken")))
        #expect(broken.allSatisfy { !$0.error.isEmpty })
    }

    @Test("Schema, row groups and every value match pyarrow", arguments: try Fixtures.readableFiles())
    func readsLikePyarrow(name: String) throws {
        let files = try Fixtures.load([String: Fixtures.FileEntry].self, "expected/files.json")
        let entry = try #require(files[name])
        let expected = try Fixtures.load([Fixtures.ExpectedColumn].self, "expected/\(entry.table).json")
        let file = try ParquetFile(contentsOf: Fixtures.url(name))

        #expect(file.numRows == entry.num_rows)
        #expect(file.rowGroups.map(\.numRows) == entry.row_groups)
        #expect(file.createdBy?.hasPrefix("parquet-cpp-arrow version 22.0.0") == true)
        #expect(file.keyValueMetadata["ARROW:schema"] != nil)
        #expect(file.schema.columns.map(\.name) == expected.map(\.name))
        for (descriptor, column) in zip(file.schema.columns, expected) {
            #expect(descriptor.physicalType.description == column.physical_type, "\(column.name)")
            #expect(descriptor.logicalType?.name == column.logical_type, "\(column.name)")
            #expect(descriptor.isOptional == column.optional, "\(column.name)")
            #expect(!descriptor.isNested)
        }

        for (index, column) in expected.enumerated() {
            var actual: [JSONValue] = []
            for group in file.rowGroups.indices {
                let chunk = try file.readColumn(index, rowGroup: group)
                #expect(chunk.count == file.rowGroups[group].numRows)
                actual += jsonValues(chunk)
            }
            #expect(actual.count == column.values.count, "\(name): \(column.name)")
            for (row, (got, want)) in zip(actual, column.values).enumerated() where !matches(got, want) {
                Issue.record("\(name): column \(column.name), row \(row): read \(got), pyarrow \(want)")
                break
            }
        }
    }

    @Test("Streaming row batches cover every row group in order, with the requested columns")
    func rowBatches() throws {
        let file = try ParquetFile(contentsOf: Fixtures.url("matrix_zstd_v2_dict.parquet"))
        let expected = try Fixtures.load([Fixtures.ExpectedColumn].self, "expected/base.json")
        let wantText = try #require(expected.first { $0.name == "text" }).values
        let wantID = try #require(expected.first { $0.name == "id" }).values
        for parallel in [false, true] {
            var batches = try file.rowBatches(columns: ["text", "id"], parallel: parallel)
            #expect(batches.remainingRowGroups == 3)
            var text: [JSONValue] = []
            var ids: [JSONValue] = []
            var firstRows: [Int] = []
            while let batch = try batches.next() {
                #expect(batch.columns.map(\.descriptor.name) == ["text", "id"])
                #expect(batch.columns.allSatisfy { $0.count == batch.numRows })
                firstRows.append(batch.firstRow)
                text += jsonValues(try #require(batch["text"]))
                ids += jsonValues(try #require(batch["id"]))
            }
            #expect(firstRows == [0, 40, 80])
            #expect(text == wantText)
            #expect(ids == wantID)
            #expect(try batches.next() == nil)
        }
    }

    @Test("Null rows hold documented placeholders and are flagged in validity")
    func nullPlaceholders() throws {
        let file = try ParquetFile(contentsOf: Fixtures.url("all_null.parquet"))
        let strings = try file.readColumn(named: "s", rowGroup: 0)
        #expect(strings.validity == Array(repeating: false, count: 10))
        #expect(strings.nullCount == 10)
        guard case .byteArray(let bytes) = strings.values else {
            Issue.record("expected byte arrays")
            return
        }
        #expect(bytes.offsets == Array(repeating: 0, count: 11))
        #expect(strings.string(at: 3) == nil)

        let ints = try file.readColumn(named: "i", rowGroup: 2)
        #expect(ints.validity == nil)  // optional column, but no nulls in this row group
        #expect(ints.values == .int64(Array(20..<30)))
        #expect(ints.int64(at: 0) == 20)

        let bools = try file.readColumn(named: "b", rowGroup: 0)
        #expect(bools.validity == (0..<10).map { $0 % 2 == 0 })
        #expect(bools.values == .boolean((0..<10).map { $0 % 4 == 0 }))
        #expect(bools.isNull(1))

        let noNulls = try file.readColumn(named: "no_nulls", rowGroup: 1)
        #expect(noNulls.validity == nil)
        #expect(noNulls.string(at: 0) == "v10")
    }

    @Test("Lookup by name, and typed errors for unknown names and indices")
    func lookups() throws {
        let url = Fixtures.url("matrix_none_v1_plain.parquet")
        let file = try ParquetFile(contentsOf: url)
        #expect(file.column(named: "cat") == 6)
        #expect(file.column(named: "nope") == nil)
        #expect(file.schema.columns[0].logicalType == nil)
        #expect(file.rowGroups[0].columns[0].codec == .uncompressed)
        #expect(file.rowGroups[0].columns[0].dictionaryPageOffset == nil)
        let dictionary = try ParquetFile(contentsOf: Fixtures.url("matrix_snappy_v1_dict.parquet"))
        #expect(dictionary.rowGroups[0].columns[6].codec == .snappy)
        #expect(dictionary.rowGroups[0].columns[6].encodings.contains("RLE_DICTIONARY"))
        #expect(dictionary.rowGroups[0].columns[6].dictionaryPageOffset != nil)

        #expect {
            _ = try file.rowBatches(columns: ["id", "nope"])
        } throws: { error in
            guard case .unknownColumn(_, "nope", let available) = error as? ParquetError else { return false }
            return available.count == 8 && "\(error)".contains("matrix_none_v1_plain.parquet")
        }
        #expect {
            _ = try file.readColumn(8, rowGroup: 0)
        } throws: { error in
            guard case .indexOutOfRange = error as? ParquetError else { return false }
            return "\(error)".contains("matrix_none_v1_plain.parquet")
        }
        #expect {
            _ = try file.readColumn(0, rowGroup: 3)
        } throws: { error in
            guard case .indexOutOfRange = error as? ParquetError else { return false }
            return true
        }
    }

    @Test("A missing file is a typed error naming it")
    func missingFile() {
        let url = Fixtures.url("does_not_exist.parquet")
        #expect(throws: ParquetError.fileNotFound(path: url.path)) {
            _ = try ParquetFile(contentsOf: url)
        }
        #expect {
            _ = try ParquetFile(contentsOf: Fixtures.directory)
        } throws: { error in
            guard case .unreadable = error as? ParquetError else { return false }
            return true
        }
    }

    @Test("ByteArrayValues accessors")
    func byteArrayValues() throws {
        let values = try #require(ByteArrayValues(offsets: [0, 2, 2, 5], bytes: Array("hiåb".utf8)))
        #expect(values.count == 3)
        #expect(values.string(at: 0) == "hi")
        #expect(values.string(at: 1) == "")
        #expect(values.string(at: 2) == "åb")
        #expect(Array(values.bytes(at: 2)) == Array("åb".utf8))
        #expect(values.withUnsafeBytes(at: 0) { $0.count } == 2)
        #expect(ByteArrayValues(offsets: [0, 3, 2], bytes: [1, 2, 3]) == nil)
        #expect(ByteArrayValues(offsets: [1, 3], bytes: [1, 2, 3]) == nil)
    }
}

/// A column chunk's rows as the JSON the fixture script writes: null for nulls, hex for BYTE_ARRAY
/// without a logical type.
func jsonValues(_ column: ParquetColumn) -> [JSONValue] {
    (0..<column.count).map { row in
        if column.isNull(row) { return .null }
        switch column.values {
        case .boolean(let values): return .bool(values[row])
        case .int32(let values): return .int(Int64(values[row]))
        case .int64(let values): return .int(values[row])
        case .float(let values): return .double(Double(values[row]))
        case .double(let values): return .double(values[row])
        case .byteArray(let values):
            return column.descriptor.logicalType == .string
                ? .string(values.string(at: row)) : .string(hexString(values.bytes(at: row)))
        }
    }
}

/// Exact equality, with strings compared byte for byte (Swift's `==` on String would also accept
/// canonically equivalent text) and integral doubles accepted either way JSON spells them.
func matches(_ got: JSONValue, _ want: JSONValue) -> Bool {
    switch (got, want) {
    case (.string(let a), .string(let b)): return Array(a.utf8) == Array(b.utf8)
    case (.double, _), (_, .double): return got.asDouble != nil && got.asDouble == want.asDouble
    default: return got == want
    }
}

@Suite("The fixtures exercise what they are meant to")
struct FixtureCoverageTests {
    /// (page type, value encoding, has CRC) of every page of every chunk of a file.
    static func pages(_ name: String) throws -> [(type: Int32, encoding: Int32?, crc: Bool, column: String)] {
        let file = try ParquetFile(contentsOf: Fixtures.url(name))
        let raw = try RandomAccessFile(path: file.path)
        var result: [(Int32, Int32?, Bool, String)] = []
        for group in file.rowGroups {
            for (index, chunk) in group.columns.enumerated() {
                let bytes = try raw.read(at: chunk.startOffset, count: chunk.compressedSize)
                let name = file.schema.columns[index].name
                var reader = PageReader(
                    chunk: bytes, fileOffset: chunk.startOffset, codec: try #require(chunk.codec),
                    declaredSize: chunk.uncompressedSize,
                    context: ChunkContext(path: file.path, column: name, rowGroup: 0))
                while let page = try reader.next() {
                    let encoding = page.header.dataPage?.encoding ?? page.header.dataPageV2?.encoding
                        ?? page.header.dictionaryPage?.encoding
                    result.append((page.header.type, encoding, page.header.crc != nil, name))
                }
            }
        }
        return result
    }

    @Test("Page kinds, encodings and checksums per file")
    func coverage() throws {
        let v1 = try Self.pages("matrix_snappy_v1_dict.parquet")
        #expect(v1.contains { $0.type == 2 })                                  // dictionary pages
        #expect(v1.contains { $0.type == 0 && $0.encoding == 8 })              // RLE_DICTIONARY data
        #expect(v1.filter { $0.column == "text" && $0.type == 0 }.count > 3)   // several pages per chunk
        #expect(!v1.contains { $0.type == 3 || $0.crc })

        let v2 = try Self.pages("matrix_gzip_v2_plain.parquet")
        #expect(v2.allSatisfy { $0.type == 3 })                                // DATA_PAGE_V2 only
        #expect(v2.contains { $0.column == "flag" && $0.encoding == 3 })       // RLE booleans
        #expect(v2.contains { $0.column == "text" && $0.encoding == 0 })       // PLAIN byte arrays

        let fallback = try Self.pages("dict_fallback.parquet")
        #expect(fallback.contains { $0.type == 0 && $0.encoding == 8 })
        #expect(fallback.contains { $0.type == 0 && $0.encoding == 0 })        // PLAIN after the fallback

        let checksummed = try Self.pages("checksum.parquet")
        #expect(checksummed.allSatisfy { $0.crc })
        #expect(checksummed.contains { $0.type == 2 })
    }
}

import Foundation
import Testing
@testable import Parquet

@Suite("Broken and unsupported files raise specific typed errors")
struct BrokenFileTests {
    @Test("Each broken fixture raises its error case, naming the file", arguments: try Fixtures.brokenFiles())
    func brokenFile(file: String, error expected: String) {
        let url = Fixtures.url("broken/\(file)")
        do {
            _ = try readEverything(url)
            Issue.record("\(file) read without error")
        } catch {
            #expect(error.caseName == expected, "\(file): \(error)")
            #expect(error.description.contains(file), "\(error)")
            #expect(error.path == url.path)
        }
    }

    @Test("Unsupported encodings, codecs and nesting name the column")
    func namesTheColumn() throws {
        let delta = try ParquetFile(contentsOf: Fixtures.url("broken/delta.parquet"))
        let deltaError = ParquetError.unsupportedEncoding(
            path: delta.path, column: "x", encoding: "DELTA_BINARY_PACKED")
        #expect(throws: deltaError) {
            _ = try delta.readColumn(0, rowGroup: 0)
        }

        let brotli = try ParquetFile(contentsOf: Fixtures.url("broken/brotli.parquet"))
        #expect(brotli.rowGroups[0].columns[0].codec == .brotli)
        #expect(throws: ParquetError.unsupportedCodec(path: brotli.path, column: "x", codec: "BROTLI")) {
            _ = try brotli.readColumn(0, rowGroup: 0)
        }

        // The flat column of a file with a nested one still reads; the nested one is refused by
        // name, by top-level name and in a batch request.
        let nested = try ParquetFile(contentsOf: Fixtures.url("broken/nested.parquet"))
        #expect(nested.schema.columns.map(\.name) == ["id", "tags.list.element.list.element"])
        #expect(nested.schema.columns[1].isNested && !nested.schema.columns[1].isReadable)
        #expect(try nested.readColumn(named: "id", rowGroup: 0).values == .int64([1, 2, 3]))
        let refusal = ParquetError.unsupportedNestedColumn(path: nested.path, column: "tags.list.element.list.element")
        #expect(throws: refusal) { _ = try nested.readColumn(named: "tags", rowGroup: 0) }
        #expect(throws: refusal) { _ = try nested.rowBatches(columns: ["id", "tags"]) }
        #expect(refusal.description.contains("tags.list.element.list.element"))
    }

    @Test("A corrupted page fails its checksum; the intact checksummed file reads")
    func checksums() throws {
        let url = Fixtures.url("broken/checksum_corrupt.parquet")
        let file = try ParquetFile(contentsOf: url)
        do {
            _ = try file.readColumn(0, rowGroup: 0)
            Issue.record("corrupted page was accepted")
        } catch {
            guard case .checksumMismatch(_, let column, let group, _, let stored, let computed) = error else {
                Issue.record("wrong error: \(error)")
                return
            }
            #expect(column == "s" && group == 0 && stored != computed)
            #expect(error.description.contains("checksum_corrupt.parquet"))
        }
        #expect(throws: Never.self) { _ = try readEverything(Fixtures.url("checksum.parquet")) }
    }

    @Test("Every truncation of a small file fails with a typed error, never a crash")
    func truncations() throws {
        let data = try Data(contentsOf: Fixtures.url("all_null.parquet"))
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("parquet-truncated-\(UUID().uuidString).parquet")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for length in 0..<data.count {
            try data.prefix(length).write(to: scratch)
            #expect(throws: ParquetError.self, "length \(length)") { _ = try readEverything(scratch) }
        }
    }

    /// Mutated copies per file; set PARQUET_FUZZ_ITERATIONS for a longer run.
    static let fuzzIterations =
        ProcessInfo.processInfo.environment["PARQUET_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 300

    @Test("Random byte corruption never crashes or hangs the reader", arguments: [
        "matrix_snappy_v1_dict.parquet", "matrix_gzip_v2_plain.parquet", "matrix_zstd_v2_dict.parquet",
        "matrix_none_v1_dict.parquet", "matrix_none_v2_plain.parquet", "all_null.parquet", "dict_fallback.parquet",
    ])
    func randomCorruption(name: String) throws {
        let original = try [UInt8](Data(contentsOf: Fixtures.url(name)))
        let footerLength = original.suffix(8).prefix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
        let dataEnd = original.count - 8 - footerLength
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("parquet-fuzz-\(UUID().uuidString).parquet")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var random = SplitMix64(seed: UInt64(original.count))
        var failures = 0
        for iteration in 0..<Self.fuzzIterations {
            var bytes = original
            for _ in 0..<(1 + Int(random.next() % 4)) {
                // Every other file only corrupts page headers and pages, which the footer mostly hides.
                let range = iteration % 2 == 0 ? bytes.count : dataEnd
                let at = Int(random.next() % UInt64(range))
                bytes[at] = UInt8(truncatingIfNeeded: random.next())
            }
            try Data(bytes).write(to: scratch)
            do {
                _ = try readEverything(scratch)
            } catch {
                failures += 1
                #expect(error.description.contains(scratch.lastPathComponent))
            }
        }
        // Most mutations hit statistics or padding and go unnoticed, but not all of them.
        #expect(failures > 0)
    }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

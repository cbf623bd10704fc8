import Foundation
@testable import Parquet

/// Files written by tools/make_parquet_fixtures.py (pyarrow 22.0.0) and what they must read as.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/parquet")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// expected/files.json: one entry per readable file.
    struct FileEntry: Decodable {
        let table: String
        let num_rows: Int
        let row_groups: [Int]
    }

    /// One column of expected/<table>.json.
    struct ExpectedColumn: Decodable {
        let name: String
        let physical_type: String
        let logical_type: String?
        let optional: Bool
        let values: [JSONValue]
    }

    static func load<T: Decodable>(_ type: T.Type, _ relativePath: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url(relativePath)))
    }

    /// The index could not be read, or lists nothing: the parameterised tests must not quietly run no cases.
    struct MissingIndex: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) lists no fixtures" }
    }

    /// Readable fixture file names, sorted (used as test arguments: a missing, unreadable or empty
    /// index throws, which fails the test instead of giving it no cases).
    static func readableFiles() throws -> [String] {
        let files = try load([String: FileEntry].self, "expected/files.json")
        guard !files.isEmpty else { throw MissingIndex(path: url("expected/files.json").path) }
        return files.keys.sorted()
    }

    /// Broken fixture file names with the `ParquetError` case each must raise (throws like `readableFiles`).
    static func brokenFiles() throws -> [(file: String, error: String)] {
        let errors = try load([String: String].self, "broken/expected_errors.json")
        guard !errors.isEmpty else { throw MissingIndex(path: url("broken/expected_errors.json").path) }
        return errors.keys.sorted().map { ($0, errors[$0] ?? "") }
    }

    /// The `.parquet` files in `folder` (relative to the fixtures), sorted.
    static func parquetFiles(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url(folder).path).filter { $0.hasSuffix(".parquet") }.sorted()
    }
}

/// A JSON scalar as written by Python's json module.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    var asDouble: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
}

extension ParquetError {
    /// The case name, to compare with expected_errors.json.
    var caseName: String {
        switch self {
        case .fileNotFound: "fileNotFound"
        case .unreadable: "unreadable"
        case .tooSmall: "tooSmall"
        case .badMagic: "badMagic"
        case .footerOutOfRange: "footerOutOfRange"
        case .corruptMetadata: "corruptMetadata"
        case .unsupportedFeature: "unsupportedFeature"
        case .unsupportedNestedColumn: "unsupportedNestedColumn"
        case .unsupportedType: "unsupportedType"
        case .unsupportedEncoding: "unsupportedEncoding"
        case .unsupportedCodec: "unsupportedCodec"
        case .unknownColumn: "unknownColumn"
        case .indexOutOfRange: "indexOutOfRange"
        case .pageOutOfRange: "pageOutOfRange"
        case .corruptPage: "corruptPage"
        case .decompressionFailed: "decompressionFailed"
        case .checksumMismatch: "checksumMismatch"
        case .valueCountMismatch: "valueCountMismatch"
        }
    }
}

/// Reads every column of every row group, so that any error in any page surfaces.
func readEverything(_ url: URL) throws(ParquetError) -> [[ParquetColumn]] {
    let file = try ParquetFile(contentsOf: url)
    var groups: [[ParquetColumn]] = []
    for group in file.rowGroups.indices {
        var columns: [ParquetColumn] = []
        for column in file.schema.columns.indices {
            columns.append(try file.readColumn(column, rowGroup: group))
        }
        groups.append(columns)
    }
    return groups
}

func hexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

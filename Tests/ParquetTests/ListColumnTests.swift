import Foundation
import Testing

@testable import Parquet

/// Single-level lists and struct fields (tools/make_parquet_fixtures.py's `lists_table`, written by pyarrow 22.0.0 with
/// data pages v1 and v2, dictionary and plain, four codecs, pages small enough that lists cross them).
@Suite("List and struct columns read like pyarrow")
struct ListColumnTests {
    /// One column of expected/lists.json: per row a value (flat and struct fields) or a list (null: a null list).
    struct Expected: Decodable {
        let name: String
        let max_repetition_level: Int
        let max_definition_level: Int
        let values: [Row]
    }

    enum Row: Decodable {
        case value(JSONValue)
        case list([JSONValue]?)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([JSONValue].self) {
                self = .list(list)
            } else {
                self = .value(try container.decode(JSONValue.self))
            }
        }
    }

    static func files() throws -> [String] {
        let index = try Fixtures.load([String: Fixtures.FileEntry].self, "expected/list_files.json")
        guard !index.isEmpty else { throw Fixtures.MissingIndex(path: Fixtures.url("expected/list_files.json").path) }
        return index.keys.sorted()
    }

    @Test("Every list file is indexed")
    func indexIsComplete() throws {
        let listed = try Self.files()
        #expect(listed.count == 4)
        #expect(Set(listed + (try Fixtures.readableFiles())) == Set(try Fixtures.parquetFiles(in: ".")))
    }

    @Test("Each row's list, null elements included; struct fields as flat columns", arguments: try files())
    func readsLikePyarrow(name: String) throws {
        let expected = try Fixtures.load([Expected].self, "expected/lists.json")
        let file = try ParquetFile(contentsOf: Fixtures.url(name))
        #expect(file.schema.columns.map(\.name) == expected.map(\.name))
        for (index, column) in expected.enumerated() {
            let descriptor = file.schema.columns[index]
            #expect(descriptor.maxRepetitionLevel == column.max_repetition_level, "\(column.name)")
            #expect(descriptor.maxDefinitionLevel == column.max_definition_level, "\(column.name)")
            #expect(descriptor.isList == (column.max_repetition_level == 1))
            var rows: [Row] = []
            for group in file.rowGroups.indices {
                let chunk = try file.readColumn(index, rowGroup: group)
                #expect(chunk.count == file.rowGroups[group].numRows, "\(name): \(column.name)")
                let values = jsonValues(slotsOf: chunk)
                for row in 0..<chunk.count {
                    if chunk.offsets != nil {
                        rows.append(.list(Array(values[chunk.slots(of: row)])))
                    } else {
                        rows.append(.value(values[row]))
                    }
                }
            }
            #expect(rows.count == column.values.count, "\(name): \(column.name)")
            for (row, (got, want)) in zip(rows, column.values).enumerated() {
                switch (got, want) {
                case (.value(let a), .value(let b)) where matches(a, b): continue
                // A null list reads as an empty one: a row without elements.
                case (.list(let a?), .list(let b))
                where a.count == (b ?? []).count && zip(a, b ?? []).allSatisfy(matches):
                    continue
                case (.list(let a?), .value(.null)) where a.isEmpty: continue
                default:
                    Issue.record("\(name): column \(column.name), row \(row): read \(got), pyarrow \(want)")
                }
                break
            }
        }
    }

    @Test("The accessors give a row's texts and integers")
    func accessors() throws {
        let file = try ParquetFile(contentsOf: Fixtures.url("lists_snappy_v1_dict.parquet"))
        let tokens = try file.readColumn(named: "tokens", rowGroup: 0)
        let expected = try Fixtures.load([Expected].self, "expected/lists.json")
        guard case .list(let first?) = expected[1].values[0] else {
            Issue.record("row 0 of tokens is not a list")
            return
        }
        #expect(tokens.strings(at: 0) == first.map { if case .string(let s) = $0 { s } else { nil } })
        let tags = try file.readColumn(named: "tags", rowGroup: 0)
        guard case .list(let tagRow?) = expected[2].values[0] else { return }
        #expect(tags.int64s(at: 0) == tagRow.map { if case .int(let v) = $0 { v } else { nil } })
        // A flat column's row is one slot.
        let id = try file.readColumn(named: "id", rowGroup: 0)
        #expect(id.offsets == nil && id.slots(of: 3) == 3..<4 && id.int64s(at: 3) == [3])
    }
}

/// Every value slot of a column (a flat column's rows, or a list column's elements) as JSON values.
func jsonValues(slotsOf column: ParquetColumn) -> [JSONValue] {
    let flat = ParquetColumn(descriptor: column.descriptor, values: column.values, validity: column.validity)
    return jsonValues(flat)
}

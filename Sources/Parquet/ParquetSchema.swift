/// How values of a column are stored (Parquet's `Type`).
public enum ParquetPhysicalType: Int32, Sendable, CustomStringConvertible {
    case boolean = 0
    case int32 = 1
    case int64 = 2
    case int96 = 3
    case float = 4
    case double = 5
    case byteArray = 6
    case fixedLenByteArray = 7

    /// The name used by parquet.thrift and pyarrow (`BYTE_ARRAY`, `INT64`, ...).
    public var description: String {
        switch self {
        case .boolean: "BOOLEAN"
        case .int32: "INT32"
        case .int64: "INT64"
        case .int96: "INT96"
        case .float: "FLOAT"
        case .double: "DOUBLE"
        case .byteArray: "BYTE_ARRAY"
        case .fixedLenByteArray: "FIXED_LEN_BYTE_ARRAY"
        }
    }
}

/// Resolution of `time` and `timestamp` logical types.
public enum ParquetTimeUnit: String, Sendable {
    case milliseconds, microseconds, nanoseconds
}

/// What the physical values mean: Parquet's `LogicalType`, or the older `ConvertedType` when a writer
/// set only that (so a legacy `UTF8` column reads as `.string`).
public enum ParquetLogicalType: Sendable, Equatable, CustomStringConvertible {
    /// UTF-8 text in a BYTE_ARRAY (`STRING`, legacy `UTF8`).
    case string
    case enumeration
    case json
    case bson
    case uuid
    case date
    case float16
    case list
    case map
    /// Always null (`UNKNOWN` in parquet.thrift).
    case null
    case integer(bitWidth: Int, isSigned: Bool)
    case decimal(precision: Int, scale: Int)
    case time(ParquetTimeUnit, isAdjustedToUTC: Bool)
    case timestamp(ParquetTimeUnit, isAdjustedToUTC: Bool)
    /// Any other annotation, by its parquet.thrift name.
    case other(String)

    /// The parquet.thrift name of the annotation (`STRING`, `INTEGER`, `TIMESTAMP`, ...).
    public var name: String {
        switch self {
        case .string: "STRING"
        case .enumeration: "ENUM"
        case .json: "JSON"
        case .bson: "BSON"
        case .uuid: "UUID"
        case .date: "DATE"
        case .float16: "FLOAT16"
        case .list: "LIST"
        case .map: "MAP"
        case .null: "UNKNOWN"
        case .integer: "INTEGER"
        case .decimal: "DECIMAL"
        case .time: "TIME"
        case .timestamp: "TIMESTAMP"
        case .other(let name): name
        }
    }

    public var description: String {
        switch self {
        case .integer(let bits, let signed): "INTEGER(\(bits), \(signed ? "signed" : "unsigned"))"
        case .decimal(let precision, let scale): "DECIMAL(\(precision), \(scale))"
        case .time(let unit, let utc): "TIME(\(unit.rawValue)\(utc ? ", UTC" : ""))"
        case .timestamp(let unit, let utc): "TIMESTAMP(\(unit.rawValue)\(utc ? ", UTC" : ""))"
        default: name
        }
    }

    /// The logical type equivalent to a legacy `ConvertedType`, if any.
    init?(convertedType: Int32, scale: Int32?, precision: Int32?) {
        switch convertedType {
        case 0: self = .string
        case 1, 2: self = .map
        case 3: self = .list
        case 4: self = .enumeration
        case 5: self = .decimal(precision: Int(precision ?? 0), scale: Int(scale ?? 0))
        case 6: self = .date
        case 7: self = .time(.milliseconds, isAdjustedToUTC: true)
        case 8: self = .time(.microseconds, isAdjustedToUTC: true)
        case 9: self = .timestamp(.milliseconds, isAdjustedToUTC: true)
        case 10: self = .timestamp(.microseconds, isAdjustedToUTC: true)
        case 11...14: self = .integer(bitWidth: 8 << Int(convertedType - 11), isSigned: false)
        case 15...18: self = .integer(bitWidth: 8 << Int(convertedType - 15), isSigned: true)
        case 19: self = .json
        case 20: self = .bson
        case 21: self = .other("INTERVAL")
        default: return nil
        }
    }
}

/// One leaf column of the schema; its position in `ParquetSchema.columns` is its column index.
public struct ParquetColumnDescriptor: Sendable, Equatable {
    /// Names from the schema root down to this leaf; one element for a flat column.
    public let path: [String]
    public let physicalType: ParquetPhysicalType
    public let logicalType: ParquetLogicalType?
    /// Whether the column may hold nulls (repetition OPTIONAL, or any optional ancestor).
    public let isOptional: Bool
    /// Whether the column is repeated or inside a group (list, map, struct). A struct's fields read like flat
    /// columns and a single-level list (`isList`) as a list per row; deeper repetition cannot be read.
    public let isNested: Bool
    /// Byte width of FIXED_LEN_BYTE_ARRAY values (nil for other types).
    public let typeLength: Int?
    let maxDefinitionLevel: Int
    let maxRepetitionLevel: Int
    /// The definition level of the innermost repeated node: an entry at or above it is a list element (null
    /// when below `maxDefinitionLevel`); below it the row's list is empty or null.
    let repeatedDefinitionLevel: Int

    /// One list of values per row (a `list<…>` field, or one field of a list of structs): repeated once.
    public var isList: Bool { maxRepetitionLevel == 1 }

    /// Whether `readColumn` decodes it: flat, struct fields and single-level lists.
    public var isReadable: Bool { maxRepetitionLevel <= 1 }

    /// The dotted path (`title`, or `tags.list.element` for a nested leaf).
    public var name: String { path.joined(separator: ".") }
}

/// The columns of a file, in file order.
public struct ParquetSchema: Sendable, Equatable {
    /// Leaf columns in the order their chunks appear in each row group.
    public let columns: [ParquetColumnDescriptor]

    /// Index of the column whose dotted name is `name`; for a nested field also the first leaf under
    /// the top-level field `name` (reading it then reports the nesting).
    public func column(named name: String) -> Int? {
        if let index = columns.firstIndex(where: { $0.name == name }) { return index }
        return columns.firstIndex(where: { $0.path.first == name })
    }

    /// Builds the leaf list from the flattened, depth-first schema tree.
    init(elements: [SchemaElement]) throws(CorruptData) {
        guard let root = elements.first else { throw CorruptData("the schema is empty") }
        var leaves: [ParquetColumnDescriptor] = []
        var next = 1
        let rootChildren = Int(root.numChildren ?? 0)
        guard rootChildren >= 0 else { throw CorruptData("schema root has a negative child count") }
        for _ in 0..<rootChildren {
            try Self.walk(elements, &next, path: [], definition: 0, repetition: 0, depth: 1, into: &leaves)
        }
        guard next == elements.count else {
            throw CorruptData("schema child counts cover \(next) of \(elements.count) elements")
        }
        columns = leaves
    }

    private static let maxDepth = 64

    private static func walk(
        _ elements: [SchemaElement], _ next: inout Int, path: [String], definition: Int, repetition: Int,
        repeatedDefinition: Int = 0, depth: Int, into leaves: inout [ParquetColumnDescriptor]
    ) throws(CorruptData) {
        guard depth <= maxDepth else { throw CorruptData("schema nested deeper than \(maxDepth) levels") }
        guard next < elements.count else {
            throw CorruptData("schema child counts need more than the \(elements.count) elements present")
        }
        let element = elements[next]
        next += 1
        let path = path + [element.name]
        var definition = definition
        var repetition = repetition
        var repeatedDefinition = repeatedDefinition
        switch element.repetition {
        case 1: definition += 1
        case 2, 3:  // REPEATED; VECTOR (fixed-size lists) is nested too
            definition += 1
            repetition += 1
            repeatedDefinition = definition
        default: break
        }
        let children = Int(element.numChildren ?? 0)
        guard children >= 0 else { throw CorruptData("schema element '\(element.name)' has negative children") }
        if children > 0 || element.type == nil {
            // A group: nested by definition, even with one child.
            for _ in 0..<children {
                try walk(elements, &next, path: path, definition: definition, repetition: repetition,
                         repeatedDefinition: repeatedDefinition, depth: depth + 1, into: &leaves)
            }
            if children == 0 {
                throw CorruptData("schema element '\(element.name)' has neither a type nor children")
            }
            return
        }
        guard let rawType = element.type, let type = ParquetPhysicalType(rawValue: rawType) else {
            throw CorruptData("column '\(path.joined(separator: "."))' has unknown physical type \(element.type ?? -1)")
        }
        let logical = element.logicalType
            ?? element.convertedType.flatMap {
                ParquetLogicalType(convertedType: $0, scale: element.scale, precision: element.precision)
            }
        leaves.append(ParquetColumnDescriptor(
            path: path, physicalType: type, logicalType: logical, isOptional: definition > 0,
            isNested: path.count > 1 || repetition > 0,
            typeLength: type == .fixedLenByteArray ? element.typeLength.map(Int.init) : nil,
            maxDefinitionLevel: definition, maxRepetitionLevel: repetition, repeatedDefinitionLevel: repeatedDefinition))
    }
}

/// Page encodings (`Encoding` in parquet.thrift), for messages and metadata.
enum ParquetEncoding {
    static let plain: Int32 = 0
    static let plainDictionary: Int32 = 2
    static let rle: Int32 = 3
    static let bitPacked: Int32 = 4
    static let rleDictionary: Int32 = 8

    static func name(_ encoding: Int32) -> String {
        switch encoding {
        case 0: "PLAIN"
        case 2: "PLAIN_DICTIONARY"
        case 3: "RLE"
        case 4: "BIT_PACKED"
        case 5: "DELTA_BINARY_PACKED"
        case 6: "DELTA_LENGTH_BYTE_ARRAY"
        case 7: "DELTA_BYTE_ARRAY"
        case 8: "RLE_DICTIONARY"
        case 9: "BYTE_STREAM_SPLIT"
        case 10: "ALP"
        default: "encoding \(encoding)"
        }
    }
}

/// Compression codecs (`CompressionCodec` in parquet.thrift).
public enum ParquetCodec: Int32, Sendable, CustomStringConvertible {
    case uncompressed = 0
    case snappy = 1
    case gzip = 2
    case lzo = 3
    case brotli = 4
    case lz4 = 5
    case zstd = 6
    case lz4Raw = 7

    /// Whether this reader can decompress pages written with the codec.
    public var isSupported: Bool {
        switch self {
        case .uncompressed, .snappy, .gzip, .zstd: true
        case .lzo, .brotli, .lz4, .lz4Raw: false
        }
    }

    public var description: String {
        switch self {
        case .uncompressed: "UNCOMPRESSED"
        case .snappy: "SNAPPY"
        case .gzip: "GZIP"
        case .lzo: "LZO"
        case .brotli: "BROTLI"
        case .lz4: "LZ4"
        case .zstd: "ZSTD"
        case .lz4Raw: "LZ4_RAW"
        }
    }
}

/// Everything that can be wrong with a Parquet file this reader is asked to read.
///
/// Every case names the file (`path`), so a message is useful without its call site. Cases about
/// column data also name the column (its dotted schema path) and the row group.
public enum ParquetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Nothing exists at `path`.
    case fileNotFound(path: String)
    /// The file exists but cannot be opened or read (permissions, a directory, an I/O error).
    case unreadable(path: String, reason: String)
    /// Shorter than the smallest possible Parquet file (two magics and a footer length).
    case tooSmall(path: String, size: Int)
    /// The leading or trailing 4 bytes are not `PAR1`; `detail` says which (a truncated file loses
    /// its trailing magic).
    case badMagic(path: String, detail: String)
    /// The footer length in the last 8 bytes points before the start of the file.
    case footerOutOfRange(path: String, footerLength: Int, fileSize: Int)
    /// The footer (Thrift `FileMetaData`) is truncated, malformed or inconsistent.
    case corruptMetadata(path: String, detail: String)
    /// A file feature this reader does not implement (encryption, column data in another file).
    case unsupportedFeature(path: String, detail: String)
    /// A column repeated more than once (lists of lists): flat columns, struct fields and single-level lists are read.
    case unsupportedNestedColumn(path: String, column: String)
    /// A physical type this reader does not decode (INT96, FIXED_LEN_BYTE_ARRAY).
    case unsupportedType(path: String, column: String, type: String)
    /// A page encoding this reader does not decode (the DELTA_* family, BYTE_STREAM_SPLIT, ...).
    case unsupportedEncoding(path: String, column: String, encoding: String)
    /// A compression codec this reader does not decode (LZO, BROTLI, LZ4, LZ4_RAW).
    case unsupportedCodec(path: String, column: String, codec: String)
    /// No column has this name; `available` lists the names that exist.
    case unknownColumn(path: String, name: String, available: [String])
    /// A column or row-group index outside the file's schema or row groups.
    case indexOutOfRange(path: String, detail: String)
    /// A column chunk or page reaches outside the file's data section.
    case pageOutOfRange(path: String, column: String, rowGroup: Int, detail: String)
    /// A page header or page body is malformed (bad Thrift, levels, indices, lengths).
    case corruptPage(path: String, column: String, rowGroup: Int, detail: String)
    /// A compressed page does not decompress to its declared size.
    case decompressionFailed(path: String, column: String, rowGroup: Int, codec: String, detail: String)
    /// A page's CRC32 does not match the checksum stored in its header.
    case checksumMismatch(path: String, column: String, rowGroup: Int, pageOffset: Int, expected: UInt32,
                          actual: UInt32)
    /// The pages of a column chunk hold a different number of values than the row group's rows.
    case valueCountMismatch(path: String, column: String, rowGroup: Int, expected: Int, actual: Int)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .fileNotFound(let path), .unreadable(let path, _), .tooSmall(let path, _),
             .badMagic(let path, _), .footerOutOfRange(let path, _, _), .corruptMetadata(let path, _),
             .unsupportedFeature(let path, _), .unsupportedNestedColumn(let path, _),
             .unsupportedType(let path, _, _), .unsupportedEncoding(let path, _, _),
             .unsupportedCodec(let path, _, _), .unknownColumn(let path, _, _), .indexOutOfRange(let path, _),
             .pageOutOfRange(let path, _, _, _), .corruptPage(let path, _, _, _),
             .decompressionFailed(let path, _, _, _, _), .checksumMismatch(let path, _, _, _, _, _),
             .valueCountMismatch(let path, _, _, _, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .unreadable(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .tooSmall(let path, let size):
            return "\(path): not a Parquet file: only \(size) bytes (at least 12 needed)"
        case .badMagic(let path, let detail):
            return "\(path): not a Parquet file: \(detail)"
        case .footerOutOfRange(let path, let footerLength, let fileSize):
            return "\(path): footer length \(footerLength) does not fit in a \(fileSize)-byte file "
                + "(truncated or corrupt)"
        case .corruptMetadata(let path, let detail):
            return "\(path): corrupt Parquet footer: \(detail)"
        case .unsupportedFeature(let path, let detail):
            return "\(path): unsupported Parquet feature: \(detail)"
        case .unsupportedNestedColumn(let path, let column):
            return "\(path): column '\(column)' is repeated more than once (a list of lists, or a map in a list); flat columns, struct fields and single-level lists can be read"
        case .unsupportedType(let path, let column, let type):
            return "\(path): column '\(column)' has physical type \(type), which this reader does not decode"
        case .unsupportedEncoding(let path, let column, let encoding):
            return "\(path): column '\(column)' uses encoding \(encoding), which this reader does not decode"
        case .unsupportedCodec(let path, let column, let codec):
            return "\(path): column '\(column)' is compressed with \(codec), which this reader does not decode"
        case .unknownColumn(let path, let name, let available):
            return "\(path): no column named '\(name)' (columns: \(available.joined(separator: ", ")))"
        case .indexOutOfRange(let path, let detail):
            return "\(path): \(detail)"
        case .pageOutOfRange(let path, let column, let rowGroup, let detail):
            return "\(path): column '\(column)', row group \(rowGroup): data out of range: \(detail)"
        case .corruptPage(let path, let column, let rowGroup, let detail):
            return "\(path): column '\(column)', row group \(rowGroup): corrupt page: \(detail)"
        case .decompressionFailed(let path, let column, let rowGroup, let codec, let detail):
            return "\(path): column '\(column)', row group \(rowGroup): \(codec) decompression failed: \(detail)"
        case .checksumMismatch(let path, let column, let rowGroup, let pageOffset, let expected, let actual):
            return "\(path): column '\(column)', row group \(rowGroup): page at byte \(pageOffset) fails its "
                + "CRC32 check (header \(hex(expected)), data \(hex(actual)))"
        case .valueCountMismatch(let path, let column, let rowGroup, let expected, let actual):
            return "\(path): column '\(column)', row group \(rowGroup): pages hold \(actual) values, "
                + "expected \(expected)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

/// Malformed bytes found by a low-level decoder, which knows neither the file nor the column; the
/// caller that does wraps it into the matching `ParquetError`.
struct CorruptData: Error {
    var detail: String

    init(_ detail: String) {
        self.detail = detail
    }
}

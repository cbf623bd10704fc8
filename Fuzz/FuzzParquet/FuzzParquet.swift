import FuzzSupport
import Parquet

/// A whole Parquet file: footer, schema, page headers, every codec, dictionary and RLE decoding, page
/// CRCs; every column of every row group, then the row-batch reader over every flat column.
@_cdecl("FuzzParquet_main")
public func fuzzParquetMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzParquet(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParquet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzInput.write(UnsafeRawBufferPointer(start: data, count: size), name: "data.parquet")
    guard let file = try? ParquetFile(path: path) else { return 0 }
    for group in 0..<min(file.rowGroups.count, 16) {
        for column in 0..<min(file.schema.columns.count, 16) { _ = try? file.readColumn(column, rowGroup: group) }
    }
    let names = file.schema.columns.filter { $0.path.count == 1 }.map { $0.path[0] }
    if !names.isEmpty, var reader = try? file.rowBatches(columns: Array(names.prefix(4)), parallel: false) {
        while let batch = try? reader.next() { _ = batch }
    }
    return 0
}

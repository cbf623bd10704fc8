import Datasets
import FuzzSupport

/// CSV and TSV datasets (RFC 4180 quoting, header rows, labels), the first byte choosing the layout.
@_cdecl("FuzzCSV_main")
public func fuzzCSVMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzCSV(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let formats: [DatasetFormat] = [.csv, .tsv, .amazonPolarity]
    let format = formats[Int(data[0]) % formats.count]
    var options = DatasetOptions()
    options.format = format
    options.amazonTitle = data[0] & 0x80 != 0
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    _ = try? LabeledDataset.parse(bytes: bytes, source: "data.csv", format: format, options: options)
    return 0
}

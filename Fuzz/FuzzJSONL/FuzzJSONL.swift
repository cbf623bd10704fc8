import Datasets
import FuzzSupport

/// JSON lines: the byte-level JSON object parser and JSONL datasets (fields, labels, escapes).
@_cdecl("FuzzJSONL_main")
public func fuzzJSONLMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzJSONL(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? JSONLineParser.parseObject(UnsafeBufferPointer(start: data, count: size))
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? LabeledDataset.parse(bytes: bytes, source: "data.jsonl", format: .jsonl)
    return 0
}

import FuzzSupport
@testable import Serving

/// `adapters serve`'s request bodies: strict UTF-8, one JSON object, known fields of the documented
/// types — as the /predict route reads them.
@_cdecl("FuzzServerRequest_main")
public func fuzzServerRequestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzServerRequest(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let body = try? RequestBody(bytes, allowed: ["inputs", "text", "text_pair", "adapter", "top_k", "truncation"]) else {
        return 0
    }
    _ = try? body.string("text")
    _ = try? body.bool("truncation")
    _ = try? body.integer("top_k", in: 1...1000)
    return 0
}

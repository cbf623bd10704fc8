import FuzzSupport
@testable import Parquet

/// The Thrift compact protocol reader through Parquet's footer (`FileMetaData`).
@_cdecl("FuzzThrift_main")
public func fuzzThriftMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzThrift(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzThrift(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? FileMetaData.decode(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

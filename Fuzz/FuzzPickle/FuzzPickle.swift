import FuzzSupport
@testable import ModelIO

/// The safe unpickler on raw pickle bytes (a checkpoint's `data.pkl`): every opcode path, the
/// allow-list of globals, memo and stack limits.
@_cdecl("FuzzPickle_main")
public func fuzzPickleMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzPickle(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var unpickler = SafeUnpickler(path: "data.pkl", bytes: UnsafeRawBufferPointer(start: data, count: size))
    _ = try? unpickler.run()
    return 0
}

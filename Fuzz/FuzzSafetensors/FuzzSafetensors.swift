import FuzzSupport
import ModelIO

/// The safetensors reader: header JSON, tensor table, offsets; then every tensor converted to f32.
@_cdecl("FuzzSafetensors_main")
public func fuzzSafetensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzSafetensors(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzInput.write(UnsafeRawBufferPointer(start: data, count: size), name: "model.safetensors")
    guard let file = try? SafetensorsFile(path: path) else { return 0 }
    readEveryTensor(file)
    for name in file.tensorNames where [.i64, .i32, .i16, .i8, .u8, .bool].contains(file.dtype(of: name)) {
        _ = try? file.readIntegers(name)
    }
    return 0
}

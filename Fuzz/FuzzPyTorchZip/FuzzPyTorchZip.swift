import FuzzSupport
import ModelIO

/// A PyTorch `.bin` checkpoint: the zip reader (local and central headers, ZIP64), the pickle inside,
/// storages and strides; then every tensor. CRCs are not checked, so mutations reach the pickle.
@_cdecl("FuzzPyTorchZip_main")
public func fuzzPyTorchZipMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzPyTorchZip(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPyTorchZip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzInput.write(UnsafeRawBufferPointer(start: data, count: size), name: "pytorch_model.bin")
    guard let checkpoint = try? PyTorchCheckpoint(path: path, verifyChecksums: false) else { return 0 }
    readEveryTensor(checkpoint)
    return 0
}

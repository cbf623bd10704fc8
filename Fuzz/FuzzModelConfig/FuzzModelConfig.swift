import Encoders
import Foundation
import FuzzSupport

/// `config.json` of a model folder: typed decoding, bounds and cross-checks.
@_cdecl("FuzzModelConfig_main")
public func fuzzModelConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzModelConfig(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? EncoderConfig.decode(Data(bytes: data, count: size), path: "config.json")
    return 0
}

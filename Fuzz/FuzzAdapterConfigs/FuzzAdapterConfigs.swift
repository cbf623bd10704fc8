import Adapters
import Foundation
import FuzzSupport
import ModelIO

/// An AdapterHub folder's `adapter_config.json` and `head_config.json` (the input's two NUL-separated
/// parts), read as `AdapterHubAdapter(folder:)` reads a folder — with a small real weights file; the first
/// part is also parsed as a `--method` config string (`lora[r=4]|seq_bn`).
@_cdecl("FuzzAdapterConfigs_main")
public func fuzzAdapterConfigsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzAdapterConfigs(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdapterConfigs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let parts = FuzzInput.split(data, size, parts: 2)
    if parts[0].count < 4096 { _ = try? AdapterConfig.parse(String(decoding: parts[0], as: UTF8.self), source: "fuzz") }
    let folder = FuzzInput.folder.appendingPathComponent("adapter")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    FuzzInput.write(parts[0], name: "adapter/adapter_config.json")
    if parts[1].isEmpty {
        FuzzInput.remove("adapter/head_config.json")
    } else {
        FuzzInput.write(parts[1], name: "adapter/head_config.json")
    }
    let weights = folder.appendingPathComponent("adapter.safetensors")
    if !FileManager.default.fileExists(atPath: weights.path) {
        let tensor = SafetensorsWriter.Tensor(
            name: "roberta.encoder.layer.0.output.adapters.a.adapter_up.bias", shape: [4], values: [0, 1, 2, 3])
        try? SafetensorsWriter.encode([tensor]).write(to: weights)
    }
    if let adapter = try? AdapterHubAdapter(folder: folder), let source = adapter.weights { readEveryTensor(source) }
    return 0
}

import Adapters
import Foundation
import Kernels

/// An AdapterFusion folder as `save_adapter_fusion` writes it: `adapter_fusion_config.json` (the fused adapters'
/// names and the `FusionConfig`), `model_adapter_fusion.safetensors` (or `pytorch_model_adapter_fusion.bin`) with the
/// fusion layers, and optionally the fusion's head (`head_config.json`, `model_head.safetensors`).
public struct AdapterFusionFolder {
    public let folder: URL
    /// The fusion's name: the adapters' names joined by commas (`a,b`).
    public let name: String
    public let adapterNames: [String]
    public let config: FusionConfig
    public let weights: TensorSource
    public let weightsPath: String
    public let hiddenSize: Int?
    public let modelType: String?

    public init(folder: URL) throws {
        self.folder = folder
        let configURL = folder.appendingPathComponent("adapter_fusion_config.json")
        let top = try AdapterHubAdapter.jsonObject(configURL)
        guard let names = top["adapter_names"] as? [String], names.count >= 2 else {
            throw ModelIOError.invalidConfig(
                path: configURL.path, detail: "adapter_names must list at least 2 adapters")
        }
        adapterNames = names
        name = top["name"] as? String ?? names.joined(separator: ",")
        guard name == names.joined(separator: ",") else {
            throw ModelIOError.invalidConfig(
                path: configURL.path, detail: "the fusion '\(name)' is not named after its adapters \(names)")
        }
        do {
            config = try FusionConfig.decode(top["config"], source: configURL.path)
        } catch let error as AdapterError {
            throw ModelIOError.unsupported(path: configURL.path, detail: "\(error)")
        }
        hiddenSize = (top["hidden_size"] as? NSNumber)?.intValue
        modelType = top["model_type"] as? String
        (weights, weightsPath) = try AdapterHubAdapter.weights(
            folder, safetensors: "model_adapter_fusion.safetensors", pickle: "pytorch_model_adapter_fusion.bin")
    }
}

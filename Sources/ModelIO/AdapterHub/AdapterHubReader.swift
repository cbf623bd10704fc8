import Adapters
import Foundation
import Kernels

/// An adapter folder as AdapterHub's `save_adapter` (or SwiftAdapters) writes it — or a head alone, as
/// `save_head` writes it (and `train --method head`): `head_config.json` + the head's weights, no adapter.
public struct AdapterHubAdapter {
    public let folder: URL
    /// The adapter's name (`name` in adapter_config.json), or the head's for a head-only folder.
    public let name: String
    /// nil for a head-only folder.
    public let config: AdapterConfig?
    /// `model_type` and `hidden_size` the adapter was trained for.
    public let modelType: String?
    public let hiddenSize: Int?
    /// The adapter's weights; nil for a head-only folder.
    public let weights: TensorSource?
    public let weightsPath: String?
    public let head: Head?

    public struct Head {
        public let name: String
        public let labels: [String]
        /// `head_type`, `layers` and `activation_function` of `head_config.json`.
        public let config: HeadConfig
        public let weights: TensorSource
        public let weightsPath: String
    }

    /// Reads `adapter_config.json` (+ `adapter.safetensors`) and, when present, `head_config.json`
    /// (+ `model_head.safetensors`). Configs written by adapter-transformers 3.x (no `version`,
    /// `pfeiffer`/`houlsby` names as strings) are accepted; missing keys take AdapterHub's defaults.
    public init(folder: URL) throws {
        self.folder = folder
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelIOError.fileNotFound(path: folder.path)
        }
        let configURL = folder.appendingPathComponent("adapter_config.json")
        let headURL = folder.appendingPathComponent("head_config.json")
        let headOnly = !fm.fileExists(atPath: configURL.path) && fm.fileExists(atPath: headURL.path)
        let top = try Self.jsonObject(headOnly ? headURL : configURL)
        name = top["name"] as? String ?? folder.lastPathComponent
        modelType = top["model_type"] as? String
        hiddenSize = (top["hidden_size"] as? NSNumber)?.intValue
        if headOnly {
            config = nil
            (weights, weightsPath) = (nil, nil)
        } else {
            let legacy = top["version"] == nil
            let adapterConfig = try Self.adapterConfig(top["config"], path: configURL.path, legacy: legacy)
            try adapterConfig.validate(source: configURL.path)
            config = adapterConfig
            let (w, p) = try Self.weights(folder, safetensors: "adapter.safetensors", pickle: "pytorch_adapter.bin")
            (weights, weightsPath) = (w, p)
        }
        if fm.fileExists(atPath: headURL.path) {
            let headTop = try Self.jsonObject(headURL)
            let inner = headTop["config"] as? [String: Any] ?? [:]
            let headConfig = try Self.headConfig(inner, path: headURL.path)
            let label2id = (inner["label2id"] as? [String: Any] ?? headTop["label2id"] as? [String: Any] ?? [:])
            let headName = headTop["name"] as? String ?? name
            let (hw, hp) = try Self.weights(folder, safetensors: "model_head.safetensors", pickle: "pytorch_model_head.bin")
            let choices = headConfig.type == .multipleChoice
            let count = (inner[choices ? "num_choices" : "num_labels"] as? NSNumber)?.intValue ?? label2id.count
            // The label list is sized by this number: it must agree with the output layer in the file (one score
            // per choice sequence for multiple choice).
            let outputName = "heads.\(headName).\(HeadConfig.linearIndex(headConfig.layers - 1)).weight"
            let outputRows = hw.shape(of: outputName)?.first
            let expectedRows = choices ? 1 : count
            guard count >= 1, expectedRows == outputRows ?? expectedRows, count <= Self.maxLabels else {
                let rows = outputRows.map { ", but \(outputName) in \(hp) has \($0) rows" } ?? ""
                throw ModelIOError.invalidConfig(
                    path: headURL.path,
                    detail: "\(choices ? "num_choices" : "num_labels") \(count) (at least 1, at most \(Self.maxLabels))\(rows)")
            }
            var labels = (0..<count).map { "LABEL_\($0)" }
            for (label, id) in label2id {
                guard let i = (id as? NSNumber)?.intValue, i >= 0, i < count else {
                    throw ModelIOError.invalidConfig(path: headURL.path, detail: "label2id maps '\(label)' outside 0..<\(count)")
                }
                labels[i] = label
            }
            head = Head(name: headName, labels: labels, config: headConfig, weights: hw, weightsPath: hp)
        } else {
            head = nil
        }
    }

    /// The head's type, layers and activation from `head_config.json`'s inner `config`; types, poolers and
    /// activations this library does not run are refused naming the file.
    static func headConfig(_ inner: [String: Any], path: String) throws -> HeadConfig {
        let typeName = inner["head_type"] as? String ?? "classification"
        guard let type = HeadType(rawValue: typeName) else {
            let known = HeadType.allCases.map(\.rawValue).joined(separator: ", ")
            throw ModelIOError.unsupported(path: path, detail: "head_type '\(typeName)' (this version runs \(known))")
        }
        if (inner["use_pooler"] as? Bool) == true {
            throw ModelIOError.unsupported(path: path, detail: "a head with use_pooler true")
        }
        if (inner["bias"] as? Bool) == false {
            throw ModelIOError.unsupported(path: path, detail: "a head whose output layer has no bias (bias false)")
        }
        let layers = (inner["layers"] as? NSNumber)?.intValue ?? HeadConfig.defaultLayers(type)
        var activation = AdapterActivation.tanh
        switch inner["activation_function"] {
        case nil:
            break
        case let name as String:
            guard let a = AdapterActivation(rawValue: name.lowercased()) else {
                throw ModelIOError.unsupported(path: path, detail: "head activation_function '\(name)'")
            }
            activation = a
        case is NSNull where layers == 1:
            break  // a 1-layer head has no activation
        default:
            // AdapterHub leaves the activation out when it is None: a multi-layer head would then be linear.
            throw ModelIOError.unsupported(path: path, detail: "a \(layers)-layer head without an activation_function")
        }
        let config = HeadConfig(type: type, layers: layers, activation: activation)
        guard (1...HeadConfig.maxLayers).contains(layers) else {
            throw ModelIOError.unsupported(path: path, detail: "a head of \(layers) layers (1 to \(HeadConfig.maxLayers) are supported)")
        }
        return config
    }

    /// More classes than any classification head has (ImageNet-21k has 21,841): a larger number is a corrupt file.
    static let maxLabels = 1 << 20

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelIOError.fileNotFound(path: url.path)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelIOError.invalidConfig(path: url.path, detail: "not a JSON object")
        }
        return object
    }

    static func weights(_ folder: URL, safetensors: String, pickle: String) throws -> (TensorSource, String) {
        let st = folder.appendingPathComponent(safetensors)
        if FileManager.default.fileExists(atPath: st.path) {
            return (try SafetensorsFile(path: st.path), st.path)
        }
        let bin = folder.appendingPathComponent(pickle)
        if FileManager.default.fileExists(atPath: bin.path) {
            // torch.save zip archives, read by a pickle parser that executes nothing.
            return (try PyTorchCheckpoint(path: bin.path), bin.path)
        }
        throw ModelIOError.fileNotFound(path: st.path)
    }

    /// The `config` entry: a dict (with `architecture` "lora" for LoRA, absent for bottlenecks)
    /// or, in old files, a preset name.
    static func adapterConfig(_ value: Any?, path: String, legacy: Bool) throws -> AdapterConfig {
        if let preset = value as? String {
            // Old files name a preset ("pfeiffer", "seq_bn[reduction_factor=8]").
            return try AdapterConfig.parse(preset, source: path)
        }
        guard var dict = value as? [String: Any] else {
            throw AdapterError.invalidConfig(source: path, detail: "no 'config' object")
        }
        if legacy, let act = dict["non_linearity"] as? String {
            // adapter-transformers 3.x named the tanh GELU "gelu" and the exact one "gelu_orig".
            dict["non_linearity"] = act == "gelu" ? "gelu_new" : act == "gelu_orig" ? "gelu" : act
        }
        return try AdapterConfig.decode(dictionary: dict, source: path)
    }
}

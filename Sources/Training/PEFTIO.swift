import Adapters
import Encoders
import Foundation
import Kernels
import ModelIO

extension AdapterModel {
    /// Loads a PEFT LoRA folder (`adapter_config.json` with `peft_type: LORA` and
    /// `adapter_model.safetensors`) onto `base`, for inference or further training. LoRA on
    /// query/key/value is supported; for `task_type: SEQ_CLS` the saved classifier (PEFT's
    /// `modules_to_save`) becomes the head: RoBERTa's `classifier.dense` + `classifier.out_proj`, or
    /// BERT's pooler (from the base) + `classifier`.
    /// PEFT does not store label names: they are `LABEL_i` unless `labels` is given.
    public static func load(peftFolder: URL, base: EncoderModel, labels: [String]? = nil) throws -> AdapterModel {
        let configURL = peftFolder.appendingPathComponent("adapter_config.json")
        let path = configURL.path
        guard let data = FileManager.default.contents(atPath: path),
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw ModelIOError.fileNotFound(path: path) }
        func no(_ field: String, _ value: Any) -> AdapterError { .unsupported(source: path, field: field, value: "\(value)") }
        guard (json["peft_type"] as? String) == "LORA" else { throw no("peft_type", json["peft_type"] ?? "missing") }
        if (json["use_dora"] as? Bool) == true { throw no("use_dora", true) }
        if (json["use_rslora"] as? Bool) == true { throw no("use_rslora", true) }
        if (json["fan_in_fan_out"] as? Bool) == true { throw no("fan_in_fan_out", true) }
        if let bias = json["bias"] as? String, bias != "none" { throw no("bias", "\"\(bias)\"") }
        if let layers = json["layers_to_transform"], !(layers is NSNull) { throw no("layers_to_transform", layers) }
        for key in ["rank_pattern", "alpha_pattern"] {
            if let d = json[key] as? [String: Any], !d.isEmpty { throw no(key, d) }
        }
        guard let r = (json["r"] as? NSNumber)?.intValue, let alpha = (json["lora_alpha"] as? NSNumber)?.intValue else {
            throw AdapterError.invalidConfig(source: path, detail: "r and lora_alpha must be integers")
        }
        let targets = json["target_modules"] as? [String] ?? []
        let letters = try targets.map { t -> String in
            switch t {
            case "query": return "q"
            case "key": return "k"
            case "value": return "v"
            default: throw no("target_modules", "\"\(t)\" (only query, key, value)")
            }
        }
        var lora = LoRAConfig(r: r, alpha: alpha, attnMatrices: letters)
        lora.dropout = 0  // inference semantics; PEFT's lora_dropout only acts in training
        let weightsPath = peftFolder.appendingPathComponent("adapter_model.safetensors").path
        let weights = try SafetensorsFile(path: weightsPath)
        let prefix = "base_model.model."
        // The classifier PEFT saves (`modules_to_save`): RoBERTa's dense + out_proj; BERT's linear
        // layer after the pre-trained pooler, which stays frozen in the base checkpoint.
        let roberta = base.config.modelType == .roberta
        let outName = prefix + (roberta ? "classifier.out_proj.weight" : "classifier.weight")
        if !roberta && base.weights.poolerWeight == nil {
            throw AdapterError.incompatible(
                detail: "\(path): a PEFT BERT classifier reads the pooler, and the base checkpoint has none")
        }
        guard let outShape = weights.shape(of: outName), outShape.count == 2 else {
            throw EncoderError.missingWeight(source: weightsPath, name: outName)
        }
        let n = outShape[0]
        let names = labels ?? (0..<n).map { "LABEL_\($0)" }
        guard names.count == n else {
            throw AdapterError.incompatible(detail: "\(weightsPath): the classifier has \(n) labels, \(names.count) names were given")
        }
        let name = peftFolder.lastPathComponent
        let model = try AdapterModel(
            base: base, mode: .adapter(name: name, config: .lora(lora)), head: HeadSpec(name: name, labels: names, dropout: 0))
        // Our names → PEFT's.
        let modelPrefix = base.config.modelType.rawValue + "."
        var pending = Set(weights.tensorNames)
        for e in model.parameters.entries {
            var theirs: String
            let suffix = e.name.split(separator: ".").suffix(2).joined(separator: ".")
            if e.name.hasPrefix("heads."), !roberta, suffix.hasPrefix("1.") {
                // AdapterHub's dense + tanh on the first token is BERT's pooler: copy it from the base.
                guard let slot = suffix == "1.weight" ? base.weights.poolerWeight : base.weights.poolerBias else { continue }
                e.value.update(from: base.weights.pointer(slot), count: e.count)
                continue
            } else if e.name.hasPrefix("heads.") {
                let map = roberta
                    ? ["1.weight": "classifier.dense.weight", "1.bias": "classifier.dense.bias",
                       "4.weight": "classifier.out_proj.weight", "4.bias": "classifier.out_proj.bias"]
                    : ["4.weight": "classifier.weight", "4.bias": "classifier.bias"]
                theirs = prefix + (map[suffix] ?? suffix)
            } else {
                // roberta.encoder.layer.N.attention.self.query.loras.NAME.lora_A → …query.lora_A.weight
                theirs = prefix + e.name.replacingOccurrences(of: ".loras.\(name).", with: ".") + ".weight"
                if !theirs.hasPrefix(prefix + modelPrefix) { theirs = prefix + modelPrefix + theirs.dropFirst(prefix.count) }
            }
            guard weights.shape(of: theirs) == e.shape else {
                if let found = weights.shape(of: theirs) {
                    throw EncoderError.weightShapeMismatch(source: weightsPath, name: theirs, expected: e.shape, found: found)
                }
                throw EncoderError.missingWeight(source: weightsPath, name: theirs)
            }
            try weights.readFloats(theirs, into: e.value)
            pending.remove(theirs)
        }
        if let extra = pending.sorted().first {
            throw AdapterError.incompatible(detail: "\(weightsPath): unexpected tensor '\(extra)' for this LoRA configuration")
        }
        return model
    }
}

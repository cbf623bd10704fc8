import Adapters
import Foundation

/// Writes adapter folders in AdapterHub's layout (`save_adapter`): `adapter_config.json`,
/// `adapter.safetensors`, and for the head `head_config.json` + `model_head.safetensors`, with the
/// JSON exactly as the Python library writes it (`json.dump(indent=2, sort_keys=True)`).
/// The folder is assembled beside the target and renamed into place, so a failed save leaves
/// nothing half-written.
public enum AdapterHubFolder {
    /// The `version` written into configs: the format of the `adapters` release we interoperate with.
    public static let formatVersion = "adapters.1.3.0"

    public struct ModelInfo: Sendable {
        public var modelType: String
        public var hiddenSize: Int
        public var modelName: String
        /// `RobertaAdapterModel` / `BertAdapterModel`, as the Python flex-head model would write.
        public var modelClass: String

        public init(modelType: String, hiddenSize: Int, modelName: String, modelClass: String) {
            self.modelType = modelType
            self.hiddenSize = hiddenSize
            self.modelName = modelName
            self.modelClass = modelClass
        }
    }

    public struct Head: Sendable {
        public var name: String
        public var labels: [String]
        public var config: HeadConfig
        public var tensors: [SafetensorsWriter.Tensor]

        public init(
            name: String, labels: [String], config: HeadConfig = HeadConfig(type: .classification),
            tensors: [SafetensorsWriter.Tensor]
        ) {
            self.name = name
            self.labels = labels
            self.config = config
            self.tensors = tensors
        }
    }

    /// Writes (or replaces) `folder`. `config` nil writes a head-only folder.
    public static func save(
        to folder: URL, adapterName: String, config: AdapterConfig?, model: ModelInfo, adapterTensors: [SafetensorsWriter.Tensor],
        head: Head?
    ) throws {
        try writeAtomically(folder) { staging in
            if let config {
                try write(adapterConfigJSON(name: adapterName, config: config, model: model), staging.appendingPathComponent("adapter_config.json"))
                try Data(SafetensorsWriter.encode(adapterTensors)).write(to: staging.appendingPathComponent("adapter.safetensors"))
            }
            if let head { try writeHead(head, model: model, into: staging) }
        }
    }

    /// Writes (or replaces) an AdapterFusion folder as `save_adapter_fusion` does: `adapter_fusion_config.json`,
    /// `model_adapter_fusion.safetensors` and, with a head, its two files.
    public static func saveFusion(
        to folder: URL, adapterNames: [String], config: FusionConfig, model: ModelInfo, tensors: [SafetensorsWriter.Tensor],
        head: Head?
    ) throws {
        try writeAtomically(folder) { staging in
            var top = envelope(fusionConfigDictionary(config), name: adapterNames.joined(separator: ","), model: model)
            if case .object(var o) = top {
                o["adapter_names"] = .array(adapterNames.map { .string($0) })
                top = .object(o)
            }
            try write(top, staging.appendingPathComponent("adapter_fusion_config.json"))
            try Data(SafetensorsWriter.encode(tensors)).write(to: staging.appendingPathComponent("model_adapter_fusion.safetensors"))
            if let head { try writeHead(head, model: model, into: staging) }
        }
    }

    /// `AdapterFusionConfig.to_dict()`.
    public static func fusionConfigDictionary(_ c: FusionConfig) -> PythonJSON {
        .object([
            "dropout_prob": c.dropoutProb.map { .float($0) } ?? .null, "key": .bool(c.key), "query": .bool(c.query),
            "query_before_ln": .bool(c.queryBeforeLn), "regularization": .bool(c.regularization),
            "residual_before": .bool(c.residualBefore), "temperature": .bool(c.temperature), "value": .bool(c.value),
            "value_before_softmax": .bool(c.valueBeforeSoftmax), "value_initialized": .bool(c.valueInitialized),
        ])
    }

    static func writeHead(_ head: Head, model: ModelInfo, into staging: URL) throws {
        try write(headConfigJSON(head, model: model), staging.appendingPathComponent("head_config.json"))
        try Data(SafetensorsWriter.encode(head.tensors)).write(to: staging.appendingPathComponent("model_head.safetensors"))
    }

    /// Assembles `folder` beside its final place with `fill`, then swaps it in, so a failed save leaves nothing
    /// half-written (and an existing folder intact).
    static func writeAtomically(_ folder: URL, _ fill: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = folder.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelIOError.writeFailed(path: folder.path, reason: "its parent folder does not exist")
        }
        let staging = parent.appendingPathComponent(".\(folder.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
            try fill(staging)
            if fm.fileExists(atPath: folder.path) {
                // Swap: move the old folder aside, the new one in, then drop the old one.
                let old = parent.appendingPathComponent(".\(folder.lastPathComponent).old-\(UUID().uuidString)")
                try fm.moveItem(at: folder, to: old)
                try fm.moveItem(at: staging, to: folder)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: staging, to: folder)
            }
        } catch let error as ModelIOError {
            try? fm.removeItem(at: staging)
            throw error
        } catch {
            try? fm.removeItem(at: staging)
            throw ModelIOError.writeFailed(path: folder.path, reason: error.localizedDescription)
        }
    }

    static func write(_ json: PythonJSON, _ url: URL) throws {
        try Data(json.serialized().utf8).write(to: url)
    }

    static func envelope(_ inner: PythonJSON, name: String, model: ModelInfo) -> PythonJSON {
        .object([
            "config": inner, "hidden_size": .int(model.hiddenSize), "model_class": .string(model.modelClass),
            "model_name": .string(model.modelName), "model_type": .string(model.modelType), "name": .string(name),
            "version": .string(formatVersion),
        ])
    }

    /// `adapter_config.json` as `build_full_config` writes it.
    public static func adapterConfigJSON(name: String, config: AdapterConfig, model: ModelInfo) -> PythonJSON {
        envelope(configDictionary(config), name: name, model: model)
    }

    /// `head_config.json` as the head's class writes its `config` (`ClassificationHead`,
    /// `MultiLabelClassificationHead`: with `use_pooler` and `bias`; `MultipleChoiceHead`: `num_choices` and
    /// `use_pooler`; `TaggingHead`: neither; `QuestionAnsweringHead`: `label2id` None).
    public static func headConfigJSON(_ head: Head, model: ModelInfo) -> PythonJSON {
        var label2id: [String: PythonJSON] = [:]
        for (i, l) in head.labels.enumerated() { label2id[l] = .int(i) }
        var inner: [String: PythonJSON] = [
            "activation_function": .string(head.config.activation.rawValue), "dropout_prob": .null,
            "head_type": .string(head.config.type.rawValue), "label2id": .object(label2id),
            "layers": .int(head.config.layers), "num_labels": .int(head.labels.count),
        ]
        switch head.config.type {
        case .classification, .multilabelClassification:
            inner["bias"] = .bool(true)
            inner["use_pooler"] = .bool(false)
        case .multipleChoice:
            inner["num_choices"] = inner.removeValue(forKey: "num_labels")
            inner["use_pooler"] = .bool(false)
        case .tagging:
            break
        case .questionAnswering:
            // `QuestionAnsweringHead` keeps `label2id` None unless given `id2label`.
            inner["label2id"] = .null
        }
        return envelope(.object(inner), name: head.name, model: model)
    }

    static func number(_ d: Double) -> PythonJSON {
        // Python keeps ints as ints (reduction_factor=16 in SeqBnConfig); floats stay floats.
        d == d.rounded() && abs(d) < 1e15 ? .int(Int(d)) : .float(d)
    }

    static func scaling(_ s: BottleneckScaling) -> PythonJSON {
        switch s {
        case .fixed(let d): .float(d)
        case .learned: .string("learned")
        case .channel: .string("channel")
        }
    }

    /// `dataclasses.asdict(config)`: every field, AdapterHub's names and Python types.
    public static func configDictionary(_ config: AdapterConfig) -> PythonJSON {
        func optionalDouble(_ d: Double?) -> PythonJSON { d.map { .float($0) } ?? .null }
        switch config {
        case .bottleneck(let c):
            let residual: PythonJSON = {
                switch c.residualBeforeLn {
                case .bool(let b): return .bool(b)
                case .string(let s): return .string(s)
                }
            }()
            return .object([
                "adapter_residual_before_ln": .bool(c.adapterResidualBeforeLn), "cross_adapter": .bool(c.crossAdapter),
                "dropout": .float(c.dropout), "factorized_phm_W": .bool(c.factorizedPhmW),
                "factorized_phm_rule": .bool(c.factorizedPhmRule), "hypercomplex_nonlinearity": .string(c.hypercomplexNonlinearity),
                "init_weights": .string(c.initWeights), "init_weights_seed": c.initWeightsSeed.map { .int($0) } ?? .null,
                "inv_adapter": c.invAdapter.map { .string($0) } ?? .null,
                // SeqBnInvConfig's default is the int 2; Python keeps ints as ints.
                "inv_adapter_reduction_factor": c.invAdapterReductionFactor.map(number) ?? .null,
                "is_parallel": .bool(c.isParallel), "learn_phm": .bool(c.learnPhm), "leave_out": .array(c.leaveOut.map { .int($0) }),
                "ln_after": .bool(c.lnAfter), "ln_before": .bool(c.lnBefore), "mh_adapter": .bool(c.mhAdapter),
                "non_linearity": .string(c.nonLinearity.rawValue), "original_ln_after": .bool(c.originalLnAfter),
                "original_ln_before": .bool(c.originalLnBefore), "output_adapter": .bool(c.outputAdapter),
                "phm_bias": .bool(c.phmBias), "phm_c_init": .string(c.phmCInit), "phm_dim": .int(c.phmDim),
                "phm_init_range": .float(c.phmInitRange), "phm_layer": .bool(c.phmLayer), "phm_rank": .int(c.phmRank),
                "reduction_factor": number(c.reductionFactor), "residual_before_ln": residual, "scaling": scaling(c.scaling),
                "shared_W_phm": .bool(c.sharedWPhm), "shared_phm_rule": .bool(c.sharedPhmRule),
                "stochastic_depth": .float(c.stochasticDepth), "use_gating": .bool(c.useGating),
            ])
        case .lora(let c):
            return .object([
                "alpha": .int(c.alpha), "architecture": .string(c.architecture), "attn_matrices": .array(c.attnMatrices.map { .string($0) }),
                "composition_mode": .string(c.compositionMode), "dropout": .float(c.dropout),
                "dtype": c.dtype.map { .string($0) } ?? .null, "init_weights": .string(c.initWeights),
                "init_weights_seed": c.initWeightsSeed.map { .int($0) } ?? .null,
                "intermediate_lora": .bool(c.intermediateLora), "leave_out": .array(c.leaveOut.map { .int($0) }),
                "output_lora": .bool(c.outputLora), "r": .int(c.r), "selfattn_lora": .bool(c.selfattnLora),
                "use_dora": .bool(c.useDora), "use_gating": .bool(c.useGating), "vera_b": optionalDouble(c.veraB),
                "vera_d": optionalDouble(c.veraD),
            ])
        case .promptTuning(let c):
            return .object([
                "architecture": .string(c.architecture), "combine": .string(c.combine),
                "init_weights_seed": c.initWeightsSeed.map { .int($0) } ?? .null, "prompt_init": .string(c.promptInit),
                "prompt_init_text": c.promptInitText.map { .string($0) } ?? .null, "prompt_length": .int(c.promptLength),
            ])
        case .prefixTuning(let c):
            return .object([
                "architecture": .string(c.architecture), "bottleneck_size": .int(c.bottleneckSize),
                "cross_prefix": .bool(c.crossPrefix), "dropout": .float(c.dropout), "encoder_prefix": .bool(c.encoderPrefix),
                "flat": .bool(c.flat), "init_weights_seed": c.initWeightsSeed.map { .int($0) } ?? .null,
                "leave_out": .array(c.leaveOut.map { .int($0) }), "non_linearity": .string(c.nonLinearity.rawValue),
                "prefix_length": .int(c.prefixLength), "shared_gating": .bool(c.sharedGating), "use_gating": .bool(c.useGating),
            ])
        case .reft(let c):
            var fields: [String: PythonJSON] = [
                "architecture": .string(c.architecture), "dropout": .float(c.dropout), "dtype": c.dtype.map { .string($0) } ?? .null,
                "init_weights_seed": c.initWeightsSeed.map { .int($0) } ?? .null,
                "non_linearity": c.nonLinearity.map { .string($0.rawValue) } ?? .null, "orthogonality": .bool(c.orthogonality),
                "output_reft": .bool(c.outputReft), "prefix_positions": .int(c.prefixPositions), "r": .int(c.r),
                "suffix_positions": .int(c.suffixPositions), "tied_weights": .bool(c.tiedWeights),
            ]
            switch c.layers {
            case .all: fields["layers"] = .string("all")
            case .some(let list): fields["layers"] = .array(list.map { .int($0) })
            }
            // Not a dataclass field in adapters 1.3: Python saves no value (and loads DiReFT as NoReFT), but honours it.
            if !c.subtractProjection { fields["subtract_projection"] = .bool(false) }
            return .object(fields)
        case .union(let members):
            return .object(["architecture": .string("union"), "configs": .array(members.map(configDictionary))])
        }
    }
}

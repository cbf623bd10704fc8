import Adapters
import Foundation
import Kernels

/// A BERT/RoBERTa encoder with one trainable adapter (or none, or everything) and AdapterHub's
/// classification head, with an explicit backward pass.
///
/// Tensor names follow the Python `adapters` library (`roberta.encoder.layer.0.output.adapters.NAME.
/// adapter_down.0.weight`, `…attention.self.query.loras.NAME.lora_A`, `heads.NAME.1.weight`, and the
/// HF names of the base for full fine-tuning), so checkpoints and fixtures map one to one.
///
/// Frozen weights get no gradient buffer, no weight-gradient GEMM and no optimizer state, and the
/// backward pass stops below the lowest trainable tensor (with `seq_bn` it never enters layer 0's
/// attention, nor the embeddings).
public final class AdapterModel {
    public let base: EncoderModel
    public let config: EncoderConfig
    public let mode: TrainingMode
    public let head: HeadSpec
    /// Trainable tensors with their gradients and AdamW moments (values only for an inference model).
    public let parameters: ParameterSet

    /// One bottleneck adapter at one location, with the settings its forward pass needs.
    struct BottleneckSlots {
        let downWeight, downBias, upWeight, upBias: Arena.Slot
        /// The learned scaling (`[1]` or `[C]`), nil for a fixed factor.
        let scale: Arena.Slot?
        let size: Int
        let activation: AdapterActivation
        let fixedScaling: Float
        let originalLnBefore: Bool
        /// A parallel adapter (`is_parallel`) reads the sub-block's residual input instead of its output.
        let parallel: Bool
        /// Dropout on the scaled output (training only).
        var dropout: Float = 0
        /// Stochastic depth (torchvision's `StochasticDepth`, row mode): a sequence's whole adapter output dropped
        /// with this probability, else scaled by 1/(1 − p) (training only).
        var stochasticDepth: Float = 0
        /// AdapterPlus: `out = a + s·f(a)`, a = LN(h + r), no LayerNorm after.
        var normFreeOutput = false
        /// Compacter: the down/up weights are materialised from these PHM parameters.
        var phm: PHMPair? = nil
        /// `use_gating`: the output is multiplied by this gate (per sequence).
        var gate: GateSlots? = nil
        /// In an `Average`, this adapter's share of the location's output (`AverageBlock.factors`).
        var averageFactor: Float? = nil
        /// In a `Fuse`, the location's fusion layer (the same for every fused adapter there).
        var fusion: FusionSlots? = nil
        /// In a `Split`, the first position (within its sequence) this adapter takes.
        var splitStart: Int? = nil
        /// The adapter's group in its Stack: a composition block's adapters (a Fuse, an Average, a Split) share one, as
        /// do consecutive single adapters. A location runs its groups in order, each on the previous one's output.
        var block = 0
    }

    /// LoRA (`a`, `b`) or (IA)³ (`b` only, the scale vector) on one frozen linear layer.
    struct LoRASlots {
        let a: Arena.Slot?
        let b: Arena.Slot
        let rank: Int
        let scaling: Float
        /// (IA)³'s multiplicative composition.
        let scales: Bool
        /// DoRA's magnitude and derived tensors (`use_dora`).
        var dora: DoRASlots? = nil
        /// Dropout on the layer input the LoRA reads (training only).
        var dropout: Float = 0
        /// `use_gating`: the update is multiplied by this gate (per sequence) instead of `scaling`.
        var gate: GateSlots? = nil
        /// VeRA: `b` is then `vera_B` `[out, out]`, `a` nil.
        var vera: VeRASlots? = nil
        /// In an `Average`, this LoRA's share of the site's update (`AverageBlock.factors`).
        var averageFactor: Float? = nil
    }

    /// VeRA's trained `vera_D` `[r, r]` and the adapter's shared frozen `lora_A` `[r, in]`, `lora_B` `[out, r]`.
    struct VeRASlots {
        let d: Arena.Slot
        let sharedA: Arena.Slot
        let sharedB: Arena.Slot
    }

    /// The frozen linear layers LoRA and (IA)³ attach to, as indices into `LayerAdapter.lora`.
    enum LinearSite: Int, CaseIterable {
        case query, key, value, intermediate, output
    }

    /// A layer's adapters in `Stack` order (one entry each for a single adapter).
    struct LayerAdapter {
        var attention: [BottleneckSlots] = []
        var output: [BottleneckSlots] = []
        /// Indexed by `LinearSite`: query, key, value, intermediate dense, output dense.
        var lora: [[LoRASlots]] = Array(repeating: [], count: LinearSite.allCases.count)
        /// With prefix tuning, this layer's place among the prefixed layers (`PrefixSlots`), and its gate.
        var prefix: Int? = nil
        var prefixGate: GateSlots? = nil
        /// ReFT's units after this layer.
        var reft: ReftSlots? = nil
        var isEmpty: Bool { attention.isEmpty && output.isEmpty && lora.allSatisfy(\.isEmpty) && prefix == nil && reft == nil }
        subscript(site: LinearSite) -> [LoRASlots] { lora[site.rawValue] }
    }

    /// How a trainable tensor starts (`initializeTrainable`), by AdapterHub's `init_weights`.
    enum InitScheme {
        /// N(0, 0.02): `init_weights="bert"` and the head.
        case normal
        /// Zeros: biases, LoRA's B, `mam_adapter`'s up projection.
        case zeros
        /// Ones: (IA)³ vectors, learned scalings.
        case ones
        /// kaiming_uniform(a = √5), i.e. U(±1/√fan_in): LoRA's A, `mam_adapter`'s down projection.
        case kaimingUniform
        /// N(0, 0.01) truncated to ±0.02: `init_weights="houlsby"`.
        case truncatedNormal
        /// N(0, σ²).
        case gaussian(Float)
        /// U(±bound).
        case uniform(Float)
        /// A random orthogonal matrix (LoReFT's `base`).
        case randomOrthogonal
        /// −1 on the diagonal, 0 elsewhere (LoReFT's `original`: its Householder map is then −I).
        case negativeIdentity
        /// `value` on the diagonal, 0 elsewhere (VeRA's `vera_D`, `vera_B`).
        case scaledIdentity(Float)
        /// PyTorch's `kaiming_uniform_` with its defaults (a = 0): U(±√(6/fan_in)) (VeRA's shared A and B).
        case kaimingUniformReLU
    }

    /// Adapter and head tensor values.
    let values: Arena
    /// Each adapter tensor's initialisation (the head's and unlisted tensors': by name, see `initializeTrainable`).
    var initSchemes: [String: InitScheme] = [:]
    /// Working tensors in `values` that are neither trained nor saved (materialised PHM weights).
    var derivedSlots: Set<String> = []
    /// Tensors saved and loaded with the adapter but not trained (`SlotDeclarations.buffer`).
    public private(set) var bufferSlots: [Arena.Slot] = []
    /// Gradient buffers of derived tensors (materialised PHM weights, DoRA's norms), by slot name
    /// (`derivedGradient`).
    var derivedGradients: [String: ScratchBuffer] = [:]
    let doraScratch = ScratchBuffer()
    let gateScratch = ScratchBuffer()
    let reftScratch = ScratchBuffer()
    /// LoReFT's Householder products, by projection slot name.
    var reftSaved: [String: ScratchBuffer] = [:]
    let gateScratch2 = ScratchBuffer()
    /// The layer's prefix gates as contiguous key and value scales `[2B]`.
    let prefixScales = ScratchBuffer()
    let adapterDropoutScratch = ScratchBuffer()
    /// The invertible adapter applied after the embeddings (the first adapter's, if it has one).
    var invertible: InvertibleSlots?
    /// The prompt inserted after the embeddings (the first adapter's, if it has one).
    var prompt: PromptSlots?
    /// Prefix tuning's keys and values (at most one adapter's).
    var prefix: PrefixSlots?
    /// The prefix MLP's pre-activation and activation `[P, d]`, its backward scratch, and the per-sequence prefix gradient of a layer.
    let prefixScratch = (0..<4).map { _ in ScratchBuffer() }
    /// What the coupling keeps for the backward pass (x2, y1, F and G activations), and its scratch.
    let invertibleSaved = (0..<6).map { _ in ScratchBuffer() }
    let invertibleScratch = ScratchBuffer()
    var layerAdapters: [LayerAdapter] = []
    /// The head's linear layers in order (`heads.NAME.1`, `heads.NAME.4`, …), the last one's output the logits.
    let headLinears: [(weight: Arena.Slot, bias: Arena.Slot)]
    /// The adapters in application order: one for `.adapter`, several for `.stack`.
    public let adapterStack: [NamedAdapter]
    /// Whether any layer stacks more than one adapter at a location (forward only, see `step`).
    var isStacked: Bool {
        layerAdapters.contains { $0.attention.count > 1 || $0.output.count > 1 || $0.lora.contains { $0.count > 1 } }
    }
    /// Keeping the post-dropout attention probabilities saves regenerating the dropout mask twice
    /// in the backward pass (~5 % of a step) for `heads · Σ T²` floats a layer; full fine-tuning,
    /// already the most memory-hungry mode, regenerates instead.
    /// In bf16 precision the kept ones are rounded to bf16 (half their memory): they are only the P·V product's
    /// input, which PyTorch's autocast keeps in bf16 as well. The softmax output, whose backward needs full
    /// precision, stays fp32.
    func droppedProbabilityStorage(dropout: Float) -> DroppedProbabilityStorage {
        guard mode != .full, dropout > 0 else { return .regenerated }
        return base.weights.precision == .bf16 ? .bf16 : .fp32
    }

    /// Whether layer l's attention runs its products in bf16 (`Attention.forwardBF16`): bf16 weights, as
    /// autocast's bf16 `bmm`s; a prefix keeps the fp32 products (`prefixModel`: the model whose prefix runs).
    func attentionInBF16(layer l: Int, prefixModel: AdapterModel?) -> Bool {
        base.weights.precision == .bf16 && !(prefixModel?.hasAttentionPrefix(layer: l) ?? false)
    }

    /// Whether the FFN pre-activation is kept for the backward pass in bf16 (bf16 weights, a model that trains):
    /// only GELU's derivative reads it, as autocast's GELU reads its bf16 input. The fp32 one then lives in
    /// `preActivationFP32` for its layer only.
    var keepsPreActivationInBF16: Bool { base.weights.precision == .bf16 && parameters.trainable }

    /// Where the backward pass finds the post-dropout attention probabilities (`droppedProbabilityStorage`).
    enum DroppedProbabilityStorage { case regenerated, fp32, bf16 }

    /// Training a Fuse: the dropout of the layer being run, for the fusion scores (`bottleneckFusion`).
    var fusionRowDropout: RowDropout?
    /// What each fusion layer's forward pass keeps for the backward pass, by the layer's tensor prefix.
    var fusionSaved: [String: FusionSaved] = [:]
    /// Training a composed Stack: each unit's input at a location (`composedStack`), by the location's first slot.
    var composedInputs: [String: [[Float]]] = [:]
    let fusionScratch = ScratchBuffer()

    /// Whether the LoRA update has been folded into the base weights (then not applied again).
    public internal(set) var loraMerged = false
    /// The base weight blocks as they were before `mergeLoRA`, for an exact `unmergeLoRA`.
    var premergeWeights: [[Float]] = []
    /// Where each group's gradients lie in `parameters.grads`, as float ranges (contiguous runs merged),
    /// in the order the backward pass finishes them: head, last layer … first layer, embeddings.
    public private(set) var gradientGroups: [(group: GradientGroup, ranges: [Range<Int>])] = []
    /// Gradient pointers by value-arena slot name (adapter, head) or base slot name (full).
    var gradientOf: [String: UnsafeMutablePointer<Float>] = [:]

    let layerActivations: [LayerActivations]
    let hiddenStates: [ScratchBuffer]
    /// The fp32 QKV of the layer being run when its attention keeps Q/K/V in bf16 (`LayerActivations.qkvBF16`).
    let attentionQKV = ScratchBuffer()
    /// The fp32 FFN pre-activation of the layer being run when it is kept in bf16 (`keepsPreActivationInBF16`).
    let preActivationFP32 = ScratchBuffer()
    /// The FFN's GELU output in bf16, when the output dense's GEMM is its only reader (`forward`).
    let geluBF16 = ScratchBuffer()
    /// The attention context and the FFN input (`out1`) of the layer being run, when its backward pass
    /// does not read them (`keepsContext`, `keepsFFNInput`): one layer's buffers instead of every layer's.
    let contextScratch = ScratchBuffer()
    let ffnInputScratch = ScratchBuffer()
    let scratchA = ScratchBuffer()
    let scratchB = ScratchBuffer()
    let scratchC = ScratchBuffer()
    let scratchD = ScratchBuffer()
    let scratchE = ScratchBuffer()
    let scratchF = ScratchBuffer()
    /// The last layer's residual rows of the first tokens (`forward(firstTokensOnly:)`).
    let firstRows = ScratchBuffer()
    let gradHidden = ScratchBuffer()
    let gradOut1 = ScratchBuffer()
    let gradQKV = ScratchBuffer()
    let gradInter = ScratchBuffer()

    /// - Parameters:
    ///   - base: the pre-trained encoder; its weights are updated only in `.full` mode.
    ///   - trainable: false builds a model that only runs (a served adapter): no gradient or optimizer
    ///     memory — a quarter of a trainable model's — and `step` with a backward pass is refused.
    public init(base: EncoderModel, mode: TrainingMode, head: HeadSpec, trainable: Bool = true) throws {
        self.base = base
        parameters = ParameterSet(trainable: trainable)
        let config = base.config
        self.config = config
        self.mode = mode
        self.head = head
        let c = config.hiddenSize
        let prefix = config.modelType.rawValue + "."
        guard head.numLabels >= 1,
            head.type == .classification || head.numLabels >= 2 || head.type == .multilabelClassification
        else {
            throw EncoderError.invalidInput("a \(head.type.rawValue) head needs labels, got \(head.numLabels)")
        }
        do {
            try head.config.validate(source: "head '\(head.name)'")
        } catch {
            throw EncoderError.invalidInput("\(error)")
        }
        let values = Arena()
        var decl = SlotDeclarations(values: values)
        let stackBlocks = mode.blocks
        let stack = stackBlocks.flatMap(\.adapters)
        // Each adapter's group, which its bottleneck slots carry: a composition block's adapters share one, and so do
        // consecutive single adapters (a plain Stack runs as one group).
        var blockOf: [Int] = []
        for (i, block) in stackBlocks.enumerated() {
            let joinsPrevious: Bool
            if case .single = block, i > 0, case .single = stackBlocks[i - 1] { joinsPrevious = true } else { joinsPrevious = false }
            let id = joinsPrevious ? (blockOf.last ?? 0) : (blockOf.last.map { $0 + 1 } ?? 0)
            blockOf += Array(repeating: id, count: block.adapters.count)
        }
        if Set(stack.map(\.name)).count != stack.count {
            throw EncoderError.invalidInput("a Stack names the same adapter twice: \(stack.map(\.name))")
        }
        if base.weights.fp32MatricesReleased && mode == .full {
            throw EncoderError.invalidInput(
                "full fine-tuning updates the fp32 base weights, and this model was loaded with bf16 weights only: load it in fp32 and enable bf16 (EncoderWeights.enableBF16) to train it in bf16")
        }
        var layerAdapters = Array(repeating: LayerAdapter(), count: config.numHiddenLayers)
        var invertibleSlots: InvertibleSlots?
        var promptSlots: PromptSlots?
        var prefixSlots: PrefixSlots?
        var placed: Set<String> = []
        // Each method declares its tensors (AdapterModel+<Method>.swift); embedding-level ones (prompt,
        // invertible adapter) apply for the Stack's first adapter only, as in AdapterHub.
        for (index, adapter) in stack.enumerated() {
            let name = adapter.name
            try adapter.config.validate(source: "adapter '\(name)'")
            for member in adapter.config.members {
                let layers = (0..<config.numHiddenLayers).filter { !member.leaveOut.contains($0) }
                switch member {
                case .promptTuning(let pt):
                    let slot = decl.train(
                        prefix + "prompt_tuning.prompt_tunings.\(name).prompt_embedding.weight", [pt.promptLength, c],
                        initialize: .uniform(PromptTuningConfig.randomUniformScale))
                    if adapter == stack.first {
                        promptSlots = PromptSlots(embedding: slot, length: pt.promptLength, afterFirstToken: pt.afterFirstToken)
                    }
                case .bottleneck(let bn):
                    if bn.invAdapter != nil {
                        let inv = Self.declareInvertible(bn, prefix: prefix + "invertible_adapters.\(name).", hidden: c, into: &decl)
                        if adapter == stack.first { invertibleSlots = inv }
                    }
                    var sharedRule: Arena.Slot?
                    if bn.phmLayer {
                        let d = bn.bottleneckSize(hiddenSize: c)
                        guard c % bn.phmDim == 0, d % bn.phmDim == 0 else {
                            throw AdapterError.invalidConfig(
                                source: "adapter '\(name)'",
                                detail: "phm_dim \(bn.phmDim) must divide the hidden size \(c) and the bottleneck \(d) (hidden / reduction_factor)")
                        }
                        if bn.sharedPhmRule {
                            sharedRule = decl.train(
                                prefix + "shared_parameters.\(name).phm_rule", [bn.phmDim, bn.phmDim, bn.phmDim],
                                initialize: Self.sharedRuleInit(bn))
                        }
                    }
                    for l in layers {
                        for (on, location) in [(bn.mhAdapter, "attention.output"), (bn.outputAdapter, "output")] where on {
                            // A union's bottlenecks must sit at different locations in every layer (leave_out included).
                            guard placed.insert("\(name) \(l) \(location)").inserted else {
                                throw AdapterError.invalidConfig(
                                    source: "adapter '\(name)'", detail: "two bottlenecks of the ConfigUnion sit at layer \(l)'s \(location)")
                            }
                            var slots = Self.declareBottleneck(
                                bn, prefix: "\(prefix)encoder.layer.\(l).\(location).adapters.\(name).", hidden: c,
                                sharedRule: sharedRule, into: &decl)
                            slots.block = blockOf[index]
                            if location == "output" {
                                layerAdapters[l].output.append(slots)
                            } else {
                                layerAdapters[l].attention.append(slots)
                            }
                        }
                    }
                case .lora(let lc):
                    // VeRA: one frozen random A and B for every layer (`shared_parameters.NAME.lora_{A,B}`).
                    let veraShared =
                        lc.isVera
                        ? (
                            a: decl.buffer(prefix + "shared_parameters.\(name).lora_A", [lc.r, c], initialize: .kaimingUniformReLU),
                            b: decl.buffer(prefix + "shared_parameters.\(name).lora_B", [c, lc.r], initialize: .kaimingUniformReLU)
                        ) : nil
                    for l in layers {
                        for (site, slots) in Self.declareLinearAdapters(
                            lc, layerPrefix: "\(prefix)encoder.layer.\(l).", adapterName: name, hidden: c,
                            intermediate: config.intermediateSize, veraShared: veraShared, into: &decl)
                        {
                            layerAdapters[l].lora[site.rawValue].append(slots)
                        }
                    }
                case .prefixTuning(let pc):
                    guard prefixSlots == nil else {
                        throw EncoderError.invalidInput("adapter '\(name)': only one prefix-tuning adapter can be active at a time")
                    }
                    guard !layers.isEmpty else {
                        throw AdapterError.invalidConfig(source: "adapter '\(name)'", detail: "leave_out \(pc.leaveOut) leaves no layer for the prefix")
                    }
                    let slots = Self.declarePrefix(
                        pc, modelPrefix: prefix, name: name, layers: layers.count, hidden: c, into: &decl)
                    for (j, l) in layers.enumerated() {
                        layerAdapters[l].prefix = j
                        if pc.useGating {
                            layerAdapters[l].prefixGate = Self.declareGate(
                                "\(prefix)encoder.layer.\(l).attention.self.prefix_tuning.prefix_gates.\(name).", inFeatures: c,
                                outputs: pc.sharedGating ? 1 : 2, zeroBias: false, into: &decl)
                        }
                    }
                    prefixSlots = slots
                case .reft(let rc):
                    guard !rc.orthogonality || rc.r < c else {
                        throw AdapterError.invalidConfig(source: "adapter '\(name)'", detail: "an orthogonal ReFT needs r < the hidden size \(c), got \(rc.r)")
                    }
                    guard adapter == stack.first else { continue }  // AdapterHub runs the first adapter's ReFT only
                    for l in 0..<config.numHiddenLayers where rc.layers.contains(l) {
                        layerAdapters[l].reft = Self.declareReft(
                            rc, layerPrefix: "\(prefix)encoder.layer.\(l).", adapterName: name, hidden: c, into: &decl)
                    }
                case .union: break  // validate refuses nested unions
                }
            }
        }
        // A composed Stack's blocks hold bottlenecks only: LoRA updates of an Average are combined per linear layer,
        // which only a lone Average does.
        let nested = stackBlocks.count > 1
        for (i, block) in stackBlocks.enumerated() {
            let group = blockOf[stackBlocks[..<i].reduce(0) { $0 + $1.adapters.count }]
            switch block {
            case .single: break
            case .average(let adapters, let weights):
                try Self.placeAverage(adapters, weights: weights, block: group, bottlenecksOnly: nested, in: &layerAdapters)
            case .fuse(let adapters, let fusion):
                try Self.placeFusion(
                    adapters, fusion: fusion, block: group, modelPrefix: prefix, hidden: c, in: &layerAdapters, into: &decl)
            case .split(let adapters, let splits):
                try Self.placeSplit(adapters, splits: splits, block: group, in: &layerAdapters)
            }
        }
        for (l, layer) in layerAdapters.enumerated() where !mode.isAverage && !mode.isFuse && !mode.isSplit {
            if layer.lora.contains(where: { $0.count > 1 && $0.contains(where: { $0.dora != nil }) }) {
                throw EncoderError.invalidInput("layer \(l): stacking a DoRA adapter with another at one layer is not supported")
            }
            if layer.lora.contains(where: { $0.count > 1 && $0.contains { $0.vera != nil } }) {
                throw EncoderError.invalidInput("layer \(l): stacking VeRA with another adapter at one layer is not supported")
            }
            if layer.lora.contains(where: { $0.count > 1 && $0.contains { $0.gate != nil } }) {
                throw EncoderError.invalidInput("layer \(l): stacking a gated LoRA (use_gating) with another at one layer is not supported")
            }
            if layer.lora.contains(where: { $0.count > 1 && $0.contains(where: \.scales) }) {
                throw EncoderError.invalidInput("layer \(l): stacking (IA)³ with another adapter at one layer is not supported")
            }
            if layer[.intermediate].count > 1 || layer[.output].count > 1 {
                // AdapterHub's Stack chains LoRA updates (each reads the previous one's output), which only
                // square layers allow.
                throw EncoderError.invalidInput(
                    "layer \(l): stacking LoRA on the feed-forward layers (intermediate_lora, output_lora) is not supported")
            }
            if layer.output.count > 1 && layer.output.contains(where: \.normFreeOutput) {
                throw EncoderError.invalidInput("layer \(l): stacking an AdapterPlus bottleneck with another is not supported")
            }
            if layer.output.count > 1 && layer.output.contains(where: \.parallel) {
                throw EncoderError.invalidInput("layer \(l): stacking a parallel bottleneck (par_bn) is not supported")
            }
        }
        invertible = invertibleSlots
        prompt = promptSlots
        self.prefix = prefixSlots
        adapterStack = stack
        if head.config.readsEveryToken && promptSlots != nil {
            throw EncoderError.invalidInput(
                "a \(head.type.rawValue) head with prompt tuning is not supported: the prompt adds positions no token label names")
        }
        headLinears = (0..<head.config.layers).map { i in
            let out = i == head.config.layers - 1 ? head.outputWidth : c
            return (decl.train(head.linearPrefix(i) + "weight", [out, c]), decl.train(head.linearPrefix(i) + "bias", [out], decay: false))
        }
        if mode.isFuse || mode.isComposed {
            // AdapterFusion trains the fusion layers and the head; the fused (and stacked) adapters stay as they were
            // trained.
            decl.freeze { $0.contains(".adapter_fusion_layer.") || $0.hasPrefix("heads.") }
        }
        let named = decl.trained
        initSchemes = decl.initSchemes
        derivedSlots = decl.derived
        bufferSlots = decl.buffers
        values.allocate()
        self.values = values
        self.layerAdapters = layerAdapters
        if base.weights.fp32MatricesReleased && layerAdapters.contains(where: { $0.lora.contains { $0.contains { $0.dora != nil } } }) {
            // DoRA rebuilds W + ΔW and its norms from the frozen weights every pass.
            throw AdapterError.incompatible(
                detail: "DoRA/DVoRA read the fp32 base weights, and this model holds them in bf16 only: load the base in fp32 (bf16 GEMMs can still be enabled on it)")
        }
        layerActivations = (0..<config.numHiddenLayers).map { _ in LayerActivations() }
        hiddenStates = (0...config.numHiddenLayers).map { _ in ScratchBuffer() }

        // Gradient blocks: one per trainable value tensor, and in full mode one per base slot.
        var blocks: [String: Arena.Slot] = [:]
        for n in named { blocks[n.name] = parameters.declareBlock(n.name, count: n.slot.count) }
        if mode == .full {
            // The pooler feeds nothing in AdapterHub's CLS head: it gets no gradient and PyTorch's
            // AdamW skips it (no decay either), so it is not trainable here.
            for slot in base.weights.arena.slots where !slot.name.hasPrefix("pooler.") {
                blocks["base:" + slot.name] = parameters.declareBlock("base:" + slot.name, count: slot.count)
            }
        }
        parameters.allocate()
        gradientGroups = Self.groupRanges(blocks)
        for n in named {
            guard let block = blocks[n.name] else { continue }
            parameters.add(
                name: n.name, shape: n.slot.shape, value: values.pointer(n.slot), block: block, decay: n.decay)
            if trainable { gradientOf[n.name] = parameters.gradient(block) }
        }
        if mode == .full {
            for slot in base.weights.arena.slots where trainable {
                guard let block = blocks["base:" + slot.name] else { continue }
                gradientOf[slot.name] = parameters.gradient(block)
            }
            // HF names (query/key/value views of the fused QKV), the Trainer's decay rule.
            for b in base.weights.bindings {
                guard let block = blocks["base:" + b.slot.name] else { continue }
                let decay = !(b.name.hasSuffix("bias") || b.name.contains("LayerNorm"))
                parameters.add(
                    name: prefix + b.name, shape: b.shape, value: base.weights.pointer(b.slot) + b.offset, block: block,
                    offset: b.offset, decay: decay)
            }
        }
    }

    /// Groups gradient blocks by the part of the model the backward pass finishes them with.
    static func groupRanges(_ blocks: [String: Arena.Slot]) -> [(group: GradientGroup, ranges: [Range<Int>])] {
        var byGroup: [GradientGroup: [Range<Int>]] = [:]
        for (name, slot) in blocks where slot.count > 0 {
            let group: GradientGroup
            if name.hasPrefix("heads.") {
                group = .head
            } else if let r = name.range(of: "encoder.layer."),
                let l = Int(name[r.upperBound...].prefix { $0.isNumber })
            {
                group = .layer(l)
            } else {
                group = .embeddings
            }
            byGroup[group, default: []].append(slot.offset..<(slot.offset + slot.count))
        }
        func order(_ g: GradientGroup) -> Int {
            switch g {
            case .head: Int.min
            case .layer(let l): -l
            case .embeddings: Int.max
            }
        }
        return byGroup.keys.sorted { order($0) < order($1) }.map { group in
            var merged: [Range<Int>] = []
            for r in byGroup[group, default: []].sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if let last = merged.last, last.upperBound == r.lowerBound {
                    merged[merged.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    merged.append(r)
                }
            }
            return (group, merged)
        }
    }

    // MARK: - Values

    /// Every trainable tensor's name and shape, in a stable order.
    public var trainableNames: [String] { parameters.entries.map(\.name) }

    /// Copies `values` into the tensor `name`; throws if it does not exist or the count differs.
    public func setTensor(_ name: String, _ data: [Float]) throws {
        guard let e = savedEntry(named: name) else {
            throw EncoderError.invalidInput("no trainable tensor named '\(name)'")
        }
        guard data.count == e.count else {
            throw EncoderError.invalidInput("tensor '\(name)' needs \(e.count) values, got \(data.count)")
        }
        data.withUnsafeBufferPointer { e.value.update(from: $0.baseAddress!, count: e.count) }
    }

    /// A trainable tensor's current values.
    public func tensor(_ name: String) -> [Float]? {
        guard let e = savedEntry(named: name) else { return nil }
        return Array(UnsafeBufferPointer(start: e.value, count: e.count))
    }

    /// A tensor saved with the adapter: a trainable one or a buffer.
    public struct SavedEntry {
        public let name: String
        public let shape: [Int]
        public let value: UnsafeMutablePointer<Float>
        public var count: Int { shape.reduce(1, *) }
    }

    /// Every tensor an adapter folder holds for this model: the trainable ones, then the buffers.
    public var savedEntries: [SavedEntry] {
        parameters.entries.map { SavedEntry(name: $0.name, shape: $0.shape, value: $0.value) }
            + bufferSlots.map { SavedEntry(name: $0.name, shape: $0.shape, value: values.pointer($0)) }
    }

    func savedEntry(named name: String) -> SavedEntry? {
        if let e = parameters.entry(named: name) { return SavedEntry(name: e.name, shape: e.shape, value: e.value) }
        return bufferSlots.first { $0.name == name }.map { SavedEntry(name: $0.name, shape: $0.shape, value: values.pointer($0)) }
    }

    /// A trainable tensor's accumulated gradient.
    public func gradient(_ name: String) -> [Float]? {
        guard let e = parameters.entry(named: name) else { return nil }
        return Array(UnsafeBufferPointer(start: e.grad, count: e.count))
    }

    /// Draws every adapter and head tensor as AdapterHub initialises it (`init_weights`): by default
    /// N(0, 0.02) weights and zero biases for bottlenecks and the head, LoRA `A` kaiming-uniform (a = √5,
    /// i.e. U(±1/√in)) and `B` zero; `mam_adapter`, `houlsby`, (IA)³ ones and learned scalings per
    /// `initSchemes`. Seeded.
    public func initializeTrainable(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for slot in values.slots {
            let p = values.pointer(slot)
            if derivedSlots.contains(slot.name) {
                p.update(repeating: 0, count: slot.count)  // rebuilt before use (or a missing bias: zero)
                continue
            }
            let scheme =
                initSchemes[slot.name]
                ?? (slot.name.hasSuffix("bias") || slot.name.hasSuffix("lora_B") ? .zeros
                    : slot.name.hasSuffix("lora_A") ? .kaimingUniform : .normal)
            switch scheme {
            case .zeros:
                p.update(repeating: 0, count: slot.count)
            case .ones:
                p.update(repeating: 1, count: slot.count)
            case .kaimingUniform:
                let bound = 1 / Float(slot.shape.count > 1 ? slot.shape[1] : 1).squareRoot()
                for i in 0..<slot.count { p[i] = (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
            case .normal:
                for i in 0..<slot.count { p[i] = 0.02 * rng.nextGaussian() }
            case .truncatedNormal:
                for i in 0..<slot.count {
                    var v = 0.01 * rng.nextGaussian()
                    while abs(v) > 0.02 { v = 0.01 * rng.nextGaussian() }
                    p[i] = v
                }
            case .gaussian(let std):
                for i in 0..<slot.count { p[i] = std * rng.nextGaussian() }
            case .uniform(let bound):
                for i in 0..<slot.count { p[i] = (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
            case .randomOrthogonal:
                let n = slot.shape.first ?? 0
                for i in 0..<slot.count { p[i] = rng.nextGaussian() }
                Self.orthonormalizeColumns(p, size: n)
            case .negativeIdentity, .scaledIdentity:
                var diagonal: Float = -1
                if case .scaledIdentity(let v) = scheme { diagonal = v }
                p.update(repeating: 0, count: slot.count)
                let (rows, cols) = (slot.shape.first ?? 0, slot.shape.last ?? 0)
                for i in 0..<min(rows, cols) { p[i * cols + i] = diagonal }
            case .kaimingUniformReLU:
                let bound = (6 / Float(slot.shape.count > 1 ? slot.shape[1] : 1)).squareRoot()
                for i in 0..<slot.count { p[i] = (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
            }
        }
        initializeDoRAMagnitudes()
    }

    // MARK: - Training step

    /// Result of one forward (and backward) pass.
    public struct StepResult {
        public let loss: Float
        /// `[B, numLabels]` (`[M, numLabels]` over the attended tokens for a tagging head).
        public let logits: [Float]
    }

    /// Forward pass with dropout (seeded by `seed`), loss and, when `backward` is true, the gradients
    /// of every trainable tensor accumulated into `parameters` (zero them first).
    ///
    /// - Parameters:
    ///   - dropoutKeys: each sequence's dropout key (default: its position in `batch`). A sequence's
    ///     dropout masks depend only on (`seed`, its key), so a global batch split over processes or
    ///     micro-batches gets the masks it gets in one piece when each part passes its sequences' places
    ///     in the global batch.
    ///   - gradientScale: factor on the gradients (not on the returned loss, the batch mean): a part of
    ///     `b` sequences of a global batch of `B` passes `b / B`, so the parts' gradients sum to the global
    ///     batch's mean-loss gradient.
    ///   - gradientsReady: called during the backward pass with each group of trainable tensors
    ///     (`gradientGroups`) as soon as the backward pass is done with it (data-parallel training
    ///     starts reducing those gradients while the pass goes on). Groups it was not called for are
    ///     complete when `step` returns.
    public func step(
        _ batch: TokenBatch, labels: [Int32], seed: UInt64, training: Bool = true, backward: Bool = true,
        dropoutKeys: [UInt64]? = nil, gradientScale: Float = 1, gradientsReady: ((GradientGroup) -> Void)? = nil
    ) throws -> StepResult {
        try step(
            batch, targets: .classes(labels), seed: seed, training: training, backward: backward, dropoutKeys: dropoutKeys,
            gradientScale: gradientScale, gradientsReady: gradientsReady)
    }

    /// `step` for any head: the loss compares the head's outputs with `targets` (class indices, real values
    /// or token labels, by head type: `HeadTargets`).
    public func step(
        _ batch: TokenBatch, targets: HeadTargets, seed: UInt64, training: Bool = true, backward: Bool = true,
        dropoutKeys: [UInt64]? = nil, gradientScale: Float = 1, gradientsReady: ((GradientGroup) -> Void)? = nil
    ) throws -> StepResult {
        if let dropoutKeys, dropoutKeys.count != batch.batchSize {
            throw EncoderError.invalidInput("\(dropoutKeys.count) dropout keys for a batch of \(batch.batchSize)")
        }
        guard gradientScale.isFinite else {
            throw EncoderError.invalidInput("the gradient scale is \(gradientScale)")
        }
        if backward && !parameters.trainable {
            throw EncoderError.invalidInput("this model was built to run only (trainable: false): it cannot be trained")
        }
        if backward && mode.isSplit {
            throw EncoderError.invalidInput("training a Split of adapters is not supported: it runs for inference")
        }
        if backward, let refusal = composedTrainingRefusal { throw EncoderError.invalidInput(refusal) }
        if backward && mode.isAverage {
            throw EncoderError.invalidInput("training an Average of adapters is not supported: it runs for inference")
        }
        if backward && isStacked && !mode.isFuse && !mode.isComposed {
            throw EncoderError.invalidInput(
                "training a Stack of adapters is not supported: train one adapter, then stack it for inference")
        }
        if backward && loraMerged {
            throw EncoderError.invalidInput(
                "the LoRA adapter is merged into the base weights: unmerge it before training")
        }
        var packed = try pack(batch)
        if let dropoutKeys { packed.dropoutKeys = dropoutKeys }
        let forwardState = forward(packed, seed: seed, training: training, firstTokensOnly: true)
        var dlogits = [Float](repeating: 0, count: forwardState.logits.count)
        let loss = try dlogits.withUnsafeMutableBufferPointer { dp in
            try headLoss(forwardState.logits, targets: targets, packed: packed, batch: batch, dlogits: backward ? dp.baseAddress! : nil)
        }
        if !loss.isFinite {
            throw EncoderError.invalidInput(
                "the loss is \(loss) (not finite): lower the learning rate or check the data")
        }
        if backward {
            if gradientScale != 1 { for i in dlogits.indices { dlogits[i] *= gradientScale } }
            self.backward(packed, forwardState, dlogits: dlogits, seed: seed, training: training, ready: gradientsReady)
        }
        return StepResult(loss: loss, logits: forwardState.logits)
    }

    /// Logits without dropout or gradients: `[B, numLabels]`, or `[M, numLabels]` over the attended tokens in
    /// batch order for a tagging head.
    public func logits(_ batch: TokenBatch) throws -> [Float] {
        return forward(try pack(batch), seed: 0, training: false, firstTokensOnly: true).logits
    }

    /// Logits of a batch whose sequences are split among adapter setups: `parts` gives, in order, each
    /// part's model and its sequences, which must cover the batch contiguously. The frozen base's GEMMs,
    /// attention and LayerNorms run once over every row; each model's adapters and head only on its part
    /// (AdapterHub's `BatchSplit`, PEFT's `adapter_names`). The models must share this model's base, train
    /// nothing of it (no full fine-tuning) and have no LoRA merged into it. Returns each part's logits
    /// `[sequences, its head's labels]`, equal to running each part alone.
    public func mixedLogits(_ batch: TokenBatch, parts: [(model: AdapterModel, sequences: Range<Int>)]) throws -> [[Float]] {
        var next = 0
        for part in parts {
            guard part.model.base === base else {
                throw EncoderError.invalidInput("a mixed batch's models must share one base model")
            }
            guard part.model.mode != .full, !part.model.loraMerged else {
                throw EncoderError.invalidInput("a mixed batch cannot hold a fully fine-tuned model or a merged LoRA")
            }
            guard part.sequences.lowerBound == next, !part.sequences.isEmpty else {
                throw EncoderError.invalidInput("a mixed batch's parts must cover its sequences in order, without gaps")
            }
            next = part.sequences.upperBound
        }
        guard next == batch.batchSize else {
            throw EncoderError.invalidInput("the parts cover \(next) of the batch's \(batch.batchSize) sequences")
        }
        if parts.contains(where: \.model.needsItsOwnPass) {
            return try parts.map { part in
                let t = batch.sequenceLength
                let rows = part.sequences
                let sub = try TokenBatch(
                    batchSize: rows.count, sequenceLength: t, inputIds: Array(batch.inputIds[(rows.lowerBound * t)..<(rows.upperBound * t)]),
                    attentionMask: Array(batch.attentionMask[(rows.lowerBound * t)..<(rows.upperBound * t)]),
                    tokenTypeIds: batch.tokenTypeIds.map { Array($0[(rows.lowerBound * t)..<(rows.upperBound * t)]) })
                return try part.model.logits(sub)
            }
        }
        let packed = try PackedBatch(batch, config: config)
        try packed.requireAttendedFirstTokens()
        return forward(
            packed, seed: 0, training: false, firstTokensOnly: true,
            segments: parts.map { Segment(model: $0.model, sequences: $0.sequences) }
        ).segmentLogits
    }

    /// Whether this model changes what the base itself computes — the packed layout (a prompt), every attention (a
    /// prefix), a layer's output (ReFT) or its last LayerNorm (AdapterPlus) — so that it cannot share one base pass
    /// with other models in a mixed batch (`mixedLogits` runs its part alone; `forward` takes these from a single
    /// part only).
    var needsItsOwnPass: Bool {
        prompt != nil || prefix != nil || hasReft || layerAdapters.contains { $0.output.contains(where: \.normFreeOutput) }
    }

    /// The last layer's hidden states `[M, C]` (attended tokens, packed in batch order), no dropout.
    public func lastHiddenState(_ batch: TokenBatch) throws -> [Float] {
        let packed = try pack(batch)
        _ = forward(packed, seed: 0, training: false)
        return Array(
            UnsafeBufferPointer(
                start: hiddenStates[config.numHiddenLayers].pointer, count: packed.tokens * config.hiddenSize))
    }

    /// Sequences of a packed batch that one adapter setup runs on (`forward(segments:)`).
    struct Segment {
        let model: AdapterModel
        let sequences: Range<Int>
    }

    struct ForwardState {
        var logits: [Float]
        /// Each segment's logits `[sequences, numLabels of its head]`.
        var segmentLogits: [[Float]]
        var shape: AttentionShape
        /// The shape of the prefixed layers' attention (prefix tuning), nil without a prefix.
        var prefixShape: AttentionShape?
        /// Whether the last layer ran for the first tokens only (`forward(firstTokensOnly:)`).
        var firstTokensOnly: Bool
        /// What the head keeps for the backward pass (a single part's).
        var head: HeadActivations
    }

    /// The gradient buffer of a derived tensor (`count` floats, zeroed when `zero`), kept across steps.
    func derivedGradient(_ name: String, count: Int, zero: Bool) -> UnsafeMutablePointer<Float> {
        let buffer = derivedGradients[name] ?? ScratchBuffer()
        derivedGradients[name] = buffer
        let p = buffer.reserve(count)
        if zero { p.update(repeating: 0, count: count) }
        return p
    }

    /// Dropout stream of (layer, site) for a step. Sites: 0 attention probabilities, 1 and 2 the sub-blocks'
    /// outputs, 7 the embeddings (layer L) and the head (layer L, sites 0 and 1), 8 + `LinearSite` a LoRA's
    /// input, 13 and 14 the attention and FFN bottlenecks' outputs, 5 and 6 their stochastic depth, 4 and 15 the
    /// AdapterFusion scores after attention and after the FFN.
    func dropoutSeed(_ seed: UInt64, layer: Int, site: Int) -> UInt64 {
        CounterRNG.hash(seed: seed, index: UInt64(layer * 16 + site))
    }

    /// Hidden-state dropout at (layer, site) over `[rows, C]` whose sequences occupy `rowOffsets`
    /// ranges, each sequence with the stream of its key (`Dropout.sequences`). The backward pass is the
    /// same call on the gradient.
    func hiddenDropout(
        _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rowOffsets: [Int], keys: [UInt64], p: Float,
        seed: UInt64, layer: Int, site: Int
    ) {
        Dropout.sequences(
            out: out, x: x, rowOffsets: rowOffsets, keys: keys, channels: config.hiddenSize, p: p,
            seed: dropoutSeed(seed, layer: layer, site: site))
    }
}

import Dispatch
import Encoders
import Foundation
import Kernels
import NIOCore

/// One tokenized input.
struct TokenizedInput: Sendable {
    var ids: [Int32]
    var typeIds: [Int32]?
}

/// What a queued item asks for.
enum Job: Sendable {
    /// Logits of `adapter`'s head over its adapters; nil: the base model's own classification head.
    case classify(ServedAdapter?)
    /// Pooled last hidden states of the base model.
    case embed(cls: Bool)

    /// Items of the same kind can share a batch: every adapter's classification (mixed), or embeddings.
    var kind: Int {
        switch self {
        case .classify(let a): a == nil ? 0 : 1
        case .embed: 2
        }
    }
}

/// A request's inputs waiting for, then going through, a batch.
final class QueuedItem: @unchecked Sendable {
    struct Result: Sendable {
        /// One vector per input: logits (classify) or the pooled embedding.
        var outputs: [[Float]]
        var batchID: Int
        var batchSize: Int
        var queueSeconds: Double
        var computeSeconds: Double
    }

    let inputs: [TokenizedInput]
    let job: Job
    let tokens: Int
    let enqueued = DispatchTime.now().uptimeNanoseconds
    /// The connection that waits for the answer (checked before computing an old item).
    let client: ClientConnection?
    var continuation: CheckedContinuation<Result, Error>?

    init(inputs: [TokenizedInput], job: Job, client: ClientConnection? = ClientConnection.current) {
        self.inputs = inputs
        self.job = job
        self.client = client
        tokens = inputs.reduce(0) { $0 + $1.ids.count }
    }
}

/// Dynamic batching on one compute thread. Requests queue; the thread takes whatever is waiting, in
/// arrival order, up to `maxBatchTokens`/`maxBatchRequests` of one kind, and runs it as one batch: every
/// adapter's classification in one mixed batch (the frozen base once over all rows, each adapter's kernels
/// and head on its own rows), embeddings in another. The models are used by this thread alone.
final class BatchScheduler: @unchecked Sendable {
    let base: EncoderModel
    /// Runs mixed batches; holds the activation buffers for every row.
    let runner: AdapterModel
    let maxBatchTokens: Int
    let maxBatchRequests: Int
    let maxQueue: Int
    let metrics: ServerMetrics
    /// Items that waited at least this long are checked for a client that has gone before they run.
    let abandonedCheckNanos: UInt64
    /// Called on the compute thread before each batch runs (tests hold a batch back with it).
    var beforeBatch: (@Sendable () -> Void)?

    private let condition = NSCondition()
    private var queue: [QueuedItem] = []
    private var queuedInputs = 0
    private var stopping = false
    private var stopped = false
    private var nextBatch = 1

    init(
        base: EncoderModel, maxBatchTokens: Int, maxBatchRequests: Int, maxQueue: Int,
        abandonedCheckSeconds: Double, metrics: ServerMetrics
    ) throws {
        self.base = base
        abandonedCheckNanos = UInt64(max(0, abandonedCheckSeconds) * 1e9)
        runner = try AdapterModel(
            base: base, mode: .headOnly, head: HeadSpec(name: "runner", labels: ["0", "1"], dropout: 0), trainable: false)
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchRequests = maxBatchRequests
        self.maxQueue = maxQueue
        self.metrics = metrics
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "adapters-batcher"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits for `item`'s result. Throws `APIError.overloaded` when the queue is full; a cancelled caller
    /// (a client gone) leaves the queue before its batch starts, or its result is dropped.
    func run(_ item: QueuedItem) async throws -> QueuedItem.Result {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                condition.lock()
                defer { condition.unlock() }
                if stopped || stopping {
                    continuation.resume(throwing: APIError.unavailable("the server is shutting down"))
                    return
                }
                if queuedInputs + item.inputs.count > maxQueue {
                    continuation.resume(
                        throwing: APIError.overloaded("the queue holds \(queuedInputs) inputs (at most \(maxQueue)); retry later"))
                    return
                }
                item.continuation = continuation
                queue.append(item)
                queuedInputs += item.inputs.count
                metrics.queueDepth.set(Double(queuedInputs))
                condition.signal()
            }
        } onCancel: {
            cancel(item)
        }
    }

    private func cancel(_ item: QueuedItem) {
        condition.lock()
        let index = queue.firstIndex { $0 === item }
        if let index {
            queue.remove(at: index)
            queuedInputs -= item.inputs.count
            metrics.queueDepth.set(Double(queuedInputs))
        }
        let continuation = index == nil ? nil : item.continuation
        if index != nil { item.continuation = nil }
        condition.unlock()
        continuation?.resume(throwing: CancellationError())
    }

    /// Stops taking new work, finishes what is queued (at most `timeout` seconds), then ends the thread.
    func drain(timeout: Double) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while !stopped && Date() < deadline { _ = condition.wait(until: deadline) }
        let left = queue
        queue.removeAll()
        stopped = true
        condition.broadcast()
        condition.unlock()
        for item in left {
            item.continuation?.resume(throwing: APIError.unavailable("the server shut down before this request ran"))
        }
    }

    var depth: Int { condition.withLock { queuedInputs } }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = takeBatch()
            let id = nextBatch
            nextBatch += 1
            metrics.queueDepth.set(Double(queuedInputs))
            condition.unlock()
            beforeBatch?()
            let live = withoutAbandoned(batch)
            if !live.isEmpty { execute(live, id: id) }
        }
    }

    /// `batch` without the items whose client has closed its connection (only items that waited at least
    /// `abandonedCheckNanos` are asked); those are answered with a cancellation and counted.
    private func withoutAbandoned(_ batch: [QueuedItem]) -> [QueuedItem] {
        let now = DispatchTime.now().uptimeNanoseconds
        let checks = batch.map { item -> EventLoopFuture<Bool>? in
            guard now - item.enqueued >= abandonedCheckNanos else { return nil }
            return item.client?.checkGone()
        }
        // Asked all at once (each on its connection's event loop), then collected.
        let gone = checks.map { (try? $0?.wait()) ?? false }
        guard gone.contains(true) else { return batch }
        var live: [QueuedItem] = []
        for (item, isGone) in zip(batch, gone) {
            guard isGone else {
                live.append(item)
                continue
            }
            condition.lock()
            let continuation = item.continuation
            item.continuation = nil
            condition.unlock()
            metrics.abandoned.increment(by: Int64(item.inputs.count))
            continuation?.resume(throwing: CancellationError())
        }
        return live
    }

    /// The next batch: the oldest item's kind, then every later item of that kind that still fits, in
    /// arrival order (at least one item, whatever its size). Called with the lock held.
    private func takeBatch() -> [QueuedItem] {
        let kind = queue[0].job.kind
        var taken: [QueuedItem] = []
        var tokens = 0
        var inputs = 0
        var kept: [QueuedItem] = []
        for item in queue {
            let fits = item.job.kind == kind
                && (taken.isEmpty
                    || (tokens + item.tokens <= maxBatchTokens && inputs + item.inputs.count <= maxBatchRequests))
            if fits {
                taken.append(item)
                tokens += item.tokens
                inputs += item.inputs.count
            } else {
                kept.append(item)
            }
        }
        queue = kept
        queuedInputs -= inputs
        return taken
    }

    private func execute(_ batch: [QueuedItem], id: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome: Result<[[[Float]]], Error> = Result { try compute(batch) }
        let end = DispatchTime.now().uptimeNanoseconds
        let computeSeconds = Double(end - start) / 1e9
        let size = batch.reduce(0) { $0 + $1.inputs.count }
        metrics.batchSize.record(Double(size))
        metrics.computeSeconds.recordNanoseconds(Int64(end - start))
        condition.lock()
        let continuations = batch.map { item -> CheckedContinuation<QueuedItem.Result, Error>? in
            defer { item.continuation = nil }
            return item.continuation
        }
        condition.unlock()
        for (k, item) in batch.enumerated() {
            let queueSeconds = Double(start - item.enqueued) / 1e9
            metrics.queueSeconds.recordNanoseconds(Int64(start - item.enqueued))
            switch outcome {
            case .success(let outputs):
                continuations[k]?.resume(returning: QueuedItem.Result(
                    outputs: outputs[k], batchID: id, batchSize: size, queueSeconds: queueSeconds,
                    computeSeconds: computeSeconds))
            case .failure(let error):
                continuations[k]?.resume(throwing: error)
            }
        }
    }

    /// Each item's outputs, in item order.
    private func compute(_ batch: [QueuedItem]) throws -> [[[Float]]] {
        switch batch[0].job {
        case .classify(nil):
            let logits = try base.classify(tokenBatch(batch.flatMap(\.inputs)))
            return split(logits, batch, width: base.head?.numLabels ?? 1)
        case .embed(let cls):
            let output = try base.forward(tokenBatch(batch.flatMap(\.inputs)))
            let pooled = cls ? try output.firstToken() : output.meanPooled()
            return split(pooled, batch, width: base.config.hiddenSize)
        case .classify:
            // Items of the same adapter side by side (stable), then one part per adapter.
            let order = batch.indices.sorted { a, b in
                guard let x = Self.adapter(batch[a]), let y = Self.adapter(batch[b]), x != y else { return a < b }
                return x < y
            }
            var sequences: [TokenizedInput] = []
            var parts: [(model: AdapterModel, sequences: Range<Int>)] = []
            for i in order {
                guard case .classify(let adapter?) = batch[i].job else { continue }
                let start = sequences.count
                sequences += batch[i].inputs
                if let last = parts.last, last.model === adapter.model, last.sequences.upperBound == start {
                    parts[parts.count - 1].sequences = last.sequences.lowerBound..<sequences.count
                } else {
                    parts.append((adapter.model, start..<sequences.count))
                }
            }
            let logits = try runner.mixedLogits(try tokenBatch(sequences), parts: parts)
            // Back to items: walk the same order through the parts' rows.
            var outputs = [[[Float]]](repeating: [], count: batch.count)
            var part = 0
            var row = 0
            for i in order {
                guard case .classify(let adapter?) = batch[i].job else { continue }
                let n = adapter.model.head.numLabels
                for _ in batch[i].inputs {
                    while row >= parts[part].sequences.upperBound { part += 1 }
                    let local = row - parts[part].sequences.lowerBound
                    outputs[i].append(Array(logits[part][local * n..<(local + 1) * n]))
                    row += 1
                }
            }
            return outputs
        }
    }

    /// Which model an item runs (items of one model form one part of the mixed batch).
    static func adapter(_ item: QueuedItem) -> ObjectIdentifier? {
        if case .classify(let a?) = item.job { return ObjectIdentifier(a.model) }
        return nil
    }

    func tokenBatch(_ inputs: [TokenizedInput]) throws -> TokenBatch {
        let types = inputs.contains { $0.typeIds != nil } ? inputs.map { $0.typeIds ?? Array(repeating: 0, count: $0.ids.count) } : nil
        return try TokenBatch(
            sequences: inputs.map(\.ids), masks: inputs.map { Array(repeating: 1, count: $0.ids.count) }, typeIds: types,
            padId: Int32(base.config.padTokenId))
    }

    /// Rows of `flat` (`width` each) handed back to the items in order.
    func split(_ flat: [Float], _ batch: [QueuedItem], width: Int) -> [[[Float]]] {
        var row = 0
        return batch.map { item in
            item.inputs.map { _ in
                defer { row += 1 }
                return Array(flat[row * width..<(row + 1) * width])
            }
        }
    }
}

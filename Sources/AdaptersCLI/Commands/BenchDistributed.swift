import Adapters
import ArgumentParser
import DistributedTraining
import Encoders
import Foundation
import Inference
import Kernels
import Training

/// `adapters bench distributed`: data-parallel scaling on this machine — one process with every core
/// against `--ranks` MPI processes splitting the cores, the same global batch of 32 × 100 — with each
/// step's compute, the gradient sum's wait after the backward pass, and the sum's time on its own (so
/// the overlap shows); then, from those measurements, the seed's 80,000-step run on 1…64 machines.
struct BenchDistributed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract:
            "Data-parallel scaling over MPI: 1 process × all cores vs N ranks splitting them, and the seed's run on paper."
    )

    @Option(
        name: .long, parsing: .upToNextOption, help: "Cases as arch:method, e.g. roberta-base:seq_bn minilm-l6:full.")
    var cases: [String] = ["roberta-base:seq_bn", "minilm-l6:full"]

    @Option(name: .long, help: "MPI ranks to compare with one process.") var ranks = 2
    @Option(name: .long, help: "Timed steps per case (after 2 warm-up steps).") var steps = 5
    @Option(name: .long, help: "Global batch (sequences of 100 tokens).") var batch = 32
    @Option(name: .long, help: "Cores per machine in the on-paper table.") var coresPerMachine = 16
    @Option(name: .long, help: "Latency per message hop (µs) in the on-paper table (TCP on a LAN).")
    var latencyMicroseconds: Double = 50

    @Flag(name: .long, help: .hidden) var child = false

    func validate() throws {
        for c in cases {
            let parts = c.split(separator: ":").map(String.init)
            guard parts.count == 2, BenchmarkArchitecture(rawValue: parts[0]) != nil,
                ["seq_bn", "lora", "full", "double_seq_bn"].contains(parts[1])
            else {
                throw ValidationError(
                    "case '\(c)' is not arch:method (roberta-base or minilm-l6; seq_bn, double_seq_bn, lora, full)")
            }
        }
        if ranks < 2 { throw ValidationError("--ranks must be at least 2") }
        if steps < 1 || batch < 1 { throw ValidationError("--steps and --batch must be at least 1") }
    }

    func run() throws {
        if child {
            try runChild(cases[0])
            return
        }
        guard MPISupport.available else { throw DistributedError.notBuiltWithMPI }
        let cores = Threading.workerCount
        print("\(benchmarkCPU()); \(cores) cores; BLAS kernels: \(BLASInfo.coreName)")
        print(
            "| case | layout | samples/s | step ms | compute ms | wait after backward ms | sum alone ms | overlap | gradient MB | scaling |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        var projections: [(String, Measurement, Measurement)] = []
        for c in cases {
            let one = try measure(c, ranks: 1, threads: cores)
            let many = try measure(c, ranks: ranks, threads: max(1, cores / ranks))
            for (m, layout) in [
                (one, "1 rank × \(cores) threads"), (many, "\(ranks) ranks × \(max(1, cores / ranks)) thread(s)"),
            ] {
                print(
                    String(
                        format: "| %@ | %@ | %.2f | %.0f | %.0f | %.1f | %.1f | %@ | %.1f | %@ |", c, layout,
                        m.samplesPerSecond,
                        m.step * 1e3, m.compute * 1e3, m.wait * 1e3, m.sumAlone * 1e3,
                        m.ranks > 1 ? String(format: "%.0f %%", m.overlap * 100) : "–", m.gradientBytes / 1e6,
                        m.ranks > 1 ? String(format: "×%.2f", m.samplesPerSecond / one.samplesPerSecond) : "1"))
            }
            projections.append((c, one, many))
        }
        for (c, one, many) in projections { printProjection(c, single: one, multi: many) }
    }

    struct Measurement {
        var ranks: Int
        var samplesPerSecond: Double
        var step: Double
        var compute: Double
        var wait: Double
        var sumAlone: Double
        var gradientBytes: Double
        var threads: Int
        /// The share of the gradient sum the backward pass hid: 1 − wait / (sum alone).
        var overlap: Double { sumAlone > 0 ? min(1, max(0, 1 - wait / sumAlone)) : 0 }
    }

    /// Runs one case in fresh processes (under mpirun for several ranks) and reads rank 0's JSON line.
    func measure(_ c: String, ranks: Int, threads: Int) throws -> Measurement {
        let process = Process()
        let me = "/proc/self/exe"
        let args = [
            "bench", "distributed", "--child", "--cases", c, "--steps", String(steps), "--batch", String(batch),
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["ADAPTERS_NUM_THREADS"] = String(threads)
        if ranks == 1 {
            process.executableURL = URL(fileURLWithPath: me)
            process.arguments = args
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: me)) ?? me
            process.arguments =
                ["mpirun"] + (getuid() == 0 ? ["--allow-run-as-root"] : []) + [
                    "--oversubscribe", "--bind-to", "none", "-np", String(ranks), "-x", "ADAPTERS_NUM_THREADS", exe,
                ] + args
        }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw ValidationError("benchmark case \(c) on \(ranks) rank(s) failed") }
        FileHandle.standardError.write(Data("\(c) \(ranks) rank(s): \(line)\n".utf8))
        func number(_ key: String) -> Double { (o[key] as? NSNumber)?.doubleValue ?? .nan }
        return Measurement(
            ranks: ranks, samplesPerSecond: number("samples_per_second"), step: number("step_s"),
            compute: number("compute_s"),
            wait: number("wait_s"), sumAlone: number("sum_alone_s"), gradientBytes: number("gradient_bytes"),
            threads: threads)
    }

    func runChild(_ c: String) throws {
        let group: ProcessGroup = MPISupport.launchedByMPI ? try MPIGroup(timeout: 600) : SingleProcess()
        guard let (_, model, tokens, labels) = try BenchTrain.trainingCase(c, batch: batch) else { return }
        let t = tokens.sequenceLength
        func rows(_ r: Range<Int>) throws -> (TokenBatch, HeadTargets) {
            (
                try TokenBatch(
                    batchSize: r.count, sequenceLength: t,
                    inputIds: Array(tokens.inputIds[(r.lowerBound * t)..<(r.upperBound * t)]),
                    attentionMask: Array(tokens.attentionMask[(r.lowerBound * t)..<(r.upperBound * t)]),
                    tokenTypeIds: nil),
                .classes(Array(labels[r]))
            )
        }
        let runner = DataParallelStep(model: model, group: group)
        var adam = AdamW()
        var stepTimes: [Double] = []
        var compute: [Double] = []
        var wait: [Double] = []
        for s in 0..<(2 + steps) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let outcome = try runner.run(total: batch, seed: UInt64(s), step: s, batch: rows)
            adam.update(model.parameters, learningRate: 3e-4)
            if s >= 2 {
                stepTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                compute.append(outcome.computeSeconds)
                wait.append(outcome.waitSeconds)
            }
        }
        // The whole gradient sum on its own, group by group as a step starts it, for the overlap.
        var alone: [Double] = []
        if group.size > 1, let grads = model.parameters.grads.base {
            for _ in 0..<5 {
                try group.barrier("timing the gradient sum")
                let t0 = DispatchTime.now().uptimeNanoseconds
                for (_, ranges) in model.gradientGroups {
                    for r in ranges { try group.startSum(grads + r.lowerBound, count: r.count) }
                }
                try group.waitAll("timing the gradient sum")
                alone.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
        }
        let gradientFloats = model.gradientGroups.reduce(0) { $0 + $1.ranges.reduce(0) { $0 + $1.count } }
        if let mpi = group as? MPIGroup { try mpi.finalize() }
        guard group.isLeader else { return }
        let json: [String: Any] = [
            "case": c, "ranks": group.size, "threads_per_rank": Threading.workerCount, "step_s": median(stepTimes),
            "samples_per_second": Double(batch) / median(stepTimes), "compute_s": median(compute),
            "wait_s": median(wait),
            "sum_alone_s": alone.isEmpty ? 0 : median(alone), "gradient_bytes": gradientFloats * 4,
            "peak_rss_mib": peakResidentMiB() ?? -1,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
    }

    /// The seed's run (80,000 steps of 32) on machines of `coresPerMachine` cores, one rank each, from
    /// the measured compute per sample and gradient bytes: compute scaled by cores (optimistic: it
    /// assumes this machine's per-core rate holds on 16 cores), ring all-reduce time
    /// `2(M−1)/M · bytes / bandwidth + 2(M−1) · latency`, of which the share measured here is hidden —
    /// but never more than the backward pass lasts (taken as two thirds of the compute).
    func printProjection(_ c: String, single: Measurement, multi: Measurement) {
        let coreSecondsPerSample = single.compute * Double(single.threads) / Double(batch)
        let bytes = single.gradientBytes
        let hidden = multi.overlap
        print("\nOn paper, \(c): the seed's 80,000 steps of \(batch) on machines of \(coresPerMachine) cores")
        print(
            String(
                format:
                    "(measured here: %.3f core-seconds of compute per sample, %.1f MB of gradients per step, %.0f %% of the sum hidden by the backward pass; latency %.0f µs per hop)",
                coreSecondsPerSample, bytes / 1e6, hidden * 100, latencyMicroseconds))
        print(
            "| machines | link | compute ms/step | all-reduce ms/step | step ms (overlap applied) | samples/s | 80k steps | speed-up |"
        )
        print("|---|---|---|---|---|---|---|---|")
        let oneMachine = coreSecondsPerSample * Double(batch) / Double(coresPerMachine)
        for gbps in [10.0, 25.0] {
            for machines in [1, 4, 16, 64] {
                // A batch of 32 splits over at most 32 ranks: beyond, machines idle.
                let busy = min(machines, batch)
                let compute =
                    coreSecondsPerSample * (Double(batch) / Double(busy)).rounded(.up) / Double(coresPerMachine)
                let m = Double(machines)
                let reduce =
                    machines == 1
                    ? 0 : 2 * (m - 1) / m * bytes / (gbps * 1e9 / 8) + 2 * (m - 1) * latencyMicroseconds * 1e-6
                let step = compute + reduce - min(reduce * hidden, compute * 2 / 3)
                let hours = 80_000 * step / 3600
                print(
                    String(
                        format: "| %d | %.0f Gb/s | %.0f | %.1f | %.0f | %.0f | %.1f h | ×%.1f |", machines, gbps,
                        compute * 1e3,
                        reduce * 1e3, step * 1e3, Double(batch) / step, hours, oneMachine / step))
            }
        }
    }
}

import Foundation
import Training

#if SWIFTADAPTERS_MPI
    import CMPIBridge
#endif

/// Whether this build has MPI (the `ompi-c` pkg-config module was present when it was built).
public enum MPISupport {
    #if SWIFTADAPTERS_MPI
        public static let available = true
    #else
        public static let available = false
    #endif

    /// Whether this process was started by an MPI launcher (`mpirun`, `mpiexec`, `srun --mpi`).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMI_SIZE"] != nil || env["PMIX_RANK"] != nil
    }
}

/// Failures of the MPI process group, each naming what it was doing.
public enum DistributedError: Error, CustomStringConvertible {
    case notBuiltWithMPI
    case mpi(operation: String, detail: String)
    case timeout(what: String, seconds: Double, rank: Int)

    public var description: String {
        switch self {
        case .notBuiltWithMPI:
            "this adapters was built without MPI: install OpenMPI (Debian: libopenmpi-dev openmpi-bin, or scripts/setup.sh) and rebuild (touch Package.swift first if it was built before)"
        case .mpi(let operation, let detail): "MPI failed while \(operation): \(detail)"
        case .timeout(let what, let seconds, let rank):
            "rank \(rank): no answer from the other ranks for \(Int(seconds)) s while \(what); a rank has probably died or hangs (see the other ranks' output); stopping"
        }
    }
}

/// The `ProcessGroup` of every rank of an MPI job (`MPI_COMM_WORLD`), over OpenMPI's non-blocking
/// collectives: a sum is started, then polled until done, so no wait outlasts `timeout` — a rank that
/// died or hangs makes the others fail within it instead of waiting for ever. MPI is used from one
/// thread at a time (`MPI_THREAD_SERIALIZED`); polling between the backward pass's layers also moves
/// the started sums forward while the pass computes.
public final class MPIGroup: ProcessGroup {
    public let rank: Int
    public let size: Int
    /// The longest a collective may wait for the other ranks.
    public let timeout: Double
    /// Where this rank runs (MPI's processor name).
    public let host: String
    #if SWIFTADAPTERS_MPI
        private var pending: [OpaquePointer] = []
    #endif
    private var finalized = false

    /// Joins the job's world communicator (`MPI_Init_thread`).
    public init(timeout: Double) throws {
        self.timeout = timeout
        #if SWIFTADAPTERS_MPI
            var r: Int32 = 0
            var s: Int32 = 0
            let rc = sa_mpi_init(&r, &s)
            guard rc == 0 else { throw DistributedError.mpi(operation: "starting (MPI_Init)", detail: Self.text(rc)) }
            rank = Int(r)
            size = Int(s)
            var name = [CChar](repeating: 0, count: 256)
            sa_mpi_processor_name(&name, 256)
            host = String(cString: name)
        #else
            throw DistributedError.notBuiltWithMPI
        #endif
    }

    #if SWIFTADAPTERS_MPI
        static func text(_ code: Int32) -> String {
            var buffer = [CChar](repeating: 0, count: 512)
            sa_mpi_error_string(code, &buffer, 512)
            return String(cString: buffer)
        }

        private func check(_ rc: Int32, _ operation: String) throws {
            if rc != 0 { throw DistributedError.mpi(operation: operation, detail: Self.text(rc)) }
        }
    #endif

    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        #if SWIFTADAPTERS_MPI
            try startInPieces(count, "starting a gradient sum") { sa_mpi_isum_f32(buffer + $0, $1, &$2) }
            try progress()
        #endif
    }

    public func startSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws {
        #if SWIFTADAPTERS_MPI
            try startInPieces(count, "starting a sum") { sa_mpi_isum_f64(buffer + $0, $1, &$2) }
        #endif
    }

    #if SWIFTADAPTERS_MPI
        /// Starts `count` elements' collective in pieces (MPI counts are Int32), queueing each request.
        private func startInPieces(
            _ count: Int, _ operation: String, _ start: (Int, Int32, inout OpaquePointer?) -> Int32
        ) throws {
            var offset = 0
            while offset < count {
                let n = min(count - offset, Int(Int32.max))
                var request: OpaquePointer?
                try check(start(offset, Int32(n), &request), operation)
                if let request { pending.append(request) }
                offset += n
            }
        }
    #endif

    #if SWIFTADAPTERS_MPI
        /// Tests the pending requests once, dropping the finished ones (MPI progresses non-blocking
        /// collectives inside such calls).
        private func progress() throws {
            var still: [OpaquePointer] = []
            for request in pending {
                var done: Int32 = 0
                let rc = sa_mpi_test(request, &done)
                if rc != 0 {
                    pending = []
                    throw DistributedError.mpi(operation: "waiting for a sum", detail: Self.text(rc))
                }
                if done == 0 { still.append(request) }
            }
            pending = still
        }
    #endif

    public func waitAll(_ what: String) throws {
        #if SWIFTADAPTERS_MPI
            let deadline = Date().addingTimeInterval(timeout)
            var pause: UInt32 = 5
            while !pending.isEmpty {
                try progress()
                if pending.isEmpty { break }
                if Date() > deadline {
                    for request in pending { sa_mpi_request_free(request) }
                    pending = []
                    throw DistributedError.timeout(what: what, seconds: timeout, rank: rank)
                }
                usleep(pause)
                pause = min(pause * 2, 200)
            }
        #endif
    }

    public func minMax(_ values: [UInt64], _ what: String) throws -> (min: [UInt64], max: [UInt64]) {
        #if SWIFTADAPTERS_MPI
            // One MIN over the values and their complements gives both extremes.
            var buffer = values + values.map { ~$0 }
            var request: OpaquePointer?
            try buffer.withUnsafeMutableBufferPointer {
                try check(sa_mpi_imin_u64($0.baseAddress!, Int32($0.count), &request), what)
                if let request { pending.append(request) }
                try waitAll(what)
            }
            return (Array(buffer.prefix(values.count)), buffer.suffix(values.count).map { ~$0 })
        #else
            return (values, values)
        #endif
    }

    /// A barrier with no timeout, for work of unknown length on some ranks (rank 0 tokenizing a large
    /// dataset while the others wait for its token cache). A rank that dies meanwhile still ends the
    /// job: the MPI launcher stops the others.
    public func waitLong(_ what: String) throws {
        #if SWIFTADAPTERS_MPI
            var request: OpaquePointer?
            try check(sa_mpi_ibarrier(&request), what)
            var done: Int32 = 0
            while let r = request, done == 0 {
                try check(sa_mpi_test(r, &done), what)
                if done == 0 { usleep(10_000) }
            }
        #endif
    }

    /// Ends every rank of the job (`MPI_Abort`): what a rank does after a failure the others cannot
    /// recover from, so that none waits for it. MPI's launcher normally ends this process too; the
    /// caller (the CLI) exits itself should the call return.
    public func abort(code: Int32) {
        #if SWIFTADAPTERS_MPI
            _ = sa_mpi_abort(code)
        #endif
    }

    /// Leaves the job (`MPI_Finalize`) after a barrier, so that no rank exits while another still needs it.
    public func finalize() throws {
        guard !finalized else { return }
        try barrier("finishing")
        finalized = true
        #if SWIFTADAPTERS_MPI
            _ = sa_mpi_finalize()
        #endif
    }
}

/// Embedding lookups summed into one row per token: `out[t] = Σ_tables table[ids[t]]`
/// (word + position + token type in BERT/RoBERTa).
public enum Embedding {
    /// One table and the ids that index it (`ids[t] < rows`, checked by the caller).
    public struct Lookup {
        public var table: UnsafePointer<Float>?
        /// The table in bf16 instead (a bf16 inference model's word embeddings): rows are widened exactly.
        public var bf16Table: UnsafePointer<UInt16>?
        public var ids: UnsafePointer<Int32>
        public init(table: UnsafePointer<Float>, ids: UnsafePointer<Int32>) {
            self.table = table
            self.ids = ids
        }
        public init(bf16Table: UnsafePointer<UInt16>, ids: UnsafePointer<Int32>) {
            self.bf16Table = bf16Table
            self.ids = ids
        }

        /// Row `t`'s entry: fp32 in place, or widened into `scratch` (`[C]`).
        func row(_ t: Int, channels c: Int, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
            if let table { return table + Int(ids[t]) * c }
            guard let bf16Table else { return UnsafePointer(scratch) }
            BF16.widenSerial(bf16Table + Int(ids[t]) * c, to: scratch, count: c)
            return UnsafePointer(scratch)
        }
    }

    /// - Parameters: out `[tokens, C]`; each lookup's table `[rows, C]` and ids `[tokens]`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, lookups: [Lookup], tokens: Int, channels c: Int
    ) {
        Threading.parallelRanges(tokens, minChunk: 64) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(c, 1))
            defer { scratch.deallocate() }
            for t in range {
                let o = out + t * c
                guard let first = lookups.first else {
                    o.update(repeating: 0, count: c)
                    continue
                }
                o.update(from: first.row(t, channels: c, scratch: scratch), count: c)
                for lookup in lookups.dropFirst() {
                    let row = lookup.row(t, channels: c, scratch: scratch)
                    mapVectors(c) { i, lanes in
                        storePartial(o, i, lanes, loadPartial(o, i, lanes) + loadPartial(row, i, lanes))
                    }
                }
            }
        }
    }

    /// `dtable[ids[t]] += dout[t]`: scatter-add, split over column blocks so that repeated ids in
    /// different workers never race.
    public static func backward(
        dtable: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, dout: UnsafePointer<Float>,
        tokens: Int, channels c: Int
    ) {
        Threading.parallelRanges(c, minChunk: 64) { range in
            for t in 0..<tokens {
                let src = dout + t * c
                let dst = dtable + Int(ids[t]) * c
                for i in range { dst[i] += src[i] }
            }
        }
    }
}

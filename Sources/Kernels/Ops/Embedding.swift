/// Embedding lookups summed into one row per token: `out[t] = Σ_tables table[ids[t]]`
/// (word + position + token type in BERT/RoBERTa).
public enum Embedding {
    /// One table and the ids that index it (`ids[t] < rows`, checked by the caller).
    public struct Lookup {
        public var table: UnsafePointer<Float>
        public var ids: UnsafePointer<Int32>
        public init(table: UnsafePointer<Float>, ids: UnsafePointer<Int32>) {
            self.table = table
            self.ids = ids
        }
    }

    /// - Parameters: out `[tokens, C]`; each lookup's table `[rows, C]` and ids `[tokens]`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, lookups: [Lookup], tokens: Int, channels c: Int
    ) {
        Threading.parallelRanges(tokens, minChunk: 64) { range in
            for t in range {
                let o = out + t * c
                guard let first = lookups.first else {
                    o.update(repeating: 0, count: c)
                    continue
                }
                o.update(from: first.table + Int(first.ids[t]) * c, count: c)
                for lookup in lookups.dropFirst() {
                    let row = lookup.table + Int(lookup.ids[t]) * c
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

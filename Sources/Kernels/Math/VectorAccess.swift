/// 16 floats: one AVX-512 register (four SSE registers on the baseline x86-64 target Swift compiles for).
public typealias FloatVector = SIMD16<Float>

/// Unaligned SIMD loads and stores on float pointers (arena tensors are aligned, but row starts
/// inside them need not be).
extension UnsafePointer where Pointee == Float {
    @inlinable @inline(__always)
    func vector(at i: Int) -> FloatVector {
        UnsafeRawPointer(self + i).loadUnaligned(as: FloatVector.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inlinable @inline(__always)
    func vector(at i: Int) -> FloatVector {
        UnsafeRawPointer(self + i).loadUnaligned(as: FloatVector.self)
    }

    @inlinable @inline(__always)
    func store(_ v: FloatVector, at i: Int) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: FloatVector.self)
    }
}

/// Applies `f` to `count` floats, 16 at a time, with a padded tail (no scalar fallback, so the
/// tail gets exactly the same arithmetic as the body).
@inlinable @inline(__always)
func mapVectors(
    _ count: Int, _ body: (_ i: Int, _ lanes: Int) -> Void
) {
    var i = 0
    while i + 16 <= count {
        body(i, 16)
        i += 16
    }
    if i < count { body(i, count - i) }
}

@inlinable @inline(__always)
func loadPartial(_ p: UnsafePointer<Float>, _ i: Int, _ lanes: Int, pad: Float = 0) -> FloatVector {
    if lanes == 16 { return p.vector(at: i) }
    var v = FloatVector(repeating: pad)
    for l in 0..<lanes { v[l] = p[i + l] }
    return v
}

@inlinable @inline(__always)
func storePartial(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ lanes: Int, _ v: FloatVector) {
    if lanes == 16 {
        p.store(v, at: i)
        return
    }
    for l in 0..<lanes { p[i + l] = v[l] }
}

/// Sum of `count` floats with 16-lane accumulation in a fixed order (reproducible, vectorised).
@inlinable @inline(__always)
func vectorSum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = FloatVector(repeating: 0)
    mapVectors(count) { i, lanes in acc += loadPartial(p, i, lanes) }
    return acc.sum()
}

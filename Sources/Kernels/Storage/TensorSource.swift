/// Element types of stored tensors (safetensors' dtype names).
public enum TensorDType: String, Sendable, CaseIterable, Codable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u8 = "U8"
    case bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }

    /// Whether `TensorSource.readFloats` can convert it to f32.
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: true
        default: false
        }
    }
}

/// Named tensors that a model can be filled from, whatever file they came from. Models read
/// through this protocol and so never see files (ModelIO provides the safetensors sources).
public protocol TensorSource {
    /// Every tensor name the source holds, sorted.
    var tensorNames: [String] { get }
    func shape(of name: String) -> [Int]?
    func dtype(of name: String) -> TensorDType?
    /// Copies tensor `name`, converted to f32, into `destination` (`shape.product` floats).
    func readFloats(_ name: String, into destination: UnsafeMutablePointer<Float>) throws
    /// Tells the source that tensor `name` has been copied out and will not be read again soon: a
    /// memory-mapped file drops its pages from the process's memory. Reading it again stays valid.
    func didRead(_ name: String)
    /// Copies elements `elements` of tensor `name` (flat, row-major), converted to f32, so that a loader
    /// can stream a large tensor through a small buffer. Returns false, copying nothing, when the
    /// tensor is missing or not floating-point or the range lies outside it (a caller that checked the
    /// tensor first then reports what is wrong).
    func copyFloats(_ name: String, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>) -> Bool
    /// `didRead` for part of a tensor.
    func didRead(_ name: String, elements: Range<Int>)
}

extension TensorSource {
    public func didRead(_ name: String) {}
    public func didRead(_ name: String, elements: Range<Int>) {}

    /// Reads the whole tensor and keeps the part asked for: correct for any source, streaming for none.
    public func copyFloats(_ name: String, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>) -> Bool {
        guard let total = shape(of: name)?.reduce(1, *), elements.lowerBound >= 0, elements.upperBound <= total else { return false }
        let all = UnsafeMutablePointer<Float>.allocate(capacity: max(total, 1))
        defer { all.deallocate() }
        guard (try? readFloats(name, into: all)) != nil else { return false }
        destination.update(from: all + elements.lowerBound, count: elements.count)
        return true
    }
}

/// IEEE half → float, exact (subnormals, infinities and NaN included).
@inlinable
public func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1f)
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // subnormal: value = mantissa · 2^-24
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    }
    if exponent == 31 {
        return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}

/// bfloat16 → float: the upper half of the float's bits.
@inlinable
public func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

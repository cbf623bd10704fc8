import CZlib
import Foundation

/// An 8-bit RGB or RGBA PNG decoded to pixels, for tests that look at screenshots (is a chart's area
/// drawn, or blank?). Non-interlaced images only — what headless Chromium writes.
public struct PNGImage {
    public let width: Int
    public let height: Int
    /// Bytes per pixel: 3 (RGB) or 4 (RGBA).
    public let channels: Int
    public let pixels: [UInt8]

    public enum Failure: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String { if case .invalid(let s) = self { return "not a PNG this test reads: \(s)" }; return "" }
    }

    public init(contentsOf url: URL) throws {
        let data = [UInt8](try Data(contentsOf: url))
        guard data.count > 8, data.prefix(8) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw Failure.invalid("no PNG signature")
        }
        func be32(_ i: Int) -> Int { Int(data[i]) << 24 | Int(data[i + 1]) << 16 | Int(data[i + 2]) << 8 | Int(data[i + 3]) }
        var i = 8
        var w = 0, h = 0, colorType = 0
        var compressed: [UInt8] = []
        while i + 8 <= data.count {
            let length = be32(i)
            let type = String(decoding: data[(i + 4)..<(i + 8)], as: UTF8.self)
            guard i + 12 + length <= data.count else { throw Failure.invalid("truncated \(type) chunk") }
            let body = data[(i + 8)..<(i + 8 + length)]
            switch type {
            case "IHDR":
                w = be32(i + 8)
                h = be32(i + 12)
                guard body[body.startIndex + 8] == 8, body[body.startIndex + 12] == 0 else {
                    throw Failure.invalid("bit depth or interlace")
                }
                colorType = Int(body[body.startIndex + 9])
            case "IDAT": compressed += body
            default: break
            }
            i += 12 + length
            if type == "IEND" { break }
        }
        let bpp: Int
        switch colorType {
        case 2: bpp = 3
        case 6: bpp = 4
        default: throw Failure.invalid("colour type \(colorType)")
        }
        guard w > 0, h > 0, w < 1 << 15, h < 1 << 16 else { throw Failure.invalid("size \(w)×\(h)") }
        let stride = w * bpp
        var raw = [UInt8](repeating: 0, count: h * (stride + 1))
        var rawLength = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            compressed.withUnsafeBufferPointer { src in
                uncompress(out.baseAddress, &rawLength, src.baseAddress, uLong(src.count))
            }
        }
        guard status == Z_OK, Int(rawLength) == raw.count else { throw Failure.invalid("zlib status \(status)") }
        var out = [UInt8](repeating: 0, count: h * stride)
        for y in 0..<h {
            let filter = raw[y * (stride + 1)]
            let row = y * (stride + 1) + 1
            for x in 0..<stride {
                let a = x >= bpp ? Int(out[y * stride + x - bpp]) : 0
                let b = y > 0 ? Int(out[(y - 1) * stride + x]) : 0
                let c = x >= bpp && y > 0 ? Int(out[(y - 1) * stride + x - bpp]) : 0
                let v = Int(raw[row + x])
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: throw Failure.invalid("filter \(filter)")
                }
                out[y * stride + x] = UInt8((v + predicted) & 0xFF)
            }
        }
        width = w
        height = h
        channels = bpp
        pixels = out
    }

    /// RGB of the pixel at (x, y).
    public func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let k = (y * width + x) * channels
        return (pixels[k], pixels[k + 1], pixels[k + 2])
    }
}

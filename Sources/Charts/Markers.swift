/// Marker shapes, cycled per series together with colour so that series stay distinct where colour
/// alone does not carry (greyscale print, overlapping points).
enum MarkerShape: CaseIterable {
    case circle, square, triangle, diamond

    static func forSeries(_ index: Int) -> MarkerShape {
        allCases[index % allCases.count]
    }

    /// The element drawing this shape centred on (x, y) with roughly `radius`.
    func draw(into svg: inout SVGWriter, x: Double, y: Double, radius r: Double, color: String, cssClass: String) {
        let paint: SVGWriter.Attributes = [("fill", color), ("stroke", "#ffffff"), ("stroke-width", "1")]
        switch self {
        case .circle:
            svg.leaf("circle", [("class", cssClass), ("cx", svgNumber(x)), ("cy", svgNumber(y)),
                                ("r", svgNumber(r))] + paint)
        case .square:
            let side = r * 1.7
            svg.leaf("rect", [("class", cssClass), ("x", svgNumber(x - side / 2)), ("y", svgNumber(y - side / 2)),
                              ("width", svgNumber(side)), ("height", svgNumber(side))] + paint)
        case .triangle:
            let h = r * 1.2
            svg.leaf("path", [("class", cssClass), ("d", "M\(svgNumber(x)) \(svgNumber(y - h * 1.1))"
                + "L\(svgNumber(x + h)) \(svgNumber(y + h * 0.8))L\(svgNumber(x - h)) \(svgNumber(y + h * 0.8))Z")]
                + paint)
        case .diamond:
            let d = r * 1.3
            svg.leaf("path", [("class", cssClass), ("d", "M\(svgNumber(x)) \(svgNumber(y - d))"
                + "L\(svgNumber(x + d)) \(svgNumber(y))L\(svgNumber(x)) \(svgNumber(y + d))"
                + "L\(svgNumber(x - d)) \(svgNumber(y))Z")] + paint)
        }
    }
}

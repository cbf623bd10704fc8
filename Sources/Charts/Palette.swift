/// The Okabe–Ito colours: eight hues that stay distinguishable under the common forms of colour
/// blindness and in greyscale print, so a method's line is recognisable by colour alone.
public enum Palette {
    /// Blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black, in the order
    /// that keeps the first few series most distinct (yellow, weak on white, comes late).
    public static let colors: [String] = [
        "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
    ]

    /// The colour for series `index`, cycling after eight (negative indices count from the end).
    public static func color(_ index: Int) -> String {
        let count = colors.count
        return colors[((index % count) + count) % count]
    }
}

import Foundation

/// Draws train and val loss curves as a small standalone SVG.
public enum LossPlot {
    /// - Parameters:
    ///   - train: (iteration, loss) of every step.
    ///   - val: (iteration, loss) of every evaluation.
    /// - Returns: the SVG document.
    public static func svg(train: [(Int, Float)], val: [(Int, Float)], title: String) -> String {
        let w = 640.0, h = 400.0, left = 60.0, right = 20.0, top = 30.0, bottom = 40.0
        let all = (train + val).filter { $0.1.isFinite }
        let maxIt = Double(max(all.map { $0.0 }.max() ?? 1, 1))
        var lo = Double(all.map { $0.1 }.min() ?? 0), hi = Double(all.map { $0.1 }.max() ?? 1)
        if hi - lo < 1e-6 { hi = lo + 1; lo -= 1 }
        func x(_ it: Int) -> Double { left + Double(it) / maxIt * (w - left - right) }
        func y(_ l: Float) -> Double { top + (hi - Double(l)) / (hi - lo) * (h - top - bottom) }
        func line(_ pts: [(Int, Float)], _ color: String) -> String {
            let p = pts.filter { $0.1.isFinite }.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(p)\"/>\n"
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(left)\" y=\"18\">\(title.replacingOccurrences(of: "<", with: "&lt;"))</text>\n"
        s += "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w - right)\" y2=\"\(h - bottom)\" stroke=\"black\"/>\n"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"black\"/>\n"
        for k in 0...4 {
            let v = lo + (hi - lo) * Double(k) / 4
            s += String(format: "<text x=\"5\" y=\"%.1f\">%.3f</text>\n", y(Float(v)) + 4, v)
            let it = Int(maxIt * Double(k) / 4)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%d</text>\n", x(it) - 10, h - bottom + 16, it)
        }
        s += line(train, "#1f77b4") + line(val, "#d62728")
        s += "<text x=\"\(w - 150)\" y=\"\(top + 10)\" fill=\"#1f77b4\">train</text><text x=\"\(w - 100)\" y=\"\(top + 10)\" fill=\"#d62728\">val</text>\n"
        return s + "</svg>\n"
    }
}

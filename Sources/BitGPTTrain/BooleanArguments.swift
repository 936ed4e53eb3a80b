/// Boolean flags in every spelling users of nanoGPT (`--bias=False`, its configurator) and
/// BitGPT (`--bias false`) type, on top of swift-argument-parser's `--bias` / `--no-bias`.
///
/// swift-argument-parser's `@Flag` takes no value, so `--bias false` would leave `false` as an
/// unexpected argument, and an `@Option` of `Bool` would refuse a bare `--bias`. The command line
/// is therefore rewritten before parsing: for each boolean flag `NAME`, `--NAME VALUE` and
/// `--NAME=VALUE` with VALUE one of `true`, `True`, `false`, `False` become `--NAME` or
/// `--no-NAME`; everything else is left as it is (so `--bias=maybe` gets the parser's own error,
/// and a value that is not a boolean after `--bias` stays the next argument).
public enum BooleanArguments {
    /// The values read as true and as false.
    public static let trueValues: Set<String> = ["true", "True"], falseValues: Set<String> = ["false", "False"]

    /// - Parameters:
    ///   - arguments: the command line, program name excluded.
    ///   - flags: the boolean flags' long names without dashes (`bias`, `decay-lr`); each must
    ///     also accept `--no-NAME`.
    /// - Returns: the arguments with every boolean value folded into `--NAME` / `--no-NAME`.
    public static func normalize(_ arguments: [String], flags: Set<String>) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if arg == "--" { out += arguments[(i - 1)...]; break }
            guard arg.hasPrefix("--") else { out.append(arg); continue }
            let body = arg.dropFirst(2)
            if let eq = body.firstIndex(of: "="), flags.contains(String(body[..<eq])) {
                let name = String(body[..<eq]), value = String(body[body.index(after: eq)...])
                out.append(spelling(name, value) ?? arg)
            } else if flags.contains(String(body)), i < arguments.count, let s = spelling(String(body), arguments[i]) {
                out.append(s)
                i += 1
            } else {
                out.append(arg)
            }
        }
        return out
    }

    /// `--NAME` for a true `value`, `--no-NAME` for a false one, nil for anything else.
    static func spelling(_ name: String, _ value: String) -> String? {
        if trueValues.contains(value) { return "--" + name }
        if falseValues.contains(value) { return "--no-" + name }
        return nil
    }
}

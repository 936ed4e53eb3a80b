import ArgumentParser
import Foundation

/// A comma-separated list on the command line (`--threads 1,2,4`, `--dtypes f32,t2`): each item
/// is parsed as `Element`, so `--help` lists `Element`'s values and a bad item is
/// swift-argument-parser's one-line error naming the option and those values
/// (`The value 'f32,q4' is invalid for '--dtypes <dtypes>'. Please provide one of …`).
///
/// Spaces around an item are ignored and empty items are dropped (`1,,2` is `1,2`; an empty
/// argument is an empty list, which the tool judges).
public struct CommaList<Element: ExpressibleByArgument>: ExpressibleByArgument, CustomStringConvertible {
    /// The items, in the order given.
    public var values: [Element]

    /// A list of `values` (a default value).
    public init(_ values: [Element]) { self.values = values }

    /// Parses `argument`; nil when any item does not parse as `Element`.
    public init?(argument: String) {
        var items: [Element] = []
        for part in argument.split(separator: ",") {
            guard let v = Element(argument: part.trimmingCharacters(in: .whitespaces)) else { return nil }
            items.append(v)
        }
        values = items
    }

    /// `Element`'s values: what `--help` and the error for a bad item list.
    public static var allValueStrings: [String] { Element.allValueStrings }

    /// The items joined by commas, as they are written on the command line.
    public var description: String { values.map(\.defaultValueDescription).joined(separator: ",") }

    /// The list as `--help` shows a default: `f32,i8,t2,t1`.
    public var defaultValueDescription: String { description }
}

extension CommaList: Sendable where Element: Sendable {}

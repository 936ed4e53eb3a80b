import Hummingbird
import NIOCore

/// The request context of lm-serve's routes: Hummingbird's core context plus the connection, so a
/// streaming answer learns at once when its client goes away.
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

import ArgumentParser
import BitGPT

extension KVCacheType: ExpressibleByArgument {}

// Closed choices of the model-building flags, parsed (and listed in --help) by swift-argument-parser.
extension Architecture: ExpressibleByArgument {}
extension PositionKind: ExpressibleByArgument {}
extension RopePairing: ExpressibleByArgument {}

extension Transformer {
    /// Bytes a single-token pass at `position` reads from a KV cache of `type`: the keys and values
    /// of positions `0...position` in every layer.
    public func kvBytesPerToken(position: Int, type: KVCacheType) -> Int {
        2 * config.scheduledLayers * (position + 1) * config.nKVHeads * config.headDim * type.byteSize
    }
}

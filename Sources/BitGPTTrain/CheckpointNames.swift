import BitGPT
import BitGPTConvert

/// Tensor names in checkpoints: nanoGPT's for GPT-2 (`transformer.wte.weight`,
/// `transformer.h.0.attn.c_attn.weight`, …) and llama2.c's for Llama (`tok_embeddings.weight`,
/// `layers.0.attention.wq.weight`, …), from the converter's ``CheckpointNameTable`` (the one table
/// both read and write with). A BitLinear's RMSNorm gain `X.norm` becomes `<X>.rms_norm.weight`
/// as BitGPT names it. A tied head is stored once, under the embedding's name.
public enum CheckpointNames {
    /// The checkpoint name of `.bgpt` tensor `name` in a model of `architecture`.
    public static func name(_ bgpt: String, architecture: Architecture) -> String {
        var base = bgpt
        var suffix = ".weight"
        if base.hasSuffix(".norm") { base.removeLast(5); suffix = ".rms_norm.weight" } else if base.hasSuffix("_bias") { base.removeLast(5); suffix = ".bias" }
        return CheckpointNameTable.forArchitecture(architecture).module(base) + suffix
    }
}

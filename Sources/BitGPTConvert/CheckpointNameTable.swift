import BitGPT

/// The module names of one checkpoint layout for the `.bgpt` tensors: the single table that the
/// converter reads checkpoints with and the trainer writes (and reads back) checkpoints with.
///
/// A name here is a module path without the `.weight` / `.bias` suffix; the caller adds it.
public struct CheckpointNameTable: Sendable {
    /// The prefix of block `l`'s modules, before the layer number (`transformer.h.`, `layers.`).
    public let blockPrefix: String
    /// A block's `.bgpt` tensor (`attn_qkv`) and its module under `<blockPrefix><l>.` (`attn.c_attn`), in order.
    public let block: [(bgpt: String, module: String)]
    /// The `.bgpt` tensors outside the blocks (`token_embd`) and their modules (`transformer.wte`).
    public let top: [(bgpt: String, module: String)]

    /// The module of `.bgpt` name `bgpt` without suffix (`blk.0.attn_qkv` → `transformer.h.0.attn.c_attn`);
    /// a name the table lacks keeps its own last part (under the block prefix for a block tensor).
    public func module(_ bgpt: String) -> String {
        let parts = bgpt.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0] == "blk" {
            let inner = block.first { $0.bgpt == parts[2] }?.module ?? parts[2]
            return blockPrefix + parts[1] + "." + inner
        }
        return top.first { $0.bgpt == bgpt }?.module ?? bgpt
    }

    /// `<module(bgpt)>.weight`.
    public func weight(_ bgpt: String) -> String { module(bgpt) + ".weight" }

    /// karpathy/nanoGPT `model.py` (GPT-2 names; a tied `lm_head` is stored under `transformer.wte`).
    public static let nanogpt = CheckpointNameTable(
        blockPrefix: "transformer.h.",
        block: [("attn_norm", "ln_1"), ("attn_qkv", "attn.c_attn"), ("attn_out", "attn.c_proj"),
                ("ffn_norm", "ln_2"), ("ffn_up", "mlp.c_fc"), ("ffn_down", "mlp.c_proj")],
        top: [("token_embd", "transformer.wte"), ("pos_embd", "transformer.wpe"), ("output_norm", "transformer.ln_f"),
              ("output", "lm_head")])

    /// karpathy/llama2.c `model.py` (`ffn_gate`, `ffn_down`, `ffn_up` are its `w1`, `w2`, `w3`).
    public static let llama2c = CheckpointNameTable(
        blockPrefix: "layers.",
        block: [("attn_norm", "attention_norm"), ("attn_q", "attention.wq"), ("attn_k", "attention.wk"),
                ("attn_v", "attention.wv"), ("attn_out", "attention.wo"), ("ffn_norm", "ffn_norm"),
                ("ffn_gate", "feed_forward.w1"), ("ffn_up", "feed_forward.w3"), ("ffn_down", "feed_forward.w2")],
        top: [("token_embd", "tok_embeddings"), ("output_norm", "norm"), ("output", "output")])

    /// The table for checkpoints of `architecture`: nanoGPT's for gpt2, llama2.c's otherwise.
    public static func forArchitecture(_ architecture: Architecture) -> CheckpointNameTable {
        architecture == .gpt2 ? nanogpt : llama2c
    }
}

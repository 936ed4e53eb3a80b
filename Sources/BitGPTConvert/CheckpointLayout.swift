/// The checkpoint layouts the converter knows: which project wrote a state dict, decided by its keys.
///
/// Each layout has a mapping table in ``CheckpointMapper`` from its tensor names to the .bgpt
/// names of `formats/bgpt.md`, and a rule for its hyper-parameters.
public enum CheckpointLayout: String, CaseIterable, Sendable {
    /// karpathy/nanoGPT `model.py` (`transformer.wte`, fused `c_attn`, tied `lm_head`).
    case nanogpt
    /// bananya-ml/BitGPT `bitgpt/bitgpt.py` (per-head BitLinear with RMSNorm gains, `ckpt["meta"]` scales).
    case bitgpt
    /// CohleM/lilLM (`tok_emb`, `transformer_blocks`, RMSNorm `gain`, GQA, SwiGLU).
    case lillm
    /// andrewdalpino/LightGPT (`token_embeddings`, `body`, fused `qkv_proj`, NoPE, SiLU MLP).
    case lightgpt
    /// karpathy/llama2.c `model.py` state dicts and `model.bin` exports.
    case llama2c

    /// Recognises the layout from the (prefix-stripped) tensor names, or nil.
    public static func detect(names: Set<String>) -> CheckpointLayout? {
        if names.contains("transformer.wte.weight") { return .nanogpt }
        if names.contains("token_embedding_table.weight") && names.contains(where: { $0.hasSuffix(".rms_norm.weight") }) { return .bitgpt }
        if names.contains("tok_emb.weight") { return .lillm }
        if names.contains("token_embeddings.weight") { return .lightgpt }
        if names.contains("tok_embeddings.weight") { return .llama2c }
        return nil
    }
}

/// The checkpoint layouts the converter knows: which project wrote a state dict, decided by its keys.
///
/// Each layout has a mapping function in ``CheckpointMapper`` (`CheckpointMapper+Layouts.swift`)
/// from its tensor names to the .bgpt names of `formats/bgpt.md`, and a rule for its hyper-parameters.
public enum CheckpointLayout: String, CaseIterable, Sendable {
    /// karpathy/nanoGPT `model.py` (`transformer.wte`, fused `c_attn`, tied `lm_head`).
    case nanogpt
    /// bananya-ml/BitGPT `bitgpt/bitgpt.py` (per-head BitLinear with RMSNorm gains, `ckpt["meta"]` scales).
    case bitgpt
    /// bananya-ml/BitGPT `gpt/gpt.py` float baseline (per-head Linear q/k/v, `ln1`/`ln2`/`ln_f`, ReLU MLP, biased `lm_head`).
    case bitgptFloat = "bitgpt-float"
    /// soumyadip1995/BabyGPT `train/babygpt_trainer.py` (`token`, fused `atten`, `lnum_heads`; GELU after the
    /// MLP's down projection; the block stack run once per block).
    case babygpt
    /// soumyadip1995/BabyGPT `train/llama_trainer.py` (RMSNorm `scale`, SwiGLU `c_fc1`/`c_fc2`): recognised
    /// only to be refused, since its attention mixes positions.
    case babygptLlama = "babygpt-llama"
    /// CohleM/lilLM (`tok_emb`, `transformer_blocks`, RMSNorm `gain`, GQA, SwiGLU).
    case lillm
    /// andrewdalpino/LightGPT (`token_embeddings`, `body`, fused `qkv_proj`, NoPE, SiLU MLP).
    case lightgpt
    /// karpathy/llama2.c `model.py` state dicts and `model.bin` exports.
    case llama2c

    /// The project (and model) for messages.
    public var projectName: String {
        switch self {
        case .nanogpt: return "nanoGPT"
        case .bitgpt: return "BitGPT (bitgpt/)"
        case .bitgptFloat: return "BitGPT (gpt/)"
        case .babygpt: return "BabyGPT (babygpt_trainer.py)"
        case .babygptLlama: return "BabyGPT (llama_trainer.py)"
        case .lillm: return "lilLM"
        case .lightgpt: return "LightGPT"
        case .llama2c: return "llama2.c"
        }
    }

    /// Recognises the layout from the (prefix-stripped) tensor names, or nil.
    public static func detect(names: Set<String>) -> CheckpointLayout? {
        if names.contains("transformer.wte.weight") { return .nanogpt }
        if names.contains("token_embedding_table.weight") {
            if names.contains(where: { $0.hasSuffix(".rms_norm.weight") }) { return .bitgpt }
            if names.contains("ln_f.weight") && names.contains("blocks.0.sa.heads.0.query.weight") { return .bitgptFloat }
        }
        if names.contains("token.weight") && names.contains("lnum_heads.weight") {
            return names.contains("ln_f.scale") ? .babygptLlama : .babygpt
        }
        if names.contains("tok_emb.weight") { return .lillm }
        if names.contains("token_embeddings.weight") { return .lightgpt }
        if names.contains("tok_embeddings.weight") { return .llama2c }
        return nil
    }
}

/* layout.h - source checkpoints in a layout other than transformers', made
 * into a transformers model directory that the rest of the toolkit reads
 * (compress, evaluate, verify) and that transformers loads.
 *
 * "mamba_ssm": the state-spaces/mamba2-* checkpoints as the mamba_ssm
 * package publishes them (config.json with d_model, n_layer, ssm_cfg, ...;
 * weights named backbone.embedding.weight, backbone.layers.N.{norm,mixer.*},
 * backbone.norm_f.weight, lm_head.weight; no tokenizer). Only their
 * safetensors files are read, never a pickle (pytorch_model.bin). Mamba2
 * mixers only (ssm_cfg.layer "Mamba2"); hybrids with attention layers or MLPs
 * are refused. docs/ZOO.md, "mamba2-1.3b: the source". */
#ifndef HX_CODEC_LAYOUT_H
#define HX_CODEC_LAYOUT_H

#include "common/hx.h"

#include <cJSON.h>

/* The transformers Mamba2Config (config.json) equivalent to a mamba_ssm
 * config.json, or NULL with the reason (hx_lasterr) for a configuration
 * transformers' Mamba2 cannot express (*why the status). Caller frees. */
cJSON *hx_layout_mamba_ssm_config(const cJSON *ssm, hx_status *why);

/* Write OUT_DIR (created if needed; existing files of the same names are
 * replaced atomically): config.json converted, the safetensors file(s) of
 * SRC_DIR with backbone.embedding.weight renamed backbone.embeddings.weight
 * (the data bytes copied unchanged), tokenizer.json, tokenizer_config.json
 * and special_tokens_map.json from TOK_DIR, and SRC_DIR's README.md (its
 * license) when there is one. *renamed (may be NULL): tensors renamed. */
hx_status hx_layout_mamba_ssm(const char *src_dir, const char *tok_dir, const char *out_dir, int *renamed);

/* Remove a directory written by hx_layout_mamba_ssm (its plain files, then
 * the directory). */
void hx_layout_remove(const char *out_dir);

#endif

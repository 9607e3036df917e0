#pragma once
/// \file model/tensor_parallel.hpp
/// Tensor parallelism (Megatron-LM): one layer's weights split over K shards, each shard on its own
/// `trident::device`, computed on its own thread inside that device's arena, the shards exchanging
/// partial results through an in-process communicator (comm/communicator.hpp).
///
/// | layer                                        | split of W (out x in)       | forward                      | backward (input gradient)    |
/// |----------------------------------------------|-----------------------------|------------------------------|------------------------------|
/// | `column_parallel_dense(in, out, devices)`    | rows: shard s owns outputs  | each shard writes its output columns (the gather) | partial dx per shard, all_reduce |
/// | `row_parallel_dense(in, out, devices)`       | columns: shard s owns inputs| partial y per shard, all_reduce, + b | each shard writes its dx columns |
/// | `tensor_parallel_mlp(in, hidden, out, devices)` | column then row (dense, gelu, dense) | one all_reduce          | one all_reduce               |
///
/// Each is a `model::layer` (model/layer.hpp), so it sits in a `model::sequential` like `dense`, and
/// computes what the unsplit layers compute, within floating-point tolerance: `column_parallel_dense`
/// and `row_parallel_dense` equal `dense(in, out, seed)`, `tensor_parallel_mlp` equals
/// `dense(in, hidden, seed)`, `gelu`, `dense(hidden, out, seed + 1)` (the same seeds give the same
/// parameters, and a layer can be made from given dense layers).  `to_dense()` re-assembles the
/// parameters and gradients in the unsplit layout.  Backward is split, as zero-bubble schedules
/// want: `backward_input` holds the backward's collective where there is one, `backward_weight` is
/// local to each shard.  Each says where its parameters are (`parameter_placement()`, layer.hpp): a
/// pipeline plan or `reference_trainer` books nothing of them on the stage's device and books each
/// shard's optimizer state on the shard's device.
///
/// \code
///   using namespace trident::literals;
///   std::vector<trident::device> shards = {trident::cpu_device(1, 64_MiB), trident::cpu_device(1, 64_MiB)};
///   trident::model::sequential net{trident::model::tensor_parallel_mlp(512, 2048, 512, shards, /*seed*/ 1),
///                                  trident::model::dense(512, 10, 3)};
/// \endcode
///
/// Splits: features are split as evenly as possible (shard s of K gets n / K features, one more for
/// the first n % K shards), so any K from 1 to n works; more shards than features is
/// std::invalid_argument naming both.  `shard_offset(s)` / `shard_features(s)` give the split.
///
/// Memory: shard s's parameters and gradients (2 x its floats x 4 bytes) are booked on devices[s]
/// for the layer's lifetime (a copy books its own), and each call's partial results on the shard's
/// device while the call runs (rows x in or rows x out floats a shard); `trident::out_of_memory`
/// names the device and the buffer.  Activations kept for backward are the stage's: its input and
/// output, plus, for the MLP, `saved_floats(rows, in) = rows x hidden` (the pre-gelu activations;
/// backward recomputes gelu from them).  `parameters()` is one contiguous span: shard 0's floats,
/// then shard 1's, ... (the per-class layouts are below).
///
/// Determinism: each shard's products are `trident::gemm` with `trident::par` inside its device's
/// arena (tiling fixed by the shapes), the all-reduce sums the shards in shard order, bias sums run
/// over rows in order: results are bitwise the same from run to run, whatever the thread counts.
///
/// Costs: flops(rows, in) is the whole layer's (the shards split it K ways); each call starts K - 1
/// threads (tens of microseconds) and does two meetings of the shards per collective.
/// \throws std::invalid_argument for no device, a GPU device, more shards than features, shapes
///   that do not fit (naming them); trident::out_of_memory; what a shard throws (the first failure;
///   the other shards are stopped through the communicator, nothing hangs).

#include "trident/model/tensor_parallel/column_parallel_dense.hpp"
#include "trident/model/tensor_parallel/row_parallel_dense.hpp"
#include "trident/model/tensor_parallel/tensor_parallel_mlp.hpp"

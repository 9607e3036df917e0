#pragma once
/// \file trident.hpp
/// trident: data-, task- and model-parallel primitives for C++20.
///
/// One include gives every primitive; the policy passed first picks where it runs:
/// `trident::seq` (one thread), `trident::par` (all cores, oneTBB), `trident::gpu` (CUDA; .cu files
/// only) or `trident::automatic`.  Under nvcc the CUDA backend and `trident::device_vector` come
/// with this header; under any other compiler no CUDA header is included.
///
/// Where each primitive lives:
///
/// | primitive                                                        | header                                   |
/// |------------------------------------------------------------------|------------------------------------------|
/// | seq, par, gpu, automatic and their options                       | policy.hpp                               |
/// | thread_arena, default_concurrency, max_threads                   | thread_arena.hpp                         |
/// | for_each, for_each_index                                         | data/for_each.hpp                        |
/// | map                                                              | data/map.hpp                             |
/// | reduce, map_reduce                                               | data/reduce.hpp                          |
/// | inclusive_scan, exclusive_scan                                   | data/scan.hpp                            |
/// | sort, stable_sort                                                | data/sort.hpp                            |
/// | gemm, gemm_options (matrix product: BLAS, cuBLAS)                | data/gemm.hpp                            |
/// | matrix_view (row-major view with a stride)                       | matrix_view.hpp                          |
/// | run_pipeline, source, stage, stage modes                         | task/pipeline.hpp                        |
/// | gpu_stage, gpu_map_stage (nvcc only)                             | task/gpu_stage.cuh                       |
/// | parallel_invoke                                                  | task/invoke.hpp                          |
/// | task_group                                                       | task/task_group.hpp                      |
/// | blocking_pool (threads for blocking work)                        | task/blocking_pool.hpp                   |
/// | comm::in_process_group, communicator (collectives)               | comm/communicator.hpp                    |
/// | explain (why a region got its speedup)                           | explain/explain.hpp                      |
/// | device_vector, device_span (nvcc only)                           | backend/cuda/                            |
/// | device, cpu_device, gpu_device, memory_lease, _KiB/_MiB/_GiB     | device.hpp                               |
/// | model::tensor (booked on a device)                               | model/tensor.hpp                         |
/// | model::layer concept, check_layer                                | model/layer.hpp                          |
/// | model::dense, relu, gelu, layer_norm                             | model/layers/*.hpp                       |
/// | model::any_layer                                                 | model/any_layer.hpp                      |
/// | model::sequential                                                | model/sequential.hpp                     |
/// | model::softmax_cross_entropy, mean_squared_error                 | model/loss.hpp                           |
/// | model::sgd, adam                                                 | model/optimizer.hpp                      |
/// | model::reference_trainer, forward (one device)                   | model/reference.hpp                      |
/// | model::schedule_table, action; the four schedule generators      | model/schedule.hpp                       |
/// | model::validate, invalid_schedule                                | model/validate.hpp                       |
/// | model::simulate, stage_costs, prediction                         | model/simulate.hpp                       |
/// | model::partition, layer_profile, device_profile                  | model/partition.hpp                      |
/// | model::shard, shard_options, schedule, recompute                 | model/shard.hpp, model/shard_options.hpp |
/// | model::pipeline_plan (step), step_stats                          | model/plan.hpp, model/plan_types.hpp     |
/// | model::stage_error, step_cancelled                               | model/step_error.hpp                     |
/// | model::plan_candidates (schedule::automatic)                     | model/planner.hpp                        |
/// | model::write_timeline_trace (planned and measured, Chrome trace) | model/timeline.hpp                       |
/// | model::explain_step (a step's lost time by cause)                | model/explain_step.hpp                   |
/// | model::column_/row_parallel_dense, tensor_parallel_mlp           | model/tensor_parallel.hpp                |
/// | model::gpu:: device_tensor, *_kernels, update; GPU plan stages   | model/gpu.cuh (nvcc only)                |
/// | TRIDENT_LAMBDA                                                   | lambda.hpp                               |
/// | exceptions (out_of_memory, cuda_error, ...)                      | errors.hpp                               |

#include "trident/version.hpp"

#include "trident/thread_arena.hpp"
#include "trident/errors.hpp"
#include "trident/lambda.hpp"
#include "trident/policy.hpp"

#include "trident/data/for_each.hpp"
#include "trident/data/gemm.hpp"
#include "trident/data/map.hpp"
#include "trident/data/reduce.hpp"
#include "trident/data/scan.hpp"
#include "trident/data/sort.hpp"

#include "trident/task/blocking_pool.hpp"
#include "trident/task/invoke.hpp"
#include "trident/task/pipeline.hpp"
#include "trident/task/task_group.hpp"

#include "trident/comm/communicator.hpp"

#include "trident/explain/explain.hpp"

#include "trident/device.hpp"
#include "trident/model/any_layer.hpp"
#include "trident/model/explain_step.hpp"
#include "trident/model/layer.hpp"
#include "trident/model/layers/dense.hpp"
#include "trident/model/layers/gelu.hpp"
#include "trident/model/layers/layer_norm.hpp"
#include "trident/model/layers/relu.hpp"
#include "trident/model/loss.hpp"
#include "trident/model/optimizer.hpp"
#include "trident/model/partition.hpp"
#include "trident/model/planner.hpp"
#include "trident/model/reference.hpp"
#include "trident/model/schedule.hpp"
#include "trident/model/sequential.hpp"
#include "trident/model/shard.hpp"
#include "trident/model/simulate.hpp"
#include "trident/model/tensor.hpp"
#include "trident/model/tensor_parallel.hpp"
#include "trident/model/timeline.hpp"
#include "trident/model/validate.hpp"

#if defined(__CUDACC__)
#  include "trident/task/gpu_stage.cuh"
#endif

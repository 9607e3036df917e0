#pragma once
/// \file backend/cuda/gpu_stage.cuh
/// Deprecated: `trident::gpu_stage` and `trident::gpu_map_stage` moved to task/gpu_stage.cuh (a
/// pipeline stage is a task-layer primitive); include "trident/task/gpu_stage.cuh", or
/// "trident/trident.hpp", which includes it under nvcc.  This header only forwards there and goes
/// away in a later release.

#pragma message("trident/backend/cuda/gpu_stage.cuh is deprecated: include trident/task/gpu_stage.cuh")

#include "trident/task/gpu_stage.cuh"

#pragma once
/// \file model/gpu.cuh
/// The model's GPU kernels in one include (nvcc only): `trident::model::gpu::device_tensor`
/// (model/gpu/device_tensor.cuh), `layer_kernels` (dense, relu, gelu, layer_norm on device memory;
/// model/gpu/layer_kernels.cuh), `loss_kernels` (model/gpu/loss_kernels.cuh) and the optimizers'
/// `update` (model/gpu/optimizer_kernels.cuh), and the GPU stage runtime of a pipeline plan
/// (model/gpu/runtime.cuh): a program that includes this header in one .cu file can give
/// `model::shard` GPU devices.  Each header documents itself.
///
/// \code
///   #include <trident/model/gpu.cuh>          // in a .cu file
///   namespace mg = trident::model::gpu;
///   mg::layer_kernels k(layer, trident::gpu_device(0, 1_GiB));
/// \endcode

#if !defined(__CUDACC__)
#  error "trident/model/gpu.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/model/gpu/device_tensor.cuh"
#include "trident/model/gpu/layer_kernels.cuh"
#include "trident/model/gpu/loss_kernels.cuh"
#include "trident/model/gpu/optimizer_kernels.cuh"
#include "trident/model/gpu/runtime.cuh"

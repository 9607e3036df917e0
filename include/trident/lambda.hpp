#pragma once
/// \file lambda.hpp
/// TRIDENT_LAMBDA: one spelling for a lambda that runs on every backend.
///
/// Under nvcc it expands to `[=] __host__ __device__`, so the same lambda can be handed to
/// `trident::gpu` and to the CPU policies; under any other compiler it is a plain `[=]`.
///
/// \code
///   trident::for_each_index(trident::par, n, TRIDENT_LAMBDA(std::size_t i) { y[i] = a * x[i] + y[i]; });
/// \endcode
///
/// nvcc accepts `__host__ __device__` lambdas only with `--extended-lambda`; linking
/// `trident::trident` adds that flag to CUDA sources.  Without it this header stops the build.

#if defined(__CUDACC__)
#  if !defined(__CUDACC_EXTENDED_LAMBDA__)
#    error "trident: nvcc needs the flag --extended-lambda (link trident::trident, or add --extended-lambda to the CUDA flags)"
#  endif
#  define TRIDENT_LAMBDA [=] __host__ __device__
#  define TRIDENT_HOST_DEVICE __host__ __device__
#else
#  define TRIDENT_LAMBDA [=]
#  define TRIDENT_HOST_DEVICE
#endif

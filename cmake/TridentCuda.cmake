# CUDA is optional: found with check_language(CUDA); without it trident::trident still works on the CPU.
set(trident_WITH_CUDA OFF)
if(TRIDENT_ENABLE_CUDA)
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # `native` fails on a machine without a GPU: default to Hopper.  When no GPU answers
    # (nvidia-smi -L), as on a CI machine with nvcc only, PTX alone (90-virtual): every CUDA source
    # is still compiled (front end, device optimiser), only ptxas (a quarter of nvcc's time) is left
    # to the driver of a GPU that loads the code.  -DCMAKE_CUDA_ARCHITECTURES or CUDAARCHS overrides.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE trident_smi_status OUTPUT_VARIABLE trident_smi_gpus
                      ERROR_QUIET)
      if(trident_smi_status STREQUAL "0" AND trident_smi_gpus MATCHES "GPU [0-9]")
        set(CMAKE_CUDA_ARCHITECTURES 90)
      else()
        set(CMAKE_CUDA_ARCHITECTURES 90-virtual)
      endif()
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(trident_WITH_CUDA ON)
  endif()
endif()
if(TRIDENT_REQUIRE_CUDA AND NOT trident_WITH_CUDA)
  message(FATAL_ERROR "TRIDENT_REQUIRE_CUDA is ON but no CUDA compiler was found (set CUDACXX or put nvcc on PATH)")
endif()
message(STATUS "trident: CUDA backend ${trident_WITH_CUDA}")
if(NOT trident_WITH_CUDA AND DEFINED CMAKE_CUDA_FLAGS_RELWITHDEBINFO)
  # Set by the default preset for when nvcc is found; read here so that no "not used" warning follows.
  set(trident_unused_cuda_flags "${CMAKE_CUDA_FLAGS_RELWITHDEBINFO}")
endif()

# trident_link_cuda(<target>): what a CUDA source using trident needs.
function(trident_link_cuda target)
  # CUDA 13 keeps Thrust/CUB/libcu++ under include/cccl, which g++ does not search.
  find_package(CCCL CONFIG REQUIRED HINTS "${CUDAToolkit_LIBRARY_DIR}/cmake" "${CUDAToolkit_TARGET_DIR}/lib64/cmake")
  target_link_libraries(${target} INTERFACE CCCL::CCCL CUDA::cudart CUDA::cublas) # cuBLAS: trident::gemm
  target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:--extended-lambda>)
  # cxx_std_20 reaches C++ sources only and nvcc defaults to C++17, which trident's headers reject.
  # CMake 3.25 knows no cuda_std_20 for nvcc, so the flag itself, unless the consuming target sets
  # CUDA_STANDARD (or CMAKE_CUDA_STANDARD) of its own.
  target_compile_options(${target} INTERFACE
    $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<NOT:$<BOOL:$<TARGET_PROPERTY:CUDA_STANDARD>>>>:-std=c++20>)
endfunction()

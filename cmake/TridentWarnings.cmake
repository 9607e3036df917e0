# trident_target_defaults(<target>): warnings and sanitizers for trident's own tests, examples and
# benchmarks.  Never applied to trident::trident itself, so consumers get none of it.
set(trident_sanitize_flags "")
if(TRIDENT_SANITIZE)
  if(NOT TRIDENT_SANITIZE MATCHES "^(address,undefined|undefined,address|address|undefined|thread)$")
    message(FATAL_ERROR "TRIDENT_SANITIZE must be address,undefined or thread, got '${TRIDENT_SANITIZE}'")
  endif()
  set(trident_sanitize_flags -fsanitize=${TRIDENT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
endif()

function(trident_target_defaults target)
  get_target_property(type ${target} TYPE)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wconversion -Wno-sign-conversion>)
  # CUDA sources: the host compiler's warnings, and as errors what is a bug on the device: a
  # __host__ function called from __host__ __device__ code, reordered member initialisers, a kernel
  # launched on the legacy default stream (which every host thread shares).
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>
    $<$<COMPILE_LANGUAGE:CUDA>:--Werror=cross-execution-space-call,reorder,default-stream-launch>)
  if(trident_sanitize_flags)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${trident_sanitize_flags}>)
    target_link_options(${target} PRIVATE ${trident_sanitize_flags})
  endif()
endfunction()

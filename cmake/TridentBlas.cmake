# The CPU BLAS behind trident::gemm, found with CMake's FindBLAS.  Included by trident's
# CMakeLists.txt and, installed next to it, by tridentConfig.cmake, so that a consumer links the same
# kind of BLAS.  Nothing is downloaded: scripts/install-deps.sh installs it.
#
# trident_find_blas() sets BLAS_FOUND and the target BLAS::BLAS.
#
# Without a choice of the user's (BLA_VENDOR as a variable or in the environment, FindBLAS's
# vendor names), the BLAS is BLIS built without threads (vendor FLAME; Debian's libblis-serial-dev):
#   - without threads, because trident::gemm's par calls it once per tile on trident's own threads,
#     so that a thread_arena's cap holds and the result does not depend on the thread count;
#   - BLIS, because it may be called from several threads at once; Debian's serial OpenBLAS is
#     built without USE_LOCKING and may not.
# Debian keeps each BLIS flavour in its own directory (blis-serial, blis-pthread, blis-openmp) and
# points the generic libblis.so at one of them through its alternatives; the serial directory is
# searched first, and the library is linked by its full path (CMake then puts that directory in
# the build tree's run path), so a threaded BLIS that the alternatives prefer is never the one used.
macro(trident_find_blas)
  set(_trident_blas_saved_path "${CMAKE_LIBRARY_PATH}")
  set(_trident_blas_set_vendor FALSE)
  set(_trident_blas_set_size FALSE)
  if(NOT BLA_VENDOR AND "$ENV{BLA_VENDOR}" STREQUAL "")
    set(BLA_VENDOR FLAME)
    set(_trident_blas_set_vendor TRUE)
    # The same directories under every prefix of CMAKE_PREFIX_PATH too (Debian packages unpacked
    # into a prefix of their own, e.g. an offline build host's bundle), ahead of /usr.
    set(_trident_blas_prefixes ${CMAKE_PREFIX_PATH} $ENV{CMAKE_PREFIX_PATH} /usr)
    string(REPLACE ":" ";" _trident_blas_prefixes "${_trident_blas_prefixes}")
    set(_trident_blas_dirs)
    foreach(_trident_blas_prefix IN LISTS _trident_blas_prefixes)
      if(CMAKE_LIBRARY_ARCHITECTURE)
        list(APPEND _trident_blas_dirs "${_trident_blas_prefix}/lib/${CMAKE_LIBRARY_ARCHITECTURE}/blis-serial")
      endif()
      list(APPEND _trident_blas_dirs "${_trident_blas_prefix}/lib/blis-serial" "${_trident_blas_prefix}/lib64/blis-serial")
    endforeach()
    list(PREPEND CMAKE_LIBRARY_PATH ${_trident_blas_dirs})
  endif()
  if(NOT DEFINED BLA_SIZEOF_INTEGER)
    set(BLA_SIZEOF_INTEGER 4) # trident passes 32-bit integers (detail/blas.hpp)
    set(_trident_blas_set_size TRUE)
  endif()
  find_package(BLAS QUIET)
  if(NOT BLAS_FOUND)
    if(BLA_VENDOR STREQUAL "FLAME")
      set(_trident_blas_hint "BLIS (Debian/Ubuntu: libblis-serial-dev; scripts/install-deps.sh installs it)")
    else()
      set(_trident_blas_hint "a BLAS of vendor ${BLA_VENDOR}$ENV{BLA_VENDOR} with 32-bit integers")
    endif()
    set(_trident_blas_message
        "trident::gemm needs a CPU BLAS and found none: install ${_trident_blas_hint}, or name another "
        "with -DBLA_VENDOR=<FindBLAS vendor> (a BLAS without threads of its own, safe to call from "
        "several threads at once: BLIS, OpenBLAS built with USE_LOCKING, MKL sequential)")
    string(CONCAT _trident_blas_message ${_trident_blas_message})
  endif()
  set(CMAKE_LIBRARY_PATH "${_trident_blas_saved_path}")
  if(_trident_blas_set_vendor)
    unset(BLA_VENDOR)
  endif()
  if(_trident_blas_set_size)
    unset(BLA_SIZEOF_INTEGER)
  endif()
endmacro()

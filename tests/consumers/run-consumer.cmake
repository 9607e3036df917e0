# Driver for the consumer tests (cmake -P run-consumer.cmake).
#
#   -DSTEP=install  -DTRIDENT_BUILD_DIR=<trident build> -DPREFIX=<dir>
#       empties <dir> and installs the trident build there (cmake --install).
#   -DSTEP=consumer -DNAME=<n> -DSOURCE=<dir> -DBINARY=<dir> -DGENERATOR=<g>
#                   -DPREFIX_PATH=<a|b|...> -DOPTIONS=<-Dx=y|...>
#       (PREFIX_PATH goes first into the environment's CMAKE_PREFIX_PATH, which the configure step
#       inherits together with the rest of the environment)
#       configures <SOURCE> into an emptied <BINARY>, builds it and runs <BINARY>/consumer, which
#       must exit 0 and print "consumer <n>: ok".
cmake_minimum_required(VERSION 3.25)

function(run what)
  string(JOIN " " shown ${ARGN})
  message(STATUS "${what}: ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output
                  ECHO_OUTPUT_VARIABLE ECHO_ERROR_VARIABLE)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${what} failed (${result})")
  endif()
  set(run_output "${output}" PARENT_SCOPE)
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  run("install" "${CMAKE_COMMAND}" --install "${TRIDENT_BUILD_DIR}" --prefix "${PREFIX}")
  foreach(expected include/trident/trident.hpp include/trident/version.hpp)
    if(NOT EXISTS "${PREFIX}/${expected}")
      message(FATAL_ERROR "the install lacks ${expected}")
    endif()
  endforeach()
  file(GLOB_RECURSE config "${PREFIX}/*/tridentConfig.cmake")
  if(NOT config)
    message(FATAL_ERROR "the install lacks tridentConfig.cmake")
  endif()
  message(STATUS "installed into ${PREFIX}")
elseif(STEP STREQUAL "consumer")
  string(REPLACE "|" ";" options "${OPTIONS}")
  file(REMOVE_RECURSE "${BINARY}")
  if(PREFIX_PATH)
    # Through the environment (':'-separated there): a ';' list would not survive as one argument.
    string(REPLACE "|" ":" prefix_path "${PREFIX_PATH}")
    if(NOT "$ENV{CMAKE_PREFIX_PATH}" STREQUAL "")
      string(APPEND prefix_path ":$ENV{CMAKE_PREFIX_PATH}")
    endif()
    set(ENV{CMAKE_PREFIX_PATH} "${prefix_path}")
    message(STATUS "CMAKE_PREFIX_PATH (environment): ${prefix_path}")
  endif()
  run("configure" "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${BINARY}" -G "${GENERATOR}" ${options})
  run("build" "${CMAKE_COMMAND}" --build "${BINARY}" --parallel 2)
  run("run" "${BINARY}/consumer")
  if(NOT run_output MATCHES "consumer ${NAME}: ok")
    message(FATAL_ERROR "the consumer did not print 'consumer ${NAME}: ok'")
  endif()
else()
  message(FATAL_ERROR "run-consumer.cmake: STEP must be install or consumer, got '${STEP}'")
endif()

// The Catch2 v2 main, compiled once and linked into every CPU test executable where the catch2
// package has no Catch2::Catch2WithMain (tests/CMakeLists.txt).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

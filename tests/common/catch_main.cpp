// The Catch2 v2 main, compiled once and linked into every CPU test executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

// The translation unit that builds the tests' shared precompiled header (tests/CMakeLists.txt,
// trident_test_pch): <catch2/catch.hpp> and trident/trident.hpp.  Nothing of its own.

#pragma once
/// \file version.hpp
/// The library's version (kept equal to project(VERSION) in CMakeLists.txt; a test checks it).
#define TRIDENT_VERSION_MAJOR 0
#define TRIDENT_VERSION_MINOR 1
#define TRIDENT_VERSION_PATCH 0
#define TRIDENT_VERSION_STRING "0.1.0"

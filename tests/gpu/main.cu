// The [gpu] test executable's main: skips visibly (exit code 77, registered as SKIP_RETURN_CODE)
// when no CUDA device answers.  CUDA is first touched here, never during static initialisation.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "gpu/gpu_test_env.hpp"

#include <cuda_runtime.h>

#include <cstdio>
#include <fstream>
#include <string>

const char* trident_test_argv0 = "";

bool under_compute_sanitizer()
{
    static const bool watched = [] {
        std::ifstream maps("/proc/self/maps");
        std::string line;
        while (std::getline(maps, line))
            if (line.find("compute-sanitizer") != std::string::npos || line.find("libsanitizer-") != std::string::npos)
                return true;
        return false;
    }();
    return watched;
}

int main(int argc, char* argv[])
{
    trident_test_argv0 = argv[0];
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        std::printf("SKIP: no CUDA device (%s)\n",
                    status != cudaSuccess ? cudaGetErrorString(status) : "cudaGetDeviceCount found 0 devices");
        return 77;
    }
    (void)cudaGetLastError();
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
        int driver = 0, runtime = 0;
        (void)cudaDriverGetVersion(&driver);
        (void)cudaRuntimeGetVersion(&runtime);
        std::printf("trident gpu tests: %d device(s); device 0: %s, sm_%d%d, %d SMs; driver %d, runtime %d\n", count,
                    prop.name, prop.major, prop.minor, prop.multiProcessorCount, driver, runtime);
    }
    return Catch::Session().run(argc, argv);
}

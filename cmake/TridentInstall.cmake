include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS trident EXPORT tridentTargets)
install(DIRECTORY include/trident DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT tridentTargets NAMESPACE trident:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/trident)
configure_package_config_file(cmake/tridentConfig.cmake.in ${PROJECT_BINARY_DIR}/tridentConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/trident)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tridentConfigVersion.cmake COMPATIBILITY SameMinorVersion
                                 ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/tridentConfig.cmake ${PROJECT_BINARY_DIR}/tridentConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/TridentBlas.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/trident)

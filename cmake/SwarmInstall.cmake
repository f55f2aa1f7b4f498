# `cmake --install`: the embedding library (public headers, static libraries), the `swarm`
# program, and a CMake package, so that another project can
#   find_package(smolswarms CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE smolswarms::runtime)
# Included by the top-level CMakeLists.txt once every library target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(swarm_package_dir "${CMAKE_INSTALL_LIBDIR}/cmake/smolswarms")
set(swarm_include_dir "${CMAKE_INSTALL_INCLUDEDIR}/smolswarms")

# The libraries an embedder links, exported as smolswarms::<name without swarm_>; the same names
# work in-tree as aliases (examples/embed uses smolswarms::runtime both ways).
set(swarm_exported_libraries swarm_core swarm_net swarm_memory swarm_actors swarm_runtime)
foreach(lib IN LISTS swarm_exported_libraries)
  string(REGEX REPLACE "^swarm_" "" export_name "${lib}")
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${export_name})
  add_library(smolswarms::${export_name} ALIAS ${lib})
endforeach()

install(TARGETS ${swarm_exported_libraries}
  EXPORT smolswarmsTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${swarm_include_dir}")
install(TARGETS swarm RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(EXPORT smolswarmsTargets
  NAMESPACE smolswarms::
  DESTINATION "${swarm_package_dir}")

# Public headers: runtime/runtime.hpp (the facade) and runtime/core/errc.hpp (its errors:
# swarm::errc, describe), and every project header they include, transitively, collected when
# installing (so the set follows the code); a detail/ header among them fails the install.
install(CODE "
  set(SWARM_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(SWARM_PUBLIC_HEADERS runtime/runtime.hpp runtime/core/errc.hpp)
  set(SWARM_HEADER_DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${swarm_include_dir}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/SwarmInstallHeaders.cmake\")
")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/smolswarmsConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/smolswarmsConfig.cmake"
  INSTALL_DESTINATION "${swarm_package_dir}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/smolswarmsConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
# CAF 0.17 and Debian's RE2 ship no CMake package: our finders go with the config, which uses them.
install(FILES
  "${PROJECT_BINARY_DIR}/smolswarmsConfig.cmake"
  "${PROJECT_BINARY_DIR}/smolswarmsConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/FindRE2.cmake"
  DESTINATION "${swarm_package_dir}")

# ganglion_add_plugin(NAME SOURCES file... [LIBRARIES lib...] [PRECOMPILED_HEADER])
#
# Builds libganglion-NAME.so, a Ganglion plugin: a MODULE library in C++17 with hidden visibility,
# linked to the SDK (Ganglion::sdk, which brings LibTorch); with PRECOMPILED_HEADER (or the cache
# variable GANGLION_PLUGIN_PCH=ON) compiled with the SDK's precompiled header (see
# ganglion_use_plugin_pch). Used by the built-in plugins and, through find_package(Ganglion), by
# plugins built out of tree. Optional variables:
#   GANGLION_PLUGIN_OUTPUT_DIR   where the built library is placed
#   GANGLION_PLUGIN_INSTALL_DIR  where `cmake --install` puts it
#
# ganglion_use_plugin_pch(TARGET)
#
# Compiles TARGET (a plugin, or the executable of its tests) with <ganglion/plugin.h> and
# <torch/nn.h> precompiled once for the project and shared by every target that asks. Making the
# header costs about 33 s on a 2-core machine and saves 2 to 4 s of every file that uses it
# (docs/performance.md): worth it from about ten compiles on, so it is not the default. In the
# Ganglion tree itself it is the tree's own shared header. With ccache, set
# CCACHE_SLOPPINESS=pch_defines,time_macros, or ccache declines to cache.
function(ganglion_use_plugin_pch target)
  if(COMMAND ganglion_use_pch)
    ganglion_use_pch(${target})
    return()
  endif()
  if(NOT TARGET ganglion_plugin_pch)
    set(unit ${CMAKE_BINARY_DIR}/ganglion_plugin_pch.cpp)
    file(WRITE ${unit} "// Compiled only to produce the shared precompiled header.\n")
    add_library(ganglion_plugin_pch OBJECT ${unit})
    target_link_libraries(ganglion_plugin_pch PUBLIC Ganglion::sdk)
    target_compile_features(ganglion_plugin_pch PUBLIC cxx_std_17)
    set_target_properties(ganglion_plugin_pch PROPERTIES POSITION_INDEPENDENT_CODE ON
                          CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
    target_precompile_headers(ganglion_plugin_pch PUBLIC <ganglion/plugin.h> <torch/nn.h>)
  endif()
  # The header is valid only for code compiled with the same flags: position independent (also
  # executables, with -fPIC rather than -fPIE) and hidden visibility.
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${target} PRIVATE cxx_std_17)
  target_precompile_headers(${target} REUSE_FROM ganglion_plugin_pch)
endfunction()

function(ganglion_add_plugin name)
  cmake_parse_arguments(ARG "PRECOMPILED_HEADER" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "ganglion_add_plugin(${name}): give the plugin's SOURCES")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Ganglion::sdk ${ARG_LIBRARIES})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_features(${name} PRIVATE cxx_std_17)
  set_target_properties(${name} PROPERTIES PREFIX "libganglion-" OUTPUT_NAME ${name}
                        CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
                        INSTALL_RPATH_USE_LINK_PATH TRUE)
  if(GANGLION_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${GANGLION_PLUGIN_OUTPUT_DIR})
  endif()
  if(GANGLION_PLUGIN_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION ${GANGLION_PLUGIN_INSTALL_DIR})
  endif()
  if(ARG_PRECOMPILED_HEADER OR GANGLION_PLUGIN_PCH OR COMMAND ganglion_use_pch)
    ganglion_use_plugin_pch(${name})
  endif()
endfunction()

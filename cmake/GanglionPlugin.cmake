# ganglion_add_plugin(NAME SOURCES file... [LIBRARIES lib...])
#
# Builds libganglion-NAME.so, a Ganglion plugin: a MODULE library in C++17 with hidden visibility,
# linked to the SDK (Ganglion::sdk, which brings LibTorch). Used by the built-in plugins and,
# through find_package(Ganglion), by plugins built out of tree. Optional variables:
#   GANGLION_PLUGIN_OUTPUT_DIR   where the built library is placed
#   GANGLION_PLUGIN_INSTALL_DIR  where `cmake --install` puts it
function(ganglion_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
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
  if(COMMAND ganglion_use_pch)
    ganglion_use_pch(${name})
  endif()
endfunction()

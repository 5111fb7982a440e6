# The plugin build helper. The same file serves Skiff's own tree (cmake/, included by the top-level
# CMakeLists.txt) and third parties (installed by skiff-dev with SkiffConfig.cmake, which defines
# skiff::plugin_api and SKIFF_PLUGIN_INSTALL_DIR before including it).
#
# skiff_add_plugin(ROLE <role> NAME <name> SOURCES <logic sources…> [ENTRY <plugin.cpp>] [LIBS <libs…>])
#
# Builds two things from one plugin folder:
#   libskiff-<role>-<name>.so in <build>/plugins/: the loadable module (logic + ENTRY, hidden
#     visibility, only the entry symbol exported), installed to <prefix>/${SKIFF_PLUGIN_INSTALL_DIR};
#   skiff_<role>_<name>: a static library of the logic alone, so tests can link the same code directly.
# The ABI tag the module carries comes from the SDK headers it compiles against (skiff/plugin/abi.hpp).
include_guard(GLOBAL)

if(NOT DEFINED SKIFF_PLUGIN_INSTALL_DIR)
  set(SKIFF_PLUGIN_INSTALL_DIR lib/skiff/plugins)
endif()
if(NOT DEFINED SKIFF_PLUGIN_INSTALL_COMPONENT)
  set(SKIFF_PLUGIN_INSTALL_COMPONENT plugins)
endif()

# What makes a MODULE loadable as a Skiff plugin: the libskiff-… name, hidden visibility (only the
# entry alias is exported), and no GNU "unique" symbols — those (from libstdc++ and Boost headers)
# would make glibc keep the library mapped forever, where the ABI promises it is unloaded once its
# last object is gone.
function(skiff_plugin_module_properties target)
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()

function(skiff_add_plugin)
  cmake_parse_arguments(P "" "ROLE;NAME;ENTRY" "SOURCES;LIBS" ${ARGN})
  if(NOT P_ROLE OR NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "skiff_add_plugin needs ROLE, NAME and SOURCES")
  endif()
  if(NOT P_ENTRY)
    set(P_ENTRY plugin.cpp)
  endif()
  # Skiff's own warnings (-Werror included) apply inside its tree only.
  set(warnings "")
  if(TARGET skiff_warnings)
    set(warnings skiff_warnings)
  endif()
  set(logic skiff_${P_ROLE}_${P_NAME})
  string(REPLACE "-" "_" logic "${logic}")
  add_library(${logic} STATIC ${P_SOURCES})
  target_link_libraries(${logic} PUBLIC skiff::plugin_api ${P_LIBS} PRIVATE ${warnings})
  target_include_directories(${logic} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  set_target_properties(${logic} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${logic} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)

  set(module skiff-${P_ROLE}-${P_NAME})
  add_library(${module} MODULE ${P_ENTRY})
  target_link_libraries(${module} PRIVATE ${logic} ${warnings})
  skiff_plugin_module_properties(${module})
  set_target_properties(${module} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins)
  install(TARGETS ${module} LIBRARY DESTINATION ${SKIFF_PLUGIN_INSTALL_DIR} COMPONENT ${SKIFF_PLUGIN_INSTALL_COMPONENT})
  if(TARGET skiff_all_plugins)
    add_dependencies(skiff_all_plugins ${module})
  endif()
endfunction()

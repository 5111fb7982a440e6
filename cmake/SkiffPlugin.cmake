# skiff_add_plugin(ROLE <role> NAME <name> SOURCES <logic sources…> [ENTRY <plugin.cpp>] [LIBS <libs…>])
#
# Builds two things from one plugin folder:
#   libskiff-<role>-<name>.so in build/plugins/: the loadable module (logic + ENTRY, hidden visibility,
#     only the entry symbol exported);
#   skiff_<role>_<name>: a static library of the logic alone, so tests can link the same code directly.
function(skiff_add_plugin)
  cmake_parse_arguments(P "" "ROLE;NAME;ENTRY" "SOURCES;LIBS" ${ARGN})
  if(NOT P_ROLE OR NOT P_NAME OR NOT P_SOURCES)
    message(FATAL_ERROR "skiff_add_plugin needs ROLE, NAME and SOURCES")
  endif()
  if(NOT P_ENTRY)
    set(P_ENTRY plugin.cpp)
  endif()
  set(logic skiff_${P_ROLE}_${P_NAME})
  string(REPLACE "-" "_" logic "${logic}")
  add_library(${logic} STATIC ${P_SOURCES})
  target_link_libraries(${logic} PUBLIC skiff::plugin_api ${P_LIBS} PRIVATE skiff_warnings)
  target_include_directories(${logic} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  set_target_properties(${logic} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)

  set(module skiff-${P_ROLE}-${P_NAME})
  add_library(${module} MODULE ${P_ENTRY})
  target_link_libraries(${module} PRIVATE ${logic} skiff_warnings)
  # GNU "unique" symbols (from libstdc++ and Boost headers) would make glibc keep the library mapped
  # forever; without them a plugin is unloaded once its last object is gone, as the ABI promises.
  target_compile_options(${module} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  target_compile_options(${logic} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
  set_target_properties(${module} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins)
  if(TARGET skiff_all_plugins)
    add_dependencies(skiff_all_plugins ${module})
  endif()
endfunction()

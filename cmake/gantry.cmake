# Helpers shared by every folder's CMakeLists.txt.
#
# gantry_library(NAME DEPS ...): a static library from every *.cpp in the current folder
#   (tests, benches and fuzz targets excluded), include root = repository root.
# gantry_tests(LABEL DEPS ...): one test executable per *_test.cpp in the current folder,
#   registered with CTest under LABEL (unit, property, conformance, integration).
function(gantry_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;EXCLUDE" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER srcs EXCLUDE REGEX "(_test|_main|^bench_|/fuzz_)[^/]*\\.cpp$")
  foreach(ex ${ARG_EXCLUDE})
    list(FILTER srcs EXCLUDE REGEX "/${ex}$")
  endforeach()
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  else()
    # A module whose sources have not landed yet: headers only.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

function(gantry_tests label)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/tests ${CMAKE_CURRENT_SOURCE_DIR})
  string(REPLACE "/" "_" prefix "${rel}")
  foreach(t ${tests})
    get_filename_component(stem ${t} NAME_WE)
    set(exe ${prefix}_${stem})
    add_executable(${exe} ${t})
    target_link_libraries(${exe} PRIVATE ${ARG_DEPS} gantry_test_main)
    set_target_properties(${exe} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
    add_test(NAME ${exe} COMMAND ${exe} WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
    set_tests_properties(${exe} PROPERTIES LABELS ${label}
      ENVIRONMENT "GANTRY_BIN=${PROJECT_BINARY_DIR}/bin;GANTRY_SOURCE=${PROJECT_SOURCE_DIR}")
  endforeach()
endfunction()
